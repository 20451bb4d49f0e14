"""Screenshots of the hall display (landscape, portrait, a zone) in Debian's headless Chromium.

`python -m queue_server.web.screenshots --out docs/screenshots` (run by `make screenshots`):
serves the demo branch on loopback, issues and calls a few tickets, sets a notice, and saves
display-*.png once the page shows the last call.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..bench.display import ServedBranch, launch_chromium, served_demo_branch

NOTICE = "温馨提示:今日 15:00 后暂停外币兑换业务 · Foreign exchange closes at 15:00 today"
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
        context = browser.new_context(viewport={"width": width, "height": height})
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with served_demo_branch(prefix="branchq-shots-") as branch, sync_playwright() as pw:
        last = stage(branch)
        browser = launch_chromium(pw)
        try:
            for path in shoot(browser, branch, args.out, last):
                print(f"  {path}")
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
