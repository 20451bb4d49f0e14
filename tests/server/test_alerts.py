"""The manager's alerts, 不满意 follow-ups and audit log, on a real server.

Test branch: A and B (target 10 min) at counters 1 and 2; C (15 min), B, A at counter 3.
The clock starts at 10:00 in Shanghai on 2026-11-27 and only moves when a test moves it.
"""

from __future__ import annotations

import json

from conftest import LiveServer, sign_in
from websockets.sync.client import connect

WAIT_S = 5.0


def _ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()


def _issue(server, service: str = "A") -> dict:
    return _ok(server.client("kiosk").post("/tickets", json={"service": service}), 201)


def _events_until(ws, kind: str) -> list[dict]:
    """Events from the stream up to and including the first of `kind` (heartbeats skipped)."""
    seen: list[dict] = []
    while True:
        message = json.loads(ws.recv(timeout=WAIT_S))
        if message["type"] != "events":
            continue
        for event in message["events"]:
            seen.append(event)
            if event["kind"] == kind:
                return seen


def _serve(server, counter: int, clock) -> dict:
    teller = sign_in(server, counter)
    ticket = _ok(teller.post(f"/counters/{counter}/call-next"))["ticket"]
    teller.post(f"/counters/{counter}/start")
    clock.advance(seconds=180)
    _ok(teller.post(f"/counters/{counter}/finish"))
    return ticket


def _alerts(server) -> list[dict]:
    return _ok(server.client("manager").get("/alerts"))


def test_a_bad_rating_opens_a_follow_up_that_the_manager_resolves(server, clock):
    _issue(server)
    ticket = _serve(server, 1, clock)
    manager = server.client("manager")
    with connect(f"{server.ws_url}?token={server.tokens['manager']}", open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=WAIT_S))["type"] == "snapshot"
        _ok(server.client("counter:1").post(f"/tickets/{ticket['id']}/rating", json={"rating": 1}))
        events = _events_until(ws, "followup.opened")
    raised = next(e for e in events if e["kind"] == "alert.raised")["data"]["alert"]
    assert raised["kind"] == "negative_rating"
    assert raised["subject"]["number"] == ticket["number"]
    assert raised["subject"]["counter"] == 1 and raised["subject"]["staff_id"] == "t1"
    followup = events[-1]["data"]["followup"]
    assert (
        followup["ticket_id"],
        followup["counter"],
        followup["staff_id"],
        followup["rating"],
    ) == (
        ticket["id"],
        1,
        "t1",
        1,
    )
    assert _ok(manager.get("/followups")) == [followup]
    snap = _ok(manager.get("/snapshot"))
    assert [f["id"] for f in snap["followups"]] == [followup["id"]]
    assert raised["id"] in [a["id"] for a in snap["alerts"]]

    clock.advance(minutes=30)
    done = _ok(
        manager.patch(
            f"/followups/{followup['id']}", json={"note": "已致电客户，致歉", "resolved": True}
        )
    )
    assert done["note"] == "已致电客户，致歉" and done["resolved_at"] is not None
    assert done["resolved_by"].startswith("manager")
    assert _ok(manager.get("/followups")) == []  # open ones only by default
    assert [f["id"] for f in _ok(manager.get("/followups?state=all"))] == [followup["id"]]
    history = {a["id"]: a for a in _alerts(server)}
    assert history[raised["id"]]["cleared_at"] is not None
    audit = _ok(manager.get("/audit"))
    assert audit[0]["action"] == "alert.cleared"
    assert audit[1]["action"] == "followup.updated"
    assert audit[1]["after"]["note"] == "已致电客户，致歉"


def test_a_good_rating_opens_nothing(server, clock):
    _issue(server)
    ticket = _serve(server, 1, clock)
    _ok(server.client("counter:1").post(f"/tickets/{ticket['id']}/rating", json={"rating": 2}))
    assert _alerts(server) == []
    assert _ok(server.client("manager").get("/followups?state=all")) == []


