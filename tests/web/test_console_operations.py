"""The console's operations tab in Chromium against a real centre: a regional manager sends a
hall notice to their region and sees it published; no other region is theirs to choose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from test_display import browser  # noqa: F401  # one Chromium per module, as the display's

from tools.console_network import PASSWORD, ConsoleServer, seed_operations
from tools.screenshots.central import sign_in

VIEW = {"width": 1366, "height": 768}
WAIT_MS = 10_000
HOOK = "window.branchqConsole"
EAST = ["hz-xihu", "sh-lujiazui", "sh-xujiahui"]


def test_a_regional_manager_sends_a_notice_to_their_region_only(
    browser: Any,  # noqa: F811  # the fixture imported above
    console: ConsoleServer,
    central_dsn: str,
) -> None:
    with psycopg.connect(central_dsn) as conn:
        seed_operations(conn, console.signer)
    context = browser.new_context(viewport=VIEW)
    try:
        page = context.new_page()
        sign_in(page, console.base_url, "east", PASSWORD)
        page.click("a[data-view=operations]")
        page.wait_for_function(f"{HOOK}.fleet && {HOOK}.fleet.length > 0", timeout=WAIT_MS)
        rows = page.eval_on_selector_all(
            "#fleet-table tbody tr", "r => r.map(x => x.dataset.branch)"
        )
        assert sorted(rows) == EAST  # the region's branches only
        # The refusal shows in red with its reason in the manager's language; the branch's
        # own sentence (English, with its code) is the tooltip.
        refused = page.locator("#fleet-table tr[data-branch=hz-xihu] td").nth(3)
        assert "号码前缀仍被排空中的业务占用" in refused.inner_text()
        assert "prefix_in_use" not in refused.inner_text()
        reason = refused.locator(".over-text[title]")
        assert "prefix_in_use" in (reason.get_attribute("title") or "")
        # Their region is the only choice: neither the network nor another region.
        options = page.eval_on_selector_all("#notice-region option", "o => o.map(x => x.value)")
        assert options == ["east"]

        page.fill("#notice-text", "台风预警：今日 15:00 起暂停营业")
        page.click("#notice-form button[type=submit]")
        page.wait_for_function(f"{HOOK}.noticeSent", timeout=WAIT_MS)
        assert sorted(page.evaluate(f"{HOOK}.noticeSent.branches")) == EAST
        assert "已发布到 3 个网点" in page.inner_text("#notice-result")
        # Published, not yet in force: the branches have not taken it yet.
        page.wait_for_function(
            f"{HOOK}.fleet.every(r => r.notice_published === 1)", timeout=WAIT_MS
        )
        assert (
            "v1 待生效"
            in page.locator("#fleet-table tr[data-branch=sh-lujiazui] td").nth(4).inner_text()
        )

        # Asking for another region anyway (a forged request) is refused, and sends nothing.
        soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        with httpx.Client(base_url=console.base_url, cookies=cookies, timeout=5) as client:
            r = client.post(
                "/console/api/notices",
                json={"text": "越权", "until": soon, "region": "north"},
            )
            assert r.status_code == 403 and r.json()["error"]["code"] == "out_of_scope", r.text
            r = client.post("/console/api/notices", json={"text": "x", "until": "soon"})
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
        with psycopg.connect(central_dsn) as conn:
            north = conn.execute(
                "SELECT count(*) FROM downlink_documents WHERE kind = 'notice' "
                "AND branch_id IN ('bj-guomao', 'tj-binhai')"
            ).fetchone()
        assert north == (2,)  # the seeded ones only
    finally:
        context.close()
