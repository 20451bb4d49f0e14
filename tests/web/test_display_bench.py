"""`branchq bench display` end to end with a few calls (the full run is 200: see the README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_display_prints_the_page_and_baseline_figures_as_json():
    if not Path("/usr/bin/chromium").exists():
        pytest.fail("Debian's Chromium is not installed: run `make setup` as root", pytrace=False)
    done = subprocess.run(
        [sys.executable, "-m", "queue_server.cli", "bench", "display", "--calls", "6", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["calls"] == 6
    assert 0 <= result["dom_p50_ms"] <= result["dom_p95_ms"] <= result["dom_max_ms"]
    assert result["stream_p95_ms"] >= 0  # the same-run baseline
    assert result["compose_ms"] > 0
    assert result["announcements_queued"] == 6
    assert result["clock_uncertainty_ms"] < 50
