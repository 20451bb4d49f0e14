"""Screenshots of the lobby manager's app (/lobby) on a phone and a tablet, every screen.

`python -m tools.screenshots.lobby --out docs/screenshots` (and `make screenshots`, through
tools.screenshots.web): serves the demo branch on loopback, fills the hall (customers in
every business, one at risk, one on hold with priority, an appointment due), signs the demo
lobby manager in and saves lobby-<screen>-<phone|tablet>.png.

The run fails when a screen does not fit: the page wider than the screen (a sideways pan on a
phone), or a button or field reaching past its right edge or cut by its own box. The two
other orientations (phone on its side, tablet upright) are checked the same way, unsaved.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tools.bench.display import ServedBranch, launch_chromium, served_demo_branch
from tools.demo import DEMO_PIN, LOBBY_STAFF, RM_STAFF
from tools.screenshots.stale import LOBBY_NAME, remove_stale

WAIT_MS = 15_000
HOOK = "window.branchqLobby"
SIZES = {"phone": (390, 844), "tablet": (1024, 768)}
TURNED = {"phone-landscape": (844, 390), "tablet-portrait": (768, 1024)}

# What does not fit, found in the page: one line per problem ([] when all fits).
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  if (document.documentElement.scrollWidth > width) {
    problems.push(`the page is ${document.documentElement.scrollWidth} px wide on ${width}`);
  }
  const seen = (el) => el.offsetParent !== null || getComputedStyle(el).position === "fixed";
  for (const el of document.querySelectorAll("button, input, select, textarea, .tile, .row-btn")) {
    if (!seen(el)) continue;
    const box = el.getBoundingClientRect();
    const name = el.id || el.dataset.code || el.dataset.number || el.textContent.slice(0, 20);
    if (box.left < 0 || box.right > width + 0.5) {
      problems.push(`${el.tagName.toLowerCase()} ${name}: ${box.left}–${box.right} on ${width}`);
    }
    if (el.tagName === "BUTTON" && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`button ${name}: its text needs ${el.scrollWidth} px, has ${el.clientWidth}`);
    }
    if (el.tagName === "BUTTON" && box.height < 44) {
      problems.push(`button ${name}: ${box.height} px high, under a finger's 44`);
    }
  }
  return problems;
}"""


class Overflow(AssertionError):
    """A lobby screen does not fit the device it runs on."""


def stage(branch: ServedBranch) -> dict[str, Any]:
    """A busy hall: customers everywhere, one on hold with priority; the relationship
    manager's day. What the shots open."""
    tickets: dict[str, Any] = {}
    with branch.client("kiosk") as kiosk:
        for service, count in (("A", 7), ("B", 4), ("C", 3), ("K", 2), ("M", 1)):
            for _ in range(count):
                t = kiosk.post("/tickets", json={"service": service}).raise_for_status().json()
                tickets.setdefault(service, t)  # the first of each business
    lobby = lobby_client(branch, LOBBY_STAFF[0])
    held = tickets["C"]
    lobby.post(f"/lobby/tickets/{held['id']}/care", json={"reason": "老年人，行动不便"})
    lobby.post(f"/lobby/tickets/{held['id']}/hold", json={"reason": "回家取户口本"})
    lobby.post(f"/lobby/tickets/{held['id']}/note", json={"text": "已核对身份证"})
    stage_my_day(branch)
    return {"ticket": tickets["A"]["number"], "held": held["number"]}


def stage_my_day(branch: ServedBranch) -> None:
    """The relationship manager's day: their bookings today (the first checked in when the
    check-in window allows), and a visit made an hour ago with what was collected and a
    follow-up. The server runs on the real clock: late at night there is no slot left today,
    and the day shows the visit alone."""
    zone = ZoneInfo(branch.config.settings.timezone)
    now = datetime.now(zone).replace(second=0, microsecond=0)
    with branch.client("manager") as manager:
        slots = manager.get(
            "/appointments/slots", params={"service": "C", "day": now.date().isoformat()}
        )
        free = [s for s in slots.json() if s["bookable"] and s["free"]] if slots.is_success else []
        booked = []
        for slot in free[:2]:
            body = {"service": "C", "slot_start": slot["slot_start"], "staff_id": RM_STAFF[0]}
            r = manager.post("/appointments", json=body)
            if r.is_success:
                booked.append(r.json())
        if booked:  # refused outside its check-in window: then nobody has arrived yet
            manager.post(
                "/appointments/check-in", json={"booking_number": booked[0]["booking_number"]}
            )
    rm = lobby_client(branch, RM_STAFF[0])
    visit: dict[str, Any] = {
        "service": "C",
        "at": (now - timedelta(hours=1)).isoformat(),
        "documents_collected": ["营业执照复印件", "法人身份证复印件", "近三个月流水"],
    }
    if len(free) > 2:
        visit["follow_up_slot"] = free[2]["slot_start"]
    rm.post("/lobby/visits", json=visit).raise_for_status()


