"""`branchq bench qr` figures, on a handful of frames (the full run is a command, not a test)."""

from __future__ import annotations

import json

from tools.bench import qr as bench
from tools.fixtures.qrframes import hard_frames


def test_the_benchmark_reports_its_figures():
    result = bench.run(frames=12, seed=4, extreme_frames=2)
    for key in ("frames", "median_ms", "p95_ms", "success_rate", "baseline_success_rate"):
        assert key in result
    assert result["frames"] == 12
    assert 0 <= result["baseline_success_rate"] <= result["success_rate"] <= 1
    assert result["misreads"] == 0
    json.dumps(result)  # --json must be able to print it
    report = bench.format_report(result)
    assert "cascade" in report and "baseline" in report


def test_the_frames_are_deterministic_and_cover_every_pair_of_effects():
    first = list(hard_frames(10, seed=9))
    again = list(hard_frames(10, seed=9))
    assert [f.text for f in first] == [f.text for f in again]
    assert all((a.image == b.image).all() for a, b in zip(first, again, strict=True))
    assert len({f.effects for f in first}) == 10  # C(5, 2) pairs, each once
    assert all(f.image.shape == (480, 640, 3) for f in first)
    assert all(80 <= len(f.text) <= 125 and f.text.startswith("BQ1.") for f in first)


def test_the_command_prints_json(capsys):
    import argparse

    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    assert bench.main(parser.parse_args(["--frames", "3", "--seed", "2", "--json"])) == 0
    assert json.loads(capsys.readouterr().out)["frames"] == 3
