"""The teller's preview of who is next: exactly what call-next then gives, in order.

Fixture counters: 1 = cash; 2 = account + cash as overflow; 3 = wealth; 4 = closed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.domain import (
    Branch,
    BranchSettings,
    Counter,
    CounterState,
    PriorityClass,
    Service,
    Skill,
    Ticket,
    next_customers,
)
from queue_server.domain.policies import GcMu


def _calls(desk, counter, when, times):
    """Call, serve and finish at one instant, `times` times: what call-next hands out."""
    out = []
    for _ in range(times):
        called = desk.call(counter, when)
        if called is None:
            break
        out.append(called.id)
        desk.serve(counter, when)
        desk.finish(counter, when)
    return out


def _ids(tickets):
    return [t.id for t in tickets]


def test_priority_customers_in_the_order_call_next_gives_them(branch, desk, at):
    old = desk.issue("cash", 0)
    care = desk.issue("cash", 10, PriorityClass.CARE)
    vip3 = desk.issue("cash", 11, PriorityClass.VIP, vip_tier=3)
    appt = desk.issue("cash", 12, PriorityClass.APPOINTMENT, appointment_slot=at(14))
    fresh = desk.issue("cash", 13)
    preview = branch.next_customers(1, at(15), 10)
    # Scores at 15: appointment 20 + 1, old 15, VIP tier 3 (6 + 4) + 4, care 6 + 5, fresh 2.
    assert _ids(preview) == [appt.id, old.id, vip3.id, care.id, fresh.id]
    assert _calls(desk, 1, at(15), 10) == _ids(preview)


def test_the_preview_changes_nothing(branch, desk, snap, at):
    desk.issue("cash", 0)
    desk.issue("account", 1)
    before = snap(branch)
    assert len(branch.next_customers(2, at(20), 5)) == 2
    assert snap(branch) == before


def test_limit_and_an_empty_queue(branch, desk, at):
    assert branch.next_customers(1, at(0), 5) == []
    tickets = [desk.issue("cash", m) for m in range(4)]
    assert _ids(branch.next_customers(1, at(5), 2)) == _ids(tickets[:2])


def test_an_overflow_queue_drops_out_once_the_calls_before_bring_it_on_target(branch, desk, at):
    late = desk.issue("cash", 0)  # over cash's 10-minute target at 12
    young = desk.issue("cash", 8)  # 4 minutes: the overflow closes once `late` is called
    account = desk.issue("account", 9)
    preview = branch.next_customers(2, at(12), 5)
    assert _ids(preview) == [late.id, account.id]
    assert young.id not in _ids(preview)
    assert _calls(desk, 2, at(12), 5) == _ids(preview)


def test_an_overflow_queue_on_target_is_not_shown(branch, desk, at):
    desk.issue("cash", 0)
    account = desk.issue("account", 1)
    assert _ids(branch.next_customers(2, at(5), 5)) == [account.id]
    assert _ids(branch.next_customers(1, at(5), 5)) != []


def test_skill_weights_order_the_preview(branch, desk, at):
    branch.run(lambda: branch.set_skills(2, [Skill("account", 3.0), Skill("cash")], at(0)))
    cash = desk.issue("cash", 0)
    account = desk.issue("account", 5)
    # cash 10 × 1 against account 5 × 3.
    preview = branch.next_customers(2, at(10), 5)
    assert _ids(preview) == [account.id, cash.id]
    assert _calls(desk, 2, at(10), 5) == _ids(preview)


def test_a_transfer_to_a_named_counter_shows_only_there(branch, desk, at):
    branch.run(lambda: branch.sign_in(4, "s4", at(0)))  # counter 4: cash and account
    desk.issue("cash", 0)
    desk.call(1, 1)
    leg = branch.run(lambda: branch.transfer(1, at(2), to_counter=2, note="card")).result
    other = desk.issue("cash", 3)
    assert _ids(branch.next_customers(2, at(30), 5)) == [leg.id, other.id]
    assert _ids(branch.next_customers(1, at(30), 5)) == [other.id]
    assert _ids(branch.next_customers(4, at(30), 5)) == [other.id]
    assert _calls(desk, 2, at(30), 5) == [leg.id, other.id]


def test_an_early_appointment_waits_as_regular_in_the_preview(branch, desk, at):
    regular = desk.issue("cash", 0)
    appt = desk.issue("cash", 1, PriorityClass.APPOINTMENT, appointment_slot=at(10))
    assert _ids(branch.next_customers(1, at(9), 5)) == [regular.id, appt.id]
    assert _ids(branch.next_customers(1, at(10), 5)) == [appt.id, regular.id]


# ------------------------------------------------------- any mix, any counter

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
DAY = date(2026, 11, 28)
SERVICES = [
    Service("cash", "A", {"en": "Cash"}, target_wait_s=600),
    Service("account", "B", {"en": "Accounts"}, target_wait_s=900),
    Service("wealth", "C", {"en": "Wealth"}, target_wait_s=1200),
]
CODES = [s.code for s in SERVICES]

skills = st.lists(
    st.builds(
        Skill,
        st.sampled_from(CODES),
        st.sampled_from([0.5, 1.0, 2.0, 3.0]),
        st.booleans(),
    ),
    max_size=3,
    unique_by=lambda s: s.service,
)
customers = st.lists(
    st.tuples(
        st.sampled_from(CODES),
        st.sampled_from(list(PriorityClass)),
        st.integers(min_value=1, max_value=3),  # VIP tier
        st.integers(min_value=30, max_value=60),  # arrival, minutes after T0
        st.integers(min_value=-20, max_value=80),  # appointment slot
        st.sampled_from([None, None, None, 8, 9]),  # transferred to a named counter
    ),
    max_size=25,
)


def _ticket(i, service, priority, tier, arrived, slot, target):
    prefix = next(s.prefix for s in SERVICES if s.code == service)
    return Ticket(
        id=i,
        number=f"{prefix}{i:03d}",
        service=service,
        business_day=DAY,
        arrived_at=T0 + timedelta(minutes=arrived),
        issued_at=T0 + timedelta(minutes=arrived),
        priority=priority,
        vip_tier=tier if priority is PriorityClass.VIP else 0,
        visit_id=i,
        appointment_slot=T0 + timedelta(minutes=slot)
        if priority is PriorityClass.APPOINTMENT
        else None,
        target_counter=target,
    )


# Enough examples to meet an overflow queue closing part-way through the preview.
@settings(max_examples=300, deadline=None)
@given(
    skills=skills,
    customers=customers,
    now=st.integers(min_value=60, max_value=75),  # some queues over target, some not
    limit=st.integers(min_value=1, max_value=8),
)
def test_the_preview_is_what_call_next_then_returns(skills, customers, now, limit):
    counters = [
        Counter(9, "Window 9", state=CounterState.OPEN, staff_id="s9", skills=tuple(skills)),
        Counter(8, "Window 8", state=CounterState.OPEN, staff_id="s8", skills=(Skill("cash"),)),
    ]
    tickets = [_ticket(i, *c) for i, c in enumerate(customers, start=1)]
    # A ranking policy: the lookahead default's call also weighs the other windows' work
    # and the forecast, which a preview of this counter's order does not see.
    branch = Branch(BranchSettings(), SERVICES, counters, tickets, policy=GcMu())
    moment = T0 + timedelta(minutes=now)
    preview = branch.next_customers(9, moment, limit)
    first = branch.policy.choose_next(counters[0], branch.waiting, moment, branch.services)
    assert (preview[0] if preview else None) == first
    assert preview == next_customers(
        branch.policy, counters[0], branch.waiting, moment, branch.services, limit
    )
    called = []
    for _ in range(limit):
        result = branch.run(lambda: branch.call_next(9, moment)).result
        if result is None:
            break
        called.append(result.id)
        branch.run(lambda: branch.start_serving(9, moment))
        branch.run(lambda: branch.finish(9, moment))
    assert called == _ids(preview)
