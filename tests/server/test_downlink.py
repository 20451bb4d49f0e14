"""The branch takes the head office's signed documents: only signed, its own, newer ones;
anything else is applied nowhere, alerted and reported; a branch back after days applies
the newest only. A real branch server and a real-HTTPS centre double; the appliers here
record what they were handed (the config applier has its own tests)."""

from __future__ import annotations

import base64
import json
import random
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import LiveServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shipping_double as sd

from queue_server.downlink import Refusal

centre_cert, link = sd.centre_cert, sd.link  # fixtures
WAIT_S = 15.0


class Recorder:
    """An applier for the `notice` kind that records what it is handed (or refuses)."""

    def __init__(self) -> None:
        self.taken: list[dict[str, Any]] = []
        self.refuse: Refusal | None = None

    async def apply(self, document: Any) -> dict[str, Any] | None:
        if self.refuse is not None:
            raise self.refuse
        self.taken.append(document)
        return {"notice": document["body"]["text"]}


@pytest.fixture
def following(branch_db, clock, link) -> Iterator[tuple[LiveServer, Recorder]]:
    office = link.office(verify_key=link.verify_key, poll_s=0.05)
    server = LiveServer(branch_db[0], branch_db[1], clock, head_office=office).start()
    recorder = Recorder()
    server.app.state.head_office.appliers.register("notice", recorder.apply, replace=True)
    try:
        yield server, recorder
    finally:
        server.stop()


def follower(server: LiveServer) -> Any:
    return server.app.state.head_office.downlink


def reported(link: sd.Link, kind: str, version: int) -> dict[str, Any]:
    link.centre.wait_for(lambda: bool(link.centre.reports_of(kind, version)), WAIT_S)
    return link.centre.reports_of(kind, version)[0]


def stored_versions(db: Path) -> dict[str, Any]:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'downlink_versions'").fetchone()
        return json.loads(row[0]) if row else {}
    finally:
        conn.close()


def open_alerts(server: LiveServer) -> list[dict[str, Any]]:
    snap = server.client("manager").get("/snapshot").json()
    return [a for a in snap.get("alerts", []) if a["kind"] == "head_office_refused"]


def test_a_signed_document_is_applied_recorded_and_reported(following, link):
    server, recorder = following
    link.centre.publish("notice", {"text": "今日营业至17:00"})
    report = reported(link, "notice", 1)
    assert report == {"kind": "notice", "version": 1, "outcome": "applied",
                      "effective": {"notice": "今日营业至17:00"}}  # fmt: skip
    assert [d["version"] for d in recorder.taken] == [1]
    assert stored_versions(server.db)["notice"]["version"] == 1
    # The centre has the report as soon as it answers; the branch marks it delivered once it
    # reads that answer, a moment later.
    flw = follower(server)
    assert flw.wait_until(lambda: not flw.unreported, WAIT_S)
    status = server.client("manager").get("/head-office").json()["downlink"]
    assert status["applied"]["notice"]["version"] == 1 and status["unreported"] == 0
    # Asked again and again, the centre has nothing newer: nothing is applied twice.
    polls = link.centre.downlink_polls
    link.centre.wait_for(lambda: link.centre.downlink_polls >= polls + 3, WAIT_S)
    assert len(recorder.taken) == 1


def _flip_body(doc: dict[str, Any]) -> None:
    doc["body"] = {"text": "tampered"}


def _bad_base64(doc: dict[str, Any]) -> None:
    doc["signature"] = "not base64!"


def _truncated(doc: dict[str, Any]) -> None:
    doc["signature"] = base64.b64encode(base64.b64decode(doc["signature"])[:10]).decode()


@pytest.mark.parametrize(
    ("publish", "code"),
    [
        ({"tamper": _flip_body}, "bad_signature"),
        ({"tamper": _bad_base64}, "bad_signature"),
        ({"tamper": _truncated}, "bad_signature"),
        ({"signed": False}, "bad_signature"),
        ({"key": Ed25519PrivateKey.generate()}, "bad_signature"),
        ({"branch": "another-branch"}, "wrong_branch"),
    ],
    ids=["tampered", "bad-base64", "truncated", "unsigned", "unknown-key", "other-branch"],
)
def test_a_document_failing_a_check_is_refused_alerted_and_reported(following, link, publish, code):
    server, recorder = following
    link.centre.publish("notice", {"text": "公告"}, **publish)
    report = reported(link, "notice", 1)
    assert report["outcome"] == "refused" and report["reason"].startswith(code + ":")
    assert recorder.taken == [] and "notice" not in stored_versions(server.db)
    alerts = open_alerts(server)
    assert [a["subject"] for a in alerts] == [{"document": "notice", "version": 1, "code": code}]
    # Offered again at every poll, it is alerted and reported once.
    polls = link.centre.downlink_polls
    link.centre.wait_for(lambda: link.centre.downlink_polls >= polls + 3, WAIT_S)
    assert len(link.centre.reports_of("notice", 1)) == 1 and len(open_alerts(server)) == 1
    # The next good version applies, and the refusal's alert clears.
    link.centre.publish("notice", {"text": "新公告"})
    assert reported(link, "notice", 2)["outcome"] == "applied"
    assert [d["version"] for d in recorder.taken] == [2]
    alerts = server.client("manager").get("/alerts").json()
    refused = [a for a in alerts if a["kind"] == "head_office_refused"]
    assert len(refused) == 1 and refused[0]["cleared_at"] is not None


