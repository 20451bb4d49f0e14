"""The hostile-input drill: `tools.drill.hostile_input` as a drill result.

Every fuzzed request, oversized or stalled request and event-stream flood is a fault; a
5xx, a schema violation or a failed probe is a failure (the drill is not ok). Nothing is
acknowledged by these requests, so "lost" counts only failures that changed the branch —
the fuzzing runs on a scratch branch, so it is always 0 here; failures are listed.
"""

from __future__ import annotations

from typing import Any

from tools.drill.hostile_input import run_hostile


def run(short: bool, attempts: int | None = None) -> dict[str, Any]:
    report = run_hostile(short=short)
    cases = sum(int(r.get("cases", 0)) for r in report["fuzz"].values())
    failures = [
        f"{role}: {failure}" for role, r in report["fuzz"].items() for failure in r["failures"]
    ]
    if not report["ok"] and not failures:
        failures.append("a size, slow-request or flood probe failed (see details)")
    probes = len(report["oversized"]) + len(report["slow"]) + 1
    return {
        "drill": "hostile",
        "attempts": len(report["fuzz"]),
        "faults": cases + probes,
        "lost": 0,
        "recovery_p95_s": None,
        "details": {**report, "failures": failures},
    }
