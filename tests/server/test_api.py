"""The API as clients use it: journeys, refusals, errors and limits."""

from __future__ import annotations

import json

import pytest
from conftest import sign_in


def snapshot_state(server):
    return server.client("admin").get("/snapshot").json()


def test_ticket_response_has_position_and_predicted_eta(server):
    sign_in(server, 1)  # the only open counter serving A
    kiosk = server.client("kiosk")
    first = kiosk.post("/tickets", json={"service": "A"}).json()
    server.settled_prediction()  # the worker's answer for the queue the second one joins
    second = kiosk.post("/tickets", json={"service": "A"}).json()
    assert first["position"] == 0 and second["position"] == 1
    # The simulation's median wait: one service of A (configured mean 4 min, lognormal with
    # CV 0.8, so a median near 3 min), inside its own 80 % interval. The naive ETA said 240.
    assert first["eta_s"] == 0.0
    assert 90 < second["eta_s"] < 4 * 60
    assert second["eta_low_s"] < second["eta_s"] < second["eta_high_s"]
    read = kiosk.get(f"/tickets/{second['id']}").json()
    assert read["position"] == 1 and read["number"] == "A002"


def test_eta_is_null_when_no_counter_serves_the_business(server):
    t = server.client("kiosk").post("/tickets", json={"service": "C"}).json()
    assert t["eta_s"] is None


def test_full_teller_day_through_the_api(server, clock):
    kiosk = server.client("kiosk")
    c1 = sign_in(server, 1)
    c3 = sign_in(server, 3)
    a = kiosk.post("/tickets", json={"service": "A"}).json()
    b = kiosk.post("/tickets", json={"service": "B", "priority": "care"}).json()
    clock.advance(minutes=1)
    # Care priority goes first at counter 1 even though A arrived earlier.
    called = c1.post("/counters/1/call-next").json()["ticket"]
    assert called["id"] == b["id"] and called["counter"] == 1 and called["staff_id"] == "t1"
    assert c1.post("/counters/1/recall").json()["recall_count"] == 1
    assert c1.post("/counters/1/no-show").json()["state"] == "no_show"
    called = c1.post("/counters/1/call-next").json()["ticket"]
    assert called["id"] == a["id"]
    c1.post("/counters/1/start")
    moved = c1.post("/counters/1/transfer", json={"to_service": "C", "note": "开户"}).json()
    assert moved["state"] == "waiting" and moved["service"] == "C" and moved["number"] == "A001"
    assert moved["arrived_at"] == a["arrived_at"] and moved["previous_id"] == a["id"]
    assert server.client("admin").get(f"/tickets/{a['id']}").json()["state"] == "transferred"
    got = c3.post("/counters/3/call-next").json()["ticket"]
    assert got["id"] == moved["id"]
    c3.post("/counters/3/start")
    done = c3.post("/counters/3/finish", json={"ticket_id": moved["id"]}).json()
    assert done["state"] == "done"
    rated = c3.post(f"/tickets/{moved['id']}/rating", json={"rating": 4})
    assert rated.status_code == 200, rated.text
    assert rated.json()["rating"] == 4
    assert c1.post("/counters/1/call-next").json() == {"ticket": None}


