"""Staffing advice on a live server: forecast from the event log, windows, counter moves.

Test branch: A (target 10 min, 4 min mean) and B at counters 1 and 2; C (15 min target,
20 min mean), B, A at counter 3. No business sets opening hours: the day is 09:00-17:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from conftest import FakeClock, sign_in

from queue_server.domain.staffing import ArrivalPrior, modified_offered_loads, service_level


@pytest.fixture
def clock() -> FakeClock:
    # 10:00 in Shanghai on Tuesday 2026-11-24: three days of history before Friday the 27th.
    return FakeClock(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))


def _issue(server, service):
    r = server.client("kiosk").post("/tickets", json={"service": service})
    assert r.status_code == 201, r.text


def _advice(server, **params):
    r = server.client("manager").get("/staffing/advice", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _three_days_of_history(server, clock):
    """Tuesday to Thursday: 15 cash customers from 10:00 to 10:14, one account at 15:00."""
    kiosk = server.client("kiosk")
    for _ in range(3):
        for _ in range(15):
            _issue(server, "A")
            clock.advance(minutes=1)
        clock.advance(hours=5, minutes=-15)
        _issue(server, "C")
        # Nobody is served in this history: cancel, so the next day starts with empty queues.
        for t in server.engine.branch.waiting:
            assert kiosk.post(f"/tickets/{t.id}/cancel").status_code == 200
        clock.advance(hours=19)  # 10:00 the next day


def test_advice_from_three_days_of_history(server, clock):
    _three_days_of_history(server, clock)
    assert clock().isoformat() == "2026-11-27T02:00:00+00:00"  # Friday 10:00 in Shanghai
    for counter in (1, 2, 3):
        sign_in(server, counter)
    _issue(server, "A")  # today's tickets are not history: the one waiting is the live queue

    advice = _advice(server)
    assert advice["day"] == "2026-11-27"
    assert advice["forecast_basis"] == "all_days" and advice["history_days"] == 3
    assert advice["interval_min"] == 30
    assert advice["services"]["A"] == {
        "mean_service_s": 240.0,
        "cv": 1.0,
        "samples": 0,
        "target_wait_s": 600,
        "target_share": 0.8,
    }
    intervals = advice["intervals"]
    assert len(intervals) == 16
    assert intervals[0]["start"] == "2026-11-27T09:00:00+08:00"
    assert intervals[-1]["end"] == "2026-11-27T17:00:00+08:00"
    assert [i["current"] for i in intervals].index(True) == 2

    ten = intervals[2]
    assert ten["start"] == "2026-11-27T10:00:00+08:00"
    a, b, c = (ten["by_service"][code] for code in "ABC")
    # The 15 expected and the one waiting now.
    assert a["forecast_arrivals"] == 16.0 and a["waiting_now"] == 1
    assert c["forecast_arrivals"] == 0.0 and c["waiting_now"] == 0
    load = modified_offered_loads([0, 0, 16], 1800, 240)[2]
    assert a["offered_load"] == pytest.approx(load, abs=1e-3)
    assert a["recommended_windows"] == 3
    assert a["service_level"] >= 0.8
    assert service_level(load, 2, 240, 600) < 0.8  # two windows would not do
    assert b["recommended_windows"] == 0 and c["recommended_windows"] == 0
    # Every signed-in counter serves A among its skills; only counter 3 serves C.
    assert (a["open_windows_now"], b["open_windows_now"], c["open_windows_now"]) == (3, 3, 1)
    assert a["service_level_now"] == pytest.approx(a["service_level"], abs=1e-4)
    assert intervals[3]["by_service"]["A"]["open_windows_now"] is None

    three_pm = intervals[12]
    assert three_pm["start"] == "2026-11-27T15:00:00+08:00"
    assert three_pm["by_service"]["C"]["forecast_arrivals"] == 1.0
    assert three_pm["by_service"]["C"]["recommended_windows"] == 1

    # Cash needs three windows at 10:00 and accounts none: the account desk helps with cash.
    assert advice["moves"] == [
        {
            "counter": 3,
            "counter_name": "3号窗口",
            "from_service": "C",
            "to_service": "A",
            "start": "2026-11-27T10:00:00+08:00",
            "end": "2026-11-27T10:30:00+08:00",
        }
    ]
    hours = sum(s["recommended_windows"] * 0.5 for i in intervals for s in i["by_service"].values())
    assert advice["recommended_counter_hours"] == pytest.approx(hours)

    # Next Monday: Friday so far is history too; nothing is current.
    monday = _advice(server, day="2026-11-30")
    assert monday["day"] == "2026-11-30" and monday["history_days"] == 4
    assert not any(i["current"] for i in monday["intervals"])
    cash = monday["intervals"][2]["by_service"]["A"]
    assert cash["forecast_arrivals"] == (3 * 15 + 1) / 4
    assert cash["open_windows_now"] is None
    assert cash["recommended_windows"] == 2  # counters 1 and 2 serve cash first already
    assert monday["moves"] == []


def test_a_new_branch_falls_back_to_the_prior(server):
    empty = _advice(server)
    assert empty["forecast_basis"] == "none"
    assert all(
        s["recommended_windows"] == 0 for i in empty["intervals"] for s in i["by_service"].values()
    )
    assert empty["moves"] == []
    server.engine.arrival_prior = ArrivalPrior((24.0,) * 8, {"A": 0.5, "C": 0.1}, time(9, 0))
    advice = _advice(server)
    assert advice["forecast_basis"] == "prior"
    ten = advice["intervals"][2]["by_service"]
    assert ten["A"]["forecast_arrivals"] == 6.0
    assert ten["C"]["forecast_arrivals"] == pytest.approx(1.2)
    assert ten["B"]["forecast_arrivals"] == 0.0


def test_a_bad_day_is_refused(server):
    r = server.client("manager").get("/staffing/advice", params={"day": "27/11/2026"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"


def test_days_are_not_mixed_up_around_midnight(server, clock):
    # 23:50 local on Tuesday is still Tuesday's business day (it starts at 04:00).
    clock.advance(hours=13, minutes=50)
    _issue(server, "A")
    clock.now = clock.now + timedelta(days=1)
    advice = _advice(server)
    assert advice["day"] == "2026-11-25"
    assert advice["history_days"] == 1
    # Outside opening hours: the day counts, the ticket does not land in any interval.
    assert all(i["by_service"]["A"]["forecast_arrivals"] == 0 for i in advice["intervals"])


def test_the_advice_counts_the_queue_in_the_hall_without_history_or_prior(server, clock):
    clock.advance(minutes=10)  # 10:10: the 10:00-10:30 interval
    assert server.engine.arrival_prior is None
    for counter in (1, 2, 3):
        sign_in(server, counter)
    for _ in range(20):
        _issue(server, "A")
    advice = _advice(server)
    assert advice["forecast_basis"] == "none"
    current = [i for i in advice["intervals"] if i["current"]]
    assert len(current) == 1 and current[0]["start"] == "2026-11-24T10:00:00+08:00"
    cash = current[0]["by_service"]["A"]
    assert cash["waiting_now"] == 20 and cash["forecast_arrivals"] == 20.0
    assert cash["recommended_windows"] >= 3  # 20 × 4 min of work in half an hour
    assert current[0]["by_service"]["C"]["waiting_now"] == 0
    # The queue is today's: a later day has no current interval and no live queue.
    later = _advice(server, day="2026-11-25")
    assert not any(i["current"] for i in later["intervals"])
    assert all(
        s["waiting_now"] is None for i in later["intervals"] for s in i["by_service"].values()
    )
    # With the config's prior the queue comes on top of what is expected.
    server.engine.arrival_prior = ArrivalPrior((24.0,) * 8, {"A": 0.5}, time(9, 0))
    with_prior = next(i for i in _advice(server)["intervals"] if i["current"])["by_service"]["A"]
    assert with_prior["forecast_arrivals"] == 26.0  # 6 expected + 20 waiting