def lobby_client(branch: ServedBranch, staff_id: str) -> Any:
    client = branch.client("lobby")
    r = client.post("/lobby/sign-in", json={"staff_id": staff_id, "pin": DEMO_PIN})
    r.raise_for_status()
    client.headers["X-Lobby-Session"] = r.json()["session"]
    return client


def check_fit(page: Any, what: str) -> None:
    problems: list[str] = page.evaluate(OVERFLOW_JS)
    if problems:
        raise Overflow(f"{what} does not fit:\n  " + "\n  ".join(problems))


def open_page(browser: Any, branch: ServedBranch, size: tuple[int, int]) -> Any:
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]},
        device_scale_factor=2 if size[0] < 600 else 1,
        is_mobile=size[0] < 600,
        has_touch=True,
        bypass_csp=True,  # wait_for_function evaluates script
    )
    page = context.new_page()
    page.goto(f"{branch.base_url}/lobby?token={branch.tokens['lobby']}")
    page.wait_for_function(f"{HOOK} && {HOOK}.screen === 'signin'", timeout=WAIT_MS)
    return page


def sign_in(page: Any, staff: str) -> None:
    page.fill("#staff-id", staff)
    page.fill("#pin", DEMO_PIN)
    page.click("#signin")
    page.wait_for_function(f"{HOOK}.screen === 'hall' && {HOOK}.hall !== null", timeout=WAIT_MS)


def shoot_device(
    browser: Any,
    branch: ServedBranch,
    staged: dict[str, Any],
    device: str,
    size: tuple[int, int],
    out: Path | None,
) -> list[Path]:
    """Every screen at one size: saved when `out` is given, always checked for fit."""
    saved: list[Path] = []
    page = open_page(browser, branch, size)
    try:

        def shot(name: str) -> None:
            page.evaluate("window.scrollTo(0, 0)")
            check_fit(page, f"lobby {name} at {size[0]}×{size[1]}")
            if out is not None:
                saved.append(out / f"lobby-{name}-{device}.png")
                # The whole screen as one picture: the bottom bar, fixed on the device, would
                # sit across the middle of a full-page shot, so it is drawn at the end instead.
                style = page.add_style_tag(content=".nav { position: static; }")
                page.screenshot(path=str(saved[-1]), full_page=True)
                style.evaluate("node => node.remove()")

        shot("signin")
        sign_in(page, LOBBY_STAFF[0])
        shot("hall")
        page.fill("#find-number", staged["held"])
        page.click("#find")
        page.wait_for_function(f"{HOOK}.screen === 'ticket'", timeout=WAIT_MS)
        shot("ticket")
        page.click("#prereview-open")
        page.check("#consent")
        page.fill("#ef-name", "张三")
        shot("prereview")
        page.click("#nav [data-go='door']")
        page.click("#door-services .choice >> nth=2")
        page.check("#door-care")
        shot("door")
        page.fill("#door-reason", "孕妇")
        page.click("#door-issue")
        page.wait_for_selector("#door-issued:not([hidden]) #door-qr img", timeout=WAIT_MS)
        page.evaluate("document.getElementById('toast').hidden = true")
        shot("door-issued")
        page.click("#nav [data-go='divert']")
        page.click("#divert-services .choice >> nth=0")
        page.click("#divert-channels .choice[data-code='atm']")
        shot("divert")
        page.evaluate(f"{HOOK}.disconnect()")
        page.click("#nav [data-go='hall']")
        page.wait_for_selector("#offline:not([hidden])", timeout=WAIT_MS)
        shot("offline")
        page.evaluate(f"{HOOK}.connect()")
        page.wait_for_function(f"{HOOK}.connection === 'live'", timeout=WAIT_MS)
        page.click("#sign-out")
        page.wait_for_function(f"{HOOK}.screen === 'signin'", timeout=WAIT_MS)
        sign_in(page, RM_STAFF[0])
        page.click("#nav [data-go='myday']")
        page.wait_for_function(f"{HOOK}.myday !== null", timeout=WAIT_MS)
        page.fill("#my-desk", "3")
        page.dispatch_event("#my-desk", "change")
        shot("myday")
    finally:
        page.context.close()
    return saved


def shoot_lobby(browser: Any, branch: ServedBranch, out: Path) -> list[Path]:
    staged = stage(branch)
    saved: list[Path] = []
    for device, size in SIZES.items():
        saved += shoot_device(browser, branch, staged, device, size, out)
    for device, size in TURNED.items():
        shoot_device(browser, branch, staged, device, size, None)
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with served_demo_branch(prefix="branchq-lobby-shots-") as branch, sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            written = shoot_lobby(browser, branch, args.out)
        finally:
            browser.close()
    for path in written:
        print(f"  {path}")
    for path in remove_stale(args.out, written, [LOBBY_NAME]):
        print(f"  removed {path.name} (no longer drawn)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
