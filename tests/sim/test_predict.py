"""The simulation wait predictor: exact cases, determinism, the service model, the bench."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from statistics import NormalDist
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from queue_server.cli import main
from queue_server.domain import (
    AccumulatingPriority,
    Branch,
    BranchSettings,
    Counter,
    PriorityClass,
    Service,
    Skill,
    Ticket,
)
from queue_server.domain.eta import (
    CRN_SPAN,
    ArrivalRates,
    Heads,
    LogNormal,
    ServiceModel,
    _crn_table,
    head_rank,
    naive_wait_s,
    predict_waits,
    todays_volume,
)
from queue_server.domain.policies import POLICY_NAMES, default_policy, policy_by_name
from queue_server.simulation.arrivals import Arrival
from queue_server.simulation.engine import Simulation, fork_branch
from queue_server.simulation.scenario import STANDARD_DAY, load_scenario
from tools.bench.predict import _pairs, live_state_150x10, scenario_arrivals

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def one_counter_branch(waiting: int, *, busy_for_s: float | None = None) -> Branch:
    services = [Service("A", "A", {"en": "A"}, mean_service_s=300)]
    branch = Branch(BranchSettings(), services, [Counter(1, "one", skills=(Skill("A"),))])
    branch.apply(branch.sign_in(1, "s1", NOW - timedelta(hours=1)))
    if busy_for_s is not None:
        start = NOW - timedelta(seconds=busy_for_s)
        branch.apply(branch.issue_ticket("A", start))
        branch.apply(branch.call_next(1, start))
        branch.apply(branch.start_serving(1, start))
    for k in range(waiting):
        branch.apply(branch.issue_ticket("A", NOW - timedelta(minutes=waiting - k)))
    return branch


def exact_model(branch: Branch) -> ServiceModel:
    return ServiceModel.from_services(branch.services.values(), prior_cv=0.0)


def last_waits_s(policy: str, **predict: Any) -> float:
    """The median wait of the last of three regulars at one counter 2 minutes into a
    5-minute service (780 s with nothing else going on), predicted with `predict`."""
    branch = one_counter_branch(3, busy_for_s=120)
    branch.policy = policy_by_name(policy)
    last = max(branch.waiting, key=lambda t: t.id).id
    pred = predict_waits(branch, NOW, exact_model(branch), rng=random.Random(7), **predict)
    return pred.tickets[last].median_s


def test_deterministic_service_on_one_counter_gives_the_exact_waits():
    branch = one_counter_branch(3, busy_for_s=120)
    pred = predict_waits(branch, NOW, exact_model(branch), runs=5, rng=random.Random(1))
    waits = [pred.tickets[t.id].median_s for t in sorted(branch.waiting, key=lambda t: t.id)]
    assert waits == pytest.approx(
        [180.0, 480.0, 780.0]
    )  # 3 min left of the current customer, then 5 each
    assert pred.newcomers["A"].median_s == pytest.approx(1080.0)
    assert all(e.low_s == e.median_s == e.high_s for e in pred.tickets.values())


def test_an_idle_counter_calls_the_first_customer_now():
    branch = one_counter_branch(2)
    pred = predict_waits(branch, NOW, exact_model(branch), runs=3, rng=random.Random(1))
    assert sorted(e.median_s for e in pred.tickets.values()) == pytest.approx([0.0, 300.0])
    assert pred.newcomers["A"].median_s == pytest.approx(600.0)


def test_the_same_rng_seed_gives_the_same_prediction_and_intervals_hold_the_median():
    branch, now = live_state_150x10(load_scenario())
    model = ServiceModel.from_services(branch.services.values())
    a = predict_waits(branch, now, model, runs=20, rng=random.Random(5))
    b = predict_waits(branch, now, model, runs=20, rng=random.Random(5))
    assert a == b
    assert len(a.tickets) == 150
    for est in [*a.tickets.values(), *a.newcomers.values()]:
        assert est.low_s <= est.median_s <= est.high_s
    assert any(e.low_s < e.high_s for e in a.tickets.values())


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_the_fast_replay_calls_as_the_production_aggregate_does(name):
    # One forward run through fork_branch + Simulation (the Branch aggregate and the policy's
    # full choose_next) must call everyone at the same moment as the replay, which ranks
    # only each group's head, under every registered policy. Both get the replay's own
    # service times (run 0 of the common random numbers): no two services end together, so
    # no event-order tie can swap two customers, and every call must agree.
    branch, now = live_state_150x10(load_scenario())
    branch.policy = policy_by_name(name)
    model = ServiceModel.from_services(branch.services.values())
    seed = 7
    pred = predict_waits(
        branch, now, model, runs=1, rng=random.Random(1), newcomers=False, common_seed=seed
    )
    deviates = _crn_table(seed, 0)
    fork = fork_branch(branch)
    sim = Simulation(fork, now)
    for t in sorted(fork.waiting, key=lambda t: t.id):
        p = model.params(t.service)
        service_min = math.exp(p.mu + p.sigma * deviates[t.id % CRN_SPAN]) / 60.0
        at_min = (t.arrived_at - now).total_seconds() / 60.0
        sim.adopt_waiting(t, Arrival(at_min, t.service, t.priority, service_min))
    for number in sorted(fork.counters):
        active = fork.active_ticket(number)
        if active is not None and active.serving_at is not None:
            elapsed = (now - active.serving_at).total_seconds()
            u = NormalDist().cdf(deviates[active.id % CRN_SPAN])
            sim.adopt_busy(number, model.remaining_at_s(active.service, None, elapsed, u) / 60.0)
    outcomes = sim.run().outcomes
    assert len(outcomes) == 150
    ours = [pred.tickets[o.ticket_id].median_s / 60.0 for o in outcomes]
    theirs = [o.called_min for o in outcomes]
    assert all(t is not None for t in theirs)
    assert ours == pytest.approx(theirs, abs=1e-6)


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_the_head_ranking_chooses_as_the_policys_own_key(name):
    # The replay ranks group heads from numbers (`head_rank`); among any heads, at any
    # moment and skill weights, it must choose whom the policy's own key ranks first
    # (ties by arrival, then id), appointments at their slot included.
    policy = policy_by_name(name)
    branch, now = live_state_150x10(load_scenario())
    services = branch.services
    kinds = [(PriorityClass.REGULAR, 0), (PriorityClass.CARE, 0), (PriorityClass.VIP, 1)]
    kinds += [(PriorityClass.VIP, 3), (PriorityClass.APPOINTMENT, 0)]
    groups = [(code, cls, tier) for code in sorted(services) for cls, tier in kinds]
    ranking = head_rank(policy, services, groups)
    assert ranking is not None
    rng = random.Random(4)
    day = now.date()
    for trial in range(300):
        chosen = rng.sample(range(len(groups)), rng.randint(1, 6))
        tickets, weights = [], []
        for k, g in enumerate(chosen):
            code, cls, tier = groups[g]
            arrived = now - timedelta(seconds=rng.uniform(0, 4 * 3600))
            slot = arrived if cls is PriorityClass.APPOINTMENT else None  # booked: at its slot
            t = Ticket(k, "", code, day, arrived, arrived, cls, tier, appointment_slot=slot)
            tickets.append(t)
            weights.append(rng.choice([1.0, 0.8, 0.64]))
        at = now + timedelta(seconds=rng.uniform(0, 3600))
        arrived_ts = [t.arrived_at.timestamp() for t in tickets]
        heads = Heads(
            [[k] for k in range(len(chosen))],
            [0] * len(chosen),
            chosen,
            arrived_ts,
            [(ts, t.id) for ts, t in zip(arrived_ts, tickets, strict=True)],
        )
        entries = [(k, w, False) for k, w in enumerate(weights)]
        ours = ranking.best(entries, heads, at.timestamp())
        key = policy._key(at, services)  # type: ignore[attr-defined]
        theirs = min(
            range(len(chosen)),
            key=lambda k: (key(tickets[k], weights[k]), tickets[k].arrived_at, tickets[k].id),
        )
        assert ours == theirs, trial


def test_the_service_model_shrinks_towards_the_prior_by_sample_count():
    services = [Service("A", "A", {"en": "A"}, mean_service_s=300)]
    prior = LogNormal.from_mean_cv(300, 0.8)
    empty = ServiceModel.from_services(services)
    assert empty.params("A") == LogNormal(prior.mu, prior.sigma, 0.0)
    assert math.isclose(empty.params("A").mean_s, 300.0)
    few = ServiceModel.from_services(services, [("A", 10, 600.0)] * 10, prior_weight=10)
    assert math.isclose(few.params("A").mu, (prior.mu + math.log(600)) / 2)
    many = ServiceModel.from_services(services, [("A", 10, 600.0)] * 10_000, prior_weight=10)
    assert abs(many.params("A").mu - math.log(600)) < 0.01
    assert many.params("A").sigma < 0.05
    # An hour with its own history shrinks towards the business's fit, not the prior.
    assert many.params("A", 10).mu > many.params("A").mu - 1e-9
    assert many.params("A", 15) == many.params("A")


def test_the_residual_of_a_long_service_is_positive_and_shorter_than_a_fresh_one():
    model = ServiceModel.from_services([Service("A", "A", {"en": "A"}, mean_service_s=300)])
    rng = random.Random(3)
    left = [model.draw_remaining_s(rng, "A", None, 600.0) for _ in range(200)]
    assert all(x >= 0 for x in left)


def test_the_naive_formula():
    assert naive_wait_s(6, 300, 2) == 900
    assert naive_wait_s(0, 300, 3) == 0
    assert naive_wait_s(4, 300, 0) is None
    branch = one_counter_branch(3)
    last = max(branch.waiting, key=lambda t: t.id)
    assert branch.naive_eta_s(last, NOW) == naive_wait_s(2, 300, 1)


def test_bench_predict_json_shape(capsys):
    assert main(["bench", "predict", "--days", "1", "--runs", "5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for name in ("naive", "simulation"):
        assert {"mae_min", "rmse_min", "bias_min", "under_5min"} <= set(report[name])
        assert set(report[name]["classes"]) == {c.value for c in PriorityClass}
    assert report["predict_ms_150x10"] > 0
    assert report["days"] == 1
    # The day runs, and the predictor replays, the production default, not a fixed policy.
    assert report["policy"] == default_policy().name
    # Added keys: the ratio per class, and every scenario asked for (here the default one).
    assert set(report["mae_ratio_classes"]) == {c.value for c in PriorityClass}
    assert [r["scenario"] for r in report["scenarios"]] == [report["scenario"]]
    assert isinstance(report["target_met_everywhere"], bool)


def test_bench_predict_reports_every_scenario_asked_for(capsys):
    # Variant days are added beside the standard day: 'all' takes every shipped one.
    standard = str(STANDARD_DAY)
    argv = ["bench", "predict", "--days", "1", "--runs", "3", "--scenario", standard]
    assert main([*argv, "--scenario", "all"]) == 0
    table = capsys.readouterr().out
    shipped = sorted(STANDARD_DAY.parent.glob("*.toml"))
    assert table.count("## ") == 1 + len(shipped)
    assert "simulation MAE ÷ naive MAE, per class and scenario day" in table
    assert "| appointment |" in table


@pytest.mark.parametrize("name", ["accumulating", "cmu"])
def test_priority_customers_due_to_arrive_lengthen_a_waiting_regulars_wait(name):
    # Every policy's replay has the forecast's customers arrive (cμ's once ignored them).

    def wait_with(arrivals: ArrivalRates | None) -> float:
        return last_waits_s(name, runs=20, arrivals=arrivals)

    assert wait_with(None) == pytest.approx(780.0)
    # Later regulars never overtake: the same exact wait.
    regulars = ArrivalRates({"A": [30.0] * 24}, {"A": [(PriorityClass.REGULAR, 0, 1.0)]})
    assert wait_with(regulars) == pytest.approx(780.0)
    # VIPs (a head start; ten times the cost rate under cμ) every 2 minutes do overtake.
    vips = ArrivalRates({"A": [30.0] * 24}, {"A": [(PriorityClass.VIP, 1, 1.0)]})
    assert wait_with(vips) > 780.0 + 300.0


def test_predictions_with_arrivals_are_deterministic_and_only_push_waits_back():
    branch, now = live_state_150x10(load_scenario())
    model = ServiceModel.from_services(branch.services.values())
    forecast = scenario_arrivals(load_scenario())
    a = predict_waits(branch, now, model, runs=10, rng=random.Random(5), arrivals=forecast)
    b = predict_waits(branch, now, model, runs=10, rng=random.Random(5), arrivals=forecast)
    assert a == b and len(a.tickets) == 150
    plain = predict_waits(branch, now, model, runs=10, rng=random.Random(5))
    # On average, later priority customers can only push waiting ones back.
    assert sum(e.median_s for e in a.tickets.values()) >= sum(
        e.median_s for e in plain.tickets.values()
    )


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_a_booked_appointment_arriving_at_its_slot_overtakes_a_waiting_regular(name):
    # An honoured appointment goes first under every policy, so every replay counts it.

    def wait_with(bookings: list[tuple[datetime, str]]) -> float:
        return last_waits_s(name, runs=5, bookings=bookings)

    assert wait_with([]) == pytest.approx(780.0)
    # Booked for 5 minutes from now: called at the next free moment after the slot (8 min,
    # after the first waiting customer), so the last regular waits one service longer.
    assert wait_with([(NOW + timedelta(minutes=5), "A")]) == pytest.approx(780.0 + 300.0)
    # A slot beyond the horizon or long past its grace (a no-show) changes nothing.
    assert wait_with([(NOW + timedelta(hours=6), "A")]) == pytest.approx(780.0)
    assert wait_with([(NOW - timedelta(hours=1), "A")]) == pytest.approx(780.0)


@pytest.mark.parametrize("name", ["accumulating", "cmu"])
def test_customers_ahead_who_give_up_shorten_a_waiting_customers_wait(name):
    # The predictor once had everyone ahead stay: on a day of impatient customers it
    # over-predicted every wait. With the forecast's patience, those ahead leave; a customer's
    # own wait is still the call they would have had by staying.
    nobody = {"A": [0.0] * 24}

    def wait_with(patience_min: float) -> float:
        forecast = ArrivalRates(nobody, {}, patience_mean_min=patience_min)
        return last_waits_s(name, runs=30, arrivals=forecast, common_seed=3)

    assert wait_with(0.0) == pytest.approx(780.0)
    assert wait_with(1000.0) == pytest.approx(780.0, abs=30.0)  # hardly anyone leaves
    # Patience of half a minute: those ahead (here 1-3 minutes) have mostly gone by the
    # counter's next call, 3 minutes from now.
    assert wait_with(0.5) < 480.0


def test_the_bench_leaves_customers_who_left_uncalled_out_of_the_errors():
    # Their time to leaving was scored as the actual wait: a wait neither predictor forecasts.
    rows = [(PriorityClass.REGULAR, 1.0, 2.0, math.nan), (PriorityClass.REGULAR, 1.0, 2.0, 3.0)]
    assert _pairs(rows, "simulation") == [(1.0, 3.0)]
    assert _pairs(rows, "naive") == [(2.0, 3.0)]


def test_hours_that_differ_only_by_noise_keep_the_businesss_fit():
    services = [Service("A", "A", {"en": "A"}, mean_service_s=300)]
    rng = random.Random(11)
    same = [
        (("A", h, rng.lognormvariate(math.log(240), 0.6))) for h in (9, 10, 11) for _ in range(40)
    ]
    model = ServiceModel.from_services(services, same)
    for h in (9, 10, 11):
        assert model.params("A", h).sigma == model.params("A").sigma
        assert abs(model.params("A", h).mu - model.params("A").mu) < 0.05
    # Hours that really differ (twice as long at 11) move towards their own level.
    rng = random.Random(12)
    differ = [
        ("A", h, rng.lognormvariate(math.log(240 if h < 11 else 480), 0.6))
        for h in (9, 10, 11)
        for _ in range(40)
    ]
    model = ServiceModel.from_services(services, differ)
    assert model.params("A", 11).mean_s > 1.5 * model.params("A", 9).mean_s


def test_todays_volume_is_shrunk_towards_the_forecast_and_the_forecast_integrates():
    assert todays_volume(0, 0) == 1.0
    assert todays_volume(10, 10) == 1.0
    assert 1.0 < todays_volume(20, 10) < 2.0  # few customers: only part of the way
    assert todays_volume(2000, 1000) == pytest.approx(2.0, rel=0.02)
    rates = ArrivalRates({"A": [6.0 if h == 9 else 12.0 for h in range(24)]}, {})
    tz = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 3, 2, 9, 30, tzinfo=tz)  # half an hour at 6/h, an hour at 12/h
    assert rates.expected_between(start, start + timedelta(minutes=90), tz) == pytest.approx(15)
    assert rates.scaled(2.0).per_hour("A", 10) == 24.0


def test_bench_issue_prints_both_columns_per_queue_length(capsys):
    assert main(["bench", "issue", "--levels", "10,300", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert [row["waiting"] for row in r["levels"]] == [10, 300]
    assert all(row["indexed_us"] > 0 and row["sorting_us"] > 0 for row in r["levels"])
    assert r["growth_indexed"] > 0 and r["growth_sorting"] > 0
    assert main(["bench", "issue", "--levels", "10"]) == 2


def test_common_random_numbers_give_the_same_waits_whatever_the_rng():
    # Each event re-rolled the simulation: two predictions of the same state differed by up
    # to 15 min for one customer. With a common seed the rng no longer matters, and a
    # prediction a few seconds on moves no one's wait by more than those seconds — under a
    # fixed order. (cμ's order changes with time: a few seconds can flip a call near a
    # crossing and move a median by minutes; see the predictor's report in issue 18.)
    scenario = load_scenario()
    branch, now = live_state_150x10(scenario, AccumulatingPriority())
    model = ServiceModel.from_services(branch.services.values())
    forecast = scenario_arrivals(scenario)

    def waits(rng_seed: int, at: datetime) -> dict[int, float]:
        pred = predict_waits(
            branch,
            at,
            model,
            runs=10,
            rng=random.Random(rng_seed),
            arrivals=forecast,
            common_seed=42,
        )
        return {tid: e.median_s for tid, e in pred.tickets.items()}

    first, again = waits(1, now), waits(2, now)
    assert first == again and len(first) == 150
    later = waits(3, now + timedelta(seconds=5))
    assert max(abs(later[t] - (w - 5.0)) for t, w in first.items() if w > 5) <= 30.0
    rerolled = predict_waits(branch, now, model, runs=10, rng=random.Random(2), arrivals=forecast)
    assert max(abs(e.median_s - first[t]) for t, e in rerolled.tickets.items()) > 60.0
