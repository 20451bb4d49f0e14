"""The default calling policy (accumulating priority) as the branch uses it.

Fixture counters: 1 = cash; 2 = account + cash as overflow; 3 = wealth; 4 = closed.
Scores: regular 0 + 1/min, care and VIP tier 1 5 + 2/min (+2 per VIP tier above 1),
an honoured appointment 15 + 3/min; each multiplied by the counter's skill weight.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from queue_server.domain import (
    AccumulatingPriority,
    Counter,
    CounterState,
    PriorityClass,
    Skill,
    Ticket,
    effective_priority,
    eligible,
)

# ------------------------------------------------------------------------ skills


def test_a_counter_calls_only_the_services_it_has(branch, desk):
    account = desk.issue("account", 0)
    wealth = desk.issue("wealth", 1)
    cash = desk.issue("cash", 2)
    assert desk.call(1, 3).id == cash.id
    assert desk.call(3, 3).id == wealth.id
    assert desk.call(2, 3).id == account.id
    assert branch.waiting == []


def test_a_counter_without_a_matching_skill_calls_nobody(branch, desk, snap):
    desk.issue("account", 0)
    desk.issue("wealth", 0)
    before = snap(branch)
    assert desk.call(1, 30) is None
    assert snap(branch) == before


def test_counter_with_no_skills_calls_nobody(branch, desk, at):
    desk.issue("cash", 0)
    # Only a branch config can leave a window with no skills: set_skills refuses to.
    branch.counters[1] = replace(branch.counters[1], skills=())
    assert desk.call(1, 2) is None


# ---------------------------------------------------------------------- overflow


def test_overflow_skill_is_used_only_when_that_queue_is_over_target(branch, desk, at):
    cash = desk.issue("cash", 0)  # target 600 s
    assert desk.call(2, 5) is None
    assert desk.call(2, 10) is None  # exactly at the target is not over it
    called = desk.call(2, 10 + 1 / 60)
    assert called is not None and called.id == cash.id


def test_overflow_follows_the_service_target(branch, desk, at):
    desk.issue("cash", 0)
    branch.run(lambda: branch.update_service("cash", at(0), target_wait_s=120))
    assert desk.call(2, 1.9) is None
    assert desk.call(2, 2.1) is not None


def test_overflow_takes_the_oldest_and_stops_once_the_queue_is_back_on_target(branch, desk):
    old = desk.issue("cash", 0)
    young = desk.issue("cash", 9)
    assert desk.call(2, 11).id == old.id
    desk.serve(2, 11)
    desk.finish(2, 12)
    assert desk.call(2, 12) is None  # `young` has waited 3 minutes: not over the target
    assert desk.call(1, 12).id == young.id


def test_a_late_queue_of_another_service_does_not_open_overflow(branch, desk):
    desk.issue("wealth", 0)  # 60 minutes waiting, far over its own target
    desk.issue("cash", 55)
    assert desk.call(2, 60) is None


def test_own_business_first_when_the_overflow_queue_is_fine(branch, desk):
    desk.issue("cash", 0)
    account = desk.issue("account", 3)
    assert desk.call(2, 5).id == account.id


# ------------------------------------------------------------------ target counter


def test_a_transfer_to_one_counter_is_callable_by_no_other(branch, desk, at):
    branch.run(lambda: branch.sign_in(4, "s4", at(0)))  # counter 4 serves cash and account
    desk.issue("cash", 0)
    desk.call(1, 1)
    leg = branch.run(lambda: branch.transfer(1, at(2), to_counter=2)).result
    assert leg.service == "cash" and leg.target_counter == 2
    assert desk.call(4, 30) is None  # long over target, cash skill: still not counter 4's
    assert desk.call(1, 30) is None
    assert desk.call(2, 30).id == leg.id


def test_eligible_lists_weights_and_targets(branch, at):
    counter = Counter(
        7,
        "Window 7",
        state=CounterState.OPEN,
        skills=(Skill("cash", 2.0), Skill("account", overflow=True)),
    )
    day = date(2026, 11, 28)
    cash = Ticket(1, "A001", "cash", day, at(0), at(0))
    account = Ticket(2, "B001", "account", day, at(0), at(0))
    targeted = Ticket(3, "C001", "wealth", day, at(0), at(0), target_counter=7)
    elsewhere = Ticket(4, "A002", "cash", day, at(0), at(0), target_counter=8)
    services = branch.services
    waiting = [cash, account, targeted, elsewhere]
    assert eligible(counter, waiting, at(1), services) == [(cash, 2.0), (targeted, 1.0)]
    assert eligible(counter, waiting, at(16), services) == [
        (cash, 2.0),
        (account, 1.0),
        (targeted, 1.0),
    ]


# ----------------------------------------------------------------- priority order


@pytest.mark.parametrize(
    ("priority", "tier", "head_start"),
    [
        (PriorityClass.CARE, 0, 5),
        (PriorityClass.VIP, 1, 5),
        (PriorityClass.VIP, 2, 7),
        (PriorityClass.VIP, 3, 9),
    ],
)
def test_priority_overtakes_a_fresh_regular_but_not_an_old_one(
    make_desk, priority, tier, head_start
):
    # The regular arrived at 0; the priority customer arrives just as the counter calls.
    for minute, winner in [(head_start - 1, "priority"), (head_start + 1, "regular")]:
        desk = make_desk()
        regular = desk.issue("cash", 0)
        vip = desk.issue("cash", minute, priority, vip_tier=tier)
        called = desk.call(1, minute)
        assert called.id == (vip.id if winner == "priority" else regular.id), minute


def test_honoured_appointment_overtakes_a_regular_waiting_under_20_minutes(make_desk, at):
    for waited, winner in [(19, "appointment"), (21, "regular")]:
        desk = make_desk()
        regular = desk.issue("cash", 0)
        appt = desk.issue("cash", waited, PriorityClass.APPOINTMENT, appointment_slot=at(waited))
        called = desk.call(1, waited)
        assert called.id == (appt.id if winner == "appointment" else regular.id), waited


def test_equal_scores_go_to_the_earlier_arrival(desk):
    regular = desk.issue("cash", 0)
    desk.issue("cash", 6, PriorityClass.CARE)  # at 7: care 6 + 1 = regular 7
    assert desk.call(1, 7).id == regular.id


def test_same_arrival_goes_to_the_lower_id(branch, desk, at):
    tickets = [desk.issue("cash", 0) for _ in range(4)]
    order = [desk.complete(1, 1).id for _ in tickets]
    assert order == [t.id for t in tickets]


def test_choice_does_not_depend_on_the_order_of_the_waiting_list(branch, desk, at):
    for _ in range(3):
        desk.issue("cash", 0)
    desk.issue("cash", 0, PriorityClass.CARE)
    desk.issue("cash", 0, PriorityClass.CARE)
    policy = branch.policy
    waiting = branch.waiting
    first = policy.choose_next(branch.counters[1], waiting, at(3), branch.services)
    again = policy.choose_next(branch.counters[1], waiting[::-1], at(3), branch.services)
    assert first == again
    assert first.priority is PriorityClass.CARE and first.id == 4
    assert policy.queue_order(waiting, at(3), branch.services) == policy.queue_order(
        waiting[::-1], at(3), branch.services
    )
    assert [t.id for t in policy.queue_order(waiting, at(3), branch.services)] == [4, 5, 1, 2, 3]


def test_skill_weight_favours_the_heavier_business(branch, desk, at):
    branch.run(lambda: branch.sign_in(4, "s4", at(0)))
    account = desk.issue("account", 0)
    cash = desk.issue("cash", 2)
    # At 5: cash 3 min × 2.0 = 6 beats account 5 min × 1.0 = 5.
    branch.run(lambda: branch.set_skills(4, [Skill("cash", 2.0), Skill("account")], at(1)))
    chosen = branch.policy.choose_next(branch.counters[4], branch.waiting, at(5), branch.services)
    assert chosen == cash
    branch.run(lambda: branch.set_skills(4, [Skill("cash"), Skill("account")], at(1)))
    assert desk.call(4, 5).id == account.id


def test_choosing_is_pure(branch, desk, snap, at):
    for minute in range(5):
        desk.issue("cash", minute, PriorityClass.VIP if minute % 2 else PriorityClass.REGULAR)
    before = snap(branch)
    picks = {
        branch.policy.choose_next(branch.counters[1], branch.waiting, at(6), branch.services)
        for _ in range(3)
    }
    assert len(picks) == 1
    assert snap(branch) == before


def test_queue_order_matches_the_call_order(desk, at):
    branch = desk.branch
    mix = [PriorityClass.REGULAR, PriorityClass.CARE, PriorityClass.REGULAR, PriorityClass.VIP]
    for minute in range(12):
        desk.issue("cash", minute, mix[minute % 4])
    expected = [t.id for t in branch.policy.queue_order(branch.waiting, at(12), branch.services)]
    called = [desk.complete(1, 12).id for _ in range(12)]
    assert called == expected


# ------------------------------------------------------------------- starvation


def _minute_regular_is_called(make_desk, every, serve_every, priority, horizon=240):
    """One counter; a regular customer arrives with the first of a stream of priority customers.

    Priority customers arrive every `every` minutes; the counter finishes and calls the next
    customer every `serve_every` minutes. Returns the minute the regular is called, or None.
    """
    desk = make_desk()
    regular = desk.issue("cash", 0)
    for minute in range(horizon):
        if minute % every == 0:
            desk.issue("cash", minute, priority)
        if minute % serve_every == 0:
            called = desk.complete(1, minute)
            if called is not None and called.id == regular.id:
                return minute
    return None


@pytest.mark.parametrize("priority", [PriorityClass.CARE, PriorityClass.VIP])
@pytest.mark.parametrize(("every", "serve_every"), [(3, 2), (2, 3), (2, 2)])
def test_a_regular_is_not_starved_by_a_stream_of_priority_customers(
    make_desk, priority, every, serve_every
):
    minute = _minute_regular_is_called(make_desk, every, serve_every, priority)
    assert minute is not None
    assert minute <= 30


@pytest.mark.parametrize("priority", [PriorityClass.CARE, PriorityClass.VIP])
def test_a_regular_is_called_within_a_bound_when_priority_arrivals_outrun_the_counter(
    make_desk, priority
):
    minute = _minute_regular_is_called(make_desk, 1, 2, priority, horizon=180)
    assert minute is not None, "the regular customer was never called in 3 hours"
    assert minute <= 60


# ------------------------------------------------------------------ appointments

GRACE = timedelta(minutes=10)


def _appointment(at, arrived, slot, **kw):
    return Ticket(
        1,
        "A001",
        "cash",
        date(2026, 11, 28),
        at(arrived),
        at(arrived),
        priority=PriorityClass.APPOINTMENT,
        appointment_slot=at(slot),
        **kw,
    )


@pytest.mark.parametrize(
    ("arrived", "slot", "now", "expected"),
    [
        (10, 30, 20, PriorityClass.REGULAR),  # early: waits as regular until the slot
        (10, 30, 29.99, PriorityClass.REGULAR),
        (10, 30, 30, PriorityClass.APPOINTMENT),  # the slot has come
        (10, 30, 90, PriorityClass.APPOINTMENT),  # on time: keeps the boost however long
        (30, 30, 31, PriorityClass.APPOINTMENT),
        (35, 30, 36, PriorityClass.APPOINTMENT),  # late, within the grace
        (40, 30, 41, PriorityClass.APPOINTMENT),  # exactly at the end of the grace
        (40.5, 30, 41, PriorityClass.REGULAR),  # late beyond the grace: boost lost
        (90, 30, 95, PriorityClass.REGULAR),
    ],
)
def test_effective_priority_of_an_appointment(at, arrived, slot, now, expected):
    assert effective_priority(_appointment(at, arrived, slot), at(now), GRACE) is expected


@pytest.mark.parametrize("priority", [PriorityClass.REGULAR, PriorityClass.CARE, PriorityClass.VIP])
def test_effective_priority_of_other_classes_is_their_own(at, priority):
    ticket = Ticket(1, "A001", "cash", date(2026, 11, 28), at(0), at(0), priority=priority)
    assert effective_priority(ticket, at(60), GRACE) is priority


def test_early_appointment_ranks_as_regular_until_the_slot(make_desk, at):
    for now, winner in [(9, "regular"), (10, "appointment")]:
        desk = make_desk()
        regular = desk.issue("cash", 0)
        appt = desk.issue("cash", 1, PriorityClass.APPOINTMENT, appointment_slot=at(10))
        # Before the slot: regular 9 vs appointment-as-regular 8. At it: 10 vs 20.
        assert desk.call(1, now).id == (regular.id if winner == "regular" else appt.id)


def test_late_appointment_keeps_the_boost_within_the_grace_only(make_desk, at):
    # Slot at 0, grace 10 minutes (the default appointment_grace_s = 600).
    desk = make_desk()
    desk.issue("cash", 8)
    within = desk.issue("cash", 9, PriorityClass.APPOINTMENT, appointment_slot=at(0))
    assert desk.call(1, 12).id == within.id

    desk = make_desk()
    regular = desk.issue("cash", 10)
    desk.issue("cash", 11, PriorityClass.APPOINTMENT, appointment_slot=at(0))
    assert desk.call(1, 12).id == regular.id


def test_the_branch_policy_takes_the_grace_from_settings(make_desk, at):
    desk = make_desk(appointment_grace_s=60)
    assert desk.branch.policy.appointment_grace == timedelta(seconds=60)
    regular = desk.issue("cash", 1.5)
    desk.issue("cash", 2, PriorityClass.APPOINTMENT, appointment_slot=at(0))
    assert desk.call(1, 3).id == regular.id


def test_early_appointment_does_not_lose_its_place_at_the_slot(make_desk, at):
    desk = make_desk()
    appt = desk.issue("cash", 0, PriorityClass.APPOINTMENT, appointment_slot=at(20))
    desk.issue("cash", 2)  # a regular who came after the appointment customer
    policy, branch = desk.branch.policy, desk.branch
    before = policy.choose_next(branch.counters[1], branch.waiting, at(19.9), branch.services)
    assert before.id == appt.id  # ahead while ranked as a regular
    assert desk.call(1, 20).id == appt.id  # and must not fall behind once the slot comes


def test_accumulating_priority_scores(at):
    policy = AccumulatingPriority()
    day = date(2026, 11, 28)
    regular = Ticket(1, "A001", "cash", day, at(0), at(0))
    care = Ticket(2, "A002", "cash", day, at(0), at(0), priority=PriorityClass.CARE)
    vip3 = Ticket(3, "A003", "cash", day, at(0), at(0), priority=PriorityClass.VIP, vip_tier=3)
    assert policy.score(regular, at(10)) == pytest.approx(10)
    assert policy.score(care, at(10)) == pytest.approx(16)
    assert policy.score(vip3, at(10)) == pytest.approx(20)
    assert policy.score(regular, at(-5)) == 0  # a clock step back never goes negative
    assert policy.name == "accumulating"


@given(
    arrived=st.floats(min_value=-30, max_value=300),
    now=st.floats(min_value=0, max_value=400),
    priority=st.sampled_from(list(PriorityClass)),
    tier=st.integers(min_value=1, max_value=3),
    slot=st.floats(min_value=0, max_value=300),
)
def test_the_fast_scorer_agrees_with_score(arrived, now, priority, tier, slot):
    policy = AccumulatingPriority()
    base = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    ticket = Ticket(
        1,
        "A001",
        "cash",
        date(2026, 11, 28),
        base + timedelta(minutes=arrived),
        base + timedelta(minutes=arrived),
        priority=priority,
        vip_tier=tier if priority is PriorityClass.VIP else 0,
        appointment_slot=base + timedelta(minutes=slot),
    )
    moment = base + timedelta(minutes=now)
    # Timestamps carry microseconds, not 1e-11 relative precision: 1e-5 minutes is 0.6 ms.
    assert policy.scorer(moment)(ticket) == pytest.approx(policy.score(ticket, moment), abs=1e-5)
