"""The predictor process lives and dies with its server (kill -9 included)."""

from __future__ import annotations

import os
import select
import signal
from pathlib import Path

import pytest

from tools.harness import branch_process


def _children(pid: int) -> list[int]:
    """The live child processes of `pid`, from /proc (Linux)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found.extend(int(c) for c in children)
    return found


def _is_pool_worker(pid: int) -> bool:
    return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_killed_servers_predictor_process_leaves_too():
    # 509a284 left one predictor process behind per kill -9: its pool never told it.
    with branch_process(["kiosk", "counter:1"], staff=[("t1", "2468")]) as branch:
        with branch.client("counter:1") as teller, branch.client("kiosk") as kiosk:
            teller.post("/counters/1/sign-in", json={"staff_id": "t1", "pin": "2468"})
            for _ in range(3):
                assert kiosk.post("/tickets", json={"service": "A"}).status_code == 201
            # The third ticket's answer carries the predictor's figures once it runs: wait
            # for the process to exist (it is started by the first prediction).
            predictor: list[int] = []
            while not predictor:
                assert kiosk.get("/tickets/3").status_code == 200
                predictor = [c for c in _children(branch.proc.pid) if _is_pool_worker(c)]
        # Every child: the worker, and multiprocessing's resource tracker.
        watched = [os.pidfd_open(c) for c in _children(branch.proc.pid)]
        try:
            branch.proc.send_signal(signal.SIGKILL)
            branch.proc.wait(timeout=10)
            for fd in watched:
                ready, _, _ = select.select([fd], [], [], 10)  # readable once it has exited
                assert ready, "a process of the server's outlived it by 10 s"
        finally:
            for fd in watched:
                os.close(fd)
