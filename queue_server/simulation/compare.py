"""Policies compared on the same simulated days: every policy replays the same customers.

The default is chosen by `choose_default`: a policy that lets a class wait without end under
a flood of a priority class (`flood_wait_min`) is out while any other is left; then fewest
classes with p95 over 1.5× their target; then the best within-target share, where shares
that the same-customers (paired) 95 % interval cannot tell apart count as a tie; then the
least total waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from queue_server.domain import (
    CallingPolicy,
    Counter,
    CounterState,
    PriorityClass,
    Service,
    Skill,
    Ticket,
)
from queue_server.domain.policies import POLICY_NAMES, policy_by_name
from queue_server.simulation.arrivals import draw_day
from queue_server.simulation.bound import skill_pooled_bound
from queue_server.simulation.clairvoyant import ClairvoyantDay, OpenHours, Problem, clairvoyant_day
from queue_server.simulation.engine import DayRun, simulate_day
from queue_server.simulation.metrics import (
    class_misses_per_day,
    mean_ci95,
    summarise,
    within_share,
)
from queue_server.simulation.scenario import CLASSES, Scenario

FLOOD_CLASSES = (PriorityClass.VIP, PriorityClass.CARE)
FLOOD_HORIZON_MIN = 480  # a whole opening day

Progress = Callable[[int, int], None]  # (steps done, steps in all)


def scenario_policy(scenario: Scenario, name: str) -> CallingPolicy:
    """A named policy tuned to the scenario: its appointment grace and class targets."""
    return policy_by_name(
        name,
        appointment_grace=timedelta(seconds=scenario.branch.settings.appointment_grace_s),
        class_targets=scenario.class_targets_min,
    )


def flood_wait_min(
    policy: CallingPolicy, flood: PriorityClass, horizon_min: int = FLOOD_HORIZON_MIN
) -> int | None:
    """Minutes a regular customer waits at a counter flooded by class `flood`: None = never.

    One counter, one business; the regular customer is there first; from then on a customer
    of `flood` arrives every minute and every service takes a minute, so the counter never
    runs out of them. A policy that calls the regular customer only after the flood ends
    starves them by construction, whatever the benchmark's load.
    """
    start = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    services = {"A": Service("A", "A", {"en": "A"}, target_wait_s=600)}
    counter = Counter(1, "1", state=CounterState.OPEN, skills=(Skill("A"),))

    def customer(tid: int, minute: int, cls: PriorityClass) -> Ticket:
        at = start + timedelta(minutes=minute)
        return Ticket(
            id=tid,
            number=f"A{tid:03d}",
            service="A",
            business_day=date(2026, 1, 5),
            arrived_at=at,
            issued_at=at,
            priority=cls,
            vip_tier=1 if cls is PriorityClass.VIP else 0,
        )

    regular = customer(1, 0, PriorityClass.REGULAR)
    waiting = [regular]
    for minute in range(horizon_min + 1):
        waiting.append(customer(minute + 2, minute, flood))
        chosen = policy.choose_next(counter, waiting, start + timedelta(minutes=minute), services)
        if chosen is regular:
            return minute
        waiting = [t for t in waiting if t is not chosen]
    return None


@dataclass
class Comparison:
    scenario: Scenario
    days: int
    runs: dict[str, list[DayRun]] = field(default_factory=dict)
    bounds: list[float] = field(default_factory=list)  # one per day
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    clairvoyant: list[ClairvoyantDay] = field(default_factory=list)  # one per day, if asked
    clairvoyant_summary: dict[str, Any] | None = None

    @property
    def default(self) -> str:
        return choose_default(self.summaries, self.day_shares())

    def day_shares(self) -> dict[str, list[float]]:
        """Each policy's within-target share per simulated day (same customers each day)."""
        return {
            name: [within_share(self.scenario, r.outcomes) for r in runs]
            for name, runs in self.runs.items()
        }

    def as_json(self) -> dict[str, Any]:
        bound, lo, hi = mean_ci95(self.bounds)
        default = self.default
        return {
            "scenario": self.scenario.name,
            "days": self.days,
            "default": default,
            "default_rule": DEFAULT_RULE,
            "default_meets_rule": not self.summaries[default]["starved_classes"],
            "lower_bound_total_wait_min": round(bound, 1),
            "lower_bound_ci95": [round(lo, 1), round(hi, 1)],
            "clairvoyant": self.clairvoyant_summary,
            "policies": self.summaries,
        }


DEFAULT_RULE = (
    "no class left waiting without end under a flood of VIP or care customers; then fewest "
    "classes with p95 over 1.5× their target; then best within-target share (a difference "
    "within the paired 95 % interval is a tie); then least total waiting"
)


def choose_default(
    summaries: dict[str, dict[str, Any]], day_shares: dict[str, list[float]] | None = None
) -> str:
    """The benchmark's winner by `DEFAULT_RULE`.

    `day_shares` (per policy, per day, the same customers) decide whether two shares differ
    by more than chance; without them the shares are compared as they are.
    """

    def floods(n: str) -> bool:
        return any(w is None for w in summaries[n].get("flood_wait_min", {}).values())

    def share(n: str) -> float:
        return float(summaries[n]["within_target_share"] or 0.0)

    names = list(summaries)
    safe = [n for n in names if not floods(n)] or names
    fewest = min(len(summaries[n]["starved_classes"]) for n in safe)
    candidates = [n for n in safe if len(summaries[n]["starved_classes"]) == fewest]
    best = max(candidates, key=share)

    def tied_with_best(n: str) -> bool:
        if n == best:
            return True
        if day_shares is None or len(day_shares.get(n, ())) < 2:
            return share(n) == share(best)
        diffs = [b - x for b, x in zip(day_shares[best], day_shares[n], strict=True)]
        _, low, _ = mean_ci95(diffs)
        return low <= 0.0

    tied = [n for n in candidates if tied_with_best(n)]
    return min(tied, key=lambda n: (summaries[n]["total_wait_min"] or 0.0, -share(n), n))


