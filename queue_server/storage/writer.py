"""The single writer: one thread owns the write connection and commits changes in groups.

Many changes that arrive while a commit's fsync is running go into the next transaction
together, so throughput is not capped at one fsync per ticket; each caller is answered only
after its own change is durable. Once a commit fails, everything decided on top of it is
refused until the owner reloads state from the database and starts a new generation. A change
whose own values the database refuses fails alone: the changes before it still commit.
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

from queue_server.storage.db import StoredChange, UnstorableChange, connect, write_changes

log = logging.getLogger(__name__)
MAX_BATCH = 512


class CommitFailed(RuntimeError):
    """The change could not be made durable; the server reloads its state."""

    code = "storage_unavailable"
    message = "the change could not be saved; try again"


class ChangeNotStored(CommitFailed):
    """This change's own values were refused by the database (the engine's check let
    through something it did not foresee); the changes committed beside it stand."""

    code = "unstorable_change"
    message = "this change could not be stored and was not made"


@dataclass
class _Item:
    stored: StoredChange
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
        self.branch_id = branch_id
        self._loop = loop
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._failed_generation = -1
        self._thread = threading.Thread(target=self._run, name="branchq-writer", daemon=True)
        self.commits = 0
        self.last: asyncio.Future[None] | None = None  # the latest change submitted

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def submit(self, stored: StoredChange, generation: int) -> asyncio.Future[None]:
        """Queue a change; the returned future resolves (in the loop) once it is durable."""
        future: asyncio.Future[None] = self._loop.create_future()
        self._queue.put(_Item(stored, generation, future))
        self.last = future
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
        """Commit the batch's live changes; one whose values the database refuses fails
        alone with ChangeNotStored, the changes before it commit without it, and the ones
        after it are refused: they were decided on a state that included it (their sequence
        numbers follow its events, a ticket number may follow its), so only a reload from
        the database can decide them again."""
        live = [i for i in batch if i.generation > self._failed_generation]
        stale = [
            (i, CommitFailed("decided on state that failed to commit"))
            for i in batch
            if i.generation <= self._failed_generation
        ]
        durable: list[_Item] = live
        refused: list[tuple[_Item, CommitFailed]] = []
        if live:
            try:
                try:
                    write_changes(conn, [i.stored for i in live])
                except UnstorableChange as exc:
                    log.error("a change could not be stored: %s", exc.cause)
                    durable = live[: exc.index]
                    refused = [(live[exc.index], ChangeNotStored(str(exc.cause)))]
                    refused += [
                        (i, CommitFailed("decided on a change that could not be stored"))
                        for i in live[exc.index + 1 :]
                    ]
                    if durable:
                        write_changes(conn, [i.stored for i in durable])
                if durable:
                    self.commits += 1
            except Exception as exc:  # disk full, I/O error, locked too long
                log.error("commit of %d change(s) failed: %s", len(live), exc)
                durable, refused = [], [(i, CommitFailed(str(exc))) for i in live]
            if refused:
                self._failed_generation = max(i.generation for i in live)
        self._loop.call_soon_threadsafe(self._settle, durable, refused + stale)

    def _settle(self, durable: list[_Item], failed: list[tuple[_Item, CommitFailed]]) -> None:
        """In the loop: publish durable changes in commit order, then answer their callers."""
        if durable:
            self._on_durable([i.stored.encoded for i in durable])
        for item in durable:
            if not item.future.done():
                item.future.set_result(None)
        for item, error in failed:
            if not item.future.done():
                item.future.set_exception(error)
