"""What a ticket request may ask for: an Idempotency-Key replays only the same request from
the same device, and priority the bank grants is never taken on a device's word."""

from __future__ import annotations

from conftest import LiveServer


def _seq(server: LiveServer) -> int:
    return server.client("admin").get("/snapshot").json()["seq"]


def _issue(client, key: str, **body):
    return client.post("/tickets", json={"service": "A", **body}, headers={"Idempotency-Key": key})


# ------------------------------------------------------------------ Idempotency-Key
def test_a_key_replays_only_the_request_it_was_used_for(server):
    kiosk = server.client("kiosk")
    first = _issue(kiosk, "kiosk-key-0001")
    assert first.status_code == 201 and first.json()["priority"] == "regular"
    seq = _seq(server)
    for other in ({"priority": "care"}, {"service": "B"}, {"bundle": None, "service": "C"}):
        r = _issue(kiosk, "kiosk-key-0001", **other)
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "idempotency_key_reused"
    assert _seq(server) == seq  # refused: nothing issued, nothing changed
    # The same request (defaults spelt out or not) is a replay of the first ticket.
    again = _issue(kiosk, "kiosk-key-0001", priority="regular", vip_tier=0)
    assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
    assert (again.json()["id"], again.json()["token"]) == (
        first.json()["id"],
        first.json()["token"],
    )


def test_another_device_with_the_same_key_gets_its_own_ticket(server):
    made = server.client("admin").post("/tokens", json={"role": "kiosk", "name": "kiosk 2"})
    other = server.client(None)
    other.headers["Authorization"] = f"Bearer {made.json()['token']}"
    kiosk = server.client("kiosk")
    mine = _issue(kiosk, "same-random-key")
    theirs = _issue(other, "same-random-key")
    assert mine.status_code == theirs.status_code == 201, theirs.text
    assert theirs.json()["id"] != mine.json()["id"]
    assert theirs.json()["token"] != mine.json()["token"]  # never the other customer's link
    # Each device's retry still replays its own ticket; another body is refused per device.
    assert _issue(kiosk, "same-random-key").json()["id"] == mine.json()["id"]
    assert _issue(other, "same-random-key").json()["id"] == theirs.json()["id"]
    assert _issue(other, "same-random-key", priority="care").status_code == 409


def test_a_key_is_matched_against_its_request_after_a_restart(branch_db, clock):
    db, tokens = branch_db
    first = LiveServer(db, tokens, clock).start()
    try:
        issued = _issue(first.client("kiosk"), "before-restart").json()
        port = first.port
    finally:
        first.stop()
    second = LiveServer(db, tokens, clock, port=port).start()
    try:
        kiosk = second.client("kiosk")
        assert _issue(kiosk, "before-restart", priority="care").status_code == 409
        replay = _issue(kiosk, "before-restart")
        assert replay.status_code == 200 and replay.json()["id"] == issued["id"]
    finally:
        second.stop()


# ------------------------------------------------------------------ declared priority
def test_a_kiosk_or_counter_may_declare_care_but_not_vip(server):
    seq = _seq(server)
    for role in ("kiosk", "counter:1"):
        client = server.client(role)
        for asked in (
            {"priority": "vip", "vip_tier": 3},
            {"priority": "vip", "vip_tier": 1},
            {"priority": "appointment", "appointment_slot": "2026-11-27T02:30:00Z"},
        ):
            r = client.post("/tickets", json={"service": "A", **asked})
            assert r.status_code == 403, (role, asked, r.text)
            assert r.json()["error"]["code"] == "priority_not_declarable"
    assert _seq(server) == seq
    care = server.client("kiosk").post("/tickets", json={"service": "A", "priority": "care"})
    assert care.status_code == 201 and care.json()["priority"] == "care"


def test_a_manager_may_grant_vip_and_is_named_in_the_audit_log(server):
    manager = server.client("manager")
    r = manager.post("/tickets", json={"service": "A", "priority": "vip", "vip_tier": 2})
    assert r.status_code == 201, r.text
    assert (r.json()["priority"], r.json()["vip_tier"], r.json()["source"]) == ("vip", 2, "staff")
    entries = manager.get("/audit", params={"limit": 50}).json()
    (granted,) = [e for e in entries if e["action"] == "ticket.issued"]
    assert granted["actor"] == "manager:manager"
    assert granted["target"] == f"ticket {r.json()['number']}"
    assert granted["after"]["vip_tier"] == 2 and "token" not in granted["after"]
