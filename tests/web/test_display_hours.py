"""The hall display (Chromium) shows the head office's hours while the branch takes no new
tickets: live on `config.applied`, by the server's clock at closing time with no event, and
nothing new while the branch is open."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import LiveServer
from test_display import HOOK, WAIT_MS, browser, open_display, page
from test_display_centre_notice import branch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
import shipping_double as sd
from test_config_downlink import body, catalogue

centre_cert, link = sd.centre_cert, sd.link  # fixtures
__all__ = ["branch", "browser", "page"]  # fixtures (the branch follows a centre)
# The test clock is 10:00 in Shanghai on Friday 2026-11-27.
HOURS = {"fri": ["09:00", "10:30"], "sat": [], "sun": [], "mon": ["09:00", "17:00"]}


def test_the_hours_show_when_the_branch_closes_and_not_while_it_is_open(branch, link, clock, page):
    server: LiveServer = branch
    open_display(page, server)
    page.wait_for_function(f"{HOOK}.connection === 'live'", timeout=WAIT_MS)
    link.centre.publish("config", body(catalogue(opening_hours=HOURS)))
    # Open until 10:30: the hours arrive with config.applied, and nothing new is shown.
    server.app.state.head_office.downlink.wait_until(
        lambda: server.engine.branch.settings.opening_hours.to_wire() == HOURS, 15.0
    )
    seq = server.engine.branch.last_seq
    page.wait_for_function(f"{HOOK}.seq >= {seq}", timeout=WAIT_MS)
    assert page.evaluate(f"{HOOK}.hours") is None
    assert not page.locator("#hours").is_visible()
    assert "branch-closed" not in (page.get_attribute("body", "class") or "")

    # 10:30 by the server's clock: closed, with no event from the server.
    clock.advance(minutes=31)
    page.wait_for_function(f"{HOOK}.hours !== null", timeout=WAIT_MS)
    shown = page.inner_text("#hours")
    assert "本网点今日营业时间 09:00–10:30，现已停止取号。下次营业：11月30日 09:00 起。" in shown
    assert "We open again on 30/11 at 09:00." in shown
    assert page.evaluate(f"{HOOK}.seq") == seq
    box = page.locator("#hours").bounding_box()
    current = page.locator("#current").bounding_box()
    assert box is not None and current is not None and box["y"] + box["height"] <= current["y"]

    # The centre opens Friday all day: the strip goes, live.
    link.centre.publish(
        "config", body(catalogue(opening_hours={**HOURS, "fri": ["09:00", "17:00"]}))
    )
    page.wait_for_function(f"{HOOK}.hours === null", timeout=WAIT_MS)
    assert "branch-closed" not in (page.get_attribute("body", "class") or "")
