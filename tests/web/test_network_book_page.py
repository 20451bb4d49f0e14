"""The head office's /book page in Debian's Chromium on a phone (390×844): a customer picks a
business, shares their location, sees two real branches ranked by wait + travel, picks the
one that serves them soonest and a time, and gets the QR code that branch's kiosk takes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PIN, FakeClock

from tools.bench.display import launch_chromium
from tools.booking_network import Network, start_network

WAIT_MS = 10_000
PHONE = {"width": 390, "height": 844}
NEAR_EAST = {"latitude": 31.2300, "longitude": 121.5195}
SLOT = "2026-11-27T11:00:00+08:00"


@pytest.fixture
def network(
    central_dsn: str, tmp_path: Path, template_db: tuple[Path, dict[str, str]], clock: FakeClock
) -> Iterator[Network]:
    template, tokens = template_db
    net = start_network(central_dsn, tmp_path, template, tokens, clock)
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture
def phone() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path("/usr/bin/chromium").exists():
        pytest.fail("Debian's Chromium is missing: run `make setup` as root", pytrace=False)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(
            viewport=PHONE, geolocation=NEAR_EAST, permissions=["geolocation"],
            ignore_https_errors=True, locale="zh-CN",
        )  # fmt: skip
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def test_a_customer_books_the_branch_that_serves_them_soonest(network: Network, phone: Any) -> None:
    east, west = network.branches["sh-east"], network.branches["sh-west"]
    for b in (east, west):
        teller = b.client("counter:1", network.cert)
        signed = teller.post("/counters/1/sign-in", json={"staff_id": "t1", "pin": PIN})
        assert signed.status_code == 200, signed.text
    kiosk = east.client("kiosk", network.cert)
    for _ in range(12):
        assert kiosk.post("/tickets", json={"service": "A"}).status_code == 201
    assert network.heard("sh-east", lambda r: (r["waits"]["A"]["wait_min"] or 0) >= 30)
    assert network.heard("sh-west", lambda r: r["waits"]["A"]["wait_min"] == 0)

    problems: list[str] = []
    phone.on("pageerror", lambda e: problems.append(str(e)))
    phone.on("console", lambda m: m.type == "error" and problems.append(m.text))
    phone.goto(network.centre_url + "/book")
    phone.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    assert phone.text_content("h1") == "就近少等 · 网点预约"  # Chinese first
    phone.click('#services [data-code="A"]')
    phone.wait_for_selector("body[data-located=false] #branches li[data-branch]", timeout=WAIT_MS)
    phone.click("#locate")
    phone.wait_for_selector("body[data-located=true]", timeout=WAIT_MS)
    cards = phone.locator("#branches li[data-branch]")
    assert [cards.nth(i).get_attribute("data-branch") for i in range(cards.count())] == [
        "sh-west", "sh-east",
    ]  # fmt: skip
    first = cards.nth(0).text_content() or ""
    assert "上海西康路支行" in first and "公里" in first and "合计约" in first

    phone.click("#language")
    assert phone.text_content("h1") == "Shortest wait · Book a branch"
    assert "min in all" in (cards.nth(0).text_content() or "")
    phone.click("#language")

    cards.nth(0).locator(".pick").click()
    phone.click(f'#slots [data-start="{SLOT}"]', timeout=WAIT_MS)
    phone.click("#book")
    phone.wait_for_selector("body[data-screen=done]", timeout=WAIT_MS)
    qr = phone.text_content("#qr-text") or ""
    number = phone.text_content("#done-number") or ""
    assert qr.startswith("BQA1.") and len(number) == 8
    assert phone.is_visible("#qr img")
    assert phone.evaluate("document.querySelector('#qr img').naturalWidth") > 0
    wide = phone.evaluate("document.documentElement.scrollWidth")
    assert wide <= PHONE["width"]  # nothing runs off a phone's screen
    booked = west.client("booking", network.cert).get("/appointments").json()
    assert [(a["booking_number"], a["slot_start"]) for a in booked] == [(number, SLOT)]
    checked = west.client("kiosk", network.cert).post("/appointments/check-in", json={"qr": qr})
    assert checked.status_code == 201, checked.text
    assert not problems
