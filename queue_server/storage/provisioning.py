"""Device token and staff rows. Hashing is `queue_server.auth`'s business; these store and
read the hashes."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any


def insert_token(
    conn: sqlite3.Connection, token_hash: str, role: str, name: str, expires_at: datetime | None
) -> int:
    cur = conn.execute(
        "INSERT INTO tokens (token_hash, role, name, created_at, expires_at) VALUES (?,?,?,?,?)",
        (
            token_hash,
            role,
            name,
            datetime.now(UTC).isoformat(),
            expires_at.isoformat() if expires_at else None,
        ),
    )
    return int(cur.lastrowid or 0)


def mark_token_revoked(conn: sqlite3.Connection, token_id: int) -> bool:
    cur = conn.execute(
        "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        (datetime.now(UTC).isoformat(), token_id),
    )
    return cur.rowcount == 1


def list_tokens(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, role, name, created_at, expires_at, revoked_at FROM tokens ORDER BY id"
    )
    return [dict(r) for r in rows]


def token_by_hash(conn: sqlite3.Connection, token_hash: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT id, role, name, expires_at, revoked_at FROM tokens WHERE token_hash = ?",
        (token_hash,),
    ).fetchone()
    return row


def token_role(conn: sqlite3.Connection, token_id: int) -> str | None:
    row = conn.execute("SELECT role FROM tokens WHERE id = ?", (token_id,)).fetchone()
    return str(row["role"]) if row is not None else None


def save_staff(conn: sqlite3.Connection, staff_id: str, name: str, pin_hash: str) -> None:
    """Add a staff member, or replace their name and PIN (and make them active)."""
    conn.execute(
        "INSERT OR REPLACE INTO staff (staff_id, name, pin_hash, active, created_at) "
        "VALUES (?, ?, ?, 1, ?)",
        (staff_id, name, pin_hash, datetime.now(UTC).isoformat()),
    )


def active_pin_hash(conn: sqlite3.Connection, staff_id: str) -> str | None:
    row = conn.execute(
        "SELECT pin_hash FROM staff WHERE staff_id = ? AND active = 1", (staff_id,)
    ).fetchone()
    return str(row["pin_hash"]) if row is not None else None


def staff_exists(conn: sqlite3.Connection, staff_id: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM staff WHERE staff_id = ?", (staff_id,)).fetchone() is not None
    )


def staff_name(conn: sqlite3.Connection, staff_id: str) -> str:
    """The staff member's name as the staff list has it ("" when none is on file)."""
    row = conn.execute("SELECT name FROM staff WHERE staff_id = ?", (staff_id,)).fetchone()
    return str(row[0] or "") if row is not None else ""


def list_staff(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT staff_id, name, active FROM staff ORDER BY staff_id")
    return [{"staff_id": r[0], "name": r[1] or "", "active": bool(r[2])} for r in rows]
