"""The branch log's permanent identity: its id, its first seq, and the log it forked from.

An event's global identity is (log id, seq). The id is made once per database and changes
only when the head office shows this database to be a restored (older) copy of its log: the
events from the fork on then belong to a new log, so nothing the centre holds is reused.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass

from queue_server.storage.db import Statement
from queue_server.storage.meta import read_meta

LOG_ID_KEY = "log_id"
FIRST_SEQ_KEY = "log_first_seq"
RESTORED_FROM_KEY = "log_restored_from"


@dataclass(frozen=True, slots=True)
class LogIdentity:
    log_id: str
    first_seq: int
    restored_from: str | None = None


def read_log_identity(conn: sqlite3.Connection) -> LogIdentity:
    log_id = read_meta(conn, LOG_ID_KEY)
    if log_id is None:  # migrate() writes it: a database that has not been migrated
        raise LookupError("the database has no log id: run the migrations first")
    return LogIdentity(
        log_id, int(read_meta(conn, FIRST_SEQ_KEY) or 1), read_meta(conn, RESTORED_FROM_KEY)
    )


def rotation_statements(new: LogIdentity) -> list[Statement]:
    """The meta writes that make `new` the log from now on (run in the commit of the event
    that records the rotation, so the two never disagree)."""
    sql = "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"
    return [
        (sql, (LOG_ID_KEY, new.log_id)),
        (sql, (FIRST_SEQ_KEY, str(new.first_seq))),
        (sql, (RESTORED_FROM_KEY, new.restored_from)),
    ]


def forked_log(old: LogIdentity, fork_seq: int) -> LogIdentity:
    """A new log continuing this database's history after `fork_seq`, the last seq the
    centre holds identically."""
    return LogIdentity(str(uuid.uuid4()), fork_seq + 1, old.log_id)
