"""A lobby tablet on a LiveServer: its device token (made through the API), a lobby
staff member, and a signed-in client."""

from __future__ import annotations

import httpx
from conftest import PIN, LiveServer

LOBBY_STAFF = "L01"
LOBBY_NAME = "王芳"


def lobby_device(server: LiveServer, name: str = "hall tablet") -> httpx.Client:
    """A client with a new `lobby` device token and nobody signed in."""
    admin = server.client("admin")
    r = admin.post("/tokens", json={"role": "lobby", "name": name})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    c = httpx.Client(
        base_url=server.base_url + "/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    server._clients.append(c)
    return c


def add_lobby_staff(server: LiveServer, staff_id: str = LOBBY_STAFF) -> None:
    r = server.client("admin").post(
        "/staff", json={"staff_id": staff_id, "name": LOBBY_NAME, "pin": PIN}
    )
    assert r.status_code == 201, r.text


def signed_in_lobby(server: LiveServer, staff_id: str = LOBBY_STAFF) -> httpx.Client:
    """A lobby tablet with `staff_id` signed in (the session in X-Lobby-Session)."""
    add_lobby_staff(server, staff_id)
    c = lobby_device(server)
    r = c.post("/lobby/sign-in", json={"staff_id": staff_id, "pin": PIN})
    assert r.status_code == 200, r.text
    c.headers["X-Lobby-Session"] = r.json()["session"]
    return c


def audit_of(server: LiveServer, action: str) -> list[dict]:
    """The audit log's entries for one kind of action, newest first."""
    entries = server.client("manager").get("/audit", params={"limit": 1000}).json()
    return [e for e in entries if e["action"] == action]
