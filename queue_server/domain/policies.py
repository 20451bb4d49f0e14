"""The named calling policies — FIFO, strict priority, accumulating, SLA-aware — and their registry.

Every policy ranks only what `eligible` lets a counter call (skills, overflow, transfers to one
counter), honours appointment slots through `effective_priority` / `waited_s`, and breaks ties
by arrival then ticket id, so a choice is always deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .model import Counter, PriorityClass, Service, Ticket
from .policy import AccumulatingPriority, CallingPolicy, effective_priority, eligible, waited_s

DEFAULT_GRACE = timedelta(minutes=10)
APPOINTMENT = PriorityClass.APPOINTMENT

# A rank key: smaller is called first.
RankKey = tuple[float, ...]


def _pick(
    counter: Counter,
    waiting: Sequence[Ticket],
    now: datetime,
    services: Mapping[str, Service],
    key: Callable[[Ticket, float], RankKey],
) -> Ticket | None:
    best: Ticket | None = None
    best_key: tuple[RankKey, datetime, int] | None = None
    for ticket, weight in eligible(counter, waiting, now, services):
        k = (key(ticket, weight), ticket.arrived_at, ticket.id)
        if best_key is None or k < best_key:
            best, best_key = ticket, k
    return best


class RankedPolicy:
    """A policy given by a rank key: `choose_next` takes the smallest key among the tickets
    the counter may call, `queue_order` sorts everyone by it (skill weight 1)."""

    def _key(
        self, now: datetime, services: Mapping[str, Service]
    ) -> Callable[[Ticket, float], RankKey]:
        raise NotImplementedError

    def choose_next(
        self,
        counter: Counter,
        waiting: Sequence[Ticket],
        now: datetime,
        services: Mapping[str, Service],
    ) -> Ticket | None:
        return _pick(counter, waiting, now, services, self._key(now, services))

    def queue_order(
        self, waiting: Sequence[Ticket], now: datetime, services: Mapping[str, Service]
    ) -> list[Ticket]:
        key = self._key(now, services)
        return sorted(waiting, key=lambda t: (key(t, 1.0), t.arrived_at, t.id))


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
        target = self.class_targets.get(cls)
        if target is not None:
            return target
        service = services.get(ticket.service)
        return service.target_wait_s / 60.0 if service is not None else 10.0

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


POLICY_NAMES = ("fifo", "strict", "accumulating", "sla")


def policy_by_name(
    name: str,
    *,
    appointment_grace: timedelta = DEFAULT_GRACE,
    class_targets: Mapping[PriorityClass, float] | None = None,
    **params: Any,
) -> CallingPolicy:
    """A calling policy by its name; `class_targets` (minutes) tune the SLA-aware one.

    Extra keyword parameters go to the policy's constructor (e.g. `rates` and `head_starts`
    of the accumulating policy, `order` of strict priority).
    """
    if name == "fifo":
        return Fifo(appointment_grace=appointment_grace, **params)
    if name == "strict":
        return StrictPriority(appointment_grace=appointment_grace, **params)
    if name == "accumulating":
        return AccumulatingPriority(appointment_grace=appointment_grace, **params)
    if name == "sla":
        targets = dict(_default_class_targets() if class_targets is None else class_targets)
        return SlaAware(class_targets=targets, appointment_grace=appointment_grace, **params)
    raise ValueError(f"unknown calling policy {name!r}; choose from {', '.join(POLICY_NAMES)}")
