"""The hall a hall-aware policy sees (`policies.hall`), as `Branch.call_next` builds it."""

from __future__ import annotations

from collections.abc import Sequence

from queue_server.domain import Counter, PriorityClass, Ticket
from queue_server.domain.policies import Fifo, Forecast, Hall, HallAwarePolicy, eligible


class Recorder:
    """FIFO that, in the hall, keeps the window free while anyone else serves (a reservation)."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[Hall] = []
        self.fifo = Fifo()
        self.choose_next = self.fifo.choose_next
        self.queue_order = self.fifo.queue_order

    def choose_in_hall(
        self, hall: Hall, counter: Counter, waiting: Sequence[Ticket]
    ) -> Ticket | None:
        self.seen.append(hall)
        if any(n != counter.number for n in hall.serving):
            return None
        return self.choose_next(counter, waiting, hall.now, hall.services)


def test_call_next_gives_a_hall_aware_policy_the_hall_and_lets_it_keep_the_window_free(
    branch, desk, at
):
    policy = Recorder()
    assert isinstance(policy, HallAwarePolicy)
    branch.policy = policy
    branch.forecast = Forecast({("wealth", PriorityClass.VIP): 0.2}, made_at=at(0))
    first = desk.issue("cash", 0)
    desk.issue("wealth", 0)
    assert desk.call(3, 1).service == "wealth"  # nobody else busy: the policy calls
    # Counter 3 is now serving: the policy holds counter 1 back, and nothing changes.
    assert desk.call(1, 2) is None
    assert branch.ticket(first.id).state.value == "waiting"
    hall = policy.seen[-1]
    assert hall.now == at(2) and set(hall.serving) == {3}
    assert hall.forecast.rate("wealth", PriorityClass.VIP) == 0.2
    assert [t.id for t, _ in eligible(hall.counters[1], branch.waiting, at(2), hall.services)] == [
        first.id
    ]


def test_a_busy_windows_expected_free_time_counts_down_and_never_reaches_zero(branch, desk, at):
    desk.issue("wealth", 0)  # mean service 900 s
    desk.call(3, 0)
    assert branch.hall(at(0)).expected_free_in_s(3) == 900.0
    assert branch.hall(at(10)).expected_free_in_s(3) == 300.0
    assert branch.hall(at(60)).expected_free_in_s(3) == 90.0  # overrunning: a tenth of the mean
    assert branch.hall(at(0)).expected_free_in_s(1) == 0.0  # open and idle
    assert branch.hall(at(0)).expected_free_in_s(4) is None  # closed


def test_the_forecast_travels_with_a_frozen_copy(branch, at):
    branch.forecast = Forecast(bookings=(("account", at(30)),), made_at=at(0))
    assert branch.frozen_copy(open_only=True).forecast.bookings == (("account", at(30)),)
