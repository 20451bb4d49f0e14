"""`branchq bench rollout`: the lookahead policy's decision time at a busy branch.

Each decision is made on its own drawn state of the standard day's branch at its peak: 150
customers waiting (businesses and classes in the scenario's mix, arrived over the last hour),
ten windows of which nine are mid-service and one calls, and the scenario's forecast of
walk-ins and bookings for the next hour. The same states are timed under the base policy's
`choose_next` (the baseline, in the same run) and under the rollout's `choose_in_hall`,
with its starvation guard off so that every decision runs the full lookahead.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from queue_server.domain import Counter, CounterState, PriorityClass, Ticket, TicketState
from queue_server.domain.policies import Forecast, Hall, Rollout, policy_by_name
from queue_server.simulation.arrivals import SLOT_MIN
from queue_server.simulation.scenario import Scenario, load_scenario

WAITING = 150
WINDOWS = 10
TARGET_P99_MS = 50.0


def scenario_forecast(scenario: Scenario, hour: int, at: datetime) -> Forecast:
    """Walk-ins per minute by (business, class) in opening hour `hour`, as the scenario
    draws them, and the booked appointments of the next hour at their slots."""
    per_hour = scenario.hourly[min(hour, len(scenario.hourly) - 1)]
    total = sum(m.share for m in scenario.mix) or 1.0
    rates: dict[tuple[str, PriorityClass], float] = {}
    bookings: list[tuple[str, datetime]] = []
    for m in scenario.mix:
        per_min = per_hour * m.share / total / 60.0
        if m.code in scenario.vip_services:
            rates[(m.code, PriorityClass.VIP)] = per_min
            continue
        booked = scenario.appointment_share.get(m.code, 0.0)
        vip = min(scenario.vip_share_other, 1.0 - booked)
        rest = 1.0 - booked - vip
        rates[(m.code, PriorityClass.VIP)] = per_min * vip
        rates[(m.code, PriorityClass.CARE)] = per_min * rest * scenario.care_share
        rates[(m.code, PriorityClass.REGULAR)] = per_min * rest * (1.0 - scenario.care_share)
        expected = per_min * booked * 60.0  # bookings in the next hour, on the half hours
        for k in range(round(expected)):
            slot = at + timedelta(minutes=SLOT_MIN * (1 + k % 2))
            bookings.append((m.code, slot))
    return Forecast(rates, tuple(bookings), made_at=at)


def busy_hall(
    scenario: Scenario, seed: int, waiting: int = WAITING
) -> tuple[Hall, Counter, list[Ticket]]:
    """A drawn peak-hour state (see the module's doc): the hall, the calling window, the queue."""
    rng = random.Random(seed)
    zone = ZoneInfo(scenario.branch.settings.timezone)
    now = datetime(2026, 1, 5, 12, 0, tzinfo=zone)
    services = {s.code: s for s in scenario.branch.services}
    config = list(scenario.branch.counters)
    counters = {}
    for i in range(WINDOWS):
        c = config[i % len(config)]
        counters[i + 1] = replace(c, number=i + 1, state=CounterState.OPEN, staff_id=f"s{i + 1}")
    calling = counters[rng.randrange(WINDOWS) + 1]
    codes = [m.code for m in scenario.mix]
    shares = [m.share for m in scenario.mix]
    tickets: list[Ticket] = []
    for tid in range(1, waiting + 1):
        code = rng.choices(codes, shares)[0]
        at = now - timedelta(minutes=rng.uniform(0.0, 60.0))
        cls, tier, slot = PriorityClass.REGULAR, 0, None
        u = rng.random()
        if code in scenario.vip_services or u < scenario.vip_share_other:
            cls, tier = PriorityClass.VIP, 1
        elif u < scenario.vip_share_other + scenario.appointment_share.get(code, 0.0):
            cls, slot = PriorityClass.APPOINTMENT, at.replace(second=0, microsecond=0)
        elif rng.random() < scenario.care_share:
            cls = PriorityClass.CARE
        day = now.date()
        tickets.append(
            Ticket(tid, f"{code}{tid:03d}", code, day, at, at, cls, tier, appointment_slot=slot)
        )
    serving: dict[int, Ticket] = {}
    for number, counter in counters.items():
        if number == calling.number:
            continue
        code = counter.skills[0].service
        began = now - timedelta(seconds=rng.uniform(0.0, services[code].mean_service_s))
        serving[number] = Ticket(
            10_000 + number,
            f"S{number}",
            code,
            now.date(),
            began,
            began,
            state=TicketState.SERVING,
            called_at=began,
            serving_at=began,
            counter=number,
        )
    hour = now.hour - scenario.opens.hour
    hall = Hall(now, counters, serving, services, scenario_forecast(scenario, hour, now))
    return hall, calling, tickets


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    scenario = load_scenario(args.scenario)
    targets = scenario.class_targets_min
    policy = policy_by_name("rollout", class_targets=targets, base=args.base)
    assert isinstance(policy, Rollout)
    # The guard off: every decision looks ahead (the worst case; at the branch an overdue
    # customer is called by the base policy at the base policy's cost).
    policy = replace(
        policy,
        samples=args.samples,
        candidates=args.candidates,
        horizon_min=args.horizon,
        guard=math.inf,
    )
    base = policy.base
    states = [busy_hall(scenario, seed) for seed in range(args.decisions)]
    baseline: list[float] = []
    lookahead: list[float] = []
    differs = 0
    for hall, counter, waiting in states:
        started = time.perf_counter()
        plain = base.choose_next(counter, waiting, hall.now, hall.services)
        baseline.append(time.perf_counter() - started)
        started = time.perf_counter()
        chosen = policy.choose_in_hall(hall, counter, waiting)
        lookahead.append(time.perf_counter() - started)
        differs += chosen is not plain
    figures = {
        name: {
            "p50_ms": round(_ms(xs, 0.5), 2),
            "p95_ms": round(_ms(xs, 0.95), 2),
            "p99_ms": round(_ms(xs, 0.99), 2),
            "mean_ms": round(statistics.fmean(xs) * 1000.0, 2),
        }
        for name, xs in (("baseline", baseline), ("rollout", lookahead))
    }
    return {
        "scenario": scenario.name,
        "waiting": WAITING,
        "windows": WINDOWS,
        "decisions": args.decisions,
        "base": base.name,
        "samples": policy.samples,
        "candidates": policy.candidates,
        "horizon_min": policy.horizon_min,
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": figures["rollout"]["p99_ms"] <= TARGET_P99_MS,
        "differs_from_base": differs,
        **figures,
    }


def describe(report: dict[str, Any]) -> str:
    b, r = report["baseline"], report["rollout"]
    verdict = "meets" if report["meets_target"] else "MISSES"
    return "\n".join(
        [
            f"{report['scenario']}: {report['decisions']} decisions at {report['waiting']} waiting "
            f"× {report['windows']} windows; rollout over {report['base']} with "
            f"{report['candidates']} candidates × {report['samples']} futures × "
            f"{report['horizon_min']:g} min",
            "| policy | p50 ms | p95 ms | p99 ms | mean ms |",
            "|---|---|---|---|---|",
            f"| {report['base']} choose_next (baseline) | {b['p50_ms']} | {b['p95_ms']} | "
            f"{b['p99_ms']} | {b['mean_ms']} |",
            f"| rollout | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['mean_ms']} |",
            f"rollout p99 {r['p99_ms']} ms {verdict} the {report['target_p99_ms']:g} ms target; "
            f"it called someone other than the base policy in {report['differs_from_base']} of "
            f"{report['decisions']} states.",
        ]
    )


def main(args: argparse.Namespace) -> int:
    report = run(args)
    print(json.dumps(report, ensure_ascii=False) if args.json else describe(report))
    return 0 if report["meets_target"] else 1
