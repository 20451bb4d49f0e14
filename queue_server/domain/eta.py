"""Wait prediction: re-simulate the live queue forward with the production calling policy.

`predict_waits` takes the branch as it is now (waiting tickets, counters mid-service), draws
service times from a `ServiceModel` (lognormal per business and hour, fitted to the event
log and shrunk towards the configured mean when history is short) and replays the rest of the
queue a few times; each waiting ticket gets the median and p10–p90 of its wait until called,
and a hypothetical new customer of every business gets the same (the kiosk's ETA).

Future arrivals are simulated too, under every policy (`ArrivalRates`: customers per hour
per business by local hour, and each business's class mix), so a later VIP or care customer
who overtakes a waiting regular is counted. Booked appointments are not drawn as walk-ins:
each booking not checked in yet (`bookings`, by default the branch's own) arrives at its slot
and ranks as an appointment from then on, so the customers it will overtake are counted. The
forecast can be scaled by how busy today has been so far (`todays_volume`, shrunk towards the
forecast). With the forecast's patience (`ArrivalRates.patience_mean_min`), customers give
up after an exponential wait: one who would have given up before their call is skipped, and
their own wait is the call they would have had by staying (what their ticket shows). Newcomer
probes are "ghost" tickets with no service time: they see the queue as a new ticket would
without delaying anyone.

Newcomer probes are made for every class (regular, care, VIP tiers, an appointment at its
slot) with how many of the business each had ahead of it (`Prediction.by_kind`,
`ahead_of_kind`): a ticket issued before the next prediction lands is answered as a newcomer
of its own class, never with the regular queue's wait.

Common random numbers (`common_seed`, as the server runs it): in run k every ticket draws
the deviate of its id from run k's table, a service under way the matching quantile of what
is left of it, and each clock hour's walk-ins come from a stream seeded by that hour. A
prediction after an event that puts no one ahead of a customer replays the same futures and
gives them the same wait; without it each event re-rolled every run (one hall-notice change
moved 38 of 63 waits by over a minute).

Service times: each business's lognormal is fitted to the log and shrunk towards its
configured mean; an hour of day moves from the business's level towards its own only as far
as the hours are seen to differ beyond sampling noise (empirical Bayes, `_hourly_fits`).

Why not drive the Branch aggregate (`sim.engine.Simulation`) here: building a Change and its
events for every call, and the policy ranking every waiting ticket at every call, costs tens
of ms per run at 150 waiting (see `branchq bench predict`). Instead customers wait in groups,
one per business, class and VIP tier, each in arrival order: within one group every shipped
ranked policy (fifo, strict, accumulating, sla, cμ and the reserving policy's cμ order) ranks
by minutes waited, which grow at one rate for all, with the same class constants and the
same skill weight at a counter — so arrival order is the policy's order there at every
moment, whatever the weights. Groups ranked alike share a queue (cμ ignores the VIP tier);
with one rate for all, the accumulating policy's classes share one in head-start order, which
then never changes. A free counter ranks only the queues' heads, each by the
policy's own key at that moment (`head_rank`, e.g. cμ's index at the head's wait), plus
transfers to it and appointments whose rank changes at their slot, which the policy's
`choose_next` judges in full. A lookahead policy is replayed as its `base` (`simulated_policy`).
Left out: the reserving policy's decision to keep a window free (its order is kept), and
overflow skills are judged on the queue heads at each call, with no wake-up when a queue goes
over. `tests/sim/test_predict.py` checks the call order against the production Simulation
under every registered policy.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import NamedTuple
from zoneinfo import ZoneInfo

from queue_server.domain import (
    AccumulatingPriority,
    Branch,
    CallingPolicy,
    Counter,
    CounterState,
    PriorityClass,
    Service,
    Ticket,
)
from queue_server.domain.appointments import AppointmentState
from queue_server.domain.branch import (
    naive_wait_s as naive_wait_s,  # the baseline the predictor is judged by
)
from queue_server.domain.policies import Fifo, GcMu, SlaAware, StrictPriority

PRIOR_CV = 0.8
PRIOR_WEIGHT = 10.0  # the prior counts as this many observed services
DEFAULT_RUNS = 30
_STD_NORMAL = NormalDist()


# ------------------------------------------------------------------ service model
@dataclass(frozen=True, slots=True)
class LogNormal:
    """Service seconds = exp(N(mu, sigma²)); `n` is how many observations went into it."""

    mu: float
    sigma: float
    n: float = 0.0

    @classmethod
    def from_mean_cv(cls, mean_s: float, cv: float) -> LogNormal:
        sigma2 = math.log1p(cv * cv)
        return cls(math.log(max(mean_s, 1.0)) - sigma2 / 2, math.sqrt(sigma2))

    @property
    def mean_s(self) -> float:
        return math.exp(self.mu + self.sigma * self.sigma / 2)

    def shrunk_towards(self, prior: LogNormal, logs: Sequence[float], weight: float) -> LogNormal:
        """The posterior-like blend: `weight` pseudo-observations of the prior plus the data."""
        n = len(logs)
        if n == 0:
            return LogNormal(prior.mu, prior.sigma, 0.0)
        m = sum(logs) / n
        v = sum((x - m) ** 2 for x in logs) / n
        mu = (n * m + weight * prior.mu) / (n + weight)
        # Spread about the blended mean: the data's own variance, plus how far its mean is.
        var = (n * (v + (m - mu) ** 2) + weight * prior.sigma**2) / (n + weight)
        return LogNormal(mu, math.sqrt(var), float(n))


def _hourly_fits(
    code: str, base: LogNormal, hours: Mapping[int, Sequence[float]]
) -> dict[tuple[str, int | None], LogNormal]:
    """Each hour's fit: the business's, its log-mean moved towards the hour's own by as much
    as the hours are seen to differ (empirical Bayes, one-way random effects).

    The spread between the hours' mean log service times is split by the method of moments
    into sampling noise and a real hour-to-hour variance tau²; an hour with n services moves
    n·tau² / (n·tau² + s²) of the way from the business mean to its own (s²: the pooled
    within-hour variance). When the hours differ no more than noise explains, every hour
    keeps the business's fit. The shape (sigma) is the business's: a few dozen services
    an hour pin down a level far better than a spread.
    """
    groups = [(h, list(x)) for h, x in sorted(hours.items()) if x]
    total = sum(len(x) for _, x in groups)
    if len(groups) < 2 or total <= len(groups):
        return {(code, h): LogNormal(base.mu, base.sigma, float(len(x))) for h, x in groups}
    means = {h: sum(x) / len(x) for h, x in groups}
    grand = sum(sum(x) for _, x in groups) / total
    within = sum((v - means[h]) ** 2 for h, x in groups for v in x) / (total - len(groups))
    between = sum(len(x) * (means[h] - grand) ** 2 for h, x in groups) / (len(groups) - 1)
    n0 = (total - sum(len(x) ** 2 for _, x in groups) / total) / (len(groups) - 1)
    tau2 = max(0.0, (between - within) / n0) if n0 > 0 else 0.0
    out: dict[tuple[str, int | None], LogNormal] = {}
    for h, x in groups:
        n = len(x)
        w = n * tau2 / (n * tau2 + within) if tau2 > 0 and within > 0 else (1.0 if tau2 else 0.0)
        out[(code, h)] = LogNormal(base.mu + w * (means[h] - grand), base.sigma, float(n))
    return out


class ServiceModel:
    """Lognormal service time per business and hour of day, priors from the configured means."""

    def __init__(
        self,
        priors: Mapping[str, LogNormal],
        fits: Mapping[tuple[str, int | None], LogNormal] | None = None,
    ) -> None:
        self.priors = dict(priors)
        self.fits = dict(fits or {})

    @classmethod
    def from_services(
        cls,
        services: Iterable[Service],
        samples: Iterable[tuple[str, int | None, float]] = (),
        *,
        prior_cv: float = PRIOR_CV,
        prior_weight: float = PRIOR_WEIGHT,
    ) -> ServiceModel:
        """Fit to (business, local hour or None, seconds) samples, e.g. from `service_samples`.

        Each business's fit is shrunk towards its configured mean with CV `prior_cv` by sample
        count (a handful of services moves the estimate a little, hundreds replace the
        prior); each hour's level towards its business's by how much the hours really differ
        (`_hourly_fits`), with the business's spread.
        """
        priors = {s.code: LogNormal.from_mean_cv(s.mean_service_s, prior_cv) for s in services}
        by_service: dict[str, list[float]] = {}
        by_hour: dict[tuple[str, int], list[float]] = {}
        for code, hour, seconds in samples:
            if seconds <= 0 or code not in priors:
                continue
            x = math.log(seconds)
            by_service.setdefault(code, []).append(x)
            if hour is not None:
                by_hour.setdefault((code, hour), []).append(x)
        fits: dict[tuple[str, int | None], LogNormal] = {}
        for code, prior in priors.items():
            fits[(code, None)] = prior.shrunk_towards(prior, by_service.get(code, []), prior_weight)
        hours_of: dict[str, dict[int, list[float]]] = {}
        for (code, hour), logs in by_hour.items():
            hours_of.setdefault(code, {})[hour] = logs
        for code, hours in hours_of.items():
            fits.update(_hourly_fits(code, fits[(code, None)], hours))
        return cls(priors, fits)

    def params(self, service: str, hour: int | None = None) -> LogNormal:
        fit = self.fits.get((service, hour)) or self.fits.get((service, None))
        if fit is not None:
            return fit
        return self.priors.get(service) or LogNormal.from_mean_cv(300.0, PRIOR_CV)

    def draw_s(self, rng: random.Random, service: str, hour: int | None = None) -> float:
        p = self.params(service, hour)
        return math.exp(p.mu + p.sigma * rng.gauss(0.0, 1.0)) if p.sigma > 0 else math.exp(p.mu)

    def draw_remaining_s(
        self, rng: random.Random, service: str, hour: int | None, elapsed_s: float
    ) -> float:
        """Seconds left of a service already `elapsed_s` long (the lognormal beyond elapsed)."""
        p = self.params(service, hour)
        if p.sigma <= 0 or elapsed_s <= 0:
            return max(0.0, self.draw_s(rng, service, hour) - max(elapsed_s, 0.0))
        return self.remaining_at_s(service, hour, elapsed_s, rng.random())

    def remaining_at_s(self, service: str, hour: int | None, elapsed_s: float, u: float) -> float:
        """The `u`-quantile of the seconds left of a service already `elapsed_s` long: with
        the same `u` it moves smoothly as the service goes on (a common random number)."""
        p = self.params(service, hour)
        if p.sigma <= 0:
            return max(0.0, math.exp(p.mu) - max(elapsed_s, 0.0))
        done = _STD_NORMAL.cdf((math.log(elapsed_s) - p.mu) / p.sigma) if elapsed_s > 0 else 0.0
        u = done + (1.0 - done) * u
        u = min(max(u, 1e-12), 1 - 1e-12)
        return max(0.0, math.exp(p.mu + p.sigma * _STD_NORMAL.inv_cdf(u)) - elapsed_s)


# ------------------------------------------------------------ common random numbers
CRN_SPAN = 4096  # one deviate per ticket id modulo this: more than a branch issues a day
_crn_tables: dict[tuple[int, int], list[float]] = {}


def _crn_table(seed: int, run: int) -> list[float]:
    """Run `run`'s standard normal deviates, one per ticket id (mod `CRN_SPAN`): the same
    ticket draws the same service time in that run of every prediction, so re-predicting
    after an event that changes nothing ahead of a customer gives them the same answer."""
    table = _crn_tables.get((seed, run))
    if table is None:
        rng = random.Random(f"branchq-crn-{seed}-{run}")
        table = [rng.gauss(0.0, 1.0) for _ in range(CRN_SPAN)]
        if len(_crn_tables) > 4 * DEFAULT_RUNS:
            _crn_tables.clear()  # a new seed (a new day): the old tables are dead
        _crn_tables[(seed, run)] = table
    return table


def _uniform(table: Sequence[float], key: int) -> float:
    """A uniform in (0, 1) from run's table, for `key`, apart from the service-time deviates
    (a multiplicative hash spreads the keys; half the table on)."""
    z = table[(key * 2654435761 + CRN_SPAN // 2) % CRN_SPAN]
    return min(max(_STD_NORMAL.cdf(z), 1e-12), 1 - 1e-12)


# ---------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class WaitEstimate:
    """Seconds from now until called: median and the 80 % interval (p10–p90)."""

    median_s: float
    low_s: float
    high_s: float


Kind = tuple[str, PriorityClass, int]  # a newcomer's business, class and VIP tier (0: not VIP)
NEWCOMER_CLASSES: tuple[tuple[PriorityClass, int], ...] = (
    (PriorityClass.REGULAR, 0),
    (PriorityClass.CARE, 0),
    (PriorityClass.VIP, 1),
    (PriorityClass.VIP, 2),
    (PriorityClass.VIP, 3),
    (PriorityClass.APPOINTMENT, 0),
)


@dataclass(frozen=True)
class Prediction:
    tickets: dict[int, WaitEstimate]  # ticket id -> remaining wait; absent: never called
    newcomers: dict[str, WaitEstimate]  # business -> a new regular customer's wait
    runs: int
    first_new_id: int = 0  # tickets from this id on were issued after the prediction
    # Every class's newcomer, and how many of its business the policy put ahead of it then:
    # a ticket issued after the prediction is answered as its own class, never as a regular.
    by_kind: dict[Kind, WaitEstimate] = field(default_factory=dict)
    ahead_of_kind: dict[Kind, int] = field(default_factory=dict)


def kind_of(ticket: Ticket, now: datetime) -> Kind:
    """The newcomer a ticket is like: its business and the class it ranks as now (an
    appointment before its slot waits as a regular until then)."""
    cls = ticket.priority
    if cls is PriorityClass.APPOINTMENT and (
        ticket.appointment_slot is None or ticket.appointment_slot > now
    ):
        cls = PriorityClass.REGULAR
    tier = min(3, max(1, ticket.vip_tier)) if cls is PriorityClass.VIP else 0
    return (ticket.service, cls, tier)


def _quantile(values: Sequence[float], q: float) -> float:
    pos = (len(values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    if math.isinf(values[hi]):
        return values[hi] if pos > lo else values[lo]
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def _estimate(waits_min: list[float]) -> WaitEstimate | None:
    waits_min.sort()
    median = _quantile(waits_min, 0.5)
    if math.isinf(median):
        return None
    return WaitEstimate(
        median * 60.0, _quantile(waits_min, 0.1) * 60.0, _quantile(waits_min, 0.9) * 60.0
    )


# --------------------------------------------------------------------- arrivals
ClassShare = tuple[PriorityClass, int, float]  # class, VIP tier, share of walk-in customers
_Newcomer = tuple[str, PriorityClass, int]  # business, class, VIP tier (0: not VIP)


@dataclass(frozen=True)
class ArrivalRates:
    """Expected walk-in arrivals: per business, customers per hour for each local hour (0–23),
    and the business's class mix (shares summing to 1; missing: all regular)."""

    hourly: Mapping[str, Sequence[float]]
    classes: Mapping[str, Sequence[ClassShare]]
    horizon_min: float = 240.0  # no arrivals drawn beyond this many minutes from now
    # Customers give up after an exponential patience of this mean (minutes of waiting);
    # 0: nobody leaves.
    patience_mean_min: float = 0.0

    def per_hour(self, service: str, hour: int) -> float:
        rates = self.hourly.get(service)
        return rates[hour % 24] if rates is not None and len(rates) == 24 else 0.0

    def expected_between(self, start: datetime, end: datetime, tz: ZoneInfo) -> float:
        """Customers of every business the forecast expects between two times."""
        total = 0.0
        t = start
        while t < end:
            local = t.astimezone(tz)
            boundary = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            step_end = min(end, boundary.astimezone(start.tzinfo))
            minutes = (step_end - t).total_seconds() / 60.0
            total += sum(self.per_hour(c, local.hour) for c in self.hourly) * minutes / 60.0
            t = step_end
        return total

    def scaled(self, factor: float) -> ArrivalRates:
        """The same forecast with every rate × `factor` (today busier or quieter)."""
        hourly = {c: [r * factor for r in rates] for c, rates in self.hourly.items()}
        return ArrivalRates(hourly, self.classes, self.horizon_min, self.patience_mean_min)


