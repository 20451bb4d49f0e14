"""The lobby's desk endpoints on a live server (issue 21): pre-review, send to a desk, the
relationship manager's day and visits. Each: the state it leaves, its event, the audit
entry naming `lobby:<staff>`, and bad input refused with its code and nothing changed."""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_CONFIG, FakeClock, LiveServer, make_db, sign_in
from lobby_helpers import LOBBY_STAFF, audit_of, lobby_device, signed_in_lobby

ID_NUMBER = "11010519550307004X"  # a valid GB 11643 number (check character X)
FORM = {"name": "王建华", "id_number": ID_NUMBER.lower(), "address": "北京市朝阳区"}


@pytest.fixture
def form_server(tmp_path: Path, clock: FakeClock) -> Iterator[LiveServer]:
    """The test branch with account opening (C) needing a form, as it does in a bank."""
    config = copy.deepcopy(TEST_CONFIG)
    config["services"][2]["needs_form"] = True
    config["services"][2]["guidance"] = {"zh": {"documents": ["身份证", "户口本"]}}
    db = tmp_path / "form.db"
    live = LiveServer(db, make_db(db, config), clock).start()
    try:
        yield live
    finally:
        live.stop()


def issue(server: LiveServer, service: str) -> dict[str, Any]:
    r = server.client("kiosk").post("/tickets", json={"service": service})
    assert r.status_code == 201, r.text
    return r.json()


def ticket(server: LiveServer, ticket_id: int) -> dict[str, Any]:
    """The ticket as the server holds it (the lobby's view carries `prereviewed`)."""
    engine = server.engine
    found = engine.find_ticket(ticket_id)
    return {
        "state": found.state.value,
        "prereviewed": found.prereviewed,
        "has_eform": found.has_eform,
    }


