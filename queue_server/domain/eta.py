"""Wait prediction: re-simulate the live queue forward with the production calling policy.

`predict_waits` takes the branch as it is now (waiting tickets, counters mid-service), draws
service times from a `ServiceModel` (lognormal per business and hour, fitted to the event
log and shrunk towards the configured mean when history is short) and replays the rest of the
queue a few times; each waiting ticket gets the median and p10–p90 of its wait until called,
and a hypothetical new customer of every business gets the same (the kiosk's ETA).

Future arrivals are simulated too (`ArrivalRates`: customers per hour per business by local
hour, and each business's class mix), so a later VIP or care customer who overtakes a waiting
regular by their head start is counted. Under the accumulating policy with equal rates a
newcomer's score is known at any time (head start − rate × arrival minute, then growing at
the common rate), so each is slotted into its business's queue at arrival in the policy's own
order. Booked appointments are not drawn as walk-ins: each booking not checked in yet
(`bookings`, by default the branch's own) arrives at its slot and ranks as an appointment
from then on, so the customers it will overtake are counted. The forecast can be scaled by
how busy today has been so far (`todays_volume`, shrunk towards the forecast). Other
policies replay without arrivals. Newcomer probes are "ghost" tickets with no service time:
they see the queue as a new ticket would without delaying anyone.

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
of ms per run at 150 waiting (see `branchq bench predict`). Instead each business's queue is
put in the policy's own order once (`queue_order`), a free counter asks the policy to choose
only among the heads of its businesses' queues (plus transfers to it and appointments, whose
rank changes at their slot), and for the accumulating policy with equal class rates (the
production default) that choice is made on the policy's own scores (`scorer`), which then
grow at one rate for everyone. This is exact whenever the policy's order within one business
does not change with time — true of all four shipped policies with their default settings,
except the SLA-aware one at counters with skill weights below 1, and except overflow skills,
which are judged on the queue heads at each call, with no wake-up when a queue goes over.
`tests/sim/test_predict.py` checks the call order against the production Simulation.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import NormalDist
from zoneinfo import ZoneInfo

from queue_server.domain import (
    AccumulatingPriority,
    Branch,
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
_Newcomer = tuple[str, PriorityClass, int, float]  # business, class, VIP tier, head start


@dataclass(frozen=True)
class ArrivalRates:
    """Expected walk-in arrivals: per business, customers per hour for each local hour (0–23),
    and the business's class mix (shares summing to 1; missing: all regular)."""

    hourly: Mapping[str, Sequence[float]]
    classes: Mapping[str, Sequence[ClassShare]]
    horizon_min: float = 240.0  # no arrivals drawn beyond this many minutes from now

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
        return ArrivalRates(hourly, self.classes, self.horizon_min)


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
class _Forward:
    """The live queue laid out for fast replays; indices stand for tickets throughout.

    Indices past `len(self.tickets)` are customers who arrive during a replay; the per-index
    arrays (`svc`, `arrived_ts`, `score0`, `tie`) and the queues are copied per replay.
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
        policy = branch.policy
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
        by_service: dict[str, list[Ticket]] = {}
        self.targeted: dict[int, list[int]] = {}
        self.floating: list[int] = []  # appointments: their rank changes at the slot
        for i, t in enumerate(self.tickets):
            if t.target_counter is not None:
                self.targeted.setdefault(t.target_counter, []).append(i)
            elif t.priority is PriorityClass.APPOINTMENT and i not in self.ghosts:
                # A probe's slot is now: its rank no longer changes, so it queues in order.
                self.floating.append(i)
            else:
                by_service.setdefault(t.service, []).append(t)
        self.fast = (
            isinstance(policy, AccumulatingPriority)
            and len({policy.rates.get(cls, 1.0) for cls in PriorityClass}) == 1
        )
        self.rate = 1.0
        self.score0: list[float] = []
        if self.fast:
            assert isinstance(policy, AccumulatingPriority)
            score = policy.scorer(now)
            self.rate = policy.rates.get(PriorityClass.REGULAR, 1.0)
            self.score0 = [score(t) for t in self.tickets]
        self._setup_arrivals(arrivals if self.fast else None, by_service)
        self._setup_bookings(bookings if self.fast else (), by_service)
        self.queue_codes = sorted(by_service)
        self.queues = [
            [self.index[id(t)] for t in policy.queue_order(by_service[c], now, services)]
            for c in self.queue_codes
        ]
        qpos = {c: q for q, c in enumerate(self.queue_codes)}
        self.qpos = qpos
        self.counters: list[Counter] = [
            c for _, c in sorted(branch.counters.items()) if c.state is CounterState.OPEN
        ]
        # Per open counter: (queue, weight, overflow) for each of its businesses with a queue.
        self.skills = [
            [(qpos[s.service], s.weight, s.overflow) for s in c.skills if s.service in qpos]
            for c in self.counters
        ]
        self.serves = [{q for q, _, _ in sk} for sk in self.skills]
        # Per-replay state (reset by `replay`).
        self._queues = self.queues
        self._svc, self._arrived, self._score0, self._tie = (
            self.svc,
            self.arrived_ts,
            self.score0,
            self.tie,
        )
        self._extra_tickets: dict[int, Ticket] = {}
        self._classes: dict[int, tuple[PriorityClass, int]] = {}  # arrivals' class and tier

    def ghost_places(self) -> dict[Kind, int]:
        """How many of its business each newcomer probe had ahead of it in the policy's order
        (other probes left out: they take no time)."""
        out: dict[Kind, int] = {}
        for queue in self.queues:
            real = 0
            for i in queue:
                kind = self.ghosts.get(i)
                if kind is None:
                    real += 1
                else:
                    out[kind] = real
        return out

    def _setup_arrivals(
        self, arrivals: ArrivalRates | None, by_service: dict[str, list[Ticket]]
    ) -> None:
        """Per hour from now: who may arrive (business, class, head start) and cumulative rates."""
        self.arrival_hours: list[tuple[list[_Newcomer], list[float]]] = []
        self.horizon_min = 0.0
        self.horizon_min_bookings = (arrivals or ArrivalRates({}, {})).horizon_min
        if arrivals is None:
            return
        policy = self.branch.policy
        assert isinstance(policy, AccumulatingPriority)
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
                    head = policy.head_starts.get(cls, 0.0)
                    if cls is PriorityClass.VIP and tier > 1:
                        head += policy.vip_tier_bonus * (tier - 1)
                    total += per_min * share
                    population.append((code, cls, tier, head))
                    cum.append(total)
                by_service.setdefault(code, [])
                any_rate = True
            self.arrival_hours.append((population, cum))
        if not any_rate:
            self.arrival_hours = []

    def _setup_bookings(
        self, bookings: Sequence[Booking], by_service: dict[str, list[Ticket]]
    ) -> None:
        """Booked appointments not checked in yet: each arrives at its slot (on average
        punctual customers do), ranked as an appointment from then on."""
        self.bookings: list[tuple[float, _Newcomer]] = []
        self.booking_keys: list[int] = []  # each booking's place in the common random numbers
        if not bookings:
            return
        policy = self.branch.policy
        assert isinstance(policy, AccumulatingPriority)
        head = policy.head_starts.get(PriorityClass.APPOINTMENT, 0.0)
        services = self.branch.services
        grace_min = policy.appointment_grace.total_seconds() / 60.0
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
            kept.append((max(tau, 0.0), (code, PriorityClass.APPOINTMENT, 0, head), key))
            by_service.setdefault(code, [])
        kept.sort(key=lambda b: (b[0], b[1][0]))
        self.bookings = [(tau, who) for tau, who, _ in kept]
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
    def _heads(self, c: int, ptr: list[int], taken: Sequence[bool], tau: float) -> list[int]:
        """The indices the counter may call: its queues' heads, transfers to it, appointments."""
        out: list[int] = []
        queues = self._queues
        for q, _weight, overflow in self.skills[c]:
            p = ptr[q]
            if p < len(queues[q]) and (not overflow or self._over_target(q, ptr, tau)):
                out.append(queues[q][p])
        out.extend(i for i in self.targeted.get(self.counters[c].number, ()) if not taken[i])
        out.extend(i for i in self.floating if not taken[i])
        return out

    def _over_target(self, q: int, ptr: list[int], tau: float) -> bool:
        code = self.queue_codes[q]
        target_min = self.branch.services[code].target_wait_s / 60.0
        queue = self._queues[q]
        if ptr[q] >= len(queue):
            return False
        arrived = self._arrived
        oldest = min(arrived[i] for i in queue[ptr[q] :])
        return (self.now_ts - oldest) / 60.0 + tau > target_min

    def choose(self, c: int, ptr: list[int], taken: Sequence[bool], tau: float) -> int | None:
        """The index the production policy would give counter `c` at `tau` minutes from now."""
        extra = False
        if self.targeted or self.floating:
            number = self.counters[c].number
            extra = any(not taken[i] for i in self.targeted.get(number, ())) or any(
                not taken[i] for i in self.floating
            )
        if not self.fast or extra:
            heads = self._heads(c, ptr, taken, tau)
            if not heads:
                return None
            at = self.now + timedelta(minutes=tau)
            candidates = [self._ticket(i) for i in heads]
            policy, services = self.branch.policy, self.branch.services
            chosen = policy.choose_next(self.counters[c], candidates, at, services)
            return None if chosen is None else self.index[id(chosen)]
        # Accumulating, equal rates: score(now + tau) = score(now) + rate × tau for everyone.
        best, best_key = -1, None
        grow = self.rate * tau
        queues, score0, tie = self._queues, self._score0, self._tie
        for q, weight, overflow in self.skills[c]:
            p = ptr[q]
            if p >= len(queues[q]) or (overflow and not self._over_target(q, ptr, tau)):
                continue
            i = queues[q][p]
            key = (-(score0[i] + grow) * weight, tie[i])
            if best_key is None or key < best_key:
                best, best_key = i, key
        return best if best >= 0 else None

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
        queue_of: dict[int, int] = {}
        for q, queue in enumerate(self.queues):
            for i in queue:
                queue_of[i] = q
        arriving = bool(self.arrival_hours) or bool(self.bookings)
        if arriving:
            self._queues = [list(q) for q in self.queues]
            self._svc, self._arrived = list(self.svc), list(self.arrived_ts)
            self._score0, self._tie = list(self.score0), list(self.tie)
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
        s0, ties = self._score0, self._tie

        def rank(j: int) -> tuple[float, tuple[float, int]]:
            return (-s0[j], ties[j])

        while remaining:
            walk_in = nxt is not None and (booked >= len(bookings) or nxt[0] < bookings[booked][0])
            coming = nxt if walk_in else bookings[booked] if booked < len(bookings) else None
            if coming is not None and (not events or coming[0] < events[0][0]):
                tau, (code, cls, tier, head) = coming
                q = self.qpos[code]
                i = len(self._svc)
                taken.append(False)
                self._svc.append(code)
                self._arrived.append(self.now_ts + tau * 60.0)
                self._score0.append(head - self.rate * tau)
                self._classes[i] = (cls, tier)
                self._tie.append((self.now_ts + tau * 60.0, branch.next_ticket_id + i))
                bisect.insort(self._queues[q], i, lo=ptr[q], key=rank)
                queue_of[i] = q
                for c in [c for c in idle if q in self.serves[c]]:
                    idle.discard(c)
                    heapq.heappush(events, (tau, c))
                if table is not None:
                    # A booking's deviate is keyed by its slot: the same every time.
                    deviates.append(nxt_z if walk_in else table[self.booking_keys[booked]])
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
                if pick in ghosts:
                    continue  # a newcomer probe takes no time: the counter calls again
                mu, sigma = params[self._svc[pick]]
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
