"""Every route × every role: who may call what. A new route must be added here to pass."""

from __future__ import annotations

from conftest import PIN, sign_in
from lobby_helpers import LOBBY_STAFF, add_lobby_staff
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

ROLES = (
    "anonymous", "kiosk", "counter:1", "counter:2", "display", "manager", "admin", "booking",
    "lobby",
)  # fmt: skip
# "booking" (the bank's online channel) only reaches appointments; "lobby" (the lobby
# manager's tablet, its staff member signed in) only the lobby API and the event stream.
ANY = frozenset(ROLES) - {"anonymous", "booking", "lobby"}
LOBBY = frozenset({"lobby"})
BOOKING = frozenset({"booking", "manager", "admin"})
MANAGERS = frozenset({"manager", "admin"})
OWN_COUNTER = frozenset({"counter:1"})
OWN_OR_MANAGER = OWN_COUNTER | MANAGERS
ISSUERS = frozenset({"kiosk", "counter:1", "counter:2", "manager", "admin"})
STAFF = frozenset({"counter:1", "counter:2", "manager", "admin"})
LISTENERS = frozenset({"display", "manager", "admin"})  # who may fetch announcements

EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/health"): frozenset(ROLES),
    ("GET", "/api/v1/snapshot"): ANY,
    ("PUT", "/api/v1/branch/notice"): MANAGERS,
    # Any valid token may check its pairing (it tells the caller only its own role and name).
    ("GET", "/api/v1/whoami"): ANY | {"booking", "lobby"},
    ("GET", "/api/v1/services"): ANY,
    ("GET", "/api/v1/services/{code}"): ANY,
    ("PATCH", "/api/v1/services/{code}"): MANAGERS,
    ("GET", "/api/v1/counters"): ANY,
    ("GET", "/api/v1/counters/{number}"): ANY,
    ("POST", "/api/v1/counters/{number}/open"): OWN_OR_MANAGER,
    ("POST", "/api/v1/counters/{number}/pause"): OWN_OR_MANAGER,
    ("POST", "/api/v1/counters/{number}/close"): OWN_OR_MANAGER,
    ("POST", "/api/v1/counters/{number}/sign-out"): OWN_OR_MANAGER,
    ("PUT", "/api/v1/counters/{number}/skills"): MANAGERS,
    ("GET", "/api/v1/counters/{number}/today"): OWN_OR_MANAGER,
    ("GET", "/api/v1/counters/{number}/queue"): OWN_OR_MANAGER,
    ("POST", "/api/v1/counters/{number}/sign-in"): OWN_COUNTER,
    ("POST", "/api/v1/counters/{number}/call-next"): OWN_COUNTER,
    ("POST", "/api/v1/counters/{number}/call"): OWN_COUNTER,
    ("POST", "/api/v1/counters/{number}/recall"): OWN_COUNTER,
    ("POST", "/api/v1/counters/{number}/start"): OWN_COUNTER,
    ("POST", "/api/v1/counters/{number}/finish"): OWN_COUNTER,
    ("POST", "/api/v1/counters/{number}/no-show"): OWN_COUNTER,
    ("POST", "/api/v1/counters/{number}/transfer"): OWN_COUNTER,
    ("POST", "/api/v1/tickets"): ISSUERS,
    ("GET", "/api/v1/tickets/{ticket_id}"): ANY,
    ("GET", "/api/v1/tickets/{ticket_id}/history"): STAFF,
    ("POST", "/api/v1/tickets/{ticket_id}/cancel"): ISSUERS,
    ("POST", "/api/v1/tickets/{ticket_id}/rating"): frozenset({"counter:1", "admin"}),
    # The counter holding the ticket may read its form too; this one is waiting (403 for all).
    ("GET", "/api/v1/tickets/{ticket_id}/eform"): frozenset({"admin"}),
    ("POST", "/api/v1/customers/identify"): frozenset({"kiosk", "counter:1", "counter:2", "admin"}),
    ("GET", "/api/v1/bundles"): ANY,
    ("POST", "/api/v1/appointments"): BOOKING,
    ("GET", "/api/v1/appointments"): BOOKING,
    ("GET", "/api/v1/appointments/{appointment_id}"): BOOKING,
    ("PATCH", "/api/v1/appointments/{appointment_id}"): BOOKING,
    ("POST", "/api/v1/appointments/{appointment_id}/cancel"): BOOKING,
    ("POST", "/api/v1/appointments/check-in"): ISSUERS,
    ("GET", "/api/v1/appointments/slots"): BOOKING,
    # The booking page's own endpoints are public: customers book from home, without a token.
    ("GET", "/api/v1/public/book/services"): frozenset(ROLES),
    ("GET", "/api/v1/public/book/slots"): frozenset(ROLES),
    ("POST", "/api/v1/public/book"): frozenset(ROLES),
    ("POST", "/api/v1/public/book/cancel"): frozenset(ROLES),
    ("GET", "/api/v1/devices"): ANY,
    ("POST", "/api/v1/devices/status"): ISSUERS,
    ("POST", "/api/v1/tokens"): MANAGERS,
    ("GET", "/api/v1/tokens"): MANAGERS,
    ("DELETE", "/api/v1/tokens/{token_id}"): MANAGERS,
    ("GET", "/api/v1/staff"): MANAGERS,
    ("POST", "/api/v1/staff"): MANAGERS,
    ("GET", "/api/v1/staffing/advice"): MANAGERS,
    ("GET", "/api/v1/policy"): MANAGERS,
    ("GET", "/api/v1/head-office"): MANAGERS,
    ("GET", "/api/v1/config/version"): MANAGERS,
    ("GET", "/api/v1/knowledge"): STAFF,
    ("GET", "/api/v1/knowledge/{service}"): STAFF,
    ("GET", "/api/v1/counters/{number}/knowledge-changes"): OWN_OR_MANAGER,
    ("POST", "/api/v1/counters/{number}/knowledge-changes/seen"): OWN_OR_MANAGER,
    ("POST", "/api/v1/policy/tournament"): MANAGERS,
    ("POST", "/api/v1/policy/apply"): MANAGERS,
    ("GET", "/api/v1/alerts"): MANAGERS,
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): MANAGERS,
    ("GET", "/api/v1/followups"): MANAGERS,
    ("PATCH", "/api/v1/followups/{followup_id}"): MANAGERS,
    ("GET", "/api/v1/audit"): MANAGERS,
    ("GET", "/api/v1/reports"): MANAGERS,
    ("GET", "/api/v1/voice/call.wav"): LISTENERS,
    ("GET", "/api/v1/voice/chime.wav"): LISTENERS,
    # The customer's own ticket: the ticket's token in the path is the only key, so every
    # caller (with any bearer token or none) gets the same answer.
    ("GET", "/api/v1/public/tickets/{token}"): frozenset(ROLES),
    ("POST", "/api/v1/public/tickets/{token}/cancel"): frozenset(ROLES),
    ("POST", "/api/v1/public/tickets/{token}/late"): frozenset(ROLES),
    ("POST", "/api/v1/public/tickets/{token}/rating"): frozenset(ROLES),
    # SMS notices: the customer opts in with the ticket's token; the manager sees the counts.
    ("GET", "/api/v1/public/tickets/{token}/notify"): frozenset(ROLES),
    ("POST", "/api/v1/public/tickets/{token}/notify"): frozenset(ROLES),
    ("DELETE", "/api/v1/public/tickets/{token}/notify"): frozenset(ROLES),
    ("GET", "/api/v1/notifications"): MANAGERS,
    # The lobby tablet (issue 21): its device token and a signed-in staff member; no other
    # role, not even a manager's console (decided: the lobby's actions are a staff member's,
    # named in the audit log by their session, which only a lobby device holds).
    ("POST", "/api/v1/lobby/sign-in"): LOBBY,
    ("GET", "/api/v1/lobby/session"): LOBBY,
    ("POST", "/api/v1/lobby/sign-out"): LOBBY,
    ("GET", "/api/v1/lobby/hall"): LOBBY,
    ("GET", "/api/v1/lobby/tickets/{number}"): LOBBY,
    ("POST", "/api/v1/lobby/scan"): LOBBY,
    ("POST", "/api/v1/lobby/tickets"): LOBBY,
    ("POST", "/api/v1/lobby/tickets/{ticket_id}/business"): LOBBY,
    ("POST", "/api/v1/lobby/tickets/{ticket_id}/care"): LOBBY,
    ("POST", "/api/v1/lobby/tickets/{ticket_id}/documents"): LOBBY,
    ("POST", "/api/v1/lobby/tickets/{ticket_id}/note"): LOBBY,
    ("POST", "/api/v1/lobby/tickets/{ticket_id}/hold"): LOBBY,
    ("POST", "/api/v1/lobby/tickets/{ticket_id}/release"): LOBBY,
    ("POST", "/api/v1/lobby/tickets/{ticket_id}/cancel"): LOBBY,
    ("POST", "/api/v1/lobby/divert"): LOBBY,
}


