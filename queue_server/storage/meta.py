"""The `meta` table: one JSON or text value per key (settings, the branch secret)."""

from __future__ import annotations

import secrets
import sqlite3

SALT_KEY = "salt"  # the branch secret customer references are derived from


def read_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row is not None and row[0] is not None else None


def write_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def new_branch_secret(conn: sqlite3.Connection) -> None:
    """Write a fresh random branch secret (for a new branch's database)."""
    write_meta(conn, SALT_KEY, secrets.token_hex(32))


def branch_salt(conn: sqlite3.Connection) -> str | None:
    """The branch secret as hex, or None when the database has none (or an empty one)."""
    return read_meta(conn, SALT_KEY) or None
