"""Staffing advice: Erlang C and its corrections, the forecast, windows and counter moves."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from queue_server.domain import Counter, Service, Skill
from queue_server.domain.staffing import (
    DAY_MARGIN,
    ArrivalPrior,
    BusinessAdvice,
    DayHours,
    Forecast,
    IntervalAdvice,
    ServiceDemand,
    StaffingPlan,
    advise_moves,
    allocate_day,
    assign_windows,
    average_speed_of_answer,
    check_plan,
    erlang_b,
    erlang_c,
    fewest_windows,
    forecast_arrivals,
    modified_offered_loads,
    offered_load,
    recommend,
    service_demands,
    service_level,
    waiting_factor,
    with_live_queue,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY = date(2026, 11, 27)


def _direct_erlang_c(load: float, agents: int) -> float:
    """Textbook M/M/c waiting probability from factorial sums (fine for small c)."""
    top = load**agents / math.factorial(agents) * agents / (agents - load)
    bottom = sum(load**k / math.factorial(k) for k in range(agents)) + top
    return top / bottom


# ------------------------------------------------------------------- Erlang C


def test_the_call_centre_textbook_example():
    # 100 arrivals in 30 minutes, 3 minutes' handling: 10 Erlangs on 14 agents.
    load = offered_load(100, 1800, 180)
    assert load == pytest.approx(10.0)
    assert erlang_c(load, 14) == pytest.approx(0.1741, abs=5e-4)
    assert service_level(load, 14, 180, 20) == pytest.approx(0.888, abs=1e-3)
    assert average_speed_of_answer(load, 14, 180) == pytest.approx(7.84, abs=0.01)
    assert fewest_windows(load, 180, 20, 0.80) == 14
    assert service_level(load, 13, 180, 20) < 0.80


@pytest.mark.parametrize(
    ("load", "agents"), [(0.5, 1), (1.6, 2), (2.5, 3), (4.0, 6), (7.3, 9), (11.0, 12)]
)
def test_erlang_c_agrees_with_the_factorial_formula(load, agents):
    assert erlang_c(load, agents) == pytest.approx(_direct_erlang_c(load, agents), rel=1e-12)


def test_erlang_b_agrees_with_the_factorial_formula():
    load, agents = 5.0, 7
    direct = (load**agents / math.factorial(agents)) / sum(
        load**k / math.factorial(k) for k in range(agents + 1)
    )
    assert erlang_b(load, agents) == pytest.approx(direct, rel=1e-12)


def test_hundreds_of_windows_stay_finite():
    # 300! overflows a float; the recursion never builds it.
    c = erlang_c(280.0, 300)
    assert 0.0 < c < 1.0
    assert service_level(280.0, 300, 180, 20) == pytest.approx(1 - c * math.exp(-20 / 9), rel=1e-9)
    assert fewest_windows(280.0, 180, 20, 0.8) <= 300


def test_an_overloaded_queue_always_waits():
    assert erlang_c(5.0, 5) == 1.0
    assert service_level(5.0, 4, 180, 20) == 0.0
    assert average_speed_of_answer(5.0, 5, 180) == math.inf
    assert erlang_c(0.0, 3) == 0.0
    assert service_level(0.0, 0, 180, 20) == 1.0
    assert fewest_windows(0.0, 180, 20, 0.8) == 0


def test_service_level_rises_and_waiting_falls_with_each_window():
    load = 6.4
    levels = [service_level(load, c, 240, 600) for c in range(1, 20)]
    chances = [erlang_c(load, c) for c in range(1, 20)]
    assert levels == sorted(levels)
    assert chances == sorted(chances, reverse=True)
    assert levels[-1] > 0.999


def test_service_level_rises_with_the_time_allowed():
    levels = [service_level(10.0, 12, 180, t) for t in (0, 10, 30, 60, 120, 600)]
    assert levels == sorted(levels)
    assert levels[0] == pytest.approx(1 - erlang_c(10.0, 12))


# --------------------------------------------------------- the cv correction


def test_exponential_service_needs_no_correction():
    assert waiting_factor(1.0) == 1.0
    assert service_level(10.0, 12, 180, 30, cv=1.0) == service_level(10.0, 12, 180, 30)


def test_steadier_service_shortens_waits_by_the_allen_cunneen_factor():
    load, agents = 10.0, 12
    plain = average_speed_of_answer(load, agents, 180)
    assert waiting_factor(0.5) == pytest.approx(0.625)
    assert average_speed_of_answer(load, agents, 180, cv=0.5) == pytest.approx(0.625 * plain)
    assert average_speed_of_answer(load, agents, 180, cv=0.0) == pytest.approx(0.5 * plain)
    assert average_speed_of_answer(load, agents, 180, cv=1.5) == pytest.approx(1.625 * plain)
    levels = [service_level(load, agents, 180, 30, cv=cv) for cv in (0.3, 0.8, 1.0, 1.5, 2.0)]
    assert levels == sorted(levels, reverse=True)
    # The waiting probability itself is Erlang C's: only how long the waiters wait changes.
    assert service_level(load, agents, 180, 0, cv=0.4) == pytest.approx(1 - erlang_c(load, agents))


def test_volatile_service_can_need_more_windows():
    steady = fewest_windows(8.0, 600, 300, 0.8, cv=0.4)
    volatile = fewest_windows(8.0, 600, 300, 0.8, cv=2.0)
    assert steady < volatile


# ------------------------------------------------------ modified offered load


def test_short_services_carry_almost_nothing_over():
    # 4-minute services in half-hour intervals: after the first interval, load = λh.
    loads = modified_offered_loads([30, 30, 30], 1800, 240)
    steady = offered_load(30, 1800, 240)
    assert loads[0] < steady  # the branch opened empty
    assert loads[1] == pytest.approx(steady, rel=1e-3)
    assert loads[2] == pytest.approx(steady, rel=1e-6)


def test_a_service_longer_than_the_interval_carries_load_into_later_ones():
    # Loans: an hour each, half-hour intervals; arrivals stop after the first hour.
    h, T = 3600.0, 1800.0
    loads = modified_offered_loads([4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], T, h)
    steady = offered_load(4, T, h)  # 8 Erlangs if arrivals ran for ever
    # The plain offered load would be 8, 8, 0, 0: the queue fills slowly and empties slowly.
    assert loads[0] == pytest.approx(steady * (1 - (h / T) * (1 - math.exp(-T / h))))
    assert loads[0] < loads[1] < steady
    assert loads[2] > 0 and loads[3] > 0
    assert loads[2] > loads[3] > loads[4]
    # Every arrival's hour of work is counted once, spread over the intervals it falls in.
    assert sum(loads) * T == pytest.approx(8 * h, rel=0.01)


def test_load_carried_in_from_before_the_plan():
    loads = modified_offered_loads([0, 0], 1800, 1800, carried_in=2.0)
    expected_first = 2.0 * (1 - math.exp(-1))
    assert loads[0] == pytest.approx(expected_first)
    assert loads[1] == pytest.approx(2.0 * math.exp(-1) * (1 - math.exp(-1)))


# ------------------------------------------------------------------ forecast


def _local(day: date, hh: int, mm: int) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=SHANGHAI).astimezone(UTC)


def _forecast(records, day=FRIDAY, **kwargs):
    kwargs.setdefault("hours", DayHours(time(9, 0), time(11, 0)))
    return forecast_arrivals(
        records, day, ["A", "C"], timezone="Asia/Shanghai", day_starts_at=time(4, 0), **kwargs
    )


def test_the_same_weekday_is_used_when_enough_of_them_are_known():
    records = []
    for week in range(1, 5):
        friday = FRIDAY - timedelta(weeks=week)
        records += [(_local(friday, 9, 5 + i), "A") for i in range(10)]  # busy Fridays
        records += [(_local(friday, 10, 40), "C")]
        for back in range(1, 5):  # quiet Mondays to Thursdays
            records += [(_local(friday - timedelta(days=back), 9, 10), "A")] * 2
    f = _forecast(records)
    assert f.basis == "weekday" and f.days_used == 4
    assert [s.astimezone(SHANGHAI).time() for s in f.starts] == [
        time(9, 0),
        time(9, 30),
        time(10, 0),
        time(10, 30),
    ]
    assert f.arrivals["A"] == (10.0, 0.0, 0.0, 0.0)
    assert f.arrivals["C"] == (0.0, 0.0, 0.0, 1.0)
    # A Thursday has four Thursdays behind it too, each with 2 customers at 09:10.
    assert _forecast(records, day=FRIDAY - timedelta(days=1)).arrivals["A"][0] == 2.0


def test_all_days_when_the_weekday_history_is_short():
    days = [FRIDAY - timedelta(days=n) for n in (1, 2, 3)]  # Thursday, Wednesday, Tuesday
    records = [(_local(days[0], 9, 0), "A")] * 3 + [(_local(days[1], 9, 29), "A")] * 6
    records += [(_local(days[2], 10, 15), "C")]
    # Not history: the day itself, a later day, a day too long ago, and outside the hours.
    records += [(_local(FRIDAY, 9, 0), "A"), (_local(FRIDAY + timedelta(days=7), 9, 0), "A")]
    records += [(_local(FRIDAY - timedelta(days=80), 9, 0), "A")]
    records += [(_local(days[0], 8, 59), "A"), (_local(days[0], 11, 0), "A")]
    f = _forecast(records)
    assert f.basis == "all_days" and f.days_used == 3
    assert f.arrivals["A"] == (3.0, 0.0, 0.0, 0.0)
    assert f.arrivals["C"] == (0.0, 0.0, pytest.approx(1 / 3), 0.0)


def test_the_prior_when_history_is_short():
    prior = ArrivalPrior(hourly=(24.0, 36.0), shares={"A": 0.5, "C": 0.25}, opens=time(9, 0))
    one_day = [(_local(FRIDAY - timedelta(days=1), 9, 0), "A")]
    f = _forecast(one_day, prior=prior)
    assert f.basis == "prior"
    assert f.arrivals["A"] == (6.0, 6.0, 9.0, 9.0)
    assert f.arrivals["C"] == (3.0, 3.0, 4.5, 4.5)
    # Intervals need not line up with the hours: 09:30-10:15 is 30 min at 24/h + 15 at 36/h.
    assert prior.arrivals("A", time(9, 30), 45) == pytest.approx(0.5 * (12 + 9))
    # Without a prior, what little history there is beats nothing.
    assert _forecast(one_day).arrivals["A"] == (1.0, 0.0, 0.0, 0.0)
    assert _forecast([]).basis == "none"


def test_the_queue_waiting_now_is_work_for_the_interval_the_branch_is_in():
    empty = _forecast([])  # no history and no prior: nothing forecast
    now = _local(FRIDAY, 10, 10)
    live = with_live_queue(empty, now, {"A": 20, "C": 0, "X": 5})
    assert live.arrivals["A"] == (0.0, 0.0, 20.0, 0.0) and live.arrivals["C"] == (0.0,) * 4
    assert live.basis == "none" and "X" not in live.arrivals
    demands = {"A": ServiceDemand("A", 240.0, 600.0)}
    plan = recommend(live, demands)
    # 20 customers × 4 min in the half hour: 2.7 Erlangs, so three windows at least, now.
    assert plan.windows_at(now)["A"] >= 3
    assert recommend(empty, demands).windows_at(now)["A"] == 0
    # Before opening or after closing there is no interval to carry the queue.
    assert with_live_queue(empty, _local(FRIDAY, 11, 0), {"A": 20}) is empty


def test_observed_service_times_replace_the_config_when_there_are_enough():
    services = [
        Service("A", "A", {"en": "Cash"}, target_wait_s=600, mean_service_s=240),
        Service("C", "C", {"en": "Accounts"}, target_wait_s=900, mean_service_s=1200),
    ]
    samples = [("A", 100.0), ("A", 300.0)] * 20 + [("C", 900.0)] * 5
    demands = service_demands(services, samples, min_samples=30)
    assert demands["A"].mean_service_s == 200.0
    assert demands["A"].cv == pytest.approx(0.5)
    assert demands["A"].samples == 40
    assert demands["C"].mean_service_s == 1200.0 and demands["C"].samples == 0
    assert demands["C"].cv == 1.0 and demands["C"].target_wait_s == 900


# ------------------------------------------------------------ recommendation


def test_a_tiny_day_interval_by_interval():
    start = datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)
    starts = tuple(start + timedelta(minutes=30 * i) for i in range(4))
    forecast = Forecast(
        FRIDAY, starts, 30, {"A": (15.0, 30.0, 0.0, 0.0), "L": (2.0, 2.0, 0.0, 0.0)}, "prior", 0
    )
    demands = {
        "A": ServiceDemand("A", 240, 600, cv=0.8),
        "L": ServiceDemand("L", 1800, 900, cv=0.6),
    }
    plan = recommend(forecast, demands, day_level=False)
    a_loads = modified_offered_loads([15, 30, 0, 0], 1800, 240)
    l_loads = modified_offered_loads([2, 2, 0, 0], 1800, 1800)
    for i, interval in enumerate(plan.intervals):
        a, loan = interval.by_service["A"], interval.by_service["L"]
        assert a.offered_load == pytest.approx(a_loads[i])
        assert loan.offered_load == pytest.approx(l_loads[i])
        if a.recommended_windows:
            assert a.service_level >= 0.8
            less = service_level(a.offered_load, a.recommended_windows - 1, 240, 600, 0.8)
            assert less < 0.8
    # Cash's last customers are still at the windows early in the third interval; by the
    # fourth, what is left is negligible.
    assert [i.windows()["A"] for i in plan.intervals] == [3, 5, 1, 0]
    # Loans keep windows busy for an hour after their customers stop coming.
    assert [i.windows()["L"] for i in plan.intervals] == [2, 3, 2, 2]
    assert plan.windows_at(start + timedelta(minutes=45)) == {"A": 5, "L": 3}
    assert plan.windows_at(start - timedelta(minutes=1)) == {}
    assert plan.counter_hours() == pytest.approx((3 + 2 + 5 + 3 + 1 + 2 + 0 + 2) / 2)


def _quiet_and_busy() -> tuple[Forecast, dict[str, ServiceDemand]]:
    start = datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)
    starts = tuple(start + timedelta(minutes=30 * i) for i in range(2))
    forecast = Forecast(FRIDAY, starts, 30, {"A": (6.0, 60.0)}, "prior", 0)
    return forecast, {"A": ServiceDemand("A", 240, 120, cv=0.8)}


def test_the_day_level_rule_spends_fewer_windows_in_the_quiet_interval():
    forecast, demands = _quiet_and_busy()
    per_interval = recommend(forecast, demands, day_level=False)
    day = recommend(forecast, demands, margin=0.0)
    assert [i.windows()["A"] for i in per_interval.intervals] == [2, 9]
    assert [i.windows()["A"] for i in day.intervals] == [1, 9]
    assert day.intervals[0].by_service["A"].service_level < 0.8  # the quiet half hour alone
    assert day.expected_day_share("A") >= 0.8  # the day as a whole
    assert per_interval.expected_day_share("A") >= day.expected_day_share("A")


def test_the_day_level_rule_never_asks_more_than_the_interval_rule():
    # With the default margin the busy half hour would need a tenth window to lift the day
    # to 85 %; the interval rule's nine already meet 80 % everywhere, so it stops there.
    forecast, demands = _quiet_and_busy()
    per_interval = recommend(forecast, demands, day_level=False)
    day = recommend(forecast, demands)
    assert [i.windows() for i in day.intervals] == [i.windows() for i in per_interval.intervals]
    assert DAY_MARGIN > 0


def test_the_day_level_rule_is_the_fewest_windows_for_the_day_share():
    # Marginal analysis on a concave service level: no allocation with fewer windows in
    # total reaches the goal (checked against every allocation of a small day).
    loads, arrivals = [0.5, 3.2, 6.1, 1.4], [4.0, 24.0, 46.0, 10.0]
    goal = 0.85
    chosen = allocate_day(loads, arrivals, 240, 120, goal, cv=0.8)

    def share(ws: tuple[int, ...]) -> float:
        levels = [service_level(a, c, 240, 120, 0.8) for a, c in zip(loads, ws, strict=True)]
        return sum(x * sl for x, sl in zip(arrivals, levels, strict=True)) / sum(arrivals)

    assert share(tuple(chosen)) >= goal
    grid = [range(max(1, math.floor(a) + 1), math.floor(a) + 6) for a in loads]
    fewest = min(
        sum(ws)
        for ws in ((a, b, c, d) for a in grid[0] for b in grid[1] for c in grid[2] for d in grid[3])
        if share(ws) >= goal
    )
    assert sum(chosen) == fewest


def test_the_day_level_rule_leaves_negligible_loads_and_empty_days_alone():
    assert allocate_day([0.0, 0.01, 2.0], [0.0, 0.0, 0.0], 240, 600, 0.85) == [0, 0, 3]
    ws = allocate_day([0.0, 0.01, 2.0], [0.0, 0.0, 10.0], 240, 600, 0.85)
    assert ws[:2] == [0, 0] and ws[2] >= 3
    with pytest.raises(ValueError):
        allocate_day([1.0], [1.0, 2.0], 240, 600, 0.8)


def test_a_simulator_checks_the_plan():
    plan = _plan([{"A": 2, "C": 1}])
    verdict = check_plan(plan, lambda p: {"A": 0.91, "C": 0.62})
    assert verdict.counter_hours == pytest.approx(1.5)
    assert verdict.missed == ("C",) and not verdict.targets_met
    assert check_plan(plan, lambda p: {"A": 0.8, "C": 0.85}).targets_met


# ------------------------------------------------------------------- moves


def _counter(number: int, *skills: str) -> Counter:
    return Counter(number, f"{number}号窗口", skills=tuple(Skill(s) for s in skills))


def _plan(needs: list[dict[str, int]]) -> StaffingPlan:
    start = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)
    intervals = []
    for i, need in enumerate(needs):
        begin = start + timedelta(minutes=30 * i)
        advice = {code: BusinessAdvice(0.0, 0.0, n, 1.0, 0.0) for code, n in need.items()}
        intervals.append(IntervalAdvice(begin, begin + timedelta(minutes=30), advice))
    demands = {code: ServiceDemand(code, 300, 600) for code in needs[0]}
    return StaffingPlan(tuple(intervals), demands)


def test_a_spare_counter_moves_to_a_business_it_can_serve():
    counters = [_counter(1, "A", "B"), _counter(2, "A", "B"), _counter(3, "C", "B", "A")]
    result = assign_windows({"A": 1, "B": 1, "C": 1}, counters)
    assert result.moved == {1: ("A", "B")}
    assert result.short == {}


def test_a_chain_of_moves_when_no_spare_counter_has_the_skill():
    # C needs a window; only counter 3 (serving B) can do C; B then takes counter 2 from A.
    counters = [_counter(1, "A"), _counter(2, "A", "B"), _counter(3, "B", "C")]
    result = assign_windows({"A": 1, "B": 1, "C": 1}, counters)
    assert result.moved == {2: ("A", "B"), 3: ("B", "C")}
    assert dict(result.assigned) == {1: "A", 2: "B", 3: "C"}
    assert result.short == {}


def test_nothing_moves_that_the_skills_do_not_allow():
    counters = [_counter(1, "A"), _counter(2, "A")]
    result = assign_windows({"A": 1, "L": 1}, counters)
    assert result.moved == {}
    assert result.short == {"L": 1}
    # A business short of windows is never helped by uncovering another.
    result = assign_windows({"A": 2, "B": 1}, [_counter(1, "A", "B"), _counter(2, "A", "B")])
    assert result.moved == {} and result.short == {"B": 1}


def test_moves_run_on_across_intervals():
    counters = [_counter(4, "C", "A"), _counter(5, "A", "C"), _counter(6, "A")]
    plan = _plan(
        [
            {"A": 2, "C": 1},
            {"A": 1, "C": 2},
            {"A": 1, "C": 2},
            {"A": 1, "C": 2},
            {"A": 2, "C": 1},
        ]
    )
    moves = advise_moves(plan, counters)
    assert len(moves) == 1
    move = moves[0]
    assert (move.counter, move.from_service, move.to_service) == (5, "A", "C")
    assert move.start.astimezone(SHANGHAI).time() == time(10, 30)
    assert move.end.astimezone(SHANGHAI).time() == time(12, 0)
    # Intervals already over are left out.
    later = advise_moves(plan, counters, after=plan.intervals[2].end)
    assert later[0].start == plan.intervals[3].start
