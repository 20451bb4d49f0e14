"""`branchq bench central` end to end, short: emitters and a real branch server shipping to a
real head office on PostgreSQL, and the oracle finding every event stored exactly once."""

from __future__ import annotations

import json

import pytest

from queue_server.cli import main

FIGURES = (
    "commit_to_central_p50_ms",
    "commit_to_central_p99_ms",
    "commit_to_console_p99_ms",
    "backfill_24h_s",
    "ingest_events_per_s",
    "real_commit_to_central_p99_ms",
)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_short_network_run_reports_every_figure_and_loses_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["bench", "central", "--branches", "4", "--real", "1", "--seconds", "2"]
    argv += ["--speed", "150"]
    assert main([*argv, "--day-events", "100", "--json"]) == 0

    r = json.loads(capsys.readouterr().out)
    for key in FIGURES:
        assert isinstance(r[key], int | float) and r[key] >= 0, key
    assert r["backfill_events"] == 4 * 100
    assert r["events_stored"] >= r["backfill_events"] + r["live_events"]
    assert (r["lost"], r["duplicated"], r["unexpected"]) == (0, 0, 0)
    assert (r["real_lost"], r["real_duplicated"]) == (0, 0)
    assert r["real_live_events"] > 0 and r["live_events"] > 0
    # None when every branch caught up before any committed again (a short run's usual case)
    assert r["live_during_backfill_p99_ms"] is None or r["live_during_backfill_p99_ms"] >= 0
