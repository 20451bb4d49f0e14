"""The clairvoyant reference: optimal on instances small enough to enumerate, valid always,
never worse than the policy schedule it starts from."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from itertools import permutations

import pytest

from queue_server.domain import PriorityClass
from queue_server.simulation.arrivals import Arrival, draw_day
from queue_server.simulation.clairvoyant import (
    Problem,
    Sequences,
    _Search,
    check_schedule,
    clairvoyant_day,
    decode,
    optimise,
    schedule_cost,
    sequences_from_run,
)
from queue_server.simulation.compare import scenario_policy
from queue_server.simulation.engine import DayRun, Outcome, simulate_day
from queue_server.simulation.scenario import load_scenario

TARGETS = {
    PriorityClass.REGULAR: 10.0,
    PriorityClass.VIP: 2.0,
    PriorityClass.CARE: 2.0,
    PriorityClass.APPOINTMENT: 2.0,
}
SKILLS = {1: frozenset({"A"}), 2: frozenset({"A", "B"})}


def tiny_problem(seed: int, patience: bool = False, open_hours=None) -> Problem:
    """Up to 6 customers arriving close together on 2 counters, so order and counter matter."""
    rng = random.Random(seed)
    arrivals = []
    for _ in range(rng.randint(4, 6)):
        at = rng.uniform(0, 8)
        cls = rng.choice(list(TARGETS))
        slot = round(at / 5) * 5.0 if cls is PriorityClass.APPOINTMENT else None
        arrivals.append(
            Arrival(
                at,
                rng.choice("AAB"),
                cls,
                rng.uniform(1, 9),
                slot,
                rng.uniform(3, 12) if patience and rng.random() < 0.5 else math.inf,
            )
        )
    arrivals.sort(key=lambda a: a.at_min)
    return Problem(tuple(arrivals), SKILLS, TARGETS, open_hours or {})


def every_schedule(problem: Problem):
    """All ways to put the customers into the two counters' sequences (skills respected)."""
    n = len(problem.arrivals)
    for mask in range(2**n):
        on_1 = [i for i in range(n) if mask >> i & 1]
        on_2 = [i for i in range(n) if not mask >> i & 1]
        if any(problem.arrivals[i].service not in SKILLS[1] for i in on_1):
            continue
        for order_1 in permutations(on_1):
            for order_2 in permutations(on_2):
                yield {1: list(order_1), 2: list(order_2)}


def brute_force(problem: Problem) -> float:
    return min(schedule_cost(problem, decode(problem, s)) for s in every_schedule(problem))


def arrival_order_seed(problem: Problem) -> Sequences:
    """Everyone at the counter that can serve everything, in arrival order: a poor start."""
    return {1: [], 2: list(range(len(problem.arrivals)))}


