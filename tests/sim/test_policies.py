"""Each named calling policy on tiny hand-built queues whose right answer is known."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from queue_server.domain import Counter, CounterState, PriorityClass, Service, Skill, Ticket
from queue_server.domain.policies import POLICY_NAMES, SlaAware, StrictPriority, policy_by_name

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
SERVICES = {
    "A": Service("A", "A", {"en": "Cash"}, target_wait_s=600),
    "B": Service("B", "B", {"en": "Other"}, target_wait_s=600),
}
CASH = Counter(1, "1", state=CounterState.OPEN, skills=(Skill("A"),))
_ids = iter(range(1, 10_000))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ticket(
    arrived: float,
    service: str = "A",
    priority: PriorityClass = PriorityClass.REGULAR,
    *,
    slot: float | None = None,
    target_counter: int | None = None,
) -> Ticket:
    tid = next(_ids)
    return Ticket(
        id=tid,
        number=f"{service}{tid:03d}",
        service=service,
        business_day=date(2026, 11, 28),
        arrived_at=at(arrived),
        issued_at=at(arrived),
        priority=priority,
        vip_tier=1 if priority is PriorityClass.VIP else 0,
        appointment_slot=at(slot) if slot is not None else None,
        target_counter=target_counter,
    )


def choose(name: str, waiting: list[Ticket], now: float, counter: Counter = CASH) -> Ticket | None:
    return policy_by_name(name).choose_next(counter, waiting, at(now), SERVICES)


def test_fifo_calls_the_earliest_arrival_whatever_the_class():
    regular, vip = ticket(0), ticket(1, priority=PriorityClass.VIP)
    assert choose("fifo", [vip, regular], 3) is regular


def test_strict_calls_by_class_then_arrival():
    regular, care = ticket(0), ticket(1, priority=PriorityClass.CARE)
    vip1, vip2 = ticket(2, priority=PriorityClass.VIP), ticket(3, priority=PriorityClass.VIP)
    waiting = [regular, care, vip2, vip1]
    assert choose("strict", waiting, 4) is vip1
    order = StrictPriority().queue_order(waiting, at(4), SERVICES)
    assert order == [vip1, vip2, care, regular]


def test_sla_calls_whoever_is_closest_to_missing_their_target():
    regular = ticket(0)  # target 10 min: 6 left at minute 4
    vip = ticket(2, priority=PriorityClass.VIP)  # target 5 min: 3 left
    assert choose("sla", [regular, vip], 4) is vip
    later_vip = ticket(6, priority=PriorityClass.VIP)  # at minute 7: 4 left; the regular 3
    assert choose("sla", [regular, later_vip], 7) is regular
    late_regular = ticket(-20)  # 24 min waited: furthest past the target
    assert choose("sla", [late_regular, vip], 4) is late_regular


def test_sla_targets_per_class_are_parameters():
    policy = SlaAware(class_targets={PriorityClass.VIP: 30.0})
    regular, vip = ticket(0), ticket(1, priority=PriorityClass.VIP)
    assert policy.choose_next(CASH, [vip, regular], at(2), SERVICES) is regular


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_every_policy_calls_only_what_the_counter_serves(name):
    other = ticket(0, "B")
    assert choose(name, [other], 30) is None
    cash = ticket(5)
    assert choose(name, [other, cash], 30) is cash


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_every_policy_takes_an_overflow_business_only_when_it_is_over_target(name):
    counter = Counter(
        2, "2", state=CounterState.OPEN, skills=(Skill("A"), Skill("B", overflow=True))
    )
    other = ticket(0, "B")
    assert choose(name, [other], 10, counter) is None  # exactly at its 10 min target
    assert choose(name, [other], 10.5, counter) is other


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_every_policy_keeps_a_transfer_to_one_counter_for_that_counter(name):
    transferred = ticket(-30, target_counter=7)
    assert choose(name, [transferred], 0) is None
    seven = Counter(7, "7", state=CounterState.OPEN, skills=())
    assert choose(name, [transferred], 0, seven) is transferred


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_every_policy_weighs_a_counters_secondary_business(name):
    counter = Counter(3, "3", state=CounterState.OPEN, skills=(Skill("A", 1.0), Skill("B", 0.5)))
    first, second = ticket(4, "A"), ticket(2.5, "B")  # B waited longer, but at half weight
    assert choose(name, [second, first], 6, counter) is first


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_every_policy_boosts_an_appointment_from_its_slot(name):
    regular = ticket(0)
    booked = ticket(1, priority=PriorityClass.APPOINTMENT, slot=6)
    assert choose(name, [booked, regular], 5) is regular  # early: waits as a regular
    assert choose(name, [booked, regular], 6.5) is booked  # from the slot: ahead


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_every_policy_drops_the_boost_of_a_late_appointment(name):
    regular = ticket(40)
    late = ticket(45, priority=PriorityClass.APPOINTMENT, slot=30)  # grace is 10 min
    assert choose(name, [late, regular], 46) is regular


@pytest.mark.parametrize("name", ["accumulating", "sla"])
def test_a_flood_of_vips_does_not_starve_a_regular(name):
    regular = ticket(0)
    # Fresh VIPs keep arriving, one a minute; the regular goes first once they have waited
    # longer than the VIP head start (accumulating) or the target gap (SLA) allows.
    flood = [ticket(29.0 - i, priority=PriorityClass.VIP) for i in range(3)]
    assert choose(name, [*flood, regular], 30) is regular


def test_strict_priority_starves_a_regular_under_a_flood_of_vips():
    regular = ticket(0)
    flood = [ticket(29.0 - i, priority=PriorityClass.VIP) for i in range(3)]
    assert choose("strict", [*flood, regular], 300) is not regular


def test_policies_are_found_by_name():
    for name in POLICY_NAMES:
        assert policy_by_name(name).name == name
    with pytest.raises(ValueError, match="unknown calling policy"):
        policy_by_name("random")