def events(server: LiveServer, kind: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(server.db)
    try:
        rows = conn.execute("SELECT body FROM events WHERE kind = ? ORDER BY seq", (kind,))
        return [json.loads(body) for (body,) in rows]
    finally:
        conn.close()


def refused(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


# ------------------------------------------------------------------ pre-review
def test_prereview_holds_the_form_for_the_teller_and_logs_who_did_it(
    form_server: LiveServer,
) -> None:
    server = form_server
    lobby = signed_in_lobby(server)
    waiting = issue(server, "C")
    r = lobby.post(
        f"/lobby/tickets/{waiting['id']}/prereview",
        json={"consent": True, "fields": FORM, "materials_reviewed": True},
    )
    assert r.status_code == 200, r.text
    now = ticket(server, waiting["id"])
    assert now["prereviewed"] and now["has_eform"] and now["state"] == "waiting"
    (event,) = events(server, "ticket.prereviewed")
    assert event["data"]["materials_reviewed"] is True and event["data"]["form"] is True
    # The event, like everything stored, holds no field of the form.
    conn = sqlite3.connect(server.db)
    try:
        stored = "\n".join(str(row) for row in conn.iterdump())
    finally:
        conn.close()
    assert "王建华" not in stored and ID_NUMBER not in stored
    (entry,) = audit_of(server, "ticket.prereviewed")
    assert entry["actor"] == f"lobby:{LOBBY_STAFF}"
    # The teller who calls the customer reads it, the ID number in its canonical form.
    teller = sign_in(server, 3)
    assert teller.post("/counters/3/call-next").json()["ticket"]["id"] == waiting["id"]
    form = teller.get(f"/tickets/{waiting['id']}/eform").json()["fields"]
    assert form == {**FORM, "id_number": ID_NUMBER}


def test_the_ticket_view_says_whether_pre_review_may_take_a_form(form_server: LiveServer) -> None:
    """The page offers the e-form only where the server would keep it (else only the
    materials), so a lobby manager never types a customer's details to have them refused."""
    lobby = signed_in_lobby(form_server)
    cash, account = issue(form_server, "A"), issue(form_server, "C")
    assert lobby.get(f"/lobby/tickets/{cash['number']}").json()["needs_form"] is False
    assert lobby.get(f"/lobby/tickets/{account['number']}").json()["needs_form"] is True


@pytest.mark.parametrize(
    ("service", "body", "status", "code"),
    [
        ("C", {"consent": False, "fields": FORM}, 422, "consent_required"),
        (
            "C",
            {"consent": True, "fields": {**FORM, "id_number": "110105195503070021"}},
            422,
            "bad_id_number",
        ),
        ("A", {"consent": True, "fields": FORM}, 422, "eform_not_needed"),
        ("C", {"consent": True}, 422, "nothing_reviewed"),
        ("C", {"consent": True, "fields": {"1bad": "x"}}, 422, "invalid_request"),
    ],
)
def test_a_refused_prereview_changes_nothing(
    form_server: LiveServer, service: str, body: dict[str, Any], status: int, code: str
) -> None:
    server = form_server
    lobby = signed_in_lobby(server)
    waiting = issue(server, service)
    refused(lobby.post(f"/lobby/tickets/{waiting['id']}/prereview", json=body), status, code)
    now = ticket(server, waiting["id"])
    assert not now["prereviewed"] and not now["has_eform"]
    assert events(server, "ticket.prereviewed") == []
    assert waiting["id"] not in server.engine.eforms


def test_prereview_needs_a_signed_in_staff_member_and_a_waiting_customer(
    form_server: LiveServer,
) -> None:
    server = form_server
    waiting = issue(server, "C")
    body = {"materials_reviewed": True}
    path = f"/lobby/tickets/{waiting['id']}/prereview"
    refused(lobby_device(server).post(path, json=body), 401, "lobby_signed_out")
    assert server.client("counter:3").post(path, json=body).status_code == 403
    lobby = signed_in_lobby(server)
    sign_in(server, 3).post("/counters/3/call-next")
    refused(lobby.post(path, json=body), 409, "ticket_not_waiting")
    refused(lobby.post("/lobby/tickets/9999/prereview", json=body), 404, "unknown_ticket")
    assert events(server, "ticket.prereviewed") == []


# ------------------------------------------------------------------ to my desk
def test_a_customer_sent_to_a_desk_keeps_their_place_and_only_that_desk_calls_them(
    server: LiveServer,
) -> None:
    lobby = signed_in_lobby(server)
    first, second = issue(server, "A"), issue(server, "A")
    body = {"counter": 2, "reason": "房贷面谈"}
    r = lobby.post(f"/lobby/tickets/{first['id']}/to-desk", json=body)
    assert r.status_code == 200, r.text
    leg = r.json()
    assert leg["number"] == first["number"]
    arrived = datetime.fromisoformat(first["arrived_at"].replace("Z", "+00:00"))
    assert datetime.fromisoformat(leg["arrived_at"]) == arrived
    assert leg["target_counter"] == 2 and leg["state"] == "waiting"
    requeued = events(server, "ticket.requeued")[-1]
    assert requeued["data"]["to_counter"] == 2 and requeued["data"]["reason"] == "房贷面谈"
    entries = audit_of(server, "ticket.requeued")
    assert entries[0]["actor"] == f"lobby:{LOBBY_STAFF}" and entries[0]["reason"] == "房贷面谈"
    # Counter 1 serves A too, but this customer waits for desk 2.
    assert sign_in(server, 1).post("/counters/1/call-next").json()["ticket"]["id"] == second["id"]
    assert sign_in(server, 2).post("/counters/2/call-next").json()["ticket"]["id"] == leg["id"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [({"counter": 9}, 404, "unknown_counter"), ({"counter": 0}, 422, "invalid_request")],
)
def test_a_refused_send_to_a_desk_changes_nothing(
    server: LiveServer, body: dict[str, Any], status: int, code: str
) -> None:
    lobby = signed_in_lobby(server)
    waiting = issue(server, "A")
    refused(lobby.post(f"/lobby/tickets/{waiting['id']}/to-desk", json=body), status, code)
    assert ticket(server, waiting["id"])["state"] == "waiting"
    assert events(server, "ticket.requeued") == []


# ------------------------------------------------------- the RM's day and visits
def book(server: LiveServer, slot: str, staff_id: str | None) -> dict[str, Any]:
    r = server.client("booking").post(
        "/appointments", json={"service": "C", "slot_start": slot, "staff_id": staff_id}
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_my_day_lists_my_bookings_who_has_arrived_and_my_visits(server: LiveServer) -> None:
    lobby = signed_in_lobby(server)
    mine = book(server, "2026-11-27T10:30:00+08:00", LOBBY_STAFF)
    later = book(server, "2026-11-27T15:00:00+08:00", LOBBY_STAFF)
    book(server, "2026-11-27T11:00:00+08:00", "someone-else")
    book(server, "2026-11-28T10:00:00+08:00", LOBBY_STAFF)  # tomorrow
    checked = server.client("counter:3").post(
        "/appointments/check-in", json={"booking_number": mine["booking_number"]}
    )
    assert checked.status_code == 201, checked.text
    day = lobby.get("/lobby/my-day").json()
    assert (day["staff_id"], day["day"]) == (LOBBY_STAFF, "2026-11-27")
    assert [a["id"] for a in day["appointments"]] == [mine["id"], later["id"]]
    arrived, to_come = day["appointments"]
    assert arrived["checked_in"] and arrived["ticket_state"] == "waiting"
    assert arrived["ticket_number"] == checked.json()["ticket"]["number"]
    assert not to_come["checked_in"] and to_come["ticket_number"] is None
    assert day["visits"] == []
    # The follow-up form books on the branch's slot boundaries: the day says which.
    assert day["slot_min"] == 30
    # Sent to the RM's desk, the day says the customer now waits for it (no second send).
    assert arrived["target_counter"] is None
    r = lobby.post(f"/lobby/tickets/{arrived['ticket_id']}/to-desk", json={"counter": 3})
    assert r.status_code == 200, r.text
    sent = lobby.get("/lobby/my-day").json()["appointments"][0]
    assert sent["target_counter"] == 3 and sent["ticket_state"] == "waiting"
    assert sent["ticket_number"] == arrived["ticket_number"]


def test_a_visit_is_recorded_with_its_follow_up_and_without_personal_data(
    server: LiveServer,
) -> None:
    lobby = signed_in_lobby(server)
    r = lobby.post(
        "/lobby/visits",
        json={
            "service": "C",
            "at": "2026-11-27T09:00:00+08:00",
            "documents_collected": ["收入证明", "房产证复印件"],
            "follow_up_slot": "2026-11-27T16:00:00+08:00",
        },
    )
    assert r.status_code == 201, r.text
    day = r.json()
    (made,) = day["visits"]
    assert made["documents_collected"] == ["收入证明", "房产证复印件"]
    (follow_up,) = day["appointments"]
    assert made["follow_up_id"] == follow_up["id"] and follow_up["state"] == "booked"
    (event,) = events(server, "appointment.visit_recorded")
    assert event["data"]["documents"] == 2 and "收入证明" not in json.dumps(event)
    (entry,) = audit_of(server, "appointment.visit_recorded")
    assert entry["actor"] == f"lobby:{LOBBY_STAFF}"
    # A visit is not a booking a customer can check in.
    r = server.client("counter:3").post(
        "/appointments/check-in", json={"booking_number": made["booking_number"]}
    )
    refused(r, 409, "appointment_is_visit")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"documents_collected": ["身份证 110105195503070021"]}, 422, "personal_data"),
        ({"documents_collected": ["x" * 41]}, 422, "text_too_long"),
        ({"at": "2026-11-27T12:00:00+08:00"}, 422, "invalid_visit_time"),  # not made yet
        ({"follow_up_slot": "2026-11-27T16:10:00+08:00"}, 422, "slot_not_aligned"),
        ({"service": "Z"}, 404, "unknown_service"),
    ],
)
def test_a_refused_visit_changes_nothing(
    server: LiveServer, change: dict[str, Any], status: int, code: str
) -> None:
    lobby = signed_in_lobby(server)
    body = {"service": "C", "at": "2026-11-27T09:00:00+08:00", "documents_collected": []}
    refused(lobby.post("/lobby/visits", json={**body, **change}), status, code)
    assert server.client("booking").get("/appointments").json() == []
    assert events(server, "appointment.visit_recorded") == []
