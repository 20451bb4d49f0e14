"""The print benchmark runs end to end and reports what the CLI shows."""

from __future__ import annotations

from tools.bench import printer as bench


def test_bench_measures_issue_to_last_byte():
    result = bench.run(samples=5)
    assert result["samples"] == 5
    for key in ("p50_ms", "p99_ms", "render_p50_ms"):
        assert result[key] > 0
    assert result["p50_ms"] >= result["render_p50_ms"]
    assert result["p99_ms"] >= result["p50_ms"]
    report = bench.format_report(result)
    assert "p50" in report and "p99" in report and "5 tickets" in report
