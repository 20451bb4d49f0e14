"""Who is called next: the calling-policy interface, eligibility rules and the default policy.

A policy is a pure function of the counter, the waiting tickets and the time. The rules
every policy shares — skills, overflow, transfers to one counter, appointment slots — live
here once, so policies differ only in how they rank eligible customers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from .model import Counter, PriorityClass, Service, Ticket


def effective_priority(ticket: Ticket, now: datetime, grace: timedelta) -> PriorityClass:
    """An appointment counts only from its slot until the grace runs out for a late arrival."""
    if ticket.priority is not PriorityClass.APPOINTMENT or ticket.appointment_slot is None:
        return ticket.priority
    slot = ticket.appointment_slot
    if now < slot:
        return PriorityClass.REGULAR  # early: waits as regular until the slot
    if ticket.arrived_at > slot + grace:
        return PriorityClass.REGULAR  # late beyond the grace: the boost is lost
    return PriorityClass.APPOINTMENT


def waited_s(ticket: Ticket, now: datetime, grace: timedelta) -> float:
    """Seconds waited; an honoured appointment counts from the later of arrival and slot."""
    start = ticket.arrived_at
    if (
        effective_priority(ticket, now, grace) is PriorityClass.APPOINTMENT
        and ticket.appointment_slot is not None
    ):
        start = max(start, ticket.appointment_slot)
    return max(0.0, (now - start).total_seconds())


def over_target(
    service: str,
    waiting: Iterable[Ticket],
    now: datetime,
    services: Mapping[str, Service],
) -> bool:
    """True when someone in this business's queue has waited past its target."""
    target = services[service].target_wait_s if service in services else 600
    return any(
        t.service == service and (now - t.arrived_at).total_seconds() > target for t in waiting
    )


def eligible(
    counter: Counter,
    waiting: Sequence[Ticket],
    now: datetime,
    services: Mapping[str, Service],
) -> list[tuple[Ticket, float]]:
    """The tickets this counter may call now, each with the counter's weight for it."""
    late: dict[str, bool] = {}
    skills = {s.service: s for s in counter.skills}
    out: list[tuple[Ticket, float]] = []
    for ticket in waiting:
        if ticket.target_counter is not None:
            if ticket.target_counter == counter.number:
                out.append((ticket, 1.0))
            continue
        skill = skills.get(ticket.service)
        if skill is None:
            continue
        if skill.overflow:
            if ticket.service not in late:
                late[ticket.service] = over_target(ticket.service, waiting, now, services)
            if not late[ticket.service]:
                continue
        out.append((ticket, skill.weight))
    return out


class CallingPolicy(Protocol):
    """Chooses the next customer for a counter. Must be pure and deterministic."""

    @property
    def name(self) -> str: ...

    def choose_next(
        self,
        counter: Counter,
        waiting: Sequence[Ticket],
        now: datetime,
        services: Mapping[str, Service],
    ) -> Ticket | None: ...

    def queue_order(
        self, waiting: Sequence[Ticket], now: datetime, services: Mapping[str, Service]
    ) -> list[Ticket]:
        """The order this policy would serve one business's queue (for positions)."""
        ...


def _default_rates() -> dict[PriorityClass, float]:
    # Equal rates: a class's head start is then a bounded number of minutes by which it may
    # overtake, however busy the branch. Faster rates for priority classes would let a
    # stream of them shut regular customers out whenever they alone fill the counters.
    return {cls: 1.0 for cls in PriorityClass}


def _default_head_starts() -> dict[PriorityClass, float]:
    return {
        PriorityClass.REGULAR: 0.0,
        PriorityClass.CARE: 6.0,
        PriorityClass.VIP: 6.0,
        PriorityClass.APPOINTMENT: 20.0,
    }


