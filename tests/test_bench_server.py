"""`branchq bench server` end to end: a short run against a real server subprocess."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest

from queue_server.cli import main
from tools.bench.centre_down import side_by_side
from tools.bench.server import CENTRE_DOWN_ROWS, format_report, run

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


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_server_shipping_to_a_blackholed_head_office_serves_the_bench_in_full() -> None:
    r = run(seconds=1, subscribers=2, clients=2, counters=4, head_office_down="blackhole")
    assert r["ops"] > 0 and r["errors"] == 0, r["errors_by_kind"]
    assert r["events_missed"] == 0 and r["events_not_delivered"] == 0
    # The server shipped to the blackhole all along: never acknowledged, events waiting.
    link = r["head_office"]
    assert link["mode"] == "blackhole" and link["url"].startswith("https://127.0.0.1:")
    assert link["link"] != "up" and link["watermark"] == 0 and link["backlog"] > 0, link


def test_the_side_by_side_table_names_the_dead_head_office_and_the_change() -> None:
    without = {"ops_per_s": 2000.0, "p99_ms": 10.0, "errors": 0}
    down = {
        "ops_per_s": 1900.0, "p99_ms": 11.0, "errors": 0,
        "head_office": {"mode": "refused", "url": "https://127.0.0.1:9", "link": "down",
                        "last_error": "connect", "backlog": 7},
    }  # fmt: skip
    table = side_by_side("bench", without, down, CENTRE_DOWN_ROWS)
    assert "one that is down (refused)" in table and "7 events waiting to ship" in table
    assert re.search(r"throughput, ops/s\s+2000\.0\s+1900\.0\s+-5 %", table), table
    assert re.search(r"errors\s+0\s+0\s+—", table), table


def test_head_office_down_is_an_option_of_both_benches() -> None:
    from queue_server.cli import build_parser

    for bench in ("server", "counter"):
        args = build_parser().parse_args(["bench", bench, "--head-office-down"])
        assert args.head_office_down == "blackhole"
        args = build_parser().parse_args(["bench", bench, "--head-office-down", "refused"])
        assert args.head_office_down == "refused"
