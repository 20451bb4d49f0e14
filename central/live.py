"""Live fan-out: one thread LISTENs on PostgreSQL channel `network` and wakes every console.

Ingest runs `NOTIFY network, '<branch id>'` in the transaction that changes a branch's read
models, so a notification arrives only once the change is committed and readable. Each
subscriber (an SSE stream on the event loop) gets branch ids through its own bounded queue;
one that falls behind is told to refetch everything instead of slowing the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass, field

import psycopg

CHANNEL = "network"
RESYNC = ""  # queued instead of a branch id: "you missed some; refetch the whole table"
QUEUE_SIZE = 256
CONNECT_TIMEOUT_S = 10
POLL_S = 1.0  # how soon a stop request is noticed while waiting for notifications
RETRY_S = (0.5, 1, 2, 5, 10)  # reconnecting after PostgreSQL went away

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Subscription:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    behind: bool = False

    def offer(self, branch: str) -> None:
        """On the subscriber's loop: queue a branch id, or one resync once the queue is full."""
        if self.behind:
            return
        try:
            self.queue.put_nowait(branch)
        except asyncio.QueueFull:
            self.behind = True
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()  # room for the resync: it replaces what was lost
            self.queue.put_nowait(RESYNC)

    def caught_up(self) -> None:
        self.behind = False


class NetworkListener:
    """The one LISTEN connection of a centre process, started on first use."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._subscribers: set[Subscription] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # set while LISTEN is in force (tests wait on it)

    def subscribe(self) -> Subscription:
        sub = Subscription(asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(sub)
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="console-listen", daemon=True
                )
                self._thread.start()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    if attempt:
                        self._fan_out(RESYNC)  # what changed while we were away is unknown
                    attempt = 0
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=POLL_S):
                            self._fan_out(note.payload)
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("console live updates: PostgreSQL connection lost (%s)", type(exc))
                self._stop.wait(RETRY_S[min(attempt, len(RETRY_S) - 1)])
                attempt += 1
        self.listening.clear()

    def _fan_out(self, branch: str) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            with contextlib.suppress(RuntimeError):  # its loop has closed: it is going away
                sub.loop.call_soon_threadsafe(sub.offer, branch)