@dataclass(frozen=True)
class AccumulatingPriority:
    """Accumulating (aged) priority: score = (head start + rate × minutes waited) × skill weight.

    Every class accrues priority while it waits. With the default equal rates a priority
    customer ranks as if they had arrived `head start` minutes earlier, so nobody can be
    overtaken by anyone who arrived more than the largest head start after them: no class
    can starve, however busy the branch. A counter's skill weight makes its first business
    win against secondary ones without shutting them out (they wait at most 1/weight as long).
    """

    rates: Mapping[PriorityClass, float] = field(default_factory=_default_rates)
    head_starts: Mapping[PriorityClass, float] = field(default_factory=_default_head_starts)
    vip_tier_bonus: float = 2.0  # extra head start per VIP tier above 1
    appointment_grace: timedelta = timedelta(minutes=10)
    name: str = "accumulating"

    def scorer(self, now: datetime) -> Callable[[Ticket], float]:
        """`score` at a fixed time, fast: the policy ranks hundreds of tickets per call."""
        now_ts = now.timestamp()
        heads = {cls: self.head_starts.get(cls, 0.0) for cls in PriorityClass}
        rates = {cls: self.rates.get(cls, 1.0) for cls in PriorityClass}
        appointment, vip, bonus = PriorityClass.APPOINTMENT, PriorityClass.VIP, self.vip_tier_bonus

        def fast(ticket: Ticket) -> float:
            cls = ticket.priority
            if cls is appointment:
                return self.score(ticket, now)  # time-dependent class: the full rules
            minutes = (now_ts - ticket.arrived_at.timestamp()) / 60.0
            head = heads[cls]
            if cls is vip and ticket.vip_tier > 1:
                head += bonus * (ticket.vip_tier - 1)
            return head + rates[cls] * (minutes if minutes > 0 else 0.0)

        return fast

    def score(self, ticket: Ticket, now: datetime) -> float:
        cls = effective_priority(ticket, now, self.appointment_grace)
        minutes = waited_s(ticket, now, self.appointment_grace) / 60.0
        head = self.head_starts.get(cls, 0.0)
        if cls is PriorityClass.VIP and ticket.vip_tier > 1:
            head += self.vip_tier_bonus * (ticket.vip_tier - 1)
        score = head + self.rates.get(cls, 1.0) * minutes
        if cls is PriorityClass.APPOINTMENT:
            # An early arrival's wait restarts at the slot; it must never rank lower than it
            # did a moment before, as a regular customer.
            as_regular = max(0.0, (now - ticket.arrived_at).total_seconds()) / 60.0
            score = max(score, self.rates.get(PriorityClass.REGULAR, 1.0) * as_regular)
        return score

    def choose_next(
        self,
        counter: Counter,
        waiting: Sequence[Ticket],
        now: datetime,
        services: Mapping[str, Service],
    ) -> Ticket | None:
        score = self.scorer(now)
        best: Ticket | None = None
        best_key: tuple[float, datetime, int] | None = None
        for ticket, weight in eligible(counter, waiting, now, services):
            # Higher score first; then earlier arrival; then lower id — fully deterministic.
            key = (-score(ticket) * weight, ticket.arrived_at, ticket.id)
            if best_key is None or key < best_key:
                best, best_key = ticket, key
        return best

    def queue_order(
        self, waiting: Sequence[Ticket], now: datetime, services: Mapping[str, Service]
    ) -> list[Ticket]:
        score = self.scorer(now)
        return sorted(waiting, key=lambda t: (-score(t), t.arrived_at, t.id))


def next_customers(
    policy: CallingPolicy,
    counter: Counter,
    waiting: Sequence[Ticket],
    now: datetime,
    services: Mapping[str, Service],
    limit: int,
) -> list[Ticket]:
    """The customers `counter` would get, in order, if it called `limit` times right now.

    Asks the policy's own `choose_next` again on what each call would leave, so the preview
    is call-next by construction, for any policy: an overflow queue drops out as soon as the
    calls before would bring it back on target, exactly as it would at the counter.
    """
    left = list(waiting)
    upcoming: list[Ticket] = []
    while len(upcoming) < limit:
        chosen = policy.choose_next(counter, left, now, services)
        if chosen is None:
            break
        upcoming.append(chosen)
        left = [t for t in left if t.id != chosen.id]
    return upcoming
