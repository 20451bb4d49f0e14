"""`branchq bench counter` runs end to end on a short run and reports sane figures (no
timing assertions: the figures are for people, the benchmark is not a timed test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_short_counter_benchmark_reports_every_figure():
    cmd = [sys.executable, "-m", "queue_server.cli", "bench", "counter", "--json"]
    cmd += ["--calls", "8", "--baseline-calls", "6"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert (result["calls"], result["baseline_calls"]) == (8, 6)
    for key in ("call_p99_ms", "baseline_call_p99_ms", "call_p99_ratio", "screen_p99_ms"):
        assert isinstance(result[key], int | float), key
    assert 0 < result["call_p50_ms"] <= result["call_p99_ms"] <= result["call_max_ms"]
    assert 0 < result["baseline_call_p50_ms"] <= result["baseline_call_p99_ms"]
    # The call counts when both the screen and the board show it: the later of the two.
    assert result["call_p99_ms"] >= max(result["screen_p50_ms"], result["board_p50_ms"])
    assert result["target_call_p99_ms"] == 100 and isinstance(result["target_met"], bool)
    assert "propagateSizeHints" not in done.stderr
