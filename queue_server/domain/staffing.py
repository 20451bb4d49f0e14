"""Staffing advice: forecast arrivals, Erlang C with corrections, windows per business.

The chain is the one call centres use, per business and per interval (30 minutes):

1. **Forecast** arrivals per interval from the event log's issued tickets: the mean of the
   same weekday's history when there are enough such days, else of all recent days, else a
   prior (the scenario's hourly rates × each business's share).
2. **Offered load** in Erlangs, as the *modified offered load* (MOL): the mean number of
   customers an infinite number of windows would be serving during the interval. A service
   as long as the interval carries load over from earlier intervals (and a branch that has
   just opened carries none in); MOL counts both. Service is taken as exponential for the
   carry-over, which gives a closed form per interval (see `modified_offered_loads`).
3. **Erlang C** (M/M/c) on that load: probability of waiting, share answered within the
   target wait, average wait. Computed through the Erlang B recursion, stable for hundreds
   of windows (no factorials, no powers).
4. **Non-exponential service**: the Allen–Cunneen approximation for M/G/c scales the
   waiting time of those who wait by (1 + cv²)/2 (cv: coefficient of variation of service
   time; Poisson arrivals have ca² = 1). P(wait) is kept as Erlang C's, and the conditional
   wait stays exponential with its mean scaled, so P(W > t) = C · exp(−(c − A) t / (h f)).
   It is exact for cv = 1 and a good engineering approximation for 0.3 ≤ cv ≤ 1.5.
5. **Recommendation**: the fewest windows whose service level meets the business's target
   (e.g. 80 % within its target wait), and an advisory of counter moves between businesses
   that the counters' skills allow.

A `StaffingPlan` (windows per business per interval) is what a simulator takes to check the
advice: `PlanChecker` is the shape of that check, `check_plan` its verdict.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import fmean, pstdev
from zoneinfo import ZoneInfo

from queue_server.domain.day import business_day
from queue_server.domain.hours import OpeningHours
from queue_server.domain.model import Counter, Service

DEFAULT_OPENS = time(9, 0)
DEFAULT_CLOSES = time(17, 0)
DEFAULT_TARGET_SHARE = 0.80
NEGLIGIBLE_LOAD = 0.02  # Erlangs: about 36 s of work in half an hour
MAX_WINDOWS = 2000  # a guard for the search, far above any branch
DAY_MARGIN = 0.05  # expected day share aimed at above the target (see `recommend`)

IssueRecord = tuple[datetime, str]  # (when the ticket was issued, its business)
ServiceSample = tuple[str, float]  # (business, seconds from start of service to done)


# ------------------------------------------------------------------ Erlang C
def offered_load(arrivals: float, interval_s: float, mean_service_s: float) -> float:
    """Erlangs: arrival rate × mean handling time (e.g. 100 per 30 min × 3 min = 10)."""
    if interval_s <= 0:
        raise ValueError("the interval must be longer than zero")
    return max(0.0, arrivals) * max(0.0, mean_service_s) / interval_s


def erlang_b(load: float, agents: int) -> float:
    """Blocking probability of M/M/c/c, by the recursion B(k) = A·B(k−1) / (k + A·B(k−1))."""
    if agents < 0:
        raise ValueError("agents must be zero or more")
    if load <= 0:
        return 0.0 if agents > 0 else 1.0
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(load: float, agents: int) -> float:
    """Probability that an arrival waits in M/M/c (1.0 when the load reaches the windows)."""
    if load <= 0:
        return 0.0
    if agents <= load:
        return 1.0
    b = erlang_b(load, agents)
    return b / (1.0 - (load / agents) * (1.0 - b))


def waiting_factor(cv: float) -> float:
    """Allen–Cunneen factor (ca² + cs²)/2 with Poisson arrivals: 1 for exponential service."""
    if cv < 0:
        raise ValueError("a coefficient of variation is never negative")
    return (1.0 + cv * cv) / 2.0


def service_level(
    load: float, agents: int, mean_service_s: float, within_s: float, cv: float = 1.0
) -> float:
    """Share of customers whose wait is at most `within_s` (0 when the queue is unstable)."""
    if load <= 0:
        return 1.0
    if agents <= load:
        return 0.0
    if mean_service_s <= 0:
        return 1.0
    rate = (agents - load) / (mean_service_s * waiting_factor(cv))
    if math.isinf(rate):
        return 1.0  # cv = 0 with a zero factor cannot happen; an infinite rate means no wait
    return max(0.0, 1.0 - erlang_c(load, agents) * math.exp(-rate * max(0.0, within_s)))


def average_speed_of_answer(
    load: float, agents: int, mean_service_s: float, cv: float = 1.0
) -> float:
    """Mean wait over all customers in seconds (infinite when the queue is unstable)."""
    if load <= 0:
        return 0.0
    if agents <= load:
        return math.inf
    return erlang_c(load, agents) * mean_service_s * waiting_factor(cv) / (agents - load)


def fewest_windows(
    load: float, mean_service_s: float, within_s: float, target_share: float, cv: float = 1.0
) -> int:
    """The fewest windows whose service level reaches `target_share` (0 with no load)."""
    if not 0 < target_share < 1:
        raise ValueError("the target share must be between 0 and 1")
    if load <= 0:
        return 0
    agents = max(1, math.floor(load) + 1)
    while service_level(load, agents, mean_service_s, within_s, cv) < target_share:
        agents += 1
        if agents > MAX_WINDOWS:
            raise ValueError(f"no staffing up to {MAX_WINDOWS} windows meets the target")
    return agents


def allocate_day(
    loads: Sequence[float],
    arrivals: Sequence[float],
    mean_service_s: float,
    within_s: float,
    goal: float,
    cv: float = 1.0,
    negligible_load: float = NEGLIGIBLE_LOAD,
    most: Sequence[int] | None = None,
) -> list[int]:
    """Windows per interval for the fewest in total whose *day's* expected share reaches `goal`.

    The criterion is the day's: of all a business's customers, the share within target. So
    every interval need not reach it on its own; a window is worth the customers it brings
    within target, `arrivals[i] × (SL(c+1) − SL(c))`, which is small in a quiet interval
    and large at the peak. Marginal analysis: start every interval with some load at its
    fewest stable windows (⌊A⌋ + 1, at least one), then add one window at a time where it
    gains most, until Σ arrivals·SL / Σ arrivals ≥ `goal`. Erlang C's service level is
    concave in the windows past stability, so this greedy allocation is the optimal one for
    the model (each window costs the same: one interval). A load under `negligible_load`
    gets no window and counts as served (as in `recommend`). `most` caps each interval's
    windows (the allocation stops short of `goal` when every interval is at its cap).
    """
    if len(loads) != len(arrivals):
        raise ValueError("one load and one arrival figure per interval")
    if not 0 < goal < 1:
        raise ValueError("the goal must be between 0 and 1")
    windows = [0 if a < negligible_load else max(1, math.floor(a) + 1) for a in loads]
    caps = [MAX_WINDOWS] * len(loads) if most is None else list(most)
    if len(caps) != len(loads):
        raise ValueError("one cap per interval")
    windows = [min(c, cap) for c, cap in zip(windows, caps, strict=True)]

    def level(i: int, c: int) -> float:
        if c == 0:
            return 1.0
        return service_level(loads[i], c, mean_service_s, within_s, cv)

    weight = [max(0.0, x) for x in arrivals]
    total = sum(weight)
    if total <= 0:
        return windows
    levels = [level(i, c) for i, c in enumerate(windows)]
    served = sum(w * sl for w, sl in zip(weight, levels, strict=True))
    while served < goal * total:
        best, gain = -1, 0.0
        for i, c in enumerate(windows):
            if c == 0 or c >= caps[i]:
                continue
            g = weight[i] * (level(i, c + 1) - levels[i])
            if g > gain:
                best, gain = i, g
        if best < 0:
            break  # nothing left to gain: every interval with customers is at its best
        windows[best] += 1
        new = level(best, windows[best])
        served += weight[best] * (new - levels[best])
        levels[best] = new
    return windows


# --------------------------------------------------------- modified offered load
def modified_offered_loads(
    arrivals: Sequence[float], interval_s: float, mean_service_s: float, carried_in: float = 0.0
) -> list[float]:
    """The mean load of each interval, counting customers still in service from earlier ones.

    m(t), the number an infinite-server queue would be serving, follows m' = λ(t) − m/h for
    exponential service of mean h. With λ constant within an interval of length T and m₀
    carried in, m(t) = λh + (m₀ − λh)·e^(−t/h); its mean over the interval is
    λh + (m₀ − λh)·(h/T)·(1 − e^(−T/h)). `carried_in` is m at the first interval's start
    (0: the branch opens empty). For a service much shorter than the interval this is λh.
    """
    if interval_s <= 0:
        raise ValueError("the interval must be longer than zero")
    h = mean_service_s
    if h <= 0:
        return [0.0 for _ in arrivals]
    decay = math.exp(-interval_s / h)
    mean_part = (h / interval_s) * (1.0 - decay)
    m = max(0.0, carried_in)
    out: list[float] = []
    for a in arrivals:
        steady = offered_load(a, interval_s, h)
        out.append(steady + (m - steady) * mean_part)
        m = steady + (m - steady) * decay
    return out


# ------------------------------------------------------------------- forecast
@dataclass(frozen=True, slots=True)
class DayHours:
    """When customers arrive: local opening and closing times of the branch."""

    opens: time = DEFAULT_OPENS
    closes: time = DEFAULT_CLOSES

    def slots(self, interval_min: int) -> list[time]:
        """Local start times of each interval from opening to closing."""
        start = self.opens.hour * 60 + self.opens.minute
        end = self.closes.hour * 60 + self.closes.minute
        if end <= start:
            raise ValueError("the branch must close after it opens")
        return [time(m // 60, m % 60) for m in range(start, end, interval_min)]


def branch_hours(
    services: Iterable[Service], opening: OpeningHours | None = None, day: date | None = None
) -> DayHours:
    """The branch's day: the head office's hours for `day` when it sets them, else from the
    earliest business opening to the latest closing. A day the centre closes keeps the
    businesses' hours: its history has no arrivals, so the forecast for it is empty anyway.
    """
    if opening is not None and day is not None:
        listed, hours = opening.on(day)
        if listed and hours is not None:
            return DayHours(*hours)
    enabled = [s for s in services if s.enabled]
    opens = [s.opens for s in enabled if s.opens is not None]
    closes = [s.closes for s in enabled if s.closes is not None]
    return DayHours(min(opens, default=DEFAULT_OPENS), max(closes, default=DEFAULT_CLOSES))


@dataclass(frozen=True, slots=True)
class ArrivalPrior:
    """Arrivals when history is short: hourly rates for the whole branch × business shares.

    `hourly[i]` is customers per hour in the i-th hour after `opens` (the benchmark
    scenario's `[arrivals] hourly`); `shares` maps a business to its share of customers.
    """

    hourly: tuple[float, ...]
    shares: Mapping[str, float]
    opens: time = DEFAULT_OPENS

    def arrivals(self, service: str, start: time, interval_min: int) -> float:
        """Expected arrivals of one business in the interval starting at `start`."""
        origin = self.opens.hour * 60 + self.opens.minute
        begin = start.hour * 60 + start.minute - origin
        total = 0.0
        # Integrate the step function of hourly rates over the interval, minute by minute
        # boundaries: intervals need not align with hours.
        m = begin
        end = begin + interval_min
        while m < end:
            hour = m // 60
            step = min(end, (hour + 1) * 60) - m
            if 0 <= hour < len(self.hourly):
                total += self.hourly[hour] * step / 60.0
            m += step
        return total * self.shares.get(service, 0.0)


@dataclass(frozen=True, slots=True)
class Forecast:
    """Expected arrivals per business for each interval of one business day."""

    day: date
    starts: tuple[datetime, ...]  # aware, in the branch's time zone
    interval_min: int
    arrivals: Mapping[str, tuple[float, ...]]  # business -> one figure per interval
    basis: str  # "weekday", "all_days", "prior" or "none"
    days_used: int

    @property
    def interval_s(self) -> float:
        return self.interval_min * 60.0


def interval_starts(
    day: date, hours: DayHours, timezone: str, day_starts_at: time, interval_min: int
) -> list[datetime]:
    """Aware local start of each interval of a business day (past midnight: the next date)."""
    tz = ZoneInfo(timezone)
    out = []
    for slot in hours.slots(interval_min):
        on = day + timedelta(days=1) if slot < day_starts_at else day
        out.append(datetime.combine(on, slot, tzinfo=tz))
    return out


def forecast_arrivals(
    records: Iterable[IssueRecord],
    day: date,
    services: Sequence[str],
    *,
    timezone: str,
    day_starts_at: time,
    hours: DayHours = DayHours(),
    interval_min: int = 30,
    prior: ArrivalPrior | None = None,
    min_weekday_days: int = 3,
    min_days: int = 3,
    lookback_days: int = 56,
) -> Forecast:
    """Arrivals per business per interval of `day`, from issue records of earlier days.

    Only business days before `day` and within `lookback_days` count, and only those with
    at least one record (a day the branch was closed says nothing). Records outside the
    opening hours are left out. The same weekday's mean is used when `min_weekday_days` of
    them are known; else all days' mean when `min_days` are; else the prior; else whatever
    history there is; with none, zeros.
    """
    if interval_min <= 0 or 1440 % interval_min:
        raise ValueError("the interval must divide a day")
    starts = interval_starts(day, hours, timezone, day_starts_at, interval_min)
    n = len(starts)
    tz = ZoneInfo(timezone)
    first = day - timedelta(days=lookback_days)
    wanted = set(services)
    counts: dict[date, dict[str, list[float]]] = {}
    openings: dict[date, datetime] = {}
    for at, service in records:
        bday = business_day(at, timezone, day_starts_at)
        if not first <= bday < day:
            continue
        per_day = counts.setdefault(bday, {})  # a day with records counts even out of hours
        if service not in wanted:
            continue
        local = at.astimezone(tz)
        opening = openings.get(bday)
        if opening is None:
            opening = interval_starts(bday, hours, timezone, day_starts_at, interval_min)[0]
            openings[bday] = opening
        index = math.floor((local - opening).total_seconds() / (interval_min * 60))
        if 0 <= index < n:
            per_day.setdefault(service, [0.0] * n)[index] += 1.0
    same = [d for d in counts if d.weekday() == day.weekday()]
    if len(same) >= min_weekday_days:
        basis, chosen = "weekday", same
    elif len(counts) >= min_days:
        basis, chosen = "all_days", list(counts)
    elif prior is not None:
        slots = hours.slots(interval_min)
        arrivals = {
            s: tuple(prior.arrivals(s, slot, interval_min) for slot in slots) for s in services
        }
        return Forecast(day, tuple(starts), interval_min, arrivals, "prior", 0)
    elif counts:
        basis, chosen = "all_days", list(counts)
    else:
        zeros = {s: tuple(0.0 for _ in range(n)) for s in services}
        return Forecast(day, tuple(starts), interval_min, zeros, "none", 0)
    out: dict[str, tuple[float, ...]] = {}
    for s in services:
        totals = [0.0] * n
        for d in chosen:
            for i, v in enumerate(counts[d].get(s, ())):
                totals[i] += v
        out[s] = tuple(t / len(chosen) for t in totals)
    return Forecast(day, tuple(starts), interval_min, out, basis, len(chosen))


def with_live_queue(forecast: Forecast, now: datetime, waiting: Mapping[str, int]) -> Forecast:
    """The forecast with the customers waiting now added to the interval the branch is in.

    A forecast (history or the config's prior) knows nothing of the queue in the hall: 63
    cash customers waiting is work the windows must do on top of what is still to come, and
    advice that ignores it says one window where nine are needed. Those waiting arrived
    earlier, so adding them counts twice only the few of this interval's forecast still
    waiting, an overstatement on the side of opening a window. Outside the planned day (no
    interval holds `now`) the forecast is returned as it was.
    """
    step = timedelta(minutes=forecast.interval_min)
    current = next((i for i, s in enumerate(forecast.starts) if s <= now < s + step), None)
    if current is None or not any(n > 0 for n in waiting.values()):
        return forecast
    arrivals = dict(forecast.arrivals)
    for code, count in waiting.items():
        if count <= 0 or code not in arrivals:
            continue
        series = list(arrivals[code])
        series[current] += count
        arrivals[code] = tuple(series)
    return Forecast(
        forecast.day,
        forecast.starts,
        forecast.interval_min,
        arrivals,
        forecast.basis,
        forecast.days_used,
    )


# ------------------------------------------------------------- service times
@dataclass(frozen=True, slots=True)
class ServiceDemand:
    """What one business asks of a window, and the level of service it promises."""

    code: str
    mean_service_s: float
    target_wait_s: float
    target_share: float = DEFAULT_TARGET_SHARE
    cv: float = 1.0  # service time's coefficient of variation (1: exponential)
    samples: int = 0  # observed services behind mean_service_s and cv (0: the prior)


def service_demands(
    services: Iterable[Service],
    samples: Iterable[ServiceSample] = (),
    *,
    min_samples: int = 30,
    prior_cv: float = 1.0,
    target_share: float = DEFAULT_TARGET_SHARE,
) -> dict[str, ServiceDemand]:
    """Each business's mean and cv of service time: observed when enough, else the config's."""
    observed: dict[str, list[float]] = {}
    for code, seconds in samples:
        if seconds > 0:
            observed.setdefault(code, []).append(seconds)
    out: dict[str, ServiceDemand] = {}
    for s in services:
        seen = observed.get(s.code, [])
        if len(seen) >= min_samples:
            mean = fmean(seen)
            cv = pstdev(seen) / mean if mean > 0 else prior_cv
            out[s.code] = ServiceDemand(s.code, mean, s.target_wait_s, target_share, cv, len(seen))
        else:
            out[s.code] = ServiceDemand(
                s.code, float(s.mean_service_s), s.target_wait_s, target_share, prior_cv
            )
    return out


# ------------------------------------------------------------ recommendation
@dataclass(frozen=True, slots=True)
class BusinessAdvice:
    """One business in one interval: its forecast, load and the windows it needs."""

    forecast_arrivals: float
    offered_load: float  # modified offered load, Erlangs
    recommended_windows: int
    service_level: float  # predicted share within target with the recommended windows
    average_wait_s: float


@dataclass(frozen=True, slots=True)
class IntervalAdvice:
    start: datetime
    end: datetime
    by_service: Mapping[str, BusinessAdvice]

    def windows(self) -> dict[str, int]:
        return {code: a.recommended_windows for code, a in self.by_service.items()}


@dataclass(frozen=True, slots=True)
class StaffingPlan:
    """Windows per business per interval: what the advice recommends and a simulator checks."""

    intervals: tuple[IntervalAdvice, ...]
    demands: Mapping[str, ServiceDemand] = field(default_factory=dict)

    def windows_at(self, when: datetime) -> dict[str, int]:
        """Windows per business planned at a moment (none outside the planned day)."""
        for interval in self.intervals:
            if interval.start <= when < interval.end:
                return interval.windows()
        return {}

    def expected_day_share(self, code: str) -> float:
        """Erlang C's expected share of the business's day within target (1 with no one)."""
        total = served = 0.0
        for interval in self.intervals:
            a = interval.by_service.get(code)
            if a is not None:
                total += a.forecast_arrivals
                served += a.forecast_arrivals * a.service_level
        return served / total if total > 0 else 1.0

    def counter_hours(self) -> float:
        """Total window-hours the plan asks for (the figure `bench staffing` compares)."""
        return sum(
            sum(i.windows().values()) * (i.end - i.start).total_seconds() / 3600.0
            for i in self.intervals
        )


def recommend(
    forecast: Forecast,
    demands: Mapping[str, ServiceDemand],
    carried_in: float = 0.0,
    negligible_load: float = NEGLIGIBLE_LOAD,
    *,
    day_level: bool = True,
    margin: float = DAY_MARGIN,
) -> StaffingPlan:
    """The fewest windows per business and interval that meet each business's target.

    With `day_level` (the default) the target is the day's, as a branch is judged: each
    business's windows are spread over the day by `allocate_day` until its expected share
    within target over all the day's customers reaches the target + `margin`; a quiet
    interval may then fall below the target where a window does more good at the peak.
    Without it, every interval reaches the target on its own (`fewest_windows`), which
    over-staffs the quiet intervals. No interval gets more windows than that rule gives it
    (a plan meeting the target in every interval already meets it for the day), so the
    margin never turns one customer's half hour into two windows. The margin covers what
    Erlang C leaves out: the day's arrivals vary around the forecast, and a queue that
    builds up in one interval spills into the next (Erlang C takes each interval as steady).
    It is the smallest of 0, 1, …, 5 points that met every target in simulation on two
    held-out sets of 30 days of the standard scenario (days 1000– and 5000–); 3 and 4
    points missed Loans on one of them.

    A load under `negligible_load` Erlangs gets no window of its own: it is the fading tail
    of earlier intervals' services (or a stray forecast), work a multi-skilled counter
    absorbs, and one window for it all afternoon would be poor advice.
    """
    step = timedelta(minutes=forecast.interval_min)
    loads: dict[str, list[float]] = {}
    windows: dict[str, list[int]] = {}
    for code, arrivals in forecast.arrivals.items():
        d = demands.get(code)
        if d is None:
            continue
        series = modified_offered_loads(arrivals, forecast.interval_s, d.mean_service_s, carried_in)
        loads[code] = series
        each = [
            0
            if load < negligible_load
            else fewest_windows(load, d.mean_service_s, d.target_wait_s, d.target_share, d.cv)
            for load in series
        ]
        if day_level:
            goal = min(d.target_share + margin, 1.0 - 1e-9)
            windows[code] = allocate_day(
                series,
                arrivals,
                d.mean_service_s,
                d.target_wait_s,
                goal,
                d.cv,
                negligible_load,
                most=each,
            )
        else:
            windows[code] = each
    intervals = []
    for i, start in enumerate(forecast.starts):
        by_service: dict[str, BusinessAdvice] = {}
        for code, series in loads.items():
            d = demands[code]
            load = series[i]
            c = windows[code][i]
            by_service[code] = BusinessAdvice(
                forecast_arrivals=forecast.arrivals[code][i],
                offered_load=load,
                recommended_windows=c,
                # No window: nobody (or next to nobody) is expected, so nobody waits long.
                service_level=service_level(load, c, d.mean_service_s, d.target_wait_s, d.cv)
                if c
                else 1.0,
                average_wait_s=average_speed_of_answer(load, c, d.mean_service_s, d.cv)
                if c
                else 0.0,
            )
        intervals.append(IntervalAdvice(start, start + step, by_service))
    return StaffingPlan(tuple(intervals), dict(demands))


# ------------------------------------------------------------ checking a plan
PlanChecker = Callable[[StaffingPlan], Mapping[str, float]]
"""Runs a plan (e.g. simulated branch days) and returns each business's share within target."""


@dataclass(frozen=True, slots=True)
class PlanVerdict:
    counter_hours: float
    within_target: Mapping[str, float]
    missed: tuple[str, ...]  # businesses below their target share

    @property
    def targets_met(self) -> bool:
        return not self.missed


def check_plan(plan: StaffingPlan, run: PlanChecker) -> PlanVerdict:
    """Hand the plan to a checker (the simulator) and compare with each business's target."""
    shares = dict(run(plan))
    missed = tuple(
        sorted(
            code
            for code, d in plan.demands.items()
            if code in shares and shares[code] < d.target_share
        )
    )
    return PlanVerdict(plan.counter_hours(), shares, missed)


# -------------------------------------------------------------------- moves
def primary_business(counter: Counter) -> str | None:
    """The business a counter serves first: its first regular skill."""
    return next((s.service for s in counter.skills if not s.overflow), None)


@dataclass(frozen=True, slots=True)
class WindowAssignment:
    """Which business each counter should serve first, and what no move could cover."""

    assigned: Mapping[int, str]
    moved: Mapping[int, tuple[str, str]]  # counter -> (from business, to business)
    short: Mapping[str, int]  # business -> windows still missing


def assign_windows(need: Mapping[str, int], counters: Sequence[Counter]) -> WindowAssignment:
    """Re-point the fewest counters so each business has the windows it needs.

    Starts from every counter's primary business and repairs one missing window at a time
    along the shortest chain of moves the skills allow (B takes a counter from A, A takes
    one from a business with a spare): an augmenting path, so a repair never uncovers a
    business that was covered. A counter may move only to a business it has as a skill.
    """
    current = {c.number: p for c in counters if (p := primary_business(c)) is not None}
    assigned = dict(current)
    skills = {c.number: {s.service for s in c.skills} for c in counters}
    supply: dict[str, int] = {}
    for code in assigned.values():
        supply[code] = supply.get(code, 0) + 1

    def spare(code: str) -> int:
        return supply.get(code, 0) - need.get(code, 0)

    stuck: set[str] = set()
    while True:
        lacking = sorted(
            (code for code in need if spare(code) < 0 and code not in stuck),
            key=lambda code: (spare(code), code),
        )
        if not lacking:
            break
        target = lacking[0]
        chain = _shortest_chain(target, assigned, skills, spare)
        if chain is None:
            stuck.add(target)
            continue
        for number, _, to in chain:
            assigned[number] = to
        supply[chain[-1][1]] -= 1
        supply[target] = supply.get(target, 0) + 1
    moved = {n: (current[n], assigned[n]) for n in sorted(assigned) if assigned[n] != current[n]}
    short = {code: -spare(code) for code in sorted(need) if spare(code) < 0}
    return WindowAssignment(assigned, moved, short)


def _shortest_chain(
    target: str,
    assigned: Mapping[int, str],
    skills: Mapping[int, set[str]],
    spare: Callable[[str], int],
) -> list[tuple[int, str, str]] | None:
    """Moves (counter, from, to) that bring one window to `target` from a business with a spare."""
    came_from: dict[str, tuple[int, str]] = {}  # business -> (counter moving out, to where)
    queue = deque([target])
    seen = {target}
    while queue:
        to = queue.popleft()
        for number in sorted(assigned):
            frm = assigned[number]
            if frm in seen or to not in skills[number]:
                continue
            came_from[frm] = (number, to)
            seen.add(frm)
            if spare(frm) > 0:
                chain = []
                code = frm
                while code != target:
                    counter, dest = came_from[code]
                    chain.append((counter, code, dest))
                    code = dest
                # Applied in order, the last move is the one out of the business with a spare.
                return chain[::-1]
            queue.append(frm)
    return None


@dataclass(frozen=True, slots=True)
class Move:
    """Advice: counter `counter` should serve `to_service` first from `start` to `end`."""

    counter: int
    from_service: str
    to_service: str
    start: datetime
    end: datetime


def advise_moves(
    plan: StaffingPlan, counters: Sequence[Counter], after: datetime | None = None
) -> list[Move]:
    """Counter moves between businesses, interval by interval, joined where they run on.

    `counters` are the windows that will be staffed; `after` skips intervals already over.
    """
    moves: list[Move] = []
    running: dict[tuple[int, str, str], Move] = {}
    for interval in plan.intervals:
        if after is not None and interval.end <= after:
            continue
        now_moved = assign_windows(interval.windows(), counters).moved
        keys = {(n, frm, to) for n, (frm, to) in now_moved.items()}
        for key in list(running):
            if key not in keys:
                moves.append(running.pop(key))
        for key in sorted(keys):
            if key in running and running[key].end == interval.start:
                m = running[key]
                running[key] = Move(m.counter, m.from_service, m.to_service, m.start, interval.end)
            else:
                running[key] = Move(*key, interval.start, interval.end)
    moves.extend(running.values())
    return sorted(moves, key=lambda m: (m.start, m.counter))
