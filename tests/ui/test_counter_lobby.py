"""The counter app shows what the lobby did (issue 21): after a call, the teller sees the
lobby's note, the care reason, the documents checked against the business's checklist,
and the form the lobby pre-reviewed — all from a live server, over the event stream."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_CONFIG, FakeClock, LiveServer, make_db, sign_in
from lobby_helpers import signed_in_lobby
from PySide6.QtCore import Qt

from ui.client import BranchClient
from ui.counter.session import Action
from ui.counter.window import CounterWindow, open_counter
from ui.i18n import Translator

WAIT_MS = 8000
DOCUMENTS = ["本人有效身份证件", "户口本", "单位开户需营业执照"]


@pytest.fixture
def live(tmp_path: Path, clock: FakeClock) -> Iterator[LiveServer]:
    config = copy.deepcopy(TEST_CONFIG)
    config["services"][2]["needs_form"] = True
    config["services"][2]["guidance"] = {"zh": {"documents": DOCUMENTS}}
    db = tmp_path / "lobby.db"
    server = LiveServer(db, make_db(db, config), clock).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def counter_window(qtbot, tr: Translator, live: LiveServer) -> Iterator[CounterWindow]:
    sign_in(live, 3)
    client = BranchClient(live.base_url, live.tokens["counter:3"], timeout_s=2.0,
                          backoff_s=(0.1, 0.5))  # fmt: skip
    window = open_counter(client, 3, tr=tr, refresh_ms=50, offline_grace_ms=0)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    client.start()
    qtbot.waitUntil(lambda: client.online and window.session.view().known, timeout=WAIT_MS)
    yield window
    client.stop()


def lobby_command(server: LiveServer, decide: Any) -> None:
    """A triage command of the lobby's, through the server's engine as its routes run it."""
    engine = server.engine
    done = asyncio.run_coroutine_threadsafe(engine.execute(decide, actor="lobby:L01"), engine._loop)
    done.result(timeout=15)


def test_after_a_call_the_teller_sees_the_lobbys_note_checklist_and_pre_reviewed_form(
    qtbot, live: LiveServer, counter_window: CounterWindow
) -> None:
    lobby = signed_in_lobby(live)
    r = live.client("kiosk").post("/tickets", json={"service": "C"})
    tid = r.json()["id"]
    lobby_command(live, lambda b, now: b.grant_care(tid, "拄拐杖的老人", now))
    lobby_command(live, lambda b, now: b.note_ticket(tid, "客户要开一类户", now))
    lobby_command(live, lambda b, now: b.check_documents(tid, [0, 1], now))
    r = lobby.post(
        f"/lobby/tickets/{tid}/prereview",
        json={"consent": True, "fields": {"name": "王建华"}, "materials_reviewed": True},
    )
    assert r.status_code == 200, r.text

    window = counter_window
    button = window.buttons[Action.CALL_NEXT]
    qtbot.waitUntil(button.isEnabled, timeout=WAIT_MS)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    panel = window.customer
    qtbot.waitUntil(lambda: panel.eform_fields["name"][1].text() == "王建华", timeout=WAIT_MS)
    assert panel.number.text() == r.json()["number"]
    assert panel.lobby.isVisible() and panel.prereviewed.isVisible()
    assert panel.care_reason.text() == "照顾优先：拄拐杖的老人"
    assert panel.lobby_note.text() == "大堂留言：客户要开一类户"
    assert panel.checklist.text().splitlines() == [
        "资料已核对 2/3：",
        f"✓ {DOCUMENTS[0]}",
        f"✓ {DOCUMENTS[1]}",
        f"○ {DOCUMENTS[2]}",
    ]