def compare_policies(
    scenario: Scenario,
    names: Sequence[str] = POLICY_NAMES,
    days: int | None = None,
    progress: Progress | None = None,
    clairvoyant_iterations: int = 0,
    open_hours: OpenHours | None = None,
) -> Comparison:
    """Simulate `days` days (default: the scenario's) under every policy, same customers.

    With `clairvoyant_iterations` > 0, each day also gets the clairvoyant reference (see
    `clairvoyant`), seeded with that day's best policy schedule; `open_hours` are the
    counters' open intervals when some close during the day (default: all open all day).
    """
    days = scenario.days if days is None else days
    if days < 1:
        raise ValueError("days must be at least 1")
    policies = {name: scenario_policy(scenario, name) for name in names}
    result = Comparison(scenario, days, runs={name: [] for name in names})
    skills = {c.number: frozenset(s.service for s in c.skills) for c in scenario.branch.counters}
    steps = days * len(names)
    for day in range(days):
        arrivals = draw_day(scenario, day)
        result.bounds.append(skill_pooled_bound(arrivals, skills))
        for i, (name, policy) in enumerate(policies.items()):
            result.runs[name].append(simulate_day(scenario, arrivals, policy, day))
            if progress is not None:
                progress(day * len(names) + i + 1, steps)
        if clairvoyant_iterations > 0:
            problem = Problem(tuple(arrivals), skills, scenario.class_targets_min, open_hours or {})
            day_runs = {name: runs[day] for name, runs in result.runs.items()}
            result.clairvoyant.append(
                clairvoyant_day(problem, day_runs, clairvoyant_iterations, rng_seed=day)
            )
    bound_total = sum(result.bounds)
    for name in names:
        summary = summarise(scenario, result.runs[name])
        total = sum(sum(o.queue_min for o in r.outcomes) for r in result.runs[name])
        summary["bound_ratio"] = round(total / bound_total, 3) if bound_total > 0 else None
        summary["flood_wait_min"] = {
            cls.value: flood_wait_min(policies[name], cls) for cls in FLOOD_CLASSES
        }
        result.summaries[name] = summary
    if result.clairvoyant:
        _compare_with_clairvoyant(result)
    return result


def _compare_with_clairvoyant(result: Comparison) -> None:
    """The clairvoyant's figures, and each policy's against them (ratios over all days)."""
    scenario = result.scenario
    best = [d.run for d in result.clairvoyant]
    figures = summarise(scenario, best)
    best_total = sum(sum(o.queue_min for o in r.outcomes) for r in best)
    classes: dict[str, Any] = {}
    for cls in CLASSES:
        c = figures["classes"][cls.value]
        classes[cls.value] = {
            "customers": c["customers"],
            "mean_wait_min": c["mean_wait_min"],
            "p95_wait_min": c["p95_wait_min"],
            "within_target_share": c["within_target_share"],
            "misses_per_day": round(class_misses_per_day(scenario, best, cls), 2),
        }
    seconds = [d.seconds for d in result.clairvoyant]
    seeded: dict[str, int] = {}
    for d in result.clairvoyant:
        seeded[d.seed_policy] = seeded.get(d.seed_policy, 0) + 1
    result.clairvoyant_summary = {
        "method": "late-acceptance local search over counter sequences, seeded with the "
        "day's best policy schedule; arrivals, service times and patience known in advance",
        "objective": "minutes queued + 1000 × target misses weighted by longest target ÷ "
        "class target",
        "iterations_per_day": result.clairvoyant[0].iterations,
        "seconds_per_day": round(sum(seconds) / len(seconds), 2),
        "seeded_from": seeded,
        "cost_vs_seed": round(
            sum(d.cost for d in result.clairvoyant) / sum(d.seed_cost for d in result.clairvoyant),
            4,
        )
        if any(d.seed_cost for d in result.clairvoyant)
        else None,
        "total_wait_min": figures["total_wait_min"],
        "total_wait_ci95": figures["total_wait_ci95"],
        "within_target_share": figures["within_target_share"],
        "within_target_ci95": figures["within_target_ci95"],
        "starved_classes": figures["starved_classes"],
        "classes": classes,
    }
    for name, summary in result.summaries.items():
        runs = result.runs[name]
        total = sum(sum(o.queue_min for o in r.outcomes) for r in runs)
        summary["clairvoyant_ratio"] = round(total / best_total, 3) if best_total > 0 else None
        for cls in CLASSES:
            mine = class_misses_per_day(scenario, runs, cls)
            theirs = classes[cls.value]["misses_per_day"]
            summary["classes"][cls.value]["clairvoyant"] = {
                "misses_per_day": round(mine, 2),
                "clairvoyant_misses_per_day": theirs,
                "clairvoyant_p95_wait_min": classes[cls.value]["p95_wait_min"],
                "misses_ratio": round(mine / theirs, 3) if theirs else None,
            }
