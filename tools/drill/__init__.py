"""Drills: inject real faults into a running branch and count what was lost.

A drill is a command (`branchq drill NAME`) that starts the real server, drives real
clients, breaks something (kill -9, a cut cable, a stalled link) over and over, and checks
afterwards that nothing acknowledged was lost and that every client came back. Each returns
a `DrillResult`; `branchq drill all` runs every registered drill and prints one table.

Adding a drill is one line at the bottom of this module:

    register("soak", ".soak", "Hours of load; memory and latency stay flat.")

where the module (relative to this package, or absolute) has either
`run(attempts, *, seed, log) -> DrillResult` (`attempts` already defaulted from `attempts=`
or `short=` of `register`; it may also take `short` and `branches` keywords: CI's size and
`--branches`) or `run(short, attempts) -> dict` with the `--json` fields
(`attempts` None: the drill's own default). Modules are imported only when their drill runs.
"""

from __future__ import annotations

import importlib
import inspect
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

Log = Callable[[str], None]


@dataclass
class DrillResult:
    """What one drill did and what it found; `lost` must be 0."""

    drill: str
    attempts: int  # rounds run (each injects one or more faults)
    faults: int  # faults injected in all
    lost: int  # acknowledged data lost, events missed or repeated, numbers or calls doubled
    recovery_p95_s: float | None  # server reachable again → client working again, p95
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and not self.details.get("failures")

    def summary(self) -> dict[str, Any]:
        """The figures `--json` prints (the details go along under their own key)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DrillResult:
        """A result a drill gave as its `--json` object."""
        return cls(
            str(d["drill"]),
            int(d["attempts"]),
            int(d["faults"]),
            int(d["lost"]),
            None if d.get("recovery_p95_s") is None else float(d["recovery_p95_s"]),
            dict(d.get("details") or {}),
        )


@dataclass(frozen=True)
class Drill:
    name: str
    module: str  # relative to this package, e.g. ".crash"
    help: str
    attempts: int  # the long version's default
    short_attempts: int  # CI's short version

    def run(
        self,
        attempts: int | None = None,
        *,
        short: bool = False,
        seed: int = 1,
        log: Log | None = None,
        branches: int | None = None,
    ) -> DrillResult:
        if attempts is not None and attempts < 1:
            raise ValueError("need --attempts >= 1")
        runner = importlib.import_module(self.module, __package__).run
        takes = inspect.signature(runner).parameters
        if branches is not None and "branches" not in takes:
            raise ValueError(f"the {self.name} drill takes no --branches")
        if "short" in takes and "seed" not in takes:  # run(short, attempts) -> dict
            raw = runner(short=short, attempts=attempts)
            return raw if isinstance(raw, DrillResult) else DrillResult.from_dict(raw)
        n = attempts if attempts is not None else (self.short_attempts if short else self.attempts)
        # A drill sized by more than its rounds says so: `short` (CI's size) and `branches`.
        sizes: dict[str, Any] = {"short": short} if "short" in takes else {}
        if branches is not None:
            sizes["branches"] = branches
        result: DrillResult = runner(n, seed=seed, log=log or _stderr, **sizes)
        return result


DRILLS: dict[str, Drill] = {}


def register(name: str, module: str, help: str, *, attempts: int = 1, short: int = 1) -> None:
    """Add a drill (see the module's docstring); `attempts`/`short`: long and CI rounds."""
    DRILLS[name] = Drill(name, module, help, attempts, short)


def run_all(short: bool, *, seed: int = 1, log: Log | None = None) -> list[DrillResult]:
    """Every registered drill, in registration order (short: CI's versions)."""
    return [d.run(short=short, seed=seed, log=log) for d in DRILLS.values()]


def poll_until(condition: Callable[[], bool], timeout_s: float, every_s: float) -> bool:
    """Whether `condition()` came to hold within `timeout_s`, asked every `every_s`: for
    another process's state, which has nothing to wait on but asking it again."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every_s)
    return True


def p95(values: list[float]) -> float | None:
    """Nearest-rank 95th percentile, rounded to milliseconds; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(1, math.ceil(0.95 * len(ordered))) - 1], 3)


def format_table(results: list[DrillResult]) -> str:
    """The Markdown table that goes into the README."""
    lines = [
        "| drill | attempts | faults injected | data lost | recovery p95 |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        rec = "—" if r.recovery_p95_s is None else f"{r.recovery_p95_s:.2f} s"
        lines.append(f"| {r.drill} | {r.attempts} | {r.faults} | {r.lost} | {rec} |")
    return "\n".join(lines)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


register(
    "crash",
    ".crash",
    "kill -9 the server at random moments under mixed load; nothing acknowledged is lost.",
    attempts=50,
    short=3,
)
register(
    "network",
    ".network",
    "Cut, stall and restart the links of the kiosk, counter, display and bus hub.",
    attempts=5,
    short=1,
)
register(
    "hostile",
    ".hostile",
    "Fuzz every API operation per role; oversized, stalled and flooding clients.",
)
register(
    "devices",
    ".devices",
    "Printer paper out / cover open / unplugged mid-ticket, LED board unplugged, ID reader "
    "garbage, camera gone: the kiosk degrades, the manager is alerted, nothing freezes.",
)
register(
    "soak",
    ".soak",
    "A 2x branch day through the real server, kiosk and counter app: memory, files, threads.",
)
register(
    "central",
    ".central",
    "A branch shipping to the head office on PostgreSQL: link cut, centre, PostgreSQL and "
    "branch kill -9, restore from backup; every event arrives once.",
    attempts=3,
    short=1,
)
register(
    "config-rollout",
    ".config_rollout",
    "A configuration version published to a network of real branches mid-traffic: applied "
    "everywhere within 60 s, nothing lost; a stopped branch catches up; a tampered one refuses.",
)
