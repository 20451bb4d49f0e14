"""`branchq bench policy` and `branchq simulate` as a user runs them (one short day)."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from queue_server.cli import main

CLASSES = {"regular", "vip", "care", "appointment"}


def test_bench_policy_json_has_the_issues_shape(capsys, tmp_path):
    plot = tmp_path / "waits.png"
    args = ["bench", "policy", "--days", "1", "--json", "--plot", str(plot)]
    assert main([*args, "--clairvoyant-budget", "2000"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"fifo", "strict", "accumulating", "sla", "cmu", "reserve"} <= set(report["policies"])
    assert report["default"] in report["policies"]
    assert isinstance(report["lower_bound_total_wait_min"], float)
    for figures in report["policies"].values():
        for key in ("mean_wait_min", "p95_wait_min", "within_target_share", "total_wait_min"):
            assert isinstance(figures[key], float)
        assert set(figures["classes"]) == CLASSES
        for c in figures["classes"].values():
            assert {"mean_wait_min", "p95_wait_min", "target_min", "within_target_share"} <= set(c)
    with Image.open(plot) as img:
        assert img.size[0] > 800
    best = report["clairvoyant"]
    assert best["seeded_from"] and best["cost_vs_seed"] <= 1.0
    assert set(best["classes"]) == CLASSES
    for figures in report["policies"].values():
        ratio = figures["total_wait_min"] / best["total_wait_min"]
        assert figures["clairvoyant_ratio"] == pytest.approx(ratio, abs=0.01)
        for cls, c in figures["classes"].items():
            block = c["clairvoyant"]
            assert block["clairvoyant_misses_per_day"] == best["classes"][cls]["misses_per_day"]
            assert block["clairvoyant_p95_wait_min"] == best["classes"][cls]["p95_wait_min"]
            assert isinstance(block["misses_per_day"], float)


def test_the_clairvoyant_may_be_left_out_and_the_budget_checked(capsys):
    assert main(["bench", "policy", "--days", "1", "--json", "--clairvoyant-budget", "0"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["clairvoyant"] is None
    assert all("clairvoyant_ratio" not in p for p in report["policies"].values())
    assert main(["bench", "policy", "--days", "1", "--clairvoyant-budget", "-1"]) == 2
    assert "clairvoyant-budget" in capsys.readouterr().err


def test_bench_policy_prints_a_table(capsys):
    assert main(["bench", "policy", "--days", "1", "--clairvoyant-budget", "1000"]) == 0
    out = capsys.readouterr().out
    assert "| policy |" in out and "default:" in out
    assert "| *clairvoyant* |" in out and "× clairvoyant" in out
    for name in ("fifo", "strict", "accumulating", "sla"):
        assert name in out


def test_simulate_prints_one_policys_metrics(capsys):
    assert main(["simulate", "--policy", "sla", "--days", "1"]) == 0
    out = capsys.readouterr().out
    assert "policy sla" in out and "| appointment |" in out and "utilisation" in out


def test_a_bad_scenario_is_an_error_not_a_crash(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[branch]\nname = 'x'\n", encoding="utf-8")
    assert main(["simulate", "--scenario", str(bad), "--days", "1"]) == 2
    assert "error" in capsys.readouterr().err


def test_the_flood_probe_finds_the_policy_that_starves_by_construction():
    from queue_server.domain import PriorityClass
    from queue_server.domain.policies import policy_by_name
    from queue_server.simulation.compare import flood_wait_min

    vip, care = PriorityClass.VIP, PriorityClass.CARE
    assert flood_wait_min(policy_by_name("strict"), vip) is None
    assert flood_wait_min(policy_by_name("strict"), care) is None
    assert flood_wait_min(policy_by_name("fifo"), vip) == 0
    # Overtaken only by those who arrived within the class's head start (6 min) or the
    # gap between targets (10 − 5 min) after them.
    assert flood_wait_min(policy_by_name("accumulating"), vip) == 6
    assert flood_wait_min(policy_by_name("sla"), care) == 5


def _summary(share, starved=(), total=100.0, flood=0):
    return {
        "within_target_share": share,
        "starved_classes": list(starved),
        "total_wait_min": total,
        "flood_wait_min": {"vip": flood, "care": flood},
    }


def test_the_default_rule_in_order():
    from queue_server.simulation.compare import choose_default

    # A policy that starves under a flood is out, however good its share.
    summaries = {"a": _summary(0.99, flood=None), "b": _summary(0.90)}
    assert choose_default(summaries) == "b"
    # ...unless every policy does.
    assert choose_default({"a": _summary(0.99, flood=None), "b": _summary(0.9, flood=None)}) == "a"
    # Fewer classes over 1.5× their target beat a better share.
    assert choose_default({"a": _summary(0.99, ["vip"]), "b": _summary(0.90)}) == "b"
    # Shares that differ by no more than chance (paired days) are a tie: less waiting wins.
    summaries = {"a": _summary(0.93, total=500.0), "b": _summary(0.92, total=400.0)}
    noisy = {"a": [0.95, 0.90, 0.96, 0.91], "b": [0.90, 0.95, 0.91, 0.92]}
    assert choose_default(summaries, noisy) == "b"
    steady = {"a": [0.95, 0.93, 0.94, 0.90], "b": [0.94, 0.92, 0.93, 0.89]}
    assert choose_default(summaries, steady) == "a"


def test_the_servers_default_policy_is_the_benchmarks_winner():
    from queue_server.domain import Branch
    from queue_server.domain.policies import DEFAULT_POLICY, POLICY_NAMES
    from queue_server.simulation.compare import compare_policies
    from queue_server.simulation.scenario import load_scenario

    scenario = load_scenario()  # the standard day
    branch = Branch(scenario.branch.settings, scenario.branch.services, scenario.branch.counters)
    # The default is a lookahead, outside the nightly tournament's cheap policies: it must
    # still win the bench's own rule against all of them.
    tournament = compare_policies(scenario, (*POLICY_NAMES, DEFAULT_POLICY))
    assert tournament.default == branch.policy.name == DEFAULT_POLICY
