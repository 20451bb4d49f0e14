"""The simulator: M/M/c against Erlang C, determinism, the production branch underneath."""

from __future__ import annotations

import math
import statistics
from typing import Any

from queue_server.domain import PriorityClass, TicketState
from queue_server.domain.policies import policy_by_name
from queue_server.simulation.arrivals import Arrival, draw_day
from queue_server.simulation.bound import pooled_fluid_bound, skill_pooled_bound
from queue_server.simulation.compare import compare_policies
from queue_server.simulation.engine import Simulation, day_origin, open_branch, simulate_day
from queue_server.simulation.metrics import mean_ci95
from queue_server.simulation.scenario import STANDARD_DAY, load_scenario, parse_scenario


def one_queue(
    counters: int, per_hour: float, mean_min: float, *, days: int = 1, **extra: Any
) -> dict[str, Any]:
    return {
        "branch": {"name": "M/M/c", "open": "09:00", "close": "17:00", "days": days, "seed": 7},
        "arrivals": {"hourly": [per_hour] * 8, "day_multiplier_cv": 0.0},
        "services": [
            {
                "code": "A",
                "share": 1.0,
                "mean_min": mean_min,
                "cv": 1.0,
                "target_wait_min": 10,
                **extra,
            }
        ],
        "counters": [{"skills": ["A"]} for _ in range(counters)],
    }


def erlang_c_wait(arrivals_per_min: float, mean_min: float, c: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C), computed here on purpose: an independent check."""
    a = arrivals_per_min * mean_min
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait * mean_min / (c - a)


def test_mm3_mean_wait_matches_erlang_c_within_the_confidence_interval():
    scenario = parse_scenario(one_queue(3, 45.0, 3.0, distribution="exponential", days=40))
    fifo = policy_by_name("fifo")
    day_means = []
    for day in range(scenario.days):
        run = simulate_day(scenario, draw_day(scenario, day), fifo, day)
        # Waits of customers who arrived in the first hour start from an empty branch: skip.
        steady = [o.wait_min for o in run.outcomes if o.arrival.at_min >= 60]
        day_means.append(statistics.fmean(steady))
    mean, lo, hi = mean_ci95(day_means)
    expected = erlang_c_wait(45 / 60, 3.0, 3)  # ρ = 0.75: P(wait) 0.568, 2.27 min
    assert abs(expected - 2.271) < 0.001
    assert lo <= expected <= hi, (mean, lo, hi, expected)


def test_arrivals_follow_the_hourly_rates():
    scenario = parse_scenario(one_queue(3, 30.0, 3.0, days=20))
    counts = [len(draw_day(scenario, d)) for d in range(scenario.days)]
    assert abs(statistics.fmean(counts) - 240) < 3 * math.sqrt(240 / 20)


def test_a_fixed_seed_gives_the_same_days_and_the_same_figures():
    scenario = load_scenario()
    assert draw_day(scenario, 3) == draw_day(scenario, 3)
    assert draw_day(scenario, 3) != draw_day(scenario, 4)
    first = compare_policies(scenario, ["sla"], days=2).as_json()
    again = compare_policies(scenario, ["sla"], days=2).as_json()
    assert first == again


def test_the_standard_day_loads_as_it_is():
    scenario = load_scenario(STANDARD_DAY)
    assert scenario.days == 30 and scenario.seed == 20261128
    assert [m.code for m in scenario.mix] == ["A", "B", "C", "L", "W"]
    assert len(scenario.branch.counters) == 9
    assert scenario.vip_services == {"W"}
    assert scenario.sla[PriorityClass.APPOINTMENT].share == 0.9
    day = draw_day(scenario, 0)
    classes = {a.priority for a in day}
    assert classes == set(PriorityClass)
    assert all(a.slot_min is not None for a in day if a.priority is PriorityClass.APPOINTMENT)
    assert all(abs(a.at_min - a.slot_min) <= 5 + 1e-9 for a in day if a.slot_min is not None)


def test_the_simulation_runs_the_production_branch_to_the_end_of_the_day():
    scenario = load_scenario()
    origin = day_origin(scenario, 0)
    branch = open_branch(scenario, policy_by_name("accumulating"), origin)
    sim = Simulation(branch, origin)
    arrivals = draw_day(scenario, 0)
    sim.add_arrivals(arrivals)
    run = sim.run()
    assert len(run.outcomes) == len(arrivals) == len(branch.tickets)
    assert all(t.state is TicketState.DONE for t in branch.tickets.values())
    assert branch.waiting == []
    assert branch.last_seq >= 3 * len(arrivals)  # issued, called, serving, done per customer
    for o in run.outcomes:
        t = branch.tickets[o.ticket_id]
        assert t.counter == o.counter
        assert scenario.branch.counters[o.counter - 1].skill_for(t.service) is not None


def test_impatient_customers_cancel_their_tickets():
    scenario = parse_scenario(one_queue(1, 50.0, 3.0, days=1))
    arrivals = [
        Arrival(0.0, "A", PriorityClass.REGULAR, 30.0),
        Arrival(1.0, "A", PriorityClass.REGULAR, 3.0, patience_min=5.0),
        Arrival(2.0, "A", PriorityClass.REGULAR, 3.0),
    ]
    run = simulate_day(scenario, arrivals, policy_by_name("fifo"))
    first, impatient, third = run.outcomes
    assert impatient.left_min == 6.0 and impatient.called_min is None
    assert third.called_min == 30.0 and first.called_min == 0.0


def test_the_bound_is_exact_for_one_counter_and_a_burst():
    burst = [Arrival(0.0, "A", PriorityClass.REGULAR, 1.0) for _ in range(3)]
    assert pooled_fluid_bound(burst, 1) == 3.0  # waits 0 + 1 + 2


def test_no_policy_beats_the_bound_on_the_same_arrivals():
    standard = load_scenario()
    skills = {c.number: frozenset(s.service for s in c.skills) for c in standard.branch.counters}
    assert compare_policies(standard, days=1).bounds == [
        skill_pooled_bound(draw_day(standard, 0), skills)
    ]
    overloaded = parse_scenario(one_queue(2, 50.0, 3.0))  # ρ = 1.25 all day
    comparison = compare_policies(overloaded, days=1)
    assert comparison.bounds[0] > 1000
    for summary in comparison.summaries.values():
        assert summary["bound_ratio"] >= 1.0
