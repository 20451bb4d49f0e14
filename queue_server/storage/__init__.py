"""Durable storage: SQLite in WAL mode with full fsync, migrations at start, group commits."""

from queue_server.storage.db import (
    connect,
    in_transaction,
    load_branch,
    load_settings,
    load_visit,
    migrate,
    save_bundles,
    save_settings,
    write_change,
    write_changes,
)
from queue_server.storage.writer import CommitFailed, Writer

__all__ = [
    "CommitFailed",
    "Writer",
    "connect",
    "in_transaction",
    "load_branch",
    "load_settings",
    "load_visit",
    "migrate",
    "save_bundles",
    "save_settings",
    "write_change",
    "write_changes",
]