VOLUME_PRIOR = 30.0  # today's volume is believed as the forecast's until this many customers


def todays_volume(observed: float, expected: float, prior: float = VOLUME_PRIOR) -> float:
    """How busy today is against the forecast, from the customers so far: the ratio of
    observed to expected arrivals, shrunk towards 1 by `prior` pseudo-customers (a gamma-
    Poisson posterior mean with a prior of mean 1 worth `prior` customers)."""
    if expected <= 0:
        return 1.0
    return (observed + prior) / (expected + prior)


def hourly_by_local_hour(opens_hour: int, hourly: Sequence[float], share: float) -> list[float]:
    """24 per-hour figures: `hourly[i]` × `share` at local hour `opens_hour + i`, else 0."""
    out = [0.0] * 24
    for i, rate in enumerate(hourly):
        if 0 <= opens_hour + i < 24:
            out[opens_hour + i] = rate * share
    return out


def class_mix_of(tickets: Iterable[Ticket]) -> dict[str, list[ClassShare]]:
    """Each business's walk-in class mix (appointments left out) among the given tickets."""
    counts: dict[str, dict[tuple[PriorityClass, int], int]] = {}
    for t in tickets:
        if t.priority is PriorityClass.APPOINTMENT or t.leg > 0:
            continue
        per = counts.setdefault(t.service, {})
        tier = t.vip_tier if t.priority is PriorityClass.VIP else 0
        per[(t.priority, tier)] = per.get((t.priority, tier), 0) + 1
    out: dict[str, list[ClassShare]] = {}
    for code, per in counts.items():
        total = sum(per.values())
        out[code] = [(cls, tier, n / total) for (cls, tier), n in sorted(per.items(), key=str)]
    return out


