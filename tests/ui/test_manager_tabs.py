"""The manager's tabs on their own: built around a loaded model and a ConsoleActions that
records what it is asked, clicked as a manager clicks them. No server and no window: a tab
needs only what it is given in its constructor.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from PySide6.QtCore import Qt

from tools.screenshots import manager
from ui.i18n import Translator
from ui.manager.actions import ConsoleActions
from ui.manager.client import ManagerClient
from ui.manager.console import BranchConsole
from ui.manager.tabs.settings import SettingsTab
from ui.manager.tabs.windows import WindowsTab
from ui.manager.widgets import short_time

LEFT = Qt.MouseButton.LeftButton


def snapshot() -> dict[str, Any]:
    """A branch with two businesses; counter 1 open for A, counter 2 closed."""
    return {
        "epoch": "e1",
        "seq": 7,
        "at": "2026-11-27T10:00:00+08:00",
        "business_day": "2026-11-27",
        "branch": {"name": "Test branch", "timezone": "Asia/Shanghai"},
        "services": [
            {"code": "A", "names": {"zh": "现金", "en": "Cash"}, "target_wait_s": 600},
            {"code": "C", "names": {"zh": "开户", "en": "Accounts"}, "target_wait_s": 900},
        ],
        "counters": [
            {"number": 1, "state": "open", "staff_id": "t1",
             "skills": [{"service": "A", "overflow": False}]},
            {"number": 2, "state": "closed", "staff_id": None,
             "skills": [{"service": "C", "overflow": False}]},
        ],
    }  # fmt: skip


class RecordingActions(ConsoleActions):
    """ConsoleActions that write down each request and message instead of sending it."""

    def __init__(self, client: ManagerClient, tr: Translator) -> None:
        super().__init__(client, tr, fetch=False)
        self.sent: list[tuple[str | None, dict[str, object]]] = []
        self.messages: list[tuple[str, str]] = []
        self.subscribe(self._told, lambda: None)

    def _told(self, key: str, kind: str, values: Mapping[str, object]) -> None:
        self.messages.append((key, kind))

    def send(self, request: Any, done: Any = None, success: str | None = None,
             failed: Any = None, **values: object) -> None:  # fmt: skip
        self.sent.append((success, dict(values)))


@pytest.fixture
def actions(tr: Translator) -> Iterator[RecordingActions]:
    client = ManagerClient("http://127.0.0.1:9", "no-server")  # never started
    client.model.load_snapshot(snapshot())
    yield RecordingActions(client, tr)
    client.stop()


def test_the_windows_tab_opens_the_chosen_counter(qtbot, tr, actions) -> None:
    console = BranchConsole(actions.client.model, actions.client.model.extras)
    tab = WindowsTab(tr, actions, console)
    qtbot.addWidget(tab)
    tab.show()
    tab.show_rows(console.counter_rows(), console.window_summary())

    qtbot.mouseClick(tab.open_button, LEFT)  # nothing chosen: the button is disabled
    assert not tab.open_button.isEnabled() and actions.sent == []

    tab.select(2)
    qtbot.waitUntil(lambda: tab.open_button.isEnabled())
    assert not tab.pause_button.isEnabled()  # a closed counter cannot pause
    assert tab.editor.draft is not None and tab.editor.draft.counter == 2
    qtbot.mouseClick(tab.open_button, LEFT)
    assert actions.sent == [("manager.windows.done_open", {"counter": actions.counter_name(2)})]
    assert actions.messages == []


def test_the_windows_tab_will_not_save_a_counter_that_serves_only_overflow(
    qtbot, tr, actions
) -> None:
    console = BranchConsole(actions.client.model, actions.client.model.extras)
    tab = WindowsTab(tr, actions, console)
    qtbot.addWidget(tab)
    tab.show()
    tab.show_rows(console.counter_rows(), console.window_summary())
    tab.select(1)
    qtbot.waitUntil(lambda: tab.editor.list.count() == 1)
    tab.editor.list.item(0).setCheckState(Qt.CheckState.Checked)  # A becomes overflow only
    qtbot.mouseClick(tab.editor.save, LEFT)
    assert actions.messages == [("manager.skills.need_one", "error")]
    assert actions.sent == []


def test_the_settings_tab_refuses_a_short_pin_without_asking_the_server(qtbot, tr, actions) -> None:
    tab = SettingsTab(tr, actions)
    qtbot.addWidget(tab)
    tab.show()
    tab.inner.setCurrentWidget(tab.staff_page)
    qtbot.keyClicks(tab.staff_id, "t9")
    qtbot.keyClicks(tab.staff_pin, "12")
    qtbot.mouseClick(tab.add_staff, LEFT)
    assert actions.messages == [("manager.staff.invalid", "error")]
    assert actions.sent == []

    qtbot.keyClicks(tab.staff_pin, "34")  # four digits now
    qtbot.mouseClick(tab.add_staff, LEFT)
    assert actions.sent == [("manager.staff.saved", {"staff": "t9"})]


def test_alert_and_history_times_are_on_the_branchs_clock_not_this_pcs():
    # The server wrote 00:56 UTC; the branch in Shanghai saw 08:56.
    assert short_time("2026-11-27T00:56:00+00:00", "Asia/Shanghai") == "11-27 08:56"
    assert short_time("2026-11-27T08:56:00+08:00", "Asia/Shanghai") == "11-27 08:56"
    assert short_time("2026-11-27T08:56:00+08:00") == "11-27 08:56"  # no zone known: as written
    assert short_time(None, "Asia/Shanghai") == "—"


def test_the_alert_history_shows_a_utc_time_on_the_branchs_clock(qtbot, tr):
    window = manager.alerts(tr)
    qtbot.addWidget(window)
    window.alerts.show_history([{**manager.ALERTS[0], "raised_at": "2026-11-27T02:16:00+00:00"}])
    assert window.alerts.history.item(0, 0).text() == "11-27 10:16"
