"""`branchq bench server` end to end: a short run against a real server subprocess."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from queue_server.cli import main
from tools.bench.server import format_report

KEYS = (
    "ops",
    "ops_per_s",
    "p50_ms",
    "p99_ms",
    "delivery_p99_ms",
    "limit_commits_per_s",
    "errors",
    "subscribers",
    "seconds",
    "events_delivered",
    "events_missed",
    "loop_lag_p99_ms",
    "loop_lag_max_ms",
)


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_short_run_prints_one_json_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # to see that it cleans up
    argv = ["bench", "server", "--seconds", "1.5", "--subscribers", "5", "--clients", "4"]
    assert main([*argv, "--json"]) == 0

    r = json.loads(capsys.readouterr().out)  # exactly one JSON object, nothing else
    for key in KEYS:
        assert key in r, key
    assert r["ops_per_s"] > 0 and r["ops"] > 0
    assert r["limit_commits_per_s"] > 0
    assert r["errors"] == 0, r["errors_by_kind"]
    assert r["subscribers"] == 5
    # Every acknowledged op's event reached every subscriber, and no event went missing.
    assert r["events_delivered"] > 0
    assert r["events_not_delivered"] == 0
    assert r["events_missed"] == 0 and r["resyncs"] == 0 and r["out_of_order"] == 0
    assert r["delivery_p99_ms"] is not None and r["delivery_p99_ms"] >= 0
    assert all(r["by_kind"][k]["ops"] > 0 for k in ("issue", "call", "start", "finish"))
    # The server's loop-lag probe woke about every 10 ms of the 1.5 s measured.
    assert r["loop_probes"] > 20
    assert 0 < r["loop_lag_p99_ms"] <= r["loop_lag_max_ms"]
    assert r["server_exit_code"] is not None  # the server subprocess was stopped
    assert list(tmp_path.iterdir()) == []  # and its temporary folder removed

    table = format_report(r)  # what the run prints without --json
    assert "ops/s" in table and "target" in table and "commits/s" in table


def test_rejects_nonsense_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "server", "--seconds", "0"]) == 2
    assert "--seconds" in capsys.readouterr().err