Booking = tuple[datetime, str]  # an appointment's slot start and business


def booked_appointments(branch: Branch) -> list[Booking]:
    """The branch's appointments booked and not yet checked in (nor cancelled, released)."""
    return [
        (a.slot_start, a.service)
        for a in branch.appointments.values()
        if a.state is AppointmentState.BOOKED
    ]


# ----------------------------------------------------------------- the forward run
Group = tuple[str, PriorityClass, int]  # business, class, VIP tier (0: not VIP)
Skilled = tuple[int, float, bool]  # a counter's queue, its skill weight, overflow or not
# Keys that mix a head start or a target with minutes waited are counted in whole units of
# 1/TIE_QUANTUM (`round(x * TIE_QUANTUM)`, far cheaper than round(x, 9)): two customers the
# policy ranks exactly alike (a care customer arriving exactly their 6-minute head start
# after a regular one) would otherwise be ordered by the last bit of a float sum, which
# changes with the moment of the call, and a prediction made a few seconds later would swap
# them (and everyone after). So an exact tie goes by arrival, as every policy says it should.
TIE_QUANTUM = 1e9


class Heads(NamedTuple):
    """The replay's per-run arrays a head ranking reads (indices stand for customers)."""

    queues: list[list[int]]
    ptr: list[int]  # each queue's first customer not yet called
    grp: list[int]  # each customer's group
    arrived: list[float]  # arrival timestamps
    tie: list[tuple[float, int]]  # (arrival, ticket id): every policy's tie-break


