"""Lookahead (rollout) calling: try the few best candidates an hour forward, call the best.

At a call the counter's candidates are the base policy's first choices plus the best of every
other (business, class) the counter may call, so a different kind of customer is weighed
too. Each candidate is called now in `samples` simulated futures of the next `horizon_min`
minutes: the open windows finish their customers, the forecast's customers arrive
(walk-ins by business and class, the booked appointments at their slots), and from then on
every free window calls by the base policy. The candidate with the fewest expected target
misses, weighted by class, is called; ties go to the least waiting, then to the base policy.

Common random numbers: every candidate meets the same futures — the same service time for
each customer, the same arrivals, the same remaining service at each busy window — so the
difference between two candidates is the candidate's doing, not sampling noise, and a
handful of futures tells them apart. The seed is a stable hash of the state (time, counter,
waiting and served tickets), so the same state always gets the same answer.

The forward run is not the Branch aggregate (see eta's module doc for why that is too slow
per decision): each business's queue is kept in the base policy's own order (`fixed_key`,
exact for the shipped policies' default settings, which do not reorder a business's queue
as time passes), and a free window calls the best head among the queues it serves. Left out
there, on purpose: skill weights (every skill counts as primary), an early appointment's
jump at its slot (it ranks as the regular customer it is until then), and abandonment.
The decision itself is exact: only tickets `eligible` at this counter are ever candidates.

No starvation: when the base policy's own choice has waited more than `guard` × their target
it is called without lookahead. Every customer the rollout passes over keeps ageing in the
base policy's order, and a base policy without starvation (SLA-aware, accumulating) then
reaches them in bounded time; a miss counted once cannot hide a customer for ever.

Staying idle briefly for a forecast arrival is not a candidate: the reservation policy owns
that decision.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import Protocol

from queue_server.domain.model import Counter, CounterState, PriorityClass, Service, Ticket
from queue_server.domain.policies.hall import Hall
from queue_server.domain.policies.rules import (
    CallingPolicy,
    FixedRanking,
    RankKey,
    class_target_min,
    effective_priority,
    eligible,
    next_customers,
    waited_s,
)

APPOINTMENT = PriorityClass.APPOINTMENT
_STD_NORMAL = NormalDist()
_FIRST = -math.inf  # an honoured appointment's rank: before everyone, as in every policy
_FAR = 1e9  # ids of simulated arrivals start here, after every real ticket


def _default_weights() -> dict[PriorityClass, float]:
    # A priority class is a few percent of the customers: one of its misses moves the
    # class's share (and its p95) far more than a regular customer's does.
    return {
        PriorityClass.REGULAR: 1.0,
        PriorityClass.CARE: 2.0,
        PriorityClass.VIP: 3.0,
        APPOINTMENT: 3.0,
    }


def _default_targets() -> dict[PriorityClass, float]:
    return {PriorityClass.VIP: 5.0, PriorityClass.CARE: 5.0, APPOINTMENT: 5.0}


class _Ranked(CallingPolicy, FixedRanking, Protocol):
    """A base policy the rollout can replay: a fixed order within each business."""


@dataclass(frozen=True)
class Rollout:
    """The lookahead policy (see the module's doc); `base` is any policy with `fixed_key`
    (`policy_by_name("rollout")` gives it the SLA-aware one)."""

    base: _Ranked
    top: int = 2  # the base policy's first choices always tried
    candidates: int = 4  # at most this many, with the other (business, class) heads
    samples: int = 8  # simulated futures per candidate (the same for all of them)
    horizon_min: float = 60.0
    class_weights: Mapping[PriorityClass, float] = field(default_factory=_default_weights)
    class_targets: Mapping[PriorityClass, float] = field(default_factory=_default_targets)
    guard: float = 2.0
    service_cv: float = 0.8
    # Weighted minutes past target inside the horizon, in misses per minute: a customer
    # already past their target still costs something for every further minute, so the
    # lookahead cannot push one miss ever further back (the class's p95 tail).
    lateness_weight: float = 0.0
    # An honoured appointment (from its slot, within the grace) is called as the base
    # calls it, without lookahead: every policy promises them that.
    appointments_first: bool = False
    early_appointments: bool = False
    # What calls when the lookahead cannot answer in time (the server's timeout): a policy
    # that starves nobody, as the lookahead itself does not; None: the base.
    fallback: CallingPolicy | None = None
    name: str = "rollout"

    @property
    def appointment_grace(self) -> timedelta:
        grace = getattr(self.base, "appointment_grace", None)
        return grace if isinstance(grace, timedelta) else timedelta(minutes=10)

    # ------------------------------------------------------------ the policy
    def choose_next(
        self,
        counter: Counter,
        waiting: Sequence[Ticket],
        now: datetime,
        services: Mapping[str, Service],
    ) -> Ticket | None:
        """Without the hall: the lookahead with this window alone and no forecast."""
        hall = Hall(now, {counter.number: counter}, {}, services)
        return self.choose_in_hall(hall, counter, waiting)

    def queue_order(
        self, waiting: Sequence[Ticket], now: datetime, services: Mapping[str, Service]
    ) -> list[Ticket]:
        return self.base.queue_order(waiting, now, services)

    def fixed_key(self, ticket: Ticket, services: Mapping[str, Service]) -> RankKey | None:
        # Positions follow the base order: the lookahead only reorders the next call.
        return self.base.fixed_key(ticket, services)

    def rank_key(
        self, now: datetime, services: Mapping[str, Service]
    ) -> Callable[[Ticket], tuple[RankKey, datetime, int]]:
        return self.base.rank_key(now, services)

    def choose_in_hall(
        self, hall: Hall, counter: Counter, waiting: Sequence[Ticket]
    ) -> Ticket | None:
        now, services = hall.now, hall.services
        first = self.base.choose_next(counter, waiting, now, services)
        if first is None or self.overdue(first, now, services):
            return first
        if self.appointments_first and (
            effective_priority(first, now, self.appointment_grace) is APPOINTMENT
        ):
            return first
        candidates = self.candidates_for(counter, waiting, first, now, services)
        if len(candidates) == 1:
            return first
        try:
            world = _World(self, hall, counter, waiting)
        except _NotReplayable:
            return first
        scores = world.evaluate(candidates)
        best = min(range(len(candidates)), key=lambda i: (*scores[i], i))
        return candidates[best]

    # --------------------------------------------------------------- pieces
    def target_min(
        self, ticket: Ticket, cls: PriorityClass, services: Mapping[str, Service]
    ) -> float:
        return class_target_min(ticket, cls, self.class_targets, services)

    def kind_class(self, ticket: Ticket, now: datetime) -> PriorityClass:
        """The class a customer is weighed as: with `early_appointments`, a booked customer
        who came before their slot is an appointment already (their wait counts from the
        slot, and calling them early costs them nothing); else the class they rank as now."""
        if (
            self.early_appointments
            and ticket.priority is APPOINTMENT
            and ticket.appointment_slot is not None
            and now < ticket.appointment_slot
        ):
            return APPOINTMENT
        return effective_priority(ticket, now, self.appointment_grace)

    def overdue(self, ticket: Ticket, now: datetime, services: Mapping[str, Service]) -> bool:
        """Past `guard` × their target: the base policy's choice is then called as it is."""
        grace = self.appointment_grace
        cls = effective_priority(ticket, now, grace)
        waited = waited_s(ticket, now, grace) / 60.0
        return waited > self.guard * self.target_min(ticket, cls, services)

    def candidates_for(
        self,
        counter: Counter,
        waiting: Sequence[Ticket],
        first: Ticket,
        now: datetime,
        services: Mapping[str, Service],
    ) -> list[Ticket]:
        """The base policy's first `top` choices, then the best of each other (business,
        class) the counter may call, in the base order, up to `candidates` in all."""
        base = self.base
        chosen = [first]
        if self.top > 1:
            # Only customers of another kind than the first choice: two alike (same business
            # and class) are called in arrival order, never swapped on a simulated future's
            # noise — a teller and the hall would see A002 called before A001.
            kind = (first.service, self.kind_class(first, now))
            rest = [t for t in waiting if (t.service, self.kind_class(t, now)) != kind]
            chosen += next_customers(base, counter, rest, now, services, self.top - 1)
        kinds: dict[tuple[str, PriorityClass], list[Ticket]] = {}
        for ticket, _weight in eligible(counter, waiting, now, services):
            kinds.setdefault((ticket.service, self.kind_class(ticket, now)), []).append(ticket)
        seen = {(t.service, self.kind_class(t, now)) for t in chosen}
        heads: list[Ticket] = []
        for kind, group in kinds.items():
            if kind in seen:
                continue
            # The group alone is a subset of the queue: what is eligible in it is eligible.
            head = base.choose_next(counter, group, now, services)
            if head is not None:
                heads.append(head)
        room = self.candidates - len(chosen)
        if room > 0 and heads:
            chosen += next_customers(base, counter, heads, now, services, room)
        return chosen


class _NotReplayable(Exception):
    """The base policy has no fixed order within a business: the rollout defers to it."""


@dataclass(slots=True)
class _Future:
    """One simulated future, shared by every candidate (common random numbers)."""

    z: list[float]  # a standard normal per customer (its service time), arrivals included
    busy_left: list[float]  # per window: minutes left of the service in progress (0: idle)
    # (minutes from now, customer index, their key from then) in order of arrival; an early
    # appointment arrives again at their slot, ranked as honoured from then on
    arrivals: list[tuple[float, int, tuple[RankKey, float, float]]]
    static_misses: float  # weight of everyone whose target passes inside the horizon
    static_late: float  # their weighted minutes past target by the horizon if never called
    n: int  # customers in all (waiting + arrivals)


class _World:
    """The live state as arrays, and the forward run (see the module's doc)."""

    def __init__(
        self, policy: Rollout, hall: Hall, counter: Counter, waiting: Sequence[Ticket]
    ) -> None:
        self.policy = policy
        now, services = hall.now, hall.services
        self.now, self.services = now, services
        self.horizon = policy.horizon_min
        grace = policy.appointment_grace
        base = policy.base
        # Windows: the open ones in the hall, and this one whatever the hall says.
        windows = {n: c for n, c in hall.counters.items() if c.state is CounterState.OPEN}
        windows[counter.number] = counter
        self.numbers = sorted(windows)
        self.me = self.numbers.index(counter.number)
        codes = sorted(services)
        self.qpos: dict[str, int] = {c: i for i, c in enumerate(codes)}
        for n in self.numbers:
            self.qpos[f"@{n}"] = len(self.qpos)  # transfers to one named window
        self.queue_target = [
            services[c].target_wait_s / 60.0 if c in services else math.inf for c in self.qpos
        ]
        self.serves: list[list[tuple[int, bool]]] = []
        for n in self.numbers:
            own = [(self.qpos[f"@{n}"], False)]
            own += [
                (self.qpos[s.service], s.overflow)
                for s in windows[n].skills
                if s.service in self.qpos
            ]
            self.serves.append(own)
        # Customers: per index its queue, key, start (minutes from now, negative = waited),
        # deadline (minutes from now its target passes), weight, service (mu, sigma).
        self.params = {c: self._lognormal(s.mean_service_s) for c, s in services.items()}
        self.queue: list[int] = []
        self.key: list[tuple[RankKey, float, float]] = []
        self.start: list[float] = []
        self.deadline: list[float] = []
        self.weight: list[float] = []
        self.mu: list[float] = []
        self.sigma: list[float] = []
        self.index: dict[int, int] = {}
        self.jumps: list[tuple[float, int, tuple[RankKey, float, float]]] = []
        now_ts = now.timestamp()
        for t in sorted(waiting, key=lambda t: t.id):  # draws follow ids, not list order
            cls = effective_priority(t, now, grace)
            if cls is APPOINTMENT and t.appointment_slot is not None:
                key: RankKey = (_FIRST, t.appointment_slot.timestamp())
            else:
                plain = (
                    t
                    if t.priority is not APPOINTMENT
                    else replace(t, priority=PriorityClass.REGULAR)
                )
                found = base.fixed_key(plain, services)
                if found is None:
                    raise _NotReplayable
                key = found
            if t.target_counter is not None:
                q = self.qpos.get(f"@{t.target_counter}")  # None: that window is not open
            else:
                q = self.qpos.get(t.service)
            if q is None:
                continue  # nobody in the hall can call them within the lookahead
            self.index[t.id] = len(self.queue)
            waited = waited_s(t, now, grace) / 60.0
            deadline = policy.target_min(t, cls, services) - waited
            booked = policy.kind_class(t, now)
            ahead = 0.0
            if booked is not cls and t.appointment_slot is not None:
                # Early for their slot: their target runs from the slot, where they jump.
                ahead = (t.appointment_slot - now).total_seconds() / 60.0
                cls, deadline = booked, ahead + policy.target_min(t, booked, services)
                slot_ts = t.appointment_slot.timestamp()
                jump = ((_FIRST, slot_ts), t.arrived_at.timestamp(), float(t.id))
                self.jumps.append((ahead, len(self.queue), jump))
            self._add(
                q,
                (key, t.arrived_at.timestamp(), float(t.id)),
                -waited,
                deadline,
                policy.class_weights.get(cls, 1.0),
                t.service,
            )
        self.existing = len(self.queue)
        self.sorted_queues: list[list[int]] = [[] for _ in self.qpos]
        for i in sorted(range(self.existing), key=self.key.__getitem__):
            self.sorted_queues[self.queue[i]].append(i)
        # Busy windows: the lognormal of their service beyond what has passed.
        # Per window (mu, sigma, share of the distribution already behind, seconds elapsed).
        self.busy: list[tuple[float, float, float, float] | None] = []
        for n in self.numbers:
            serving = hall.serving.get(n)
            if serving is None or n == counter.number:
                self.busy.append(None)
                continue
            mu, sigma = self.params.get(serving.service, self._lognormal(300))
            began = serving.serving_at or serving.called_at or now
            elapsed = max((now - began).total_seconds(), 1.0)
            done = _STD_NORMAL.cdf((math.log(elapsed) - mu) / sigma) if sigma > 0 else 0.0
            self.busy.append((mu, sigma, min(done, 1 - 1e-9), elapsed))
        self._setup_forecast(hall, now_ts)
        # Only the queues anyone can be in: a window looks at fewer heads at each call.
        live = {*self.queue, *(kind[0] for kind in self.kinds), *(b[1] for b in self.bookings)}
        self.serves = [[(q, o) for q, o in own if q in live] for own in self.serves]
        self.servers: list[list[int]] = [[] for _ in self.qpos]
        for c, own in enumerate(self.serves):
            for q, _overflow in own:
                self.servers[q].append(c)
        self.seed = self._seed(hall, counter, waiting)

    # ------------------------------------------------------------------ setup
    def _lognormal(self, mean_s: float) -> tuple[float, float]:
        sigma2 = math.log1p(self.policy.service_cv**2)
        return math.log(max(mean_s, 1.0)) - sigma2 / 2, math.sqrt(sigma2)

    def _add(
        self,
        q: int,
        key: tuple[RankKey, float, float],
        start: float,
        deadline: float,
        weight: float,
        service: str,
    ) -> int:
        i = len(self.queue)
        self.queue.append(q)
        self.key.append(key)
        self.start.append(start)
        self.deadline.append(deadline)
        self.weight.append(weight)
        mu, sigma = self.params.get(service, (0.0, 0.0))
        self.mu.append(mu)
        self.sigma.append(sigma)
        return i

    def _setup_forecast(self, hall: Hall, now_ts: float) -> None:
        """Who may arrive: (rate per minute, business, class) with the key of a customer of
        that kind arriving now and how the key moves per minute of later arrival."""
        policy, services, base = self.policy, hall.services, self.policy.base
        self.kinds: list[tuple[int, tuple[RankKey, float], float, float, str]] = []
        self.rates: list[float] = []
        day = self.now.date()
        later = self.now + timedelta(minutes=1)
        for (code, cls), rate in sorted(hall.forecast.per_min.items(), key=str):
            q = self.qpos.get(code)
            if rate <= 0 or q is None or cls is APPOINTMENT:
                continue
            tier = 1 if cls is PriorityClass.VIP else 0
            proto = Ticket(0, "", code, day, self.now, self.now, cls, tier)
            k0 = base.fixed_key(proto, services)
            k1 = base.fixed_key(replace(proto, arrived_at=later, issued_at=later), services)
            if k0 is None or k1 is None or k0[:-1] != k1[:-1]:
                raise _NotReplayable
            target = policy.target_min(proto, cls, services)
            self.kinds.append(
                (q, (k0, k1[-1] - k0[-1]), target, policy.class_weights.get(cls, 1.0), code)
            )
            self.rates.append(rate)
        self.bookings: list[tuple[float, int, float, str]] = []
        for code, slot in hall.forecast.bookings:
            tau = (slot - self.now).total_seconds() / 60.0
            q = self.qpos.get(code)
            if q is not None and 0.0 <= tau < self.horizon:
                self.bookings.append((tau, q, slot.timestamp(), code))
        self.bookings.sort()

    def _seed(self, hall: Hall, counter: Counter, waiting: Sequence[Ticket]) -> int:
        text = "|".join(
            [
                f"{hall.now.timestamp():.3f}",
                str(counter.number),
                ",".join(str(t.id) for t in sorted(waiting, key=lambda t: t.id)),
                ",".join(f"{n}:{t.id}" for n, t in sorted(hall.serving.items())),
            ]
        )
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")

    # ----------------------------------------------------------------- futures
    def future(self, k: int) -> _Future:
        """Future number `k`: arrivals, service draws and busy windows' remaining times."""
        rng = random.Random(self.seed + k)
        H = self.horizon
        now_ts = self.now.timestamp()
        # Truncate the lists back to the live customers: arrivals differ per future.
        n0 = self.existing
        for name in ("queue", "key", "start", "deadline", "weight", "mu", "sigma"):
            del getattr(self, name)[n0:]
        arrivals: list[tuple[float, int, tuple[RankKey, float, float]]] = []
        total = sum(self.rates)
        if total > 0:
            cum = []
            acc = 0.0
            for r in self.rates:
                acc += r
                cum.append(acc)
            t = rng.expovariate(total)
            while t < H:
                j = 0
                u = rng.random() * total
                while cum[j] < u:
                    j += 1
                q, (k0, slope), target, weight, code = self.kinds[j]
                key = (*k0[:-1], k0[-1] + slope * t)
                tie = (now_ts + t * 60.0, _FAR + len(arrivals))
                i = self._add(q, (key, *tie), t, t + target, weight, code)
                arrivals.append((t, i, self.key[i]))
                t += rng.expovariate(total)
        for tau, q, slot_ts, code in self.bookings:
            target = self.policy.class_targets.get(APPOINTMENT, 5.0)
            i = self._add(
                q,
                ((_FIRST, slot_ts), slot_ts, _FAR + len(arrivals) + 1),
                tau,
                tau + target,
                self.policy.class_weights.get(APPOINTMENT, 1.0),
                code,
            )
            arrivals.append((tau, i, self.key[i]))
        arrivals += [j for j in self.jumps if j[0] < H]
        arrivals.sort()
        n = len(self.queue)
        gauss = rng.gauss
        z = [gauss(0.0, 1.0) for _ in range(n)]
        busy_left = []
        for b in self.busy:
            if b is None:
                busy_left.append(0.0)
                continue
            mu, sigma, done, elapsed = b
            u = min(max(done + (1.0 - done) * rng.random(), 1e-12), 1 - 1e-12)
            busy_left.append(
                max(0.0, math.exp(mu + sigma * _STD_NORMAL.inv_cdf(u)) - elapsed) / 60.0
            )
        static = late = 0.0
        for d, w in zip(self.deadline, self.weight, strict=True):
            if d < H:
                static += w
                late += w * (H - max(d, 0.0))
        return _Future(z, busy_left, arrivals, static, late, n)

    def evaluate(self, candidates: Sequence[Ticket]) -> list[tuple[float, float]]:
        """Per candidate: (mean weighted misses, mean minutes waited inside the horizon)."""
        picks = [self.index[t.id] for t in candidates]
        misses = [0.0] * len(picks)
        waits = [0.0] * len(picks)
        for k in range(self.policy.samples):
            fut = self.future(k)
            for c, pick in enumerate(picks):
                m, w = self.run(fut, pick)
                misses[c] += m
                waits[c] += w
        s = float(self.policy.samples)
        return [(m / s, w / s) for m, w in zip(misses, waits, strict=True)]

    def run(self, fut: _Future, pick: int) -> tuple[float, float]:  # noqa: C901 the hot loop, kept flat for speed
        """One future with `pick` called now at this window: (weighted misses, waiting)."""
        H = self.horizon
        queue, key, start, deadline, weight = (
            self.queue,
            self.key,
            self.start,
            self.deadline,
            self.weight,
        )
        mu, sigma, z = self.mu, self.sigma, fut.z
        serves, servers, qtarget = self.serves, self.servers, self.queue_target
        lists = self.sorted_queues
        ptr = [0] * len(lists)
        heaps: list[list[tuple[tuple[RankKey, float, float], int]]] = [[] for _ in lists]
        taken = bytearray(fut.n)
        misses = fut.static_misses
        late = fut.static_late
        saved = 0.0  # minutes of waiting inside the horizon that calls ended

        def call(i: int, t: float) -> float:
            nonlocal misses, saved, late
            taken[i] = 1
            d = deadline[i]
            if d < H:
                if t <= d:
                    misses -= weight[i]
                late -= weight[i] * (H - max(t, d, 0.0))
            saved += H - t
            return t + math.exp(mu[i] + sigma[i] * z[i]) / 60.0

        events: list[tuple[float, int]] = []
        for c, left in enumerate(fut.busy_left):
            if c == self.me:
                events.append((call(pick, 0.0), c))
            else:
                events.append((left, c))
        heapq.heapify(events)
        idle: set[int] = set()
        arrivals, a = fut.arrivals, 0
        na = len(arrivals)
        while True:
            t_arr = arrivals[a][0] if a < na else math.inf
            t_ev = events[0][0] if events else math.inf
            if t_arr >= H and t_ev >= H:
                break
            if t_arr <= t_ev:
                _, i, k = arrivals[a]
                a += 1
                if taken[i]:
                    continue  # an early appointment already called before their slot
                q = queue[i]
                heapq.heappush(heaps[q], (k, i))
                for c in servers[q]:
                    if c in idle:
                        idle.discard(c)
                        heapq.heappush(events, (t_arr, c))
                continue
            t, c = heapq.heappop(events)
            best = -1
            best_key = None
            for q, overflow in serves[c]:
                lst, p = lists[q], ptr[q]
                while p < len(lst) and taken[lst[p]]:
                    p += 1
                ptr[q] = p
                heap = heaps[q]
                while heap and taken[heap[0][1]]:
                    heapq.heappop(heap)  # called before their slot from the plain order
                head = lst[p] if p < len(lst) else -1
                head_key = key[head] if head >= 0 else None
                if heap and (head_key is None or heap[0][0] < head_key):
                    head_key, head = heap[0]
                if head_key is None:
                    continue
                if overflow and t - start[head] <= qtarget[q]:
                    continue
                if best_key is None or head_key < best_key:
                    best, best_key = head, head_key
            if best < 0:
                idle.add(c)
                continue
            q = queue[best]
            if heaps[q] and heaps[q][0][1] == best:
                heapq.heappop(heaps[q])
            heapq.heappush(events, (call(best, t), c))
        return misses + self.policy.lateness_weight * late, -saved


@dataclass(frozen=True)
class Advised:
    """One call decided elsewhere (the rollout, in the predictor process): the advised ticket
    if this counter may still call it now, else what `fallback` calls. Used for that call only,
    so the call is a normal policy call, with its events and idempotency key."""

    ticket_id: int | None
    fallback: CallingPolicy

    @property
    def name(self) -> str:
        return self.fallback.name

    def choose_next(
        self,
        counter: Counter,
        waiting: Sequence[Ticket],
        now: datetime,
        services: Mapping[str, Service],
    ) -> Ticket | None:
        if self.ticket_id is not None:
            for ticket, _weight in eligible(counter, waiting, now, services):
                if ticket.id == self.ticket_id:
                    return ticket
        return self.fallback.choose_next(counter, waiting, now, services)

    def queue_order(
        self, waiting: Sequence[Ticket], now: datetime, services: Mapping[str, Service]
    ) -> list[Ticket]:
        return self.fallback.queue_order(waiting, now, services)
