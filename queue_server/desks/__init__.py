"""The server's use cases, one home each: a desk takes a request in the branch's words, runs
it through the engine (the command bus) and storage, and returns domain values. Routes call
desks; desks never know about HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any


async def woken_or_every(wake: asyncio.Event, seconds: float) -> None:
    """Return when `wake` is set (and clear it), or after `seconds`: a desk's periodic check.

    Not `asyncio.wait_for`: on Python 3.11 it can swallow the cancel that stops the desk.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await wake.wait()
    wake.clear()


async def stop_following(
    listeners: list[Callable[[Any], None]],
    follow: Callable[[Any], None],
    task: asyncio.Task[None] | None,
) -> None:
    """A desk's stop: no more of the engine's changes, and its periodic check ended."""
    if follow in listeners:
        listeners.remove(follow)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
