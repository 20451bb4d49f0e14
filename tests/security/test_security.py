"""Tokens (random, hashed, revocable, expiring), PIN lock-out, the event stream's roles,
the audit trail of manager actions, security headers and CORS."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from conftest import PIN, LiveServer
from websockets.sync.client import connect

from queue_server.auth import create_token
from queue_server.storage import connect as db_connect

# ------------------------------------------------------------------ tokens


def test_tokens_are_random_and_only_their_hash_is_stored(server):
    admin = server.client("admin")
    made = [admin.post("/tokens", json={"role": "kiosk", "name": f"k{i}"}).json() for i in range(3)]
    plain = [m["token"] for m in made]
    assert len(set(plain)) == 3
    assert all(t.startswith("bq_") and len(t) >= 40 for t in plain)  # 32 random bytes
    conn = db_connect(server.db)
    try:
        rows = conn.execute("SELECT * FROM tokens").fetchall()
    finally:
        conn.close()
    stored = " ".join(str(v) for r in rows for v in tuple(r))
    for token in plain:
        assert token not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored
    listed = admin.get("/tokens").text
    assert not any(token in listed for token in plain)


def test_a_revoked_token_stops_working_at_once(server):
    admin = server.client("admin")
    made = admin.post("/tokens", json={"role": "kiosk", "name": "to revoke"}).json()
    headers = {"Authorization": f"Bearer {made['token']}"}
    kiosk = server.client(None)
    assert kiosk.get("/services", headers=headers).status_code == 200
    assert admin.delete(f"/tokens/{made['id']}").status_code == 204
    assert kiosk.get("/services", headers=headers).status_code == 401
    ws_url = f"{server.ws_url}?token={made['token']}"
    with connect(ws_url, open_timeout=5) as ws, pytest.raises(Exception, match="4401"):
        ws.recv(timeout=5)


def test_a_token_with_an_expiry_stops_working_after_it(server):
    conn = db_connect(server.db)
    try:
        conn.execute("BEGIN IMMEDIATE")
        past = datetime.now(UTC) - timedelta(seconds=1)
        _, expired = create_token(conn, "kiosk", "expired", expires_at=past)
        conn.execute("COMMIT")
    finally:
        conn.close()
    anon = server.client(None)
    assert anon.get("/services", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    made = server.client("manager").post(
        "/tokens", json={"role": "display", "name": "hall TV", "expires_in_days": 30}
    )
    assert made.status_code == 201
    listed = {t["id"]: t for t in server.client("manager").get("/tokens").json()}
    expires = datetime.fromisoformat(listed[made.json()["id"]]["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    ok = anon.get("/services", headers={"Authorization": f"Bearer {made.json()['token']}"})
    assert ok.status_code == 200


def test_the_event_stream_refuses_the_booking_channel(server):
    ws_url = f"{server.ws_url}?token={server.tokens['booking']}"
    with connect(ws_url, open_timeout=5) as ws, pytest.raises(Exception, match="4403"):
        ws.recv(timeout=5)


# ------------------------------------------------------------------ staff PIN lock-out


def _sign_in(client, staff_id, pin):
    return client.post("/counters/1/sign-in", json={"staff_id": staff_id, "pin": pin})


def test_five_wrong_pins_lock_the_staff_id_for_fifteen_minutes(server, clock):
    c1 = server.client("counter:1")
    for _ in range(4):
        assert _sign_in(c1, "t1", "0000").status_code == 401
    locked = _sign_in(c1, "t1", "0000")
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) == 15 * 60
    assert "too many wrong PINs" in locked.json()["error"]["message"]
    # The right PIN does not get through while locked, and is not even checked.
    assert _sign_in(c1, "t1", PIN).status_code == 429
    # Another teller is not affected; an unknown id locks the same way (ids are not revealed).
    c2 = server.client("counter:2")
    assert c2.post("/counters/2/sign-in", json={"staff_id": "t2", "pin": PIN}).status_code == 200
    clock.advance(minutes=14)
    assert _sign_in(c1, "t1", PIN).status_code == 429
    clock.advance(minutes=1, seconds=1)
    assert _sign_in(c1, "t1", PIN).status_code == 200


def test_failures_spread_out_or_followed_by_success_do_not_lock(server, clock):
    c1 = server.client("counter:1")
    for _ in range(4):
        assert _sign_in(c1, "t1", "9999").status_code == 401
    clock.advance(minutes=16)  # the earlier failures leave the window
    for _ in range(4):
        assert _sign_in(c1, "t1", "9999").status_code == 401
    assert _sign_in(c1, "t1", PIN).status_code == 200
    for _ in range(4):
        assert _sign_in(c1, "t1", "9999").status_code == 401  # the count restarted


def test_unknown_staff_ids_lock_like_real_ones(server):
    c1 = server.client("counter:1")
    answers = [_sign_in(c1, "nobody", "1111").status_code for _ in range(6)]
    assert answers == [401, 401, 401, 401, 429, 429]


# ------------------------------------------------------------------ audit of manager actions


def _audit_after(client, seq):
    return [e for e in client.get("/audit", params={"limit": 1000}).json() if e["seq"] > seq]


def _last_seq(client):
    entries = client.get("/audit", params={"limit": 1}).json()
    return entries[0]["seq"] if entries else 0


def test_every_manager_action_is_in_the_audit_log(server):
    """Each mutating route a manager may call leaves an audit entry naming the manager."""
    manager = server.client("manager")
    admin = server.client("admin")
    waiting = manager.post("/tickets", json={"service": "A"}).json()
    spare = admin.post("/tokens", json={"role": "kiosk", "name": "spare"}).json()
    doc = server.client(None).get(server.base_url + "/openapi.json").json()
    actions = {
        ("PUT", "/branch/notice"): {"json": {"text": "今日 15:00 起暂停外币业务"}},
        ("PATCH", "/services/{code}"): {"json": {"target_wait_s": 600}},
        ("POST", "/counters/{number}/open"): {},
        ("POST", "/counters/{number}/pause"): {"json": {"reason": "lunch"}},
        ("PUT", "/counters/{number}/skills"): {"json": {"skills": [{"service": "A"}]}},
        ("POST", "/counters/{number}/close"): {},
        ("POST", "/counters/{number}/sign-out"): {},
        ("POST", "/tickets/{ticket_id}/cancel"): {},
        ("POST", "/tokens"): {"json": {"role": "display", "name": "audit"}},
        ("DELETE", "/tokens/{token_id}"): {},
        ("POST", "/staff"): {"json": {"staff_id": "audit", "name": "A", "pin": "1357"}},
    }
    # Every mutating route a manager may call must be listed here (or below, with why not).
    not_manager_actions = {
        ("POST", "/tickets"),  # issuing a ticket for a customer: the ticket's own events
        ("POST", "/appointments"),  # booking on a customer's behalf: the booking's events
        ("PATCH", "/appointments/{appointment_id}"),
        ("POST", "/appointments/{appointment_id}/cancel"),
        ("POST", "/appointments/check-in"),
        ("POST", "/devices/status"),  # a device reporting its health
        ("POST", "/alerts/{alert_id}/acknowledge"),  # audited: needs a live alert, see below
        ("PATCH", "/followups/{followup_id}"),  # audited: needs a 不满意 rating, see below
        ("POST", "/tickets/{ticket_id}/rating"),  # admin only, a customer's rating
        ("POST", "/customers/identify"),
        # A teller's read receipt of the knowledge base's changes: changes nothing of the
        # branch, kept per teller (tests/ui/test_counter_knowledge.py)
        ("POST", "/counters/{number}/knowledge-changes/seen"),
        # Audited when the run ends and once a run has chosen: tests/server/test_policy_choice.py
        ("POST", "/policy/tournament"),
        ("POST", "/policy/apply"),
    }
    mutating = {
        (m.upper(), p.removeprefix("/api/v1"))
        for p, ops in doc["paths"].items()
        for m in ops
        if m.upper() in ("POST", "PUT", "PATCH", "DELETE") and p.startswith("/api/v1/")
    }
    manager_routes = set()
    for method, path in mutating:
        # The lobby tablet's routes are no manager's: each is audited under the lobby staff
        # member who did it (tests/lobby).
        if path.startswith(("/public/", "/notify", "/lobby/")) or (
            "/counters/{number}/" in path
            and path.endswith(
                ("call-next", "call", "recall", "start", "finish", "no-show", "transfer", "sign-in")
            )
        ):
            continue  # public, or the counter's own teller only
        manager_routes.add((method, path))
    unlisted = manager_routes - set(actions) - not_manager_actions
    assert not unlisted, f"mutating routes with no audit expectation: {sorted(unlisted)}"
    missing = []
    for (method, path), kwargs in actions.items():
        seq = _last_seq(admin)
        url = (
            path.replace("{code}", "A")
            .replace("{number}", "2")
            .replace("{ticket_id}", str(waiting["id"]))
            .replace("{token_id}", str(spare["id"]))
        )
        response = manager.request(method, url, **kwargs)
        assert response.status_code < 300, (method, path, response.text)
        entries = _audit_after(admin, seq)
        if not any(e["actor"].startswith("manager") for e in entries):
            missing.append(f"{method} {path}")
    assert not missing, f"manager actions missing from the audit log: {missing}"


# ------------------------------------------------------------------ headers and CORS


@pytest.mark.parametrize("path", ["/display", "/api/v1/health", "/openapi.json"])
def test_pages_and_answers_carry_security_headers(server, path):
    response = server.client(None).get(server.base_url + path, follow_redirects=True)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "http" not in csp  # no CDN
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


def test_no_cross_origin_calls_by_default(server):
    anon = server.client(None)
    origin = {"Origin": "http://evil.example"}
    simple = anon.get("/health", headers=origin)
    assert "access-control-allow-origin" not in simple.headers
    preflight = anon.options(
        "/tickets",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code >= 400


def test_an_allowed_origin_may_call_the_api(branch_db, clock, monkeypatch):
    db, tokens = branch_db
    monkeypatch.setenv("BRANCHQ_CORS_ORIGINS", "https://portal.bank.example, http://other")
    live = LiveServer(db, tokens, clock).start()
    try:
        client = live.client(None)
        allowed = client.options(
            "/tickets",
            headers={
                "Origin": "https://portal.bank.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://portal.bank.example"
        other = client.get("/health", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    finally:
        live.stop()
