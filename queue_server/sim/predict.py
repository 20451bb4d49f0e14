"""Wait prediction: re-simulate the live queue forward with the production calling policy.

`predict_waits` takes the branch as it is now (waiting tickets, counters mid-service), draws
service times from a `ServiceModel` (lognormal per business and hour, fitted to the event
log and shrunk towards the configured mean when history is short) and replays the rest of the
queue a few times; each waiting ticket gets the median and p10–p90 of its wait until called,
and a hypothetical new customer of every business gets the same (the kiosk's ETA).

No new arrivals are simulated: a later customer can overtake only by priority (VIP, care,
appointment head starts), which this leaves out, so it slightly under-predicts for regulars
at busy times. Newcomers are "ghost" tickets with no service time: they see the queue as a
new ticket would without delaying anyone.

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

import heapq
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import NormalDist
from zoneinfo import ZoneInfo

from ..domain import (
    AccumulatingPriority,
    Branch,
    Counter,
    CounterState,
    PriorityClass,
    Service,
    Ticket,
    TicketState,
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

        Each business's fit is shrunk towards its configured mean with CV `prior_cv`, and each
        hour's towards its business's fit, both by sample count: a handful of services moves
        the estimate a little, hundreds replace the prior.
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
        for (code, hour), logs in by_hour.items():
            base = fits[(code, None)]
            fits[(code, hour)] = base.shrunk_towards(base, logs, prior_weight)
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
        done = _STD_NORMAL.cdf((math.log(elapsed_s) - p.mu) / p.sigma)
        u = done + (1.0 - done) * rng.random()
        u = min(max(u, 1e-12), 1 - 1e-12)
        return max(0.0, math.exp(p.mu + p.sigma * _STD_NORMAL.inv_cdf(u)) - elapsed_s)


# ---------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class WaitEstimate:
    """Seconds from now until called: median and the 80 % interval (p10–p90)."""

    median_s: float
    low_s: float
    high_s: float


@dataclass(frozen=True)
class Prediction:
    tickets: dict[int, WaitEstimate]  # ticket id -> remaining wait; absent: never called
    newcomers: dict[str, WaitEstimate]  # business -> a new regular customer's wait
    runs: int


def naive_wait_s(ahead: int, mean_service_s: float, open_counters: int) -> float | None:
    """The naive baseline: people ahead × mean service ÷ open counters (None: none open)."""
    if open_counters <= 0:
        return None
    return ahead * mean_service_s / open_counters


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


# ----------------------------------------------------------------- the forward run
class _Forward:
    """The live queue laid out for fast replays; indices stand for tickets throughout."""

    def __init__(self, branch: Branch, now: datetime, newcomers: bool) -> None:
        self.branch, self.now = branch, now
        policy = branch.policy
        services = branch.services
        self.tickets: list[Ticket] = list(branch.waiting)
        self.ghosts: dict[int, str] = {}  # ticket index -> business of a hypothetical newcomer
        if newcomers:
            next_id = branch.next_ticket_id
            day = branch.business_day(now)
            for code in sorted(services):
                if services[code].enabled:
                    self.ghosts[len(self.tickets)] = code
                    self.tickets.append(
                        Ticket(next_id, "", code, day, now, now, state=TicketState.WAITING)
                    )
                    next_id += 1
        self.index = {id(t): i for i, t in enumerate(self.tickets)}
        by_service: dict[str, list[Ticket]] = {}
        self.targeted: dict[int, list[int]] = {}
        self.floating: list[int] = []  # appointments: their rank changes at the slot
        for i, t in enumerate(self.tickets):
            if t.target_counter is not None:
                self.targeted.setdefault(t.target_counter, []).append(i)
            elif t.priority is PriorityClass.APPOINTMENT:
                self.floating.append(i)
            else:
                by_service.setdefault(t.service, []).append(t)
        self.queue_codes = sorted(by_service)
        self.queues = [
            [self.index[id(t)] for t in policy.queue_order(by_service[c], now, services)]
            for c in self.queue_codes
        ]
        qpos = {c: q for q, c in enumerate(self.queue_codes)}
        self.counters: list[Counter] = [
            c for _, c in sorted(branch.counters.items()) if c.state is CounterState.OPEN
        ]
        # Per open counter: (queue, weight, overflow) for each of its businesses with a queue.
        self.skills = [
            [(qpos[s.service], s.weight, s.overflow) for s in c.skills if s.service in qpos]
            for c in self.counters
        ]
        self.fast = (
            isinstance(policy, AccumulatingPriority)
            and len({policy.rates.get(cls, 1.0) for cls in PriorityClass}) == 1
        )
        if self.fast:
            assert isinstance(policy, AccumulatingPriority)
            score = policy.scorer(now)
            self.rate = policy.rates.get(PriorityClass.REGULAR, 1.0)
            self.score0 = [score(t) for t in self.tickets]
            self.tie = [(t.arrived_at, t.id) for t in self.tickets]

    # ------------------------------------------------------------------ choosing
    def _heads(self, c: int, ptr: list[int], taken: Sequence[bool], tau: float) -> list[int]:
        """The indices the counter may call: its queues' heads, transfers to it, appointments."""
        out: list[int] = []
        queues = self.queues
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
        queue = self.queues[q]
        now_ts = self.now.timestamp()
        oldest = min(self.tickets[i].arrived_at.timestamp() for i in queue[ptr[q] :])
        return (now_ts - oldest) / 60.0 + tau > target_min

    def choose(self, c: int, ptr: list[int], taken: Sequence[bool], tau: float) -> int | None:
        """The index the production policy would give counter `c` at `tau` minutes from now."""
        number = self.counters[c].number
        extra = any(not taken[i] for i in self.targeted.get(number, ())) or any(
            not taken[i] for i in self.floating
        )
        if not self.fast or extra:
            heads = self._heads(c, ptr, taken, tau)
            if not heads:
                return None
            at = self.now + timedelta(minutes=tau)
            candidates = [self.tickets[i] for i in heads]
            policy, services = self.branch.policy, self.branch.services
            chosen = policy.choose_next(self.counters[c], candidates, at, services)
            return None if chosen is None else self.index[id(chosen)]
        # Accumulating, equal rates: score(now + tau) = score(now) + rate × tau for everyone.
        best, best_key = -1, None
        grow = self.rate * tau
        queues = self.queues
        for q, weight, overflow in self.skills[c]:
            p = ptr[q]
            if p >= len(queues[q]) or (overflow and not self._over_target(q, ptr, tau)):
                continue
            i = queues[q][p]
            key = (-(self.score0[i] + grow) * weight, self.tie[i])
            if best_key is None or key < best_key:
                best, best_key = i, key
        return best if best >= 0 else None

    # -------------------------------------------------------------------- replay
    def replay(self, model: ServiceModel, rng: random.Random, hour: int) -> list[float]:
        """One forward run: minutes from now until each ticket is called (inf: never)."""
        n = len(self.tickets)
        waits = [math.inf] * n
        taken = [False] * n
        ptr = [0] * len(self.queues)
        queue_of: dict[int, int] = {}
        for q, queue in enumerate(self.queues):
            for i in queue:
                queue_of[i] = q
        events: list[tuple[float, int]] = []
        branch, now = self.branch, self.now
        for c, counter in enumerate(self.counters):
            active = branch.active_ticket(counter.number)
            if active is None:
                events.append((0.0, c))
                continue
            started = active.serving_at or active.called_at or now
            elapsed = (now - started).total_seconds()
            left = model.draw_remaining_s(rng, active.service, hour, elapsed)
            events.append((left / 60.0, c + len(self.counters)))  # busy ones after idle ones
        heapq.heapify(events)
        ncount = len(self.counters)
        ghosts = self.ghosts
        while events:
            tau, slot = heapq.heappop(events)
            c = slot % ncount
            while True:
                pick = self.choose(c, ptr, taken, tau)
                if pick is None:
                    break
                taken[pick] = True
                waits[pick] = tau
                in_queue = queue_of.get(pick)
                if in_queue is not None:
                    ptr[in_queue] += 1
                if pick in ghosts:
                    continue  # a newcomer probe takes no time: the counter calls again
                service_min = model.draw_s(rng, self.tickets[pick].service, hour) / 60.0
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
) -> Prediction:
    """Median and p10–p90 wait until called for every waiting ticket and for newcomers."""
    forward = _Forward(branch, now, newcomers)
    hour = now.astimezone(ZoneInfo(branch.settings.timezone)).hour
    samples: list[list[float]] = [[] for _ in forward.tickets]
    for _ in range(max(1, runs)):
        for i, w in enumerate(forward.replay(service_model, rng, hour)):
            samples[i].append(w)
    tickets: dict[int, WaitEstimate] = {}
    found: dict[str, WaitEstimate] = {}
    for i, t in enumerate(forward.tickets):
        est = _estimate(samples[i])
        if est is None:
            continue
        if i in forward.ghosts:
            found[forward.ghosts[i]] = est
        else:
            tickets[t.id] = est
    return Prediction(tickets, found, max(1, runs))
