"""The live event stream, /api/v1/events, through a real server and real WebSockets.

A client gets a snapshot (or a resume marker) and then every durable event in sequence
order; these tests drive the branch over HTTP and read what the stream says about it.
Nothing sleeps: every wait is a blocking receive or HTTP call with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FakeClock, LiveServer, sign_in
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

WAIT_S = 5.0  # the longest any single expected message may take on loopback

# ----------------------------------------------------------------- helpers


@pytest.fixture
def live(branch_db: tuple[Path, dict[str, str]], clock: FakeClock) -> Iterator[LiveServer]:
    """A real server with a short heartbeat.

    The short heartbeat makes every test read heartbeats interleaved with events, which the
    readers below must skip.
    """
    db, tokens = branch_db
    server = LiveServer(db, tokens, clock, heartbeat_s=0.25).start()
    try:
        yield server
    finally:
        server.stop()


def ws_open(
    server: LiveServer,
    *,
    since: int | None = None,
    epoch: str | None = None,
    role: str = "display",
    token: str | None = None,
    header: bool = False,
) -> ClientConnection:
    """Open the event stream; the token goes in ?token= or in an Authorization header."""
    token = server.tokens[role] if token is None else token
    params = [] if since is None else [f"since={since}"]
    if since is not None and epoch is None:
        epoch = server.engine.epoch  # the epoch a client keeps from its last snapshot
    if epoch is not None:
        params.append(f"epoch={epoch}")
    headers = {"Authorization": f"Bearer {token}"} if header else None
    if not header:
        params.append(f"token={token}")
    url = server.ws_url + ("?" + "&".join(params) if params else "")
    return connect(url, open_timeout=WAIT_S, close_timeout=2, additional_headers=headers)


def recv_json(ws: ClientConnection, timeout: float = WAIT_S) -> dict[str, Any]:
    try:
        message = ws.recv(timeout=timeout)
    except TimeoutError:
        raise AssertionError(f"no message from the event stream within {timeout} s") from None
    assert isinstance(message, str), f"expected a text frame, got {message!r}"
    decoded: dict[str, Any] = json.loads(message)
    return decoded


def first_message(ws: ClientConnection) -> dict[str, Any]:
    """The opening message: a snapshot or a resume marker (never an event or heartbeat)."""
    msg = recv_json(ws)
    assert msg["type"] in ("snapshot", "resume"), msg
    return msg


def read_events(
    ws: ClientConnection, after: int, upto: int, timeout: float = WAIT_S
) -> list[dict[str, Any]]:
    """Every event message's events until one reaches seq `upto`; heartbeats and waits
    messages are skipped.

    Fails at the deadline, naming what did arrive; never reads past the message that
    completes the range, so a caller can go on reading the same socket.
    """
    deadline = time.monotonic() + timeout
    out: list[dict[str, Any]] = []
    last = after
    while last < upto:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(
                f"stream stopped at seq {last}, expected up to {upto}; "
                f"got {[e['seq'] for e in out]}"
            )
        msg = recv_json(ws, remaining)
        if msg["type"] in ("heartbeat", "waits"):
            continue  # waits: the newest per-business waits, not an event (no seq)
        assert msg["type"] == "events", f"unexpected message while reading events: {msg}"
        assert msg["events"], "an events message with no events"
        out.extend(msg["events"])
        last = out[-1]["seq"]
    return out


def assert_contiguous(events: list[dict[str, Any]], after: int, upto: int) -> None:
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(after + 1, upto + 1)), (
        f"expected seqs {after + 1}..{upto} once each in order, got {seqs}"
    )


def _resumed(message: dict[str, Any]) -> int:
    """The `since` of a resume message (which also names the server's epoch)."""
    assert message["type"] == "resume", message
    assert message["epoch"]
    return int(message["since"])


def head_seq(server: LiveServer) -> int:
    r = httpx.get(server.base_url + "/api/v1/health", timeout=5)
    assert r.status_code == 200, r.text
    seq: int = r.json()["seq"]
    return seq


def issue(kiosk: httpx.Client, service: str = "A") -> dict[str, Any]:
    r = kiosk.post("/tickets", json={"service": service})
    assert r.status_code == 201, r.text
    ticket: dict[str, Any] = r.json()
    return ticket


def logged_events(db: Path, after: int) -> list[dict[str, Any]]:
    """The server's own durable event log after `after`, read straight from SQLite."""
    conn = sqlite3.connect(db, timeout=5)
    try:
        rows = conn.execute("SELECT body FROM events WHERE seq > ? ORDER BY seq", (after,))
        return [json.loads(body) for (body,) in rows]
    finally:
        conn.close()


# ------------------------------------------------------------------- tests


def test_snapshot_then_every_event_in_order(live: LiveServer) -> None:
    kiosk = live.client("kiosk")
    with ws_open(live) as ws:
        snap = first_message(ws)
        assert snap["type"] == "snapshot"
        for key in ("seq", "services", "counters", "tickets", "business_day", "waiting"):
            assert key in snap, f"snapshot lacks {key!r}"
        start = snap["seq"]
        assert start == head_seq(live)
        assert [s["code"] for s in snap["services"]] == ["A", "B", "C"]
        assert [c["number"] for c in snap["counters"]] == [1, 2, 3]
        assert snap["tickets"] == []

        # (kind, ticket id or None, counter number or None, ticket state or None)
        expected: list[tuple[str, int | None, int | None, str | None]] = []
        c1 = sign_in(live, 1)
        expected.append(("counter.signed_in", None, 1, None))
        issued = [issue(kiosk, s) for s in ("A", "B", "A")]
        expected += [("ticket.issued", t["id"], None, "waiting") for t in issued]
        r = c1.post("/counters/1/call-next")
        assert r.status_code == 200, r.text
        called = r.json()["ticket"]
        assert called is not None
        expected.append(("ticket.called", called["id"], 1, "called"))
        assert c1.post("/counters/1/start").status_code == 200
        expected.append(("ticket.serving", called["id"], 1, "serving"))
        assert c1.post("/counters/1/finish").status_code == 200
        expected.append(("ticket.done", called["id"], 1, "done"))
        gone = next(t for t in issued if t["id"] != called["id"])
        r = kiosk.post(f"/tickets/{gone['id']}/cancel")
        assert r.status_code == 200, r.text
        expected.append(("ticket.cancelled", gone["id"], None, "cancelled"))
        r = c1.post("/counters/1/pause", json={"reason": "lunch"})
        assert r.status_code == 200, r.text
        expected.append(("counter.paused", None, 1, None))

        head = head_seq(live)
        events = read_events(ws, start, head)
        assert_contiguous(events, start, head)
        # The manager's alerts (a queue about to miss its target…) come and go in between.
        events = [e for e in events if not e["kind"].startswith("alert.")]
        assert len(events) == len(expected)
        for ev, (kind, tid, counter, state) in zip(events, expected, strict=True):
            assert ev["kind"] == kind, ev
            if tid is None:
                assert "ticket" not in ev, ev
            else:
                assert ev["ticket"]["id"] == tid and ev["ticket"]["state"] == state, ev
            if counter is not None:
                assert ev["counter"]["number"] == counter, ev
        assert events[0]["counter"]["staff_id"] == "t1"
        assert events[-1]["counter"]["state"] == "paused"
        assert events[-1]["data"] == {"reason": "lunch"}
        # What the stream said is what the server logged, event for event (alerts aside:
        # the predicted wait of a newcomer to B, ~11 min, is over B's 10-min target).
        logged = [e for e in logged_events(live.db, start) if not e["kind"].startswith("alert.")]
        assert events == logged

    # A newcomer's snapshot is the state those events lead to, at the same seq.
    with ws_open(live, role="manager") as ws:
        snap = first_message(ws)
        assert snap["type"] == "snapshot" and snap["seq"] == head
        still_open = [t for t in issued if t["id"] not in (called["id"], gone["id"])]
        assert [t["id"] for t in snap["tickets"]] == [t["id"] for t in still_open]
        assert {c["number"]: c["state"] for c in snap["counters"]}[1] == "paused"


def test_resume_delivers_exactly_the_missed_events(live: LiveServer) -> None:
    kiosk = live.client("kiosk")
    c1, c2 = sign_in(live, 1), sign_in(live, 2)
    with ws_open(live) as ws:
        start = first_message(ws)["seq"]
        for _ in range(5):
            issue(kiosk)
        # Read only part of what happened, as a client that drops mid-stream would.
        seen = read_events(ws, start, start + 2)
        last = seen[-1]["seq"]
        assert_contiguous(seen, start, last)

    # While the client is away: 30 tickets, and both counters calling and serving.
    services = "ABAABBAAAB"
    for i in range(30):
        issue(kiosk, services[i % len(services)])
    for counter, client in ((1, c1), (2, c2), (1, c1), (2, c2)):
        r = client.post(f"/counters/{counter}/call-next")
        assert r.status_code == 200 and r.json()["ticket"] is not None, r.text
        assert client.post(f"/counters/{counter}/start").status_code == 200
        assert client.post(f"/counters/{counter}/finish").status_code == 200
    head = head_seq(live)
    assert head - last >= 30 + 12

    with ws_open(live, since=last) as ws:
        assert _resumed(first_message(ws)) == last
        missed = read_events(ws, last, head)
        assert_contiguous(missed, last, head)
        assert missed == logged_events(live.db, last)
        # Nothing stale or duplicated follows: the next thing is the next action.
        issue(kiosk, "C")
        (nxt,) = read_events(ws, head, head + 1)
        assert nxt["seq"] == head + 1 and nxt["kind"] == "ticket.issued"

    # Resuming exactly at the head: a resume with nothing to replay, then live events.
    head += 1
    with ws_open(live, since=head) as ws:
        assert _resumed(first_message(ws)) == head
        ticket = issue(kiosk, "B")
        (ev,) = read_events(ws, head, head + 1)
        assert ev["seq"] == head + 1 and ev["ticket"]["id"] == ticket["id"]


def test_since_outside_the_history_gets_a_fresh_snapshot(live: LiveServer) -> None:
    # Only the size of the hub's in-memory resume buffer changes (10,000 by default, too
    # many to outrun in a test); which events it keeps and how `since` is judged are the
    # server's own code.
    hub = live.engine.hub
    hub._history = deque(hub._history, maxlen=5)
    kiosk = live.client("kiosk")
    for _ in range(10):
        issue(kiosk)
    head = head_seq(live)

    # Each `since` is judged against the head at the moment of connecting.
    for label, since_of in (
        ("zero", lambda h: 0),
        ("the first event", lambda h: 1),
        ("ten back", lambda h: h - 10),
        ("one past the kept five", lambda h: h - 6),
        ("just ahead of the head", lambda h: h + 1),
        ("far ahead of the head", lambda h: h + 1000),
    ):
        since = since_of(head)
        with ws_open(live, since=since) as ws:
            msg = first_message(ws)
            assert msg["type"] == "snapshot", f"since={since} ({label}, head {head}): {msg}"
            assert msg["seq"] == head
            assert len(msg["tickets"]) == 10
            # The snapshot is followed by live events, as after a first connect.
            ticket = issue(kiosk, "B")
            (ev,) = read_events(ws, head, head + 1)
            assert ev["ticket"]["id"] == ticket["id"]
            kiosk.post(f"/tickets/{ticket['id']}/cancel").raise_for_status()
            (ev,) = read_events(ws, head + 1, head + 2)
            assert ev["kind"] == "ticket.cancelled"
            head += 2
            assert head_seq(live) == head

    # The oldest `since` the five kept events still cover resumes instead.
    with ws_open(live, since=head - 5) as ws:
        assert _resumed(first_message(ws)) == head - 5
        assert_contiguous(read_events(ws, head - 5, head), head - 5, head)


def _outcome(server: LiveServer, **kwargs: Any) -> tuple[object, dict[str, Any] | None]:
    """How the server treats a connection: its close code, an HTTP refusal, or 'open'."""
    try:
        with ws_open(server, **kwargs) as ws:
            msg = recv_json(ws)
            ws.recv(timeout=WAIT_S)  # a refused client must be closed, not left open
            return "open", msg
    except ConnectionClosed as exc:
        return (exc.rcvd.code if exc.rcvd else None), None
    except InvalidStatus as exc:
        return f"HTTP {exc.response.status_code}", None


BAD_TOKENS = [
    pytest.param({"token": "bq_not-a-real-token"}, id="query"),
    pytest.param({"token": "bq_not-a-real-token", "header": True}, id="header"),
    pytest.param({"token": "", "header": True}, id="missing"),
]


@pytest.mark.parametrize("kwargs", BAD_TOKENS)
def test_bad_token_gets_no_data(live: LiveServer, kwargs: dict[str, Any]) -> None:
    outcome, message = _outcome(live, **kwargs)
    assert outcome != "open" and message is None, (outcome, message)


@pytest.mark.parametrize("kwargs", BAD_TOKENS)
def test_bad_token_is_closed_with_4401(live: LiveServer, kwargs: dict[str, Any]) -> None:
    outcome, _ = _outcome(live, **kwargs)
    assert outcome == 4401


@pytest.mark.parametrize("header", [False, True], ids=["query", "header"])
def test_good_token_in_query_or_header(live: LiveServer, header: bool) -> None:
    with ws_open(live, role="counter:2", header=header) as ws:
        assert first_message(ws)["type"] == "snapshot"


def test_heartbeat_on_a_silent_connection(live: LiveServer) -> None:
    assert live.heartbeat_s <= 0.25
    with ws_open(live) as ws:
        snap = first_message(ws)
        beat = recv_json(ws, timeout=1.0)
        assert beat["type"] == "heartbeat" and beat["seq"] == snap["seq"], beat
        assert "at" in beat
        issue(live.client("kiosk"))
        read_events(ws, snap["seq"], snap["seq"] + 1)
        waits = recv_json(ws, timeout=1.0)  # one more waiting: the summary moved
        assert waits["type"] == "waits" and waits["after_seq"] == snap["seq"] + 1, waits
        beat = recv_json(ws, timeout=1.0)
        assert beat["type"] == "heartbeat" and beat["seq"] == snap["seq"] + 1, beat


def test_two_subscribers_see_the_same_events_in_the_same_order(live: LiveServer) -> None:
    with ws_open(live) as a, ws_open(live, role="manager", header=True) as b:
        start_a, start_b = first_message(a)["seq"], first_message(b)["seq"]
        assert start_a == start_b
        clients = [live.client("kiosk") for _ in range(4)]
        c1 = sign_in(live, 1)
        errors: list[BaseException] = []

        def issue_many(client: httpx.Client, service: str) -> None:
            try:
                for _ in range(10):
                    issue(client, service)
            except BaseException as exc:  # surfaced in the main thread below
                errors.append(exc)

        threads = [
            threading.Thread(target=issue_many, args=(c, "AB"[i % 2]))
            for i, c in enumerate(clients)
        ]
        for t in threads:
            t.start()
        for _ in range(3):  # a counter working while the kiosks issue
            r = c1.post("/counters/1/call-next")
            assert r.status_code == 200, r.text
            if r.json()["ticket"] is not None:
                assert c1.post("/counters/1/start").status_code == 200
                assert c1.post("/counters/1/finish").status_code == 200
        for t in threads:
            t.join(timeout=WAIT_S)
            assert not t.is_alive(), "an issuing thread did not finish"
        assert not errors, errors
        head = head_seq(live)
        seen_a = read_events(a, start_a, head)
        seen_b = read_events(b, start_b, head)
        assert_contiguous(seen_a, start_a, head)
        assert seen_a == seen_b
        assert sum(e["kind"] == "ticket.issued" for e in seen_a) == 40


def test_a_closed_client_is_unsubscribed_promptly(server: LiveServer) -> None:
    assert server.heartbeat_s == 2.0
    anon = server.client(None)
    with ws_open(server) as ws:
        first_message(ws)
        assert anon.get("/health").json()["subscribers"] == 1
    # Each health request is itself the (blocking, time-limited) wait between polls.
    deadline = time.monotonic() + 1.0
    while anon.get("/health").json()["subscribers"] != 0:
        assert time.monotonic() < deadline, "still subscribed 1 s after the client closed"


def test_a_since_from_before_a_restart_gets_a_fresh_snapshot(
    branch_db: tuple[Path, dict[str, str]], clock: FakeClock
) -> None:
    """Sequence numbers held only in memory may be reused after a crash or a reload, so a
    client's `since` is only trusted together with the epoch of the server that gave it."""
    db, tokens = branch_db
    first = LiveServer(db, tokens, clock, heartbeat_s=0.25).start()
    try:
        issue(first.client("kiosk"))
        with ws_open(first) as ws:
            snap = first_message(ws)
        old_epoch, seq = snap["epoch"], snap["seq"]
    finally:
        first.stop()
    second = LiveServer(db, tokens, clock, heartbeat_s=0.25).start()
    try:
        issue(second.client("kiosk"))
        with ws_open(second, since=seq, epoch=old_epoch) as ws:
            fresh = first_message(ws)
        assert fresh["type"] == "snapshot" and fresh["epoch"] != old_epoch
        assert fresh["seq"] == seq + 1
        with ws_open(second, since=seq, epoch=fresh["epoch"]) as ws:
            assert _resumed(first_message(ws)) == seq
            events = read_events(ws, after=seq, upto=seq + 1)
        assert [e["seq"] for e in events] == [seq + 1]
    finally:
        second.stop()


# ------------------------------------------------------- per-business waits (not events)


def next_waits(ws: ClientConnection, timeout: float = WAIT_S) -> dict[str, Any]:
    """The next waits message; heartbeats skipped, an event in between is a failure."""
    deadline = time.monotonic() + timeout
    while True:
        msg = recv_json(ws, max(0.01, deadline - time.monotonic()))
        if msg["type"] == "heartbeat":
            continue
        assert msg["type"] == "waits", f"expected a waits message, got {msg}"
        return msg


def test_the_waiting_summary_follows_the_events_as_a_message_without_a_seq(
    live: LiveServer,
) -> None:
    sign_in(live, 1)
    kiosk = live.client("kiosk")
    with ws_open(live) as ws:
        snap = first_message(ws)
        start = snap["seq"]
        for _ in range(3):
            issue(kiosk, "A")
        head = head_seq(live)
        assert_contiguous(read_events(ws, start, head), start, head)
        live.settled_prediction()  # the worker's prediction for `head` goes out when made
        now = live.client("display").get("/snapshot").json()
        assert now["seq"] == head
        waits = next_waits(ws)  # the newest when it was sent; newer ones follow
        while waits["after_seq"] < head or waits["waits"] != now["waiting"]:
            waits = next_waits(ws)
    assert "seq" not in waits and waits["after_seq"] == head and waits["epoch"] == snap["epoch"]
    # The whole summary, as the snapshot says it: clients show it and recount nothing.
    assert waits["waits"] == now["waiting"]
    a = waits["waits"]["A"]
    assert (a["waiting"], a["open_counters"]) == (3, 1)
    assert 0 < a["eta_low_s"] <= a["eta_new_s"] <= a["eta_high_s"]
    assert waits["waits"]["C"]["eta_new_s"] is None  # no open counter serves C


def test_a_resumed_client_gets_exactly_the_missed_events_then_the_newest_waits(
    live: LiveServer,
) -> None:
    sign_in(live, 1)
    kiosk = live.client("kiosk")
    with ws_open(live) as ws:
        since = first_message(ws)["seq"]
    for _ in range(4):
        issue(kiosk, "A")
    head = head_seq(live)
    with ws_open(live, since=since) as ws:
        assert _resumed(first_message(ws)) == since
        events = read_events(ws, since, head)
        assert_contiguous(events, since, head)
        waits = next_waits(ws)  # the newest the hub holds; one for `head` follows if older
        while waits["after_seq"] < head:
            waits = next_waits(ws)
    assert waits["after_seq"] == head
    # The waits message is in no history: resuming after it still gives every event.
    with ws_open(live, since=since) as ws:
        assert _resumed(first_message(ws)) == since
        assert_contiguous(read_events(ws, since, head), since, head)


def test_the_hub_sends_events_first_and_holds_only_the_newest_waits() -> None:
    from queue_server.hub import NOT_AN_EVENT, EventHub

    async def scenario() -> None:
        hub = EventHub(0)
        sub = hub.subscribe_after_snapshot(0)
        hub.publish([(1, '{"seq":1}')])
        hub.publish_waits('{"type":"waits","n":1}')
        hub.publish([(2, '{"seq":2}')])
        hub.publish_waits('{"type":"waits","n":2}')  # replaces n=1: only the newest counts
        assert sub.take() == [(1, '{"seq":1}'), (2, '{"seq":2}')]
        assert sub.wake.is_set()  # the waits message is still to go
        batch = sub.take()
        assert batch == [(NOT_AN_EVENT, '{"type":"waits","n":2}')]
        assert hub.frame(batch) == '{"type":"waits","n":2}'
        assert sub.take() == [] and not sub.wake.is_set()
        assert sub.after == 2 and hub.last_seq == 2 and hub.can_resume(1)
        resumed = hub.subscribe_from(1)
        assert resumed.take() == [(2, '{"seq":2}')]
        assert resumed.take() == [(NOT_AN_EVENT, '{"type":"waits","n":2}')]
        hub.resync_all(2)
        assert sub.take() == [] and sub.needs_snapshot

    asyncio.run(scenario())


def test_the_resume_history_is_capped_by_bytes_too() -> None:
    from queue_server.hub import EventHub

    hub = EventHub(0, history=1000, history_bytes=1000)
    hub.publish([(seq, "x" * 100) for seq in range(1, 31)])  # 3,000 bytes of events
    assert not hub.can_resume(0)  # the oldest ones went
    assert hub.can_resume(20) and not hub.can_resume(19)  # the last 10 (1,000 bytes) stay
    sub = hub.subscribe_from(25)
    assert [seq for seq, _ in sub.take()] == [26, 27, 28, 29, 30]


# ------------------------------------------------------------- the teller's name


def _counter(message: dict[str, Any], number: int) -> dict[str, Any]:
    return next(c for c in message["counters"] if c["number"] == number)


def _fresh_snapshot(server: LiveServer) -> dict[str, Any]:
    with ws_open(server) as ws:
        return first_message(ws)


def _counter_events(ws: ClientConnection, server: LiveServer, after: int) -> list[dict[str, Any]]:
    events = read_events(ws, after, head_seq(server))
    return [e for e in events if not e["kind"].startswith("alert.")]


def test_the_counter_carries_the_signed_in_tellers_name_until_sign_out(
    branch_db: tuple[Path, dict[str, str]], clock: FakeClock
) -> None:
    """The counter app greets the teller by name ("柜员 王丽"), and the counter device may
    not read the staff list: the name comes with the counter, in events and snapshots,
    and survives a restart as the staff id does."""
    db, tokens = branch_db
    first = LiveServer(db, tokens, clock, heartbeat_s=0.25).start()
    try:
        with ws_open(first) as ws:
            start = first_message(ws)["seq"]
            assert _counter(_fresh_snapshot(first), 1)["staff_name"] == ""
            teller = sign_in(first, 1)
            (signed_in,) = _counter_events(ws, first, start)
        assert signed_in["kind"] == "counter.signed_in"
        assert signed_in["counter"]["staff_name"] == "Teller 1"
        assert teller.get("/counters/1").json()["staff_name"] == "Teller 1"
    finally:
        first.stop()
    second = LiveServer(db, tokens, clock, heartbeat_s=0.25).start()
    try:
        with ws_open(second) as ws:
            snap = first_message(ws)
            assert _counter(snap, 1)["staff_name"] == "Teller 1"
            assert _counter(snap, 2)["staff_name"] == ""
            teller = second.client("counter:1")
            assert teller.post("/counters/1/sign-out").status_code == 200
            (signed_out,) = _counter_events(ws, second, snap["seq"])
        assert signed_out["kind"] == "counter.signed_out"
        assert signed_out["counter"]["staff_name"] == ""
        assert signed_out["counter"]["staff_id"] is None
        assert _counter(_fresh_snapshot(second), 1)["staff_name"] == ""
    finally:
        second.stop()
