"""The branch's own policy tournament: the day built from its forecast, and the picking rule."""

from __future__ import annotations

from datetime import date, time

import pytest

from queue_server.config import parse_config
from queue_server.domain import PriorityClass
from queue_server.domain.eta import ServiceModel
from queue_server.domain.policies import DEFAULT_POLICY, POLICY_NAMES, AccumulatingPriority
from queue_server.domain.staffing import ArrivalPrior, branch_hours, forecast_arrivals
from queue_server.simulation.tournament import (
    HEAD_START_GRID,
    Candidate,
    Played,
    candidate_policy,
    candidates,
    forecast_scenario,
    pick,
    priority_targets,
    run_tournament,
)
from tests.conftest import TEST_CONFIG

TZ = "Asia/Shanghai"
DAY = date(2026, 3, 9)  # a Monday


def _branch():
    cfg = parse_config(TEST_CONFIG)
    return cfg.settings, list(cfg.services), list(cfg.counters)


def _forecast(records=(), prior=None):
    settings, services, _ = _branch()
    return forecast_arrivals(
        records,
        DAY,
        [s.code for s in services],
        timezone=TZ,
        day_starts_at=settings.day_starts_at,
        hours=branch_hours(services),
        prior=prior,
    )


PRIOR = ArrivalPrior((20.0, 30.0, 30.0, 20.0), {"A": 0.6, "B": 0.3, "C": 0.1}, time(9, 0))


def test_with_only_the_prior_the_day_is_the_configs():
    settings, services, counters = _branch()
    forecast = _forecast(prior=PRIOR)
    assert forecast.basis == "prior"
    model = ServiceModel.from_services(services)
    scenario = forecast_scenario(settings, services, counters, forecast, model, {})
    # Arrivals: the prior's hourly rates, per 30-minute interval, as customers per hour.
    assert scenario.hourly[:8] == pytest.approx((20, 20, 30, 30, 30, 30, 20, 20))
    assert sum(scenario.hourly[8:]) == 0
    shares = {m.code: m.share for m in scenario.mix}
    assert shares == pytest.approx({"A": 0.6, "B": 0.3, "C": 0.1})
    means = {m.code: m.mean_min for m in scenario.mix}
    assert means == pytest.approx({"A": 4.0, "B": 6.0, "C": 20.0}, rel=1e-6)
    # No history of classes: the standard day's mix stands in.
    assert (scenario.vip_share_other, scenario.care_share) == (0.05, 0.08)
    assert [c.number for c in scenario.branch.counters] == [1, 2, 3]
    assert scenario.sla[PriorityClass.VIP].within_min == 5.0
    # Regular target: the businesses' own, weighted by their share (A, B 10; C 15).
    assert scenario.sla[PriorityClass.REGULAR].within_min == pytest.approx(10.5)


def test_with_history_the_day_follows_the_log():
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    settings, services, counters = _branch()
    tz = ZoneInfo(TZ)
    records = []
    for back in range(1, 4):  # three earlier days: 10 A at 10:00-10:30, 5 C at 14:00
        day = DAY - timedelta(days=back)
        records += [(datetime.combine(day, time(10, 0), tz), "A")] * 10
        records += [(datetime.combine(day, time(14, 5), tz), "C")] * 5
    forecast = _forecast(records, prior=PRIOR)
    assert forecast.basis == "all_days"
    # A's services took 8 minutes, 300 of them: the fit leaves the configured 4 far behind.
    samples = [("A", None, 480.0 + (i % 7) * 10) for i in range(300)]
    model = ServiceModel.from_services(services, samples)
    counts = {
        "A": {PriorityClass.REGULAR: 70, PriorityClass.VIP: 10, PriorityClass.CARE: 20},
        "C": {PriorityClass.APPOINTMENT: 10, PriorityClass.REGULAR: 10},
    }
    scenario = forecast_scenario(settings, services, counters, forecast, model, counts)
    shares = {m.code: m.share for m in scenario.mix}
    assert shares == pytest.approx({"A": 10 / 15, "B": 0.0, "C": 5 / 15})
    a = next(m for m in scenario.mix if m.code == "A")
    assert 7.5 < a.mean_min < 8.5 and a.cv < 0.3
    assert scenario.appointment_share == {"C": 0.5}
    assert scenario.vip_share_other == pytest.approx(10 / 110)  # walk-ins of A and C
    assert scenario.care_share == pytest.approx(20 / 100)
    # 10 customers in the 10:00 interval = 20 an hour, 5 in the 14:00 one = 10 an hour.
    assert scenario.hourly[2] == pytest.approx(20.0) and scenario.hourly[10] == pytest.approx(10)


