"""Generalized cμ and the window reservation on hand-built halls whose right answer is known."""

from __future__ import annotations

from dataclasses import replace

from queue_server.domain import Counter, CounterState, PriorityClass, Service, Skill, Ticket
from queue_server.domain.policies import Forecast, GcMu, Hall, Reserving, policy_by_name
from queue_server.simulation.compare import flood_wait_min
from tests.sim.test_policies import at, ticket

VIP, CARE, REGULAR = PriorityClass.VIP, PriorityClass.CARE, PriorityClass.REGULAR
SERVICES = {
    "A": Service("A", "A", {"en": "Cash"}, target_wait_s=600, mean_service_s=240),
    "B": Service("B", "B", {"en": "Other"}, target_wait_s=600, mean_service_s=360),
    "L": Service("L", "L", {"en": "Loans"}, target_wait_s=900, mean_service_s=1800),
    "W": Service("W", "W", {"en": "Wealth"}, target_wait_s=600, mean_service_s=900),
}
TELLER = Counter(1, "1", state=CounterState.OPEN, skills=(Skill("A"), Skill("B")))


def advisor(number: int) -> Counter:
    return Counter(number, str(number), state=CounterState.OPEN, skills=(Skill("L"), Skill("W")))


def test_cmu_calls_the_shorter_service_at_equal_urgency():
    cash, other = ticket(0, "A"), ticket(0, "B")  # same wait, same target; cash takes 4 min
    assert GcMu().choose_next(TELLER, [other, cash], at(3), SERVICES) is cash
    # ... but a customer much nearer their target outweighs the shorter service.
    late_other = ticket(-9, "B")
    assert GcMu().choose_next(TELLER, [cash, late_other], at(0), SERVICES) is late_other


def test_cmu_cost_rises_with_the_wait_against_the_class_target():
    policy = GcMu()
    vip = ticket(0, "A", VIP)  # target 5: nearer their target after 3 minutes
    regular = ticket(-3, "A")  # target 10, waited 6 at minute 3
    assert policy.choose_next(TELLER, [regular, vip], at(3), SERVICES) is vip
    # the cost rate grows convexly: each further minute costs more than the one before
    start, first, second = (policy.index(vip, at(m), SERVICES)[1] for m in (0, 2, 4))
    assert second - first > first - start > 0


def test_cmu_honours_appointments_first_and_breaks_ties_by_arrival():
    booked = ticket(0, "B", PriorityClass.APPOINTMENT, slot=0)
    vip = ticket(-4, "A", VIP)
    assert GcMu().choose_next(TELLER, [vip, booked], at(1), SERVICES) is booked
    early, later = ticket(0, "A"), ticket(0, "A")
    assert GcMu().choose_next(TELLER, [later, early], at(2), SERVICES) is early


def test_cmu_past_its_guard_a_customer_goes_ahead_by_deadline():
    policy = GcMu(guard=3.0)
    loan = ticket(-31, "L")  # target 15 (the business's): guard at 45 minutes, not yet
    cash = ticket(-29, "A")  # target 10: past its guard at 30
    counter = Counter(2, "2", state=CounterState.OPEN, skills=(Skill("A"), Skill("L")))
    fresh_vip = ticket(0, "A", VIP)  # a far higher cμ index than either, but not late
    assert policy.choose_next(counter, [loan, cash, fresh_vip], at(1), SERVICES) is cash
    # Both past: the earlier deadline (arrival + 3 × target) first: cash at 1, loan at 14.
    assert policy.choose_next(counter, [loan, cash], at(15), SERVICES) is cash
    late_vip = ticket(-15, "A", VIP)  # arrived later than cash, but its deadline is 0
    assert policy.choose_next(counter, [loan, cash, late_vip], at(15), SERVICES) is late_vip


