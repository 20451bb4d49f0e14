"""The booking page in Debian's Chromium, and the booking loop end to end through the kiosk.

A customer books on /book (headless Chromium, against a real server on loopback with a fake
clock); the QR code the page shows is photographed and held under the kiosk's camera (an
image file as the camera, the real scanner and kiosk code); a counter's call-next then calls
that customer first at the slot. The page runs under the server's real CSP, so the tests
wait with CSS selectors (Playwright's wait_for_function would need eval).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import pytest
from conftest import LiveServer, sign_in
from kiosk_fixtures import WAIT_MS as KIOSK_WAIT_MS

from queue_server.domain.appointments import Appointment, sign_token
from tools.bench.display import launch_chromium
from tools.fixtures.qrframes import place_on_canvas

WAIT_MS = 10_000
PHONE = {"width": 390, "height": 844}
# The clock fixture starts at 10:00 in Shanghai on Friday 2026-11-27.
SLOT = "2026-11-27T10:30:00+08:00"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path("/usr/bin/chromium").exists():
        pytest.fail("Debian's Chromium is missing: run `make setup` as root", pytrace=False)
    with sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE)
    try:
        yield context.new_page()
    finally:
        context.close()


def open_page(page: Any, server: LiveServer, query: str = "") -> None:
    problems: list[str] = []

    def console(message: Any) -> None:
        # A refused API call shows as "Failed to load resource"; those are checked below.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    def response(answer: Any) -> None:
        if answer.status >= 400 and "/api/v1/public/book" not in answer.url:
            problems.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("response", response)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{server.base_url}/book{query}")
    page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    page.problems = problems  # checked by the tests: no script error, no CSP violation


def book_on_page(page: Any, service: str, slot: str) -> dict[str, str]:
    """Tap the business, the slot's day and the slot, book, confirm; what the slip shows."""
    page.click(f'#services [data-code="{service}"]')
    page.click(f'#days [data-day="{slot[:10]}"]')
    page.click(f'#slots [data-start="{slot}"]')
    page.click("#book")
    page.click("#confirm-ok")
    page.wait_for_selector("body[data-screen=done]", timeout=WAIT_MS)
    return {
        "qr": page.text_content("#qr-text") or "",
        "number": page.text_content("#done-number") or "",
        "code": page.text_content("#done-code") or "",
        "when": page.text_content("#done-when") or "",
    }


def test_a_booking_made_on_the_page_is_scanned_at_the_kiosk_and_called_first(
    page, server: LiveServer, clock, make_kiosk, qtbot, tmp_path
):
    from kiosk.flow import Screen
    from kiosk.peripherals import KioskPeripherals

    open_page(page, server)
    assert page.text_content("h1") == "预约办理"  # Chinese first
    slip = book_on_page(page, "C", SLOT)
    assert slip["qr"].startswith("BQA1.") and len(slip["number"]) == 8
    assert "10:30–11:00" in slip["when"]
    assert page.is_visible("#qr svg") and page.is_visible("#save") and page.is_visible("#print")
    listed = server.client("booking").get("/appointments").json()
    assert [(a["booking_number"], a["state"]) for a in listed] == [(slip["number"], "booked")]

    # The phone's screen, as the kiosk's camera sees it: the page's own QR picture.
    shot = tmp_path / "qr.png"
    page.locator("#qr").screenshot(path=str(shot))
    phone = tmp_path / "phone.png"
    cv2.imwrite(str(phone), place_on_canvas(cv2.imread(str(shot))))
    assert not page.problems

    # 10:20: a regular customer for account opening queues first. (Much earlier, and the
    # accumulating priority would rightly put them first after all: no one waits for ever.)
    clock.advance(minutes=20)
    regular = server.client("kiosk").post("/tickets", json={"service": "C"}).json()
    clock.advance(minutes=5)  # 10:25: the booked customer arrives and shows the phone
    peripherals = KioskPeripherals(None, [f"file://{phone}"])
    try:
        window = make_kiosk(server.base_url, server.tokens["kiosk"], peripherals=peripherals)
        peripherals.start()
        qtbot.waitUntil(lambda: window.flow.screen is Screen.TICKET, timeout=KIOSK_WAIT_MS)
        ticket = window.flow.ticket
        assert ticket.appointment_note == "kiosk.qr.early_checked_in"
    finally:
        peripherals.stop()
    on_server = server.client("manager").get(f"/tickets/{ticket.id}").json()
    assert on_server["priority"] == "appointment" and on_server["source"] == "appointment"

    teller = sign_in(server, 3)
    clock.advance(minutes=6)  # 10:31: the slot has begun
    called = teller.post("/counters/3/call-next").json()["ticket"]
    assert called["id"] == ticket.id  # before the regular customer who came earlier
    teller.post("/counters/3/start")
    teller.post("/counters/3/finish")
    assert teller.post("/counters/3/call-next").json()["ticket"]["id"] == regular["id"]

    # The same code again, a forged one and another branch's are refused at the kiosk.
    kiosk = server.client("kiosk")

    def check_in(qr: str) -> str:
        return kiosk.post("/appointments/check-in", json={"qr": qr}).json()["error"]["code"]

    assert check_in(slip["qr"]) == "appointment_used"
    head, payload, mac = slip["qr"].split(".")
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]  # the last character is part padding
    assert check_in(f"{head}.{payload}.{flipped}") == "appointment_forged"
    booking = server.client("booking").get("/appointments").json()[0]
    start = datetime.fromisoformat(booking["slot_start"])
    elsewhere = Appointment(booking["id"], slip["number"], "C", start, start, start, "AbCdEf")
    assert check_in(sign_token(elsewhere, "other-branch", b"k" * 32)) == "appointment_wrong_branch"


