"""Policies that know how long each business takes: generalized cμ, and a window reservation.

`GcMu` ranks by the generalized cμ rule (van Mieghem): call the customer whose waiting costs
the most per minute of the window it would take — cost rate at their current wait × service
rate of their business. `Reserving` adds, on top of that order, the decision *when to start
a long service*: a window shared by a short-target class and long businesses keeps itself
for a priority customer the forecast expects before anyone else could serve them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from queue_server.domain.model import Counter, PriorityClass, Service, Ticket
from queue_server.domain.policies.hall import Hall
from queue_server.domain.policies.rules import (
    RankedPolicy,
    RankKey,
    effective_priority,
    eligible,
    waited_s,
)

APPOINTMENT = PriorityClass.APPOINTMENT
_DEFAULT_GRACE = timedelta(minutes=10)
_FALLBACK_SERVICE_MIN = 5.0


def _class_targets() -> dict[PriorityClass, float]:
    # Minutes; the regular class has none of its own: it takes its business's target.
    return {PriorityClass.VIP: 5.0, PriorityClass.CARE: 5.0, APPOINTMENT: 5.0}


def _class_weights() -> dict[PriorityClass, float]:
    # Tuned on the standard day (10 days, `bench policy`): a VIP or booked customer's
    # minute costs ten regular ones, an elderly customer's four.
    return {
        PriorityClass.REGULAR: 1.0,
        PriorityClass.CARE: 4.0,
        PriorityClass.VIP: 10.0,
        APPOINTMENT: 10.0,
    }


@dataclass(frozen=True)
class GcMu(RankedPolicy):
    """Generalized cμ: index = class weight × (offset + waited / target)^power × service rate.

    The service rate is 1 / (mean service minutes)^`service_power` (see the field).
    The cost rate of a customer's wait rises convexly as they near and pass their class's
    target (a business's own target for regular customers), so a customer close to missing
    theirs outranks a fresh one, and a short service (cash, 4 min) goes before a long one
    (a loan, 30 min) at the same urgency: the window is back for the next customer sooner.
    A counter's skill weight scales the index, as it scales minutes in the other policies.
    An honoured appointment (from its slot, within the grace) goes first, as in every policy;
    ties go by arrival, then ticket id.

    No starvation: a customer who has waited `guard` × their target goes ahead of everyone
    not yet that late, in order of arrival. A customer x is therefore called at the latest
    when everyone who passed their guard before x did has been called — people who arrived
    no later than x's arrival + (guard × x's target − guard × the smallest target), a bounded
    set — plus the honoured appointments, at most one per booked slot within the grace.
    Past the guard they go by deadline (arrival + guard × target), so a VIP keeps a head start
    there too, and x is overtaken only by those arriving before x's arrival + guard × (x's
    target − the smallest target). Under the flood probe (a VIP every minute, one-minute
    services) each VIP is called within a minute while the regular customer's cost rate
    grows without end: they are called once it passes a fresh VIP's (22 minutes with the
    default weights), and at their guard (6 × 10 minutes) whatever the weights.
    """

    class_targets: Mapping[PriorityClass, float] = field(default_factory=_class_targets)
    class_weights: Mapping[PriorityClass, float] = field(default_factory=_class_weights)
    offset: float = 1.0
    power: float = 2.0
    guard: float = 6.0
    # 1 is the pure cμ rule; ½ (tuned on the standard and variant days) still lets a short
    # service go first at equal urgency, but a long one (a loan, account opening) no longer
    # waits up to 7 times as long as cash before it wins — its customers leave or miss.
    service_power: float = 0.5
    appointment_grace: timedelta = _DEFAULT_GRACE
    name: str = "cmu"

    def target_min(
        self, ticket: Ticket, cls: PriorityClass, services: Mapping[str, Service]
    ) -> float:
        target = self.class_targets.get(cls)
        if target is not None:
            return target
        service = services.get(ticket.service)
        return service.target_wait_s / 60.0 if service is not None else 10.0

    def index(
        self, ticket: Ticket, now: datetime, services: Mapping[str, Service]
    ) -> tuple[bool, float, float]:
        """(past the guard, cμ index, minutes waited) of one ticket now."""
        cls = effective_priority(ticket, now, self.appointment_grace)
        waited = waited_s(ticket, now, self.appointment_grace) / 60.0
        target = max(self.target_min(ticket, cls, services), 1e-6)
        service = services.get(ticket.service)
        mean_min = service.mean_service_s / 60.0 if service is not None else _FALLBACK_SERVICE_MIN
        rate = self.class_weights.get(cls, 1.0) * (self.offset + waited / target) ** self.power
        speed = max(mean_min, 1e-6) ** -self.service_power
        return (waited >= self.guard * target, rate * speed, waited)

    def _key(
        self, now: datetime, services: Mapping[str, Service]
    ) -> Callable[[Ticket, float], RankKey]:
        grace = self.appointment_grace
        now_ts = now.timestamp()

        def key(ticket: Ticket, weight: float) -> RankKey:
            if effective_priority(ticket, now, grace) is APPOINTMENT:
                # Honoured appointments first, in order of minutes waited since their slot,
                # as in every policy: each was promised the same short wait.
                return (0.0, -waited_s(ticket, now, grace) * weight)
            guarded, index, _ = self.index(ticket, now, services)
            if guarded:
                # Past the guard: by guard deadline (arrival + guard × target), ahead of
                # everyone not yet that late.
                target_s = self.target_min(ticket, ticket.priority, services) * 60.0
                return (1.0, ticket.arrived_at.timestamp() + self.guard * target_s - now_ts)
            return (2.0, -index * weight)

        return key


def _skills(counter: Counter) -> set[str]:
    return {s.service for s in counter.skills if not s.overflow}


@dataclass(frozen=True)
class Reserving(GcMu):
    """cμ order, and a window that keeps itself free for a priority customer about to arrive.

    Before starting a service longer than a priority class's target (VIP, care, appointment
    — `protected`) at a window that serves that class's business, the window asks the
    forecast how likely such a customer arrives while it would be busy and would then wait
    past their target: walk-ins at the forecast rate during the exposure (the service's
    expected length, or until another window able to serve them is expected free, whichever
    is sooner, less the target itself), certain for a booked slot inside it. When the chance
    of at least one exceeds the cost ratio (the chosen customer's class weight against the
    protected class's and the chosen customer's weight together), the window declines: it
    calls the best customer whose service ends before a priority customer would miss their
    target, or stays free.

    Bounded: a customer whose wait has reached their own class target (`hold_limit` × it)
    is never declined, so a reservation delays nobody past their target; and an idle window
    declines only while the reason holds — the next call re-decides from the hall then.
    """

    protected: tuple[PriorityClass, ...] = (PriorityClass.VIP, PriorityClass.CARE, APPOINTMENT)
    hold_limit: float = 1.0
    name: str = "reserve"

    def choose_in_hall(
        self, hall: Hall, counter: Counter, waiting: Sequence[Ticket]
    ) -> Ticket | None:
        now, services = hall.now, hall.services
        key = self._key(now, services)
        ranked = sorted(
            eligible(counter, waiting, now, services),
            key=lambda tw: (key(tw[0], tw[1]), tw[0].arrived_at, tw[0].id),
        )
        if not ranked:
            return None
        chosen = ranked[0][0]
        risk = self.reservation(hall, counter, chosen)
        if risk is None:
            return chosen
        # Declined: someone whose service ends in time, else the window stays free.
        for ticket, _ in ranked[1:]:
            if self._mean_min(ticket, services) <= risk:
                return ticket
        return None

    def _mean_min(self, ticket: Ticket, services: Mapping[str, Service]) -> float:
        service = services.get(ticket.service)
        return service.mean_service_s / 60.0 if service is not None else _FALLBACK_SERVICE_MIN

    def reservation(self, hall: Hall, counter: Counter, chosen: Ticket) -> float | None:
        """None to call `chosen`; else the longest service (minutes) the window may still
        start, because a protected customer is likely to need it (see the class doc)."""
        now, services, grace = hall.now, hall.services, self.appointment_grace
        cls = effective_priority(chosen, now, grace)
        if cls in self.protected:
            return None
        waited = waited_s(chosen, now, grace) / 60.0
        if waited >= self.hold_limit * self.target_min(chosen, cls, services):
            return None  # the bound: nobody is held past their own target
        length = self._mean_min(chosen, services)
        cost = self.class_weights.get(cls, 1.0)
        shortest: float | None = None
        for business in _skills(counter):
            soonest_other = self._soonest_other(hall, counter, business)
            for prio in self.protected:
                target = self.class_targets.get(prio)
                if target is None or length <= target:
                    continue
                exposure = min(length, soonest_other) - target
                if exposure <= 0:
                    continue
                expected = hall.forecast.rate(business, prio) * exposure
                if prio is APPOINTMENT:
                    expected += _bookings_between(hall, business, now, exposure)
                chance = 1.0 - math.exp(-expected)
                weight = self.class_weights.get(prio, 1.0)
                if chance > cost / (cost + weight):
                    shortest = target if shortest is None else min(shortest, target)
        return shortest

    def _soonest_other(self, hall: Hall, counter: Counter, business: str) -> float:
        """Minutes until another open window serving `business` is expected free."""
        soonest = math.inf
        for other in hall.open_counters():
            if other.number == counter.number or business not in _skills(other):
                continue
            free_s = hall.expected_free_in_s(other.number)
            if free_s is not None:
                soonest = min(soonest, free_s / 60.0)
        return soonest


def _bookings_between(hall: Hall, business: str, now: datetime, minutes: float) -> float:
    end = now + timedelta(minutes=minutes)
    return float(
        sum(1 for code, slot in hall.forecast.bookings if code == business and now <= slot <= end)
    )
