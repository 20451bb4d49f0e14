"""The head office's hall notice at the branch: taken from the downlink beside (never
instead of) the manager's own notice, ending at its `until`, cleared by an empty text, and
a malformed one refused whole."""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from conftest import LiveServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shipping_double as sd

centre_cert, link, branch = sd.centre_cert, sd.link, sd.branch  # fixtures
WAIT_S = 15.0


def sent(link: sd.Link, body: dict[str, Any]) -> dict[str, Any]:
    """Publish a notice and wait for the branch's report on it."""
    version = link.centre.publish("notice", body)["version"]
    link.centre.wait_for(lambda: bool(link.centre.reports_of("notice", version)), WAIT_S)
    report: dict[str, Any] = link.centre.reports_of("notice", version)[0]
    return report


def shown(server: LiveServer) -> dict[str, Any]:
    branch: dict[str, Any] = server.client("display").get("/snapshot").json()["branch"]
    return branch


def centre_events(db: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT body FROM events WHERE kind = 'branch.centre_notice'")
        return [json.loads(b)["data"] for (b,) in rows]
    finally:
        conn.close()


def test_the_centres_notice_runs_beside_the_managers_until_its_end(branch, link, clock):
    server = branch
    assert server.client("manager").put("/branch/notice", json={"text": "欢迎光临"}).is_success
    until = clock() + timedelta(hours=2)
    report = sent(link, {"text": " 台风预警：\n今日 15:00 闭门 ", "until": until.isoformat(),
                         "from": "hq"})  # fmt: skip
    assert report["outcome"] == "applied", report
    branch_now = shown(server)
    assert branch_now["notice"] == "欢迎光临"  # the manager's, untouched
    assert branch_now["centre_notice"] == {"text": "台风预警： 今日 15:00 闭门",
                                           "until": until.isoformat()}  # fmt: skip
    [event] = centre_events(server.db)
    assert (event["text"], event["until"], event["actor"]) == (
        "台风预警： 今日 15:00 闭门",
        until.isoformat(),
        "head office",
    )
    # The manager changing their own notice leaves the centre's alone, and the other way.
    assert server.client("manager").put("/branch/notice", json={"text": ""}).is_success
    assert shown(server)["centre_notice"]["text"] == "台风预警： 今日 15:00 闭门"
    # Kept over a restart, as the manager's is.
    server.stop()
    again = LiveServer(server.db, server.tokens, clock).start()
    try:
        assert again.client("display").get("/snapshot").json()["branch"]["centre_notice"]
        # At `until` it is over: a display that connects now is not given it.
        clock.advance(hours=2)
        assert shown(again)["centre_notice"] is None
    finally:
        again.stop()


def test_an_empty_text_clears_it_and_a_malformed_one_changes_nothing(branch, link, clock):
    server = branch
    until = (clock() + timedelta(hours=1)).isoformat()
    assert sent(link, {"text": "系统升级", "until": until, "from": "hq"})["outcome"] == "applied"
    for bad in ({"text": "没有截止时间", "from": "hq"},
                {"text": "无时区", "until": "2026-11-27T12:00:00", "from": "hq"},
                {"text": "长" * 301, "until": until, "from": "hq"},
                {"text": 5, "until": until}):  # fmt: skip
        report = sent(link, bad)
        assert report["outcome"] == "refused", bad
        assert report["reason"].split(":")[0] in ("invalid_notice", "bad_notice"), report
        assert shown(server)["centre_notice"]["text"] == "系统升级"
    assert sent(link, {"text": "", "until": None, "from": "hq"})["outcome"] == "applied"
    assert shown(server)["centre_notice"] is None
    assert [e["text"] for e in centre_events(server.db)] == ["系统升级", ""]
