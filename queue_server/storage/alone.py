"""A write transaction for a tool that must be the database's only user (no server running).

A running server keeps connections open for as long as it runs, and in WAL mode every open
connection holds a shared lock on the database file. A connection in EXCLUSIVE locking mode
needs the file to itself, so its first transaction fails at once while any other process
(or any other connection of this one) has the database open, and while it runs nothing else
can open it. That makes "is a server using this file?" and "write without one" one step,
with no window between the check and the write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from queue_server.storage.db import commit_or_roll_back

T = TypeVar("T")


class DatabaseOpenElsewhere(RuntimeError):
    """Another connection (a running server, most likely) has the database open."""


def alone_in_transaction(path: str | Path, fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(conn, *args)` in one write transaction, or raise DatabaseOpenElsewhere."""
    # No busy wait: a server holds its connections for hours, waiting cannot help.
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=0)
    try:
        conn.row_factory = sqlite3.Row
        # Before anything reads the file: exclusive mode must be set before the WAL is opened.
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        try:
            conn.execute("PRAGMA synchronous=FULL")  # reads the schema: the first lock taken
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise DatabaseOpenElsewhere(f"{path} is open in another program") from None
            raise
        return commit_or_roll_back(conn, fn, *args)
    finally:
        conn.close()