def test_the_matrix_lists_every_route(server):
    doc = server.client(None).get(server.base_url + "/openapi.json").json()
    routes = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}
    assert routes == set(EXPECTED)


def test_every_route_checks_the_role(server):
    admin = server.client("admin")
    # A ticket served and finished at counter 1, so rating it is meaningful.
    c1 = sign_in(server, 1)
    served = admin.post("/tickets", json={"service": "A"}).json()
    c1.post("/counters/1/call-next")
    c1.post("/counters/1/start")
    c1.post("/counters/1/finish")
    waiting = admin.post("/tickets", json={"service": "B"}).json()
    mine = admin.post("/tickets", json={"service": "C"}).json()  # the public routes' own
    spare = admin.post("/tokens", json={"role": "kiosk", "name": "to revoke"}).json()
    bodies = {
        "/api/v1/services/{code}": {"target_wait_s": 600},
        "/api/v1/branch/notice": {"text": "今日 15:00 起暂停外币业务"},
        "/api/v1/counters/{number}/skills": {"skills": [{"service": "A"}, {"service": "B"}]},
        "/api/v1/counters/{number}/sign-in": {"staff_id": "t1", "pin": PIN},
        "/api/v1/counters/{number}/call": {"ticket_id": waiting["id"]},
        "/api/v1/counters/{number}/transfer": {"to_service": "C"},
        "/api/v1/tickets": {"service": "A"},
        "/api/v1/tickets/{ticket_id}/rating": {"rating": 3},
        "/api/v1/public/tickets/{token}/rating": {"rating": 3},
        "/api/v1/public/tickets/{token}/late": {"minutes": 5},
        "/api/v1/public/tickets/{token}/notify": {"phone": "13987654321"},
        "/api/v1/tokens": {"role": "display", "name": "matrix"},
        "/api/v1/devices/status": {"device": "k/printer", "kind": "printer", "health": "ok"},
        "/api/v1/staff": {"staff_id": "matrix", "name": "M", "pin": "1357"},
        "/api/v1/appointments": {"service": "C", "slot_start": "2026-11-28T14:30"},
        "/api/v1/appointments/{appointment_id}": {"slot_start": "2026-11-28T15:00"},
        "/api/v1/appointments/check-in": {"qr": "not a booking"},
        "/api/v1/followups/{followup_id}": {"note": "called back"},
        "/api/v1/lobby/sign-in": {"staff_id": LOBBY_STAFF, "pin": PIN},
        "/api/v1/lobby/tickets": {"service": "A"},
        "/api/v1/lobby/tickets/{ticket_id}/business": {"service": "C"},
        "/api/v1/lobby/tickets/{ticket_id}/care": {"reason": "matrix"},
        "/api/v1/lobby/tickets/{ticket_id}/documents": {"checked": []},
        "/api/v1/lobby/tickets/{ticket_id}/note": {"text": "matrix"},
        "/api/v1/lobby/tickets/{ticket_id}/hold": {"reason": "matrix"},
        "/api/v1/lobby/tickets/{ticket_id}/cancel": {"reason": "matrix"},
        "/api/v1/lobby/divert": {"service": "A", "channel": "app"},
        "/api/v1/customers/identify": {
            "id_number": "110101195001011239",
            "birth_date": "1950-01-01",
        },
    }
    clients = {role: server.client(None if role == "anonymous" else role) for role in ROLES}
    add_lobby_staff(server)
    lobby = clients["lobby"]
    r = lobby.post("/lobby/sign-in", json={"staff_id": LOBBY_STAFF, "pin": PIN})
    lobby.headers["X-Lobby-Session"] = r.json()["session"]
    wrong = []
    # The lobby's sign-out last: it ends the session the lobby's other routes need.
    last = ("POST", "/api/v1/lobby/sign-out")
    for (method, path), allowed in sorted(EXPECTED.items(), key=lambda kv: (kv[0] == last, kv)):
        ticket = served["id"] if path.endswith("rating") else waiting["id"]
        url = (
            path.removeprefix("/api/v1")
            .replace("{code}", "A")
            .replace("{number}", "1")
            .replace("{ticket_id}", str(ticket))
            .replace("{token}", served["token"] if path.endswith("rating") else mine["token"])
            .replace("{token_id}", str(spare["id"]))
            .replace("{appointment_id}", "1")
            .replace("{alert_id}", "none")
            .replace("{followup_id}", "1")
        )
        for role in ROLES:
            kwargs = {"json": bodies[path]} if path in bodies else {}
            status = clients[role].request(method, url, **kwargs).status_code
            denied = status in (401, 403)
            if denied == (role in allowed) or (role == "anonymous" and status == 403):
                wrong.append(f"{method} {path} as {role}: {status}")
    assert not wrong, "\n".join(wrong)


