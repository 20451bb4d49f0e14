"""Appointments end to end on a real server: book, QR, check-in, priority call, refusals."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from conftest import LiveServer, sign_in

from queue_server.domain.appointments import Appointment, sign_token
from queue_server.storage import connect
from queue_server.storage.appointments import branch_secret

# The clock fixture starts at 10:00 in Shanghai on 2026-11-27.
SLOT = "2026-11-27T10:30:00+08:00"


def book(server, service="C", slot=SLOT, role="booking"):
    r = server.client(role).post("/appointments", json={"service": service, "slot_start": slot})
    assert r.status_code == 201, r.text
    return r.json()


def check_in(server, role="kiosk", key=None, **body):
    headers = {"Idempotency-Key": key} if key else {}
    return server.client(role).post("/appointments/check-in", json=body, headers=headers)


def refused(response, status, code):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, response.text
    return error


def secret_of(server) -> bytes:
    conn = connect(server.db)
    try:
        return branch_secret(conn)
    finally:
        conn.close()


def token_for(server, appointment_id=999, branch="test-001", secret=None, nonce="AbCdEfGh"):
    slot = datetime.fromisoformat(SLOT).astimezone(UTC)
    a = Appointment(
        appointment_id, "ACDE3467", "C", slot, slot + timedelta(minutes=30), slot, nonce
    )
    return sign_token(a, branch, secret if secret is not None else secret_of(server))


def test_booked_customer_checks_in_and_is_called_before_an_earlier_regular(server, clock):
    booked = book(server)
    assert booked["state"] == "booked" and booked["slot_start"] == SLOT
    assert booked["slot_end"] == "2026-11-27T11:00:00+08:00"
    assert booked["qr"].startswith("BQA1.") and len(booked["booking_number"]) == 8
    clock.advance(minutes=20)  # 10:20: a regular customer takes a ticket
    regular = server.client("kiosk").post("/tickets", json={"service": "C"}).json()
    clock.advance(minutes=5)  # 10:25: the booked customer scans the QR code, early
    r = check_in(server, qr=booked["qr"])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["outcome"] == "early" and body["slot_start"] == SLOT
    assert body["appointment_id"] == booked["id"]
    ticket = body["ticket"]
    assert ticket["priority"] == "appointment" and ticket["source"] == "appointment"
    assert ticket["appointment_id"] == str(booked["id"]) and ticket["token"]
    assert ticket["number"] == "C002" and ticket["state"] == "waiting"
    page = server.client("admin").get(f"/tickets/{ticket['id']}").json()
    assert page["appointment_slot"] is not None
    clock.advance(minutes=6)  # 10:31: the slot has begun
    c3 = sign_in(server, 3)
    called = c3.post("/counters/3/call-next").json()["ticket"]
    assert called["id"] == ticket["id"]
    c3.post("/counters/3/start")
    c3.post("/counters/3/finish")
    assert c3.post("/counters/3/call-next").json()["ticket"]["id"] == regular["id"]
    listed = server.client("booking").get("/appointments", params={"day": "2026-11-27"}).json()
    assert [(a["id"], a["state"], a["ticket_number"]) for a in listed] == [
        (booked["id"], "checked_in", "C002")
    ]
    assert "qr" not in listed[0]


def test_on_time_and_late_check_ins(server, clock):
    on_time = book(server, "A")
    late = book(server, "A")
    clock.advance(minutes=35)  # 10:35, within the 10 minutes' grace
    body = check_in(server, qr=on_time["qr"]).json()
    assert body["outcome"] == "on_time" and body["ticket"]["priority"] == "appointment"
    clock.advance(minutes=6)  # 10:41: past the grace
    r = check_in(server, qr=late["qr"])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["outcome"] == "late" and body["ticket"]["priority"] == "regular"
    assert body["slot_start"] == SLOT


def test_too_early_and_expired(server, clock):
    booked = book(server, slot="2026-11-27T14:30:00+08:00")
    error = refused(check_in(server, qr=booked["qr"]), 409, "appointment_too_early")
    assert error["slot_start"] == "2026-11-27T14:30:00+08:00" and error["message"]
    assert error["opens_at"] == "2026-11-27T12:30:00+08:00"  # the default 120-minute window
    clock.advance(days=1)
    error = refused(check_in(server, qr=booked["qr"]), 409, "appointment_expired")
    assert error["slot_start"] == "2026-11-27T14:30:00+08:00"


def test_every_refusal_has_its_own_code(server, clock):
    used = book(server, "A")
    cancelled = book(server, "A")
    changed = book(server, "B")
    booking = server.client("booking")
    assert booking.post(f"/appointments/{cancelled['id']}/cancel").json()["state"] == "cancelled"
    moved = booking.patch(
        f"/appointments/{changed['id']}", json={"slot_start": "2026-11-27T11:00:00+08:00"}
    ).json()
    clock.advance(minutes=30)
    first = check_in(server, qr=used["qr"]).json()
    _, payload, mac = used["qr"].split(".")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    other = base64.urlsafe_b64encode(raw.replace(b"|A|", b"|B|")).rstrip(b"=").decode()
    cases = {
        "not_appointment": "https://bank.example/booking/123",
        "appointment_forged": f"BQA1.{other}.{mac}",
        "appointment_wrong_branch": token_for(server, branch="other-branch", secret=b"k" * 32),
        "appointment_unknown": token_for(server, appointment_id=999),
        "appointment_cancelled": cancelled["qr"],
        "appointment_used": used["qr"],
        "appointment_superseded": changed["qr"],
    }
    seen = {}
    for code, qr in cases.items():
        r = check_in(server, qr=qr)
        assert 400 <= r.status_code < 500, r.text
        seen[code] = refused(r, r.status_code, code)
    assert seen["appointment_used"]["ticket_number"] == first["ticket"]["number"]
    assert seen["appointment_superseded"]["slot_start"] == moved["slot_start"]
    assert seen["appointment_cancelled"]["slot_start"] == SLOT
    for code in ("not_appointment", "appointment_forged", "appointment_wrong_branch"):
        assert set(seen[code]) == {"code", "message"}  # nothing from an unverified code
    also_forged = check_in(
        server, qr=token_for(server, appointment_id=used["id"], secret=b"z" * 32)
    )
    refused(also_forged, 422, "appointment_forged")


def test_a_retry_with_the_same_key_returns_the_same_ticket(server, clock):
    booked = book(server, "A")
    other = book(server, "A")
    clock.advance(minutes=30)
    first = check_in(server, key="retry-key-1", qr=booked["qr"])
    assert first.status_code == 201
    again = check_in(server, key="retry-key-1", qr=booked["qr"])
    assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
    assert again.json() == first.json()
    refused(check_in(server, key="retry-key-2", qr=booked["qr"]), 409, "appointment_used")
    refused(check_in(server, key="retry-key-1", qr=other["qr"]), 409, "idempotency_key_reused")
    tickets = server.client("admin").get("/snapshot").json()["tickets"]
    assert [t["id"] for t in tickets] == [first.json()["ticket"]["id"]]


def test_concurrent_retries_make_one_ticket(server, clock):
    booked = book(server, "A")
    clock.advance(minutes=30)
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: check_in(server, key="same-key-99", qr=booked["qr"]), range(8))
        )
    assert sorted(r.status_code for r in answers) == [200] * 7 + [201]
    assert len({r.json()["ticket"]["id"] for r in answers}) == 1


def test_a_change_rotates_the_qr_code(server, clock):
    booked = book(server, "A")
    r = server.client("manager").patch(
        f"/appointments/{booked['id']}", json={"slot_start": "2026-11-27T11:00"}
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["qr"] != booked["qr"] and moved["booking_number"] == booked["booking_number"]
    assert moved["slot_start"] == "2026-11-27T11:00:00+08:00"
    clock.advance(minutes=60)
    refused(check_in(server, qr=booked["qr"]), 409, "appointment_superseded")
    assert check_in(server, qr=moved["qr"]).json()["outcome"] == "on_time"
    read = server.client("booking").get(f"/appointments/{booked['id']}").json()
    assert read["state"] == "checked_in" and read["qr"] == moved["qr"]


def test_cancel(server):
    booked = book(server)
    booking = server.client("booking")
    r = booking.post(f"/appointments/{booked['id']}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    refused(booking.post(f"/appointments/{booked['id']}/cancel"), 409, "appointment_cancelled")
    refused(booking.post("/appointments/999/cancel"), 404, "appointment_unknown")
    again = book(server)  # C takes one booking per slot: the place is free again
    assert again["id"] != booked["id"]


def test_slot_rules_and_capacity(server):
    book(server, "C")  # one counter serves C: one booking per slot
    error = refused(
        server.client("booking").post("/appointments", json={"service": "C", "slot_start": SLOT}),
        409,
        "slot_full",
    )
    assert error["slot_start"] == SLOT
    booking = server.client("booking")
    for slot, status, code in [
        ("2026-11-27T10:40:00+08:00", 422, "slot_not_aligned"),
        ("2026-11-27T09:30:00+08:00", 422, "slot_in_past"),
        ("2027-11-27T09:30:00+08:00", 422, "slot_too_far"),
        ("yesterday", 422, "invalid_request"),
    ]:
        r = booking.post("/appointments", json={"service": "A", "slot_start": slot})
        refused(r, status, code)
    refused(
        booking.post("/appointments", json={"service": "Z", "slot_start": SLOT}),
        404,
        "unknown_service",
    )


def test_concurrent_bookings_never_exceed_capacity(server):
    # Three counters serve A as a regular skill: three bookings per slot.
    def attempt(_: int) -> int:
        r = server.client("booking").post(
            "/appointments", json={"service": "A", "slot_start": SLOT}
        )
        return r.status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = sorted(pool.map(attempt, range(10)))
    assert statuses == [201] * 3 + [409] * 7
    listed = server.client("booking").get("/appointments", params={"service": "A"}).json()
    assert len(listed) == 3


def test_no_shows_are_released_after_the_grace(server, clock):
    booked = book(server)
    clock.advance(minutes=40)  # 10:40: the grace ends at the end of this minute
    booking = server.client("booking")
    assert booking.get("/appointments").json()[0]["state"] == "booked"
    clock.advance(minutes=1)
    [listed] = booking.get("/appointments", params={"day": "2026-11-27"}).json()
    assert listed["state"] == "released"
    conn = connect(server.db)
    try:
        kinds = [
            r[0] for r in conn.execute("SELECT kind FROM events WHERE kind LIKE 'appointment.%'")
        ]
    finally:
        conn.close()
    assert kinds == ["appointment.booked", "appointment.released"]
    # The customer turns up later that day after all: a regular ticket, told politely.
    body = check_in(server, qr=booked["qr"]).json()
    assert body["outcome"] == "late" and body["ticket"]["priority"] == "regular"


def test_staff_check_in_by_booking_number(server, clock):
    booked = book(server, "A")
    clock.advance(minutes=30)
    number = booked["booking_number"]
    r = check_in(server, role="kiosk", booking_number=number)
    refused(r, 403, "forbidden")
    refused(
        check_in(server, role="counter:1", booking_number="ZZZZ9999"), 404, "appointment_unknown"
    )
    r = check_in(server, role="counter:1", booking_number=number.lower()[:4] + "-" + number[4:])
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] == "on_time" and r.json()["ticket"]["priority"] == "appointment"
    refused(check_in(server, role="manager", booking_number=number), 409, "appointment_used")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"qr": ""},
        {"qr": "x" * 513},
        {"qr": "x", "booking_number": "ACDE3467"},
        {"booking_number": "AC"},
        {"qr": 12},
        {"qr": "x", "extra": 1},
    ],
)
def test_bad_check_in_bodies_are_422(server, body):
    code = "text_too_long" if body == {"qr": "x" * 513} else "invalid_request"
    refused(check_in(server, role="counter:1", **body), 422, code)


def test_odd_scanned_text_is_refused_not_crashed(server):
    for text in ["BQA1.", "BQA1..", "BQA1.\u0000.\u0000", "BQA1.é.é", "\ud7ff" * 100, "B" * 512]:
        r = check_in(server, qr=text)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] in ("not_appointment", "appointment_forged")


def test_bookings_and_their_used_state_survive_a_restart(server, clock):
    used = book(server, "A")
    waiting = book(server, "A")
    clock.advance(minutes=30)
    ticket = check_in(server, qr=used["qr"]).json()["ticket"]
    server.stop()
    again = LiveServer(server.db, server.tokens, clock, port=server.port).start()
    try:
        listed = again.client("booking").get("/appointments").json()
        assert [(a["id"], a["state"]) for a in listed] == [
            (used["id"], "checked_in"),
            (waiting["id"], "booked"),
        ]
        error = refused(check_in(again, qr=used["qr"]), 409, "appointment_used")
        assert error["ticket_number"] == ticket["number"]
        assert check_in(again, qr=waiting["qr"]).json()["outcome"] == "on_time"
        assert book(again, "A", slot="2026-11-27T12:00")["id"] == waiting["id"] + 1
    finally:
        again.stop()


def test_events_and_answers_never_carry_the_secret_or_customer(server, clock):
    ref = "ab" * 20
    r = server.client("booking").post(
        "/appointments", json={"service": "A", "slot_start": SLOT, "customer_ref": ref}
    )
    booked = r.json()
    assert "customer_ref" not in booked
    clock.advance(minutes=30)
    body = check_in(server, qr=booked["qr"]).json()
    secret = secret_of(server).hex()
    conn = connect(server.db)
    try:
        events = [r[0] for r in conn.execute("SELECT body FROM events")]
    finally:
        conn.close()
    everything = json.dumps([events, body, booked, server.client("admin").get("/snapshot").json()])
    assert secret not in everything
    assert ref not in json.dumps(events) and ref not in json.dumps(body)
    appointment_events = [json.loads(e) for e in events if '"appointment.' in e]
    assert len(appointment_events) == 2
    for event in appointment_events:
        text = json.dumps(event)
        assert booked["booking_number"] not in text and booked["qr"].split(".")[1] not in text


def test_cli_books_in_the_database_and_the_server_honours_it(branch_db, tmp_path, capsys):
    from zoneinfo import ZoneInfo

    from conftest import FakeClock

    from queue_server.cli import main

    db, tokens = branch_db
    shanghai = ZoneInfo("Asia/Shanghai")
    day = (datetime.now(shanghai) + timedelta(days=2)).date()
    at = f"{day.isoformat()}T14:30"
    png = tmp_path / "qr.png"
    args = ["appointment", "book", "--db", str(db), "--service", "B", "--at", at, "--png", str(png)]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("booking ") and out[1].startswith("BQA1.")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert main([*args[:-2], "--at", "2020-01-01T10:00"]) == 2
    assert "slot_in_past" in capsys.readouterr().err
    slot = datetime.fromisoformat(at).replace(tzinfo=shanghai)
    live = LiveServer(db, tokens, FakeClock(slot + timedelta(minutes=2))).start()
    try:
        body = check_in(live, qr=out[1]).json()
        assert body["outcome"] == "on_time" and body["ticket"]["service"] == "B"
    finally:
        live.stop()


def test_cli_books_through_a_running_server_and_never_writes_under_it(
    branch_db, tmp_path, capsys, monkeypatch
):
    """A server on the database (a separate process, as in a branch): the CLI's offline
    booking is refused with what to do instead, and --server books through the API."""
    import sqlite3
    from zoneinfo import ZoneInfo

    from queue_server.cli import main
    from tools.harness import client, free_port, start_server, stop_process, wait_healthy

    db, tokens = branch_db
    day = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=2)).date()
    args = ["appointment", "book", "--db", str(db), "--service", "B", "--at", f"{day}T14:30"]

    def events() -> int:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT count(*) FROM events").fetchone()[0]
        finally:
            conn.close()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "server.log").open("wb") as log:
        server = start_server(db, port, log)
        try:
            wait_healthy(base, server)
            before = events()
            assert main(args) == 2
            err = capsys.readouterr().err
            assert "in use" in err and "--server URL" in err
            assert events() == before  # nothing written beside the server
            monkeypatch.setenv("BRANCHQ_TOKEN", tokens["manager"])
            assert main([*args, "--server", base]) == 0
            said, qr = capsys.readouterr().out.splitlines()[:2]
            assert said.startswith("booking ") and qr.startswith("BQA1.")
            with client(base, tokens["manager"]) as http:
                listed = http.get("/appointments", params={"day": str(day)}).json()
            assert [a["booking_number"] for a in listed] == [said.split()[1].rstrip(":")]
            # The server's refusal comes back in words with its code.
            assert main([*args, "--server", base, "--token", "bq_not_a_token"]) == 2
            assert capsys.readouterr().err.strip().endswith("(unauthorized)")
        finally:
            stop_process(server)


def test_released_no_shows_are_counted_in_the_report(server, clock):
    came, gone, late = (book(server, "A") for _ in range(3))
    clock.advance(minutes=35)  # 10:35
    assert check_in(server, qr=came["qr"]).json()["outcome"] == "on_time"
    clock.advance(minutes=6)  # 10:41: the grace is over; listing releases the other two
    listed = server.client("booking").get("/appointments").json()
    assert [a["state"] for a in listed] == ["checked_in", "released", "released"]
    clock.advance(minutes=9)  # 10:50: one of them turns up after all
    assert check_in(server, qr=late["qr"]).json()["outcome"] == "late"
    report = server.client("manager").get("/reports").json()["appointments"]
    assert {k: report[k] for k in ("booked", "checked_in", "on_time", "late", "no_shows")} == {
        "booked": 3, "checked_in": 2, "on_time": 1, "late": 1, "no_shows": 1,
    }  # fmt: skip
    assert report["pending"] == 0 and report["no_show_rate"] == round(1 / 3, 4)
    [a] = report["by_business"]
    assert (a["service"], a["no_shows"]) == ("A", 1)
    conn = connect(server.db)
    try:
        states = dict(conn.execute("SELECT booking_number, state FROM appointments").fetchall())
    finally:
        conn.close()
    assert states[gone["booking_number"]] == "released"  # counted from its stored state
