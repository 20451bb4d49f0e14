"""Durable storage: SQLite in WAL mode with full fsync, migrations at start, group commits."""

from queue_server.storage.db import (
    StoredChange,
    UnstorableChange,
    check_storable,
    connect,
    in_transaction,
    load_branch,
    load_settings,
    load_visit,
    migrate,
    save_bundles,
    save_settings,
    stored_change,
    write_change,
    write_changes,
)
from queue_server.storage.writer import ChangeNotStored, CommitFailed, Writer

__all__ = [
    "ChangeNotStored",
    "CommitFailed",
    "StoredChange",
    "UnstorableChange",
    "Writer",
    "check_storable",
    "connect",
    "in_transaction",
    "load_branch",
    "load_settings",
    "load_visit",
    "migrate",
    "save_bundles",
    "save_settings",
    "stored_change",
    "write_change",
    "write_changes",
]
