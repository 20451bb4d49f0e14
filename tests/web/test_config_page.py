"""The console's configuration editor in Debian's Chromium against a real centre on loopback:
a branch override set in a cell, previewed as overridden, published signed, then reset."""

from __future__ import annotations

from typing import Any

import psycopg
from test_display import browser  # noqa: F401  # one Chromium per module, as the display's

from central.signing import Signer
from central.storage import downlink
from queue_server import signatures
from tools.console_network import PASSWORD, ConsoleServer
from tools.screenshots.central import FIT_PROBLEMS, sign_in

VIEW = {"width": 1366, "height": 768}
WAIT_MS = 10_000
HOOK = "window.branchqConsole"
CELL = 'td[data-path="services.B.target_wait_min"]'


def test_a_manager_overrides_a_branch_target_previews_publishes_and_resets_it(
    browser: Any,  # noqa: F811  # the fixture imported above
    console: ConsoleServer,
    central_dsn: str,
    signer: Signer,
) -> None:
    context = browser.new_context(viewport=VIEW)
    try:
        page = context.new_page()
        sign_in(page, console.base_url, "hq", PASSWORD)
        page.evaluate("location.hash = '#config/branch:bj-guomao'")
        page.wait_for_function(f"{HOOK}.config.preview?.branch === 'bj-guomao'", timeout=WAIT_MS)
        assert page.inner_text(CELL).strip() == "10"
        assert "ov-network" in (page.get_attribute(CELL, "class") or "")

        page.click(CELL)
        page.fill(f"{CELL} input", "7")
        page.press(f"{CELL} input", "Enter")
        page.wait_for_function(
            f"{HOOK}.config.preview?.overridden['services.B.target_wait_min'] === 'branch'",
            timeout=WAIT_MS,
        )
        assert "ov-branch" in (page.get_attribute(CELL, "class") or "")
        assert page.inner_text(CELL).startswith("7")
        assert page.evaluate(FIT_PROBLEMS) == []
        assert page.evaluate(f"{HOOK}.config.publishCount") == 1  # this branch only

        page.click("#cfg-publish")
        page.wait_for_function(f"{HOOK}.lastPublished", timeout=WAIT_MS)
        assert page.evaluate(f"{HOOK}.lastPublished.published") == [
            {"branch": "bj-guomao", "version": 1}
        ]
        page.wait_for_function(f"{HOOK}.config.publishCount === 0", timeout=WAIT_MS)
        assert page.inner_text("#cfg-status tr[data-branch=bj-guomao]").count("v1") == 1

        page.click(f"{CELL} button.reset")
        page.wait_for_function(
            f"!('services.B.target_wait_min' in {HOOK}.config.preview.overridden)",
            timeout=WAIT_MS,
        )
        assert page.inner_text(CELL).strip() == "10"
        assert page.evaluate(f"{HOOK}.config.publishCount") == 1  # the reset is a change too
    finally:
        context.close()

    with psycopg.connect(central_dsn) as conn:
        document = downlink.latest(conn, "bj-guomao", "config")
    assert document is not None
    signatures.verify(dict(document), [signer.private_key.public_key()])
    services = {s["code"]: s for s in document["body"]["catalogue"]["services"]}
    assert services["B"]["target_wait_min"] == 7
