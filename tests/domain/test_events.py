"""Events: every change is told by events whose sequence numbers rise by exactly one."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queue_server.domain import (
    Change,
    DomainError,
    PriorityClass,
    Skill,
    Ticket,
    TicketState,
)


def _seqs(events):
    return [e.seq for e in events]


def test_a_scripted_day_numbers_events_without_gaps(branch, desk, at):
    for i in range(6):
        desk.issue("cash", i)
        desk.issue("account", i + 0.5, PriorityClass.CARE if i % 2 else PriorityClass.REGULAR)
    desk.run(lambda: branch.sign_in(4, "s4", at(6)))
    for minute in range(7, 30, 3):
        for counter in (1, 2, 4):
            if branch.active_ticket(counter) is None:
                desk.call(counter, minute)
            elif branch.active_ticket(counter).state is TicketState.CALLED:
                desk.serve(counter, minute)
            else:
                desk.finish(counter, minute)
    desk.run(lambda: branch.pause_counter(3, at(31), reason="lunch"))
    desk.run(lambda: branch.update_service("cash", at(32), target_wait_s=300))
    desk.run(lambda: branch.set_skills(3, [Skill("wealth"), Skill("cash", 2.0)], at(33)))

    assert len(desk.events) >= 30
    assert _seqs(desk.events) == list(range(1, len(desk.events) + 1))
    assert branch.last_seq == len(desk.events)
    assert all(e.at.tzinfo is not None for e in desk.events)


def test_refused_commands_consume_no_sequence_number(branch, desk, at):
    t = desk.issue("cash", 0)
    assert branch.last_seq == 1
    refusals = [
        lambda: branch.finish(1, at(1)),
        lambda: branch.cancel_ticket(999, at(1)),
        lambda: branch.issue_ticket("nope", at(1)),
        lambda: branch.call_next(4, at(1)),
        lambda: branch.rate_ticket(t.id, 4, at(1)),
        lambda: branch.set_skills(1, [Skill("cash", 0)], at(1)),
    ]
    for refuse in refusals:
        with pytest.raises(DomainError):
            branch.run(refuse)
        assert branch.last_seq == 1
    called = desk.run(lambda: branch.call_next(1, at(2)))
    assert _seqs(called.events) == [2]
    assert branch.last_seq == 2


def test_calling_with_nobody_eligible_is_an_empty_change(branch, at):
    change = branch.run(lambda: branch.call_next(1, at(0)))
    assert change.empty
    assert change.result is None
    assert branch.last_seq == 0


def test_deciding_does_not_mutate_until_applied(branch, snap, at):
    before = snap(branch)
    first = branch.issue_ticket("cash", at(0))
    again = branch.issue_ticket("cash", at(0))
    assert snap(branch) == before
    assert _seqs(first.events) == _seqs(again.events) == [1]
    assert first.result == again.result
    branch.apply(first)
    assert branch.last_seq == 1
    assert branch.tickets[first.result.id] == first.result
    assert branch.numbering == first.numbering
    second = branch.issue_ticket("cash", at(1))
    assert _seqs(second.events) == [2]
    assert second.result.number == "A002"


def test_a_transfer_emits_two_consecutive_events(branch, desk, at):
    desk.issue("cash", 0)
    desk.call(1, 1)
    change = desk.run(lambda: branch.transfer(1, at(2), to_service="account"))
    assert _seqs(change.events) == [3, 4]
    assert [e.kind for e in change.events] == ["ticket.transferred", "ticket.requeued"]
    assert [e.ticket for e in change.events] == change.tickets


# Each command's events: kind, and what entity the event carries.
COMMANDS = [
    ("issue", lambda b, at: b.issue_ticket("cash", at(5)), ["ticket.issued"]),
    ("cancel", lambda b, at: b.cancel_ticket(2, at(5)), ["ticket.cancelled"]),
    ("call next", lambda b, at: b.call_next(4, at(5)), ["ticket.called"]),
    ("call ticket", lambda b, at: b.call_ticket(4, 2, at(5)), ["ticket.called"]),
    ("recall", lambda b, at: b.recall(1, at(5)), ["ticket.recalled"]),
    ("start", lambda b, at: b.start_serving(1, at(5)), ["ticket.serving"]),
    ("no-show", lambda b, at: b.no_show(1, at(5)), ["ticket.no_show"]),
    ("transfer", lambda b, at: b.transfer(1, at(5), to_service="account"),
     ["ticket.transferred", "ticket.requeued"]),
    ("sign in", lambda b, at: b.sign_in(4, "s4", at(5)), ["counter.signed_in"]),
    ("sign out", lambda b, at: b.sign_out(3, at(5)), ["counter.signed_out"]),
    ("open", lambda b, at: b.open_counter(2, at(5)), ["counter.opened"]),
    ("pause", lambda b, at: b.pause_counter(3, at(5), "lunch"), ["counter.paused"]),
    ("close", lambda b, at: b.close_counter(3, at(5)), ["counter.closed"]),
    ("skills", lambda b, at: b.set_skills(3, [Skill("cash")], at(5)), ["counter.skills"]),
    ("service", lambda b, at: b.update_service("cash", at(5), sort=3), ["service.updated"]),
]  # fmt: skip


@pytest.mark.parametrize(("command", "kinds"), [pytest.param(c, k, id=n) for n, c, k in COMMANDS])
def test_each_command_is_told_by_its_events(branch, desk, at, command, kinds):
    desk.issue("cash", 0)  # id 1: called at counter 1
    desk.issue("cash", 1)  # id 2: waiting
    desk.call(1, 2)
    desk.run(lambda: branch.sign_in(4, "s4", at(3)))
    desk.run(lambda: branch.pause_counter(2, at(3)))  # so that "open" has something to do
    last = branch.last_seq
    change = branch.run(lambda: command(branch, at))
    assert [e.kind for e in change.events] == kinds
    assert _seqs(change.events) == list(range(last + 1, last + 1 + len(kinds)))
    assert branch.last_seq == last + len(kinds)
    for event in change.events:
        assert event.at == at(5)
        if event.kind.startswith("ticket."):
            assert event.ticket in change.tickets
            assert branch.tickets[event.ticket.id] == event.ticket
        elif event.kind.startswith("counter."):
            assert event.counter == branch.counters[event.counter.number]
        else:
            assert event.service == branch.services["cash"]
            assert event.service.sort == 3


def test_ticket_events_at_a_counter_name_the_counter(branch, desk, at):
    desk.issue("cash", 0)
    called = desk.run(lambda: branch.call_next(1, at(1)))
    assert called.events[0].counter == branch.counters[1]
    recalled = desk.run(lambda: branch.recall(1, at(2)))
    assert recalled.events[0].counter.number == 1
    assert recalled.events[0].data == {"recall": 1}


# ---------------------------------------------------------- random command streams

OPS = (
    "issue",
    "issue_vip",
    "call",
    "call_ticket",
    "recall",
    "serve",
    "finish",
    "no_show",
    "transfer",
    "cancel",
    "rate",
    "pause",
    "open",
    "close",
    "sign_out",
    "sign_in",
)
SERVICES = ("cash", "account", "wealth")


def _command(branch, op, counter, pick, now):
    tickets = sorted(branch.tickets)
    tid = tickets[pick % len(tickets)] if tickets else 999
    service = SERVICES[pick % 3]
    return {
        "issue": lambda: branch.issue_ticket(service, now),
        "issue_vip": lambda: branch.issue_ticket(
            service, now, priority=PriorityClass.VIP, vip_tier=1 + pick % 3
        ),
        "call": lambda: branch.call_next(counter, now),
        "call_ticket": lambda: branch.call_ticket(counter, tid, now),
        "recall": lambda: branch.recall(counter, now),
        "serve": lambda: branch.start_serving(counter, now),
        "finish": lambda: branch.finish(counter, now),
        "no_show": lambda: branch.no_show(counter, now),
        "transfer": lambda: branch.transfer(counter, now, to_service=service),
        "cancel": lambda: branch.cancel_ticket(tid, now),
        "rate": lambda: branch.rate_ticket(tid, 1 + pick % 4, now),
        "pause": lambda: branch.pause_counter(counter, now),
        "open": lambda: branch.open_counter(counter, now),
        "close": lambda: branch.close_counter(counter, now),
        "sign_out": lambda: branch.sign_out(counter, now),
        "sign_in": lambda: branch.sign_in(counter, f"s{counter}", now),
    }[op]


def _check_invariants(branch):
    waiting = {t.id for t in branch.tickets.values() if t.state is TicketState.WAITING}
    assert {t.id for t in branch.waiting} == waiting
    for number in branch.counters:
        at_counter = [
            t for t in branch.tickets.values() if t.state.is_active and t.counter == number
        ]
        assert len(at_counter) <= 1
        assert branch.active_ticket(number) == (at_counter[0] if at_counter else None)
    open_numbers = [t.number for t in branch.tickets.values() if not t.state.is_final]
    assert len(open_numbers) == len(set(open_numbers))
    for t in branch.tickets.values():
        if t.previous_id is not None:
            previous = branch.tickets[t.previous_id]
            assert previous.state is TicketState.TRANSFERRED
            assert (previous.number, previous.arrived_at, previous.visit_id) == (
                t.number,
                t.arrived_at,
                t.visit_id,
            )


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(OPS), st.integers(1, 4), st.integers(0, 50)),
        min_size=1,
        max_size=80,
    )
)
def test_random_command_streams_keep_the_log_gap_free(make_branch, snap, at, commands):
    branch = make_branch()
    events = []
    for step, (op, counter, pick) in enumerate(commands):
        now = at(step * 0.75)
        decide = _command(branch, op, counter, pick, now)
        before = snap(branch)
        try:
            change = branch.run(decide)
        except DomainError as refused:
            assert refused.code
            assert snap(branch) == before
            continue
        assert isinstance(change, Change)
        if op not in ("call", "open", "close"):  # no call, or already open/closed: no event
            assert change.events, op
        if change.result is not None and isinstance(change.result, Ticket):
            assert branch.tickets[change.result.id] == change.result
        events.extend(change.events)
        assert branch.last_seq == len(events)
        _check_invariants(branch)
    assert _seqs(events) == list(range(1, len(events) + 1))
