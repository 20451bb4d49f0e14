"""Reads for the manager's reports: ticket legs, first calls and bookings, read-only.

Only the columns a report needs are read: never a customer reference, note or token.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from queue_server.domain import BranchSettings, TicketState
from queue_server.domain.appointments import AppointmentState, CheckInOutcome
from queue_server.domain.day import business_day
from queue_server.domain.lobby_reports import Diversion, lobby_report
from queue_server.domain.reports import (
    BookingRecord,
    BusinessInfo,
    LegRecord,
    ReportScope,
    branch_report,
)
from queue_server.storage.db import load_settings

_LEGS_SQL = (
    "SELECT id, service, business_day, leg, state, issued_at, called_at, serving_at, "
    "finished_at, counter, staff_id, rating, recall_count, visit_id FROM tickets "
    "WHERE business_day >= ? AND business_day <= ?"
)
# A recall moves a ticket's called_at: its first call is its `ticket.called` event.
_FIRST_CALLS_SQL = (
    "SELECT ticket_id, MIN(at) FROM events WHERE kind = 'ticket.called' "
    "AND ticket_id IN (SELECT value FROM json_each(?)) GROUP BY ticket_id"
)
# A relationship manager's visit outside the branch is no booking: it would count as a
# no-show (never checked in) in the appointments' figures.
# A relationship manager's visit outside the branch is no booking: it would count as a
# no-show (never checked in) in the appointments' figures.
_BOOKINGS_SQL = (
    "SELECT service, slot_start, state, outcome FROM appointments "
    "WHERE slot_start >= ? AND slot_start < ? AND COALESCE(kind, 'booking') != 'visit'"
)


def connect_read_only(path: str | Path) -> sqlite3.Connection:
    """A connection that can only read (a report must never write the branch's database)."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=10)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def first_call_times(conn: sqlite3.Connection, ticket_ids: Iterable[int]) -> dict[int, datetime]:
    """ticket id -> the moment it was first called, from the event log."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return {}
    rows = conn.execute(_FIRST_CALLS_SQL, (json.dumps(ids),))
    return {int(tid): datetime.fromisoformat(at) for tid, at in rows if at}


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def load_legs(conn: sqlite3.Connection, first_day: date, last_day: date) -> list[LegRecord]:
    """The ticket legs of the business days [first_day, last_day], first call resolved."""
    rows = conn.execute(_LEGS_SQL, (first_day.isoformat(), last_day.isoformat())).fetchall()
    first_calls = first_call_times(conn, (r["id"] for r in rows if r["recall_count"]))
    legs = []
    for r in rows:
        called = _dt(r["called_at"])
        if called is not None:
            called = min(called, first_calls.get(r["id"], called))
        legs.append(
            LegRecord(
                id=r["id"],
                service=r["service"],
                business_day=date.fromisoformat(r["business_day"]),
                leg=r["leg"] or 0,
                state=TicketState(r["state"]),
                queued_at=datetime.fromisoformat(r["issued_at"]),
                first_called_at=called,
                serving_at=_dt(r["serving_at"]),
                finished_at=_dt(r["finished_at"]),
                counter=r["counter"],
                staff_id=r["staff_id"],
                rating=r["rating"],
                visit_id=r["visit_id"],
            )
        )
    return legs


def load_bookings(conn: sqlite3.Connection, start: datetime, end: datetime) -> list[BookingRecord]:
    """Bookings with a slot in [start, end) (slot times are stored as UTC text)."""
    bounds = (start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat())
    return [
        BookingRecord(
            service=r["service"],
            slot_start=datetime.fromisoformat(r["slot_start"]),
            state=AppointmentState(r["state"]),
            outcome=CheckInOutcome(r["outcome"]) if r["outcome"] else None,
        )
        for r in conn.execute(_BOOKINGS_SQL, bounds)
    ]


def load_businesses(conn: sqlite3.Connection) -> list[BusinessInfo]:
    return [
        BusinessInfo(r["code"], json.loads(r["names"] or "{}"), r["target_wait_s"], r["sort"])
        for r in conn.execute("SELECT code, names, target_wait_s, sort FROM services")
    ]


def load_counter_names(conn: sqlite3.Connection) -> dict[int, str]:
    return {r["number"]: r["name"] for r in conn.execute("SELECT number, name FROM counters")}


_DIVERSIONS_SQL = (
    "SELECT at, json_extract(body, '$.data.business'), json_extract(body, '$.data.channel') "
    "FROM events WHERE kind = 'lobby.diverted' AND at >= ? AND at < ?"
)
_PREREVIEWED_SQL = (
    "SELECT DISTINCT t.visit_id FROM events e JOIN tickets t ON t.id = e.ticket_id "
    "WHERE e.kind = 'ticket.prereviewed' AND t.business_day >= ? AND t.business_day <= ?"
)


def load_diversions(
    conn: sqlite3.Connection, start: datetime, end: datetime, settings: BranchSettings
) -> list[Diversion]:
    """`lobby.diverted` events in [start, end), each on its business day."""
    bounds = (start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat())
    return [
        Diversion(
            str(service),
            str(channel),
            business_day(datetime.fromisoformat(at), settings.timezone, settings.day_starts_at),
        )
        for at, service, channel in conn.execute(_DIVERSIONS_SQL, bounds)
    ]


def read_lobby_report(db_path: str | Path, first_day: date, last_day: date) -> dict[str, Any]:
    """What the lobby did over business days [first_day, last_day], from one snapshot.

    Blocking: run it off the event loop."""
    conn = connect_read_only(db_path)
    try:
        conn.execute("BEGIN")
        try:
            settings = load_settings(conn)
            if settings is None:
                raise LookupError("the database has no branch yet")
            scope = ReportScope(
                first_day, last_day, timezone=settings.timezone,
                day_starts_at=settings.day_starts_at,
            )  # fmt: skip
            start = datetime.combine(first_day - timedelta(days=1), time(), UTC)
            end = datetime.combine(last_day + timedelta(days=2), time(), UTC)
            diversions = load_diversions(conn, start, end, settings)
            legs = load_legs(conn, first_day, last_day)
            days = (first_day.isoformat(), last_day.isoformat())
            reviewed = [int(v) for (v,) in conn.execute(_PREREVIEWED_SQL, days) if v is not None]
            services = conn.execute("SELECT code, mean_service_s, sort FROM services").fetchall()
        finally:
            conn.execute("COMMIT")
    finally:
        conn.close()
    configured = {r["code"]: int(r["mean_service_s"]) for r in services}
    order = [r["code"] for r in sorted(services, key=lambda r: (r["sort"], r["code"]))]
    return lobby_report(scope, diversions, legs, reviewed, configured, order)


def read_report(
    db_path: str | Path, first_day: date, last_day: date, now: datetime
) -> dict[str, Any]:
    """The manager's report for business days [first_day, last_day], from one snapshot.

    Blocking: run it off the event loop (it may read a year of tickets and events).
    """
    conn = connect_read_only(db_path)
    try:
        conn.execute("BEGIN")  # one consistent snapshot for every read below
        try:
            settings = load_settings(conn)
            if settings is None:
                raise LookupError("the database has no branch yet")
            scope = ReportScope(
                first_day,
                last_day,
                timezone=settings.timezone,
                day_starts_at=settings.day_starts_at,
                appointment_grace_s=settings.appointment_grace_s,
            )
            # Slots are filtered by business day exactly in the domain; a day either side
            # covers any time zone and day start.
            start = datetime.combine(first_day - timedelta(days=1), time(), UTC)
            end = datetime.combine(last_day + timedelta(days=2), time(), UTC)
            legs = load_legs(conn, first_day, last_day)
            bookings = load_bookings(conn, start, end)
            businesses = load_businesses(conn)
            counters = load_counter_names(conn)
        finally:
            conn.execute("COMMIT")
    finally:
        conn.close()
    return branch_report(scope, legs, bookings, businesses, counters, now)
