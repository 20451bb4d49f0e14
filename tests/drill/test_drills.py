"""`branchq drill`: the short drills lose nothing, the checks catch losses, the table's shape.

The short drills run the real thing: a `branchq server` subprocess killed with SIGKILL under
load (crash), and real clients behind a faulty loopback link (network).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import pytest
from conftest import LiveServer

from queue_server import cli
from tools.drill import DRILLS, DrillResult, format_table, p95
from tools.drill.crash import Ledger, check, stream_problems

KEYS = {"drill", "attempts", "faults", "lost", "recovery_p95_s", "details"}


# ------------------------------------------------------------ the short drills
@pytest.mark.slow
def test_the_short_crash_drill_loses_nothing():
    r = DRILLS["crash"].run(short=True, log=print)
    assert (r.drill, r.attempts, r.faults) == ("crash", 3, 3)
    assert r.details["losses"] == [] and r.lost == 0
    assert r.details["failures"] == []
    assert r.details["ops_acknowledged"] > 100
    assert r.recovery_p95_s is not None and r.recovery_p95_s < 10


@pytest.mark.slow
def test_the_short_network_drill_loses_nothing():
    r = DRILLS["network"].run(short=True, log=print)
    assert (r.drill, r.attempts, r.faults) == ("network", 1, 3)
    assert r.details["losses"] == [] and r.lost == 0
    # Every client is back within 3 s of the server being reachable.
    assert r.details["failures"] == []
    applied = r.details["events_applied"]
    assert {"kiosk", "counter", "hub", "display", "display page"} <= set(applied)
    assert min(applied.values()) > 0


@pytest.mark.slow
def test_the_bus_hub_notices_a_stalled_link(server: LiveServer):
    import asyncio

    from queue_server.bushub import Hub
    from tools.drill.network import Board
    from tools.drill.proxy import FaultyLink

    async def drive() -> bool:
        link = FaultyLink(server.port)
        await link.start()
        hub = Hub(f"http://127.0.0.1:{link.port}", {1: (server.tokens["counter:1"], Board())})
        try:
            await hub.start()
            await asyncio.wait_for(hub.connected.wait(), 10)
            await link.stall()
            # The server's heartbeat comes every 2 s: three missed ones are a dead link,
            # as the Qt client and the display page treat it.
            deadline = time.monotonic() + 8
            while hub.connected.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return not hub.connected.is_set()
        finally:
            await hub.close()
            await link.close()

    assert asyncio.run(drive()), "the hub still shows 'connected' 8 s into a stalled link"


# ------------------------------------------------------------------ the checks
def test_a_subscriber_record_with_a_gap_a_repeat_or_a_wrong_event_is_a_loss():
    stored = {1: ("ticket.issued", 1), 2: ("ticket.issued", 2), 3: ("ticket.called", 1)}
    clean = [("snapshot", 0, 0.0), ("event", 1, "ticket.issued", 1),
             ("snapshot", 2, 1.0), ("event", 3, "ticket.called", 1)]  # fmt: skip
    assert stream_problems(clean, stored, 3) == []
    gap = [("snapshot", 0, 0.0), ("event", 1, "ticket.issued", 1), ("event", 3, "ticket.called", 1)]
    assert stream_problems(gap, stored, 3) == ["events 2..2 never delivered (gap)"]
    twice = [("snapshot", 0, 0.0), ("event", 1, "ticket.issued", 1),
             ("event", 1, "ticket.issued", 1)]  # fmt: skip
    assert stream_problems(twice, stored, 1) == ["event 1 delivered twice"]
    wrong = [("snapshot", 2, 0.0), ("event", 3, "ticket.done", 1)]
    assert len(stream_problems(wrong, stored, 3)) == 1
    behind = [("snapshot", 0, 0.0), ("event", 1, "ticket.issued", 1),
              ("event", 2, "ticket.issued", 2), ("snapshot", 1, 1.0)]  # fmt: skip
    assert "snapshot at 1 is behind event 2 already delivered" in stream_problems(behind, stored, 1)
    assert stream_problems(clean, stored, 4) == ["subscriber ends at 3, the server at 4"]


def test_an_acknowledged_ticket_or_call_missing_from_the_database_is_a_loss(server: LiveServer):
    kiosk = server.client("kiosk")
    t = kiosk.post("/tickets", json={"service": "A"}, headers={"Idempotency-Key": "k-000001"})
    assert t.status_code == 201
    ledger = Ledger()
    ledger.issued["k-000001"] = {
        k: t.json()[k] for k in ("id", "number", "business_day", "service")
    }
    assert check(server.db, ledger, []) == []
    ledger.issued["k-000002"] = {"id": 999, "number": "A999", "business_day": "x", "service": "A"}
    ledger.calls.append((1, "c-1", t.json()["id"]))  # acknowledged, but never made
    problems = check(server.db, ledger, [])
    assert "acknowledged ticket A999 (id 999) is missing" in problems
    assert any("acknowledged call of ticket" in p for p in problems)


# ------------------------------------------------------ the table and --json
def run(attempts: int, *, seed: int = 1, log: Any) -> DrillResult:
    """A stand-in drill for the command's output shape."""
    log(f"fake drill: {attempts} attempts")
    return DrillResult("fake", attempts, 2 * attempts, 0, p95([0.5, 1.25]), {"losses": []})


