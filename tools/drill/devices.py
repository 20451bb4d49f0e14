"""The device-fault drill of `branchq drill`: runs tools.drill.kiosk as a child, reads its result.

The drill drives the real kiosk (Qt, offscreen) on device simulators in a child process, so
that a kiosk that crashes or hangs under a fault is a reported result (`lost` 1, its error
output), not the end of `branchq drill all`.
What each fault is and how it is judged: the docstring of tools/drill/kiosk.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tools.harness import child_env

RESULT_KEYS = ("drill", "attempts", "faults", "lost", "recovery_p95_s", "details")
SHORT_TIMEOUT_S = 240.0
LONG_TIMEOUT_S = 4 * 3600.0


def run_child(module: str, drill: str, args: list[str], timeout_s: float) -> dict[str, Any]:
    """Run `python -m module --json …`; its last stdout line is the result object.

    A child that crashes or prints no result still gives a result: `lost` 1 and the end of
    its error output in details, so `branchq drill all` reports it next to the others.
    """
    command = [sys.executable, "-m", module, "--json", *args]
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=child_env(),
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired as exc:
        return failed(drill, f"no result within {timeout_s:.0f} s", str(exc.stderr or "")[-2000:])
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            try:
                result: dict[str, Any] = json.loads(line)
            except json.JSONDecodeError:
                break
            return {key: result.get(key) for key in RESULT_KEYS}
    return failed(drill, f"exit code {done.returncode}", done.stderr[-2000:])


def failed(drill: str, why: str, log_tail: str) -> dict[str, Any]:
    return {
        "drill": drill,
        "attempts": 0,
        "faults": 0,
        "lost": 1,
        "recovery_p95_s": None,
        "details": {
            "error": why,
            "failures": [f"the drill did not finish: {why}"],
            "log": log_tail,
        },
    }


def run(short: bool, attempts: int | None) -> dict[str, Any]:
    """Printer paper out / cover open / unplugged mid-ticket, LED board off the bus and back,
    ID reader garbage, camera gone: the kiosk degrades, the manager is alerted, it recovers."""
    args = ["--short"] if short else []
    if attempts is not None:
        args += ["--attempts", str(attempts)]
    return run_child(
        "tools.drill.kiosk", "devices", args, SHORT_TIMEOUT_S if short else LONG_TIMEOUT_S
    )
