"""`branchq bench issue`: the server's per-issue work as the queue grows, 10 to 5,000 waiting.

Each issue decides and applies the ticket in the Branch aggregate and answers the kiosk with
the newcomer's place in the queue and its naive ETA (what `Engine.ticket_wait` computes on
the event loop; the simulation prediction runs on a worker and is not part of it). The same
customers are issued at each queue length with the positions from the sorted index (now)
and, as the same-run baseline, by sorting the business's queue (c8f3adb's way), so the two
columns differ only in how the place is found. The fsync and HTTP are left out: they do not
grow with the queue (`bench server` measures them).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from queue_server.cli import Refused
from queue_server.config import load_config
from queue_server.domain import (
    Branch,
    BranchSettings,
    Counter,
    CounterState,
    PriorityClass,
    Service,
    Skill,
    Ticket,
)
from queue_server.domain.policies import AccumulatingPriority, RankKey

LEVELS = (10, 100, 1000, 5000)
ISSUES = 200  # timed issues at each level
T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
CLASSES = (PriorityClass.REGULAR,) * 8 + (PriorityClass.CARE, PriorityClass.VIP)


class SortingPolicy(AccumulatingPriority):
    """The default policy with no fixed keys: every position sorts the business's queue."""

    def fixed_key(self, ticket: Ticket, services: Mapping[str, Service]) -> RankKey | None:
        return None


def _branch(policy: AccumulatingPriority) -> Branch:
    services = list(load_config(None).services)  # the demo branch's businesses
    counters = [
        Counter(
            n,
            f"Window {n}",
            state=CounterState.OPEN,
            staff_id=f"t{n:02d}",
            skills=tuple(Skill(s.code) for s in services),
        )
        for n in range(1, 7)
    ]
    return Branch(BranchSettings(), services=services, counters=counters, policy=policy)


def _issue(b: Branch, service: str, cls: PriorityClass, at: datetime) -> None:
    tier = 1 if cls is PriorityClass.VIP else 0
    change = b.issue_ticket(service, at, priority=cls, vip_tier=tier)
    b.apply(change)
    ticket = change.result
    assert isinstance(ticket, Ticket)
    ahead = b.position(ticket, at)  # what the kiosk is told
    b.naive_eta_s(ticket, at, ahead)


def per_issue_us(policy: AccumulatingPriority, waiting: int, seed: int) -> float:
    """Median µs of one issue with `waiting` customers already queued."""
    b = _branch(policy)
    rng = random.Random(seed)
    codes = sorted(b.services)
    at = T0
    for _ in range(waiting):
        at += timedelta(seconds=rng.uniform(0.5, 3.0))
        _issue(b, rng.choice(codes), rng.choice(CLASSES), at)
    times = []
    for _ in range(ISSUES):
        at += timedelta(seconds=1)
        service, cls = rng.choice(codes), rng.choice(CLASSES)
        t = time.perf_counter()
        _issue(b, service, cls, at)
        times.append((time.perf_counter() - t) * 1e6)
    return statistics.median(times)


def run(seed: int = 7, levels: tuple[int, ...] = LEVELS) -> dict[str, Any]:
    rows = []
    for waiting in levels:
        indexed = per_issue_us(AccumulatingPriority(), waiting, seed)
        sorting = per_issue_us(SortingPolicy(), waiting, seed)
        rows.append(
            {"waiting": waiting, "indexed_us": round(indexed, 1), "sorting_us": round(sorting, 1)}
        )
    first, last = rows[0], rows[-1]
    return {
        "levels": rows,
        "issues_per_level": ISSUES,
        "growth_indexed": round(last["indexed_us"] / first["indexed_us"], 2),
        "growth_sorting": round(last["sorting_us"] / first["sorting_us"], 2),
    }


def format_report(r: dict[str, Any]) -> str:
    lines = [
        f"Per-issue work in the Branch aggregate (median of {r['issues_per_level']} issues; "
        "decide, apply, place and naive ETA)",
        f"  {'waiting':>8} {'sorted index':>14} {'sorting (c8f3adb)':>19}",
    ]
    for row in r["levels"]:
        lines.append(
            f"  {row['waiting']:>8} {row['indexed_us']:>11.1f} µs {row['sorting_us']:>16.1f} µs"
        )
    lines.append(
        f"  {r['levels'][0]['waiting']:,} → {r['levels'][-1]['waiting']:,} waiting: "
        f"×{r['growth_indexed']} with the index, "
        f"×{r['growth_sorting']} sorting"
    )
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    levels = tuple(int(x) for x in args.levels.split(","))
    if len(levels) < 2 or any(n < 1 for n in levels):
        raise Refused("--levels needs two or more queue lengths ≥ 1, e.g. 10,5000")
    report = run(args.seed, levels)
    print(json.dumps(report) if args.json else format_report(report))
    return 0
