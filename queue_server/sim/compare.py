"""Policies compared on the same simulated days: every policy replays the same customers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ..domain import CallingPolicy
from ..domain.policies import POLICY_NAMES, policy_by_name
from .arrivals import draw_day
from .bound import skill_pooled_bound
from .engine import DayRun, simulate_day
from .metrics import mean_ci95, summarise
from .scenario import Scenario

Progress = Callable[[int, int], None]  # (steps done, steps in all)


def scenario_policy(scenario: Scenario, name: str) -> CallingPolicy:
    """A named policy tuned to the scenario: its appointment grace and class targets."""
    return policy_by_name(
        name,
        appointment_grace=timedelta(seconds=scenario.branch.settings.appointment_grace_s),
        class_targets=scenario.class_targets_min,
    )


@dataclass
class Comparison:
    scenario: Scenario
    days: int
    runs: dict[str, list[DayRun]] = field(default_factory=dict)
    bounds: list[float] = field(default_factory=list)  # one per day
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def default(self) -> str:
        return choose_default(self.summaries)

    def as_json(self) -> dict[str, Any]:
        bound, lo, hi = mean_ci95(self.bounds)
        default = self.default
        return {
            "scenario": self.scenario.name,
            "days": self.days,
            "default": default,
            "default_rule": "best within-target share with every class's p95 ≤ 1.5× its target",
            "default_meets_rule": not self.summaries[default]["starved_classes"],
            "lower_bound_total_wait_min": round(bound, 1),
            "lower_bound_ci95": [round(lo, 1), round(hi, 1)],
            "policies": self.summaries,
        }


def choose_default(summaries: dict[str, dict[str, Any]]) -> str:
    """Best share within target among policies that starve no class (else fewest starved)."""
    return min(
        summaries,
        key=lambda n: (
            len(summaries[n]["starved_classes"]),
            -(summaries[n]["within_target_share"] or 0.0),
            summaries[n]["total_wait_min"] or 0.0,
        ),
    )


def compare_policies(
    scenario: Scenario,
    names: Sequence[str] = POLICY_NAMES,
    days: int | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """Simulate `days` days (default: the scenario's) under every policy, same customers."""
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
    bound_total = sum(result.bounds)
    for name in names:
        summary = summarise(scenario, result.runs[name])
        total = sum(sum(o.queue_min for o in r.outcomes) for r in result.runs[name])
        summary["bound_ratio"] = round(total / bound_total, 3) if bound_total > 0 else None
        result.summaries[name] = summary
    return result
