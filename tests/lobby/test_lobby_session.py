"""The lobby tablet's staff session on a real server: sign-in, the session header, sign-out,
expiry, deactivation, and the lock-out shared with the counters."""

from __future__ import annotations

from datetime import timedelta

from conftest import PIN
from lobby_helpers import (
    LOBBY_NAME,
    LOBBY_STAFF,
    add_lobby_staff,
    audit_of,
    lobby_device,
    signed_in_lobby,
)


def test_sign_in_gives_a_session_that_opens_the_lobby_api(server, clock):
    add_lobby_staff(server)
    tablet = lobby_device(server)
    r = tablet.post("/lobby/sign-in", json={"staff_id": LOBBY_STAFF, "pin": PIN})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["staff_id"] == LOBBY_STAFF and body["name"] == LOBBY_NAME
    assert len(body["session"]) > 40  # 256 random bits, url-safe
    assert body["expires_at"] == (clock.now + timedelta(hours=10)).isoformat()
    # Kept hashed: the plain session is nowhere in the database file.
    assert body["session"].encode() not in server.db.read_bytes()
    signed_in = audit_of(server, "lobby.signed_in")
    assert signed_in[0]["actor"] == f"lobby:{LOBBY_STAFF}"


def test_missing_wrong_or_ended_session_is_lobby_signed_out(server):
    tablet = signed_in_lobby(server)
    session = tablet.headers["X-Lobby-Session"]
    assert tablet.get("/lobby/session").status_code == 200
    for header in ({}, {"X-Lobby-Session": "ls_not-a-session"}):
        r = tablet.get("/lobby/session", headers=header) if header else None
        if r is None:
            del tablet.headers["X-Lobby-Session"]
            r = tablet.get("/lobby/session")
            tablet.headers["X-Lobby-Session"] = session
        assert r.status_code == 401 and r.json()["error"]["code"] == "lobby_signed_out", r.text
    assert tablet.post("/lobby/sign-out").status_code == 204
    r = tablet.get("/lobby/session")
    assert r.status_code == 401 and r.json()["error"]["code"] == "lobby_signed_out"
    assert audit_of(server, "lobby.signed_out")[0]["actor"] == f"lobby:{LOBBY_STAFF}"
    # Signing out again is refused the same way, and changes nothing.
    assert tablet.post("/lobby/sign-out").status_code == 401
    assert len(audit_of(server, "lobby.signed_out")) == 1


def test_a_session_works_only_on_the_tablet_that_signed_in(server):
    tablet = signed_in_lobby(server)
    other = lobby_device(server, "second tablet")
    other.headers["X-Lobby-Session"] = tablet.headers["X-Lobby-Session"]
    r = other.get("/lobby/session")
    assert r.status_code == 401 and r.json()["error"]["code"] == "lobby_signed_out"


def test_a_session_ends_after_ten_hours(server, clock):
    tablet = signed_in_lobby(server)
    clock.advance(hours=9, minutes=59)
    assert tablet.get("/lobby/session").status_code == 200
    clock.advance(minutes=1)
    r = tablet.get("/lobby/session")
    assert r.status_code == 401 and r.json()["error"]["code"] == "lobby_signed_out"


def test_a_deactivated_staff_member_is_signed_out(server):
    tablet = signed_in_lobby(server)
    # No route deactivates staff yet: the staff list's own flag, as an admin tool would set.
    import sqlite3

    conn = sqlite3.connect(server.db)
    with conn:
        conn.execute("UPDATE staff SET active = 0 WHERE staff_id = ?", (LOBBY_STAFF,))
    conn.close()
    r = tablet.get("/lobby/session")
    assert r.status_code == 401 and r.json()["error"]["code"] == "lobby_signed_out"


def test_wrong_pin_is_refused_and_locks_like_a_counter(server):
    add_lobby_staff(server)
    tablet = lobby_device(server)
    for _ in range(4):
        r = tablet.post("/lobby/sign-in", json={"staff_id": LOBBY_STAFF, "pin": "0000"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "wrong_pin", r.text
    r = tablet.post("/lobby/sign-in", json={"staff_id": LOBBY_STAFF, "pin": "0000"})
    assert r.status_code == 429
    # Locked: even the right PIN is refused now.
    r = tablet.post("/lobby/sign-in", json={"staff_id": LOBBY_STAFF, "pin": PIN})
    assert r.status_code == 429
    locked = audit_of(server, "staff.locked")
    assert locked and locked[0]["actor"].startswith("lobby token ")
    assert not audit_of(server, "lobby.signed_in")


def test_only_a_lobby_device_may_sign_in(server):
    add_lobby_staff(server)
    for role in ("kiosk", "counter:1", "display", "manager", "admin", "booking"):
        r = server.client(role).post("/lobby/sign-in", json={"staff_id": LOBBY_STAFF, "pin": PIN})
        assert r.status_code == 403, (role, r.text)
    assert server.client(None).post("/lobby/sign-in", json={}).status_code == 401
