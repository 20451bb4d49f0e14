"""Wrong PINs and lock-outs by staff id: what the sign-in guard must remember across a restart.

Times are stored in UTC ISO form, so comparing the text compares the times.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def record_pin_failure(
    conn: sqlite3.Connection, staff_id: str, at: datetime, forget_before: datetime
) -> None:
    """A wrong PIN; failures that have left every window are dropped on the way."""
    conn.execute("DELETE FROM pin_failures WHERE at < ?", (_utc(forget_before),))
    conn.execute("INSERT INTO pin_failures (staff_id, at) VALUES (?, ?)", (staff_id, _utc(at)))


def record_pin_lock(
    conn: sqlite3.Connection, staff_id: str, until: datetime, now: datetime
) -> None:
    """The staff id is locked until `until`; its failures are used up by the lock."""
    conn.execute("DELETE FROM pin_locks WHERE until <= ?", (_utc(now),))
    conn.execute("DELETE FROM pin_failures WHERE staff_id = ?", (staff_id,))
    conn.execute(
        "INSERT OR REPLACE INTO pin_locks (staff_id, until) VALUES (?, ?)",
        (staff_id, _utc(until)),
    )


def clear_pin_failures(conn: sqlite3.Connection, staff_id: str) -> None:
    """The right PIN: earlier wrong ones no longer count."""
    conn.execute("DELETE FROM pin_failures WHERE staff_id = ?", (staff_id,))


def load_pin_state(
    conn: sqlite3.Connection, failures_since: datetime, now: datetime
) -> tuple[dict[str, list[datetime]], dict[str, datetime]]:
    """Failures since `failures_since` and locks still running at `now`, by staff id."""
    failures: dict[str, list[datetime]] = {}
    rows = conn.execute(
        "SELECT staff_id, at FROM pin_failures WHERE at >= ?", (_utc(failures_since),)
    )
    for staff_id, at in rows:
        failures.setdefault(staff_id, []).append(datetime.fromisoformat(at))
    locks = {
        staff_id: datetime.fromisoformat(until)
        for staff_id, until in conn.execute(
            "SELECT staff_id, until FROM pin_locks WHERE until > ?", (_utc(now),)
        )
    }
    return failures, locks
