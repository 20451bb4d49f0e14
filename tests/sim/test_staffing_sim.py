"""Staffing plans in the simulator, `branchq bench staffing`, and a config's arrival prior."""

from __future__ import annotations

import functools
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_CONFIG, FakeClock, LiveServer, make_db

from queue_server.config import parse_config
from queue_server.domain import Branch, CounterState, PriorityClass, TicketState
from queue_server.simulation.arrivals import Arrival, draw_day
from queue_server.simulation.compare import scenario_policy
from queue_server.simulation.engine import Simulation, day_origin, simulate_day
from queue_server.simulation.scenario import Scenario, load_scenario, parse_scenario
from queue_server.simulation.staffing import (
    Evaluation,
    PlanSimulator,
    check_grid,
    check_in_simulator,
    confident_z,
    counter_hours,
    daily_spread,
    meets,
    meets_confidently,
    plan_grid,
    planning_scenario,
    recommended_plan,
    target_share,
    window_plan,
)
from tools.bench.staffing import describe
from tools.bench.staffing import run as run_staffing


def small_branch(hours: int = 2, days: int = 2) -> Scenario:
    """Cash (4 min, 10 min target) and accounts (20 min, 15 min target), no classes."""
    return parse_scenario(
        {
            "branch": {
                "name": "small",
                "open": "09:00",
                "close": f"{9 + hours:02d}:00",
                "days": days,
                "seed": 3,
            },
            "arrivals": {"hourly": [40.0] * hours},
            "services": [
                {"code": "A", "share": 0.8, "mean_min": 4, "cv": 0.8, "target_wait_min": 10},
                {"code": "C", "share": 0.2, "mean_min": 20, "cv": 0.5, "target_wait_min": 15},
            ],
            "counters": [{"skills": ["A"]}, {"skills": ["A", "C"]}, {"skills": ["C"]}],
        }
    )


def called_between(run: Any, start: float, end: float) -> int:
    return sum(1 for o in run.outcomes if o.called_min is not None and start <= o.called_min < end)


def test_fewer_windows_in_an_interval_serve_fewer_customers_then():
    scenario = small_branch(hours=1)
    arrivals = draw_day(scenario, 0)
    policy = scenario_policy(scenario, "accumulating")
    counters = scenario.branch.counters
    full = window_plan([{"A": 3, "C": 2}, {"A": 3, "C": 2}], counters, 30)
    thin = window_plan([{"A": 3, "C": 2}, {"A": 1, "C": 1}], counters, 30)
    wide = simulate_day(scenario, arrivals, policy, 0, full)
    narrow = simulate_day(scenario, arrivals, policy, 0, thin)
    assert called_between(narrow, 0, 30) == called_between(wide, 0, 30)
    assert called_between(narrow, 30, 60) < called_between(wide, 30, 60)
    # Everyone is served in the end: the last interval's windows stay open after closing.
    assert all(o.called_min is not None for o in narrow.outcomes)
    assert narrow.end_min > wide.end_min


def test_a_closing_counter_finishes_its_customer_and_takes_no_one_new():
    scenario = small_branch(hours=1)
    plan = window_plan([{"A": 1}, {"A": 0}], scenario.branch.counters, 30)
    origin = day_origin(scenario, 0)
    config = scenario.branch
    branch = Branch(
        config.settings,
        config.services,
        plan.counters,
        policy=scenario_policy(scenario, "fifo"),
    )
    sim = Simulation(branch, origin)
    sim.follow_roster(plan.roster)
    sim.add_arrivals(
        [
            Arrival(25.0, "A", PriorityClass.REGULAR, 20.0),  # still at the window at 09:30
            Arrival(26.0, "A", PriorityClass.REGULAR, 4.0),  # waits: no window after 09:30
        ]
    )
    run = sim.run()
    first, second = run.outcomes
    assert first.called_min == 25.0 and first.counter == 1
    assert run.end_min == 45.0 and run.busy_min[1] == 20.0
    assert second.called_min is None
    assert branch.tickets[first.ticket_id].state is TicketState.DONE
    assert branch.tickets[second.ticket_id].state is TicketState.WAITING
    assert branch.counters[1].state is CounterState.CLOSED  # closed once its customer left
    assert all(c.state is CounterState.CLOSED for c in branch.counters.values())


