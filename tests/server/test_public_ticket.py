"""The customer's own ticket over the public API: the token opens that ticket and no more."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import visit_helpers as vh
from conftest import sign_in
from visit_helpers import ELDER, eform_of, identity
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from queue_server.domain import Branch, BranchSettings, Counter, CounterState, Service, Skill
from queue_server.domain.branch import LATE_MAX_TIMES
from queue_server.domain.errors import InvalidInput, InvalidState
from queue_server.domain.model import TicketState
from queue_server.domain.reports import BusinessInfo, LegRecord, ReportScope, branch_report

visit_template, visit_db, visit_server = vh.visit_template, vh.visit_db, vh.visit_server
WAIT_S = 10
VIEW_KEYS = {
    "number", "service", "service_names", "state", "position", "eta_s", "eta_low_s",
    "eta_high_s", "counter", "counter_name", "counter_location", "recall_count", "called_at",
    "held_until", "appointment_slot_start", "appointment_slot_end",
    "late_left", "late_max_minutes", "can_cancel", "rated", "rating", "can_rate",
    "guidance", "branch", "timezone", "at",
    "wait_min", "wait_low_min", "wait_high_min", "wait_capped",
}  # fmt: skip


def public(server) -> httpx.Client:
    return httpx.Client(base_url=server.base_url + "/api/v1/public/tickets", timeout=10)


def issue(server, service: str = "A", **body) -> dict:
    r = server.client("kiosk").post("/tickets", json={"service": service, **body})
    assert r.status_code == 201, r.text
    return r.json()


def serve(server, counter: int = 1) -> dict:
    teller = sign_in(server, counter)
    called = teller.post(f"/counters/{counter}/call-next").json()["ticket"]
    assert teller.post(f"/counters/{counter}/start").status_code == 200
    assert teller.post(f"/counters/{counter}/finish").status_code == 200
    return called


def ws_url(server, token: str) -> str:
    return "ws" + server.base_url[4:] + f"/api/v1/public/tickets/{token}/events"


def next_view(ws, until=lambda v: True) -> dict:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        msg = json.loads(ws.recv(timeout=WAIT_S))
        if msg["type"] == "ticket" and until(msg["ticket"]):
            return msg["ticket"]
    raise AssertionError("no such view came")


# ------------------------------------------------------------------ reading
def test_the_token_opens_its_own_ticket_only(server):
    first, second = issue(server), issue(server, "B")
    p = public(server)
    for t in (first, second):
        r = p.get(f"/{t['token']}")
        assert r.status_code == 200, r.text
        view = r.json()
        assert set(view) == VIEW_KEYS
        assert (view["number"], view["service"], view["state"]) == (
            t["number"],
            t["service"],
            "waiting",
        )
    assert p.get(f"/{first['token']}").json()["position"] == 0
    unknown = p.get("/" + "A" * 22)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    # Other tickets' ids or numbers are no way in.
    for bad in (str(first["id"]), first["number"], first["token"][:-1] + "_", "x" * 65):
        assert p.get(f"/{bad}").status_code in (404, 422)


def test_the_page_and_its_files_are_served(server):
    t = issue(server)
    web = httpx.Client(base_url=server.base_url, timeout=10)
    page = web.get(f"/t/{t['token']}")
    assert page.status_code == 200 and "ticket.js" in page.text
    assert web.get("/ticket/ticket.js").status_code == 200
    assert web.get("/ticket/ticket.css").headers["content-type"].startswith("text/css")
    texts = web.get("/ticket/text.json").json()
    assert set(texts["zh"]) == set(texts["en"]) and "phone.go_to" in texts["zh"]
    assert web.get("/ticket/secret.py").status_code == 404


def test_no_personal_data_in_any_answer_or_message(visit_server, clock):
    server = visit_server
    kiosk = server.client("kiosk")
    r = kiosk.post(
        "/tickets",
        json={"service": "C", "identity": identity(ELDER), "eform": eform_of(ELDER)},
    )
    assert r.status_code == 201, r.text
    ticket = r.json()
    ref = kiosk.post("/customers/identify", json=identity(ELDER)).json()["customer_ref"]
    assert server.engine.find_ticket(ticket["id"]).customer_ref == ref  # planted
    p = public(server)
    token = ticket["token"]
    seen: list[str] = []
    with connect(ws_url(server, token), open_timeout=5) as ws:
        seen.append(json.dumps(next_view(ws)))
        seen.append(p.get(f"/{token}").text)
        seen.append(p.post(f"/{token}/late", json={"minutes": 5}).text)
        seen.append(json.dumps(next_view(ws, lambda v: v["held_until"] is not None)))
        clock.advance(minutes=6)
        teller = sign_in(server, 3)
        teller.post("/counters/3/call", json={"ticket_id": ticket["id"]})
        seen.append(json.dumps(next_view(ws, lambda v: v["state"] == "called")))
        teller.post("/counters/3/start")
        teller.post(
            "/counters/3/transfer", json={"to_service": "K", "note": "客户欧阳娜娜要补办银行卡"}
        )
        seen.append(json.dumps(next_view(ws, lambda v: v["service"] == "K")))
        seen.append(ws.recv(timeout=WAIT_S))  # a heartbeat or another view
    seen.append(p.get(f"/{token}").text)
    text = "\n".join(seen)
    for secret in (ELDER["id"], ELDER["name"], ELDER["birth"], vh.ADDRESS, ref, "欧阳", "补办"):
        assert secret not in text
    for key in ("customer_ref", "staff_id", "note", "id_number", "token", "idempotency_key"):
        assert f'"{key}"' not in text
    view = json.loads(seen[-1])
    assert set(view) == VIEW_KEYS and view["state"] == "waiting"  # the transfer's new leg


# ------------------------------------------------------------------ live
def test_the_event_stream_follows_the_ticket_to_its_call(server):
    ahead, mine = issue(server), issue(server)
    with connect(ws_url(server, mine["token"]), open_timeout=5) as ws:
        first = next_view(ws)
        assert (first["state"], first["position"]) == ("waiting", 1)
        teller = sign_in(server, 1)
        teller.post("/counters/1/call-next")  # calls `ahead`
        assert next_view(ws, lambda v: v["position"] == 0)["state"] == "waiting"
        teller.post("/counters/1/no-show")
        teller.post("/counters/1/call-next")
        called = next_view(ws, lambda v: v["state"] == "called")
        assert (called["counter"], called["counter_name"]) == (1, "1号窗口")
        teller.post("/counters/1/recall")
        assert next_view(ws, lambda v: v["recall_count"] == 1)["state"] == "called"
        beat = json.loads(ws.recv(timeout=WAIT_S))  # nothing changes: heartbeats follow
        assert beat["type"] == "heartbeat"
    assert ahead["number"] != mine["number"]


def test_the_event_stream_refuses_unknown_tokens(server):
    with (
        connect(ws_url(server, "B" * 22), open_timeout=5) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=WAIT_S)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404


# ------------------------------------------------------------------ actions
def test_cancel_a_waiting_ticket(server):
    t = issue(server)
    p = public(server)
    r = p.post(f"/{t['token']}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    again = p.post(f"/{t['token']}/cancel")
    assert again.status_code == 409
    assert p.get(f"/{t['token']}").json()["can_cancel"] is False


def test_running_late_holds_the_ticket_and_keeps_its_place(server, clock):
    late, other = issue(server), issue(server)
    p = public(server)
    r = p.post(f"/{late['token']}/late", json={"minutes": 10})
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["held_until"] == (clock.now + timedelta(minutes=10)).isoformat()
    assert view["late_left"] == LATE_MAX_TIMES - 1
    assert view["eta_s"] is None or view["eta_s"] >= 600  # never before the time asked for
    teller = sign_in(server, 1)
    assert teller.post("/counters/1/call-next").json()["ticket"]["number"] == other["number"]
    teller.post("/counters/1/start")
    teller.post("/counters/1/finish")
    assert teller.post("/counters/1/call-next").json()["ticket"] is None  # still held
    clock.advance(minutes=10)
    assert teller.post("/counters/1/call-next").json()["ticket"]["number"] == late["number"]
    assert p.post(f"/{late['token']}/late", json={"minutes": 5}).status_code == 409  # called


def test_running_late_at_most_twice(server):
    t = issue(server)
    p = public(server)
    for _ in range(LATE_MAX_TIMES):
        assert p.post(f"/{t['token']}/late", json={"minutes": 5}).status_code == 200
    r = p.post(f"/{t['token']}/late", json={"minutes": 5})
    assert r.status_code == 409 and r.json()["error"]["code"] == "late_limit"


def test_rating_only_once_and_only_when_done_and_it_reaches_the_manager(server):
    t = issue(server)
    p = public(server)
    assert p.post(f"/{t['token']}/rating", json={"rating": 4}).status_code == 409  # waiting
    serve(server)
    assert p.get(f"/{t['token']}").json()["can_rate"] is True
    r = p.post(f"/{t['token']}/rating", json={"rating": 1, "comment": " 等太久了\x00 "})
    assert r.status_code == 200, r.text
    assert (r.json()["rated"], r.json()["rating"], r.json()["can_rate"]) == (True, 1, False)
    assert p.post(f"/{t['token']}/rating", json={"rating": 4}).status_code == 409
    stored = server.engine.find_ticket(t["id"])
    assert stored.rating_comment == "等太久了"
    manager = server.client("manager")
    # Reading the alerts runs the alert desk's check, which opens the rating's follow-up.
    assert manager.get("/alerts").status_code == 200
    followups = manager.get("/followups").json()
    assert [(f["number"], f["rating"], f["comment"]) for f in followups] == [
        (t["number"], 1, "等太久了")
    ]


def test_the_counter_rating_takes_a_comment_too(server):
    t = issue(server)
    serve(server)
    r = server.client("counter:1").post(
        f"/tickets/{t['id']}/rating", json={"rating": 3, "comment": "办得快"}
    )
    assert r.status_code == 200 and r.json()["rating_comment"] == "办得快"
    conn = sqlite3.connect(server.db)
    try:
        row = conn.execute("SELECT rating, rating_comment FROM tickets WHERE id = ?", (t["id"],))
        assert row.fetchone() == (3, "办得快")
        body = conn.execute("SELECT body FROM events WHERE kind = 'ticket.rated'").fetchone()[0]
    finally:
        conn.close()
    assert json.loads(body)["data"] == {"rating": 3, "comment": "办得快"}


def test_the_link_expires_with_the_business_day(server, clock):
    done, waiting = issue(server), issue(server)
    serve(server)
    p = public(server)
    clock.advance(days=1)
    gone = p.get(f"/{done['token']}")
    assert gone.status_code == 410 and "expired" in gone.json()["error"]["message"]
    assert gone.json()["error"]["code"] == "ticket_expired"
    late_rating = p.post(f"/{done['token']}/rating", json={"rating": 4})
    assert late_rating.status_code == 410
    assert late_rating.json()["error"]["code"] == "ticket_expired"
    # An open ticket from an earlier day keeps its page, but ratings closed with that day.
    closed_rating = p.post(f"/{waiting['token']}/rating", json={"rating": 4})
    assert closed_rating.status_code == 410
    assert closed_rating.json()["error"]["code"] == "rating_closed"
    # A ticket still open across the rollover is still served: its page still works.
    assert p.get(f"/{waiting['token']}").json()["state"] == "waiting"
    with (
        connect(ws_url(server, done["token"]), open_timeout=5) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=WAIT_S)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4410


def test_every_route_of_an_expired_link_answers_410_with_its_code(server, clock):
    """Walked from the API document, so a route added later is held to it too."""
    done = issue(server)
    serve(server)
    clock.advance(days=1)
    bodies = {
        ("GET", ""): None,
        ("POST", "/cancel"): None,
        ("POST", "/late"): {"minutes": 5},
        ("POST", "/rating"): {"rating": 4},
        ("POST", "/notify"): {"phone": "13800138000"},
        ("GET", "/notify"): None,
        ("DELETE", "/notify"): None,
    }
    prefix = "/api/v1/public/tickets/{token}"
    with httpx.Client(base_url=server.base_url, timeout=10) as web:
        paths = web.get("/openapi.json").json()["paths"]
    routes = [
        (method.upper(), path[len(prefix) :])
        for path, operations in paths.items()
        if path.startswith(prefix)
        for method in operations
    ]
    assert sorted(routes) == sorted(bodies)
    with public(server) as p:
        for method, tail in routes:
            answer = p.request(method, f"/{done['token']}{tail}", json=bodies[method, tail])
            assert answer.status_code == 410, (method, tail, answer.text)
            assert answer.json()["error"]["code"] == "ticket_expired", (method, tail)


def test_posts_are_rate_limited_per_token(server):
    t = issue(server)
    p = public(server)
    codes = [p.post(f"/{t['token']}/late", json={"minutes": 1}).status_code for _ in range(12)]
    assert codes[:2] == [200, 200] and set(codes[2:10]) == {409} and codes[10:] == [429, 429]
    r = p.post(f"/{t['token']}/cancel")
    assert r.status_code == 429 and r.headers["retry-after"] == "60"
    assert p.get(f"/{t['token']}").status_code == 200  # reading is not limited
    other = issue(server)
    assert p.post(f"/{other['token']}/cancel").status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("late", {"minutes": 0}),
        ("late", {"minutes": 31}),
        ("late", {"minutes": "5"}),
        ("late", {"minutes": 5, "extra": 1}),
        ("late", None),
        ("late", "not json"),
        ("rating", {"rating": 5}),
        ("rating", {"rating": 0}),
        ("rating", {"rating": 3, "comment": "长" * 201}),
        ("rating", {"rating": 3.5}),
        ("rating", {"rating": 3, "comment": 12}),
        ("rating", []),
    ],
)
def test_bad_input_is_refused_with_4xx(server, path, body):
    t = issue(server)
    p = public(server)
    if body == "not json":
        headers = {"content-type": "application/json"}
        r = p.post(f"/{t['token']}/{path}", content=b"{nope", headers=headers)
    elif body is None:
        r = p.post(f"/{t['token']}/{path}")
    else:
        r = p.post(f"/{t['token']}/{path}", json=body)
    assert 400 <= r.status_code < 500, r.text
    assert "error" in r.json()


def test_odd_tokens_are_4xx(server):
    p = public(server)
    for token in ("%00", "..", "a" * 1000, "A%2FB" * 5, "🙂" * 20):
        r = p.get(f"/{token}")
        assert 400 <= r.status_code < 500
        assert p.post(f"/{token}/cancel").status_code < 500


# ------------------------------------------------------------------ domain
def _branch() -> Branch:
    return Branch(
        BranchSettings(),
        [Service("A", "A", {"zh": "现金"})],
        [Counter(1, "1号窗口", state=CounterState.OPEN, staff_id="t1", skills=(Skill("A"),))],
    )


def test_late_in_the_domain():
    b = _branch()
    now = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    first = b.run(lambda: b.issue_ticket("A", now)).result
    second = b.run(lambda: b.issue_ticket("A", now)).result
    with pytest.raises(InvalidInput):
        b.late_ticket(first.id, 31, now)
    held = b.run(lambda: b.late_ticket(first.id, 5, now))
    assert held.events[0].kind == "ticket.late" and held.events[0].data["minutes"] == 5
    assert b.position(b.ticket(first.id), now) == 0  # it keeps its place
    assert [t.id for t in b.next_customers(1, now, 5)] == [second.id]
    assert b.run(lambda: b.call_next(1, now)).result.id == second.id
    later = now + timedelta(minutes=5)
    assert [t.id for t in b.next_customers(1, now + timedelta(minutes=4), 5)] == []
    assert [t.id for t in b.next_customers(1, later, 5)] == [first.id]


def test_rating_comments_in_the_domain():
    b = _branch()
    now = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    t = b.run(lambda: b.issue_ticket("A", now)).result
    for step in (lambda: b.call_next(1, now), lambda: b.start_serving(1, now),
                 lambda: b.finish(1, now)):  # fmt: skip
        b.run(step)
    assert b.ticket(t.id).state is TicketState.DONE
    with pytest.raises(InvalidInput):
        b.rate_ticket(t.id, 2, now, comment="x" * 201)
    rated = b.run(lambda: b.rate_ticket(t.id, 2, now, comment="a\tb\n"))
    assert b.ticket(t.id).rating_comment == "a b"
    assert rated.events[0].data == {"rating": 2, "comment": "a b"}
    with pytest.raises(InvalidState):
        b.rate_ticket(t.id, 3, now)


def test_satisfaction_by_hour():
    day = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

    def leg(i: int, hour: int, rating: int | None) -> LegRecord:
        at = day + timedelta(hours=hour - 10)
        return LegRecord(i, "A", day.date(), 0, TicketState.DONE, at, at, at, at, 1, "t1", rating)

    legs = [leg(1, 10, 4), leg(2, 10, 1), leg(3, 11, 3), leg(4, 11, None)]
    scope = ReportScope(day.date(), day.date(), "Asia/Shanghai")
    report = branch_report(scope, legs, [], [BusinessInfo("A", {"zh": "现金"}, 600, 0)], {}, day)
    hours = {h["hour"]: h for h in report["by_hour"]}
    assert (hours[10]["rated"], hours[10]["satisfaction"]) == (2, 0.5)
    assert hours[10]["ratings"] == {"1": 1, "2": 0, "3": 0, "4": 1}
    assert (hours[11]["rated"], hours[11]["satisfaction"]) == (1, 1.0)


def test_an_older_database_gains_the_new_columns(branch_db, clock):
    from queue_server.storage import connect, load_branch, migrate

    db, _ = branch_db
    conn = sqlite3.connect(db)
    try:
        for column in ("rating_comment", "held_until", "late_count"):
            conn.execute(f"ALTER TABLE tickets DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 6")  # before the phone ticket's migration
        conn.commit()
    finally:
        conn.close()
    migrate(db)
    conn = connect(db)
    try:
        columns = {r["name"] for r in conn.execute("PRAGMA table_info(tickets)")}
        assert {"rating_comment", "held_until", "late_count"} <= columns
        load_branch(conn, clock())  # rows without the new fields read as their defaults
    finally:
        conn.close()
