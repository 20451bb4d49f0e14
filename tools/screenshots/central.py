"""Screenshots of the head-office console (network, drill-down, report, devices, configuration,
operations).

`python -m tools.screenshots.central --out docs/screenshots`: a throwaway PostgreSQL with
the seeded network of tools/console_network, the console on loopback, and
central-<screen>-zh-<W>x<H>.png at 1920×1080 and 1366×768, never scaled.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central.signing import Signer
from tools.bench.display import launch_chromium
from tools.console_network import (
    PASSWORD,
    REPORT_DAYS,
    SEED_DAY,
    ConsoleServer,
    seed_network,
    seed_operations,
)
from tools.pgcluster import Cluster

SIZES = ((1920, 1080), (1366, 768))
WAIT_MS = 15_000
HOOK = "window.branchqConsole"
FIRST_DAY = SEED_DAY.toordinal() - REPORT_DAYS + 1
# (screen, hash, what the page has shown once it is ready)
SCREENS = (
    ("network", "#network", f"{HOOK}.connection === 'live' && {HOOK}.shown.length > 0"),
    ("branch", "#branch/sh-lujiazui", f"{HOOK}.drill && {HOOK}.drill.calls.length > 0"),
    ("report", "#reports", f"{HOOK}.report && {HOOK}.report.rows.length > 0"),
    ("devices", "#devices", f"{HOOK}.devices && {HOOK}.devices.length > 0"),
    ("operations", "#operations", f"{HOOK}.fleet && {HOOK}.fleet.length > 0"),
    (
        "config",
        "#config/branch:sh-lujiazui",
        f"{HOOK}.config.preview && {HOOK}.config.preview.branch === 'sh-lujiazui'",
    ),
)


# Run in the page once it is drawn: what does not fit. The page may scroll down (a network
# of a thousand branches is a long table) but never sideways, and no text may be cut off
# inside its box (a clipped or ellipsised cell hides a name or a figure from the manager).
FIT_PROBLEMS = """() => {
  const problems = [];
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth) {
    problems.push(`the page is ${page.scrollWidth}px wide in a ${page.clientWidth}px window`);
  }
  for (const el of document.querySelectorAll("body *")) {
    if (!el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    const cuts = (axis) => style[axis] === "hidden" || style[axis] === "clip";
    const cutX = cuts("overflowX") && el.scrollWidth > el.clientWidth + 1;
    const cutY = cuts("overflowY") && el.scrollHeight > el.clientHeight + 1;
    if (cutX || cutY) {
      const text = (el.textContent || "").trim().slice(0, 40);
      const tag = `<${el.tagName.toLowerCase()} class="${el.className}">`;
      problems.push(`${cutX ? "sideways" : "downwards"} cut: ${tag} "${text}"`);
    }
  }
  return problems;
}"""


def sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    """Open the console and sign in; returns once its live stream is connected."""
    page.goto(base_url + "/console")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_function(f"{HOOK}.connection === 'live'", timeout=WAIT_MS)


class ConsoleDoesNotFit(AssertionError):
    """A console screen overflows or cuts text at a size it is shot at."""


def shoot_console(browser: Any, base_url: str, out: Path) -> list[Path]:
    """Every console screen at every size, signed in as head office; the files written.
    Raises ConsoleDoesNotFit (after writing the picture, to look at) where one does not fit."""
    from datetime import date

    saved = []
    for width, height in SIZES:
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            sign_in(page, base_url, "hq", PASSWORD)
            # The seeded fortnight, not the fortnight before today that the form proposes.
            page.evaluate(
                "([a, b]) => { document.getElementById('report-first').value = a;"
                " document.getElementById('report-last').value = b; }",
                [date.fromordinal(FIRST_DAY).isoformat(), SEED_DAY.isoformat()],
            )
            for screen, hash_, ready in SCREENS:
                page.evaluate(f"location.hash = {hash_!r}")
                page.wait_for_function(ready, timeout=WAIT_MS)
                page.add_style_tag(content=".flash td { animation: none !important; }")
                path = out / f"central-{screen}-zh-{width}x{height}.png"
                # The template editor is a long form: its last rows (the kiosk's welcome and
                # footer texts, the location) fall below a laptop's fold, so the whole page.
                page.screenshot(path=str(path), full_page=screen == "config")
                saved.append(path)
                problems = page.evaluate(FIT_PROBLEMS)
                if problems:
                    raise ConsoleDoesNotFit(f"{path.name}: " + "; ".join(problems))
        finally:
            context.close()
    return saved


PHONE = {"width": 390, "height": 844}
CUSTOMER = {"latitude": 31.2300, "longitude": 121.5195}  # 1 km from sh-east, 8.6 from sh-west


def fit(page: Any, path: Path) -> None:
    """Shoot the page to `path`, refusing a screen that runs off its width."""
    page.screenshot(path=str(path))
    problems = page.evaluate(FIT_PROBLEMS)
    if problems:
        raise ConsoleDoesNotFit(f"{path.name}: " + "; ".join(problems))


def shoot_booking(browser: Any, dsn: str, out: Path) -> list[Path]:
    """The network booking page's ranked branches on a phone, as a customer near a busy
    branch sees them: two real branch servers, one busy and one quiet, and a third branch
    silent for minutes ("wait unknown")."""
    import json
    import tempfile
    from datetime import UTC, datetime

    from central.branches import enrol
    from queue_server.config import init_db, load_config
    from tools.booking_network import start_network
    from tools.demo import DEMO_PIN, provision

    with tempfile.TemporaryDirectory(prefix="branchq-booking-") as folder:
        template = Path(folder) / "template.db"
        config = load_config(None)
        init_db(template, config)
        tokens = provision(template, config)
        ten = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Friday
        net = start_network(dsn, Path(folder), template, tokens, lambda: ten)
        try:
            for branch, queued in (("sh-east", 14), ("sh-west", 1)):
                b = net.branches[branch]
                teller = b.client("counter:1", net.cert)
                teller.post("/counters/1/sign-in", json={"staff_id": "t01", "pin": DEMO_PIN})
                kiosk = b.client("kiosk", net.cert)
                for _ in range(queued):
                    kiosk.post("/tickets", json={"service": "A"}).raise_for_status()
            net.heard("sh-east", lambda r: (r["waits"]["A"]["wait_min"] or 0) >= 30)
            net.heard("sh-west", lambda r: r["waits"]["A"]["wait_min"] is not None)
            with psycopg.connect(dsn) as conn:
                enrol(conn, "sh-north", "上海闸北支行", "sh")
                services = [{"code": "A", "names": {"zh": "现金及转账", "en": "Cash"}}]
                conn.execute(
                    "UPDATE branches SET profile = %s WHERE id = 'sh-north'",
                    (json.dumps({"services": services}),),
                )
                conn.execute(
                    "INSERT INTO booking_reach (branch_id, waits, lat, lon, booking_url, "
                    "heard_at) VALUES ('sh-north', %s, 31.26, 121.46, 'https://127.0.0.1:9', "
                    "now() - interval '7 minutes')",
                    (json.dumps({"A": {"wait_min": 5, "wait_capped": False}}),),
                )
            context = browser.new_context(
                viewport=PHONE, geolocation=CUSTOMER, permissions=["geolocation"],
                ignore_https_errors=True, locale="zh-CN",
            )  # fmt: skip
            try:
                page = context.new_page()
                page.goto(net.centre_url + "/book")
                page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
                page.click('#services [data-code="A"]')
                page.wait_for_selector("#branches li[data-branch]", timeout=WAIT_MS)
                page.click("#locate")
                page.wait_for_selector("body[data-located=true]", timeout=WAIT_MS)
                page.locator("#where").scroll_into_view_if_needed()
                path = out / f"central-booking-zh-{PHONE['width']}x{PHONE['height']}.png"
                shots = [path]
                fit(page, path)
                # The picker with a later time chosen (the list below re-ranked for it).
                page.click('#time-days [data-day="2026-11-28"]')
                page.click('#time-slots [data-start="2026-11-28T14:00:00+08:00"]')
                page.wait_for_selector("body[data-ranked=slot]", timeout=WAIT_MS)
                for lang in ("zh", "en"):
                    if lang == "en":
                        page.click("#language")
                    page.locator("#time").evaluate("n => n.scrollIntoView({block: 'start'})")
                    size = f"{PHONE['width']}x{PHONE['height']}"
                    shots.append(out / f"central-booking-slot-{lang}-{size}.png")
                    fit(page, shots[-1])
                return shots
            finally:
                context.close()
        finally:
            net.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    for path in render(args.out):
        print(path)
    return 0


def render(out: Path) -> list[Path]:
    """The seeded network's console, every screen at every size, into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with Cluster() as cluster:
        dsn = cluster.create_database("central")
        from central.storage.migrations import migrate

        with psycopg.connect(dsn) as conn:
            migrate(conn)
            seed_network(conn)
        booking_dsn = cluster.create_database("booking")
        with psycopg.connect(booking_dsn) as conn:
            migrate(conn)
        # A throwaway signing key: the operations tab shows what was published and in force.
        signer = Signer(Ed25519PrivateKey.generate())
        with psycopg.connect(dsn) as conn:
            seed_operations(conn, signer)
        with ConsoleServer(dsn, signer) as server, sync_playwright() as p:
            browser = launch_chromium(p)
            try:
                return shoot_console(browser, server.base_url, out) + shoot_booking(
                    browser, booking_dsn, out
                )
            finally:
                browser.close()


if __name__ == "__main__":
    raise SystemExit(main())
