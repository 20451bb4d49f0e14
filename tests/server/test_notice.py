"""The hall display's notice line: set by a manager, stored, in the snapshot and the stream."""

from __future__ import annotations

import json

from conftest import LiveServer
from websockets.sync.client import connect

WAIT_S = 5.0


def next_event(ws) -> dict:
    """The next event on the stream (heartbeats skipped)."""
    while True:
        message = json.loads(ws.recv(timeout=WAIT_S))
        if message["type"] == "events":
            return message["events"][0]


def test_a_manager_sets_the_notice_and_the_stream_carries_it(server):
    manager = server.client("manager")
    assert server.client("display").get("/snapshot").json()["branch"]["notice"] == ""
    with connect(f"{server.ws_url}?token={server.tokens['display']}", open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=WAIT_S))["type"] == "snapshot"
        r = manager.put("/branch/notice", json={"text": "  今日 15:00 起\n暂停外币兑换  "})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["text"] == "今日 15:00 起 暂停外币兑换"  # one line for the ticker
        event = next_event(ws)
        assert (event["kind"], event["data"]["text"], event["seq"]) == (
            "branch.notice",
            "今日 15:00 起 暂停外币兑换",
            body["seq"],
        )
        assert event["data"]["actor"].startswith("manager")  # for the audit log
    assert server.client("kiosk").get("/snapshot").json()["branch"]["notice"] == body["text"]
    again = manager.put("/branch/notice", json={"text": body["text"]}).json()
    assert again == {"text": body["text"], "seq": 0}  # the same text changes nothing


def test_the_notice_survives_a_restart(branch_db, clock):
    db, tokens = branch_db
    first = LiveServer(db, tokens, clock).start()
    try:
        r = first.client("admin").put("/branch/notice", json={"text": "Welcome · 欢迎"})
        assert r.status_code == 200, r.text
    finally:
        first.stop()
    second = LiveServer(db, tokens, clock).start()
    try:
        snap = second.client("display").get("/snapshot").json()
        assert snap["branch"]["notice"] == "Welcome · 欢迎"
        assert snap["branch"]["name"]  # the other settings are untouched
    finally:
        second.stop()


def test_a_notice_too_long_or_from_a_display_is_refused(server):
    r = server.client("manager").put("/branch/notice", json={"text": "x" * 301})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "text_too_long"
    r = server.client("display").put("/branch/notice", json={"text": "hi"})
    assert r.status_code == 403
    assert server.client("display").get("/snapshot").json()["branch"]["notice"] == ""