def test_no_forecast_at_all_is_refused():
    settings, services, counters = _branch()
    forecast = _forecast()
    assert forecast.basis == "none"
    with pytest.raises(ValueError, match="expects nobody"):
        forecast_scenario(settings, services, counters, forecast, ServiceModel({}), {})


def test_candidates_are_every_registered_policy_and_head_start_variants():
    entrants = candidates()
    names = [c.name for c in entrants]
    assert set(POLICY_NAMES) <= set(names)
    # The default plays too, even when it is a lookahead outside POLICY_NAMES: a night without
    # it would replace the branch's best policy with a lesser one.
    assert DEFAULT_POLICY in names
    assert names.count("accumulating") == 1 + len(HEAD_START_GRID)
    assert len({c.label for c in entrants}) == len(entrants)
    variant = entrants[-1]
    policy = candidate_policy(
        Candidate.from_json(variant.to_json()),  # as stored and restored
        appointment_grace=AccumulatingPriority().appointment_grace,
        class_targets=priority_targets(),
    )
    assert isinstance(policy, AccumulatingPriority)
    assert policy.head_starts[PriorityClass.APPOINTMENT] == HEAD_START_GRID[-1][1]
    with pytest.raises(ValueError):
        candidate_policy(
            Candidate("fifo", {"no_such": 1}),
            appointment_grace=policy.appointment_grace,
            class_targets={},
        )


def _summary(share, total, over=(), flood_ok=True):
    cls = {c.value: {"p95_wait_min": 1.0, "target_min": 5.0} for c in PriorityClass}
    return {
        "within_target_share": share,
        "within_target_ci95": [share - 0.01, share + 0.01],
        "total_wait_min": total,
        "starved_classes": list(over),
        "flood_wait_min": {"vip": 6 if flood_ok else None, "care": 6},
        "classes": cls,
    }


def _played(name, shares, total, **kw):
    return Played(Candidate(name), _summary(sum(shares) / len(shares), total, **kw), shares)


def test_a_tie_inside_the_paired_interval_goes_to_less_waiting():
    verdict = pick(
        [
            _played("fifo", [0.90, 0.93, 0.91], 500.0),
            _played("cmu", [0.91, 0.92, 0.91], 440.0),  # same share within noise, less wait
        ]
    )
    assert verdict.chosen.name == "cmu"
    assert verdict.reason["zh"] == "选择cmu：与fifo的达标率差在统计误差内，但等候总时长少 12 %。"
    assert "12 % less" in verdict.reason["en"]
    assert [r["chosen"] for r in verdict.table] == [False, True]


def test_a_share_better_beyond_chance_wins_over_less_waiting():
    verdict = pick(
        [
            _played("fifo", [0.80, 0.81, 0.82], 300.0),
            _played("sla", [0.90, 0.91, 0.92], 600.0),
        ]
    )
    assert verdict.chosen.name == "sla"
    assert "高 10.0 个百分点" in verdict.reason["zh"]


def test_fewest_classes_over_target_comes_before_share():
    verdict = pick(
        [
            _played("fifo", [0.95, 0.95], 300.0, over=("vip", "appointment")),
            _played("sla", [0.90, 0.90], 600.0, over=("vip",)),
        ]
    )
    assert verdict.chosen.name == "sla"
    assert "（1 类）" in verdict.reason["zh"]


def test_a_policy_that_starves_under_a_flood_is_never_chosen():
    verdict = pick(
        [
            _played("strict", [0.99, 0.99], 100.0, flood_ok=False),
            _played("fifo", [0.80, 0.80], 900.0),
        ]
    )
    assert verdict.chosen.name == "fifo"
    assert "strict" in verdict.reason["zh"] and "已排除" in verdict.reason["zh"]
    assert [r["starves_under_flood"] for r in verdict.table] == [True, False]


def test_a_short_tournament_on_the_prior_day_names_a_safe_winner():
    settings, services, counters = _branch()
    forecast = _forecast(prior=PRIOR)
    model = ServiceModel.from_services(services)
    scenario = forecast_scenario(settings, services, counters, forecast, model, {})
    seen = []
    verdict = run_tournament(scenario, days=2, progress=lambda d, n: seen.append((d, n)))
    entrants = candidates()
    assert seen[-1] == (len(entrants), len(entrants))
    assert {r["label"] for r in verdict.table} == {c.label for c in entrants}
    chosen = next(r for r in verdict.table if r["chosen"])
    assert chosen["label"] == verdict.chosen.label and not chosen["starves_under_flood"]
    assert set(chosen["p95_wait_min"]) == {c.value for c in PriorityClass}
    # Each p95 comes with the target the manager reads it against.
    assert chosen["target_min"] == {c.value: scenario.sla[c].within_min for c in PriorityClass}
    assert verdict.reason["zh"].startswith(f"选择{verdict.chosen.label}：")
    assert verdict.days == 2