@pytest.mark.parametrize("seed", range(12))
def test_the_optimiser_finds_the_enumerated_optimum(seed):
    problem = tiny_problem(seed, patience=seed % 3 == 0)
    start = arrival_order_seed(problem)
    best = optimise(problem, start, iterations=4000, rng_seed=seed)
    run = decode(problem, best)
    assert check_schedule(problem, run) == []
    assert schedule_cost(problem, run) == pytest.approx(brute_force(problem), abs=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_the_optimum_respects_a_counter_closed_for_a_while(seed):
    hours = {2: [(0.0, 3.0), (12.0, math.inf)]}
    problem = tiny_problem(100 + seed, open_hours=hours)
    best = decode(problem, optimise(problem, arrival_order_seed(problem), 4000, seed))
    assert check_schedule(problem, best) == []
    assert schedule_cost(problem, best) == pytest.approx(brute_force(problem), abs=1e-6)
    for o in best.outcomes:
        if o.counter == 2:
            assert o.called_min is not None
            assert o.called_min < 3.0 or o.called_min >= 12.0


def test_the_running_cost_of_the_search_matches_a_plain_pricing():
    """Every move is priced incrementally; after many accepted moves the books still agree."""
    scenario = load_scenario()
    arrivals = draw_day(scenario, 0)[:120]
    skills = {c.number: frozenset(s.service for s in c.skills) for c in scenario.branch.counters}
    problem = Problem(tuple(arrivals), skills, scenario.class_targets_min, {5: [(0, 60)]})
    run = simulate_day(scenario, arrivals, scenario_policy(scenario, "fifo"))
    search = _Search(problem, sequences_from_run(problem, run))
    rng = random.Random(3)
    total = search.total
    accepted = 0
    for _ in range(3000):
        move = search.propose(rng)
        if move is None:
            continue
        delta, sequences, updates = move
        for counter, order in sequences:
            search.seq[counter] = order
        search.commit(updates)
        total += delta
        accepted += 1
    assert accepted > 1000
    plain = schedule_cost(problem, decode(problem, search.seq))
    assert total == pytest.approx(plain, rel=1e-9)
    assert sum(search.cost) == pytest.approx(plain, rel=1e-9)


def test_a_standard_day_is_never_worse_than_the_best_policy_and_is_a_valid_day():
    scenario = load_scenario()
    arrivals = draw_day(scenario, 1)
    skills = {c.number: frozenset(s.service for s in c.skills) for c in scenario.branch.counters}
    problem = Problem(tuple(arrivals), skills, scenario.class_targets_min)
    runs = {
        name: simulate_day(scenario, arrivals, scenario_policy(scenario, name), 1)
        for name in ("fifo", "strict")
    }
    for run in runs.values():
        # The seed is exactly the day the policy ran: same calls at the same moments.
        assert decode(problem, sequences_from_run(problem, run)).outcomes == run.outcomes
    day = clairvoyant_day(problem, runs, iterations=3000, rng_seed=1)
    assert check_schedule(problem, day.run) == []
    assert day.cost <= day.seed_cost
    assert day.cost < day.seed_cost  # a few thousand moves always find something on a full day
    assert day.cost <= min(schedule_cost(problem, r) for r in runs.values())
    again = clairvoyant_day(problem, runs, iterations=3000, rng_seed=1)
    assert again.run.outcomes == day.run.outcomes  # deterministic for a seed


def test_who_gave_up_in_the_simulation_is_seeded_without_making_the_day_worse():
    arrivals = (
        Arrival(0.0, "A", PriorityClass.REGULAR, 10.0),
        Arrival(1.0, "A", PriorityClass.REGULAR, 2.0, patience_min=3.0),
        Arrival(2.0, "B", PriorityClass.VIP, 2.0),
    )
    problem = Problem(arrivals, SKILLS, TARGETS)
    simulated = DayRun(
        [
            Outcome(arrivals[0], 1, called_min=0.0, counter=1),
            Outcome(arrivals[1], 2, left_min=4.0),
            Outcome(arrivals[2], 3, called_min=2.0, counter=2),
        ],
        {1: 10.0, 2: 2.0},
        10.0,
    )
    seed = decode(problem, sequences_from_run(problem, simulated))
    assert check_schedule(problem, seed) == []
    assert schedule_cost(problem, seed) <= schedule_cost(problem, simulated)
    best = decode(problem, optimise(problem, sequences_from_run(problem, simulated), 500))
    # Foresight serves the impatient customer at the free counter before they give up.
    assert best.outcomes[1].called_min is not None
    assert schedule_cost(problem, best) < schedule_cost(problem, simulated)


def test_the_validator_names_each_impossible_schedule():
    problem = tiny_problem(1)
    good = decode(problem, {1: [], 2: list(range(len(problem.arrivals)))})
    assert check_schedule(problem, good) == []
    b = next(i for i, a in enumerate(problem.arrivals) if a.service == "B")
    outcomes = list(good.outcomes)

    def broken(i: int, **changes: object) -> list[str]:
        changed = list(outcomes)
        changed[i] = replace(outcomes[i], **changes)
        return check_schedule(problem, DayRun(changed, good.busy_min, good.end_min))

    assert any("cannot serve" in e for e in broken(b, counter=1))
    assert any("before arriving" in e for e in broken(0, called_min=-1.0))
    assert any("overlap" in e for e in broken(1, called_min=outcomes[0].called_min))
    assert any("never served" in e for e in broken(0, called_min=None, counter=None))
    assert any("patience" in e for e in broken(0, called_min=None, counter=None, left_min=1.0))
    closed = Problem(problem.arrivals, SKILLS, TARGETS, {2: [(50.0, 60.0)]})
    assert any("closed" in e for e in check_schedule(closed, good))
