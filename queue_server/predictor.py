"""The wait predictor's own process: simulations run beside the event loop, not under its GIL.

A thread would share the interpreter lock with the event loop: each time the loop gave the
lock up for a socket call, the simulation kept it for a switch interval, and `bench server`
lost two fifths of its throughput with the loop late by tens of milliseconds. One process
(started with `spawn`, so it inherits no open file, lock or socket of the server) serves every
engine in this interpreter; the engine sends it a small copy of the open part of the branch.
A process that died (killed, out of memory) is replaced at the next prediction, and the
process leaves when the server does, however it ended (kill -9 included).
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")
PARENT_CHECK_S = 1.0  # how soon a predictor process notices its server is gone


class WorkerProcess:
    """One spawned worker process, started on first use and replaced when it died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_leave_with,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def run(self, loop: asyncio.AbstractEventLoop, job: Callable[[], T]) -> asyncio.Future[T]:
        """`job()` in the process; a new process if the last one died."""
        pool = self.pool()
        try:
            return loop.run_in_executor(pool, job)
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            return loop.run_in_executor(self.pool(), job)

    def warm(self) -> None:
        """Start the process now, from a worker thread: spawning it blocks for tens of ms,
        which the event loop must not wait through."""
        self.pool().submit(int).result()

    def shut_down(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


# Wait predictions: every few events, ~20 ms each.
_predictor = WorkerProcess()
# Policy tournaments: minutes of simulation a night. A process of their own, so no wait
# prediction queues behind a tournament's candidate (seconds each).
_tournament = WorkerProcess()


def predictor_pool() -> ProcessPoolExecutor:
    """The shared prediction process, started on first use."""
    return _predictor.pool()


def _leave_with(server_pid: int) -> None:
    """In the predictor process: exit once the server is gone. Its pool never tells a worker
    whose server was killed: the worker would wait for work for ever (one orphan per crash)."""

    def watch() -> None:
        while os.getppid() == server_pid:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="branchq-leave-with-server", daemon=True).start()


def run_in_predictor(loop: asyncio.AbstractEventLoop, job: Callable[[], T]) -> asyncio.Future[T]:
    """`job()` in the predictor process; a new process if the last one died."""
    return _predictor.run(loop, job)


def run_in_tournament(loop: asyncio.AbstractEventLoop, job: Callable[[], T]) -> asyncio.Future[T]:
    """`job()` in the policy tournament's process (beside the predictor's)."""
    return _tournament.run(loop, job)


def warm_tournament() -> None:
    """Start the tournament's process (call from a worker thread)."""
    _tournament.warm()


@atexit.register
def _shut_down() -> None:
    _predictor.shut_down()
    _tournament.shut_down()
