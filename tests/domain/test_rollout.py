"""The lookahead (rollout) policy on hand-built halls where the right call is clear."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from queue_server.domain import (
    Counter,
    CounterState,
    PriorityClass,
    Service,
    Skill,
    Ticket,
    TicketState,
)
from queue_server.domain.policies import (
    Forecast,
    Hall,
    Rollout,
    eligible,
    policy_by_name,
)
from queue_server.simulation.compare import FLOOD_CLASSES, flood_wait_min

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
DAY = date(2026, 11, 28)
VIP, CARE, REGULAR = PriorityClass.VIP, PriorityClass.CARE, PriorityClass.REGULAR
SERVICES = {
    "cash": Service("cash", "A", {"en": "Cash"}, target_wait_s=600, mean_service_s=300),
    "loan": Service("loan", "L", {"en": "Loans"}, target_wait_s=900, mean_service_s=1800),
}


def ticket(tid: int, service: str, waited_min: float, cls: PriorityClass = REGULAR, **kw) -> Ticket:
    at = NOW - timedelta(minutes=waited_min)
    tier = 1 if cls is VIP else 0
    return Ticket(tid, f"T{tid}", service, DAY, at, at, cls, tier, **kw)


def window(number: int, *services: str, overflow: tuple[str, ...] = ()) -> Counter:
    skills = tuple(Skill(s) for s in services) + tuple(Skill(s, overflow=True) for s in overflow)
    return Counter(
        number, f"W{number}", state=CounterState.OPEN, staff_id=f"s{number}", skills=skills
    )


def serving(tid: int, service: str, number: int, started_min_ago: float) -> Ticket:
    began = NOW - timedelta(minutes=started_min_ago)
    return Ticket(
        tid,
        f"S{tid}",
        service,
        DAY,
        began,
        began,
        state=TicketState.SERVING,
        called_at=began,
        serving_at=began,
        counter=number,
    )


def rollout(base: str = "fifo", **kw) -> Rollout:
    policy = policy_by_name("rollout", base=base)
    assert isinstance(policy, Rollout)
    return replace(policy, **kw)


def test_a_vip_about_to_miss_goes_before_a_regular_far_from_target():
    me = window(1, "cash")
    regular = ticket(1, "cash", 4.5)  # 5.5 minutes left before their 10-minute target
    vip = ticket(2, "cash", 4.0, VIP)  # 1 minute left before their 5-minute target
    hall = Hall(NOW, {1: me}, {}, SERVICES)
    policy = rollout("fifo")
    assert policy.base.choose_next(me, [regular, vip], NOW, SERVICES) is regular  # FIFO's call
    assert policy.choose_in_hall(hall, me, [regular, vip]) is vip


def test_a_long_service_waits_when_priority_customers_are_certain_to_arrive():
    # Window 1 serves cash and loans; window 2, loans only, is about to finish its customer.
    # FIFO would start the 30-minute loan at window 1 and leave the VIPs the forecast brings
    # every other minute with no window for half an hour; the lookahead calls the cash
    # customer and lets the loan go to window 2 in a minute or two.
    me, other = window(1, "cash", "loan"), window(2, "loan")
    loan = ticket(1, "loan", 6.0)
    cash = ticket(2, "cash", 1.0)
    forecast = Forecast({("cash", VIP): 0.5})
    hall = Hall(NOW, {1: me, 2: other}, {2: serving(9, "loan", 2, 29.0)}, SERVICES, forecast)
    policy = rollout("fifo")
    assert policy.base.choose_next(me, [loan, cash], NOW, SERVICES) is loan
    assert policy.choose_in_hall(hall, me, [loan, cash]) is cash


def test_with_nothing_to_gain_the_base_policy_calls():
    me = window(1, "cash")
    first, second = ticket(1, "cash", 2.0), ticket(2, "cash", 1.0)
    hall = Hall(NOW, {1: me}, {}, SERVICES)
    # Both far from target and the same business: neither order misses, the waits tie.
    assert rollout("fifo").choose_in_hall(hall, me, [first, second]) is first


def random_hall(seed: int) -> tuple[Hall, Counter, list[Ticket]]:
    """A busy hall with transfers, overflow skills and businesses the caller does not serve."""
    rng = random.Random(seed)
    counters = {
        1: window(1, "cash", overflow=("loan",)),
        2: window(2, "loan"),
        3: window(3, "cash", "loan"),
        4: replace(window(4, "cash"), state=CounterState.CLOSED),
    }
    waiting = []
    for tid in range(1, rng.randrange(2, 60)):
        cls = rng.choice([REGULAR, REGULAR, REGULAR, VIP, CARE])
        target = rng.choice([None, None, None, None, 1, 2, 3, 4])
        waiting.append(
            ticket(
                tid, rng.choice(["cash", "loan"]), rng.uniform(0, 40), cls, target_counter=target
            )
        )
    serving_now = {2: serving(500, "loan", 2, rng.uniform(0, 40))}
    forecast = Forecast({("cash", VIP): rng.uniform(0, 0.5), ("loan", REGULAR): 0.1})
    me = counters[rng.choice([1, 3])]
    return Hall(NOW, counters, serving_now, SERVICES, forecast), me, waiting


@pytest.mark.parametrize("base", ["fifo", "sla", "accumulating", "strict"])
def test_it_only_ever_calls_a_ticket_the_counter_may_call(base):
    policy = rollout(base, guard=float("inf"))
    for seed in range(40):
        hall, me, waiting = random_hall(seed)
        chosen = policy.choose_in_hall(hall, me, waiting)
        allowed = {t.id for t, _ in eligible(me, waiting, NOW, SERVICES)}
        if not allowed:
            assert chosen is None
        else:
            assert chosen is not None and chosen.id in allowed


def test_the_same_state_gets_the_same_call_whatever_order_the_queue_comes_in():
    policy = rollout("sla", guard=float("inf"))
    for seed in range(15):
        hall, me, waiting = random_hall(seed)
        first = policy.choose_in_hall(hall, me, waiting)
        shuffled = list(waiting)
        random.Random(seed).shuffle(shuffled)
        again = policy.choose_in_hall(hall, me, shuffled)
        assert (first and first.id) == (again and again.id)


def test_an_overdue_base_choice_is_called_without_lookahead():
    me = window(1, "cash")
    old = ticket(1, "cash", 25.0)  # 2.5 × the 10-minute target
    vip = ticket(2, "cash", 4.5, VIP)
    hall = Hall(NOW, {1: me}, {}, SERVICES)
    assert rollout("fifo").choose_in_hall(hall, me, [old, vip]) is old
    assert rollout("fifo", guard=float("inf")).choose_in_hall(hall, me, [old, vip]) is vip


@pytest.mark.parametrize("base", ["sla", "accumulating"])
def test_no_class_starves_under_a_flood(base):
    policy = rollout(base)
    for cls in FLOOD_CLASSES:
        assert flood_wait_min(policy, cls) is not None


def test_no_starvation_when_the_forecast_promises_the_flood_too():
    # flood_wait_min asks choose_next (no forecast); here the hall knows a VIP comes every
    # minute, which makes every regular call look like a miss for the next VIP.
    policy = rollout("sla")
    me = window(1, "cash")
    services = {"cash": replace(SERVICES["cash"], mean_service_s=60)}
    forecast = Forecast({("cash", VIP): 1.0})
    regular = ticket(1, "cash", 0.0)
    waiting = [regular]
    for minute in range(480):
        now = NOW + timedelta(minutes=minute)
        arrived = Ticket(minute + 2, "V", "cash", DAY, now, now, VIP, 1)
        waiting.append(arrived)
        chosen = policy.choose_in_hall(Hall(now, {1: me}, {}, services, forecast), me, waiting)
        if chosen is regular:
            assert minute <= 2 * 10 + 1  # the guard: twice the regular target
            return
        waiting = [t for t in waiting if t is not chosen]
    pytest.fail("the regular customer was never called")
