"""Screenshots of the head-office console (network, drill-down, report, devices, operations).

`python -m tools.screenshots.central --out docs/screenshots`: a throwaway PostgreSQL with
the seeded network of tools/console_network, the console on loopback, and
central-<screen>-zh-<W>x<H>.png at 1920×1080 and 1366×768, never scaled.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import psycopg

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
                page.screenshot(path=str(path))
                saved.append(path)
                problems = page.evaluate(FIT_PROBLEMS)
                if problems:
                    raise ConsoleDoesNotFit(f"{path.name}: " + "; ".join(problems))
        finally:
            context.close()
    return saved


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
        with ConsoleServer(dsn) as server, sync_playwright() as p:
            with psycopg.connect(dsn) as conn:
                seed_operations(conn, server.signer)
            browser = launch_chromium(p)
            try:
                return shoot_console(browser, server.base_url, out)
            finally:
                browser.close()


if __name__ == "__main__":
    raise SystemExit(main())
