"""A counter's figures for the day and the queues it serves, as its teller sees them.

Fixture counters: 1 = cash; 2 = account + cash as overflow; 3 = wealth; 4 = closed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from queue_server.domain import StaffDay, counter_day, skill_queues

DAY = date(2026, 11, 28)


def _shift(branch, desk, at):
    """Counter 1's morning: served and rated, a no-show, a transfer, a change of teller."""
    first = desk.issue("cash", 0)
    desk.call(1, 2)
    desk.serve(1, 3)
    desk.finish(1, 8)
    branch.run(lambda: branch.rate_ticket(first.id, 4, at(9)))
    desk.issue("cash", 1)
    desk.call(1, 9)
    branch.run(lambda: branch.recall(1, at(10)))
    branch.run(lambda: branch.no_show(1, at(11)))
    desk.issue("cash", 2)
    desk.call(1, 11)
    desk.serve(1, 12)
    branch.run(lambda: branch.transfer(1, at(13), to_service="account", note="new card"))
    branch.run(lambda: branch.sign_out(1, at(14)))
    branch.run(lambda: branch.sign_in(1, "s5", at(14)))
    last = desk.issue("cash", 14)
    desk.call(1, 15)
    desk.serve(1, 15)
    desk.finish(1, 17)
    branch.run(lambda: branch.rate_ticket(last.id, 2, at(18)))
    desk.complete(2, 20)  # the transferred customer, served elsewhere


def test_a_counters_day(branch, desk, at):
    _shift(branch, desk, at)
    day = counter_day(branch.tickets.values(), 1, DAY)
    assert (day.counter, day.business_day) == (1, DAY)
    assert (day.called, day.served, day.no_shows, day.transfers_out) == (4, 2, 1, 1)
    assert day.avg_service_s == (300 + 120) / 2
    # Waits to the (last) call: 2, 9 (recalled at 10), 9 and 1 minutes.
    assert day.avg_wait_s == (120 + 540 + 540 + 60) / 4
    assert list(day.ratings.items()) == [(4, 1), (3, 0), (2, 1), (1, 0)]
    assert day.rating_avg == 3.0
    assert day.by_staff == {
        "s1": StaffDay(called=3, served=1, avg_service_s=300.0),
        "s5": StaffDay(called=1, served=1, avg_service_s=120.0),
    }


def test_the_transferred_leg_counts_where_it_was_served(branch, desk, at):
    _shift(branch, desk, at)
    day = counter_day(branch.tickets.values(), 2, DAY)
    assert (day.called, day.served, day.transfers_out) == (1, 1, 0)
    assert day.avg_wait_s == 18 * 60  # from the customer's arrival, kept across the transfer


def test_an_empty_day_and_another_day(branch, desk, at):
    empty = counter_day(branch.tickets.values(), 1, DAY)
    assert (empty.called, empty.served, empty.avg_service_s, empty.avg_wait_s) == (0, 0, None, None)
    assert empty.rating_avg is None and empty.by_staff == {}
    assert list(empty.ratings) == [4, 3, 2, 1]
    _shift(branch, desk, at)
    assert counter_day(branch.tickets.values(), 1, date(2026, 11, 29)).called == 0


def test_the_queues_a_counter_serves(branch, desk, at):
    desk.issue("cash", 0)
    desk.call(1, 0.5)
    branch.run(lambda: branch.transfer(1, at(1), to_counter=4))  # keeps its arrival at 0
    desk.issue("cash", 3)
    desk.issue("account", 5)
    desk.issue("account", 8)
    queues = skill_queues(branch.counters[2], branch.waiting, at(12), branch.services)
    assert [(q.service, q.overflow) for q in queues] == [("account", False), ("cash", True)]
    account, cash = queues
    assert (account.waiting, account.longest_wait_s, account.target_wait_s) == (2, 420, 900)
    assert not account.over_target
    # The leg sent to counter 4 is not counter 2's to call, but it is late all the same.
    assert (cash.waiting, cash.longest_wait_s, cash.target_wait_s) == (1, 540, 600)
    assert cash.over_target
    # An account customer sent by name to counter 1, which serves cash only: counter 1 sees
    # them after its own businesses, and counter 2 no longer counts them.
    sent = [replace(t, target_counter=1) if t.service == "account" else t for t in branch.waiting]
    at_1 = skill_queues(branch.counters[1], sent, at(12), branch.services)
    assert [(q.service, q.overflow, q.waiting) for q in at_1] == [
        ("cash", False, 1),
        ("account", False, 2),
    ]
    assert skill_queues(branch.counters[2], sent, at(12), branch.services)[0].waiting == 0
