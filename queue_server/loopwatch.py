"""How late the event loop runs what is due: a probe task for `/health` and `bench server`.

Everything in the server that waits — a teller's call, an event to a display — waits behind
whatever callback holds the loop. The probe asks to wake every `interval_s` and records how
late it woke, in a histogram of 0.1 ms steps counted since start; a reader subtracts two
readings to get the lag over any window (the benchmark does so around its measured run).
"""

from __future__ import annotations

import asyncio
import contextlib

STEP_MS = 0.1
BUCKETS = 1000  # 0.1 ms steps up to 100 ms; later wake-ups count in the last bucket
INTERVAL_S = 0.01


class LoopWatch:
    def __init__(self, interval_s: float = INTERVAL_S) -> None:
        self.interval_s = interval_s
        self.counts = [0] * BUCKETS
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="branchq-loopwatch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval_s
            await asyncio.sleep(self.interval_s)
            late_ms = max(0.0, loop.time() - due) * 1000.0
            self.counts[min(BUCKETS - 1, int(late_ms / STEP_MS))] += 1

    def reading(self) -> dict[str, object]:
        """The histogram as `/health` shows it: only the steps that hold a count."""
        return {
            "interval_ms": round(self.interval_s * 1000.0, 3),
            "step_ms": STEP_MS,
            "counts": {str(i): n for i, n in enumerate(self.counts) if n},
        }


def lag_between(before: dict[str, int], after: dict[str, int]) -> tuple[int, float, float]:
    """From two readings' `counts`: (wake-ups, p99 lag ms, max lag ms) in between, each lag
    given as its step's upper edge."""
    diff = {int(k): n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0) > 0}
    total = sum(diff.values())
    if total == 0:
        return 0, 0.0, 0.0
    seen = 0
    p99 = 0.0
    for step in sorted(diff):
        seen += diff[step]
        if seen >= 0.99 * total:
            p99 = (step + 1) * STEP_MS
            break
    return total, round(p99, 1), round((max(diff) + 1) * STEP_MS, 1)
