"""How late the event loop runs what is due: a probe task for `/health` and `bench server`.

Everything in the server that waits — a teller's call, an event to a display — waits behind
whatever callback holds the loop. The probe asks to wake every `interval_s` and records how
late it woke, in a histogram of 0.1 ms steps counted since start; a reader subtracts two
readings to get the lag over any window (the benchmark does so around its measured run).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time

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


class CallbackWatch:
    """Times every callback the event loop runs, for `bench server --watch-callbacks`.

    Only the pure-Python asyncio loop can be watched (uvloop's callbacks are C), so a server
    started with `--watch-callbacks` runs on it: somewhat slower than in production, but
    every callback's time is its own. Kept: a histogram in 0.1 ms steps since start, and the
    slowest few callbacks of each of the last minutes' seconds, by name.
    """

    PER_SECOND = 3
    SECONDS = 120

    def __init__(self) -> None:
        self.counts = [0] * BUCKETS
        self.cpu_counts = [0] * BUCKETS
        self.slowest: dict[int, list[tuple[float, str]]] = {}  # monotonic second -> top
        self.gc_ms: list[float] = [0.0, 0.0, 0.0]  # the longest collection, per generation
        self._gc_started = 0.0

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        # A collection inside a callback counts in that callback's time: this says which
        # of the slow ones were the collector's.
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        ms = (time.perf_counter() - self._gc_started) * 1000.0
        generation = info.get("generation", 0)
        self.gc_ms[generation] = max(self.gc_ms[generation], ms)

    def install(self) -> None:
        gc.callbacks.append(self._on_gc)
        handle_run = self._handle_run = asyncio.events.Handle._run
        watch = self

        def timed(handle: asyncio.Handle) -> None:
            started, cpu = time.perf_counter(), time.thread_time()
            handle_run(handle)
            wall_ms = (time.perf_counter() - started) * 1000.0
            watch.record(wall_ms, (time.thread_time() - cpu) * 1000.0, handle)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        asyncio.events.Handle._run = self._handle_run  # type: ignore[method-assign]
        gc.callbacks.remove(self._on_gc)

    def record(self, ms: float, cpu_ms: float, handle: asyncio.Handle) -> None:
        """`ms` of wall time, `cpu_ms` of it this thread's own work (the rest: the machine
        ran something else, or a system call waited)."""
        self.counts[min(BUCKETS - 1, int(ms / STEP_MS))] += 1
        self.cpu_counts[min(BUCKETS - 1, int(cpu_ms / STEP_MS))] += 1
        second = int(time.monotonic())
        top = self.slowest.get(second)
        if top is None:
            top = self.slowest[second] = []
            for old in [s for s in self.slowest if s < second - self.SECONDS]:
                del self.slowest[old]
        if len(top) < self.PER_SECOND or ms > top[-1][0]:
            top.append((ms, f"{_callback_name(handle)} (CPU {cpu_ms:.1f} ms)"))
            top.sort(reverse=True)
            del top[self.PER_SECOND :]

    def reading(self) -> dict[str, object]:
        return {
            "step_ms": STEP_MS,
            "counts": {str(i): n for i, n in enumerate(self.counts) if n},
            "cpu_counts": {str(i): n for i, n in enumerate(self.cpu_counts) if n},
            "now_s": int(time.monotonic()),
            "gc_max_ms": [round(ms, 2) for ms in self.gc_ms],
            "slowest": [
                {"second": second, "ms": round(ms, 2), "callback": name}
                for second, top in sorted(self.slowest.items())
                for ms, name in top
            ],
        }


def _callback_name(handle: asyncio.Handle) -> str:
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):  # a coroutine's step: name the coroutine
        coro = owner.get_coro()
        return getattr(coro, "__qualname__", repr(coro))
    return getattr(callback, "__qualname__", repr(callback))
