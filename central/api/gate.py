"""How long a request waits for a connection, and the two lanes batches are stored through.

A branch catching up on a day sends 1,000-event batches back to back; a branch that is up to
date sends one commit's events at a time. Each kind has its own lane: a few worker threads
(and so database connections) of its own, which a batch waits for without holding a
thread. So however many branches catch up at once, a live batch never queues behind them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from anyio import CapacityLimiter

POOL_TIMEOUT_S = 10.0
T = TypeVar("T")


class Busy(Exception):
    """The lane stayed full: the branch should come back after `retry_after_s`."""

    def __init__(self, retry_after_s: int = 1) -> None:
        super().__init__("the centre is busy ingesting; retry shortly")
        self.retry_after_s = retry_after_s


class IngestGate:
    """The live lane and the bulk (catch-up) lane, `limit` and `bulk_limit` threads each."""

    BULK_BYTES = 64 * 1024  # a body larger than this is catch-up, not one commit's events
    WAIT_S = 5.0  # a batch waits this long for its lane before the branch is sent away

    def __init__(self, limit: int, bulk_limit: int) -> None:
        self._live = CapacityLimiter(limit)
        self._bulk = CapacityLimiter(bulk_limit)

    def threads(self) -> int:
        """Worker threads (so database connections) the two lanes may use at once."""
        return int(self._live.total_tokens + self._bulk.total_tokens)

    async def run(self, size: int, work: Callable[[], T]) -> T:
        """`work` on a worker thread of the lane a body of `size` bytes belongs to."""
        lane = self._bulk if size > self.BULK_BYTES else self._live
        try:
            # In this task: the limiter's token belongs to the task that acquired it.
            with anyio.fail_after(self.WAIT_S):
                await lane.acquire()
        except TimeoutError:
            raise Busy() from None
        try:
            # The lane's token is already held; the thread limiter of the call is the lane.
            return await anyio.to_thread.run_sync(work, limiter=_UNLIMITED)
        finally:
            lane.release()


# Threads are counted by the lanes above, not by anyio's shared default limiter (40), which
# the console's routes use too.
_UNLIMITED = CapacityLimiter(1_000)