def test_an_old_version_and_an_applier_refusal_apply_nothing(following, link):
    server, recorder = following
    link.centre.publish("notice", {"text": "一"}, version=5)
    assert reported(link, "notice", 5)["outcome"] == "applied"
    # A centre restored from an old copy offers an older version than the branch holds.
    link.centre.serve_all = True
    link.centre.publish("notice", {"text": "旧"}, version=3)
    report = reported(link, "notice", 3)
    assert report["outcome"] == "refused" and report["reason"].startswith("old_version:")
    link.centre.serve_all = False
    recorder.refuse = Refusal("invalid_notice", "too long")
    link.centre.publish("notice", {"text": "二"}, version=7)
    report = reported(link, "notice", 7)
    assert report == {"kind": "notice", "version": 7, "outcome": "refused",
                      "reason": "invalid_notice: too long"}  # fmt: skip
    assert [d["version"] for d in recorder.taken] == [5]
    assert stored_versions(server.db)["notice"]["version"] == 5
    assert {a["subject"]["version"] for a in open_alerts(server)} == {3, 7}


def test_a_branch_back_after_an_outage_applies_the_newest_and_delivers_its_reports(following, link):
    server, recorder = following
    link.centre.publish("notice", {"text": "一"})
    reported(link, "notice", 1)
    link.proxy.set_mode("reset")  # the WAN goes
    for text in ("二", "三", "四"):
        link.centre.publish("notice", {"text": text})
    polls = follower(server).polls
    assert follower(server).wait_until(lambda: follower(server).polls >= polls + 2, WAIT_S)
    assert follower(server).status()["last_error"] is not None
    link.proxy.set_mode("pass")
    assert reported(link, "notice", 4)["outcome"] == "applied"
    assert [d["version"] for d in recorder.taken] == [1, 4]
    assert link.centre.reports_of("notice", 2) == link.centre.reports_of("notice", 3) == []


def test_a_report_the_centre_missed_is_sent_after_a_restart(branch_db, clock, link):
    office = link.office(verify_key=link.verify_key, poll_s=0.05)
    link.centre.refuse_reports = True  # the branch applies; the centre cannot take reports
    server = LiveServer(branch_db[0], branch_db[1], clock, head_office=office).start()
    try:
        server.app.state.head_office.appliers.register("notice", Recorder().apply, replace=True)
        flw = follower(server)
        link.centre.publish("notice", {"text": "一"})
        assert flw.wait_until(lambda: "notice" in flw.versions, WAIT_S)
    finally:
        server.stop()
    assert link.centre.reports == []
    link.centre.refuse_reports = False
    server = LiveServer(branch_db[0], branch_db[1], clock, head_office=office).start()
    try:
        recorder = Recorder()
        server.app.state.head_office.appliers.register("notice", recorder.apply, replace=True)
        assert reported(link, "notice", 1)["outcome"] == "applied"
        assert recorder.taken == []  # held already: not applied again
    finally:
        server.stop()


class RecordedSpread(random.Random):
    """The follower's random source, keeping every wait it was asked for."""

    def __init__(self) -> None:
        super().__init__(20)
        self.factors: list[float] = []

    def uniform(self, a: float, b: float) -> float:
        factor = super().uniform(a, b)
        self.factors.append(factor)
        return factor


def test_each_wait_between_polls_is_spread_so_branches_restarted_together_drift(following, link):
    server, _ = following
    spread = RecordedSpread()
    follower(server).spread = spread
    polls = link.centre.downlink_polls
    link.centre.wait_for(lambda: link.centre.downlink_polls >= polls + 4, WAIT_S)
    # Every wait after a poll drew its own factor within ±10 % of poll_s, and they differ:
    # a thousand branches restarted at once do not stay in step.
    assert len(spread.factors) >= 3
    assert all(0.9 <= f <= 1.1 for f in spread.factors)
    assert len({round(f, 6) for f in spread.factors}) == len(spread.factors)
    assert 0.9 * 0.05 <= follower(server).next_wait_s() <= 1.1 * 0.05
