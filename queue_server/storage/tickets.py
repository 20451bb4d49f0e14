"""Ticket rows read back from the database: tickets no longer held in the engine's memory."""

from __future__ import annotations

import sqlite3

from queue_server.domain import Ticket
from queue_server.storage.rows import ticket_from_row


def ticket_by_id(conn: sqlite3.Connection, ticket_id: int) -> Ticket | None:
    row = conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    return ticket_from_row(dict(row)) if row is not None else None


def ticket_by_idempotency_key(conn: sqlite3.Connection, key: str) -> Ticket | None:
    """The ticket an Idempotency-Key issued, if any."""
    row = conn.execute("SELECT * FROM tickets WHERE idempotency_key = ?", (key,)).fetchone()
    return ticket_from_row(dict(row)) if row is not None else None


def ticket_id_by_token(conn: sqlite3.Connection, token: str) -> int | None:
    """The latest leg of the visit a live-page token opens (a transfer keeps the token)."""
    row = conn.execute(
        "SELECT id FROM tickets WHERE token = ? ORDER BY id DESC LIMIT 1", (token,)
    ).fetchone()
    return int(row["id"]) if row is not None else None
