"""`branchq bench policy` and `branchq simulate` as a user runs them (one short day)."""

from __future__ import annotations

import json

from PIL import Image

from queue_server.cli import main

CLASSES = {"regular", "vip", "care", "appointment"}


def test_bench_policy_json_has_the_issues_shape(capsys, tmp_path):
    plot = tmp_path / "waits.png"
    assert main(["bench", "policy", "--days", "1", "--json", "--plot", str(plot)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["policies"]) == {"fifo", "strict", "accumulating", "sla"}
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


def test_bench_policy_prints_a_table(capsys):
    assert main(["bench", "policy", "--days", "1"]) == 0
    out = capsys.readouterr().out
    assert "| policy |" in out and "default:" in out
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