# The best head among a counter's queues (all non-empty) at a moment (timestamp): its index.
BestHead = Callable[[Sequence[Skilled], Heads, float], int]


class HeadRanking(NamedTuple):
    best: BestHead
    # Per group: groups alike share one queue (cμ ignores the VIP tier, say: in arrival
    # order they rank the same).
    alike: list[Hashable]
    # A queue's order, (group, arrival ts) -> smaller first, when it is fixed for good across
    # the groups sharing it (accumulating with one rate: arrival less the head start); None:
    # arrival order.
    order: Callable[[int, float], float] | None = None


KeyOf = Callable[[int, float, float], tuple[float, ...]]  # group, seconds waited, weight


def _best_by_key(key: KeyOf) -> BestHead:
    def best(entries: Sequence[Skilled], h: Heads, at: float) -> int:
        out, out_key = -1, None
        queues, ptr, grp, arrived, tie = h
        for q, weight, _ in entries:
            i = queues[q][ptr[q]]
            waited = at - arrived[i]
            k = key(grp[i], waited if waited > 0 else 0.0, weight)
            if out_key is None or k < out_key or (k == out_key and tie[i] < tie[out]):
                out, out_key = i, k
        return out

    return best


def simulated_policy(policy: CallingPolicy) -> CallingPolicy:
    """The policy the forward run replays: a lookahead policy's base (simulating the rollout
    inside every replay would cost a rollout per call), else the policy itself."""
    base = getattr(policy, "base", None)
    return base if base is not None else policy


def _group_of(ticket: Ticket) -> Group:
    tier = ticket.vip_tier if ticket.priority is PriorityClass.VIP else 0
    return (ticket.service, ticket.priority, tier)


def head_rank(  # noqa: C901 one small ranking per shipped policy, side by side
    policy: CallingPolicy, services: Mapping[str, Service], groups: Sequence[Group]
) -> HeadRanking | None:
    """The policy's choice among group heads, computed from numbers instead of Tickets and
    datetimes (the replay ranks a handful of heads at each of hundreds of calls per run).

    Each head is ranked by the tuple the policy's own `_key` gives the same customer, ties
    by arrival then ticket id, as `choose_next` does; every customer in an appointment group
    is an honoured appointment counted from their arrival (a booking at its slot, a probe
    whose slot is now). None for a policy without one here: the replay then asks the
    policy's `choose_next` at every call.
    """
    appt = PriorityClass.APPOINTMENT
    is_appt = [cls is appt for _, cls, _ in groups]

    def business_target_min(code: str) -> float:
        svc = services.get(code)
        return svc.target_wait_s / 60.0 if svc is not None else 10.0

    if isinstance(policy, GcMu):  # also the reserving policy's order
        offset, power, guard = policy.offset, policy.power, policy.guard
        # Per group: class weight × service rate, target (s), when the guard is passed and its
        # deadline after arrival (s); None: an honoured appointment.
        consts: list[tuple[float, float, float, float] | None] = []
        for code, cls, _ in groups:
            raw = policy.class_targets.get(cls)
            target = business_target_min(code) if raw is None else raw
            svc = services.get(code)
            mean_min = svc.mean_service_s / 60.0 if svc is not None else 5.0
            speed = max(mean_min, 1e-6) ** -policy.service_power
            cw = policy.class_weights.get(cls, 1.0)
            target_s = max(target, 1e-6) * 60.0
            group = (cw * speed, target_s, guard * target_s, guard * target * 60.0)
            consts.append(None if cls is appt else group)
        square = power == 2.0  # the default: a product, not a pow call, in the hot loop

        def cmu(entries: Sequence[Skilled], h: Heads, at: float) -> int:
            # Inlined (the production default's hot loop): (level, value) per head.
            out, out_level, out_value = -1, 0.0, 0.0
            queues, ptr, grp, arrived, tie = h
            for q, weight, _ in entries:
                i = queues[q][ptr[q]]
                waited_s = at - arrived[i]
                if waited_s < 0:
                    waited_s = 0.0
                c = consts[grp[i]]
                if c is None:  # an honoured appointment: first, by time waited
                    level, value = 0.0, -waited_s * weight
                else:
                    rate, target_s, guarded_s, deadline_s = c
                    if waited_s >= guarded_s:  # past the guard: by deadline
                        level = 1.0
                        # The deadline less now, from the wait (exact): small, so quantised.
                        value = round((deadline_s - waited_s) * TIE_QUANTUM)
                    else:
                        level = 2.0
                        x = offset + waited_s / target_s
                        value = -(rate * (x * x if square else x**power)) * weight
                if (
                    out < 0
                    or level < out_level
                    or (
                        level == out_level
                        and (value < out_value or (value == out_value and tie[i] < tie[out]))
                    )
                ):
                    out, out_level, out_value = i, level, value
            return out

        return HeadRanking(cmu, [(c, a) for c, a in zip(consts, is_appt, strict=True)])
    if isinstance(policy, AccumulatingPriority):
        heads: list[float] = []
        for _, cls, tier in groups:
            head = policy.head_starts.get(cls, 0.0)
            if cls is PriorityClass.VIP and tier > 1:
                head += policy.vip_tier_bonus * (tier - 1)
            heads.append(head)
        rates = [policy.rates.get(cls, 1.0) for _, cls, _ in groups]
        regular_rate = policy.rates.get(PriorityClass.REGULAR, 1.0)

        def accumulating(entries: Sequence[Skilled], h: Heads, at: float) -> int:
            out, out_value = -1, 0.0
            queues, ptr, grp, arrived, tie = h
            for q, weight, _ in entries:
                i = queues[q][ptr[q]]
                minutes = at - arrived[i]
                minutes = minutes / 60.0 if minutes > 0 else 0.0
                g = grp[i]
                score = heads[g] + rates[g] * minutes
                if is_appt[g]:  # never below the regular customer they were a moment before
                    score = max(score, regular_rate * minutes)
                value = -round(score * weight * TIE_QUANTUM)
                if out < 0 or value < out_value or (value == out_value and tie[i] < tie[out]):
                    out, out_value = i, value
            return out

        if len(set(rates)) > 1:
            return HeadRanking(accumulating, list(zip(heads, rates, is_appt, strict=True)))
        # One rate for all: a customer ranks as if arrived their head start earlier, at every
        # moment, so a business's classes share a queue in that order (the policy's
        # `fixed_key`); exact ties there, as in the keys, go by arrival.
        rate = rates[0] if rates else 1.0

        def ahead(g: int, arrived: float) -> float:
            return rate * arrived - heads[g] * 60.0

        return HeadRanking(accumulating, list(is_appt), ahead)
    if isinstance(policy, SlaAware):
        targets = [
            policy.class_targets.get(cls, business_target_min(code)) for code, cls, _ in groups
        ]

        def sla(g: int, waited_s: float, weight: float) -> tuple[float, ...]:
            target = targets[g]
            slack = target - waited_s / 60.0 + target * (1.0 / weight - 1.0)
            return (0.0 if is_appt[g] else 1.0, round(slack * TIE_QUANTUM))

        return HeadRanking(_best_by_key(sla), list(zip(targets, is_appt, strict=True)))
    if isinstance(policy, StrictPriority):
        order = {cls: float(i) for i, cls in enumerate(policy.order)}
        fixed = [
            (order.get(cls, float(len(order))), -float(tier) if cls is PriorityClass.VIP else 0.0)
            for _, cls, tier in groups
        ]

        def strict(g: int, waited_s: float, weight: float) -> tuple[float, ...]:
            return (*fixed[g], -waited_s * weight)

        return HeadRanking(
            _best_by_key(strict), [(*f, a) for f, a in zip(fixed, is_appt, strict=True)]
        )
    if isinstance(policy, Fifo):

        def fifo(g: int, waited_s: float, weight: float) -> tuple[float, ...]:
            return (0.0 if is_appt[g] else 1.0, -waited_s * weight)

        return HeadRanking(_best_by_key(fifo), list(is_appt))
    return None