def test_the_lobby_role_reaches_only_the_lobby_api(server):
    """The other side of the matrix, said directly: every route the lobby tablet may call is
    under /api/v1/lobby/ (but the public ones anyone may call, and its own pairing check);
    and every /api/v1/lobby/ route is the lobby tablet's alone (managers and admins act from
    their console, under their own name, not as a lobby staff member)."""
    public = {k for k, allowed in EXPECTED.items() if allowed == frozenset(ROLES)}
    for (method, path), allowed in EXPECTED.items():
        if path.startswith("/api/v1/lobby/"):
            assert allowed == LOBBY, (method, path)
        elif (method, path) not in public and (method, path) != ("GET", "/api/v1/whoami"):
            assert "lobby" not in allowed, (method, path)


def test_event_stream_needs_a_valid_token(server):
    for role in ANY | LOBBY:
        with connect(f"{server.ws_url}?token={server.tokens[role]}", open_timeout=5) as ws:
            assert '"type":"snapshot"' in ws.recv(timeout=5)
    for bad in ("", "bq_wrong"):
        try:
            with connect(f"{server.ws_url}?token={bad}", open_timeout=5) as ws:
                ws.recv(timeout=5)
        except InvalidStatus:
            continue  # refused during the handshake is fine too
        except Exception as exc:  # closed with 4401 after accept
            assert "4401" in str(exc), exc
        else:
            raise AssertionError("an unauthenticated event stream stayed open")
