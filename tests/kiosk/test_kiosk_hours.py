"""The kiosk says the branch is closed before a customer taps: the head office's hours reach
a real branch server as a signed configuration, and the kiosk on it shows the hours, greys
every business and keeps the appointment check-in, live, and lifts it all when it reopens."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from conftest import LiveServer
from kiosk_fixtures import LEFT, WAIT_MS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
import shipping_double as sd
from test_config_downlink import body, catalogue, reported

from kiosk.flow import Screen

centre_cert, link = sd.centre_cert, sd.link  # fixtures
# The test clock is 10:00 in Shanghai on Friday 2026-11-27: closed since 09:30.
CLOSED_NOW = {"fri": ["08:00", "09:30"], "sat": [], "sun": [], "mon": ["09:00", "17:00"]}
OPEN_NOW = {**CLOSED_NOW, "fri": ["09:00", "17:00"]}


def follower(branch_db: Any, clock: Any, link: sd.Link) -> LiveServer:
    office = link.office(verify_key=link.verify_key, poll_s=0.05)
    return LiveServer(branch_db[0], branch_db[1], clock, head_office=office).start()


def test_the_closed_banner_appears_live_and_lifts_when_the_branch_reopens(
    qtbot, make_kiosk, tr, branch_db, clock, link
):
    server = follower(branch_db, clock, link)
    try:
        kiosk = make_kiosk(server.base_url, server.tokens["kiosk"])
        qtbot.waitUntil(lambda: "A" in kiosk.home.tiles, timeout=WAIT_MS)
        qtbot.mouseClick(kiosk.attract, LEFT)
        assert kiosk.flow.screen is Screen.HOME
        assert not kiosk.home.hours.isVisible() and kiosk.home.tiles["A"].isEnabled()

        link.centre.publish("config", body(catalogue(opening_hours=CLOSED_NOW)))
        qtbot.waitUntil(lambda: kiosk.home.hours.isVisible(), timeout=WAIT_MS)
        assert kiosk.home.hours.message_label.text() == (
            "本网点今日营业时间 08:00–09:30，现已停止取号。下次营业：11月30日 09:00 起。\n"
            "已预约今天办理的客户，请点下方“预约签到”。"
        )
        assert not any(tile.isEnabled() for tile in kiosk.home.tiles.values())
        assert kiosk.home.side_buttons["appointment"].isEnabled()
        tr.set_language("en")
        assert kiosk.home.hours.message_label.text().startswith(
            "Open today 08:00–09:30. No more tickets today. We open again on 30/11 at 09:00."
        )
        # Before the customer even starts: the attract screen says it too.
        qtbot.mouseClick(kiosk.home.back, LEFT)
        qtbot.waitUntil(lambda: kiosk.attract.hours.isVisible(), timeout=WAIT_MS)
        assert reported(link, 1)["outcome"] == "applied"

        link.centre.publish("config", body(catalogue(opening_hours=OPEN_NOW)))
        qtbot.waitUntil(lambda: not kiosk.attract.hours.isVisible(), timeout=WAIT_MS)
        qtbot.mouseClick(kiosk.attract, LEFT)
        assert not kiosk.home.hours.isVisible() and kiosk.home.tiles["A"].isEnabled()
    finally:
        server.stop()