def test_refused_actions_answer_409_with_a_code_and_change_nothing(server):
    kiosk = server.client("kiosk")
    c1 = sign_in(server, 1)
    t = kiosk.post("/tickets", json={"service": "A"}).json()
    before = snapshot_state(server)
    for path, code in [
        ("/counters/1/finish", "no_customer"),
        ("/counters/1/recall", "no_customer"),
        ("/counters/1/start", "no_customer"),
    ]:
        r = c1.post(path)
        assert r.status_code == 409 and r.json()["error"]["code"] == code, r.text
    c1.post("/counters/1/call-next")
    r = c1.post("/counters/1/finish")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_state"
    r = c1.post("/counters/1/call-next")
    assert r.status_code == 409 and r.json()["error"]["code"] == "counter_busy"
    r = c1.post("/counters/1/start", json={"ticket_id": t["id"] + 999})
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_ticket"
    r = kiosk.post(f"/tickets/{t['id']}/cancel")
    assert r.status_code == 409
    after = snapshot_state(server)
    # Only the call changed anything: one event, one ticket now called.
    assert after["seq"] == before["seq"] + 1
    assert [x["state"] for x in after["tickets"]] == ["called"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"service": "Z"}, 404, "unknown_service"),
        ({"service": "A", "priority": "royal"}, 422, "invalid_request"),
        ({"service": "A", "vip_tier": 9}, 422, "invalid_request"),
        ({"service": "A", "priority": "vip", "vip_tier": 3}, 403, "priority_not_declarable"),
        ({"service": "A", "vip_tier": 1}, 403, "priority_not_declarable"),
        ({"service": "A", "priority": "appointment"}, 403, "priority_not_declarable"),
        ({"service": "A", "extra": 1}, 422, "invalid_request"),
        ({"service": "A" * 500}, 422, "invalid_request"),
        ({}, 422, "invalid_request"),
    ],
)
def test_bad_ticket_requests_get_4xx_and_issue_nothing(server, body, status, code):
    kiosk = server.client("kiosk")
    seq = snapshot_state(server)["seq"]
    r = kiosk.post("/tickets", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert snapshot_state(server)["seq"] == seq


def test_malformed_json_huge_bodies_and_bad_tokens(server):
    kiosk = server.client("kiosk")
    r = kiosk.post("/tickets", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    huge = json.dumps({"service": "A", "pad": "x" * 200_000})
    r = kiosk.post("/tickets", content=huge, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

    def chunks():
        for _ in range(100):
            yield b"x" * 4096

    r = kiosk.post("/tickets", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    anon = server.client(None)
    r = anon.post("/tickets", json={"service": "A"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = anon.post("/tickets", json={"service": "A"}, headers={"Authorization": "Bearer bq_nope"})
    assert r.status_code == 401
    r = server.client("display").post("/tickets", json={"service": "A"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert snapshot_state(server)["tickets"] == []


def test_idempotent_issuance_returns_the_same_ticket(server):
    kiosk = server.client("kiosk")
    headers = {"Idempotency-Key": "kiosk1-0001-retry"}
    first = kiosk.post("/tickets", json={"service": "A"}, headers=headers)
    again = kiosk.post("/tickets", json={"service": "A"}, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replay"] == "true"
    assert first.json()["id"] == again.json()["id"]
    other = kiosk.post("/tickets", json={"service": "B"}, headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert len(snapshot_state(server)["tickets"]) == 1


def test_call_next_with_idempotency_key_is_not_applied_twice(server):
    kiosk = server.client("kiosk")
    for _ in range(2):
        kiosk.post("/tickets", json={"service": "A"})
    c1 = sign_in(server, 1)
    h = {"Idempotency-Key": "press-42"}
    first = c1.post("/counters/1/call-next", headers=h).json()["ticket"]
    again = c1.post("/counters/1/call-next", headers=h).json()["ticket"]
    assert first["id"] == again["id"]
    waiting = [t for t in snapshot_state(server)["tickets"] if t["state"] == "waiting"]
    assert len(waiting) == 1


def test_sign_in_needs_the_right_pin_and_sign_out_needs_an_idle_counter(server):
    c1 = server.client("counter:1")
    r = c1.post("/counters/1/sign-in", json={"staff_id": "t1", "pin": "0000"})
    assert r.status_code == 401
    r = c1.post("/counters/1/sign-in", json={"staff_id": "nobody", "pin": "2468"})
    assert r.status_code == 401
    assert server.client("admin").get("/counters/1").json()["state"] == "closed"
    sign_in(server, 1)
    server.client("kiosk").post("/tickets", json={"service": "A"})
    c1.post("/counters/1/call-next")
    r = c1.post("/counters/1/sign-out")
    assert r.status_code == 409 and r.json()["error"]["code"] == "counter_busy"
    c1.post("/counters/1/no-show")
    assert c1.post("/counters/1/sign-out").json()["state"] == "closed"


def test_manager_sets_skills_and_pauses_counters(server):
    manager = server.client("manager")
    r = manager.put("/counters/2/skills", json={"skills": [{"service": "C"}]})
    assert r.status_code == 200 and r.json()["skills"][0]["service"] == "C"
    r = manager.put("/counters/2/skills", json={"skills": [{"service": "Q"}]})
    assert r.status_code == 404
    sign_in(server, 2)
    r = manager.post("/counters/2/pause", json={"reason": "lunch"})
    assert r.json()["state"] == "paused" and r.json()["pause_reason"] == "lunch"
    server.client("kiosk").post("/tickets", json={"service": "C"})
    r = server.client("counter:2").post("/counters/2/call-next")
    assert r.status_code == 409 and r.json()["error"]["code"] == "counter_not_open"
    r = manager.patch("/services/A", json={"target_wait_s": 300, "enabled": False})
    assert r.json()["target_wait_s"] == 300
    r = server.client("kiosk").post("/tickets", json={"service": "A"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "service_disabled"


def test_a_counter_cannot_be_left_serving_nothing(server):
    manager = server.client("manager")
    seq = snapshot_state(server)["seq"]
    for skills, status, code in (
        ([], 422, "no_skills"),
        ([{"service": "Q"}], 404, "unknown_service"),
        ([{"service": "A"}, {"service": "Q"}], 404, "unknown_service"),
    ):
        r = manager.put("/counters/2/skills", json={"skills": skills})
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert snapshot_state(server)["seq"] == seq  # nothing changed, no event
    assert [s["service"] for s in manager.get("/counters/2").json()["skills"]] == ["A", "B"]


def test_call_a_specific_number(server):
    kiosk = server.client("kiosk")
    kiosk.post("/tickets", json={"service": "A"})
    second = kiosk.post("/tickets", json={"service": "A"}).json()
    c1 = sign_in(server, 1)
    r = c1.post("/counters/1/call", json={"number": "a002"})
    assert r.status_code == 200 and r.json()["id"] == second["id"]
    r = c1.post("/counters/1/call", json={})
    assert r.status_code == 422


def test_tokens_and_staff_provisioning(server):
    manager = server.client("manager")
    r = manager.post("/tokens", json={"role": "counter:3", "name": "spare"})
    assert r.status_code == 201
    new = r.json()
    assert new["token"].startswith("bq_")
    r = manager.post("/tokens", json={"role": "admin"})
    assert r.status_code == 403
    r = manager.post("/tokens", json={"role": "counter:99"})
    assert r.status_code == 422
    listed = manager.get("/tokens").json()
    assert new["id"] in [t["id"] for t in listed]
    assert all("token" not in t and "token_hash" not in t for t in listed)
    spare = server.client(None)
    spare.headers["Authorization"] = f"Bearer {new['token']}"
    assert spare.get("/whoami").json()["role"] == "counter:3"
    assert manager.delete(f"/tokens/{new['id']}").status_code == 204
    assert spare.get("/whoami").status_code == 401
    r = manager.post("/staff", json={"staff_id": "li.na", "name": "李娜", "pin": "135790"})
    assert r.status_code == 201
    r = server.client("counter:2").post(
        "/counters/2/sign-in", json={"staff_id": "li.na", "pin": "135790"}
    )
    assert r.status_code == 200 and r.json()["staff_id"] == "li.na"
    assert "pin" not in json.dumps(manager.get("/staff").json())


def test_openapi_document_describes_every_route(server):
    doc = server.client(None).get(server.base_url + "/openapi.json").json()
    assert "/api/v1/tickets" in doc["paths"]
    assert "/api/v1/counters/{number}/call-next" in doc["paths"]
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            assert op.get("description") or op.get("summary"), f"{method} {path} undocumented"


def test_the_live_page_token_goes_only_to_the_issuer(server):
    from websockets.sync.client import connect

    kiosk = server.client("kiosk")
    with connect(f"{server.ws_url}?token={server.tokens['display']}", open_timeout=5) as ws:
        ws.recv(timeout=5)  # snapshot
        issued = kiosk.post("/tickets", json={"service": "A"}).json()
        event = ws.recv(timeout=5)
    token = issued["token"]
    assert len(token) >= 16
    assert token not in event
    assert "token" not in kiosk.get(f"/tickets/{issued['id']}").json()
    assert token not in json.dumps(server.client("display").get("/snapshot").json())
    replay = kiosk.post("/tickets", json={"service": "A"})
    assert "token" in replay.json()
