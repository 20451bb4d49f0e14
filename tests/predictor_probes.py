"""Prediction functions for the engine's predictor process, to see where and when it runs.

They are sent to the other process by reference (module and name), so they live in a
module of their own that the spawned process can import, not inside a test.
"""

from __future__ import annotations

import os
from typing import Any

from queue_server.domain.eta import Prediction, predict_waits


def failing(*args: Any, **kwargs: Any) -> Prediction:
    raise RuntimeError("predictor broke")


def noting_pid(path: str, *args: Any, **kwargs: Any) -> Prediction:
    """Predict, and append this process's id to `path`."""
    with open(path, "a") as f:
        f.write(f"{os.getpid()}\n")
    return predict_waits(*args, **kwargs)


def after(go: Any, *args: Any, **kwargs: Any) -> Prediction:
    """Predict once the test sets `go` (a multiprocessing manager's Event); never holds the
    shared predictor process longer than 30 s, whatever became of the test."""
    go.wait(30)
    return predict_waits(*args, **kwargs)


def advise_noting_pid(path: str, *args: Any) -> int | None:
    """Decide a lookahead call, and append this process's id to `path`."""
    from queue_server.call_advice import advise_call

    with open(path, "a") as f:
        f.write(f"{os.getpid()}\n")
    return advise_call(*args)


def advise_failing(*args: Any) -> int | None:
    raise RuntimeError("lookahead broke")
