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


def east_busy_west_quiet(network: Network) -> tuple[Any, Any]:
    """A counter open for A at both; twelve queue at sh-east (a wait of 30 min and more)."""
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
    return east, west


def test_a_customer_books_the_branch_that_serves_them_soonest(network: Network, phone: Any) -> None:
    _, west = east_busy_west_quiet(network)

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


LATER = "2026-11-28T14:00:00+08:00"  # tomorrow afternoon: the fake clock is 10:00 on the 27th
NEXT = "2026-11-28T14:30:00+08:00"


def test_a_customer_picks_a_later_time_sees_the_branches_re_ranked_and_books_it(
    network: Network, phone: Any
) -> None:
    """Now the quiet far branch wins; tomorrow at 14:00 both have room, so the near one does.
    The time the list was ranked for is the one booked; when it fills meanwhile, the page
    says so and books the branch's next time with one more tap."""
    east, west = east_busy_west_quiet(network)

    problems: list[str] = []
    phone.on("pageerror", lambda e: problems.append(str(e)))
    phone.goto(network.centre_url + "/book")
    phone.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    phone.click('#services [data-code="A"]')
    phone.click("#locate")
    phone.wait_for_selector("body[data-located=true][data-ranked=now]", timeout=WAIT_MS)
    cards = phone.locator("#branches li[data-branch]")

    def order() -> list[str | None]:
        return [cards.nth(i).get_attribute("data-branch") for i in range(cards.count())]

    assert order() == ["sh-west", "sh-east"]
    assert phone.get_attribute("#now", "aria-checked") == "true"

    tomorrow = phone.locator('#time-days [data-day="2026-11-28"]')
    assert (tomorrow.text_content() or "") == "明天11月28日"  # written by the page, not the locale
    tomorrow.click()
    later = phone.locator(f'#time-slots [data-start="{LATER}"]')
    box = later.bounding_box()
    assert box is not None and box["height"] >= 56 and box["width"] >= 96  # a finger's target
    later.click()
    phone.wait_for_selector("body[data-ranked=slot]", timeout=WAIT_MS)
    assert order() == ["sh-east", "sh-west"]
    assert phone.get_attribute("#now", "aria-checked") == "false"
    assert "11月28日 周六 14:00" in (phone.text_content("#ranked-for") or "")
    assert "14:00 还有" in (cards.nth(0).text_content() or "")

    cards.nth(0).locator(".pick").click()
    chosen = phone.locator(f'#slots [data-start="{LATER}"][aria-checked=true]')
    chosen.wait_for(timeout=WAIT_MS)  # the ranked-for time is already chosen: one tap left
    # Someone else takes every place of that time at the branch before the customer taps.
    desk = east.client("booking", network.cert)
    while (r := desk.post("/appointments", json={"service": "A", "slot_start": LATER})).is_success:
        pass
    assert r.json()["error"]["code"] == "slot_full"
    phone.click("#book")
    phone.wait_for_selector("body[data-screen=taken]", timeout=WAIT_MS)
    assert "11月28日 周六 14:00 刚刚约满了" in (phone.text_content("#taken-text") or "")
    assert (phone.text_content("#take-next") or "") == "改约 11月28日 周六 14:30"
    phone.click("#take-next")
    phone.wait_for_selector("body[data-screen=done]", timeout=WAIT_MS)
    assert (phone.text_content("#done-when") or "") == "11月28日 周六 14:30–15:00"
    number = phone.text_content("#done-number") or ""
    day = {"day": "2026-11-28"}
    mine = [
        a for a in desk.get("/appointments", params=day).json() if a["booking_number"] == number
    ]
    assert [a["slot_start"] for a in mine] == [NEXT]  # at the branch that owns the slot
    assert not west.client("booking", network.cert).get("/appointments", params=day).json()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert not problems