def test_a_printer_out_of_paper_raises_an_alert_until_it_is_fixed(server, clock):
    kiosk, manager = server.client("kiosk"), server.client("manager")
    report = {"device": "kiosk-1/printer", "kind": "printer", "health": "error"}
    with connect(f"{server.ws_url}?token={server.tokens['manager']}", open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=WAIT_S))["type"] == "snapshot"
        _ok(kiosk.post("/devices/status", json={**report, "detail": "paper out"}))
        raised = _events_until(ws, "alert.raised")[-1]["data"]["alert"]
    assert (raised["kind"], raised["severity"], raised["detail"]) == (
        "device_fault",
        "critical",
        "paper out",
    )
    assert raised["subject"]["device"] == "kiosk-1/printer"
    acked = _ok(manager.post(f"/alerts/{raised['id']}/acknowledge"))
    assert acked["acknowledged_by"].startswith("manager") and acked["cleared_at"] is None
    clock.advance(minutes=5)
    _ok(kiosk.post("/devices/status", json={**report, "health": "ok", "detail": ""}))
    (alert,) = _alerts(server)
    assert alert["cleared_at"] is not None and alert["acknowledged_at"] is not None
    # Cleared and acknowledged: no longer on the console's list.
    assert _ok(manager.get("/snapshot"))["alerts"] == []


def test_a_business_about_to_miss_its_target_then_missing_it(server, clock):
    first = _issue(server, "A")
    clock.advance(minutes=7)
    assert _alerts(server) == []
    clock.advance(minutes=1, seconds=30)  # 8.5 min of a 10 min target
    (warning,) = _alerts(server)
    assert (warning["kind"], warning["severity"]) == ("business_over_target", "warning")
    subject = warning["subject"]  # the figures a console words in its own language
    assert (subject["service"], subject["longest_wait_s"], subject["target_s"]) == ("A", 510, 600)
    manager = server.client("manager")
    _ok(manager.post(f"/alerts/{warning['id']}/acknowledge"))
    clock.advance(minutes=2)  # over the target: worse than when acknowledged
    (critical,) = _alerts(server)
    assert critical["id"] == warning["id"]
    assert critical["severity"] == "critical" and critical["acknowledged_at"] is None
    clock.advance(minutes=10)  # 20.5 min: twice the target, the customer too
    kinds = {a["kind"]: a for a in _alerts(server)}
    assert kinds["customer_over_target"]["subject"]["number"] == first["number"]
    teller = sign_in(server, 1)
    _ok(teller.post("/counters/1/call-next"))
    assert all(a["cleared_at"] is not None for a in _alerts(server))


def test_a_counter_paused_too_long(server, clock):
    teller = sign_in(server, 2)
    _ok(teller.post("/counters/2/pause", json={"reason": "午休"}))
    clock.advance(minutes=14)
    assert _alerts(server) == []
    clock.advance(minutes=2)
    (alert,) = _alerts(server)
    assert alert["kind"] == "counter_paused_long" and alert["subject"]["counter"] == 2
    assert "午休" in alert["detail"]
    _ok(teller.post("/counters/2/open"))
    (alert,) = _alerts(server)
    assert alert["cleared_at"] is not None


def test_the_audit_log_has_manager_actions_with_before_and_after(server):
    manager = server.client("manager")
    sign_in(server, 3)  # sign-in by the teller: not in the audit either
    skills = [{"service": "A", "weight": 1.0, "overflow": False}]
    _ok(manager.put("/counters/3/skills", json={"skills": skills}))
    _ok(manager.post("/counters/3/close"))
    _ok(manager.patch("/services/C", json={"target_wait_s": 1200}))
    _ok(manager.post("/tokens", json={"role": "display", "name": "hall TV"}), 201)
    _ok(manager.post("/staff", json={"staff_id": "t9", "name": "新员工", "pin": "135790"}), 201)
    teller = sign_in(server, 1)
    _ok(teller.post("/counters/1/pause"))  # a teller's own pause: not a manager action
    audit = _ok(manager.get("/audit"))
    assert [e["action"] for e in audit] == [
        "staff.created",
        "token.created",
        "service.updated",
        "counter.closed",
        "counter.skills",
    ]
    assert all(e["actor"].startswith("manager") for e in audit)
    skills_entry = audit[-1]
    assert skills_entry["target"] == "counter 3"
    assert [s["service"] for s in skills_entry["before"]["skills"]] == ["C", "B", "A"]
    assert [s["service"] for s in skills_entry["after"]["skills"]] == ["A"]
    service_entry = audit[2]
    assert (service_entry["before"]["target_wait_s"], service_entry["after"]["target_wait_s"]) == (
        900,
        1200,
    )
    assert "135790" not in json.dumps(audit)  # never a PIN
    assert "token" not in audit[1]["after"]  # never the token itself
    page = _ok(manager.get(f"/audit?limit=2&before_seq={audit[1]['seq']}"))
    assert [e["action"] for e in page] == ["service.updated", "counter.closed"]


