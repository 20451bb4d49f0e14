"""One server per database: an exclusive lock on a file beside it, held while an engine runs.

Two servers on one database would each number tickets from their own memory and hand the
same number to two customers. SQLite's own locks last one transaction, so they cannot say
that another server is running; a `flock` on `<db>.lock` can. It is held by the open file
(so a second engine in the same process is refused as well as a second process), and the
kernel drops it when the holder exits, however it dies (kill -9, power cut): there is no
stale lock to clean up. The file keeps the holder's pid, for the message only. POSIX only,
like the server.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class DatabaseInUse(RuntimeError):
    """Another BranchQ server holds this database."""


class ServerLock:
    """The held lock; `release` (or the process ending) lets the next server start."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, db_path: str | Path) -> ServerLock:
        """Take the database's server lock at once, or raise DatabaseInUse naming the holder."""
        db = Path(db_path)
        path = db.with_name(db.name + ".lock")
        # Not inherited by a program the server runs (os.open's default): it must not keep
        # the lock alive after the server itself has gone.
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DatabaseInUse(
                f"another BranchQ server is using {db}: pid {holder} (lock {path})"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd, path)

    def release(self) -> None:
        if self._fd is not None:
            # The file stays: removing it would let a server that opened the old file and
            # one that creates a new one both believe they hold the lock.
            os.close(self._fd)
            self._fd = None
