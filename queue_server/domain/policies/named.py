"""The named calling policies — FIFO, strict priority, accumulating, SLA-aware — and their registry.

Every policy ranks only what `eligible` lets a counter call (skills, overflow, transfers to one
counter), honours appointment slots through `effective_priority` / `waited_s`, and breaks ties
by arrival then ticket id, so a choice is always deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from queue_server.domain.model import PriorityClass, Service, Ticket
from queue_server.domain.policies.rollout import Rollout
from queue_server.domain.policies.rules import (
    CallingPolicy,
    RankedPolicy,
    RankKey,
    class_target_min,
    effective_priority,
    waited_s,
)
from queue_server.domain.policies.service_aware import GcMu, Reserving

DEFAULT_GRACE = timedelta(minutes=10)
APPOINTMENT = PriorityClass.APPOINTMENT


@dataclass(frozen=True)
class Fifo(RankedPolicy):
    """First come, first served among the customers this counter may call.

    An honoured appointment (from its slot, within the grace) goes first; everyone else in
    order of minutes waited × the counter's skill weight, so a secondary business waits up
    to 1/weight as long before it wins over the counter's first one.
    """

    appointment_grace: timedelta = DEFAULT_GRACE
    name: str = "fifo"

    def _key(
        self, now: datetime, services: Mapping[str, Service]
    ) -> Callable[[Ticket, float], RankKey]:
        grace = self.appointment_grace

        def key(ticket: Ticket, weight: float) -> RankKey:
            honoured = effective_priority(ticket, now, grace) is APPOINTMENT
            return (0.0 if honoured else 1.0, -waited_s(ticket, now, grace) * weight)

        return key

    def fixed_key(self, ticket: Ticket, services: Mapping[str, Service]) -> RankKey | None:
        # Minutes waited all grow at the same rate: arrival order is the order at any time.
        if ticket.priority is APPOINTMENT:
            return None
        return (1.0, ticket.arrived_at.timestamp())


def _default_class_order() -> tuple[PriorityClass, ...]:
    return (APPOINTMENT, PriorityClass.VIP, PriorityClass.CARE, PriorityClass.REGULAR)


@dataclass(frozen=True)
class StrictPriority(RankedPolicy):
    """Class order first (appointment, VIP by tier, care, regular), FIFO within a class.

    Within a class the skill weight scales minutes waited, as in `Fifo`. A lower class is
    called only when no higher one is eligible: it can starve under a stream of VIPs.
    """

    order: tuple[PriorityClass, ...] = field(default_factory=_default_class_order)
    appointment_grace: timedelta = DEFAULT_GRACE
    name: str = "strict"

    def _key(
        self, now: datetime, services: Mapping[str, Service]
    ) -> Callable[[Ticket, float], RankKey]:
        grace = self.appointment_grace
        rank = {cls: float(i) for i, cls in enumerate(self.order)}
        last = float(len(self.order))

        def key(ticket: Ticket, weight: float) -> RankKey:
            cls = effective_priority(ticket, now, grace)
            tier = -float(ticket.vip_tier) if cls is PriorityClass.VIP else 0.0
            return (rank.get(cls, last), tier, -waited_s(ticket, now, grace) * weight)

        return key

    def fixed_key(self, ticket: Ticket, services: Mapping[str, Service]) -> RankKey | None:
        cls = ticket.priority
        if cls is APPOINTMENT:
            return None
        rank = self.order.index(cls) if cls in self.order else len(self.order)
        tier = -float(ticket.vip_tier) if cls is PriorityClass.VIP else 0.0
        return (float(rank), tier, ticket.arrived_at.timestamp())


def _default_class_targets() -> dict[PriorityClass, float]:
    # Minutes; the regular class has none of its own: it takes its business's target.
    return {PriorityClass.VIP: 5.0, PriorityClass.CARE: 5.0, APPOINTMENT: 5.0}


@dataclass(frozen=True)
class SlaAware(RankedPolicy):
    """The eligible customer with the least time left before their target goes first.

    An honoured appointment (from its slot, within the grace) goes before everyone else, as
    in every policy; among the rest, and among appointments,
    slack = target − minutes waited (negative once past it: the furthest past goes first).
    A class's target comes from `class_targets` (minutes), else the business's own target.
    A counter stretches a secondary business's target by 1/weight. Slack falls at the same
    rate for everyone, so a customer can be overtaken only by people who arrived less than
    the difference of two targets after them: no class starves.
    """

    class_targets: Mapping[PriorityClass, float] = field(default_factory=_default_class_targets)
    appointment_grace: timedelta = DEFAULT_GRACE
    name: str = "sla"

    def target_min(
        self, ticket: Ticket, cls: PriorityClass, services: Mapping[str, Service]
    ) -> float:
        return class_target_min(ticket, cls, self.class_targets, services)

    def _key(
        self, now: datetime, services: Mapping[str, Service]
    ) -> Callable[[Ticket, float], RankKey]:
        grace = self.appointment_grace

        def key(ticket: Ticket, weight: float) -> RankKey:
            cls = effective_priority(ticket, now, grace)
            waited = waited_s(ticket, now, grace) / 60.0
            slack = self.target_min(ticket, cls, services) - waited
            stretch = self.target_min(ticket, cls, services) * (1.0 / weight - 1.0)
            return (0.0 if cls is APPOINTMENT else 1.0, slack + stretch)

        return key

    def fixed_key(self, ticket: Ticket, services: Mapping[str, Service]) -> RankKey | None:
        # slack = target − (now − arrival): the same `now` for everyone drops out.
        cls = ticket.priority
        if cls is APPOINTMENT:
            return None
        target_s = self.target_min(ticket, cls, services) * 60.0
        return (1.0, target_s + ticket.arrived_at.timestamp())


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
class AccumulatingPriority(RankedPolicy):
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

    def _key(
        self, now: datetime, services: Mapping[str, Service]
    ) -> Callable[[Ticket, float], RankKey]:
        score = self.scorer(now)
        # Higher score first (then earlier arrival, then lower id: RankedPolicy's ties).
        return lambda ticket, weight: (-score(ticket) * weight,)

    def fixed_key(self, ticket: Ticket, services: Mapping[str, Service]) -> RankKey | None:
        # With one rate for every class, score = head start + rate × (now − arrival): the
        # order is that of (rate × arrival − head start) at any time (here in seconds, so
        # whole-second arrivals tie exactly). Different rates make the order itself change
        # as time passes.
        cls = ticket.priority
        rate = self.rates.get(cls, 1.0)
        if cls is APPOINTMENT or any(self.rates.get(c, 1.0) != rate for c in PriorityClass):
            return None
        head = self.head_starts.get(cls, 0.0)
        if cls is PriorityClass.VIP and ticket.vip_tier > 1:
            head += self.vip_tier_bonus * (ticket.vip_tier - 1)
        return (rate * ticket.arrived_at.timestamp() - head * 60.0,)


POLICY_NAMES = ("fifo", "strict", "accumulating", "sla", "cmu", "reserve")
# Policies that simulate at every call: too slow for the default tournament (see `bench rollout`).
LOOKAHEAD_NAMES = ("rollout", "lookahead")
# What a branch runs when no policy is configured (see `default_policy`): the lookahead over
# strict priority, the only policy measured at or above both FIFO and strict priority on the
# standard and every variant day (30 days each), with no class starved by a flood.
DEFAULT_POLICY = "lookahead"


def policy_by_name(
    name: str,
    *,
    appointment_grace: timedelta = DEFAULT_GRACE,
    class_targets: Mapping[PriorityClass, float] | None = None,
    **params: Any,
) -> CallingPolicy:
    """A calling policy by its name; `class_targets` (minutes) tune the SLA-aware one.

    Extra keyword parameters go to the policy's constructor (e.g. `rates` and `head_starts`
    of the accumulating policy, `order` of strict priority). The rollout's `base` is a
    policy name (default "sla"), built with the same grace and targets.
    """
    if name == "fifo":
        return Fifo(appointment_grace=appointment_grace, **params)
    if name == "strict":
        return StrictPriority(appointment_grace=appointment_grace, **params)
    if name == "accumulating":
        return AccumulatingPriority(appointment_grace=appointment_grace, **params)
    targets = dict(_default_class_targets() if class_targets is None else class_targets)
    if name == "sla":
        return SlaAware(class_targets=targets, appointment_grace=appointment_grace, **params)
    if name == "cmu":
        return GcMu(class_targets=targets, appointment_grace=appointment_grace, **params)
    if name == "reserve":
        return Reserving(class_targets=targets, appointment_grace=appointment_grace, **params)
    if name == "rollout":
        base = policy_by_name(
            params.pop("base", "sla"),
            appointment_grace=appointment_grace,
            class_targets=class_targets,
        )
        return Rollout(base=base, class_targets=targets, **params)  # type: ignore[arg-type]
    if name == "lookahead":
        return lookahead_policy(appointment_grace, targets, **params)
    known = ", ".join((*POLICY_NAMES, *LOOKAHEAD_NAMES))
    raise ValueError(f"unknown calling policy {name!r}; choose from {known}")


def lookahead_policy(
    appointment_grace: timedelta = DEFAULT_GRACE,
    class_targets: Mapping[PriorityClass, float] | None = None,
    **params: Any,
) -> Rollout:
    """The rollout tuned as the production default ("lookahead").

    Strict priority is the base (its VIP and care order, and the forward runs use it); an
    honoured appointment is called without lookahead and an early one is weighed from their
    slot, so the lookahead does not trade appointments' waits for regular customers'; a
    small cost per minute past target keeps it from pushing one customer ever further back.
    The lookahead's own candidates and ageing keep any class from starving under a flood of
    VIPs (`flood_wait_min`), which strict priority alone does not. `.base` is the policy a
    wait predictor should replay.
    """
    targets = dict(_default_class_targets() if class_targets is None else class_targets)
    settings: dict[str, Any] = {
        "appointments_first": True,
        "early_appointments": True,
        "lateness_weight": 0.02,
        "name": "lookahead",
        **params,
    }
    base = StrictPriority(appointment_grace=appointment_grace)
    # Strict alone starves regular customers under a flood: when the lookahead is late, cμ
    # (which starves nobody) calls instead.
    fallback = GcMu(class_targets=targets, appointment_grace=appointment_grace)
    return Rollout(base=base, class_targets=targets, fallback=fallback, **settings)


def default_policy(appointment_grace: timedelta = DEFAULT_GRACE) -> CallingPolicy:
    """The policy a branch runs when none is configured (`DEFAULT_POLICY`)."""
    return policy_by_name(DEFAULT_POLICY, appointment_grace=appointment_grace)