def test_only_a_manager_sees_alerts_follow_ups_and_the_audit(server):
    for role in ("kiosk", "display", "counter:1"):
        client = server.client(role)
        for path in ("/alerts", "/followups", "/audit"):
            assert client.get(path).status_code == 403, (role, path)
    manager = server.client("manager")
    assert manager.post("/alerts/nope/acknowledge").status_code == 404
    assert manager.patch("/followups/99", json={"resolved": True}).status_code == 404
    assert manager.patch("/followups/1", json={"note": "x" * 2001}).status_code == 422


def test_alerts_and_follow_ups_survive_a_restart(branch_db, clock):
    db, tokens = branch_db
    first = LiveServer(db, tokens, clock).start()
    try:
        _issue(first)
        ticket = _serve(first, 1, clock)
        _ok(first.client("counter:1").post(f"/tickets/{ticket['id']}/rating", json={"rating": 1}))
        report = {"device": "hub/led:2", "kind": "led", "health": "offline", "detail": ""}
        _ok(first.client("kiosk").post("/devices/status", json=report))
        alerts = _alerts(first)
        device = next(a for a in alerts if a["kind"] == "device_fault")
        _ok(first.client("manager").post(f"/alerts/{device['id']}/acknowledge"))
    finally:
        first.stop()
    second = LiveServer(db, tokens, clock).start()
    try:
        manager = second.client("manager")
        (followup,) = _ok(manager.get("/followups"))
        assert followup["ticket_id"] == ticket["id"]
        again = {a["id"]: a for a in _alerts(second)}
        assert again[device["id"]]["acknowledged_at"] is not None  # not raised a second time
        assert len(again) == 2
    finally:
        second.stop()


def test_the_snapshot_has_todays_share_within_target(server, clock):
    _issue(server, "A")
    _issue(server, "A")
    teller = sign_in(server, 1)
    _ok(teller.post("/counters/1/call-next"))
    _ok(teller.post("/counters/1/start"))
    clock.advance(minutes=12)
    _ok(teller.post("/counters/1/finish"))
    _ok(teller.post("/counters/1/call-next"))  # waited 12 min: over the 10 min target
    today = _ok(server.client("manager").get("/snapshot"))["today"]
    assert today["A"] == {"called": 2, "within_target": 1}
    assert today["C"] == {"called": 0, "within_target": 0}


def test_alerts_cleared_on_an_earlier_day_are_forgotten_at_the_rollover(server, clock):
    """A server runs for months: the console's book keeps today's alerts, not every one."""
    kiosk, manager = server.client("kiosk"), server.client("manager")

    def printer(kiosk_name: str, health: str) -> None:
        report = {"device": f"{kiosk_name}/printer", "kind": "printer", "health": health}
        _ok(kiosk.post("/devices/status", json={**report, "detail": ""}))

    def on_console() -> list[str]:
        _alerts(server)  # the desk checks the branch as of now before it answers
        return [a["id"] for a in _ok(manager.get("/snapshot"))["alerts"]]

    printer("kiosk-1", "error")
    clock.advance(minutes=5)
    printer("kiosk-1", "ok")
    (yesterdays,) = on_console()  # cleared, never acknowledged: still the manager's to see
    clock.advance(days=1)
    printer("kiosk-2", "error")
    clock.advance(minutes=5)
    printer("kiosk-2", "ok")
    (todays,) = on_console()
    assert todays != yesterdays
    # Forgotten by the console, not by the branch: the day's history still has it.
    assert [a["id"] for a in _ok(manager.get("/alerts?day=2026-11-27"))] == [yesterdays]
