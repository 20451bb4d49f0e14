"""Staffing plans checked in the simulator, and a search for the fewest counter-hours.

A plan is windows per business per interval (`StaffingPlan`, or a plain grid of counts).
To simulate it, each business gets a fixed pool of windows: the scenario's counters whose
first skill is that business (by number), then extra windows when the plan asks for more
than those (staffing counts people; the building's counters are not the limit here). The
k-th window of a business is always the same counter, so the busiest windows stay open and
the last-opened close first. Open windows serve only their plan's business, as the Erlang C
model assumes; a closing window finishes its customer (see `sim.engine`).

Because windows never serve another business, the businesses' queues are independent given
the plan: one simulated run can try one change per business at once. The search uses that.

The same search checks the Erlang C plan (`check_in_simulator`): on days drawn from the
forecast with a seed of their own, it trims windows the simulation shows are not needed and
adds those it shows are, keeping each business above its target by a confidence margin
(the estimate's and a judged period's standard error) rather than by a fixed number of
points; then it confirms the result on fresh days.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from statistics import NormalDist

from queue_server.domain import Counter, PriorityClass
from queue_server.domain.policies import DEFAULT_POLICY
from queue_server.domain.staffing import (
    ArrivalPrior,
    DayHours,
    ServiceDemand,
    StaffingPlan,
    forecast_arrivals,
    primary_business,
    recommend,
)
from queue_server.simulation.arrivals import Arrival, draw_day
from queue_server.simulation.compare import scenario_policy
from queue_server.simulation.engine import DayRun, WindowPlan, simulate_day
from queue_server.simulation.scenario import Scenario

Grid = list[dict[str, int]]  # windows per business, one mapping per interval
Progress = Callable[[int, int], None]
EXTRA_NUMBER = 1000  # extra windows are numbered from here, clear of the branch's own


def scenario_prior(scenario: Scenario) -> ArrivalPrior:
    """The scenario's hourly arrivals × service shares, as the staffing forecast's prior."""
    total = sum(m.share for m in scenario.mix)
    return ArrivalPrior(
        tuple(scenario.hourly), {m.code: m.share / total for m in scenario.mix}, scenario.opens
    )


def scenario_demands(scenario: Scenario, target_share: float) -> dict[str, ServiceDemand]:
    """Each business's mean and cv of service time, and its target wait from the branch."""
    targets = {s.code: s.target_wait_s for s in scenario.branch.services}
    return {
        m.code: ServiceDemand(m.code, m.mean_min * 60.0, float(targets[m.code]), target_share, m.cv)
        for m in scenario.mix
    }


def target_share(scenario: Scenario) -> float:
    """The share within target a business must reach: the [sla] regular class's."""
    return scenario.sla[PriorityClass.REGULAR].share


def recommended_plan(
    scenario: Scenario, interval_min: int = 30, *, day_level: bool = True
) -> StaffingPlan:
    """Erlang C (with the cv and modified-offered-load corrections) on the scenario's prior."""
    settings = scenario.branch.settings
    forecast = forecast_arrivals(
        [],
        date(2026, 1, 5),
        [m.code for m in scenario.mix],
        timezone=settings.timezone,
        day_starts_at=settings.day_starts_at,
        hours=DayHours(scenario.opens, scenario.closes),
        interval_min=interval_min,
        prior=scenario_prior(scenario),
    )
    return recommend(
        forecast, scenario_demands(scenario, target_share(scenario)), day_level=day_level
    )


def plan_grid(plan: StaffingPlan) -> Grid:
    return [dict(i.windows()) for i in plan.intervals]


def counter_hours(grid: Grid, interval_min: int) -> float:
    return sum(sum(w.values()) for w in grid) * interval_min / 60.0


def window_plan(grid: Grid, counters: Sequence[Counter], interval_min: int) -> WindowPlan:
    """The simulator's schedule for a grid: fixed window pools per business (see above)."""
    pools: dict[str, list[int]] = {}
    for c in sorted(counters, key=lambda c: c.number):
        business = primary_business(c)
        if business is not None:
            pools.setdefault(business, []).append(c.number)
    peak: dict[str, int] = {}
    for windows in grid:
        for code, n in windows.items():
            peak[code] = max(peak.get(code, 0), n)
    extra: list[Counter] = []
    for code in sorted(peak):
        pool = pools.setdefault(code, [])
        while len(pool) < peak[code]:
            number = EXTRA_NUMBER + len(extra)
            extra.append(Counter(number, f"extra {code} {number}"))
            pool.append(number)
    roster = []
    for i, windows in enumerate(grid):
        open_now = {n: code for code, k in windows.items() for n in pools.get(code, [])[:k]}
        roster.append((float(i * interval_min), open_now))
    return WindowPlan((*counters, *extra), tuple(roster))


