"""Reads of the event log for forecasting: when tickets were issued, how long services took."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

# A transferred customer's new leg (ticket.requeued) is an arrival in that business's queue
# as much as a kiosk ticket is: both add load there.
_ARRIVALS_SQL = (
    "SELECT at, json_extract(body, '$.ticket.service') FROM events "
    "WHERE kind IN ('ticket.issued', 'ticket.requeued') AND at >= ? AND at < ?"
)
_SERVICES_SQL = (
    "SELECT json_extract(body, '$.ticket.service'), json_extract(body, '$.ticket.serving_at'), "
    "json_extract(body, '$.ticket.finished_at') FROM events "
    "WHERE kind = 'ticket.done' AND at >= ? AND at < ?"
)


def issue_records(
    conn: sqlite3.Connection, since: datetime, until: datetime
) -> list[tuple[datetime, str]]:
    """(issued at, business) of every ticket leg issued in [since, until), from the event log."""
    rows = conn.execute(_ARRIVALS_SQL, _bounds(since, until))
    return [(datetime.fromisoformat(at), str(service)) for at, service in rows if service]


def service_samples(
    conn: sqlite3.Connection, since: datetime, until: datetime
) -> list[tuple[str, float]]:
    """(business, seconds from start of service to done) of services finished in the range."""
    out = []
    for service, serving_at, finished_at in conn.execute(_SERVICES_SQL, _bounds(since, until)):
        if service and serving_at and finished_at:
            seconds = (
                datetime.fromisoformat(finished_at) - datetime.fromisoformat(serving_at)
            ).total_seconds()
            out.append((str(service), seconds))
    return out


def _bounds(since: datetime, until: datetime) -> tuple[str, str]:
    # Events store `at` as UTC ISO text, so UTC bounds compare correctly as strings.
    return since.astimezone(UTC).isoformat(), until.astimezone(UTC).isoformat()


_CLASSES_SQL = (
    "SELECT json_extract(body, '$.ticket.service'), json_extract(body, '$.ticket.priority'), "
    "count(*) FROM events WHERE kind = 'ticket.issued' AND at >= ? AND at < ? "
    "GROUP BY 1, 2"
)


def class_counts(
    conn: sqlite3.Connection, since: datetime, until: datetime
) -> dict[str, dict[str, int]]:
    """Tickets issued in [since, until) per business and priority class (first legs only:
    a transfer keeps the customer's class, it is not a new customer)."""
    out: dict[str, dict[str, int]] = {}
    for service, priority, n in conn.execute(_CLASSES_SQL, _bounds(since, until)):
        if service and priority:
            out.setdefault(str(service), {})[str(priority)] = int(n)
    return out