def test_the_recommended_plan_meets_its_targets_in_simulation():
    scenario = small_branch(hours=2, days=3)
    plan = recommended_plan(scenario)
    grid = plan_grid(plan)
    assert len(grid) == 4 and all(w["A"] >= 1 and w["C"] >= 1 for w in grid)
    evaluation = PlanSimulator(scenario, 3).evaluate(grid)
    assert set(evaluation.shares) == {"A", "C"}
    assert all(meets(evaluation, target_share(scenario)).values()), evaluation.shares


@functools.cache
def _staffing_report() -> dict[str, Any]:
    return run_staffing(None, 1)


def test_bench_staffing_json_has_the_issues_shape():
    # `bench staffing --json` prints `run`'s report as JSON; run once for this and the next test.
    report = json.loads(json.dumps(_staffing_report()))
    assert isinstance(report["recommended_counter_hours"], float)
    assert isinstance(report["minimum_counter_hours"], float)
    assert isinstance(report["targets_met"], bool)
    assert report["minimum_targets_met"] is True
    assert 0 < report["minimum_counter_hours"] <= report["recommended_counter_hours"]
    # The minimum holds on held-out days too: the searched plan plus what it needed there.
    assert 0 < report["minimum_in_sample_counter_hours"] <= report["minimum_counter_hours"]
    assert report["minimum_counter_hours"] == report["held_out"]["repaired_minimum_counter_hours"]
    assert report["ratio"] == round(
        report["recommended_counter_hours"] / report["minimum_counter_hours"], 3
    )
    assert set(report["recommended_windows"]) == {"A", "B", "C", "L", "W"}
    assert all(len(w) == 16 for w in report["minimum_windows"].values())
    assert "80%" in report["criterion"]
    # The recommendation is the Erlang C plan after the simulator's check on days of its own.
    assert report["check"]["days"] == 2 and report["check"]["period_days"] == 1
    assert report["check"]["z"] == pytest.approx(1.282, abs=1e-3)
    assert report["check"]["simulated_runs"] >= 2
    assert report["erlang_c"]["counter_hours"] > 0
    assert set(report["erlang_c"]["windows"]) == {"A", "B", "C", "L", "W"}


def test_bench_staffing_prints_both_figures():
    # The printed form of the report the JSON test ran (running the bench again costs ~10 s).
    report = json.loads(json.dumps(_staffing_report()))
    out = describe(report)
    assert "counter-hours" in out and "ratio" in out and "targets met" in out


def with_arrivals() -> dict[str, Any]:
    config = json.loads(json.dumps(TEST_CONFIG))
    config["branch"]["open"] = "09:00"
    config["arrivals"] = {"hourly": [24, 36, 44, 48, 40, 36, 32, 24]}
    for service, share in zip(config["services"], (0.6, 0.3, 0.1), strict=True):
        service["share"] = share
    return config


def test_a_config_without_arrivals_has_no_prior():
    assert parse_config(TEST_CONFIG).arrival_prior is None
    prior = parse_config(with_arrivals()).arrival_prior
    assert prior is not None and prior.hourly[3] == 48.0
    assert round(sum(prior.shares.values()), 9) == 1.0


def test_a_new_branch_gets_advice_from_its_config_prior(tmp_path: Path):
    db = tmp_path / "new.db"
    tokens = make_db(db, with_arrivals())
    # 10:00 in Shanghai, a branch with no history at all.
    server = LiveServer(db, tokens, FakeClock(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))).start()
    try:
        r = server.client("manager").get("/staffing/advice")
        assert r.status_code == 200, r.text
        advice = r.json()
    finally:
        server.stop()
    assert advice["forecast_basis"] == "prior"
    ten = advice["intervals"][2]["by_service"]
    assert ten["A"]["forecast_arrivals"] == pytest.approx(0.6 * 36 / 2)  # 10:00: hour 2
    assert ten["A"]["recommended_windows"] >= 1
    assert advice["recommended_counter_hours"] > 0


# ------------------------------------------------ the simulator's check of the Erlang C plan
def evaluation_of(daily: dict[str, list[tuple[int, int]]]) -> Evaluation:
    shares = {c: sum(k for k, _ in d) / sum(n for _, n in d) for c, d in daily.items()}
    return Evaluation(shares, {}, daily=daily)