class _Forward:
    """The live queue laid out for fast replays; indices stand for tickets throughout.

    Customers wait in groups — one per business, class and VIP tier — each in arrival order,
    which is every shipped ranked policy's order within a group at every moment (the rank
    grows with minutes waited at one rate inside a group, and a counter's skill weight is the
    same for the whole business). A free counter therefore needs only the groups' heads, each
    ranked by the policy's own key at that moment (`head_rank`), plus the customers whose rank
    jumps with time (appointments around their slot) and transfers to it, which the policy's
    `choose_next` judges. Indices past `len(self.tickets)` are customers who arrive during a
    replay; the per-index arrays (`svc`, `arrived_ts`, `tie`) and the groups are copied per
    replay.
    """

    def __init__(
        self,
        branch: Branch,
        now: datetime,
        newcomers: bool,
        arrivals: ArrivalRates | None,
        bookings: Sequence[Booking] = (),
    ) -> None:
        self.branch, self.now = branch, now
        self.now_ts = now.timestamp()
        self.policy = policy = simulated_policy(branch.policy)
        services = branch.services
        self.tickets: list[Ticket] = list(branch.waiting)
        self.ghosts: dict[int, Kind] = {}  # ticket index -> who a hypothetical newcomer is
        if newcomers:
            next_id = branch.next_ticket_id
            day = branch.business_day(now)
            for code in sorted(services):
                if not services[code].enabled:
                    continue
                for cls, tier in NEWCOMER_CLASSES:
                    self.ghosts[len(self.tickets)] = (code, cls, tier)
                    slot = now if cls is PriorityClass.APPOINTMENT else None
                    self.tickets.append(
                        Ticket(next_id, "", code, day, now, now, cls, tier, appointment_slot=slot)
                    )
                    next_id += 1
        self.index = {id(t): i for i, t in enumerate(self.tickets)}
        self.svc = [t.service for t in self.tickets]
        self.arrived_ts = [t.arrived_at.timestamp() for t in self.tickets]
        self.tie = [(ts, t.id) for ts, t in zip(self.arrived_ts, self.tickets, strict=True)]
        groups: dict[Group, list[int]] = {}
        self.targeted: dict[int, list[int]] = {}
        self.floating: list[int] = []  # appointments: their rank changes at the slot
        for i, t in enumerate(self.tickets):
            if t.target_counter is not None:
                self.targeted.setdefault(t.target_counter, []).append(i)
            elif t.priority is PriorityClass.APPOINTMENT and i not in self.ghosts:
                # A probe's slot is now: its rank no longer changes, so it queues in order.
                self.floating.append(i)
            else:
                groups.setdefault(_group_of(t), []).append(i)
        self._setup_arrivals(arrivals, groups)
        self._setup_bookings(bookings, groups)
        self.groups = sorted(groups, key=lambda g: (g[0], g[1].value, g[2]))
        self.gpos = gpos = {g: k for k, g in enumerate(self.groups)}
        self.grp = [-1] * len(self.tickets)  # index -> its group (-1: outside the groups)
        for g, members in groups.items():
            for i in members:
                self.grp[i] = gpos[g]
        ranking = head_rank(policy, services, self.groups)
        self.best = ranking.best if ranking is not None else None
        # Groups alike share a queue (see `HeadRanking`); a queue is in arrival order.
        alike: list[Hashable] = ranking.alike if ranking is not None else list(self.groups)
        queue_keys = sorted({(g[0], alike[k]) for k, g in enumerate(self.groups)}, key=str)
        self.qpos = {g: queue_keys.index((g[0], alike[k])) for k, g in enumerate(self.groups)}
        # Who arrives: their queue and group, looked up by the forecast's own tuples (hashing
        # a class enum is a Python call, per arrival of every run).
        self.where = {id(who): (self.qpos[who], gpos[who]) for who in self.arrivers}
        members_of: list[list[int]] = [[] for _ in queue_keys]
        for g, members in groups.items():
            members_of[self.qpos[g]].extend(members)
        self._grp, self._arrived, self._tie = self.grp, self.arrived_ts, self.tie
        # Each customer's place in their queue: (the policy's fixed order or 0, arrival, id).
        self.order = ranking.order if ranking is not None else None
        self.place = [
            (self._order_of(self.grp[i], self.arrived_ts[i]), *self.tie[i])
            for i in range(len(self.tickets))
        ]
        self.queues = [sorted(m, key=self.place.__getitem__) for m in members_of]
        self.queue_of = {i: q for q, queue in enumerate(self.queues) for i in queue}
        self.counters: list[Counter] = [
            c for _, c in sorted(branch.counters.items()) if c.state is CounterState.OPEN
        ]
        # Per open counter: (queue, weight, overflow) for every queue of each of its skills.
        self.business_queues: dict[str, list[int]] = {}
        for q, (code, _) in enumerate(queue_keys):
            self.business_queues.setdefault(code, []).append(q)
        self.skills = [
            [
                (q, s.weight, s.overflow)
                for s in c.skills
                for q in self.business_queues.get(s.service, ())
            ]
            for c in self.counters
        ]
        self.serves = [{q for q, _, _ in sk} for sk in self.skills]
        # Per queue: the counters serving it and their skill entry for it.
        self.entries: list[list[tuple[int, Skilled]]] = [[] for _ in self.queues]
        for c, sk in enumerate(self.skills):
            for entry in sk:
                self.entries[entry[0]].append((c, entry))
        self._live = self.skills  # per counter: its entries whose queue has someone (per replay)
        self.queue_business = [code for code, _ in queue_keys]
        # Per-replay state (reset by `replay`).
        self._queues = self.queues
        self._svc = self.svc
        self._place = self.place
        self._queue_of = self.queue_of
        self._extra_tickets: dict[int, Ticket] = {}
        self._classes: dict[int, tuple[PriorityClass, int]] = {}  # arrivals' class and tier

    def ghost_places(self) -> dict[Kind, int]:
        """How many of its business each newcomer probe had ahead of it in the policy's order
        (other probes left out: they take no time)."""
        by_service: dict[str, list[Ticket]] = {}
        for code, queues in self.business_queues.items():
            by_service[code] = [self.tickets[i] for q in queues for i in self.queues[q]]
        out: dict[Kind, int] = {}
        services = self.branch.services
        for waiting in by_service.values():
            real = 0
            for t in self.policy.queue_order(waiting, self.now, services):
                kind = self.ghosts.get(self.index[id(t)])
                if kind is None:
                    real += 1
                else:
                    out[kind] = real
        return out

    def _setup_arrivals(
        self, arrivals: ArrivalRates | None, groups: dict[Group, list[int]]
    ) -> None:
        """Per hour from now: who may arrive (business, class, tier) and cumulative rates."""
        self.arrival_hours: list[tuple[list[_Newcomer], list[float]]] = []
        self.arrivers: list[_Newcomer] = []  # every walk-in and booking's (business, class, tier)
        self.horizon_min = 0.0
        self.horizon_min_bookings = (arrivals or ArrivalRates({}, {})).horizon_min
        self.patience_min = arrivals.patience_mean_min if arrivals is not None else 0.0
        if arrivals is None:
            return
        tz = ZoneInfo(self.branch.settings.timezone)
        local = self.now.astimezone(tz)
        self.first_boundary = 60.0 - local.minute - local.second / 60.0
        hour0 = local.hour
        self.horizon_min = arrivals.horizon_min
        codes = sorted(c for c, svc in self.branch.services.items() if svc.enabled)
        any_rate = False
        for k in range(int(arrivals.horizon_min // 60) + 2):
            population: list[_Newcomer] = []
            cum: list[float] = []
            total = 0.0
            for code in codes:
                per_min = arrivals.per_hour(code, hour0 + k) / 60.0
                if per_min <= 0:
                    continue
                mix = arrivals.classes.get(code) or [(PriorityClass.REGULAR, 0, 1.0)]
                for cls, tier, share in mix:
                    if share <= 0 or cls is PriorityClass.APPOINTMENT:
                        continue
                    total += per_min * share
                    population.append((code, cls, tier))
                    cum.append(total)
                    groups.setdefault((code, cls, tier), [])
                any_rate = True
            self.arrival_hours.append((population, cum))
            self.arrivers.extend(population)
        if not any_rate:
            self.arrival_hours = []

    def _setup_bookings(self, bookings: Sequence[Booking], groups: dict[Group, list[int]]) -> None:
        """Booked appointments not checked in yet: each arrives at its slot (on average
        punctual customers do), ranked as an appointment from then on."""
        self.bookings: list[tuple[float, _Newcomer]] = []
        self.booking_keys: list[int] = []  # each booking's place in the common random numbers
        if not bookings:
            return
        services = self.branch.services
        grace = getattr(self.policy, "appointment_grace", None)
        grace_min = grace.total_seconds() / 60.0 if isinstance(grace, timedelta) else 10.0
        kept: list[tuple[float, _Newcomer, int]] = []
        same: dict[int, int] = {}  # bookings of one slot and business so far
        for slot, code in sorted(bookings):
            svc = services.get(code)
            if svc is None or not svc.enabled:
                continue
            tau = (slot - self.now).total_seconds() / 60.0
            if tau < -grace_min or tau > self.horizon_min_bookings:
                continue  # a no-show by now, or beyond the horizon
            # Keyed by what stays put: the slot, the business and which of its bookings.
            minute = round(slot.timestamp() / 60.0)
            key = minute * 131 + sum(map(ord, code))
            same[key] = same.get(key, -1) + 1
            key = key * 8 + same[key] % 8
            kept.append((max(tau, 0.0), (code, PriorityClass.APPOINTMENT, 0), key))
            groups.setdefault((code, PriorityClass.APPOINTMENT, 0), [])
        kept.sort(key=lambda b: (b[0], b[1][0]))
        self.bookings = [(tau, who) for tau, who, _ in kept]
        self.arrivers.extend(who for _, who in self.bookings)
        self.booking_keys = [(key * 2654435761) % CRN_SPAN for _, _, key in kept]

    def _ticket(self, i: int) -> Ticket:
        """A Ticket for index `i` (built on demand for arrivals, for the policy's full rules)."""
        if i < len(self.tickets):
            return self.tickets[i]
        t = self._extra_tickets.get(i)
        if t is None:
            at = datetime.fromtimestamp(self._arrived[i], self.now.tzinfo)
            cls, tier = self._classes[i]
            day = self.now.date()
            t = Ticket(self._tie[i][1], "", self._svc[i], day, at, at, cls, tier)
            self._extra_tickets[i] = t
            self.index[id(t)] = i
        return t

    # ------------------------------------------------------------------ choosing
    def _over_target(self, code: str, ptr: list[int], taken: Sequence[bool], at: float) -> bool:
        """Has anyone of this business waited past its target (an overflow skill's test)?
        A queue's head is its longest waiter; appointments wait outside the queues."""
        queues, arrived = self._queues, self._arrived
        oldest = math.inf
        for q in self.business_queues.get(code, ()):
            queue, p = queues[q], ptr[q]
            if p < len(queue):
                oldest = min(oldest, arrived[queue[p]])
        for i in self.floating:
            if not taken[i] and self._svc[i] == code:
                oldest = min(oldest, arrived[i])
        return at - oldest > self.branch.services[code].target_wait_s

    def _order_of(self, g: int, arrived: float) -> float:
        return 0.0 if self.order is None or g < 0 else self.order(g, arrived)

    def _heads(self, ptr: list[int]) -> Heads:
        return Heads(self._queues, ptr, self._grp, self._arrived, self._tie)

    def choose(self, c: int, ptr: list[int], taken: Sequence[bool], tau: float) -> int | None:
        """The index the production policy would give counter `c` at `tau` minutes from now."""
        at = self.now_ts + tau * 60.0
        queues = self._queues
        entries: list[Skilled] = []  # the queues this counter may call from now
        late: dict[str, bool] | None = None
        for entry in self._live[c]:
            if entry[2]:  # an overflow skill: only while the business is over its target
                late = late or {}
                code = self.queue_business[entry[0]]
                if code not in late:
                    late[code] = self._over_target(code, ptr, taken, at)
                if not late[code]:
                    continue
            entries.append(entry)
        heads: list[int] = []
        best = -1
        if self.best is None:  # no fast ranking: every head, for the policy to judge
            heads = [queues[q][ptr[q]] for q, _, _ in entries]
        elif entries:
            best = self.best(entries, self._heads(ptr), at)
        extra: list[int] = []
        if self.targeted or self.floating:
            extra = [i for i in self.targeted.get(self.counters[c].number, ()) if not taken[i]]
            extra.extend(i for i in self.floating if not taken[i])
        if self.best is not None and not extra:
            return best if best >= 0 else None
        if best >= 0:
            heads.append(best)
            code = self.queue_business[self._queue_of[best]]
            if late is not None and code in late:
                # The policy judges an overflow queue by its longest waiter: show them all.
                heads.extend(
                    i for q in self.business_queues[code] for i in queues[q][ptr[q] :] if i != best
                )
        candidates = [self._ticket(i) for i in (*heads, *extra)]
        if not candidates:
            return None
        when = self.now + timedelta(minutes=tau)
        services = self.branch.services
        chosen = self.policy.choose_next(self.counters[c], candidates, when, services)
        return None if chosen is None else self.index[id(chosen)]

    # -------------------------------------------------------------------- replay
    def _common_arrivals(self, seed: int, run: int) -> list[tuple[float, _Newcomer, float]]:
        """Run `run`'s walk-ins after now: (minute, who, service deviate), each clock hour's
        drawn from a stream of its own seeded by the hour, not by now. A prediction made a
        little later sees the same customers (those not arrived yet), at the same times while
        the forecast's rate holds (scaled in time when it moves a little)."""
        out: list[tuple[float, _Newcomer, float]] = []
        for k, (population, cum) in enumerate(self.arrival_hours):
            start = self.first_boundary - 60.0 + 60.0 * k
            end = min(start + 60.0, self.horizon_min)
            if start >= end:
                break
            if not cum:
                continue
            hour_key = round(self.now_ts / 60.0 + start)  # the hour's start, in epoch minutes
            rng = random.Random(f"branchq-arrivals-{seed}-{run}-{hour_key}")
            rate, t = cum[-1], start
            while True:
                t += rng.expovariate(1.0) / rate
                if t >= end:
                    break
                who = population[bisect.bisect_left(cum, rng.random() * rate)]
                z = rng.gauss(0.0, 1.0)
                if t > 0:
                    out.append((t, who, z))
        return out

    def _next_arrival(self, rng: random.Random, t: float) -> tuple[float, _Newcomer] | None:
        """The next arrival after `t` minutes: (minute, who), or None."""
        hours = self.arrival_hours
        k = 0 if t < self.first_boundary else 1 + int((t - self.first_boundary) // 60)
        while k < len(hours) and t < self.horizon_min:
            population, cum = hours[k]
            end = self.first_boundary + 60.0 * k
            if cum:
                t += rng.expovariate(cum[-1])
                if t < end:
                    if t >= self.horizon_min:
                        return None
                    return t, population[bisect.bisect_left(cum, rng.random() * cum[-1])]
            t, k = end, k + 1  # memoryless: draw again from the next hour's rate
        return None

    def replay(  # noqa: C901 the hot loop, kept flat for speed
        self,
        model: ServiceModel,
        rng: random.Random,
        hour: int,
        run: int | None = None,
        seed: int = 0,
    ) -> list[float]:
        """One forward run: minutes from now until each ticket is called (inf: never).

        With `run`, every random number is a common one (`_crn_table`, `_common_arrivals`):
        a ticket's service time in run k is the same in every prediction, so one made after
        an event that changes nothing ahead of a customer answers them the same.
        """
        n = len(self.tickets)
        table = _crn_table(seed, run) if run is not None else None
        waits = [math.inf] * n
        taken = [False] * n
        ptr = [0] * len(self.queues)
        self._queue_of = queue_of = dict(self.queue_of)
        self._live = live = [[e for e in sk if self.queues[e[0]]] for sk in self.skills]
        arriving = bool(self.arrival_hours) or bool(self.bookings)
        if arriving:
            self._queues = [list(q) for q in self.queues]
            self._svc, self._arrived = list(self.svc), list(self.arrived_ts)
            self._tie, self._grp = list(self.tie), list(self.grp)
            self._place = list(self.place)
            self._classes = {}
            if self._extra_tickets:
                for t in self._extra_tickets.values():
                    self.index.pop(id(t), None)
                self._extra_tickets = {}
        events: list[tuple[float, int]] = []
        branch, now = self.branch, self.now
        for c, counter in enumerate(self.counters):
            active = branch.active_ticket(counter.number)
            if active is None:
                events.append((0.0, c))
                continue
            started = active.serving_at or active.called_at or now
            elapsed = (now - started).total_seconds()
            if table is None:
                left = model.draw_remaining_s(rng, active.service, hour, elapsed)
            else:
                u = _STD_NORMAL.cdf(table[active.id % CRN_SPAN])
                left = model.remaining_at_s(active.service, hour, elapsed, u)
            events.append((left / 60.0, c + len(self.counters)))  # busy ones after idle ones
        heapq.heapify(events)
        ncount = len(self.counters)
        ghosts = self.ghosts
        gauss = rng.gauss
        params = {}  # business -> (mu, sigma) of its service time this hour
        for code in {*self.branch.services, *self.svc}:
            p = model.params(code, hour)
            params[code] = (p.mu, p.sigma)
        remaining = n
        idle: set[int] = set()
        deviates: list[float] = []
        common: list[tuple[float, _Newcomer, float]] = []
        nxt: tuple[float, _Newcomer] | None
        nxt_z = 0.0
        if table is not None:
            deviates = [table[t.id % CRN_SPAN] for t in self.tickets]
            common = self._common_arrivals(seed, run or 0) if self.arrival_hours else []
            common.reverse()  # popped from the end, soonest first
            nxt, nxt_z = (common[-1][:2], common.pop()[2]) if common else (None, 0.0)
        else:
            nxt = self._next_arrival(rng, 0.0) if self.arrival_hours else None
        bookings, booked = self.bookings, 0
        patience = self.patience_min
        deadline: list[float] = []  # minutes from now each customer gives up (none: empty)
        if patience > 0:
            for i, t in enumerate(self.tickets):
                u = rng.random() if table is None else _uniform(table, t.id)
                wait_left = -patience * math.log1p(-u)
                # From arrival; one already past it stays on as long again (memoryless).
                at = (self.arrived_ts[i] - self.now_ts) / 60.0 + wait_left
                deadline.append(math.inf if i in ghosts else at if at > 0 else wait_left)
        # The common case, inlined: a fast rank, and no one the policy must judge in full
        # (appointments around their slot, transfers, overflow skills).
        best_head = self.best
        inline = best_head is not None and not self.targeted and not self.floating
        inline = inline and not any(o for sk in self.skills for _, _, o in sk)
        heads = self._heads(ptr)
        now_ts, order, entries = self.now_ts, self.order, self.entries
        queues, svc, arrived, tie, grp = (
            heads.queues,
            self._svc,
            heads.arrived,
            heads.tie,
            heads.grp,
        )
        where = self.where
        while remaining:
            walk_in = nxt is not None and (booked >= len(bookings) or nxt[0] < bookings[booked][0])
            coming = nxt if walk_in else bookings[booked] if booked < len(bookings) else None
            if coming is not None and (not events or coming[0] < events[0][0]):
                tau, who = coming
                q, g = where[id(who)]
                i = len(svc)
                taken.append(False)
                svc.append(who[0])
                at = now_ts + tau * 60.0
                arrived.append(at)
                self._classes[i] = (who[1], who[2])
                tie.append((at, branch.next_ticket_id + i))
                grp.append(g)
                if order is None:
                    queues[q].append(i)  # the latest arrival: last in its queue
                else:
                    self._place.append((order(g, at), at, branch.next_ticket_id + i))
                    bisect.insort(queues[q], i, lo=ptr[q], key=self._place.__getitem__)
                queue_of[i] = q
                if ptr[q] == len(queues[q]) - 1:  # was empty: back on its counters' lists
                    for c, entry in entries[q]:
                        live[c].append(entry)
                for c in [c for c in idle if q in self.serves[c]]:
                    idle.discard(c)
                    heapq.heappush(events, (tau, c))
                if table is not None:
                    # A booking's deviate is keyed by its slot: the same every time.
                    deviates.append(nxt_z if walk_in else table[self.booking_keys[booked]])
                if patience > 0:
                    # Keyed by the arrival's moment, which stays put from one prediction on.
                    key = round(at * 1000.0)
                    u = rng.random() if table is None else _uniform(table, key)
                    deadline.append(tau - patience * math.log1p(-u))
                if not walk_in:
                    booked += 1
                elif table is None:
                    nxt = self._next_arrival(rng, tau)
                else:
                    nxt, nxt_z = (common[-1][:2], common.pop()[2]) if common else (None, 0.0)
                continue
            if not events:
                break
            tau, slot = heapq.heappop(events)
            c = slot % ncount
            while True:
                if inline:
                    assert best_head is not None
                    best = best_head(live[c], heads, now_ts + tau * 60.0) if live[c] else -1
                    pick = best if best >= 0 else None
                else:
                    pick = self.choose(c, ptr, taken, tau)
                if pick is None:
                    idle.add(c)
                    break
                taken[pick] = True
                if pick < n:
                    waits[pick] = tau
                    remaining -= 1
                in_queue = queue_of.get(pick)
                if in_queue is not None:
                    ptr[in_queue] += 1
                    if ptr[in_queue] == len(queues[in_queue]):  # now empty
                        for c_, entry in entries[in_queue]:
                            live[c_].remove(entry)
                if pick in ghosts or (deadline and deadline[pick] < tau):
                    # A probe takes no time; one who gave up before this call is gone (their
                    # own wait is the call they would have had, had they stayed): either
                    # way the counter calls again.
                    continue
                mu, sigma = params[svc[pick]]
                z = gauss(0.0, 1.0) if table is None else deviates[pick]
                service_min = math.exp(mu + sigma * z) / 60.0
                heapq.heappush(events, (tau + service_min, slot))
                break
        return waits


def predict_waits(
    branch: Branch,
    now: datetime,
    service_model: ServiceModel,
    *,
    runs: int = DEFAULT_RUNS,
    rng: random.Random,
    newcomers: bool = True,
    arrivals: ArrivalRates | None = None,
    bookings: Iterable[Booking] | None = None,
    common_seed: int | None = None,
) -> Prediction:
    """Median and p10–p90 wait until called for every waiting ticket and for newcomers.

    With `arrivals`, customers arriving after `now` are simulated too (see the module doc).
    `bookings`: appointments booked and not checked in yet, as (slot start, business); by
    default the branch's own (`booked_appointments`). Each arrives at its slot.
    `common_seed`: draw common random numbers from it instead of `rng` (see `replay`): the
    server keeps one seed all day, so its predictions move only when the queue does.
    """
    if bookings is None:
        bookings = booked_appointments(branch)
    forward = _Forward(branch, now, newcomers, arrivals, list(bookings))
    hour = now.astimezone(ZoneInfo(branch.settings.timezone)).hour
    samples: list[list[float]] = [[] for _ in forward.tickets]
    for run in range(max(1, runs)):
        crn = None if common_seed is None else run
        for i, w in enumerate(forward.replay(service_model, rng, hour, crn, common_seed or 0)):
            samples[i].append(w)
    tickets: dict[int, WaitEstimate] = {}
    found: dict[str, WaitEstimate] = {}
    by_kind: dict[Kind, WaitEstimate] = {}
    for i, t in enumerate(forward.tickets):
        est = _estimate(samples[i])
        if est is None:
            continue
        kind = forward.ghosts.get(i)
        if kind is None:
            tickets[t.id] = est
            continue
        by_kind[kind] = est
        if kind[1] is PriorityClass.REGULAR:
            found[kind[0]] = est
    return Prediction(
        tickets, found, max(1, runs), branch.next_ticket_id, by_kind, forward.ghost_places()
    )