def test_cmu_never_starves_under_a_flood_of_vips_or_care():
    for name in ("cmu", "reserve"):
        policy = policy_by_name(name)
        for flood in (VIP, CARE):
            waited = flood_wait_min(policy, flood)
            # at the latest at the guard (6 × the target of 10), whatever the weights
            assert waited is not None and waited <= 60
    # With the weights so heavy that only the guard can save the regular customer:
    heavy = GcMu(class_weights={VIP: 1e9, CARE: 1e9})
    assert flood_wait_min(heavy, VIP) == 60


def serving(since: float, service: str = "L") -> Ticket:
    """The customer a window has served since minute `since`."""
    return replace(ticket(since - 1, service), called_at=at(since), serving_at=at(since))


def hall(now: float, serving: dict[int, Ticket], forecast: Forecast, *counters: Counter) -> Hall:
    return Hall(at(now), {c.number: c for c in counters}, serving, SERVICES, forecast)


BUSY_VIP_RATE = Forecast({("W", VIP): 0.1})  # one VIP every 10 minutes


def test_a_shared_window_keeps_itself_for_a_likely_vip_rather_than_start_a_loan():
    me, other = advisor(6), advisor(7)
    loan = ticket(0, "L")
    other_busy = {7: serving(-1)}  # the other advisor: ~29 minutes of a loan to go
    seen = hall(1, other_busy, BUSY_VIP_RATE, me, other)
    assert Reserving().choose_in_hall(seen, me, [loan]) is None
    # A VIP is served at once; cμ alone would have started the loan.
    vip = ticket(1, "W", VIP)
    assert Reserving().choose_in_hall(seen, me, [loan, vip]) is vip
    assert GcMu().choose_next(me, [loan], at(1), SERVICES) is loan


def test_no_reservation_when_another_window_is_free_in_time_or_vips_are_rare():
    me, other = advisor(6), advisor(7)
    loan = ticket(0, "L")
    almost_done = {7: serving(-28)}  # expected free in ~3 minutes, within the VIP target
    assert Reserving().choose_in_hall(hall(1, almost_done, BUSY_VIP_RATE, me, other), me, [loan])
    rare = Forecast({("W", VIP): 0.002})
    other_busy = {7: serving(-1)}
    assert Reserving().choose_in_hall(hall(1, other_busy, rare, me, other), me, [loan]) is loan


def test_a_booked_slot_inside_the_loan_makes_the_window_wait():
    me, other = advisor(6), advisor(7)
    loan = ticket(0, "L")
    other_busy = {7: serving(-1)}
    booked = Forecast(bookings=(("W", at(15)),))
    assert Reserving().choose_in_hall(hall(1, other_busy, booked, me, other), me, [loan]) is None
    beyond = Forecast(bookings=(("W", at(40)),))  # after the loan would be done
    assert Reserving().choose_in_hall(hall(1, other_busy, beyond, me, other), me, [loan]) is loan


def test_a_declined_customer_is_called_once_their_own_target_is_reached():
    me, other = advisor(6), advisor(7)
    loan = ticket(0, "L")  # target 15 (the loan business's; the policy has no regular one)
    policy = Reserving()
    for minute in (1, 8, 14.9):
        seen = hall(minute, {7: serving(minute - 1)}, BUSY_VIP_RATE, me, other)
        assert policy.choose_in_hall(seen, me, [loan]) is None
    seen = hall(15, {7: serving(14)}, BUSY_VIP_RATE, me, other)
    assert policy.choose_in_hall(seen, me, [loan]) is loan


def test_a_declining_window_calls_a_short_service_instead():
    desk = Counter(4, "4", state=CounterState.OPEN, skills=(Skill("L"), Skill("A"), Skill("W")))
    other = advisor(7)
    loan, cash = ticket(-12, "L"), ticket(0, "A")  # cμ prefers the loan (near its target)
    seen = hall(1, {7: serving(0)}, BUSY_VIP_RATE, desk, other)
    assert GcMu().choose_next(desk, [loan, cash], at(1), SERVICES) is loan
    assert Reserving().choose_in_hall(seen, desk, [loan, cash]) is cash
