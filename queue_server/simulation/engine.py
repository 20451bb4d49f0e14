"""Discrete-event simulation that drives the production Branch aggregate and calling policy.

Nothing about who is called is decided here: arrivals become `Branch.issue_ticket`, a free
counter does `Branch.call_next` (the branch's policy chooses), then `start_serving` and, a
sampled service time later, `finish`; impatient customers `cancel_ticket`. The simulation
only keeps the clock and the event list. It can start from a live branch (tickets already
waiting, counters mid-service), which is what forward prediction needs: see `fork_branch`.

With a `WindowPlan` (staffing), counters open and close on the plan's schedule through the
branch's own sign-in, skills, pause and close commands; a window that closes mid-service is
paused (it takes no new calls) and closed once its customer is done.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from queue_server.domain import (
    Branch,
    CallingPolicy,
    Counter,
    CounterState,
    PriorityClass,
    Skill,
    Ticket,
    TicketState,
)
from queue_server.domain.policies import Forecast, HallAwarePolicy, eligible
from queue_server.simulation.arrivals import Arrival
from queue_server.simulation.scenario import Closure, Scenario

# Walk-ins per minute by (business, class), one mapping per forecast step from opening.
HourlyRates = tuple[Mapping[tuple[str, PriorityClass], float], ...]

# Event kinds, in the order they are handled at the same moment: a counter that frees up
# calls before a customer arriving at that instant is queued behind the others.
_FINISH, _ARRIVE, _ABANDON, _RECHECK = 0, 1, 2, 3
_ROSTER = -1  # a plan's windows change first at their moment, before anyone is called
_CLOSURE = -2  # a scenario's window pauses or reopens (payload: index × 2 + 1 to reopen)
_DECLINE_RECHECK_MIN = 0.5  # a window kept free re-decides this often while someone waits
_EPS_MIN = 1e-6


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one customer: called at `called_min`, or gave up at `left_min`."""

    arrival: Arrival
    ticket_id: int
    called_min: float | None = None
    counter: int | None = None
    left_min: float | None = None  # abandoned (cancelled) at this time

    @property
    def wait_start_min(self) -> float:
        """An appointment's wait counts from the later of arrival and slot."""
        a = self.arrival
        if a.priority is PriorityClass.APPOINTMENT and a.slot_min is not None:
            return max(a.at_min, a.slot_min)
        return a.at_min

    @property
    def end_min(self) -> float:
        end = self.called_min if self.called_min is not None else self.left_min
        return end if end is not None else math.inf

    @property
    def wait_min(self) -> float:
        """Minutes waited for the class's target (from the slot for appointments)."""
        return max(0.0, self.end_min - self.wait_start_min)

    @property
    def queue_min(self) -> float:
        """Minutes in the queue from arrival, whatever the class (for total waiting)."""
        return max(0.0, self.end_min - self.arrival.at_min)


@dataclass(frozen=True)
class WindowPlan:
    """Which counters are open when, each serving one business: a staffing plan to simulate.

    `counters` are all the simulated branch's windows (they may be more than the scenario's:
    staffing measures people, not furniture). `roster` lists, from each start minute after
    opening, the open counters and the business each serves; the last entry holds until
    everyone is served.
    """

    counters: tuple[Counter, ...]
    roster: tuple[tuple[float, Mapping[int, str]], ...]


@dataclass
class DayRun:
    outcomes: list[Outcome]
    busy_min: dict[int, float]  # counter -> minutes serving
    end_min: float  # when the last customer finished


def fork_branch(branch: Branch, policy: CallingPolicy | None = None) -> Branch:
    """A copy of the branch's live state to simulate on, leaving the real one untouched."""
    fork = Branch(
        branch.settings,
        branch.services.values(),
        branch.counters.values(),
        [t for t in branch.tickets.values() if not t.state.is_final],
        numbering=branch.numbering,
        last_seq=branch.last_seq,
        policy=policy or branch.policy,
        bundles=branch.bundles.values(),
    )
    fork.forecast = branch.forecast
    return fork


