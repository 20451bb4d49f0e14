"""position() and the naive ETA baseline: people ahead × mean service ÷ open counters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.domain import PriorityClass, TicketState
from queue_server.domain.policies import POLICY_NAMES, AccumulatingPriority, policy_by_name
from tests.domain.conftest import T0, _make_branch


@pytest.fixture
def hall(desk):
    """Cash regulars at 0, 1, 2; a cash VIP at 3; one account customer at 0."""
    tickets = {
        "r0": desk.issue("cash", 0),
        "r1": desk.issue("cash", 1),
        "r2": desk.issue("cash", 2),
        "vip": desk.issue("cash", 3, PriorityClass.VIP),
        "acct": desk.issue("account", 0),
    }
    return tickets


def test_position_counts_the_same_business_in_policy_order(branch, hall, at):
    # At 4: VIP 5 + 2×1 = 7, then the regulars by arrival (4, 3, 2).
    positions = {name: branch.position(t, at(4)) for name, t in hall.items()}
    assert positions == {"vip": 0, "r0": 1, "r1": 2, "r2": 3, "acct": 0}


def test_a_care_customer_ranks_as_if_arrived_six_minutes_earlier(branch, hall, at):
    # Equal accrual rates: a care customer issued at 8 ranks as an arrival at 2. It ties with
    # r2 (arrived at 2), who stays ahead by real arrival; the VIP, r0 and r1 are ahead too.
    care = branch.run(
        lambda: branch.issue_ticket("cash", at(8), priority=PriorityClass.CARE)
    ).result
    assert branch.position(care, at(8)) == 4
    assert branch.position(care, at(60)) == 4  # the order does not drift with the clock
    earlier = branch.run(
        lambda: branch.issue_ticket("cash", at(7.5), priority=PriorityClass.CARE)
    ).result
    assert branch.position(earlier, at(8)) == 3  # ranks as an arrival at 1.5: before r2


def test_position_drops_as_customers_ahead_are_called(branch, desk, hall, at):
    assert branch.position(hall["r2"], at(4)) == 3
    desk.call(1, 4)
    assert branch.position(hall["r2"], at(4)) == 2
    branch.run(lambda: branch.cancel_ticket(hall["r0"].id, at(4)))
    assert branch.position(hall["r2"], at(4)) == 1


def test_a_ticket_at_a_counter_or_finished_has_nobody_ahead(branch, desk, hall, at):
    called = desk.call(1, 4)
    assert called.state is TicketState.CALLED
    assert branch.position(called, at(4)) == 0
    assert branch.naive_eta_s(called, at(4)) == 0.0
    desk.serve(1, 5)
    done = desk.finish(1, 6)
    assert branch.position(done, at(6)) == 0
    assert branch.naive_eta_s(done, at(6)) == 0.0


def test_naive_eta_divides_by_open_regular_counters(branch, hall, at):
    r2 = hall["r2"]
    # Cash: counter 1 open; counter 2 has cash only as overflow; counter 4 closed.
    assert branch.serving_counters("cash") == 1
    assert branch.naive_eta_s(r2, at(4)) == 3 * 300 / 1
    assert branch.naive_eta_s(hall["vip"], at(4)) == 0.0
    assert branch.naive_eta_s(hall["acct"], at(4)) == 0.0

    branch.run(lambda: branch.sign_in(4, "s4", at(4)))
    assert branch.serving_counters("cash") == 2
    assert branch.naive_eta_s(r2, at(4)) == 3 * 300 / 2

    branch.run(lambda: branch.pause_counter(1, at(4), reason="break"))
    assert branch.naive_eta_s(r2, at(4)) == 3 * 300 / 1

    branch.run(lambda: branch.close_counter(4, at(4)))
    assert branch.serving_counters("cash") == 0
    assert branch.naive_eta_s(r2, at(4)) is None
    assert branch.position(r2, at(4)) == 3  # still in the queue: only the ETA is unknown


def test_naive_eta_uses_the_service_mean(branch, desk, at):
    tickets = [desk.issue("account", minute) for minute in range(3)]
    assert branch.naive_eta_s(tickets[2], at(3)) == 2 * 600
    branch.run(lambda: branch.update_service("account", at(3), mean_service_s=240))
    assert branch.naive_eta_s(tickets[2], at(3)) == 2 * 240


def test_a_transferred_leg_counts_in_its_new_business(branch, desk, hall, at):
    desk.call(1, 4)  # the VIP
    leg = branch.run(lambda: branch.transfer(1, at(5), to_service="account")).result
    # The leg keeps the VIP's arrival (3) and class: 5 + 2×3 = 11 beats acct (6).
    assert branch.position(leg, at(6)) == 0
    assert branch.position(hall["acct"], at(6)) == 1
    assert branch.naive_eta_s(hall["acct"], at(6)) == 1 * 600


# Each generated ticket: business, class, VIP tier, arrival second, appointment slot offset.
_tickets = st.lists(
    st.tuples(
        st.sampled_from(["cash", "account"]),
        st.sampled_from(list(PriorityClass)),
        st.integers(1, 3),
        st.integers(0, 3600),
        st.integers(-1800, 1800),
    ),
    max_size=40,
)


@pytest.mark.parametrize("policy_name", POLICY_NAMES)
@settings(max_examples=60, deadline=None)
@given(tickets=_tickets, later_s=st.integers(0, 7200), leave=st.sets(st.integers(0, 39)))
def test_positions_from_the_sorted_index_match_the_policys_order(
    policy_name, tickets, later_s, leave
):
    # The index answers in O(log n) what sorting the queue answers; both must agree for
    # every policy, with appointments whose place moves with the time among the others.
    branch = _make_branch()
    branch.policy = policy_by_name(policy_name)
    issued = []
    for i, (service, cls, tier, second, slot_s) in enumerate(tickets):
        # A distinct microsecond per ticket: ties by rank key are left to the tie-break rule
        # (arrival, id), which both sides share; float rounding of exact ties is not tested.
        arrived = T0 + timedelta(seconds=second, microseconds=7 * (i + 1))
        kw = {"vip_tier": tier} if cls is PriorityClass.VIP else {}
        if cls is PriorityClass.APPOINTMENT:
            kw["appointment_slot"] = arrived + timedelta(seconds=slot_s)
        change = branch.issue_ticket(service, arrived, priority=cls, **kw)
        branch.apply(change)
        issued.append(change.result)
    now = T0 + timedelta(seconds=3600 + later_s)
    for i in sorted(leave):
        if i < len(issued):
            branch.apply(branch.cancel_ticket(issued[i].id, now))
    for service in ("cash", "account"):
        same = [t for t in branch.waiting if t.service == service]
        order = branch.policy.queue_order(same, now, branch.services)
        for place, ticket in enumerate(order):
            assert branch.position(ticket, now) == place, (policy_name, ticket)


def test_a_position_does_not_sort_the_queue(make_branch, at):
    # c8f3adb sorted the business's whole queue for every position asked (each issue asks
    # for the newcomer's): 73 % of the server's CPU with 4,000 waiting.
    sorted_queues = []

    class Watched(AccumulatingPriority):
        def queue_order(self, waiting, now, services):
            sorted_queues.append(len(waiting))
            return super().queue_order(waiting, now, services)

    branch = make_branch()
    branch.policy = Watched()
    tickets = []
    for i, cls in enumerate([PriorityClass.REGULAR, PriorityClass.CARE] * 500):
        change = branch.issue_ticket("cash", at(i / 10), priority=cls)
        branch.apply(change)
        tickets.append(change.result)
    assert branch.position(tickets[-1], at(200)) == 999 - 30  # 30 regulars: under 6 minutes
    assert branch.position(tickets[0], at(200)) == 30  # the care customers of its first 6 min
    assert sorted_queues == []


def test_a_frozen_copy_has_every_part_of_the_branch_and_is_left_alone(branch, desk, at):
    # The wait predictor reads the copy on its own thread while the loop changes the branch.
    desk.issue("cash", 0)
    copy = branch.frozen_copy()
    assert set(vars(copy)) == set(vars(branch))
    desk.issue("cash", 1)
    desk.call(1, 2)
    assert len(copy.waiting) == 1 and len(branch.waiting) == 1
    assert len(copy.tickets) == 1 and len(branch.tickets) == 2
    assert copy.active_ticket(1) is None and branch.active_ticket(1) is not None


def test_the_open_only_copy_holds_just_what_a_prediction_reads(branch, desk, at):
    waiting = desk.issue("cash", 0)
    desk.issue("cash", 1)
    called = desk.call(1, 2)
    done = desk.issue("account", 3)
    desk.call(2, 4)
    desk.serve(2, 5)
    finished = desk.finish(2, 6)
    assert finished.id == done.id
    copy = branch.frozen_copy(open_only=True)
    assert set(vars(copy)) == set(vars(branch))
    assert set(copy.tickets) == {called.id, waiting.id + 1}  # at counter 1, and waiting
    assert copy.appointments == {} and copy.idempotency == {}
