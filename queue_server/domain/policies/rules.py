"""Who may be called next: the calling-policy interface and the rules every policy shares.

A policy is a pure function of the counter, the waiting tickets and the time. The rules
every policy shares — skills, overflow, transfers to one counter, appointment slots — live
here once, and `RankedPolicy` turns a rank key into a policy, so policies differ only in
how they rank eligible customers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from queue_server.domain.model import Counter, PriorityClass, Service, Ticket


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


def class_target_min(
    ticket: Ticket,
    cls: PriorityClass,
    class_targets: Mapping[PriorityClass, float],
    services: Mapping[str, Service],
) -> float:
    """A customer's target wait in minutes: their class's, else their business's own."""
    target = class_targets.get(cls)
    if target is not None:
        return target
    service = services.get(ticket.service)
    return service.target_wait_s / 60.0 if service is not None else 10.0


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


# A rank key: smaller is called first.
RankKey = tuple[float, ...]


@runtime_checkable
class FixedRanking(Protocol):
    """A policy whose queue order mostly does not depend on the time: positions are then
    kept in a sorted index instead of sorting the whole queue for every ticket asked about.

    `fixed_key` orders a ticket among its business's queue exactly as `queue_order` would
    at every moment (up to float rounding of exact ties), or is None when its place moves
    with the time (an appointment around its slot); `rank_key` is the full key at `now`,
    which ranks those against everyone else.
    """

    def fixed_key(self, ticket: Ticket, services: Mapping[str, Service]) -> RankKey | None: ...

    def rank_key(
        self, now: datetime, services: Mapping[str, Service]
    ) -> Callable[[Ticket], tuple[RankKey, datetime, int]]: ...


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
        return sorted(waiting, key=self.rank_key(now, services))

    def rank_key(
        self, now: datetime, services: Mapping[str, Service]
    ) -> Callable[[Ticket], tuple[RankKey, datetime, int]]:
        """The full key `queue_order` sorts one business's queue by (skill weight 1)."""
        key = self._key(now, services)
        return lambda t: (key(t, 1.0), t.arrived_at, t.id)

    def fixed_key(self, ticket: Ticket, services: Mapping[str, Service]) -> RankKey | None:
        """See `FixedRanking`; None here: a policy's order depends on the time unless it says
        otherwise, and positions are then counted by sorting."""
        return None


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
