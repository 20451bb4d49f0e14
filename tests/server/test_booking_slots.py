"""Free slots, the public booking endpoints with their limits, and capacity under a rush."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest

from queue_server.domain.appointments import AppointmentRules, day_slots
from queue_server.security.limits import PublicGate, PublicLimits
from queue_server.storage import connect

# The clock fixture starts at 10:00 in Shanghai on Friday 2026-11-27.
DAY = "2026-11-27"
SLOT = "2026-11-27T10:30:00+08:00"
PUBLIC = "/public/book"


def slots(server, day=DAY, service="A", role="booking"):
    r = server.client(role).get("/appointments/slots", params={"day": day, "service": service})
    assert r.status_code == 200, r.text
    return {s["slot_start"][11:16]: s for s in r.json()}


def book(server, service="A", slot=SLOT):
    return server.client("booking").post(
        "/appointments", json={"service": service, "slot_start": slot}
    )


def public(server):
    return server.client(None)


def public_book(server, service="C", slot=SLOT, **extra):
    return public(server).post(PUBLIC, json={"service": service, "slot_start": slot, **extra})


def refused(response, status, code):
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text
    return response.json()["error"]


def set_limits(server, **limits) -> None:
    app = server.app
    app.state.public_booking_gate = PublicGate(PublicLimits(**limits))


def db_rows(server, sql):
    conn = connect(server.db)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


# ------------------------------------------------------------------ the slot list
def test_a_day_lists_every_slot_within_the_hours_with_capacity_and_room(server, clock):
    assert book(server).status_code == 201
    assert book(server).status_code == 201
    cancelled = book(server, slot="2026-11-27T11:00:00+08:00").json()
    server.client("booking").post(f"/appointments/{cancelled['id']}/cancel")
    day = slots(server)
    # No hours of its own: the rules' 09:00-17:00, one slot every 30 minutes.
    assert list(day) == [f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 30)]
    assert day["10:30"] == {
        "slot_start": SLOT,
        "slot_end": "2026-11-27T11:00:00+08:00",
        "capacity": 3,  # three counters serve A as a regular skill
        "booked": 2,
        "free": 1,
        "bookable": True,
    }
    assert day["11:00"]["booked"] == 0 and day["11:00"]["free"] == 3  # cancelled: free again
    assert [t for t, s in day.items() if not s["bookable"]] == ["09:00", "09:30", "10:00"]
    assert slots(server, service="C")["10:30"]["capacity"] == 1


def test_a_full_slot_shows_no_room_and_checked_in_bookings_still_count(server, clock):
    for _ in range(3):
        assert book(server).status_code == 201
    first = server.client("booking").get("/appointments").json()[0]
    clock.advance(minutes=30)
    qr = server.client("booking").get(f"/appointments/{first['id']}").json()["qr"]
    assert server.client("kiosk").post("/appointments/check-in", json={"qr": qr}).status_code == 201
    slot = slots(server)["10:30"]
    assert (slot["booked"], slot["free"], slot["bookable"]) == (3, 0, False)  # started


def test_the_horizon_ends_bookable_slots(server):
    last_day = (date(2026, 11, 27) + timedelta(days=90)).isoformat()
    day = slots(server, day=last_day)
    assert day["10:00"]["bookable"] and not day["10:30"]["bookable"]
    assert slots(server, day="2026-11-26")["16:30"]["bookable"] is False


def test_the_slot_list_refuses_bad_questions(server):
    booking = server.client("booking")
    refused(booking.get("/appointments/slots", params={"day": DAY, "service": "Z"}), 404,
            "unknown_service")  # fmt: skip
    for params in ({"day": "tomorrow", "service": "A"}, {"service": "A"}, {"day": DAY}):
        refused(booking.get("/appointments/slots", params=params), 422, "invalid_request")
    for day in ("2025-11-25", "2027-02-27"):
        r = booking.get("/appointments/slots", params={"day": day, "service": "A"})
        refused(r, 422, "day_out_of_range")  # a year back to the end of the horizon
    for day in ("0001-01-01", "9999-12-31"):  # not a business day at all
        r = booking.get("/appointments/slots", params={"day": day, "service": "A"})
        refused(r, 422, "invalid_request")


def test_day_slots_follow_a_business_s_own_hours_and_the_local_day():
    rules = AppointmentRules(slot_min=60)
    now = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    offers = day_slots(
        date(2026, 11, 27),
        now,
        rules,
        "Asia/Shanghai",
        hours=(time(8, 0), time(12, 0)),
        capacity=2,
        booked={datetime(2026, 11, 27, 3, 0, tzinfo=UTC): 2},
    )
    assert [(o.start.hour, o.booked, o.free, o.bookable) for o in offers] == [
        (0, 0, 2, False),  # 08:00 local is 00:00 UTC
        (1, 0, 2, False),
        (2, 0, 2, False),  # 10:00: starting now
        (3, 2, 0, True),  # 11:00: full, yet not past (the page greys it by free == 0)
    ]
    open_ended = day_slots(
        date(2026, 11, 27), now, rules, "Asia/Shanghai", hours=(None, None), capacity=1, booked={}
    )
    assert len(open_ended) == 24 and open_ended[0].start.hour == 16  # 00:00 local, the 26th UTC


# ------------------------------------------------------------ the public endpoints
def test_the_public_offer_needs_no_token_and_tells_what_to_bring(server):
    r = public(server).get(f"{PUBLIC}/services")
    assert r.status_code == 200, r.text
    offer = r.json()
    assert offer["today"] == DAY and offer["slot_min"] == 30
    assert offer["days"] == [(date(2026, 11, 27) + timedelta(days=n)).isoformat() for n in range(7)]
    assert [s["code"] for s in offer["services"]] == ["A", "B", "C"]
    assert offer["services"][2]["names"] == {"zh": "开户", "en": "Accounts"}
    day = public(server).get(f"{PUBLIC}/slots", params={"day": DAY, "service": "C"}).json()
    assert set(day[0]) == {"slot_start", "slot_end", "free", "bookable"}  # no counts
    assert [s["slot_start"][11:16] for s in day if s["bookable"]][:2] == ["10:30", "11:00"]


def test_a_customer_books_gets_a_qr_and_cancels_with_the_code(server, clock):
    r = public_book(server)
    assert r.status_code == 201, r.text
    booked = r.json()
    assert set(booked) == {
        "booking_number", "cancel_code", "service", "slot_start", "slot_end", "state", "qr",
        "qr_svg",
    }  # fmt: skip
    assert booked["qr"].startswith("BQA1.") and booked["slot_start"] == SLOT
    assert booked["qr_svg"].startswith("<svg") and "<path" in booked["qr_svg"]
    assert len(booked["cancel_code"]) == 8 and booked["cancel_code"] != booked["booking_number"]
    # The place is taken for everyone (C takes one booking per slot) …
    refused(public_book(server), 409, "slot_full")
    day = public(server).get(f"{PUBLIC}/slots", params={"day": DAY, "service": "C"}).json()
    assert {s["slot_start"]: s["bookable"] for s in day}[SLOT] is False
    # … and the bank's list shows it like any other booking.
    listed = server.client("booking").get("/appointments").json()
    assert [a["booking_number"] for a in listed] == [booked["booking_number"]]

    cancel = public(server).post
    number = booked["booking_number"]
    wrong = cancel(f"{PUBLIC}/cancel", json={"booking_number": number, "cancel_code": "ACDE3467"})
    unknown = cancel(
        f"{PUBLIC}/cancel", json={"booking_number": "ACDE3467", "cancel_code": "ACDE3467"}
    )
    assert refused(wrong, 404, "booking_not_found") == refused(unknown, 404, "booking_not_found")
    typed = {"booking_number": number.lower(), "cancel_code": booked["cancel_code"].lower()}
    r = cancel(f"{PUBLIC}/cancel", json=typed)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "booking_number": number, "service": "C", "slot_start": SLOT, "state": "cancelled"
    }  # fmt: skip
    refused(cancel(f"{PUBLIC}/cancel", json=typed), 409, "appointment_cancelled")
    refused(
        server.client("kiosk").post("/appointments/check-in", json={"qr": booked["qr"]}),
        409,
        "appointment_cancelled",
    )
    assert public_book(server).status_code == 201  # the place is free again


def test_cancelling_with_the_qr_text_and_its_refusals(server, clock):
    booked = public_book(server, "A").json()
    moved = public_book(server, "A").json()
    booking = server.client("booking")
    [_, second] = booking.get("/appointments").json()
    booking.patch(f"/appointments/{second['id']}", json={"slot_start": "2026-11-27T11:00"})
    cancel = public(server).post
    refused(cancel(f"{PUBLIC}/cancel", json={"qr": moved["qr"]}), 409, "appointment_superseded")
    refused(cancel(f"{PUBLIC}/cancel", json={"qr": booked["qr"][:-2] + "AA"}), 422,
            "appointment_forged")  # fmt: skip
    r = cancel(f"{PUBLIC}/cancel", json={"qr": booked["qr"]})
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    clock.advance(minutes=30)
    used = public_book(server, "A", "2026-11-27T11:30").json()
    clock.advance(minutes=30)
    kiosk = server.client("kiosk")
    assert kiosk.post("/appointments/check-in", json={"qr": used["qr"]}).status_code == 201
    error = refused(cancel(f"{PUBLIC}/cancel", json={"qr": used["qr"]}), 409, "appointment_used")
    assert "ticket_number" not in error  # nothing about the visit to whoever holds the code


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"booking_number": "ACDE3467"},
        {"cancel_code": "ACDE3467"},
        {"qr": "x", "booking_number": "ACDE3467"},
        {"qr": "x", "booking_number": "ACDE3467", "cancel_code": "ACDE3467"},
        {"booking_number": "<script>", "cancel_code": "ACDE3467"},
    ],
)
def test_bad_cancel_bodies_are_422(server, body):
    refused(public(server).post(f"{PUBLIC}/cancel", json=body), 422, "invalid_request")


def test_the_public_page_books_only_what_it_offers(server):
    for slot, status, code in [
        ("2026-11-27T08:00:00+08:00", 422, "slot_not_offered"),  # before the hours
        ("2026-11-27T17:00:00+08:00", 422, "slot_not_offered"),  # ends after them
        ("2026-11-27T10:40:00+08:00", 422, "slot_not_offered"),  # not a slot
        ("2026-11-27T09:30:00+08:00", 422, "slot_in_past"),
        ("2026-12-04T10:30:00+08:00", 422, "day_not_offered"),  # the eighth day
    ]:
        refused(public_book(server, "A", slot), status, code)
    refused(public_book(server, "Z"), 404, "unknown_service")
    refused(public_book(server, phone="13800138000"), 422, "invalid_request")  # no such field
    refused(public(server).get(f"{PUBLIC}/slots", params={"day": "2026-12-04", "service": "A"}),
            422, "day_not_offered")  # fmt: skip
    # The bank's own channel keeps its wider rules.
    assert book(server, "A", "2026-11-28T08:00:00+08:00").status_code == 201


def test_one_address_gets_a_few_bookings_a_day_and_a_few_writes_a_window(server, clock):
    slots_a = [f"2026-11-27T{h}:00:00+08:00" for h in (11, 12, 13, 14)]
    for slot in slots_a[:3]:
        assert public_book(server, "A", slot).status_code == 201
    error = refused(public_book(server, "A", slots_a[3]), 429, "too_many_requests")
    assert "3 bookings a day" in error["message"]
    # Failed attempts count against the write rate (here: 10 in 10 minutes), not the day's.
    set_limits(server, bookings_per_day=3, writes_per_window=10)
    for _ in range(10):
        refused(public_book(server, "Z"), 404, "unknown_service")
    r = public_book(server, "Z")
    refused(r, 429, "too_many_requests")
    assert 1 <= int(r.headers["Retry-After"]) <= 600
    cancel = {"booking_number": "ACDE3467", "cancel_code": "ACDE3467"}
    refused(public(server).post(f"{PUBLIC}/cancel", json=cancel), 429, "too_many_requests")
    clock.advance(minutes=10)
    refused(public(server).post(f"{PUBLIC}/cancel", json=cancel), 404, "booking_not_found")
    assert public_book(server, "A", slots_a[3]).status_code == 201  # a new gate: a new count
    clock.advance(days=1)  # a new day, a new allowance (from the same gate)
    for slot in slots_a[:3]:
        assert public_book(server, "B", slot.replace("27T", "28T")).status_code == 201


def test_reading_is_limited_too(server):
    set_limits(server, reads_per_minute=5)
    for _ in range(5):
        assert public(server).get(f"{PUBLIC}/services").status_code == 200
    refused(public(server).get(f"{PUBLIC}/services"), 429, "too_many_requests")


def test_the_page_and_its_files_are_served_without_a_token(server):
    anonymous = httpx.Client(base_url=server.base_url, timeout=10)
    try:
        page = anonymous.get("/book")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        for name in ("book.js", "book.css"):
            assert anonymous.get(f"/book/{name}").status_code == 200
        assert anonymous.get("/book/secret.py").status_code == 404
        text = anonymous.get("/book/text.json").json()
        assert set(text) >= {"zh", "en"} and set(text["zh"]) == set(text["en"])
        assert all(key.startswith("book.") for key in text["zh"])
    finally:
        anonymous.close()


# ------------------------------------------------------------ capacity under a rush
async def _rush(base_url: str, headers: dict[str, str], path: str, body: dict, n: int) -> list:
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
        return await asyncio.gather(*(http.post(path, json=body) for _ in range(n)))


@pytest.mark.parametrize("channel", ["booking", "public"])
def test_a_rush_on_one_slot_books_exactly_its_capacity(server, channel):
    before_events = db_rows(server, "SELECT kind FROM events")
    snapshot = server.client("admin").get("/snapshot").json()
    if channel == "booking":
        headers = {"Authorization": f"Bearer {server.tokens['booking']}"}
        path = "/api/v1/appointments"
    else:
        set_limits(server, writes_per_window=100, bookings_per_day=100)
        headers, path = {}, "/api/v1/public/book"
    body = {"service": "A", "slot_start": SLOT}
    answers = asyncio.run(_rush(server.base_url, headers, path, body, 40))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] * 3 + [409] * 37  # three counters serve A: three per slot
    for r in answers:
        if r.status_code == 409:
            error = r.json()["error"]
            assert error["code"] == "slot_full" and error["slot_start"] == SLOT
            assert "3" in error["message"]
    winners = [r.json()["booking_number"] for r in answers if r.status_code == 201]
    assert len(set(winners)) == 3
    # Nothing else changed: three bookings, three events, the same queue.
    rows = db_rows(server, "SELECT booking_number, service, slot_start, state FROM appointments")
    assert sorted(r[0] for r in rows) == sorted(winners)
    assert {r[1:] for r in rows} == {("A", "2026-11-27T02:30:00+00:00", "booked")}
    after_events = db_rows(server, "SELECT kind FROM events")
    assert after_events[len(before_events) :] == [("appointment.booked",)] * 3
    now = server.client("admin").get("/snapshot").json()
    assert json.dumps(now["tickets"]) == json.dumps(snapshot["tickets"])
    assert now["counters"] == snapshot["counters"]
    assert slots(server)["10:30"]["free"] == 0
    assert book(server, "A", "2026-11-27T11:00").status_code == 201  # other slots unaffected


def test_bookable_hours_come_from_the_config():
    import copy

    import pytest
    from conftest import TEST_CONFIG

    from queue_server.config import ConfigError, parse_config

    config = copy.deepcopy(TEST_CONFIG)
    config["appointments"] = {"opens": "08:30", "closes": "16:00"}
    rules = parse_config(config).appointments
    assert (rules.opens.isoformat(), rules.closes.isoformat()) == ("08:30:00", "16:00:00")
    config["appointments"] = {"opens": "16:00", "closes": "08:30"}
    with pytest.raises(ConfigError, match="opens must be before closes"):
        parse_config(config)
