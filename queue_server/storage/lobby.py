"""Lobby staff sessions (issue 21): rows keyed by the session's hash, never the session."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from queue_server.storage.db import Statement


def _utc(at: datetime) -> str:
    # UTC ISO text, so comparing the texts compares the times.
    return at.astimezone(UTC).isoformat()


def start_session(
    session_hash: str, staff_id: str, token_id: int, now: datetime, expires_at: datetime
) -> Statement:
    """The row of a new session, written with its `lobby.signed_in` event."""
    return (
        "INSERT INTO lobby_sessions (session_hash, staff_id, token_id, started_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (session_hash, staff_id, token_id, _utc(now), _utc(expires_at)),
    )


def end_session(session_hash: str, now: datetime) -> Statement:
    """Sign-out, written with its `lobby.signed_out` event."""
    return (
        "UPDATE lobby_sessions SET ended_at = ? WHERE session_hash = ? AND ended_at IS NULL",
        (_utc(now), session_hash),
    )


def live_session(
    conn: sqlite3.Connection, session_hash: str, token_id: int, now: datetime
) -> dict[str, Any] | None:
    """The session's staff member, when it was started on this device, has not ended or
    expired, and its staff member is still active; else None."""
    row = conn.execute(
        "SELECT s.staff_id, st.name, s.expires_at FROM lobby_sessions s"
        " JOIN staff st ON st.staff_id = s.staff_id AND st.active = 1"
        " WHERE s.session_hash = ? AND s.token_id = ? AND s.ended_at IS NULL"
        " AND s.expires_at > ?",
        (session_hash, token_id, _utc(now)),
    ).fetchone()
    if row is None:
        return None
    return {"staff_id": row[0], "name": row[1] or "", "expires_at": row[2]}
