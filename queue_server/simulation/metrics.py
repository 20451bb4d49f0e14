"""Figures of simulated days: waits per class, share within target, fairness, utilisation.

Class waits follow the scenario's [sla]: an appointment's wait counts from the later of
arrival and slot. Total waiting (for the lower bound) counts everyone from arrival.
Daily figures come with 95 % intervals over the days (Student's t).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from queue_server.domain import PriorityClass
from queue_server.simulation.engine import DayRun, Outcome
from queue_server.simulation.scenario import CLASSES, Scenario

# Two-sided 95 % Student t quantiles by degrees of freedom (1..30); 1.96 beyond.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def mean_ci95(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and its 95 % interval (the interval is the mean itself for one value)."""
    n = len(values)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    m = statistics.fmean(values)
    if n == 1:
        return (m, m, m)
    t = _T95[n - 2] if n - 1 <= len(_T95) else 1.96
    half = t * statistics.stdev(values) / math.sqrt(n)
    return (m, m - half, m + half)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (0 ≤ q ≤ 100) of already sorted values."""
    if not sorted_values:
        return math.nan
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def overtakes(outcomes: Sequence[Outcome]) -> int:
    """Pairs in one business's queue where the later arrival was called first."""
    total = 0
    by_service: dict[str, list[Outcome]] = {}
    for o in outcomes:
        if o.called_min is not None:
            by_service.setdefault(o.arrival.service, []).append(o)
    for group in by_service.values():
        group.sort(key=lambda o: o.arrival.at_min)
        total += _inversions([o.end_min for o in group])
    return total


def _inversions(values: list[float]) -> int:
    if len(values) < 2:
        return 0
    mid = len(values) // 2
    left, right = values[:mid], values[mid:]
    count = _inversions(left) + _inversions(right)
    left.sort()
    right.sort()
    j = 0
    for x in left:  # for each left value, how many right values are strictly smaller
        while j < len(right) and right[j] < x:
            j += 1
        count += j
    return count


def jain_index(xs: Sequence[float]) -> float:
    """Jain's fairness index: 1 when all equal, 1/n when one takes everything."""
    squares = sum(x * x for x in xs)
    if not xs or squares == 0:
        return 1.0
    return sum(xs) ** 2 / (len(xs) * squares)


def _round(x: float | None, digits: int = 3) -> float | None:
    if x is None or math.isnan(x):
        return None
    return round(x, digits)


def class_figures(outcomes: Sequence[Outcome], target_min: float) -> dict[str, Any]:
    waits = sorted(o.wait_min for o in outcomes)
    n = len(waits)
    within = sum(1 for o in outcomes if o.left_min is None and o.wait_min <= target_min + 1e-9)
    abandoned = sum(1 for o in outcomes if o.left_min is not None)
    return {
        "customers": n,
        "mean_wait_min": _round(statistics.fmean(waits) if n else math.nan),
        "p50_wait_min": _round(percentile(waits, 50)),
        "p90_wait_min": _round(percentile(waits, 90)),
        "p95_wait_min": _round(percentile(waits, 95)),
        "max_wait_min": _round(waits[-1] if n else math.nan),
        "target_min": target_min,
        "within_target_share": _round(within / n if n else math.nan, 4),
        "abandonment_share": _round(abandoned / n if n else math.nan, 4),
    }


def _within(o: Outcome, scenario: Scenario) -> bool:
    return o.left_min is None and o.wait_min <= scenario.sla[o.arrival.priority].within_min + 1e-9


def class_misses_per_day(scenario: Scenario, runs: Sequence[DayRun], cls: PriorityClass) -> float:
    """How many of one class's customers a day waited over target (or gave up), on average."""
    members = [o for r in runs for o in r.outcomes if o.arrival.priority is cls]
    late = sum(1 for o in members if not _within(o, scenario))
    return late / len(runs) if runs else math.nan


def within_share(scenario: Scenario, outcomes: Sequence[Outcome]) -> float:
    """The share of one day's customers who waited within their class's target."""
    return sum(_within(o, scenario) for o in outcomes) / len(outcomes) if outcomes else 0.0


def summarise(scenario: Scenario, runs: Sequence[DayRun]) -> dict[str, Any]:
    """All figures of one policy over its simulated days."""
    everyone = [o for run in runs for o in run.outcomes]
    classes: dict[str, Any] = {}
    ratios: list[float] = []
    starved: list[str] = []
    for cls in CLASSES:
        target = scenario.sla[cls].within_min
        members = [o for o in everyone if o.arrival.priority is cls]
        figures = class_figures(members, target)
        classes[cls.value] = figures
        if members:
            ratios.append(figures["mean_wait_min"] / target)
            if figures["p95_wait_min"] > 1.5 * target:
                starved.append(cls.value)
    day_mean = [statistics.fmean(o.wait_min for o in r.outcomes) for r in runs if r.outcomes]
    day_within = [within_share(scenario, r.outcomes) for r in runs if r.outcomes]
    day_total = [sum(o.queue_min for o in r.outcomes) for r in runs]
    waits = sorted(o.wait_min for o in everyone)
    mean, mean_lo, mean_hi = mean_ci95(day_mean)
    share, share_lo, share_hi = mean_ci95(day_within)
    total, total_lo, total_hi = mean_ci95(day_total)
    counters = len(scenario.branch.counters)
    capacity = sum(max(scenario.open_minutes, r.end_min) * counters for r in runs)
    busy = sum(sum(r.busy_min.values()) for r in runs)
    per_counter = {
        str(n): _round(sum(r.busy_min.get(n, 0.0) for r in runs) / (capacity / counters), 4)
        for n in sorted(c.number for c in scenario.branch.counters)
    }
    served = sum(1 for o in everyone if o.called_min is not None)
    abandoned = sum(1 for o in everyone if o.left_min is not None)
    return {
        "customers": len(everyone),
        "mean_wait_min": _round(mean),
        "mean_wait_ci95": [_round(mean_lo), _round(mean_hi)],
        "p50_wait_min": _round(percentile(waits, 50)),
        "p90_wait_min": _round(percentile(waits, 90)),
        "p95_wait_min": _round(percentile(waits, 95)),
        "max_wait_min": _round(waits[-1] if waits else math.nan),
        "within_target_share": _round(share, 4),
        "within_target_ci95": [_round(share_lo, 4), _round(share_hi, 4)],
        "total_wait_min": _round(total, 1),
        "total_wait_ci95": [_round(total_lo, 1), _round(total_hi, 1)],
        "abandonment_share": _round(abandoned / len(everyone) if everyone else math.nan, 4),
        "overtakes_per_customer": _round(
            sum(overtakes(r.outcomes) for r in runs) / served if served else math.nan, 4
        ),
        "jain_index": _round(jain_index(ratios), 4),
        "utilisation": _round(busy / capacity if capacity else math.nan, 4),
        "counter_utilisation": per_counter,
        "starved_classes": starved,
        "classes": classes,
    }


def class_waits(runs: Sequence[DayRun], cls: PriorityClass) -> list[float]:
    """Every wait of one class over the days (for plots)."""
    return [o.wait_min for r in runs for o in r.outcomes if o.arrival.priority is cls]
