"""Notices by SMS through a real loopback gateway: opt in by ticket link, near/called/no-show,
a dead gateway never slows a call, and the phone number is kept nowhere but in memory."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import TEST_CONFIG, FakeClock, LiveServer, sign_in
from test_notify_backends import FakeGateway
from websockets.sync.client import connect

from queue_server.config import parse_config
from queue_server.notify.settings import save_notification_settings
from queue_server.storage import connect as db_connect

PHONE = "13987654321"
SECRETS = (PHONE, "8613987654321", "87654321")  # the number, with +86, its last 8 digits
MASKED = "139****4321"


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    gw = FakeGateway().start()
    try:
        yield gw
    finally:
        gw.stop()


def start_with_gateway(
    branch_db: tuple[Path, dict[str, str]], clock: FakeClock, url: str, near: int = 2
) -> LiveServer:
    """The test branch as `branchq init` leaves it with `[notifications] url`, then served."""
    db, tokens = branch_db
    settings = parse_config({**TEST_CONFIG, "notifications": {"url": url, "near": near}})
    conn = db_connect(db)
    try:
        save_notification_settings(conn, settings.notifications)
    finally:
        conn.close()
    return LiveServer(db, tokens, clock).start()


@pytest.fixture
def live(branch_db, clock, gateway) -> Iterator[LiveServer]:
    server = start_with_gateway(branch_db, clock, gateway.url(timeout=2, retries=2, backoff=0.01))
    try:
        yield server
    finally:
        server.stop()


def public(server: LiveServer) -> httpx.Client:
    return server.client(None)


def opt_in(server: LiveServer, token: str, phone: str = "+86 139 8765 4321", **kw: Any):
    return public(server).post(f"/public/tickets/{token}/notify", json={"phone": phone, **kw})


def issue(server: LiveServer, n: int, service: str = "A") -> list[dict[str, Any]]:
    kiosk = server.client("kiosk")
    out = []
    for _ in range(n):
        r = kiosk.post("/tickets", json={"service": service})
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def serve_next(counter: httpx.Client, number: int = 1) -> dict[str, Any]:
    called = counter.post(f"/counters/{number}/call-next")
    assert called.status_code == 200, called.text
    assert counter.post(f"/counters/{number}/start").status_code == 200
    assert counter.post(f"/counters/{number}/finish").status_code == 200
    return called.json()


def notices(server: LiveServer):
    return server.app.state.notices


def test_customer_is_texted_when_near_called_recalled_and_passed(live, gateway):
    c1 = sign_in(live, 1)
    tickets = issue(live, 5)
    mine = tickets[4]
    r = opt_in(live, mine["token"])
    assert r.status_code == 200, r.text
    assert r.json() == {
        "ticket": "A005", "offered": True, "opted_in": True, "channel": "sms",
        "destination": MASKED,
        "language": "zh", "near": 2,
    }  # fmt: skip

    serve_next(c1)  # three ahead now: not near yet
    serve_next(c1)  # two ahead: near (near = 2)
    (near,) = gateway.wait_count(1)
    assert near == {
        "to": PHONE,
        "text": "您的号码 A005（现金）前面还有 2 位，请回到大厅等候叫号。",
        "reference": f"test-001-{mine['id']}-near",
    }
    serve_next(c1)
    serve_next(c1)  # one, then none ahead: "near" is said once only
    assert c1.post("/counters/1/call-next").json()["ticket"]["number"] == "A005"
    assert c1.post("/counters/1/recall").status_code == 200
    assert c1.post("/counters/1/no-show").status_code == 200
    bodies = gateway.wait_count(4)
    assert [b["text"] for b in bodies[1:]] == [
        "请 A005 号到 1 号窗口办理。",
        "请 A005 号到 1 号窗口办理。",
        "您的号码 A005（现金）叫号未到，已过号。如仍需办理，请重新取号或咨询大堂经理。",
    ]
    assert len({b["reference"] for b in bodies}) == 4  # a recall is a message of its own
    assert notices(live).outbox.wait_idle(5)
    assert len(gateway.requests) == 4
    # The visit ended: the number is gone from memory too.
    status = public(live).get(f"/public/tickets/{mine['token']}/notify").json()
    assert status["opted_in"] is False and status["destination"] is None
    figures = live.client("manager").get("/notifications").json()
    assert figures == {"notifier": "sms+http", "near": 2, "opted_in": 0, "queued": 4,
                       "sent": 4, "failed": 0, "dropped": 0}  # fmt: skip


def test_a_customer_already_near_is_told_at_once_in_english(live, gateway):
    c1 = sign_in(live, 1)
    _first, mine = issue(live, 2)
    assert opt_in(live, mine["token"], PHONE, language="en").json()["language"] == "en"
    (near,) = gateway.wait_count(1)
    assert near["text"] == "A002 (Cash): 1 customer ahead of you, please return to the hall."
    serve_next(c1)
    assert c1.post("/counters/1/call-next").json()["ticket"]["id"] == mine["id"]
    assert gateway.wait_count(2)[1]["text"] == "Number A002, please go to counter 1."


def test_opting_out_stops_the_messages(live, gateway):
    *_, quiet, control = issue(live, 5, "C")  # three ahead of the quiet one, four of control
    for t in (quiet, control):
        assert opt_in(live, t["token"]).status_code == 200
    r = public(live).delete(f"/public/tickets/{quiet['token']}/notify")
    assert r.status_code == 200 and r.json()["opted_in"] is False
    c3 = sign_in(live, 3)
    for _ in range(5):
        serve_next(c3, 3)
    # FIFO outbox: anything for the quiet ticket would come before control's messages.
    gateway.wait_count(2)
    assert notices(live).outbox.wait_idle(5)
    assert [b["text"] for b in gateway.bodies()] == [
        "您的号码 C005（开户）前面还有 2 位，请回到大厅等候叫号。",
        "请 C005 号到 3 号窗口办理。",
    ]


def test_a_transferred_customer_is_followed_to_the_new_queue(live, gateway):
    c1, c3 = sign_in(live, 1), sign_in(live, 3)
    (mine,) = issue(live, 1)
    opt_in(live, mine["token"])
    gateway.wait_count(1)  # near: nobody ahead
    assert c1.post("/counters/1/call-next").status_code == 200
    assert c1.post("/counters/1/transfer", json={"to_service": "C"}).status_code == 200
    gateway.wait_count(3)  # first in the new queue: near again
    assert c3.post("/counters/3/call-next").json()["ticket"]["number"] == "A001"
    texts = [b["text"] for b in gateway.wait_count(4)]
    assert texts[1:] == [
        "请 A001 号到 1 号窗口办理。",
        "您的号码 A001（开户）即将叫到，请回到大厅。",  # the new queue: near again
        "请 A001 号到 3 号窗口办理。",
    ]


def test_bad_phone_422_wrong_token_404_closed_ticket_409(live, gateway):
    c1 = sign_in(live, 1)
    mine, done = issue(live, 2)
    for bad in ("12987654321", "1398765432", "+1 202 555 0123", "电话", ""):
        r = opt_in(live, mine["token"], bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["code"] == "invalid_request"
        assert not bad or bad not in r.text
    assert opt_in(live, mine["token"], PHONE, language="fr").status_code == 422
    for token in ("x" * 22, mine["token"][:-1], "%20"):
        for method in ("GET", "POST", "DELETE"):
            r = public(live).request(
                method, f"/public/tickets/{token}/notify", json={"phone": PHONE}
            )
            assert r.status_code == 404, (method, token, r.text)
    serve_next(c1)  # the first one, `mine`, is done
    r = opt_in(live, mine["token"], PHONE)
    assert r.status_code == 409 and r.json()["error"]["code"] == "ticket_closed"
    assert done["token"] != mine["token"]


def test_a_day_rollover_forgets_every_number(live, gateway, clock):
    (mine,) = issue(live, 1, "C")
    assert opt_in(live, mine["token"]).json()["opted_in"] is True
    clock.advance(days=1)
    status = public(live).get(f"/public/tickets/{mine['token']}/notify").json()
    assert status["opted_in"] is False
    assert notices(live).status()["opted_in"] == 0


def test_the_number_is_nowhere_but_in_the_gateway(live, gateway, caplog):
    caplog.set_level(logging.DEBUG)  # every logger: the server's, httpx's, uvicorn's
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).propagate = True
    answers: list[str] = []
    stream: list[str] = []
    with connect(
        f"{live.ws_url}?token={live.tokens['manager']}", open_timeout=5, close_timeout=2
    ) as ws:
        stream.append(ws.recv(timeout=5))
        c1 = sign_in(live, 1)
        tickets = issue(live, 3)
        answers += [json.dumps(t) for t in tickets]
        mine = tickets[2]
        for call in (
            lambda: opt_in(live, mine["token"]),
            lambda: public(live).get(f"/public/tickets/{mine['token']}/notify"),
            lambda: live.client("manager").get("/snapshot"),
            lambda: live.client("manager").get(f"/tickets/{mine['id']}"),
            lambda: live.client("manager").get("/notifications"),
            lambda: c1.post("/counters/1/call-next"),
            lambda: c1.post("/counters/1/start"),
            lambda: c1.post("/counters/1/finish"),
            lambda: c1.post("/counters/1/call", json={"ticket_id": mine["id"]}),
            lambda: c1.post("/counters/1/no-show"),
        ):
            r = call()
            assert r.status_code == 200, r.text
            answers.append(r.text)
        assert any(MASKED in a for a in answers)
        gateway.wait_count(3)  # near, called, no-show
        head = httpx.get(live.base_url + "/api/v1/health").json()["seq"]
        seen = 0
        while seen < head:
            message = ws.recv(timeout=5)
            stream.append(message)
            decoded = json.loads(message)
            if decoded.get("events"):
                seen = decoded["events"][-1]["seq"]
    assert notices(live).outbox.wait_idle(5)
    assert [b["to"] for b in gateway.bodies()] == [PHONE] * len(gateway.bodies())
    live.stop()  # every write flushed and the server's log complete
    stored = b"".join(
        p.read_bytes() for p in live.db.parent.iterdir() if p.name.startswith(live.db.name)
    )
    places = {"responses": "\n".join(answers), "event stream": "\n".join(stream),
              "server log": caplog.text, "database": stored.decode("latin-1")}  # fmt: skip
    assert mine["number"] in places["database"] and mine["number"] in places["event stream"]
    leaks = [f"{what}: {s}" for what, text in places.items() for s in SECRETS if s in text]
    assert leaks == []
    assert "139****4321" in caplog.text  # the log says whom, masked


def test_a_dead_gateway_never_slows_a_call_and_is_given_up(branch_db, clock, gateway):
    gateway.script = ["hang"] * 3
    live = start_with_gateway(branch_db, clock, gateway.url(timeout=0.5, retries=2, backoff=0.01))
    try:
        c1 = sign_in(live, 1)
        tickets = issue(live, 4)
        opt_in(live, tickets[0]["token"])  # near at once: three attempts that hang
        gateway.wait_count(1)
        slowest = 0.0
        for _ in range(3):  # calls while the gateway hangs
            started = time.perf_counter()
            serve_next(c1)
            slowest = max(slowest, time.perf_counter() - started)
        assert slowest < 0.5, f"a call took {slowest:.3f} s while the gateway hung"
        refs = [b["reference"] for b in gateway.wait_count(3)]
        assert len(set(refs)) == 1  # the same notice, retried
        assert notices(live).outbox.wait_idle(10)
        figures = live.client("manager").get("/notifications").json()
        assert (figures["sent"], figures["failed"], figures["queued"]) == (1, 1, 2)
        # The first one was called (finished above); the gateway took that message.
        assert gateway.bodies()[3]["text"] == "请 A001 号到 1 号窗口办理。"
    finally:
        live.stop()


def test_the_gateway_gets_the_secret_from_the_environment(branch_db, clock, gateway, monkeypatch):
    monkeypatch.setenv("BRANCHQ_SMS_TOKEN", "gw-secret")
    gateway.script = [500]
    live = start_with_gateway(branch_db, clock, gateway.url(retries=1, backoff=0.01))
    try:
        (mine,) = issue(live, 1)
        opt_in(live, mine["token"])
        gateway.wait_count(2)
        assert notices(live).outbox.wait_idle(5)
        assert [r["headers"]["Authorization"] for r in gateway.requests] == ["Bearer gw-secret"] * 2
        assert notices(live).status()["sent"] == 1
    finally:
        live.stop()
