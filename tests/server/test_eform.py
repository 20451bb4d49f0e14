"""Bundles, and the pre-filled e-form: who may read it, when it goes, and where it never is."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from typing import Any

import pytest
import visit_helpers as vh
from conftest import LiveServer, sign_in
from visit_helpers import ADDRESS, ELDER, VIP2, VIP_ELDER, YOUNG, eform_of, identity
from websockets.sync.client import connect

from queue_server.config import ConfigError, parse_config
from queue_server.domain import Change, Ticket, TicketState
from queue_server.visits import EformStore

# The fixtures shared with test_identity.py, registered in this module.
visit_template, visit_db, visit_server = vh.visit_template, vh.visit_db, vh.visit_server
DAY = date(2026, 11, 27)


# ----------------------------------------------------------- the store alone
def leg(tid: int, state: TicketState, previous: int | None = None) -> Ticket:
    at = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    return Ticket(tid, "C001", "C", DAY, at, at, state=state, previous_id=previous)


def test_store_moves_a_form_with_a_transfer_and_drops_it_at_the_end():
    store = EformStore()
    store.attach(1, {"name": "x"}, DAY)
    store.follow(Change(tickets=[leg(1, TicketState.CALLED)]), DAY)
    assert store.get(1, DAY) == {"name": "x"}
    transfer = [leg(1, TicketState.TRANSFERRED), leg(2, TicketState.WAITING, previous=1)]
    store.follow(Change(tickets=transfer), DAY)
    assert store.get(1, DAY) is None and store.get(2, DAY) == {"name": "x"}
    store.follow(Change(tickets=[leg(2, TicketState.DONE, previous=1)]), DAY)
    assert len(store) == 0


def test_store_drops_every_form_of_an_earlier_day():
    store = EformStore()
    store.attach(1, {"name": "x"}, DAY)
    store.attach(2, {"name": "y"}, date(2026, 11, 28))
    assert store.get(2, date(2026, 11, 28)) == {"name": "y"} and 1 not in store
    store.follow(Change(), date(2026, 11, 29))
    assert len(store) == 0


# --------------------------------------------------------------- config
def test_bundles_must_name_existing_services():
    assert [b.code for b in parse_config(vh.VISIT_CONFIG).bundles] == ["NEW"]
    for bad in (
        {"service": "Z"},
        {"includes": ["C", "Z"]},
        {"includes": []},
        {"code": "bad code"},
    ):
        config = json.loads(json.dumps(vh.VISIT_CONFIG))
        config["bundles"][0].update(bad)
        with pytest.raises(ConfigError, match="bundle"):
            parse_config(config)
    config = json.loads(json.dumps(vh.VISIT_CONFIG))
    config["bundles"].append(config["bundles"][0])
    with pytest.raises(ConfigError, match="unique"):
        parse_config(config)


def test_the_demo_branch_has_the_one_stop_bundle():
    from queue_server.config import load_config

    demo = load_config()
    new = next(b for b in demo.bundles if b.code == "NEW")
    assert new.names == {"zh": "一站式开户", "en": "One-stop new customer"}
    assert new.service == "C" and "C" in new.includes and set(new.guidance) == {"zh", "en"}
    forms = {s.code for s in demo.services if s.needs_form}
    assert "C" in forms and demo.settings.care_age == 60


# --------------------------------------------------------------- bundles
def test_bundles_in_the_snapshot_and_the_bundle_list(visit_server):
    kiosk = visit_server.client("kiosk")
    snap = kiosk.get("/snapshot").json()
    (bundle,) = snap["bundles"]
    assert bundle["code"] == "NEW" and bundle["service"] == "C"
    assert bundle["includes"] == ["C", "K", "M"] and bundle["needs_form"] is True
    assert bundle["names"]["en"] == "One-stop new customer"
    assert bundle["guidance"]["en"]["documents"] == ["Your valid ID"]
    assert {s["code"]: s["needs_form"] for s in snap["services"]} == {
        "A": False, "B": False, "C": True, "K": True, "M": False,
    }  # fmt: skip
    assert snap["branch"]["care_age"] == 60
    assert kiosk.get("/bundles").json() == snap["bundles"]
    assert kiosk.get("/services/K").json()["needs_form"] is True


def test_a_bundle_ticket_joins_the_bundle_queue(visit_server):
    kiosk = visit_server.client("kiosk")
    r = kiosk.post("/tickets", json={"bundle": "NEW"})
    assert r.status_code == 201, r.text
    t = r.json()
    assert (t["service"], t["bundle"], t["has_eform"], t["number"]) == ("C", "NEW", False, "C001")
    assert kiosk.get(f"/tickets/{t['id']}").json()["bundle"] == "NEW"
    both = kiosk.post("/tickets", json={"service": "C", "bundle": "NEW"}).json()
    assert both["bundle"] == "NEW"
    plain = kiosk.post("/tickets", json={"service": "A"}).json()
    assert plain["bundle"] is None and plain["has_eform"] is False


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"bundle": "NOPE"}, "unknown_bundle"),
        ({"service": "A", "bundle": "NEW"}, "bundle_service"),
        ({"service": "A", "eform": {"name": "x"}}, "eform_not_needed"),
        ({"service": "C", "eform": {f"f{i}": "x" for i in range(21)}}, "invalid_request"),
        ({"service": "C", "eform": {"name": "x" * 201}}, "text_too_long"),
        ({"service": "C", "eform": {"bad key": "x"}}, "invalid_request"),
        ({"service": "C", "eform": {"name": 3}}, "invalid_request"),
        ({"bundle": "bad code!"}, "invalid_request"),
    ],
)
def test_refused_bundle_and_form_requests_issue_nothing(visit_server, body, code):
    kiosk = visit_server.client("kiosk")
    seq = kiosk.get("/snapshot").json()["seq"]
    r = kiosk.post("/tickets", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    assert kiosk.get("/snapshot").json()["seq"] == seq


# ---------------------------------------------------------------- e-forms
def issue_with_form(server: LiveServer, person: dict[str, str], **body: Any) -> dict[str, Any]:
    body = {"service": "C", "identity": identity(person), "eform": eform_of(person), **body}
    r = server.client("kiosk").post("/tickets", json=body)
    assert r.status_code == 201, r.text
    ticket: dict[str, Any] = r.json()
    assert ticket["has_eform"] is True and person["name"] not in r.text
    return ticket


def eform_status(server: LiveServer, role: str, ticket_id: int) -> tuple[int, Any]:
    r = server.client(role).get(f"/tickets/{ticket_id}/eform")
    return r.status_code, r.json()


def test_only_the_counter_holding_the_ticket_reads_its_form(visit_server):
    t = issue_with_form(visit_server, ELDER)
    c3 = sign_in(visit_server, 3)
    sign_in(visit_server, 1)
    assert eform_status(visit_server, "counter:3", t["id"])[0] == 403  # still waiting
    assert c3.post("/counters/3/call-next").json()["ticket"]["has_eform"] is True
    status, body = eform_status(visit_server, "counter:3", t["id"])
    assert status == 200 and body == {"ticket_id": t["id"], "fields": eform_of(ELDER)}
    c3.post("/counters/3/start")
    assert eform_status(visit_server, "counter:3", t["id"])[0] == 200
    assert eform_status(visit_server, "admin", t["id"])[0] == 200
    for role in ("counter:1", "counter:2", "kiosk", "display", "manager"):
        status, body = eform_status(visit_server, role, t["id"])
        assert status == 403 and ELDER["name"] not in json.dumps(body), role
    plain = visit_server.client("kiosk").post("/tickets", json={"service": "C"}).json()
    assert plain["has_eform"] is False
    status, body = eform_status(visit_server, "admin", plain["id"])
    assert (status, body["error"]["code"]) == (404, "no_eform")
    assert eform_status(visit_server, "admin", 9999)[1]["error"]["code"] == "unknown_ticket"


@pytest.mark.parametrize("ending", ["finish", "no-show", "cancel"])
def test_the_form_is_purged_when_the_visit_ends(visit_server, ending):
    t = issue_with_form(visit_server, ELDER)
    c3 = sign_in(visit_server, 3)
    if ending == "cancel":
        r = visit_server.client("kiosk").post(f"/tickets/{t['id']}/cancel")
    else:
        c3.post("/counters/3/call-next")
        if ending == "finish":
            c3.post("/counters/3/start")
        r = c3.post(f"/counters/3/{ending}")
    assert r.status_code == 200, r.text
    status, body = eform_status(visit_server, "admin", t["id"])
    assert (status, body["error"]["code"]) == (404, "no_eform")
    assert len(visit_server.engine.eforms) == 0


def test_the_form_follows_the_customer_on_a_transfer(visit_server):
    t = issue_with_form(visit_server, VIP2, service=None, bundle="NEW")
    assert (t["service"], t["bundle"], t["priority"], t["vip_tier"]) == ("C", "NEW", "vip", 2)
    c3 = sign_in(visit_server, 3)
    c1 = sign_in(visit_server, 1)
    c3.post("/counters/3/call-next")
    c3.post("/counters/3/start")
    moved = c3.post("/counters/3/transfer", json={"to_service": "B"}).json()
    assert moved["has_eform"] is True and moved["bundle"] == "NEW" and moved["priority"] == "vip"
    assert eform_status(visit_server, "admin", t["id"])[0] == 404  # the old leg holds nothing
    assert eform_status(visit_server, "counter:3", moved["id"])[0] == 403
    assert c1.post("/counters/1/call-next").json()["ticket"]["id"] == moved["id"]
    status, body = eform_status(visit_server, "counter:1", moved["id"])
    assert status == 200 and body["fields"] == eform_of(VIP2)


def test_forms_are_purged_at_the_day_rollover(visit_server, clock):
    t = issue_with_form(visit_server, ELDER)
    c3 = sign_in(visit_server, 3)
    c3.post("/counters/3/call-next")  # the customer is at the counter across the rollover
    assert eform_status(visit_server, "counter:3", t["id"])[0] == 200
    clock.now = datetime(2026, 11, 27, 20, 30, tzinfo=UTC)  # 04:30 the next day in Shanghai
    status, body = eform_status(visit_server, "counter:3", t["id"])
    assert (status, body["error"]["code"]) == (404, "no_eform")
    assert len(visit_server.engine.eforms) == 0


def test_a_restart_loses_the_forms(visit_server, visit_template, visit_db, clock):
    t = issue_with_form(visit_server, ELDER)
    visit_server.stop()
    again = LiveServer(visit_db, visit_template[1], clock).start()
    try:
        assert again.client("admin").get(f"/tickets/{t['id']}").json()["has_eform"] is True
        status, body = eform_status(again, "admin", t["id"])
        assert (status, body["error"]["code"]) == (404, "no_eform")
    finally:
        again.stop()


# ------------------------------------------------------- personal data scan
class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "queue_server", "fastapi")


def planted() -> list[str]:
    people = (ELDER, YOUNG, VIP2, VIP_ELDER)
    values = [p["id"] for p in people] + [p["id"][:17] for p in people]
    values += [p["name"] for p in people] + [ADDRESS]
    return values


def find_planted(text: str | bytes, where: str) -> list[str]:
    hits = []
    for value in planted():
        forms = {value, json.dumps(value)[1:-1]}  # as is, and \\u-escaped
        for form in forms:
            needle: str | bytes = form.encode() if isinstance(text, bytes) else form
            if needle in text:
                hits.append(f"{where} contains {form!r}")
    return hits


def test_no_id_number_or_name_in_the_database_log_or_events(visit_server, visit_db, clock):
    capture = Capture()
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).addHandler(capture)
        logging.getLogger(name).setLevel(logging.DEBUG)
    token = visit_server.tokens["display"]
    frames: list[str] = []
    try:
        with connect(f"{visit_server.ws_url}?token={token}", open_timeout=5) as ws:
            frames.append(str(ws.recv(timeout=5)))
            responses = a_busy_morning(visit_server, clock)
            last = visit_server.client("admin").get("/snapshot").json()["seq"]
            seen = 0
            while seen < last:
                frame = str(ws.recv(timeout=5))
                frames.append(frame)
                message = json.loads(frame)
                if message["type"] == "events":
                    seen = max(e["seq"] for e in message["events"])
            db_bytes = visit_db.read_bytes()
            wal = visit_db.with_name(visit_db.name + "-wal")
            wal_bytes = wal.read_bytes() if wal.exists() else b""
            snapshot = visit_server.client("admin").get("/snapshot").text
    finally:
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(capture)
            logging.getLogger(name).setLevel(saved[name])
    visit_server.stop()
    assert wal_bytes, "expected the day's writes in the WAL"
    assert any("POST /api/v1/customers/identify" in line for line in capture.lines)
    hits = find_planted(db_bytes, "database file") + find_planted(wal_bytes, "WAL")
    hits += find_planted(visit_db.read_bytes(), "database after shutdown")
    hits += find_planted("\n".join(capture.lines), "server log")
    hits += find_planted("\n".join(frames), "event stream") + find_planted(snapshot, "snapshot")
    hits += find_planted("\n".join(responses), "API answers")
    assert hits == []
    # The scan itself finds what it looks for (the form as the counter reads it).
    assert find_planted(json.dumps(eform_of(ELDER)), "control")
    assert find_planted(json.dumps(eform_of(VIP2), ensure_ascii=False).encode(), "control")
    assert len(frames) > 3 and any('"has_eform":true' in f for f in frames)


def a_busy_morning(server: LiveServer, clock: Any) -> list[str]:
    """Identified customers with forms, served, transferred, lost; answers except the forms."""
    kiosk, admin = server.client("kiosk"), server.client("admin")
    c1, c3 = sign_in(server, 1), sign_in(server, 3)
    answers = []
    for person in (ELDER, YOUNG, VIP2, VIP_ELDER):
        answers.append(kiosk.post("/customers/identify", json=identity(person)).text)
    elder = issue_with_form(server, ELDER)
    vip = issue_with_form(server, VIP2, service=None, bundle="NEW")
    gone = issue_with_form(server, VIP_ELDER, service="K")
    answers.append(kiosk.post("/tickets", json={"service": "A", "identity": identity(YOUNG)}).text)
    bad = {**identity(YOUNG), "id_number": vh.bad_check_digit(YOUNG["id"])}
    answers.append(kiosk.post("/customers/identify", json=bad).text)
    too_long = {"service": "C", "eform": {"name": ELDER["name"] * 100, "address": ADDRESS}}
    answers.append(kiosk.post("/tickets", json=too_long).text)
    not_needed = {"service": "A", "eform": eform_of(YOUNG), "identity": identity(YOUNG)}
    answers.append(kiosk.post("/tickets", json=not_needed).text)
    clock.advance(minutes=3)
    # The customer who gives up leaves before the calls, so whichever policy runs, the two
    # calls are the elder's and the VIP's forms.
    answers.append(kiosk.post(f"/tickets/{gone['id']}/cancel").text)
    for _ in range(2):
        called = c3.post("/counters/3/call-next").json()["ticket"]
        answers.append(json.dumps(called))
        assert server.client("counter:3").get(f"/tickets/{called['id']}/eform").status_code == 200
        c3.post("/counters/3/start")
        if called["id"] == vip["id"]:
            moved = c3.post("/counters/3/transfer", json={"to_service": "B"}).json()
            answers.append(c1.post("/counters/1/call-next").text)
            form = server.client("counter:1").get(f"/tickets/{moved['id']}/eform")
            assert form.status_code == 200
            c1.post("/counters/1/start")
            answers.append(c1.post("/counters/1/finish").text)
        else:
            answers.append(c3.post("/counters/3/finish").text)
    answers.append(admin.get(f"/tickets/{elder['id']}").text)
    answers.append(c3.post(f"/tickets/{elder['id']}/rating", json={"rating": 4}).text)
    assert len(server.engine.eforms) == 0
    return answers
