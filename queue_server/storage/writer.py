"""The single writer: one thread owns the write connection and commits changes in groups.

Many changes that arrive while a commit's fsync is running go into the next transaction
together, so throughput is not capped at one fsync per ticket; each caller is answered only
after its own change is durable. Once a commit fails, everything decided on top of it is
refused until the owner reloads state from the database and starts a new generation.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from queue_server.domain import Change
from queue_server.storage.db import connect, write_changes

log = logging.getLogger(__name__)
MAX_BATCH = 512


class CommitFailed(RuntimeError):
    """The change could not be made durable; the server reloads its state."""


@dataclass
class _Item:
    change: Change
    encoded: list[tuple[int, str]]  # the change's events as (seq, JSON text)
    generation: int
    future: asyncio.Future[None]


class Writer:
    def __init__(
        self,
        path: str | Path,
        branch_id: str,
        loop: asyncio.AbstractEventLoop,
        on_durable: Callable[[list[list[tuple[int, str]]]], None],
    ) -> None:
        self._path = path
        self._on_durable = on_durable
        self._branch_id = branch_id
        self._loop = loop
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._failed_generation = -1
        self._thread = threading.Thread(target=self._run, name="branchq-writer", daemon=True)
        self.commits = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def submit(
        self, change: Change, encoded: list[tuple[int, str]], generation: int
    ) -> asyncio.Future[None]:
        """Queue a change; the returned future resolves (in the loop) once it is durable."""
        future: asyncio.Future[None] = self._loop.create_future()
        self._queue.put(_Item(change, encoded, generation, future))
        return future

    def _run(self) -> None:
        conn = connect(self._path)
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while len(batch) < MAX_BATCH:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        stop = True
                        break
                    batch.append(nxt)
                self._commit(conn, batch)
                if stop:
                    return
        finally:
            conn.close()

    def _commit(self, conn: sqlite3.Connection, batch: list[_Item]) -> None:
        live = [i for i in batch if i.generation > self._failed_generation]
        stale = [i for i in batch if i.generation <= self._failed_generation]
        error: BaseException | None = None
        if live:
            try:
                write_changes(conn, ((i.change, i.encoded) for i in live), self._branch_id)
                self.commits += 1
            except Exception as exc:  # disk full, I/O error, locked too long
                log.error("commit of %d change(s) failed: %s", len(live), exc)
                self._failed_generation = max(i.generation for i in live)
                error = exc
        self._loop.call_soon_threadsafe(self._settle, live, stale, error)

    def _settle(self, live: list[_Item], stale: list[_Item], error: BaseException | None) -> None:
        """In the loop: publish durable changes in commit order, then answer their callers."""
        if error is None and live:
            self._on_durable([i.encoded for i in live])
        for item in live:
            if item.future.done():
                continue
            if error is None:
                item.future.set_result(None)
            else:
                item.future.set_exception(CommitFailed(str(error)))
        for item in stale:
            if not item.future.done():
                item.future.set_exception(CommitFailed("decided on state that failed to commit"))
