"""How long a request waits for a connection, and the limit on batches stored at once."""

from __future__ import annotations

import threading
from collections.abc import Callable

POOL_TIMEOUT_S = 10.0


class Busy(Exception):
    """Every ingest slot is taken: the branch should come back after `retry_after_s`."""

    def __init__(self, retry_after_s: int = 1) -> None:
        super().__init__("the centre is busy ingesting; retry shortly")
        self.retry_after_s = retry_after_s


class IngestGate:
    """At most `limit` batches stored at once, and at most `bulk_limit` of them large
    (backfill), so a branch catching up on a day never holds back another's live events."""

    BULK_EVENTS = 50  # a batch larger than this is catch-up, not one commit's events

    def __init__(self, limit: int, bulk_limit: int) -> None:
        self._all = threading.BoundedSemaphore(limit)
        self._bulk = threading.BoundedSemaphore(bulk_limit)

    def enter(self, events: int) -> Callable[[], None]:
        """Take a slot for a batch of `events` (Busy when none is free); returns the release."""
        bulk = events > self.BULK_EVENTS
        if bulk and not self._bulk.acquire(blocking=False):
            raise Busy()
        if not self._all.acquire(blocking=False):
            if bulk:
                self._bulk.release()
            raise Busy()

        def leave() -> None:
            self._all.release()
            if bulk:
                self._bulk.release()

        return leave
