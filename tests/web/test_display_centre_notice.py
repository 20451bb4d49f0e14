"""The head office's hall notice on the display page (Chromium), through the real downlink:
shown before the manager's own notice, and gone at its `until` with no event from the server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import LiveServer
from test_display import HOOK, WAIT_MS, browser, open_display, page

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
import shipping_double as sd

centre_cert, link = sd.centre_cert, sd.link  # fixtures
__all__ = ["browser", "page"]  # fixtures


@pytest.fixture
def branch(branch_db, clock, link) -> Iterator[LiveServer]:
    office = link.office(verify_key=link.verify_key, poll_s=0.05)
    # Heartbeats carry the server's time: a short beat lets the page see `until` pass soon.
    server = LiveServer(branch_db[0], branch_db[1], clock, heartbeat_s=0.2, head_office=office)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_the_centres_notice_leads_the_managers_and_ends_at_until(branch, link, clock, page):
    server: LiveServer = branch
    manager_text = "今日理财讲座 14:00"
    assert server.client("manager").put("/branch/notice", json={"text": manager_text}).is_success
    open_display(page, server)
    page.wait_for_function(f"{HOOK}.notice === {manager_text!r}", timeout=WAIT_MS)

    centre_text = "系统升级：今晚 22:00 起网银暂停 2 小时"
    until = clock() + timedelta(seconds=90)
    link.centre.publish("notice", {"text": centre_text, "until": until.isoformat(),
                                   "from": "hq.ops"})  # fmt: skip
    page.wait_for_function(f"{HOOK}.centreNotice === {centre_text!r}", timeout=WAIT_MS)
    footer: Any = page.locator("#notice")
    assert footer.is_visible()
    shown = footer.inner_text()
    # Marked as the centre's, and first; the manager's still there after it.
    assert shown.index("总行通知") < shown.index(centre_text) < shown.index(manager_text)
    assert page.inner_text("#notice-text") == manager_text

    # Past `until` by the server's clock: the page drops it by itself; the manager's stays.
    seq = page.evaluate(f"{HOOK}.seq")
    clock.advance(seconds=91)
    page.wait_for_function(f"{HOOK}.centreNotice === ''", timeout=WAIT_MS)
    assert not page.locator("#centre-notice").is_visible()
    assert page.inner_text("#notice-text") == manager_text and footer.is_visible()
    assert page.evaluate(f"{HOOK}.seq") == seq  # no event told it to
