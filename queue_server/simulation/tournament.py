"""The branch picks its own calling policy: a tournament on days drawn from its own forecast.

`forecast_scenario` turns what the server knows (tomorrow's arrivals per business and
interval, each business's class mix and fitted service times, its windows and targets) into
a `Scenario`; `play_candidate` runs one candidate policy over N days of it (every candidate
sees the same customers: the days are drawn from the scenario's seed); `pick` applies the
benchmark's `DEFAULT_RULE` and says why in plain words, in Chinese and English.

No I/O and no clock: the server reads its event log and hands the figures in, then runs the
candidates in a worker process one at a time (so it can show progress).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

from queue_server.config import BranchConfig
from queue_server.domain import BranchSettings, CallingPolicy, Counter, PriorityClass, Service
from queue_server.domain import policies as registry
from queue_server.domain.eta import ServiceModel
from queue_server.domain.staffing import Forecast
from queue_server.simulation.arrivals import draw_day
from queue_server.simulation.compare import (
    DEFAULT_RULE,
    FLOOD_CLASSES,
    choose_default,
    flood_wait_min,
)
from queue_server.simulation.engine import simulate_day
from queue_server.simulation.metrics import mean_ci95, summarise, within_share
from queue_server.simulation.scenario import CLASSES, ClassTarget, Scenario, ServiceMix

TOURNAMENT_DAYS = 10  # ~95 % intervals a few points wide; a run fits well inside a night
TOURNAMENT_SEED = 20_260_105
# With no history the class mix is unknown: the standard branch day's (5 % VIP, 8 % care,
# no appointments) stands in, so priority classes still weigh in the choice.
PRIOR_VIP_SHARE = 0.05
PRIOR_CARE_SHARE = 0.08
VIP_BUSINESS_SHARE = 0.95  # a business this VIP is a VIP business (wealth management)
PRIORITY_TARGET_MIN = 5.0
# The accumulating policy's head starts (minutes) tried beside its default: a small grid
# from "almost FIFO" to "priority classes well ahead"; appointments always furthest.
HEAD_START_GRID: tuple[tuple[float, float], ...] = ((3.0, 10.0), (10.0, 20.0), (10.0, 30.0))

ClassCounts = Mapping[str, Mapping[PriorityClass, int]]  # business -> class -> tickets
Progress = Callable[[int, int], None]


# ------------------------------------------------------------------ candidates
@dataclass(frozen=True)
class Candidate:
    """A registered policy with constructor parameters (plain JSON: class names as keys)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Unique and readable: `accumulating[vip=3,care=3,appointment=10]`."""
        if not self.params:
            return self.name
        parts = []
        for key, value in sorted(self.params.items()):
            if isinstance(value, Mapping):
                parts += [f"{k}={_num(v)}" for k, v in value.items()]
            else:
                parts.append(f"{key}={value}")
        return f"{self.name}[{','.join(parts)}]"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "params": _plain(self.params), "label": self.label}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Candidate:
        return cls(str(data["name"]), dict(data.get("params") or {}))


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(getattr(k, "value", k)): _plain(v) for k, v in value.items()}
    return value


def _by_class(value: Any) -> Any:
    """A mapping keyed by class names becomes one keyed by `PriorityClass` (for the policy)."""
    names = {c.value for c in PriorityClass}
    if isinstance(value, Mapping) and value and all(str(k) in names for k in value):
        return {PriorityClass(str(k)): float(v) for k, v in value.items()}
    return value


def candidates(names: Sequence[str] | None = None) -> list[Candidate]:
    """Every registered policy (whatever `POLICY_NAMES` holds when called), the production
    default when it is not one of them (the lookahead: slower to simulate, but a night that
    left it out would swap the branch's best policy for a lesser one), plus the accumulating
    policy's head-start variants."""
    if names is None:
        names = list(registry.POLICY_NAMES)
        if registry.DEFAULT_POLICY not in names:
            names.append(registry.DEFAULT_POLICY)
    out = [Candidate(n) for n in names]
    if "accumulating" in names:
        for ahead, appointment in HEAD_START_GRID:
            heads = {"regular": 0.0, "vip": ahead, "care": ahead, "appointment": appointment}
            out.append(Candidate("accumulating", {"head_starts": heads}))
    return out


def priority_targets() -> dict[PriorityClass, float]:
    """Minutes within which each priority class should be called (regular customers: their
    business's own target). The same in the tournament and in the running branch."""
    return {cls: PRIORITY_TARGET_MIN for cls in CLASSES if cls is not PriorityClass.REGULAR}


def candidate_policy(
    candidate: Candidate,
    *,
    appointment_grace: timedelta,
    class_targets: Mapping[PriorityClass, float],
) -> CallingPolicy:
    """The candidate's policy; ValueError for an unknown name or parameter."""
    params = {k: _by_class(v) for k, v in candidate.params.items()}
    try:
        return registry.policy_by_name(
            candidate.name,
            appointment_grace=appointment_grace,
            class_targets=class_targets,
            **params,
        )
    except TypeError as exc:
        raise ValueError(f"bad parameters for {candidate.name}: {exc}") from exc


# ------------------------------------------------------------ forecast -> day
def forecast_scenario(
    settings: BranchSettings,
    services: Sequence[Service],
    counters: Sequence[Counter],
    forecast: Forecast,
    model: ServiceModel,
    class_counts: ClassCounts,
    *,
    seed: int = TOURNAMENT_SEED,
) -> Scenario:
    """The day the branch expects, as a scenario to simulate.

    Arrival rates come from `forecast` (its basis says whether history or the config prior),
    one rate per forecast interval; each business's share of the day and its lognormal
    service time (`model`: fitted to the log, shrunk towards the config) from the same.
    The class mix is what the log shows (`class_counts`) or, with no tickets in it, the
    standard day's. Targets: 5 minutes for priority classes, the businesses' own (weighted
    by their share) for regular customers.
    """
    enabled = [s for s in services if s.enabled]
    codes = [s.code for s in enabled]
    n = len(forecast.starts)
    if n == 0 or not codes:
        raise ValueError("nothing to simulate: no opening hours or no business")
    per_interval = [sum(forecast.arrivals.get(c, (0.0,) * n)[i] for c in codes) for i in range(n)]
    day_total = {c: sum(forecast.arrivals.get(c, ())) for c in codes}
    everyone = sum(day_total.values())
    if everyone <= 0:
        raise ValueError("the forecast expects nobody: no history and no prior")
    hourly = tuple(x * 60.0 / forecast.interval_min for x in per_interval)
    opens = forecast.starts[0].timetz().replace(tzinfo=None)
    last = forecast.starts[-1] + timedelta(minutes=forecast.interval_min)
    closes = last.timetz().replace(tzinfo=None)
    if _minutes(closes) <= _minutes(opens):  # past midnight: the simulation's day ends at 24:00
        closes = time(23, 59)
    mix = []
    for code in codes:
        fit = model.params(code)
        cv = math.sqrt(math.expm1(fit.sigma * fit.sigma))
        mix.append(ServiceMix(code, day_total[code] / everyone, fit.mean_s / 60.0, cv))
    targets = {s.code: s.target_wait_s / 60.0 for s in enabled}
    regular_target = sum(targets[c] * day_total[c] for c in codes) / everyone
    sla = {
        PriorityClass.REGULAR: ClassTarget(round(regular_target, 1), 0.8),
        PriorityClass.VIP: ClassTarget(PRIORITY_TARGET_MIN, 0.8),
        PriorityClass.CARE: ClassTarget(PRIORITY_TARGET_MIN, 0.8),
        PriorityClass.APPOINTMENT: ClassTarget(PRIORITY_TARGET_MIN, 0.9),
    }
    vip_services, vip_other, care, appointments = _class_mix(codes, class_counts)
    branch = BranchConfig(settings, tuple(enabled), tuple(counters))
    return Scenario(
        branch=branch,
        name=f"forecast {forecast.day.isoformat()} ({forecast.basis})",
        opens=opens,
        closes=closes,
        days=TOURNAMENT_DAYS,
        seed=seed,
        hourly=hourly,
        mix=tuple(mix),
        vip_services=vip_services,
        vip_share_other=vip_other,
        care_share=care,
        appointment_share=appointments,
        sla=sla,
    )


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _class_mix(
    codes: Sequence[str], counts: ClassCounts
) -> tuple[frozenset[str], float, float, dict[str, float]]:
    """(VIP businesses, VIP share of the others, care share of the rest, appointment share
    per business) in the form `draw_day` draws classes."""
    seen = {c: counts.get(c, {}) for c in codes}
    if not any(sum(per.values()) for per in seen.values()):
        return frozenset(), PRIOR_VIP_SHARE, PRIOR_CARE_SHARE, {}
    vip_services = frozenset(
        c
        for c, per in seen.items()
        if sum(per.values())
        and per.get(PriorityClass.VIP, 0) / sum(per.values()) >= VIP_BUSINESS_SHARE
    )
    appointments = {}
    vip = care = walk_ins = 0
    for code, per in seen.items():
        total = sum(per.values())
        if not total:
            continue
        booked = per.get(PriorityClass.APPOINTMENT, 0)
        if booked:
            appointments[code] = booked / total
        if code in vip_services:
            continue
        vip += per.get(PriorityClass.VIP, 0)
        care += per.get(PriorityClass.CARE, 0)
        walk_ins += total - booked
    # draw_day: VIP with probability vip_share_other, then care among the remaining walk-ins.
    vip_share = vip / walk_ins if walk_ins else 0.0
    rest = walk_ins - vip
    care_share = care / rest if rest > 0 else 0.0
    return vip_services, vip_share, care_share, appointments


# ------------------------------------------------------------------ playing
@dataclass(frozen=True)
class Played:
    """One candidate over the tournament's days: its summary and within-target share per day."""

    candidate: Candidate
    summary: dict[str, Any]
    day_shares: list[float]


def play_candidate(scenario: Scenario, candidate: Candidate, days: int) -> Played:
    """Run one candidate over days 0..days-1 of the scenario (the same customers for all)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    policy = candidate_policy(
        candidate,
        appointment_grace=timedelta(seconds=scenario.branch.settings.appointment_grace_s),
        class_targets=priority_targets(),
    )
    runs = [simulate_day(scenario, draw_day(scenario, day), policy, day) for day in range(days)]
    summary = summarise(scenario, runs)
    summary["flood_wait_min"] = {cls.value: flood_wait_min(policy, cls) for cls in FLOOD_CLASSES}
    return Played(candidate, summary, [within_share(scenario, r.outcomes) for r in runs])


@dataclass(frozen=True)
class Verdict:
    """The tournament's outcome: the chosen candidate, the table, and the reason."""

    chosen: Candidate
    table: list[dict[str, Any]]
    reason: dict[str, str]  # language -> text
    days: int
    scenario: str

    def to_json(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen.to_json(),
            "table": self.table,
            "reason": dict(self.reason),
            "days": self.days,
            "scenario": self.scenario,
            "rule": DEFAULT_RULE,
        }


def run_tournament(
    scenario: Scenario,
    entrants: Sequence[Candidate] | None = None,
    days: int = TOURNAMENT_DAYS,
    progress: Progress | None = None,
) -> Verdict:
    """Every candidate over the same `days` days, then `pick`."""
    entrants = candidates() if entrants is None else entrants
    played = []
    for i, c in enumerate(entrants):
        played.append(play_candidate(scenario, c, days))
        if progress is not None:
            progress(i + 1, len(entrants))
    return pick(played, scenario.name)


def pick(played: Sequence[Played], scenario: str = "") -> Verdict:
    """The winner by `DEFAULT_RULE`, the table, and why it beat the runner-up."""
    if not played:
        raise ValueError("no candidates")
    by_label = {p.candidate.label: p for p in played}
    summaries = {label: p.summary for label, p in by_label.items()}
    shares = {label: p.day_shares for label, p in by_label.items()}
    winner = choose_default(summaries, shares)
    rest = {k: v for k, v in summaries.items() if k != winner}
    runner_up = choose_default(rest, shares) if rest else None
    starving = [k for k in summaries if _floods(summaries[k])]
    table = [_row(p, winner, starving) for p in played]
    reason = _reason(winner, runner_up, summaries, shares, starving)
    days = len(played[0].day_shares)
    return Verdict(by_label[winner].candidate, table, reason, days, scenario)


def _floods(summary: Mapping[str, Any]) -> bool:
    return any(w is None for w in summary.get("flood_wait_min", {}).values())


def _row(p: Played, winner: str, starving: Sequence[str]) -> dict[str, Any]:
    s = p.summary
    return {
        "label": p.candidate.label,
        "policy": p.candidate.name,
        "params": _plain(p.candidate.params),
        "within_target_share": s["within_target_share"],
        "within_target_ci95": s["within_target_ci95"],
        "p95_wait_min": {cls.value: s["classes"][cls.value]["p95_wait_min"] for cls in CLASSES},
        # Beside each p95 the manager reads it against: the class's target on this day.
        "target_min": {cls.value: s["classes"][cls.value]["target_min"] for cls in CLASSES},
        "total_wait_min": s["total_wait_min"],
        "classes_over_target": list(s["starved_classes"]),
        "starves_under_flood": p.candidate.label in starving,
        "chosen": p.candidate.label == winner,
    }


def _share(summary: Mapping[str, Any]) -> float:
    return float(summary["within_target_share"] or 0.0)


def _reason(
    winner: str,
    runner_up: str | None,
    summaries: Mapping[str, Mapping[str, Any]],
    shares: Mapping[str, Sequence[float]],
    starving: Sequence[str],
) -> dict[str, str]:
    w = summaries[winner]
    if runner_up is None:
        zh = f"选择{winner}：只有这一个候选策略。"
        en = f"Chose {winner}: it was the only candidate."
    else:
        r = summaries[runner_up]
        over_w, over_r = len(w["starved_classes"]), len(r["starved_classes"])
        diffs = [a - b for a, b in zip(shares[winner], shares[runner_up], strict=True)]
        _, low, _ = mean_ci95(diffs)
        gap_pts = (_share(w) - _share(r)) * 100.0
        wait_w, wait_r = float(w["total_wait_min"] or 0.0), float(r["total_wait_min"] or 0.0)
        less = (1.0 - wait_w / wait_r) * 100.0 if wait_r > 0 else 0.0
        if _floods(r) and not _floods(w):
            zh = (
                f"选择{winner}：{runner_up}在贵宾或关爱客户持续到达时"
                "会让普通客户一直等下去，不能用。"
            )
            en = (
                f"Chose {winner}: {runner_up} would leave regular customers waiting without end "
                "under a stream of VIP or care customers."
            )
        elif over_w < over_r:
            zh = (
                f"选择{winner}：等候超出目标的客户类别最少（{over_w} 类），"
                f"{runner_up}有 {over_r} 类。"
            )
            en = (
                f"Chose {winner}: fewest customer classes over their target ({over_w}), "
                f"against {over_r} for {runner_up}."
            )
        elif (len(diffs) >= 2 and low > 0.0) or (len(diffs) < 2 and gap_pts > 0):
            zh = (
                f"选择{winner}：达标率 {_share(w) * 100:.1f} %，比{runner_up}高 "
                f"{gap_pts:.1f} 个百分点，超出统计误差。"
            )
            en = (
                f"Chose {winner}: {_share(w) * 100:.1f} % within target, {gap_pts:.1f} points "
                f"above {runner_up}, beyond chance."
            )
        else:
            zh = f"选择{winner}：与{runner_up}的达标率差在统计误差内，但等候总时长少 {less:.0f} %。"
            en = (
                f"Chose {winner}: its within-target share is within chance of {runner_up}'s, "
                f"and customers wait {less:.0f} % less in all."
            )
    if starving and winner not in starving:
        names = "、".join(starving)
        zh += f"（{names}会让普通客户无限等候，已排除。）"
        en += f" ({', '.join(starving)} can starve regular customers: excluded.)"
    return {"zh": zh, "en": en}
