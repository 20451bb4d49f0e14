"""BranchClient against a real queue server: snapshot, live events, idempotent issuing,
errors, a dead link, and reconnecting to a restarted server on the same port.

The server is a real uvicorn on loopback (conftest's LiveServer); where a test needs the
network to misbehave, a Qt TCP relay sits between client and server and really loses an
answer or really goes silent. Every wait is qtbot.waitSignal / waitUntil with a deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import PIN, LiveServer
from PySide6.QtCore import QObject, QUrl
from PySide6.QtNetwork import QHostAddress, QTcpServer, QTcpSocket
from websockets.sync.server import ServerConnection, serve

from ui.client import ApiError, BranchClient, BranchModel, EventSocket, Reply

WAIT_MS = 5000


# ----------------------------------------------------------------- helpers
class Relay(QObject):
    """A TCP relay on loopback that can lose ticket answers or stop passing anything on."""

    def __init__(self, upstream_port: int) -> None:
        super().__init__()
        self.upstream_port = upstream_port
        self.lose_ticket_answers = 0  # answers to POST /tickets to drop (server did act)
        self.lost = 0
        self._links: list[dict[str, Any]] = []
        self._server = QTcpServer(self)
        self._server.newConnection.connect(self._accept)
        assert self._server.listen(QHostAddress.SpecialAddress.LocalHost, 0)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.serverPort()}"

    def freeze(self) -> None:
        """Connections open now go silent both ways, like a pulled cable."""
        for link in self._links:
            link["frozen"] = True

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            down = self._server.nextPendingConnection()
            up = QTcpSocket(self)
            link: dict[str, Any] = {"frozen": False, "swallow": False}
            self._links.append(link)

            def from_client(down: QTcpSocket = down, up: QTcpSocket = up, link=link) -> None:
                data = bytes(down.readAll().data())
                if link["frozen"]:
                    return
                if data.startswith(b"POST /api/v1/tickets ") and self.lose_ticket_answers:
                    self.lose_ticket_answers -= 1
                    link["swallow"] = True
                up.write(data)

            def from_server(down: QTcpSocket = down, up: QTcpSocket = up, link=link) -> None:
                data = bytes(up.readAll().data())
                if link["frozen"]:
                    return
                if link["swallow"]:
                    # The server has made the ticket and answered; the answer never arrives.
                    self.lost += 1
                    down.abort()
                    up.abort()
                    return
                down.write(data)

            down.readyRead.connect(from_client)
            up.readyRead.connect(from_server)
            down.disconnected.connect(up.disconnectFromHost)
            up.disconnected.connect(down.disconnectFromHost)
            up.connectToHost("127.0.0.1", self.upstream_port)


def answer(qtbot, reply: Reply) -> tuple[Any, ApiError | None]:
    """Wait for a reply and return (data, error)."""
    if not reply.done:
        with qtbot.waitSignal(reply.finished, timeout=WAIT_MS):
            pass
    return reply.data, reply.error


def ok(qtbot, reply: Reply) -> Any:
    data, error = answer(qtbot, reply)
    assert error is None, error
    return data


@pytest.fixture
def make_client(qtbot, server: LiveServer) -> Iterator[Any]:
    clients: list[BranchClient] = []

    def make(role: str, base_url: str | None = None, **kwargs: Any) -> BranchClient:
        client = BranchClient(base_url or server.base_url, server.tokens[role], **kwargs)
        clients.append(client)
        client.start()
        qtbot.waitUntil(lambda: client.online, timeout=WAIT_MS)
        return client

    yield make
    for c in clients:
        c.stop()


def server_snapshot(server: LiveServer) -> dict[str, Any]:
    r = server.client("manager").get("/snapshot")
    assert r.status_code == 200
    return r.json()


def assert_matches(model: BranchModel, snap: dict[str, Any]) -> None:
    assert model.epoch == snap["epoch"]
    assert model.seq == snap["seq"]
    assert model.tickets == {t["id"]: t for t in snap["tickets"]}
    assert list(model.counters.values()) == snap["counters"]
    assert [t["id"] for t in model.recent_calls] == [t["id"] for t in snap["recent_calls"]]


# ------------------------------------------------------------------- tests
def test_the_snapshot_loads_into_the_model(qtbot, server):
    kiosk = server.client("kiosk")
    issued = kiosk.post("/tickets", json={"service": "A"}).json()
    client = BranchClient(server.base_url, server.tokens["display"])
    with qtbot.waitSignals([client.snapshotLoaded, client.connectedChanged], timeout=WAIT_MS):
        client.start()
    try:
        assert client.online is True
        assert client.last_sync == "snapshot"
        model = client.model
        assert model.branch["id"] == "test-001"
        assert list(model.services) == ["A", "B", "C"]
        assert sorted(model.counters) == [1, 2, 3]
        assert model.tickets[issued["id"]]["number"] == issued["number"]
        assert model.waiting["A"]["waiting"] == 1
        assert_matches(model, server_snapshot(server))
    finally:
        client.stop()
    assert client.online is False


def test_an_action_comes_back_as_an_event_and_updates_the_model(qtbot, server, make_client):
    kiosk = make_client("kiosk")
    counter = make_client("counter:1")
    seen: list[dict] = []
    kiosk.eventReceived.connect(seen.append)

    with qtbot.waitSignal(kiosk.ticketChanged, timeout=WAIT_MS) as changed:
        reply = kiosk.issue_ticket("A")
    ticket = ok(qtbot, reply)
    assert ticket["number"] == "A001" and ticket["token"]
    assert changed.args[0]["id"] == ticket["id"]
    assert kiosk.model.tickets[ticket["id"]]["state"] == "waiting"
    # The waiting summary follows in the server's next "waits" message.
    qtbot.waitUntil(lambda: kiosk.model.waiting["A"]["waiting"] == 1, timeout=WAIT_MS)
    assert seen[-1]["kind"] == "ticket.issued"

    ok(qtbot, counter.sign_in(1, "t1", PIN))
    qtbot.waitUntil(lambda: kiosk.model.counters[1]["state"] == "open", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: kiosk.model.waiting["A"]["open_counters"] == 1, timeout=WAIT_MS)

    with qtbot.waitSignal(kiosk.called, timeout=WAIT_MS) as call:
        result = ok(qtbot, counter.call_next(1))
    assert result["ticket"]["id"] == ticket["id"]
    assert call.args[0]["kind"] == "ticket.called"
    assert call.args[0]["ticket"]["counter"] == 1
    assert kiosk.model.ticket_at(1)["id"] == ticket["id"]
    assert kiosk.model.recent_calls[0]["id"] == ticket["id"]
    qtbot.waitUntil(lambda: kiosk.model.waiting["A"]["waiting"] == 0, timeout=WAIT_MS)

    with qtbot.waitSignal(kiosk.called, timeout=WAIT_MS) as recall:
        ok(qtbot, counter.recall(1, ticket["id"]))
    assert recall.args[0]["kind"] == "ticket.recalled"
    ok(qtbot, counter.start_serving(1, ticket["id"]))
    done = ok(qtbot, counter.finish(1, ticket["id"]))
    assert done["state"] == "done"
    qtbot.waitUntil(lambda: ticket["id"] not in kiosk.model.tickets, timeout=WAIT_MS)
    assert [e["seq"] for e in seen] == list(range(seen[0]["seq"], seen[-1]["seq"] + 1))
    assert_matches(kiosk.model, server_snapshot(server))


def test_a_retry_with_the_same_key_returns_the_same_ticket(qtbot, server, make_client):
    kiosk = make_client("kiosk")
    reply = kiosk.issue_ticket("B")
    first = ok(qtbot, reply)
    again = kiosk.issue_ticket("B", idempotency_key=reply.idempotency_key)
    assert ok(qtbot, again)["id"] == first["id"]
    other = ok(qtbot, kiosk.issue_ticket("B"))  # a new customer action: a new key
    assert other["id"] != first["id"]
    assert len(server_snapshot(server)["tickets"]) == 2


def test_a_lost_answer_is_retried_with_the_same_key_and_makes_one_ticket(qtbot, server):
    relay = Relay(int(server.base_url.rsplit(":", 1)[1]))
    kiosk = BranchClient(relay.base_url, server.tokens["kiosk"], issue_retries=3)
    kiosk.start()
    try:
        qtbot.waitUntil(lambda: kiosk.online, timeout=WAIT_MS)
        relay.lose_ticket_answers = 1
        reply = kiosk.issue_ticket("A")
        ticket = ok(qtbot, reply)
        assert relay.lost == 1
        assert reply.attempts == 2  # our retry, with the same Idempotency-Key
        tickets = server_snapshot(server)["tickets"]
        assert [t["id"] for t in tickets] == [ticket["id"]]
        qtbot.waitUntil(lambda: ticket["id"] in kiosk.model.tickets, timeout=WAIT_MS)
        assert len(kiosk.model.tickets) == 1
    finally:
        kiosk.stop()


def test_server_errors_become_api_errors_with_the_servers_code(qtbot, server, make_client):
    kiosk = make_client("kiosk")
    unknown = kiosk.issue_ticket("Z")
    _, error = answer(qtbot, unknown)
    assert isinstance(error, ApiError)
    assert (error.status, error.code) == (404, "unknown_service")
    assert unknown.attempts == 1  # a refusal is an answer: never retried

    counter = make_client("counter:1")
    _, error = answer(qtbot, counter.sign_in(1, "t1", "0000"))
    assert (error.status, error.code) == (401, "unauthorized")
    ok(qtbot, counter.sign_in(1, "t1", PIN))
    ok(qtbot, kiosk.issue_ticket("A"))
    ok(qtbot, kiosk.issue_ticket("A"))
    assert ok(qtbot, counter.call_next(1))["ticket"] is not None
    _, error = answer(qtbot, counter.call_next(1))
    assert (error.status, error.code) == (409, "counter_busy")
    _, error = answer(qtbot, kiosk.call_next(1))  # a kiosk may not act for a counter
    assert (error.status, error.code) == (403, "forbidden")


def test_call_next_pressed_twice_with_one_key_calls_one_customer(qtbot, server, make_client):
    kiosk = make_client("kiosk")
    counter = make_client("counter:2")
    ok(qtbot, counter.sign_in(2, "t2", PIN))
    ok(qtbot, kiosk.issue_ticket("A"))
    ok(qtbot, kiosk.issue_ticket("A"))
    first = counter.call_next(2)
    called = ok(qtbot, first)["ticket"]
    again = ok(qtbot, counter.call_next(2, idempotency_key=first.idempotency_key))["ticket"]
    assert again["id"] == called["id"]
    assert server_snapshot(server)["waiting"]["A"]["waiting"] == 1


def test_reads_and_device_reports(qtbot, server, make_client):
    kiosk = make_client("kiosk")
    services = ok(qtbot, kiosk.list_services())
    assert [s["code"] for s in services] == ["A", "B", "C"]
    ticket = ok(qtbot, kiosk.issue_ticket("C"))
    assert ok(qtbot, kiosk.read_ticket(ticket["id"]))["position"] == 0
    assert ok(qtbot, kiosk.fetch_snapshot())["seq"] >= kiosk.model.seq
    with qtbot.waitSignal(kiosk.deviceChanged, timeout=WAIT_MS) as changed:
        ok(qtbot, kiosk.report_device("kiosk-1/printer", "printer", "error", "paper out"))
    assert changed.args[0]["health"] == "error"
    assert kiosk.model.devices["kiosk-1/printer"]["detail"] == "paper out"
    cancelled = ok(qtbot, kiosk.cancel_ticket(ticket["id"]))
    assert cancelled["state"] == "cancelled"
    qtbot.waitUntil(lambda: ticket["id"] not in kiosk.model.tickets, timeout=WAIT_MS)


def test_a_dropped_link_resumes_with_exactly_the_missed_events(qtbot, server, make_client):
    display = make_client("display")
    missed: list[dict] = []
    display.eventReceived.connect(missed.append)
    kiosk = server.client("kiosk")
    display.reconnect()
    # These run while the client is between connections (its reconnect waits for the Qt
    # loop, which this blocking HTTP call holds), so it learns of them only by resuming.
    a = kiosk.post("/tickets", json={"service": "A"}).json()
    b = kiosk.post("/tickets", json={"service": "B"}).json()
    qtbot.waitUntil(lambda: display.online and b["id"] in display.model.tickets, timeout=WAIT_MS)
    assert display.last_sync == "resume"
    assert [e["ticket"]["id"] for e in missed] == [a["id"], b["id"]]
    assert_matches(display.model, server_snapshot(server))


def test_a_revoked_token_is_reported_and_never_online(qtbot, server):
    client = BranchClient(server.base_url, "bq_not-a-real-token")
    client.start()
    try:
        qtbot.waitUntil(lambda: client.stream_error is not None, timeout=WAIT_MS)
        assert "token" in client.stream_error
        assert client.online is False
        _, error = answer(qtbot, client.read_ticket(1))  # reads are tried, and refused
        assert (error.status, error.code) == (401, "unauthorized")
    finally:
        client.stop()


def test_a_silent_link_is_declared_dead_and_reconnected(qtbot, branch_db, clock):
    db, tokens = branch_db
    live = LiveServer(db, tokens, clock, heartbeat_s=0.2).start()
    relay = Relay(int(live.base_url.rsplit(":", 1)[1]))
    client = BranchClient(relay.base_url, tokens["display"], heartbeat_s=0.2)
    try:
        client.start()
        qtbot.waitUntil(lambda: client.online, timeout=WAIT_MS)
        with qtbot.waitSignal(client.connectedChanged, timeout=WAIT_MS) as down:
            relay.freeze()  # TCP stays up; nothing arrives any more
        assert down.args == [False]
        assert "heartbeat" in (client.stream_error or "")
        qtbot.waitUntil(lambda: client.online, timeout=WAIT_MS)  # a new connection works
        assert client.last_sync == "resume"
    finally:
        client.stop()
        live.stop()


def test_offline_refuses_actions_then_reconnects_to_the_restarted_server(qtbot, branch_db, clock):
    db, tokens = branch_db
    first = LiveServer(db, tokens, clock).start()
    client = BranchClient(first.base_url, tokens["counter:1"], timeout_s=2.0)
    second: LiveServer | None = None
    try:
        client.start()
        qtbot.waitUntil(lambda: client.online, timeout=WAIT_MS)
        ok(qtbot, client.sign_in(1, "t1", PIN))
        before = ok(qtbot, client.issue_ticket("A"))
        old_epoch = client.model.epoch

        with qtbot.waitSignal(client.connectedChanged, timeout=WAIT_MS) as down:
            first.stop()
        assert down.args == [False] and client.online is False
        refused = client.call_next(1)
        _, error = answer(qtbot, refused)
        assert (error.status, error.code) == (0, "offline")
        assert refused.attempts == 0  # refused before anything went on the wire
        _, error = answer(qtbot, client.issue_ticket("A"))
        assert error.code == "offline"

        second = LiveServer(db, tokens, clock, port=first.port).start()
        while_away = second.client("kiosk").post("/tickets", json={"service": "B"}).json()
        with qtbot.waitSignal(client.snapshotLoaded, timeout=WAIT_MS):
            pass
        assert client.online and client.last_sync == "snapshot"
        assert client.model.epoch != old_epoch
        assert {before["id"], while_away["id"]} <= set(client.model.tickets)
        assert_matches(client.model, server_snapshot(second))

        with qtbot.waitSignal(client.called, timeout=WAIT_MS) as call:
            ok(qtbot, client.call_next(1))
        assert call.args[0]["ticket"]["id"] == before["id"]
    finally:
        client.stop()
        if second is not None:
            second.stop()
        first.stop()


def test_the_websocket_speaks_the_parts_of_the_protocol_a_server_may_use(qtbot):
    # A reference server (the websockets library) sends a message over 64 KiB, a
    # fragmented one and a ping, then closes with a code: what uvicorn may send us too.
    seen: dict[str, Any] = {}
    big = "队列" * 60_000

    def handler(ws: ServerConnection) -> None:
        seen["auth"] = ws.request.headers.get("Authorization") if ws.request else None
        ws.send(big)
        ws.send(["frag", "mented"])
        seen["pong"] = ws.ping(b"are you there").wait(5)
        ws.send("after ping")
        ws.close(4401, "bye")  # returns once our client echoed the close
        seen["closed"] = True

    with serve(handler, "127.0.0.1", 0, compression=None, ping_interval=None) as ref:
        thread = threading.Thread(target=ref.serve_forever, daemon=True)
        thread.start()
        port = ref.socket.getsockname()[1]
        sock = EventSocket()
        texts: list[str] = []
        sock.textReceived.connect(texts.append)
        with qtbot.waitSignal(sock.closed, timeout=WAIT_MS) as closed:
            sock.open(QUrl(f"ws://127.0.0.1:{port}/x?a=1"), {"Authorization": "Bearer t"})
        qtbot.waitUntil(lambda: "closed" in seen, timeout=WAIT_MS)
        ref.shutdown()
    assert texts == [big, "fragmented", "after ping"]
    assert seen == {"auth": "Bearer t", "pong": True, "closed": True}
    assert sock.close_code == 4401 and "bye" in closed.args[0]


def test_the_models_waiting_summary_is_the_servers_between_snapshots(qtbot, server, make_client):
    counter = make_client("counter:1")
    ok(qtbot, counter.sign_in(1, "t1", PIN))
    kiosk = make_client("kiosk")
    for _ in range(3):
        ok(qtbot, kiosk.issue_ticket("A"))
    with qtbot.waitSignal(kiosk.waitsChanged, timeout=WAIT_MS):
        ok(qtbot, counter.call_next(1))
    server.settled_prediction()  # the predictor's answer for this state, pushed when made
    snap = server_snapshot(server)
    a = snap["waiting"]["A"]
    # The waits message for the last event may follow an earlier one, and the one with the
    # new prediction may follow a first one for the same seq: wait for the snapshot's.
    qtbot.waitUntil(
        lambda: kiosk.model.waits_after_seq == snap["seq"] and kiosk.model.waiting["A"] == a,
        timeout=WAIT_MS,
    )
    mine = kiosk.model.waiting["A"]
    assert kiosk.model.seq == snap["seq"]  # a waits message never moves the resume position
    assert mine == a  # count, longest wait, open counters and predicted wait, as sent
    assert (a["waiting"], a["open_counters"]) == (2, 1)
    assert a["eta_low_s"] <= a["eta_new_s"] <= a["eta_high_s"]
    assert a["eta_new_s"] != a["waiting"] * 4 * 60 / a["open_counters"]  # not the naive one


def test_the_model_shows_the_servers_summary_as_sent_and_recounts_nothing():
    model = BranchModel()
    sent_a = {
        "waiting": 0,
        "longest_wait_s": 0,
        "open_counters": 1,
        "eta_new_s": 100.0,
        "eta_low_s": 50.0,
        "eta_high_s": 200.0,
    }
    snapshot = {
        "epoch": "e1",
        "seq": 5,
        "at": "2026-11-27T02:00:00+00:00",
        "services": [{"code": "A", "mean_service_s": 240}, {"code": "B", "mean_service_s": 360}],
        "counters": [
            {"number": 1, "state": "open", "skills": [{"service": "A"}, {"service": "B"}]}
        ],
        "tickets": [],
        "waiting": {"A": sent_a},
    }
    model.load_snapshot(snapshot)
    assert model.waiting == {"A": sent_a}
    # Events change tickets and counters, never the figures: those are the server's.
    ticket = {"id": 1, "service": "A", "state": "waiting", "arrived_at": snapshot["at"]}
    assert model.apply({"seq": 6, "kind": "ticket.issued", "ticket": ticket})
    closed = {"number": 1, "state": "closed", "skills": [{"service": "A"}]}
    assert model.apply({"seq": 7, "kind": "counter.signed_out", "counter": closed})
    assert model.waiting == {"A": sent_a}  # no recount, no naive wait for B
    assert model.tickets[1] == ticket and model.counters[1] == closed
    closed_now = {"open_counters": 0, "eta_new_s": None, "eta_low_s": None, "eta_high_s": None}
    waits = {"A": {**sent_a, **closed_now, "waiting": 1}, "B": {**sent_a, **closed_now}}
    assert not model.apply_waits({"type": "waits", "epoch": "old", "waits": waits})
    assert model.waiting == {"A": sent_a}
    assert model.apply_waits({"type": "waits", "epoch": "e1", "after_seq": 7, "waits": waits})
    assert model.waiting == waits and model.seq == 7 and model.waits_after_seq == 7
