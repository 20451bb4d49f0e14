"""Screenshots of the web pages (display, booking, phone, lobby) in Debian's headless Chromium.

`python -m tools.screenshots.web --out docs/screenshots` (run by `make screenshots`):
serves the demo branch on loopback, issues and calls a few tickets, sets a notice, and saves
display-*.png once the page shows the last call.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from queue_server.notify.settings import URL_ENV
from tools.bench.display import ServedBranch, launch_chromium, served_demo_branch
from tools.screenshots.lobby import shoot_lobby
from tools.screenshots.stale import CONSOLE_NAME, LOBBY_NAME, WEB_NAME, remove_stale
from tools.sms_gateway import SmsGateway

NOTICE = "温馨提示：今日 15:00 后暂停外币兑换业务 · Foreign exchange closes at 15:00 today"
# (file name, query, viewport)
SHOTS = (
    ("display-landscape", "", (1920, 1080)),
    ("display-portrait", "&layout=portrait", (1080, 1920)),
    ("display-zone-accounts-cards", "&zone=C,K,M", (1920, 1080)),
)
WAIT_MS = 15_000


def stage(branch: ServedBranch) -> str:
    """Customers waiting in every business and a few calls; the number called last."""
    with branch.client("kiosk") as kiosk:
        for service, count in (("A", 9), ("B", 5), ("C", 4), ("K", 3), ("M", 2), ("L", 2)):
            for _ in range(count):
                kiosk.post("/tickets", json={"service": service}).raise_for_status()
    last = ""
    for number in (1, 4, 2, 5, 6, 3, 1):
        with branch.client(f"counter:{number}") as teller:
            teller.post(f"/counters/{number}/no-show")  # free the counter if it had a call
            r = teller.post(f"/counters/{number}/call-next")
            r.raise_for_status()
            last = r.json()["ticket"]["number"]
    with branch.client("manager") as manager:
        manager.put("/branch/notice", json={"text": NOTICE}).raise_for_status()
    return last


def shoot(browser: Any, branch: ServedBranch, out: Path, last: str) -> list[Path]:
    saved = []
    for name, query, (width, height) in SHOTS:
        context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
        try:
            page = context.new_page()
            page.route("**/api/v1/voice/*", lambda route: route.abort())  # silence, quickly
            page.goto(branch.display_url(query))
            page.wait_for_function(
                "window.branchqDisplay?.connection === 'live' && "
                "window.branchqDisplay.history.length > 0",
                timeout=WAIT_MS,
            )
            if not query.startswith("&zone"):
                page.wait_for_function(
                    f"window.branchqDisplay.current?.number === {last!r}", timeout=WAIT_MS
                )
            # The highlight animation (3 × 0.8 s) is for the lobby, not for the picture.
            page.add_style_tag(content=".current, .current * { animation: none !important; }")
            page.add_style_tag(content=".notice-track { animation-delay: -4s; }")
            path = out / f"{name}.png"
            page.screenshot(path=str(path))
            saved.append(path)
        finally:
            context.close()
    return saved


def shoot_book(browser: Any, branch: ServedBranch, out: Path) -> list[Path]:
    """The booking page at phone and desktop width: choosing a slot, then the booked slip."""
    with branch.client("manager") as manager:
        tomorrow = manager.get("/public/book/services").json()["days"][1]
        for at, count in (("10:00", 2), ("10:30", 1)):  # account opening takes two a slot
            for _ in range(count):
                body = {"service": "C", "slot_start": f"{tomorrow}T{at}"}
                manager.post("/appointments", json=body).raise_for_status()
    saved = []
    for name, (width, height), slot in (
        ("phone", (390, 844), "11:00"),
        ("desktop", (1280, 900), "11:30"),
    ):
        context = browser.new_context(
            viewport={"width": width, "height": height}, device_scale_factor=2 if width < 600 else 1
        )
        try:
            page = context.new_page()
            page.goto(f"{branch.base_url}/book?service=C&lang=zh")
            # Selectors, not wait_for_function: the page's CSP forbids the eval that needs.
            page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
            page.click(f'#days [data-day="{tomorrow}"]')
            page.click(f'#slots [data-start^="{tomorrow}T{slot}"]')
            saved.append(out / f"book-choose-{name}.png")
            page.screenshot(path=str(saved[-1]), full_page=True)
            page.click("#book")
            page.click("#confirm-ok")
            page.wait_for_selector("body[data-screen=done]", timeout=WAIT_MS)
            saved.append(out / f"book-confirmed-{name}.png")
            page.screenshot(path=str(saved[-1]), full_page=True)
        finally:
            context.close()
    return saved


def shoot_phone(browser: Any, branch: ServedBranch, out: Path) -> list[Path]:
    """The customer's live ticket page on a phone: waiting, late, called, done with rating."""
    with branch.client("kiosk") as kiosk:
        tickets = {
            name: kiosk.post("/tickets", json={"service": code}).raise_for_status().json()
            for name, code in (("waiting", "A"), ("sms", "A"), ("called", "B"), ("done", "K"))
        }
    with branch.client("counter:2") as teller:
        teller.post("/counters/2/no-show")  # free the counter if it had a call
        teller.post("/counters/2/call", json={"ticket_id": tickets["called"]["id"]})
    with branch.client("counter:4") as teller:
        teller.post("/counters/4/no-show")
        teller.post("/counters/4/call", json={"ticket_id": tickets["done"]["id"]})
        teller.post("/counters/4/start").raise_for_status()
        teller.post("/counters/4/finish").raise_for_status()
    # (file name, ticket, language, what to wait for, what to do before the picture)
    shots = (
        ("phone-waiting-zh", "waiting", "zh", "#waiting:not([hidden])", None),
        ("phone-waiting-en", "waiting", "en", "#waiting:not([hidden])", None),
        ("phone-late-zh", "waiting", "zh", "#actions:not([hidden])", "late"),
        ("phone-sms-on-zh", "sms", "zh", "#sms-form:not([hidden])", "sms"),
        ("phone-called-zh", "called", "zh", "#called:not([hidden])", None),
        ("phone-called-en", "called", "en", "#called:not([hidden])", None),
        ("phone-done-rating-zh", "done", "zh", "#rate:not([hidden])", "rate"),
    )
    saved = []
    for name, which, lang, ready, action in shots:
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
        try:
            page = context.new_page()
            page.goto(f"{branch.base_url}/t/{tickets[which]['token']}?lang={lang}")
            page.wait_for_selector(ready, timeout=WAIT_MS)
            if action == "late":
                page.click("#late-open")
                page.wait_for_selector("#late-dialog:not([hidden])", timeout=WAIT_MS)
            elif action == "sms":
                page.fill("#sms-phone", "13912345678")
                page.click("#sms-submit")
                page.wait_for_selector("#sms-on:not([hidden])", timeout=WAIT_MS)
            elif action == "rate":
                page.click(".rate-btn.r4")
                page.fill("#comment", "柜员很耐心，讲解清楚，谢谢！")
                page.dispatch_event("#comment", "input")
            # The call's flash is for the customer's eye, not for the picture; no sound bar.
            # A click scrolls its button into view: back to the top, so the header shows.
            page.evaluate(
                "document.getElementById('called').classList.remove('flash');"
                "document.getElementById('sound').hidden = true;"
                "window.scrollTo(0, 0)"
            )
            saved.append(out / f"{name}.png")
            page.screenshot(path=str(saved[-1]), full_page=action is None)
        finally:
            context.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    # The phone page offers texts only where a gateway is set: the stand-in one, on loopback.
    gateway = SmsGateway().start()
    os.environ[URL_ENV] = gateway.url  # read by the branch server this starts
    with served_demo_branch(prefix="branchq-shots-") as branch, sync_playwright() as pw:
        last = stage(branch)
        browser = launch_chromium(pw)
        written: list[Path] = []
        try:
            written += shoot(browser, branch, args.out, last)
            written += shoot_book(browser, branch, args.out)
            written += shoot_phone(browser, branch, args.out)
            written += shoot_lobby(browser, branch, args.out)
        finally:
            browser.close()
            gateway.stop()
    # The head office's console: its own PostgreSQL and seeded network, after the branch's.
    from tools.screenshots.central import render as render_console

    written += render_console(args.out)
    for path in written:
        print(f"  {path}")
    for path in remove_stale(args.out, written, [WEB_NAME, LOBBY_NAME, CONSOLE_NAME]):
        print(f"  removed {path.name} (no longer drawn)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
