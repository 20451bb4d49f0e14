"""The soak of `branchq drill`: a compressed 2× branch day, tools.drill.soak_app as a child.

The day goes through the real server, kiosk and counter app, each its own process (their
memory, descriptors and threads are what is measured); the runner itself is a child too, as
the device drill's is, so that a crash is a reported result. What is measured and the
limits (memory growth under 10 %, no growth in descriptors or threads, nothing lost or
crashed): the docstring of tools/drill/soak_app.py. Short: 2 simulated hours at 240× speed (about
30 s); long: the 12-hour day at 60× (12 minutes) — `python -m tools.drill.soak_app --speed 1` is a
real day, by hand.
"""

from __future__ import annotations

from typing import Any

from tools.drill.devices import run_child

SHORT_TIMEOUT_S = 300.0
LONG_TIMEOUT_S = 24 * 3600.0


def run(short: bool, attempts: int | None) -> dict[str, Any]:
    """A simulated branch day at 2× the standard load: no crash, no growth, nothing lost."""
    args = ["--short"] if short else []
    if attempts is not None:
        args += ["--attempts", str(attempts)]
    return run_child(
        "tools.drill.soak_app", "soak", args, SHORT_TIMEOUT_S if short else LONG_TIMEOUT_S
    )
