"""The lobby's commands on a real server: each changes the ticket, emits its event with the
staff member and the reason, and is in the audit log; bad input changes nothing."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
import qrcode
from conftest import sign_in
from lobby_helpers import LOBBY_STAFF, audit_of, signed_in_lobby

ACTOR = f"lobby:{LOBBY_STAFF}"


def _issue(server, service="A"):
    r = server.client("kiosk").post("/tickets", json={"service": service})
    assert r.status_code == 201, r.text
    return r.json()


def _events(server, kind):
    return [e for e in _all_events(server) if e["kind"] == kind]


def _all_events(server):
    import json
    import sqlite3

    conn = sqlite3.connect(server.db)
    try:
        return [json.loads(b) for (b,) in conn.execute("SELECT body FROM events ORDER BY seq")]
    finally:
        conn.close()


def _by_lobby(server):
    """The lobby's own events (the server's alert checks add events of their own meanwhile)."""
    return [
        e for e in _all_events(server) if e.get("data", {}).get("actor", "").startswith("lobby:")
    ]


def _refused(r, status, code):
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text


@pytest.fixture
def lobby(server):
    return signed_in_lobby(server)


def test_business_change_keeps_the_place(server, lobby, clock):
    early = _issue(server, "B")
    clock.advance(minutes=5)
    later = [_issue(server, "A") for _ in range(2)]
    before = len(_by_lobby(server))
    body = {"service": "A", "reason": "取现"}
    r = lobby.post(f"/lobby/tickets/{early['id']}/business", json=body)
    assert r.status_code == 200, r.text
    moved = r.json()
    assert (moved["service"], moved["number"], moved["state"]) == ("A", early["number"], "waiting")
    arrived = datetime.fromisoformat(moved["arrived_at"])
    assert arrived == datetime.fromisoformat(early["arrived_at"]) and moved["position"] == 0
    changed = _events(server, "ticket.business_changed")[-1]
    assert changed["data"]["actor"] == ACTOR and changed["data"]["reason"] == "取现"
    assert changed["ticket"]["state"] == "transferred"
    assert audit_of(server, "ticket.business_changed")[0]["reason"] == "取现"
    # The customer who came first is called first at a counter for A.
    assert sign_in(server, 1).post("/counters/1/call-next").json()["ticket"]["id"] == moved["id"]
    assert all(t["id"] != moved["id"] for t in later)
    # Bad input: nothing changes.
    after = len(_by_lobby(server))
    assert after > before
    _refused(lobby.post(f"/lobby/tickets/{later[0]['id']}/business", json={"service": "Z"}),
             404, "unknown_service")  # fmt: skip
    _refused(lobby.post(f"/lobby/tickets/{moved['id']}/business", json={"service": "B"}),
             409, "ticket_not_waiting")  # fmt: skip
    assert len(_by_lobby(server)) == after


def test_care_needs_a_reason_and_moves_the_customer_up(server, lobby, clock):
    first = _issue(server)
    clock.advance(minutes=1)
    elder = _issue(server)
    _refused(lobby.post(f"/lobby/tickets/{elder['id']}/care", json={}), 422, "reason_required")
    _refused(lobby.post(f"/lobby/tickets/{elder['id']}/care", json={"reason": "  "}),
             422, "reason_required")  # fmt: skip
    assert not _events(server, "ticket.care_granted")
    r = lobby.post(f"/lobby/tickets/{elder['id']}/care", json={"reason": "八十岁老人"})
    assert r.status_code == 200, r.text
    assert (r.json()["priority"], r.json()["care_reason"]) == ("care", "八十岁老人")
    event = _events(server, "ticket.care_granted")[-1]
    assert event["data"]["actor"] == ACTOR and event["ticket"]["priority"] == "care"
    assert audit_of(server, "ticket.care_granted")[0]["before"]["priority"] == "regular"
    assert sign_in(server, 1).post("/counters/1/call-next").json()["ticket"]["id"] == elder["id"]
    _refused(lobby.post(f"/lobby/tickets/{elder['id']}/care", json={"reason": "x"}),
             409, "ticket_not_waiting")  # fmt: skip
    assert first["id"] != elder["id"]


def test_documents_checked_against_the_business_checklist(server, lobby):
    guidance = {"zh": {"documents": ["身份证", "银行卡", "户口本"]},
                "en": {"documents": ["ID card", "Bank card", "Household register"]}}  # fmt: skip
    r = server.client("manager").patch("/services/C", json={"guidance": guidance})
    assert r.status_code == 200, r.text
    t = _issue(server, "C")
    view = lobby.get(f"/lobby/tickets/{t['number']}").json()
    assert view["checklist"]["zh"] == ["身份证", "银行卡", "户口本"]
    _refused(lobby.post(f"/lobby/tickets/{t['id']}/documents", json={"checked": [3]}),
             422, "invalid_checklist_item")  # fmt: skip
    r = lobby.post(f"/lobby/tickets/{t['id']}/documents", json={"checked": [2, 0, 0]})
    assert r.status_code == 200 and r.json()["documents_checked"] == [0, 2], r.text
    event = _events(server, "ticket.documents_checked")
    assert len(event) == 1 and event[0]["data"]["checked"] == [0, 2]
    assert audit_of(server, "ticket.documents_checked")[0]["actor"] == ACTOR


def test_note_reaches_the_counter(server, lobby):
    t = _issue(server)
    _refused(lobby.post(f"/lobby/tickets/{t['id']}/note", json={"text": "x" * 501}),
             422, "text_too_long")  # fmt: skip
    r = lobby.post(f"/lobby/tickets/{t['id']}/note", json={"text": "客户听力不好，请大声叫号"})
    assert r.status_code == 200, r.text
    called = sign_in(server, 1).post("/counters/1/call-next").json()["ticket"]
    assert called["note"] == "客户听力不好，请大声叫号"
    assert audit_of(server, "ticket.noted")[0]["actor"] == ACTOR


def test_call_next_skips_a_held_ticket_until_released(server, lobby, clock):
    held = _issue(server)
    clock.advance(minutes=1)
    other = _issue(server)
    _refused(lobby.post(f"/lobby/tickets/{held['id']}/hold", json={}), 422, "reason_required")
    r = lobby.post(f"/lobby/tickets/{held['id']}/hold", json={"reason": "回家取户口本"})
    assert r.status_code == 200 and r.json()["on_hold"] is True, r.text
    assert r.json()["position"] == 0  # it keeps its place while held
    c1 = sign_in(server, 1)
    assert c1.post("/counters/1/call-next").json()["ticket"]["id"] == other["id"]
    c1.post("/counters/1/start")
    c1.post("/counters/1/finish")
    assert c1.post("/counters/1/call-next").json()["ticket"] is None  # only the held one waits
    r = lobby.post(f"/lobby/tickets/{held['id']}/release")
    assert r.status_code == 200 and r.json()["on_hold"] is False, r.text
    _refused(lobby.post(f"/lobby/tickets/{held['id']}/release"), 409, "not_on_hold")
    assert c1.post("/counters/1/call-next").json()["ticket"]["id"] == held["id"]
    assert [e["actor"] for e in audit_of(server, "ticket.held")] == [ACTOR]
    assert [e["actor"] for e in audit_of(server, "ticket.released")] == [ACTOR]


def test_cancel_with_a_reason(server, lobby):
    t = _issue(server)
    _refused(lobby.post(f"/lobby/tickets/{t['id']}/cancel", json={}), 422, "reason_required")
    _refused(lobby.post(f"/lobby/tickets/{t['id']}/cancel", json={"reason": "x" * 201}),
             422, "text_too_long")  # fmt: skip
    assert lobby.get(f"/lobby/tickets/{t['number']}").json()["state"] == "waiting"
    r = lobby.post(f"/lobby/tickets/{t['id']}/cancel", json={"reason": "客户改用手机银行"})
    assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
    entry = audit_of(server, "ticket.cancelled")[0]
    assert (entry["actor"], entry["reason"]) == (ACTOR, "客户改用手机银行")
    _refused(lobby.get(f"/lobby/tickets/{t['number']}"), 404, "not_found")
    _refused(lobby.post("/lobby/tickets/99999/cancel", json={"reason": "x"}), 404, "not_found")


def test_issue_at_the_door(server, lobby):
    kiosk = _issue(server)
    r = lobby.post("/lobby/tickets", json={"service": "A"})
    assert r.status_code == 201, r.text
    door = r.json()
    assert door["number"] == "A002" and door["number"] != kiosk["number"]
    assert door["phone_url"].startswith(server.base_url + "/t/")
    assert door["qr_svg"].startswith("<svg")
    issued = _events(server, "ticket.issued")[-1]
    assert issued["ticket"]["source"] == "lobby" and issued["data"]["actor"] == ACTOR
    _refused(lobby.post("/lobby/tickets", json={"service": "A", "care": True}),
             422, "reason_required")  # fmt: skip
    r = lobby.post("/lobby/tickets", json={"service": "A", "care": True, "reason": "孕妇"})
    assert (r.json()["priority"], r.json()["care_reason"]) == ("care", "孕妇")
    _refused(lobby.post("/lobby/tickets", json={"service": "Z"}), 404, "unknown_service")
    _refused(lobby.post("/lobby/tickets", json={}), 422, "invalid_request")
    # The phone link opens the customer's live page.
    token = door["phone_url"].rsplit("/", 1)[1]
    page = server.client(None).get(f"/public/tickets/{token}")
    assert page.status_code == 200 and page.json()["number"] == "A002"


def test_divert_is_an_event_without_a_ticket(server, lobby):
    waiting = len(server.engine.branch.waiting)
    r = lobby.post("/lobby/divert", json={"service": "A", "channel": "atm", "reason": "取现"})
    assert r.status_code == 204, r.text
    event = _events(server, "lobby.diverted")[-1]
    assert event["data"] == {"business": "A", "channel": "atm", "reason": "取现", "actor": ACTOR}
    assert "ticket" not in event and len(server.engine.branch.waiting) == waiting
    _refused(lobby.post("/lobby/divert", json={"service": "A", "channel": "bus"}),
             422, "invalid_request")  # fmt: skip
    _refused(lobby.post("/lobby/divert", json={"service": "Z", "channel": "app"}),
             404, "unknown_service")  # fmt: skip
    assert len(_events(server, "lobby.diverted")) == 1
    assert audit_of(server, "lobby.diverted")[0]["actor"] == ACTOR


def test_hall_shows_queues_longest_waits_and_who_needs_help(server, lobby, clock):
    old = _issue(server, "A")
    clock.advance(minutes=9)  # 90 % of A's 10-minute target
    fresh = _issue(server, "B")
    lobby.post(f"/lobby/tickets/{fresh['id']}/hold", json={"reason": "取证件"})
    hall = lobby.get("/lobby/hall").json()
    by_code = {b["code"]: b for b in hall["businesses"]}
    assert by_code["A"]["waiting"] == 1 and by_code["A"]["at_risk"] is True
    assert by_code["C"]["waiting"] == 0 and by_code["C"]["target_wait_s"] == 900
    assert [t["number"] for t in hall["longest"]] == [old["number"], fresh["number"]]
    assert hall["longest"][0]["waited_s"] == 540
    assert {t["number"] for t in hall["needs_help"]} == {old["number"], fresh["number"]}
    assert hall["alerts"] == [] and hall["appointments"] == []


def _qr_png(text: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(text, border=4).save(out)
    return out.getvalue()


def test_scan_finds_the_ticket_by_its_printed_qr(server, lobby):
    issued = _issue(server)
    url = f"http://branch.example/t/{issued['token']}"  # as the kiosk prints it
    r = lobby.post("/lobby/scan", content=_qr_png(url), headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    assert r.json()["number"] == issued["number"]
    blank = io.BytesIO()
    from PIL import Image

    Image.new("L", (200, 200), 255).save(blank, "PNG")
    _refused(lobby.post("/lobby/scan", content=blank.getvalue(),
                        headers={"Content-Type": "image/png"}), 422, "no_code")  # fmt: skip
    _refused(lobby.post("/lobby/scan", content=_qr_png("http://x/t/nosuchticket12"),
                        headers={"Content-Type": "image/png"}), 404, "not_found")  # fmt: skip
    _refused(lobby.post("/lobby/scan", content=b"not a picture",
                        headers={"Content-Type": "image/jpeg"}), 422, "not_an_image")  # fmt: skip
    # A small file claiming a huge picture is refused from its header, never decoded.
    huge = io.BytesIO()
    Image.new("1", (20_000, 20_000), 1).save(huge, "PNG")
    assert len(huge.getvalue()) < 2 * 1024 * 1024
    _refused(lobby.post("/lobby/scan", content=huge.getvalue(),
                        headers={"Content-Type": "image/png"}), 422, "image_too_large")  # fmt: skip
    big = b"\xff" * (2 * 1024 * 1024 + 1)
    _refused(lobby.post("/lobby/scan", content=big, headers={"Content-Type": "image/jpeg"}),
             413, "body_too_large")  # fmt: skip


def test_signed_out_commands_change_nothing(server, lobby):
    t = _issue(server)
    del lobby.headers["X-Lobby-Session"]
    before = len(_by_lobby(server))
    tickets = dict(server.engine.branch.tickets)
    for path, body in (
        (f"/lobby/tickets/{t['id']}/care", {"reason": "x"}),
        (f"/lobby/tickets/{t['id']}/hold", {"reason": "x"}),
        (f"/lobby/tickets/{t['id']}/cancel", {"reason": "x"}),
        ("/lobby/tickets", {"service": "A"}),
        ("/lobby/divert", {"service": "A", "channel": "app"}),
    ):
        _refused(lobby.post(path, json=body), 401, "lobby_signed_out")
    _refused(lobby.get("/lobby/hall"), 401, "lobby_signed_out")
    assert len(_by_lobby(server)) == before
    assert server.engine.branch.tickets == tickets