def test_the_day_to_day_spread_of_a_pooled_share():
    # Shares 0.8 and 0.6 of 10 customers: pooled 0.7, residuals ±1, sd √2 per 10 customers.
    assert daily_spread([(8, 10), (6, 10)]) == pytest.approx(math.sqrt(2) / 10)
    assert daily_spread([(8, 10)]) == 0.0  # one day says nothing about the spread
    assert daily_spread([(5, 10)] * 30) == 0.0


def test_the_confidence_quantiles():
    assert confident_z(0.90) == pytest.approx(1.2816, abs=1e-4)
    assert confident_z(0.90, 5) == pytest.approx(2.0537, abs=1e-4)  # all five together
    with pytest.raises(ValueError):
        confident_z(1.0)


def test_a_confident_pass_needs_a_margin_that_grows_with_the_spread():
    steady = evaluation_of({"A": [(85, 100)] * 60})
    shaky = evaluation_of({"A": [(55, 100), (100, 100), (100, 100)] * 20})  # 85 % too
    need = meets_confidently(0.80, 30, confident_z(0.90))
    assert need(steady) == {"A": True}
    assert need(shaky) == {"A": False}  # sd 21 points a day: 85 % is not safely above 80 %
    # z = 0 is the plain rule (the bench's minimum): the pooled share alone.
    assert meets_confidently(0.80, 30, 0.0)(shaky) == {"A": True}
    # The longer the judged period, the smaller its noise, the smaller the margin.
    near = evaluation_of({"A": [(70, 100), (94, 100)] * 30})  # 82 %, sd 12 points
    assert need(near) == {"A": False}
    assert meets_confidently(0.80, 100_000, 1.0)(near) == {"A": True}


def test_the_check_draws_days_of_its_own():
    scenario = load_scenario(None)
    planning = planning_scenario(scenario)
    assert planning.seed != scenario.seed
    assert planning.hourly == scenario.hourly and planning.mix == scenario.mix
    ours = {tuple(draw_day(planning, d)) for d in range(3)}
    for d in (0, 1, 2, 1000, 1001):  # the bench's evaluation and held-out days
        assert tuple(draw_day(scenario, d)) not in ours


def test_the_check_trims_windows_the_simulation_shows_are_not_needed():
    scenario = small_branch(hours=2, days=3)
    lavish = [{"A": 6, "C": 5} for _ in range(4)]
    checked = check_grid(scenario, lavish, 30, days=6)
    assert checked.start == lavish
    assert counter_hours(checked.grid, 30) < counter_hours(lavish, 30)
    assert all(w["A"] >= 1 and w["C"] >= 1 for w in checked.grid)  # never below one window
    # It holds with the confidence margin on the confirming days ...
    need = meets_confidently(target_share(scenario), checked.period_days, checked.z)
    assert all(need(checked.evaluation).values()), checked.evaluation.shares
    # ... and on the scenario's own days, which it never saw.
    evaluation = PlanSimulator(scenario, 3).evaluate(checked.grid)
    assert all(meets(evaluation, target_share(scenario)).values()), evaluation.shares


def test_the_check_adds_windows_where_the_plan_falls_short():
    scenario = small_branch(hours=2, days=3)
    thin = [{"A": 1, "C": 1} for _ in range(4)]
    assert not all(meets(PlanSimulator(scenario, 3).evaluate(thin), 0.8).values())
    checked = check_grid(scenario, thin, 30, days=6)
    assert counter_hours(checked.grid, 30) > counter_hours(thin, 30)
    evaluation = PlanSimulator(scenario, 3).evaluate(checked.grid)
    assert all(meets(evaluation, target_share(scenario)).values()), evaluation.shares


def test_the_check_of_a_recommended_plan_keeps_its_shape():
    scenario = small_branch(hours=2, days=3)
    plan = recommended_plan(scenario)
    checked = check_in_simulator(scenario, plan, days=4, period_days=3)
    assert checked.start == plan_grid(plan) and checked.days == 4 and checked.period_days == 3
    assert len(checked.grid) == len(plan.intervals)
    assert {code for w in checked.grid for code in w} == {"A", "C"}
    with pytest.raises(ValueError):
        check_in_simulator(scenario, plan, days=1)
