"""`branchq bench kiosk` runs end to end on a short run and reports sane figures (no timing
assertions: the figures are for people, the benchmark is not a timed test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_short_kiosk_benchmark_reports_every_figure():
    cmd = [sys.executable, "-m", "queue_server.cli", "bench", "kiosk", "--json"]
    cmd += ["--tickets", "30", "--cold-starts", "1"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=220)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    for key in ("cold_start_s", "ticket_p99_ms", "rss_mb", "rss_growth_pct_last_500"):
        assert isinstance(result[key], int | float), key
    assert result["tickets"] == result["baseline_tickets"] == 30
    assert result["baseline_cold_start_s"] > 0
    assert 0 < result["cold_start_s"] < 20
    assert 0 < result["ticket_p50_ms"] <= result["ticket_p99_ms"] <= result["ticket_max_ms"]
    assert 0 < result["baseline_ticket_p50_ms"] <= result["baseline_ticket_p99_ms"]
    assert 50 < result["rss_mb"] < 2000
    assert result["rss_growth_window"] == 15
    assert len(result["rss_mb_by_tickets"]) == 10
    assert set(result["targets_met"]) == set(result["targets"])
