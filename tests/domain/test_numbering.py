"""Business day, ticket numbering, rollover, restart and forgetting closed days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from queue_server.domain import (
    Branch,
    DomainError,
    TicketState,
    business_day,
    format_number,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ------------------------------------------------------------------ business day

BUSINESS_DAYS = [
    # time zone, day starts at, instant (UTC), business day
    ("Asia/Shanghai", time(4), utc(2026, 11, 28, 19, 59), date(2026, 11, 28)),  # 03:59 on 29th
    ("Asia/Shanghai", time(4), utc(2026, 11, 28, 20, 0), date(2026, 11, 29)),  # 04:00 on 29th
    ("Asia/Shanghai", time(4), utc(2026, 11, 28, 15, 59, 59), date(2026, 11, 28)),  # 23:59:59
    ("Asia/Shanghai", time(4), utc(2026, 11, 28, 16, 0), date(2026, 11, 28)),  # local midnight
    ("Asia/Shanghai", time(0), utc(2026, 11, 28, 15, 59), date(2026, 11, 28)),
    ("Asia/Shanghai", time(0), utc(2026, 11, 28, 16, 0), date(2026, 11, 29)),
    ("Asia/Shanghai", time(6, 30), utc(2026, 11, 28, 22, 29), date(2026, 11, 28)),
    ("Asia/Shanghai", time(6, 30), utc(2026, 11, 28, 22, 30), date(2026, 11, 29)),
    # London: GMT in winter, BST in summer, and both change-over days.
    ("Europe/London", time(4), utc(2026, 1, 15, 3, 59), date(2026, 1, 14)),
    ("Europe/London", time(4), utc(2026, 1, 15, 4, 0), date(2026, 1, 15)),
    ("Europe/London", time(4), utc(2026, 7, 1, 2, 59), date(2026, 6, 30)),
    ("Europe/London", time(4), utc(2026, 7, 1, 3, 0), date(2026, 7, 1)),
    ("Europe/London", time(4), utc(2026, 3, 29, 2, 59), date(2026, 3, 28)),  # clocks go forward
    ("Europe/London", time(4), utc(2026, 3, 29, 3, 0), date(2026, 3, 29)),
    ("Europe/London", time(4), utc(2026, 10, 25, 3, 59), date(2026, 10, 24)),  # clocks go back
    ("Europe/London", time(4), utc(2026, 10, 25, 4, 0), date(2026, 10, 25)),
    # New York: EST (UTC-5) in winter, EDT (UTC-4) in summer.
    ("America/New_York", time(4), utc(2026, 1, 15, 8, 59), date(2026, 1, 14)),
    ("America/New_York", time(4), utc(2026, 1, 15, 9, 0), date(2026, 1, 15)),
    ("America/New_York", time(4), utc(2026, 7, 1, 7, 59), date(2026, 6, 30)),
    ("America/New_York", time(4), utc(2026, 7, 1, 8, 0), date(2026, 7, 1)),
    ("America/New_York", time(4), utc(2026, 11, 1, 8, 59), date(2026, 10, 31)),  # clocks go back
    ("America/New_York", time(4), utc(2026, 11, 1, 9, 0), date(2026, 11, 1)),
]


@pytest.mark.parametrize(("tz", "starts", "instant", "expected"), BUSINESS_DAYS)
def test_business_day_rolls_over_at_the_local_start(tz, starts, instant, expected):
    assert business_day(instant, tz, starts) == expected
    # The same instant expressed in another zone is the same business day.
    assert business_day(instant.astimezone(ZoneInfo("Pacific/Auckland")), tz, starts) == expected


def test_business_day_needs_an_aware_datetime():
    with pytest.raises(ValueError, match="aware"):
        business_day(datetime(2026, 11, 28, 12, 0), "Asia/Shanghai", time(4))


def test_branch_uses_its_settings_for_the_business_day(make_branch):
    shanghai = make_branch()
    london = make_branch(timezone="Europe/London")
    early = make_branch(day_starts_at=time(2))
    instant = utc(2026, 11, 28, 19, 0)  # 03:00 in Shanghai on the 29th, 19:00 in London
    assert shanghai.business_day(instant) == date(2026, 11, 28)
    assert london.business_day(instant) == date(2026, 11, 28)
    assert early.business_day(instant) == date(2026, 11, 29)


@pytest.mark.parametrize(
    ("prefix", "sequence", "number"),
    [("A", 1, "A001"), ("A", 23, "A023"), ("B", 999, "B999"), ("A", 1000, "A1000"),
     ("V", 12345, "V12345")],
)  # fmt: skip
def test_format_number(prefix, sequence, number):
    assert format_number(prefix, sequence) == number


# --------------------------------------------------------------------- numbering


def test_numbers_run_per_prefix(desk):
    numbers = [
        desk.issue(service, minute).number
        for minute, service in enumerate(["cash", "cash", "account", "cash", "wealth", "account"])
    ]
    assert numbers == ["A001", "A002", "B001", "A003", "C001", "B002"]
    ids = [t.id for t in desk.branch.tickets.values()]
    assert ids == list(range(1, 7))
    assert {t.business_day for t in desk.branch.tickets.values()} == {date(2026, 11, 28)}


def test_numbers_grow_to_four_digits_after_999(make_branch, at):
    branch = make_branch()
    day = branch.business_day(at(0))
    branch.numbering[(day, "A")] = 997
    numbers = [branch.run(lambda: branch.issue_ticket("cash", at(0))).result.number]
    for minute in range(1, 4):
        numbers.append(
            branch.run(lambda m=minute: branch.issue_ticket("cash", at(m))).result.number
        )
    assert numbers == ["A998", "A999", "A1000", "A1001"]
    assert branch.numbering[(day, "A")] == 1001
    assert branch.run(lambda: branch.issue_ticket("account", at(5))).result.number == "B001"


def test_numbering_restarts_on_a_new_business_day(desk):
    branch = desk.branch
    evening = utc(2026, 11, 28, 19, 58)  # 03:58 Shanghai: still business day 2026-11-28
    for minute in range(2):
        desk.issue("cash", evening + timedelta(seconds=minute))
    desk.issue("account", evening)
    for counter in (1, 1, 2):
        desk.complete(counter, utc(2026, 11, 28, 19, 59))
    assert all(t.state is TicketState.DONE for t in branch.tickets.values())

    first = desk.issue("cash", utc(2026, 11, 28, 20, 0))  # 04:00 Shanghai: a new day
    assert (first.number, first.business_day) == ("A001", date(2026, 11, 29))
    assert desk.issue("account", utc(2026, 11, 28, 20, 1)).number == "B001"
    assert desk.issue("cash", utc(2026, 11, 28, 20, 2)).number == "A002"
    assert branch.numbering[(date(2026, 11, 28), "A")] == 2
    assert branch.numbering[(date(2026, 11, 29), "A")] == 2


@pytest.mark.parametrize(
    ("tz", "before", "after"),
    [
        ("Asia/Shanghai", utc(2026, 7, 1, 19, 59), utc(2026, 7, 1, 20, 0)),
        ("Europe/London", utc(2026, 7, 1, 2, 59), utc(2026, 7, 1, 3, 0)),
        ("Europe/London", utc(2026, 1, 15, 3, 59), utc(2026, 1, 15, 4, 0)),
        ("America/New_York", utc(2026, 7, 1, 7, 59), utc(2026, 7, 1, 8, 0)),
        ("America/New_York", utc(2026, 1, 15, 8, 59), utc(2026, 1, 15, 9, 0)),
    ],
)
def test_each_time_zone_rolls_over_at_its_own_local_time(make_desk, tz, before, after):
    desk = make_desk(timezone=tz)
    late = desk.issue("cash", before)
    desk.complete(1, before)
    fresh = desk.issue("cash", after)
    assert late.number == fresh.number == "A001"
    assert fresh.business_day == late.business_day + timedelta(days=1)
    # A branch in another zone is still on the same business day at both instants.
    other = make_desk(timezone="Pacific/Honolulu" if tz != "Pacific/Honolulu" else "UTC")
    assert other.issue("cash", before).business_day == other.issue("cash", after).business_day


def test_a_ticket_open_across_the_rollover(desk):
    branch = desk.branch
    night = utc(2026, 11, 28, 19, 30)  # 03:30 Shanghai, business day 2026-11-28
    old = desk.issue("cash", night)  # A001, still waiting at 04:00
    done = desk.issue("cash", night + timedelta(minutes=1))  # A002
    branch.run(lambda: branch.call_ticket(1, done.id, night + timedelta(minutes=2)))
    desk.serve(1, night + timedelta(minutes=2))
    desk.finish(1, night + timedelta(minutes=3))

    morning = utc(2026, 11, 28, 20, 0)
    today = desk.issue("cash", morning)
    assert today.business_day == date(2026, 11, 29)
    assert today.number == "A002"  # A001 is still held by the open ticket from yesterday
    assert desk.issue("cash", morning + timedelta(minutes=1)).number == "A003"
    assert desk.issue("account", morning).number == "B001"
    assert branch.open_ticket_by_number("A001").id == old.id

    # Yesterday's customer is still in the queue, ahead of today's (they came earlier).
    called = desk.call(1, morning + timedelta(minutes=2))
    assert called.id == old.id
    assert called.business_day == date(2026, 11, 28)
    desk.serve(1, morning + timedelta(minutes=3))
    assert desk.finish(1, morning + timedelta(minutes=8)).state is TicketState.DONE
    assert desk.call(1, morning + timedelta(minutes=9)).id == today.id
    # A001 is free again, but today's sequence never goes back.
    assert desk.issue("cash", morning + timedelta(minutes=10)).number == "A004"


def test_a_transferred_leg_holds_its_number_across_the_rollover(desk):
    branch = desk.branch
    night = utc(2026, 11, 28, 19, 30)
    desk.issue("cash", night)
    desk.call(1, night)
    leg = branch.run(lambda: branch.transfer(1, night, to_service="account")).result
    assert leg.number == "A001"
    assert desk.issue("cash", utc(2026, 11, 28, 20, 0)).number == "A002"


def test_numbers_skip_every_number_still_held(make_branch):
    branch = make_branch()
    night = utc(2026, 11, 28, 19, 30)
    for i in range(3):
        branch.run(lambda i=i: branch.issue_ticket("cash", night + timedelta(seconds=i)))
    branch.run(lambda: branch.cancel_ticket(2, night + timedelta(minutes=1)))  # A002 freed
    morning = utc(2026, 11, 28, 20, 0)
    numbers = [
        branch.run(
            lambda m=m: branch.issue_ticket("cash", morning + timedelta(minutes=m))
        ).result.number
        for m in range(3)
    ]
    assert numbers == ["A002", "A004", "A005"]


# ----------------------------------------------------------------------- restart


def _restart(branch: Branch) -> Branch:
    return Branch(
        branch.settings,
        services=branch.services.values(),
        counters=branch.counters.values(),
        tickets=branch.tickets.values(),
        numbering=branch.numbering,
        last_seq=branch.last_seq,
    )


def test_numbering_and_sequence_continue_after_a_restart(desk, snap, at):
    branch = desk.branch
    for minute in range(3):
        desk.issue("cash", minute)
    desk.issue("account", 3, idempotency_key="kiosk-1:42")
    desk.complete(1, 4)
    desk.call(1, 5, call_key="press-7")
    desk.call(2, 5)
    desk.serve(2, 6)

    again = _restart(branch)
    before, after = snap(branch), snap(again)
    assert after == before

    change = again.run(lambda: again.issue_ticket("cash", at(7)))
    assert change.result.number == "A004"
    assert change.result.id == branch.next_ticket_id
    assert [e.seq for e in change.events] == [branch.last_seq + 1]
    assert again.issue_ticket("account", at(7)).result.number == "B002"
    with pytest.raises(DomainError) as refused:
        again.issue_ticket("cash", at(8), idempotency_key="kiosk-1:42")
    assert refused.value.code == "duplicate_key"
    with pytest.raises(DomainError) as busy:
        again.call_next(1, at(8))
    assert busy.value.code == "counter_busy"
    ticket = again.tickets[3]
    assert again.position(ticket, at(8)) == branch.position(ticket, at(8))


def test_restart_on_the_next_business_day(desk):
    branch = desk.branch
    night = utc(2026, 11, 28, 19, 30)
    desk.issue("cash", night)
    desk.issue("cash", night)
    desk.complete(1, night)
    again = _restart(branch)
    morning = utc(2026, 11, 28, 21, 0)
    assert again.run(lambda: again.issue_ticket("cash", morning)).result.number == "A001"
    assert again.run(lambda: again.issue_ticket("cash", morning)).result.number == "A003"


# ------------------------------------------------------------ forget closed days


def test_forget_closed_days_drops_only_final_tickets_of_earlier_days(desk):
    branch = desk.branch
    y = utc(2026, 11, 28, 19, 0)  # business day 2026-11-28, 03:00 Shanghai
    ids = {name: desk.issue(service, y).id for name, service in [
        ("done", "cash"), ("no_show", "cash"), ("cancelled", "cash"), ("transferred", "cash"),
        ("called", "account"), ("waiting", "wealth"),
    ]}  # fmt: skip
    assert desk.complete(1, y).id == ids["done"]
    desk.call(1, y)
    branch.run(lambda: branch.no_show(1, y))
    branch.run(lambda: branch.cancel_ticket(ids["cancelled"], y))
    desk.call(1, y)
    leg = branch.run(lambda: branch.transfer(1, y, to_service="account")).result
    assert desk.call(2, y).id == ids["called"]

    today = utc(2026, 11, 28, 21, 0)  # business day 2026-11-29
    fresh_done = desk.issue("cash", today)
    desk.complete(1, today)
    fresh_waiting = desk.issue("cash", today)

    branch.forget_closed_days(date(2026, 11, 29))
    assert set(branch.tickets) == {
        ids["called"],
        ids["waiting"],
        leg.id,
        fresh_done.id,
        fresh_waiting.id,
    }
    assert branch.active_ticket(2).id == ids["called"]
    assert {t.id for t in branch.waiting} == {ids["waiting"], leg.id, fresh_waiting.id}
    # The branch goes on: the numbering is untouched and the leg is still callable.
    assert desk.issue("cash", today).number == "A003"
    desk.serve(2, today)
    desk.finish(2, today)
    assert desk.call(2, today).id == leg.id


def test_forget_closed_days_keeps_the_current_day(desk, at):
    for minute in range(3):
        desk.issue("cash", minute)
    desk.complete(1, 3)
    before = dict(desk.branch.tickets)
    desk.branch.forget_closed_days(desk.branch.business_day(at(4)))
    assert desk.branch.tickets == before