class Simulation:
    """The clock and event list around one Branch; times are minutes after `origin`."""

    def __init__(self, branch: Branch, origin: datetime, *, now_min: float = 0.0) -> None:
        self.branch = branch
        self.origin = origin
        self.now_min = now_min
        self._events: list[tuple[float, int, int, int]] = []
        self._seq = 0
        self._arrivals: list[Arrival] = []
        self._ticket_of: dict[int, int] = {}  # arrival index -> ticket id
        self._arrival_of: dict[int, int] = {}  # ticket id -> arrival index
        self._service_min: dict[int, float] = {}  # ticket id -> service minutes
        self._outcomes: dict[int, Outcome] = {}  # arrival index -> outcome
        self._serving_since: dict[int, float] = {}  # counter -> start of current service
        self.busy_min: dict[int, float] = {n: 0.0 for n in branch.counters}
        self._overflow_counters = [
            c.number for c in branch.counters.values() if any(s.overflow for s in c.skills)
        ]
        self._rechecks: set[float] = set()
        self._roster: tuple[tuple[float, Mapping[int, str]], ...] = ()
        self._closing: set[int] = set()  # paused until their customer is done, then closed
        self._closures: tuple[Closure, ...] = ()
        self._rates: HourlyRates = ()
        self._step_min = 60.0
        self._bookings: dict[int, tuple[str, float]] = {}  # arrival index -> (business, slot)
        self._forecast_key: tuple[int, int] | None = None
        self.end_min = now_min

    # ------------------------------------------------------------------ set-up
    def at(self, minutes: float) -> datetime:
        return self.origin + timedelta(minutes=minutes)

    def _push(self, when: float, kind: int, payload: int) -> None:
        self._seq += 1
        heapq.heappush(self._events, (when, kind, self._seq, payload))

    def add_arrivals(self, arrivals: Iterable[Arrival]) -> None:
        for arrival in arrivals:
            index = len(self._arrivals)
            self._arrivals.append(arrival)
            self._push(arrival.at_min, _ARRIVE, index)

    def follow_roster(self, roster: Iterable[tuple[float, Mapping[int, str]]]) -> None:
        """Open and close counters on this schedule (see `WindowPlan`)."""
        self._roster = tuple(roster)
        for index, (start, _) in enumerate(self._roster):
            self._push(max(start, self.now_min), _ROSTER, index)

    def follow_closures(self, closures: Iterable[Closure]) -> None:
        """Pause each closure's window over its time (after its customer) and reopen it."""
        self._closures = tuple(closures)
        for index, closure in enumerate(self._closures):
            self._push(max(closure.from_min, self.now_min), _CLOSURE, index * 2)
            self._push(max(closure.to_min, self.now_min), _CLOSURE, index * 2 + 1)

    def forecast_from(self, rates: HourlyRates, step_min: float = 60.0) -> None:
        """Keep `branch.forecast` as a branch would know it: the walk-in rates of the current
        forecast step (`rates[i]` from minute `step_min` × i; none after the last) and the
        booked appointments of the arrivals added so far that have not arrived yet (a
        booking is known in advance)."""
        self._rates, self._step_min = tuple(rates), step_min
        self._bookings = {
            i: (a.service, a.slot_min)
            for i, a in enumerate(self._arrivals)
            if a.priority is PriorityClass.APPOINTMENT
            and a.slot_min is not None
            and a.at_min > self.now_min
        }
        self._forecast_key = None
        self._refresh_forecast()

    def _refresh_forecast(self) -> None:
        if not self._rates:
            return
        step = max(0, int(self.now_min // self._step_min))
        key = (step, len(self._bookings))
        if key == self._forecast_key:
            return
        self._forecast_key = key
        per_min = self._rates[step] if step < len(self._rates) else {}
        bookings = tuple(
            (code, self.at(slot))
            for code, slot in sorted(self._bookings.values(), key=lambda b: b[1])
        )
        self.branch.forecast = Forecast(per_min, bookings, self.at(self.now_min))

    def adopt_waiting(self, ticket: Ticket, arrival: Arrival) -> None:
        """A ticket already waiting in the branch, with its (sampled) service time."""
        index = len(self._arrivals)
        self._arrivals.append(arrival)
        self._link(index, ticket.id, arrival)
        if math.isfinite(arrival.patience_min):
            self._push(arrival.at_min + arrival.patience_min, _ABANDON, index)

    def adopt_busy(self, counter: int, finish_min: float) -> None:
        """A counter already with a customer, who will be done at `finish_min`."""
        self._serving_since[counter] = self.now_min
        self._push(max(finish_min, self.now_min), _FINISH, counter)

    def _link(self, index: int, ticket_id: int, arrival: Arrival) -> None:
        self._ticket_of[index] = ticket_id
        self._arrival_of[ticket_id] = index
        self._service_min[ticket_id] = arrival.service_min
        self._outcomes[index] = Outcome(arrival, ticket_id)

    # -------------------------------------------------------------------- run
    def run(self, until_min: float = math.inf) -> DayRun:
        """Handle events up to `until_min` (default: until everyone has been served)."""
        self._call_idle()
        branch = self.branch
        while self._events and self._events[0][0] <= until_min:
            when, kind, _, payload = heapq.heappop(self._events)
            self.now_min = when
            self._refresh_forecast()
            if kind == _CLOSURE:
                self._close_or_reopen(payload)
                self._call_idle()
            elif kind == _ROSTER:
                self._change_windows(payload)
                self._call_idle()
            elif kind == _FINISH:
                self._finish(payload)
                self._call(payload)
            elif kind == _ARRIVE:
                self._arrive(payload)
                self._call_idle()
            elif kind == _ABANDON:
                ticket_id = self._ticket_of.get(payload)
                if ticket_id is not None and branch.tickets[ticket_id].state is TicketState.WAITING:
                    self._abandon(ticket_id)
                    self._outcomes[payload] = replace(self._outcomes[payload], left_min=when)
            else:
                self._rechecks.discard(when)
                self._call_idle()
            self._schedule_overflow_recheck()
        ordered = [self._outcomes[i] for i in sorted(self._outcomes)]
        return DayRun(ordered, dict(self.busy_min), self.end_min)

    def _close_or_reopen(self, payload: int) -> None:
        closure = self._closures[payload // 2]
        branch, now, number = self.branch, self.at(self.now_min), closure.counter
        state = branch.counters[number].state
        if payload % 2 == 0 and state is CounterState.OPEN:
            branch.run(partial(branch.pause_counter, number, now, "closed in the scenario"))
        elif payload % 2 == 1 and state is CounterState.PAUSED:
            branch.run(partial(branch.open_counter, number, now))

    def _arrive(self, index: int) -> None:
        arrival = self._arrivals[index]
        if self._bookings.pop(index, None) is not None:
            self._refresh_forecast()
        slot = self.at(arrival.slot_min) if arrival.slot_min is not None else None
        change = self.branch.run(
            lambda: self.branch.issue_ticket(
                arrival.service,
                self.at(arrival.at_min),
                priority=arrival.priority,
                vip_tier=1 if arrival.priority is PriorityClass.VIP else 0,
                appointment_slot=slot,
            )
        )
        ticket = change.result
        assert isinstance(ticket, Ticket)
        self._link(index, ticket.id, arrival)
        if math.isfinite(arrival.patience_min):
            self._push(arrival.at_min + arrival.patience_min, _ABANDON, index)

    def _abandon(self, ticket_id: int) -> None:
        branch, now = self.branch, self.at(self.now_min)
        branch.run(lambda: branch.cancel_ticket(ticket_id, now))

    def _finish(self, counter: int) -> None:
        branch, now = self.branch, self.at(self.now_min)
        active = branch.active_ticket(counter)
        if active is None:
            return
        if active.state is TicketState.CALLED:
            branch.run(lambda: branch.start_serving(counter, now))
        branch.run(lambda: branch.finish(counter, now))
        started = self._serving_since.pop(counter, self.now_min)
        self.busy_min[counter] = self.busy_min.get(counter, 0.0) + self.now_min - started
        self.end_min = max(self.end_min, self.now_min)
        if counter in self._closing:
            self._closing.discard(counter)
            branch.run(partial(branch.close_counter, counter, now))

    def _change_windows(self, index: int) -> None:
        """Apply roster entry `index`: open, re-skill, or close each counter."""
        branch, now = self.branch, self.at(self.now_min)
        wanted = self._roster[index][1]
        for number, counter in sorted(branch.counters.items()):
            business = wanted.get(number)
            if business is None:
                if counter.state is CounterState.CLOSED:
                    continue
                if branch.active_ticket(number) is None:
                    branch.run(partial(branch.close_counter, number, now))
                else:
                    if counter.state is CounterState.OPEN:
                        branch.run(partial(branch.pause_counter, number, now, "closing"))
                    self._closing.add(number)
                continue
            self._closing.discard(number)
            skills = (Skill(business),)
            if counter.skills != skills:
                branch.run(partial(branch.set_skills, number, skills, now))
            if counter.state is CounterState.CLOSED:
                branch.run(partial(branch.sign_in, number, f"sim-{number}", now))
            elif counter.state is CounterState.PAUSED:
                branch.run(partial(branch.open_counter, number, now))

    def _call(self, counter: int) -> bool:
        """Call-next at a free counter; False when the policy gives it nobody."""
        branch, now = self.branch, self.at(self.now_min)
        if branch.counters[counter].state is not CounterState.OPEN:
            return False  # closing, or closed by a plan
        change = branch.run(lambda: branch.call_next(counter, now))
        called = change.result
        if not isinstance(called, Ticket):
            self._recheck_if_declined(counter, now)
            return False
        branch.run(lambda: branch.start_serving(counter, now))
        index = self._arrival_of.get(called.id)
        service_min = self._service_min.get(called.id, 0.0)
        if index is not None:
            self._outcomes[index] = replace(
                self._outcomes[index], called_min=self.now_min, counter=counter
            )
        self._serving_since[counter] = self.now_min
        self._push(self.now_min + service_min, _FINISH, counter)
        return True

    def _recheck_if_declined(self, counter: int, now: datetime) -> None:
        """A hall-aware policy may keep a window free while someone it could call waits: the
        window asks again shortly, as a teller pressing call-next would (the policy's own
        bound then lets the customer through)."""
        branch = self.branch
        if not isinstance(branch.policy, HallAwarePolicy):
            return
        waiting = branch.callable_waiting(now)
        if not eligible(branch.counters[counter], waiting, now, branch.services):
            return
        due = self.now_min + _DECLINE_RECHECK_MIN
        if due not in self._rechecks:
            self._rechecks.add(due)
            self._push(due, _RECHECK, 0)

    def _idle_counters(self) -> list[int]:
        branch = self.branch
        return [
            n
            for n, c in sorted(branch.counters.items())
            if c.state is CounterState.OPEN and branch.active_ticket(n) is None
        ]

    def _call_idle(self) -> None:
        for counter in self._idle_counters():
            if not self.branch.waiting:
                return
            self._call(counter)

    def _schedule_overflow_recheck(self) -> None:
        """An idle overflow counter may call once a queue goes over target: wake it then."""
        if not self._overflow_counters or not self.branch.waiting:
            return
        idle = set(self._idle_counters())
        services = self.branch.services
        soonest = math.inf
        for number in self._overflow_counters:
            if number not in idle:
                continue
            overflow = {s.service for s in self.branch.counters[number].skills if s.overflow}
            for t in self.branch.waiting:
                if t.service in overflow and t.service in services:
                    due = (t.arrived_at - self.origin).total_seconds() / 60.0
                    due += services[t.service].target_wait_s / 60.0 + _EPS_MIN
                    if due > self.now_min:
                        soonest = min(soonest, due)
        if math.isfinite(soonest) and soonest not in self._rechecks:
            self._rechecks.add(soonest)
            self._push(soonest, _RECHECK, 0)


def day_origin(scenario: Scenario, day: int) -> datetime:
    """Opening time of simulated day `day`, in the branch's time zone (a fixed calendar)."""
    zone = ZoneInfo(scenario.branch.settings.timezone)
    first = datetime(2026, 1, 5, scenario.opens.hour, scenario.opens.minute, tzinfo=zone)
    return first + timedelta(days=day)


def open_branch(scenario: Scenario, policy: CallingPolicy, origin: datetime) -> Branch:
    """The scenario's branch with every counter signed in, through the branch's own commands."""
    config = scenario.branch
    branch = Branch(config.settings, config.services, config.counters, policy=policy)
    for number in sorted(branch.counters):
        branch.apply(branch.sign_in(number, f"sim-{number}", origin))
    return branch


def simulate_day(
    scenario: Scenario,
    arrivals: Iterable[Arrival],
    policy: CallingPolicy,
    day: int = 0,
    plan: WindowPlan | None = None,
) -> DayRun:
    """One branch day: the arrivals through a fresh branch run by `policy`, until all are served.

    Without a plan every counter is open all day; with one, counters follow its roster.
    """
    origin = day_origin(scenario, day)
    if plan is None:
        sim = Simulation(open_branch(scenario, policy, origin), origin)
        sim.follow_closures(scenario.closures)
    else:
        config = scenario.branch
        branch = Branch(config.settings, config.services, plan.counters, policy=policy)
        sim = Simulation(branch, origin)
        sim.follow_roster(plan.roster)
    sim.add_arrivals(arrivals)
    sim.forecast_from(walk_in_rates(scenario), scenario.open_minutes / len(scenario.hourly))
    return sim.run()


def walk_in_rates(scenario: Scenario) -> HourlyRates:
    """The scenario's expected walk-ins per minute by (business, class), per opening hour —
    the nominal day (a forecast cannot know the day's own multiplier). Appointments are not
    walk-ins: they come as bookings."""
    total = sum(m.share for m in scenario.mix) or 1.0
    vip_other = scenario.vip_share_other
    by_class: dict[tuple[str, PriorityClass], float] = {}
    for m in scenario.mix:
        share = m.share / total
        if m.code in scenario.vip_services:
            by_class[(m.code, PriorityClass.VIP)] = share
            continue
        booked = scenario.appointment_share.get(m.code, 0.0)
        vip = min(vip_other, max(0.0, 1.0 - booked))
        rest = max(0.0, 1.0 - booked - vip)
        by_class[(m.code, PriorityClass.VIP)] = share * vip
        by_class[(m.code, PriorityClass.CARE)] = share * rest * scenario.care_share
        by_class[(m.code, PriorityClass.REGULAR)] = share * rest * (1.0 - scenario.care_share)
    hour_min = scenario.open_minutes / len(scenario.hourly)
    return tuple(
        {k: v * rate / hour_min for k, v in by_class.items() if v > 0} for rate in scenario.hourly
    )
