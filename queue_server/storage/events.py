"""Queries over the event log: alerts and follow-ups to replay, pauses, the audit trail."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime


def alert_and_followup_events(
    conn: sqlite3.Connection, since: datetime
) -> Iterator[tuple[str, str]]:
    """(kind, body) of alert events from `since` on and of every follow-up event, in order."""
    rows = conn.execute(
        "SELECT kind, body FROM events WHERE (kind LIKE 'alert.%' AND at >= ?)"
        " OR kind LIKE 'followup.%' ORDER BY seq",
        (since.isoformat(),),
    )
    for kind, body in rows:
        yield str(kind), str(body)


def alert_bodies_between(conn: sqlite3.Connection, start: datetime, end: datetime) -> list[str]:
    """Bodies of the alert events in [start, end), in order."""
    rows = conn.execute(
        "SELECT body FROM events WHERE kind LIKE 'alert.%' AND at >= ? AND at < ? ORDER BY seq",
        (start.isoformat(), end.isoformat()),
    )
    return [str(body) for (body,) in rows]


def last_paused_at(conn: sqlite3.Connection, counter: int) -> datetime | None:
    """When the counter was last paused, if ever."""
    row = conn.execute(
        "SELECT MAX(at) FROM events WHERE kind = 'counter.paused' AND counter = ?", (counter,)
    ).fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None


def actor_events(
    conn: sqlite3.Connection, *, before_seq: int | None, limit: int
) -> list[tuple[int, str, str, str]]:
    """(seq, at, kind, body) of events that name an actor, newest first."""
    rows = conn.execute(
        "SELECT seq, at, kind, body FROM events"
        " WHERE json_extract(body, '$.data.actor') IS NOT NULL AND seq < ?"
        " ORDER BY seq DESC LIMIT ?",
        (before_seq or 2**62, limit),
    )
    return [(int(seq), str(at), str(kind), str(body)) for seq, at, kind, body in rows]
