"""The notice outbox: a bounded queue and one worker thread that calls the notifier.

The event loop only ever puts a notice in the queue (never waits); a slow or dead gateway
delays notices, never a teller's call. A full queue drops the new notice (counted and
logged): notices are a courtesy, and one hours late helps nobody.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from dataclasses import dataclass

from queue_server.notify import Notice, Notifier, NotifyFailed

log = logging.getLogger(__name__)
QUEUE_SIZE = 200  # a busy branch sends a few notices a minute


@dataclass
class OutboxStats:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    dropped: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"queued": self.queued, "sent": self.sent, "failed": self.failed,
                "dropped": self.dropped}  # fmt: skip


class NoticeOutbox:
    def __init__(self, notifier: Notifier, size: int = QUEUE_SIZE) -> None:
        self.notifier = notifier
        self.stats = OutboxStats()
        self._queue: queue.Queue[Notice | None] = queue.Queue(maxsize=size)
        self._done = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="notice-outbox", daemon=True)
        self._thread.start()

    def put(self, notice: Notice) -> bool:
        """Queue a notice without waiting; False (and counted) when the queue is full."""
        try:
            self._queue.put_nowait(notice)
        except queue.Full:
            with self._done:
                self.stats.dropped += 1
            log.warning("notice outbox full: dropped %s", notice)
            return False
        with self._done:
            self.stats.queued += 1
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued notice was sent or given up (tests, shutdown)."""
        with self._done:
            return self._done.wait_for(self._idle, timeout)

    def _idle(self) -> bool:
        s = self.stats
        return s.sent + s.failed >= s.queued

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker; notices still queued are dropped (they live in memory only)."""
        self.notifier.close()  # interrupts a retry's backoff
        if self._thread is None:
            return
        while True:  # make room for the stop mark
            try:
                self._queue.put_nowait(None)
                break
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()
        self._thread.join(timeout)
        self._thread = None

    def _work(self) -> None:
        while True:
            notice = self._queue.get()
            if notice is None:
                return
            ok = False
            try:
                self.notifier.send(notice)
                ok = True
            except NotifyFailed as exc:
                log.warning("notice not delivered: %s", exc)
            except Exception as exc:  # a backend's bug must not end the worker
                # No traceback: its message or locals could quote the phone number.
                log.error("notifier failed on %s: %s", notice, type(exc).__name__)
            with self._done:
                if ok:
                    self.stats.sent += 1
                else:
                    self.stats.failed += 1
                self._done.notify_all()