def test_drill_json_is_a_list_of_the_agreed_fields(monkeypatch, capsys):
    for name in list(DRILLS):
        monkeypatch.delitem(DRILLS, name)
    from tools.drill import register

    register("fake", __name__, "A stand-in.", attempts=5, short=2)
    assert cli.main(["drill", "all", "--short", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out, list) and len(out) == 1
    assert set(out[0]) == KEYS
    assert out[0] | {"details": None} == {
        "drill": "fake", "attempts": 2, "faults": 4, "lost": 0, "recovery_p95_s": 1.25,
        "details": None,
    }  # fmt: skip
    assert cli.main(["drill", "fake", "--attempts", "3"]) == 0
    table = capsys.readouterr().out.strip().splitlines()
    assert table[0] == "| drill | attempts | faults injected | data lost | recovery p95 |"
    assert table[-1] == "| fake | 3 | 6 | 0 | 1.25 s |"
    assert cli.main(["drill", "nonesuch"]) == 2


def test_the_table_marks_a_drill_without_recoveries():
    r = DrillResult("soak", 1, 0, 0, None)
    assert format_table([r]).splitlines()[-1] == "| soak | 1 | 0 | 0 | — |"
    assert set(r.summary()) == KEYS
    assert not DrillResult("x", 1, 1, 1, None).ok


def test_a_drill_that_returns_its_json_object_registers_in_one_line(monkeypatch):
    import types

    from tools.drill import register

    module = types.ModuleType("fake_json_drill")
    calls = []

    def run_json(short: bool, attempts: int | None) -> dict[str, Any]:
        calls.append((short, attempts))
        return {"drill": "devices", "attempts": 4, "faults": 8, "lost": 0,
                "recovery_p95_s": 0.7, "details": {}}  # fmt: skip

    module.run = run_json  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_json_drill", module)
    register("json-style", "fake_json_drill", "A drill in another process.")
    try:
        r = DRILLS["json-style"].run(short=True)
        assert (r.drill, r.attempts, r.faults, r.lost, r.recovery_p95_s) == (
            "devices",
            4,
            8,
            0,
            0.7,
        )
        assert DRILLS["json-style"].run(7).ok
        assert calls == [(True, None), (False, 7)]
    finally:
        DRILLS.pop("json-style", None)


@pytest.mark.slow
def test_the_short_central_drill_ships_every_event_once_through_every_fault():
    r = DRILLS["central"].run(short=True, log=print)
    assert (r.drill, r.attempts, r.faults) == ("central", 1, 5)
    assert r.details["failures"] == []
    assert r.details["losses"] == [] and r.lost == 0
    assert r.details["duplicated_events"] == 0 and r.details["quarantined"] == 0
    assert r.details["logs"] == 2  # the restore moved the branch to a new log
    assert r.details["events_at_centre"] > 200 and r.details["tickets_issued"] > 20
    assert set(r.details["recovery_by_fault"]) == {
        "link cut", "centre kill -9", "PostgreSQL kill -9", "branch kill -9", "restore",
    }  # fmt: skip


def test_the_central_oracle_counts_a_missing_a_doubled_and_a_rewritten_event():
    from tools.drill.central import LeftBehind, compare

    branch = ("new", 4, {4: "d4", 5: "d5"})
    old = LeftBehind("old", {1: "a", 2: "b", 3: "c"}, acknowledged_to=2)
    old.centre_then = {1: ["a"], 2: ["b"]}
    held = {"old": {1: ["a"], 2: ["b"]}, "new": {4: ["d4"], 5: ["d5"]}}
    # Seq 3 was never acknowledged before the restore took it: unshipped, not lost.
    assert compare(branch, [old], held) == ([], [], 1)
    held["new"][5] = ["d5", "d5"]  # stored twice
    held["new"][6] = ["d6"]  # not the branch's
    lost, doubled, _ = compare(branch, [old], held)
    assert lost == [] and len(doubled) == 2
    held = {"old": {1: ["a"], 2: ["x"]}, "new": {4: ["d4"]}}  # rewritten; 5 missing
    lost, doubled, _ = compare(branch, [old], held)
    assert lost == [
        "log new seq 5 is not at the centre",
        "log old seq 2 is at the centre with another digest",
        "log old left by a restore changed at the centre since",
    ]


@pytest.mark.slow
def test_the_short_config_rollout_reaches_every_branch_and_loses_nothing():
    r = DRILLS["config-rollout"].run(short=True, log=print)
    d = r.details
    assert (r.drill, d["branches"]) == ("config-rollout", 4)
    assert d["failures"] == [] and d["losses"] == [] and r.lost == 0
    # Two connected branches, each within two polls of the publication.
    assert d["applied_within_60s_share"] == 1.0
    assert d["apply_max_s"] is not None and d["apply_max_s"] <= 2 * d["poll_s"] + 2
    assert d["server_errors"] == 0 and d["tickets_acknowledged"] > 20 and d["calls"] > 10
    assert d["waiting_in_dropped_business_at_publication"] > 0
    assert d["first_call_after_apply_max_ms"] is not None
    assert r.recovery_p95_s is not None  # the stopped branch applied the newest on return


def test_the_rollout_oracle_counts_a_lost_ticket_a_wrong_state_and_a_missing_report():
    from tools.drill.config_rollout import lost_tickets, missing_reports

    acked = {1: "done", 2: "called", 3: "waiting"}
    assert lost_tickets(acked, {1: "done", 2: "called", 3: "waiting", 4: "waiting"}) == []
    assert lost_tickets(acked, {1: "done", 3: "waiting"}) == [
        "ticket 2 acknowledged (called) is not at the branch"
    ]
    assert lost_tickets(acked, {1: "done", 2: "waiting", 3: "waiting"}) == [
        "ticket 2 is waiting, the driver last had called"
    ]
    assert missing_reports(["R001", "R002"], {"R001": 3.2}) == [
        "R002 never reported the version applied"
    ]
    assert missing_reports(["R001"], {"R001": 3.2}) == []
