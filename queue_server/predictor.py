"""The wait predictor's own process: simulations run beside the event loop, not under its GIL.

A thread would share the interpreter lock with the event loop: each time the loop gave the
lock up for a socket call, the simulation kept it for a switch interval, and `bench server`
lost two fifths of its throughput with the loop late by tens of milliseconds. One process
(started with `spawn`, so it inherits no open file, lock or socket of the server) serves every
engine in this interpreter; the engine sends it a small copy of the open part of the branch.
"""

from __future__ import annotations

import atexit
import multiprocessing
import threading
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def predictor_pool() -> Executor:
    """The shared prediction process, started on first use (and again if it died)."""
    global _pool
    with _lock:
        if _pool is None or _broken(_pool):
            _pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        return _pool


def _broken(pool: ProcessPoolExecutor) -> bool:
    try:
        pool.submit(int).cancel()  # a dead child makes the pool refuse new work
    except (BrokenProcessPool, RuntimeError):
        return True
    return False


@atexit.register
def _shut_down() -> None:
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