def test_the_page_in_english_greys_full_slots_and_cancels_from_the_slip(page, server):
    for _ in range(3):  # three counters serve A: 11:00 is full
        r = server.client("booking").post(
            "/appointments", json={"service": "A", "slot_start": "2026-11-27T11:00"}
        )
        assert r.status_code == 201
    open_page(page, server)
    page.click("#language")
    assert page.text_content("h1") == "Book a visit"
    page.click('#services [data-code="A"]')
    assert page.text_content('#services [data-code="A"] .service-name') == "Cash"
    full = page.locator('#slots [data-start="2026-11-27T11:00:00+08:00"]')
    assert full.is_disabled() and "Full" in (full.text_content() or "")
    past = page.locator('#slots [data-start="2026-11-27T09:30:00+08:00"]')
    assert past.is_disabled() and "Past" in (past.text_content() or "")
    assert page.is_disabled("#book")
    slip = book_on_page(page, "A", "2026-11-27T11:30:00+08:00")
    assert page.text_content(".done-title") == "You are booked"
    with page.expect_download(timeout=WAIT_MS) as saving:
        page.click("#save")
    download = saving.value
    assert download.suggested_filename == f"booking-{slip['number']}.png"
    assert Path(download.path()).read_bytes().startswith(b"\x89PNG")

    # The booking stays on this device: a reload lists it and shows its slip again.
    page.reload()
    page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    assert slip["number"] in (page.text_content("#mine-list") or "")
    assert page.text_content("h1") == "Book a visit"  # the language choice is kept too
    page.click("#mine-list button")
    page.wait_for_selector("body[data-screen=done]")
    assert page.text_content("#done-code") == slip["code"]
    page.click("#done-cancel")
    page.click("#ask-yes")
    page.wait_for_selector("body[data-screen=choose]", timeout=WAIT_MS)
    assert page.text_content("#page-note") == (
        "Your booking is cancelled and its time is free again."
    )
    assert page.is_hidden("#mine")
    states = {a["booking_number"]: a["state"] for a in server.client("booking").get(
        "/appointments").json()}  # fmt: skip
    assert states[slip["number"]] == "cancelled"
    assert not page.problems


def test_cancelling_by_number_and_code_on_the_form(page, server):
    booked = (
        server.client(None)
        .post("/public/book", json={"service": "B", "slot_start": "2026-11-27T14:00"})
        .json()
    )
    open_page(page, server)
    page.click("#open-cancel")
    page.fill("#cancel-number", booked["booking_number"])
    page.fill("#cancel-code", "ACDE3467")
    page.click("#cancel-submit")
    page.wait_for_selector("#cancel-error:visible", timeout=WAIT_MS)
    assert page.text_content("#cancel-error") == "预约号或取消码不正确"
    page.fill("#cancel-code", booked["cancel_code"].lower())
    page.click("#cancel-submit")
    page.wait_for_selector("#cancel-done:visible", timeout=WAIT_MS)
    assert page.text_content("#cancel-done") == "预约已取消，该时段已释放。"
    [listed] = server.client("booking").get("/appointments").json()
    assert listed["state"] == "cancelled"
    assert not page.problems
