"""What a teller sees of their own counter: today's figures and the queues it serves."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from queue_server.domain.branch import RATINGS
from queue_server.domain.model import Counter, Service, Ticket, TicketState
from queue_server.domain.policies import over_target

DEFAULT_TARGET_WAIT_S = 600  # the policy's own default for a business it does not know


@dataclass(frozen=True, slots=True)
class StaffDay:
    """One teller's share of a counter's day."""

    called: int = 0
    served: int = 0
    avg_service_s: float | None = None


@dataclass(frozen=True, slots=True)
class CounterDay:
    """A counter's business day so far, counted per leg (a transfer ends one leg here)."""

    counter: int
    business_day: date
    called: int = 0
    served: int = 0
    no_shows: int = 0
    transfers_out: int = 0
    avg_service_s: float | None = None  # serving → finished, over the finished legs
    avg_wait_s: float | None = None  # arrival → call, over the legs called here
    ratings: Mapping[int, int] = field(default_factory=dict)  # 4 (非常满意) … 1 (不满意)
    rating_avg: float | None = None
    by_staff: Mapping[str, StaffDay] = field(default_factory=dict)


def _mean(values: Sequence[float], digits: int = 1) -> float | None:
    return round(sum(values) / len(values), digits) if values else None


def counter_day(
    tickets: Iterable[Ticket],
    counter: int,
    day: date,
    *,
    first_calls: Mapping[int, datetime] | None = None,
) -> CounterDay:
    """Today's figures for one counter from the day's tickets, in a single pass.

    A leg counts for the day of its ticket (as numbering and the in-memory branch do), so
    the figures stay the same across a server restart. A recall moves `called_at`; the wait
    of a recalled leg runs to its first call when `first_calls` (ticket id -> first call,
    from the event log) says when that was, else to its last call.
    """
    called = served = no_shows = transfers = 0
    service_s: list[float] = []
    waits: list[float] = []
    ratings = dict.fromkeys(sorted(RATINGS, reverse=True), 0)
    staff_called: dict[str, int] = {}
    staff_service: dict[str, list[float]] = {}
    staff_served: dict[str, int] = {}
    for t in tickets:
        if t.counter != counter or t.called_at is None or t.business_day != day:
            continue
        called += 1
        first = first_calls.get(t.id, t.called_at) if first_calls else t.called_at
        waits.append(max(0.0, (min(first, t.called_at) - t.arrived_at).total_seconds()))
        staff = t.staff_id
        if staff is not None:
            staff_called[staff] = staff_called.get(staff, 0) + 1
        if t.state is TicketState.DONE:
            served += 1
            if staff is not None:
                staff_served[staff] = staff_served.get(staff, 0) + 1
            if t.serving_at is not None and t.finished_at is not None:
                took = max(0.0, (t.finished_at - t.serving_at).total_seconds())
                service_s.append(took)
                if staff is not None:
                    staff_service.setdefault(staff, []).append(took)
            if t.rating is not None and t.rating in ratings:
                ratings[t.rating] += 1
        elif t.state is TicketState.NO_SHOW:
            no_shows += 1
        elif t.state is TicketState.TRANSFERRED:
            transfers += 1
    rated = sum(ratings.values())
    rating_avg = round(sum(r * n for r, n in ratings.items()) / rated, 2) if rated else None
    by_staff = {
        s: StaffDay(n, staff_served.get(s, 0), _mean(staff_service.get(s, [])))
        for s, n in sorted(staff_called.items())
    }
    return CounterDay(
        counter=counter,
        business_day=day,
        called=called,
        served=served,
        no_shows=no_shows,
        transfers_out=transfers,
        avg_service_s=_mean(service_s),
        avg_wait_s=_mean(waits),
        ratings=ratings,
        rating_avg=rating_avg,
        by_staff=by_staff,
    )


@dataclass(frozen=True, slots=True)
class SkillQueue:
    """One business a counter serves, as its queue stands for that counter."""

    service: str
    overflow: bool
    waiting: int  # customers this counter may serve (none sent to another named counter)
    longest_wait_s: float
    target_wait_s: int
    over_target: bool  # what opens an overflow skill


def skill_queues(
    counter: Counter,
    waiting: Sequence[Ticket],
    now: datetime,
    services: Mapping[str, Service],
) -> list[SkillQueue]:
    """The queues of the counter's businesses, in the counter's skill order, then those of
    the businesses it does not serve whose customers were sent to it by name."""
    served = [(skill.service, skill.overflow) for skill in counter.skills]
    codes = {code for code, _ in served}
    sent_here = {t.service for t in waiting if t.target_counter == counter.number} - codes
    out = []
    for code, overflow in served + [(code, False) for code in sorted(sent_here)]:
        queue = [
            t
            for t in waiting
            if t.service == code
            and (t.target_counter == counter.number or (t.target_counter is None and code in codes))
        ]
        svc = services.get(code)
        longest = max(((now - t.arrived_at).total_seconds() for t in queue), default=0.0)
        out.append(
            SkillQueue(
                service=code,
                overflow=overflow,
                waiting=len(queue),
                longest_wait_s=max(0.0, longest),
                target_wait_s=svc.target_wait_s if svc is not None else DEFAULT_TARGET_WAIT_S,
                over_target=over_target(code, waiting, now, services),
            )
        )
    return out