@dataclass
class Evaluation:
    """A grid's simulated service: per business overall, and per interval of arrival."""

    shares: dict[str, float]  # business -> share of its customers within target, all days
    cells: dict[tuple[int, str], float]  # (interval, business) -> the same, by arrival interval
    runs: list[DayRun] = field(default_factory=list)
    # business -> (within target, customers) on each simulated day, for the share's spread
    daily: dict[str, list[tuple[int, int]]] = field(default_factory=dict)


class PlanSimulator:
    """Simulates grids on the scenario's days, the same customers every time."""

    def __init__(
        self, scenario: Scenario, days: int, interval_min: int = 30, first_day: int = 0
    ) -> None:
        self.scenario = scenario
        self.interval_min = interval_min
        self.policy = scenario_policy(scenario, DEFAULT_POLICY)  # the server's default
        self.targets = {s.code: s.target_wait_s / 60.0 for s in scenario.branch.services}
        # Days first_day .. first_day + days − 1 of the scenario's seed: a `first_day` past
        # the benchmark's days gives held-out days nothing was fitted to.
        self.days: list[list[Arrival]] = [
            draw_day(scenario, d) for d in range(first_day, first_day + days)
        ]
        self.codes = [m.code for m in scenario.mix]
        self.runs = 0

    def evaluate(self, grid: Grid) -> Evaluation:
        plan = window_plan(grid, self.scenario.branch.counters, self.interval_min)
        within: dict[str, list[int]] = {}
        cells: dict[tuple[int, str], list[int]] = {}
        daily: dict[str, list[tuple[int, int]]] = {}
        runs = []
        for day, arrivals in enumerate(self.days):
            run = simulate_day(self.scenario, arrivals, self.policy, day, plan)
            runs.append(run)
            last = len(grid) - 1
            today: dict[str, list[int]] = {}
            for o in run.outcomes:
                code = o.arrival.service
                ok = int(o.wait_min <= self.targets[code] + 1e-9)
                within.setdefault(code, [0, 0])[0] += ok
                within[code][1] += 1
                today.setdefault(code, [0, 0])[0] += ok
                today[code][1] += 1
                key = (min(int(o.arrival.at_min // self.interval_min), last), code)
                cell = cells.setdefault(key, [0, 0])
                cell[0] += ok
                cell[1] += 1
            for code in self.codes:
                ok, n = today.get(code, (0, 0))
                daily.setdefault(code, []).append((ok, n))
        self.runs += 1
        return Evaluation(
            {code: ok / n for code, (ok, n) in within.items()},
            {key: ok / n for key, (ok, n) in cells.items()},
            runs,
            daily,
        )


@dataclass
class SearchResult:
    grid: Grid
    evaluation: Evaluation
    runs: int  # simulated multi-day runs the search took


Requirement = Callable[[Evaluation], dict[str, bool]]
"""Which businesses a simulated grid serves well enough (the search keeps those changes)."""


def meets(evaluation: Evaluation, share: float) -> dict[str, bool]:
    return {code: s >= share for code, s in evaluation.shares.items()}


def daily_spread(days: Sequence[tuple[int, int]]) -> float:
    """The day-to-day standard deviation of a pooled share, per day of customers.

    The pooled share is a ratio Σ ok / Σ n; its standard error over D days is about
    √(Σ (ok_d − s·n_d)² / (D − 1)) / (n̄ √D) (the ratio estimator). This returns that
    without the 1/√D, so it serves for any number of days. 0 with fewer than two days.
    """
    if len(days) < 2:
        return 0.0
    ok = sum(d[0] for d in days)
    n = sum(d[1] for d in days)
    if n == 0:
        return 0.0
    share = ok / n
    resid = sum((k - share * m) ** 2 for k, m in days) / (len(days) - 1)
    return math.sqrt(resid) / (n / len(days))


def confident_z(confidence: float, businesses: int = 1) -> float:
    """One-sided normal quantile for `confidence`; with `businesses` > 1 it is for all of them
    together (Bonferroni: each at 1 − (1 − confidence)/businesses)."""
    if not 0 < confidence < 1:
        raise ValueError("the confidence must be between 0 and 1")
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence) / max(1, businesses))


def meets_confidently(share: float, period_days: int, z: float) -> Requirement:
    """A business passes when its share on the simulated days is above `share` by enough
    that, allowing for the simulated days' own noise and for the noise of a period of
    `period_days` days the target is judged over, it still holds at `z` standard errors:
    s − z · σ₁ · √(1/D + 1/period_days) ≥ share (σ₁: `daily_spread`, D: simulated days)."""
    if period_days < 1:
        raise ValueError("the period must be at least one day")

    def check(evaluation: Evaluation) -> dict[str, bool]:
        out = {}
        for code, s in evaluation.shares.items():
            days = evaluation.daily.get(code, [])
            sigma = daily_spread(days)
            error = sigma * math.sqrt(1.0 / max(1, len(days)) + 1.0 / period_days)
            out[code] = s - z * error >= share
        return out

    return check


def repair(
    sim: PlanSimulator, start: Grid, share: float, requirement: Requirement | None = None
) -> tuple[Grid, Evaluation]:
    """While a business misses its target, add one window to its interval with the lowest
    simulated share within target (one window per failing business per run)."""
    need = requirement or (lambda ev: meets(ev, share))
    grid = [dict(w) for w in start]
    ev = sim.evaluate(grid)
    ok = need(ev)
    while not all(ok.values()):
        for code, fine in ok.items():
            if not fine:
                i = min(range(len(grid)), key=lambda i: (ev.cells.get((i, code), 1.0), -i))
                grid[i][code] = grid[i].get(code, 0) + 1
        ev = sim.evaluate(grid)
        ok = need(ev)
    return grid, ev


def fewest_counter_hours(
    sim: PlanSimulator,
    start: Grid,
    share: float,
    progress: Progress | None = None,
    requirement: Requirement | None = None,
) -> SearchResult:
    """A greedy search for the fewest window-intervals whose simulation meets every target.

    1. Repair (`repair`): while a business misses its target, add one window to its
       interval with the lowest simulated share within target.
    2. Trim: per business, try removing one window from its interval with the highest
       simulated share (among intervals not yet tried and failed); keep the removal if the
       business still meets its target, else restore it and never try that interval again.
       An interval where the start has a window for a business keeps at least one.
    Each round makes one change per business in one simulated run (the queues are independent).
    It stops when every window left has failed a removal: a local minimum, a heuristic one —
    no removal of a single window keeps the targets, but two changes together might.
    `requirement` replaces "share ≥ `share` on these days" (e.g. `meets_confidently`).
    """
    need = requirement or (lambda ev: meets(ev, share))
    grid, ev = repair(sim, start, share, need)
    # A business on offer keeps one window open: no customer is left without any window.
    floor = [{code: min(1, n) for code, n in w.items()} for w in start]
    frozen: set[tuple[int, str]] = set()
    total = sum(sum(w.values()) for w in grid)
    done = 0
    while True:
        trial: dict[str, int] = {}
        for code in sorted(ev.shares):
            options = [
                i
                for i, w in enumerate(grid)
                if w.get(code, 0) > floor[i].get(code, 0) and (i, code) not in frozen
            ]
            if options:
                trial[code] = max(options, key=lambda i: (ev.cells.get((i, code), 1.0), i))
        if not trial:
            break
        for code, i in trial.items():
            grid[i][code] -= 1
        tried = sim.evaluate(grid)
        passed = need(tried)
        for code, i in trial.items():
            if not passed.get(code, True):
                grid[i][code] += 1
                frozen.add((i, code))
        # The queues are independent: a business whose removal was undone is as it was.
        kept = {code for code in tried.shares if passed.get(code, True)}
        ev = Evaluation(
            {c: (tried if c in kept else ev).shares[c] for c in ev.shares},
            {k: (tried if k[1] in kept else ev).cells[k] for k in ev.cells},
            daily={c: (tried if c in kept else ev).daily.get(c, []) for c in ev.shares},
        )
        done += len(trial)
        if progress is not None:
            progress(min(done, total), total)
    final = sim.evaluate(grid)  # one run of the result as it stands, for the report
    return SearchResult(grid, final, sim.runs)


# ------------------------------------------------------------ the simulator's check
CHECK_DAYS = 60  # days drawn from the forecast to trim the Erlang C plan on (as many to confirm)
CHECK_CONFIDENCE = 0.90  # chance that a business meets its target over a judged period
CHECK_SEED_SALT = 0x5EED_C4EC  # planning days: a stream of their own, not the scenario's
CONFIRM_FIRST_DAY = 100_000  # the confirming days, clear of the trimming ones


def planning_scenario(scenario: Scenario) -> Scenario:
    """The same branch and forecast with a seed of its own: days drawn from the forecast.

    In the bench the forecast *is* the scenario's hourly rates × shares (the prior), so
    days of this scenario are days drawn from the forecast; the seed differs from the
    scenario's (any other seed gives streams disjoint from all of the scenario's days, see
    `arrivals.day_rng`), so the check never sees the days the plan is judged on.
    """
    seed = (scenario.seed ^ CHECK_SEED_SALT) or CHECK_SEED_SALT
    if seed == scenario.seed:
        seed += 1
    return replace(scenario, seed=seed)


@dataclass
class CheckedPlan:
    """The Erlang C plan after the simulator's check on days drawn from the forecast."""

    grid: Grid
    start: Grid  # the Erlang C plan it came from
    evaluation: Evaluation  # on the planning days
    days: int
    period_days: int
    z: float
    runs: int


def check_in_simulator(
    scenario: Scenario,
    plan: StaffingPlan,
    *,
    days: int = CHECK_DAYS,
    period_days: int | None = None,
    confidence: float = CHECK_CONFIDENCE,
    progress: Progress | None = None,
) -> CheckedPlan:
    """Check the Erlang C plan in the simulator and trim (or repair) it there.

    On `days` days drawn from the forecast (`planning_scenario`), the greedy search of
    `fewest_counter_hours` starts from the plan: it adds windows where a business falls
    short and removes those the simulation shows are not needed. "Enough" is not "≥ the
    target on these days" (which fits their noise, as the bench's minimum does) but
    `meets_confidently`: above the target by the standard error of these days' estimate
    and of a judged period of `period_days` days (the scenario's `days` by default), at the
    one-sided z of `confidence` per business. The trim keeps the removals its days happen
    to allow, so the result is then confirmed on as many fresh days (repaired there where a
    business falls short). Intervals where the plan has no window for a business (a
    negligible load) stay without. It simulates ~20 runs of `days` days: seconds, not for
    a request handler.
    """
    step = int((plan.intervals[0].end - plan.intervals[0].start).total_seconds() // 60)
    return check_grid(
        scenario,
        plan_grid(plan),
        step,
        days=days,
        period_days=period_days,
        confidence=confidence,
        progress=progress,
    )


def check_grid(
    scenario: Scenario,
    start: Grid,
    interval_min: int,
    *,
    days: int = CHECK_DAYS,
    period_days: int | None = None,
    confidence: float = CHECK_CONFIDENCE,
    progress: Progress | None = None,
) -> CheckedPlan:
    """`check_in_simulator` on a plain grid of windows per business per interval."""
    if days < 2:
        raise ValueError("the check needs at least two days to see their spread")
    share = target_share(scenario)
    planning = planning_scenario(scenario)
    period = scenario.days if period_days is None else period_days
    z = confident_z(confidence)
    need = meets_confidently(share, period, z)
    trim = PlanSimulator(planning, days, interval_min)
    found = fewest_counter_hours(trim, start, share, progress, requirement=need)
    # The trim kept the removals these days happened to allow (a winner's curse): confirm on
    # fresh days from the forecast, adding windows where a business falls short there.
    confirm = PlanSimulator(planning, days, interval_min, first_day=CONFIRM_FIRST_DAY)
    grid, ev = repair(confirm, found.grid, share, need)
    return CheckedPlan(
        grid, [dict(w) for w in start], ev, days, period, z, trim.runs + confirm.runs
    )
