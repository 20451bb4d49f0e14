"""The manager's tabs on their own: built around a loaded model and a ConsoleActions that
records what it is asked, clicked as a manager clicks them. No server and no window: a tab
needs only what it is given in its constructor.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt

from tools.screenshots import manager
from tools.screenshots.fit import lay_out
from ui.i18n import Translator
from ui.manager.actions import ConsoleActions
from ui.manager.client import ManagerClient
from ui.manager.console import BranchConsole
from ui.manager.tabs.alerts import alert_detail
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
        self.answers: list[Any] = []  # each request's `done`, for a test to answer it
        self.messages: list[tuple[str, str]] = []
        self.subscribe(self._told, lambda: None)

    def _told(self, key: str, kind: str, values: Mapping[str, object]) -> None:
        self.messages.append((key, kind))

    def send(self, request: Any, done: Any = None, success: str | None = None,
             failed: Any = None, **values: object) -> None:  # fmt: skip
        self.sent.append((success, dict(values)))
        self.answers.append(done)


@pytest.fixture
def actions(tr: Translator) -> Iterator[RecordingActions]:
    client = ManagerClient("http://127.0.0.1:9", "no-server")  # never started
    client.model.load_snapshot(snapshot())
    yield RecordingActions(client, tr)
    client.stop()


def windows_tab(qtbot, tr, actions, counter: int | None = None) -> WindowsTab:
    """The Windows tab on screen with its counters listed and `counter` chosen."""
    console = BranchConsole(actions.client.model, actions.client.model.extras)
    tab = WindowsTab(tr, actions, console)
    qtbot.addWidget(tab)
    tab.resize(1000, 600)
    tab.show()
    tab.show_rows(console.counter_rows(), console.window_summary())
    if counter is not None:
        tab.select(counter)
    return tab


def test_the_windows_tab_opens_the_chosen_counter(qtbot, tr, actions) -> None:
    tab = windows_tab(qtbot, tr, actions)
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
    tab = windows_tab(qtbot, tr, actions, 1)
    qtbot.waitUntil(lambda: tab.editor.list.count() == 1)
    qtbot.mouseClick(tab.editor.overflow_boxes["A"], LEFT)  # A becomes overflow only
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


def test_skills_are_saved_or_undone_only_once_something_changed(qtbot, tr, actions) -> None:
    editor = windows_tab(qtbot, tr, actions, 1).editor
    qtbot.waitUntil(lambda: editor.list.count() == 1)
    assert not editor.save.isEnabled() and not editor.revert.isEnabled()

    # The box says what it is, and a click on its word ticks it.
    box = editor.overflow_boxes["A"]
    assert box.text() == "支援" and box.isVisible()
    qtbot.mouseClick(box, LEFT, pos=box.rect().center())
    assert box.isChecked() and editor.draft is not None and editor.draft.skills[0]["overflow"]
    assert editor.save.isEnabled() and editor.revert.isEnabled()
    qtbot.mouseClick(box, LEFT, pos=box.rect().center())  # ticked back: nothing to save
    assert not editor.save.isEnabled() and not editor.revert.isEnabled()

    editor.add_choice.setCurrentIndex(editor.add_choice.findData("C"))
    qtbot.mouseClick(editor.add, LEFT)
    assert editor.save.isEnabled()
    qtbot.mouseClick(editor.revert, LEFT)
    assert editor.draft is not None and editor.draft.codes() == ["A"]
    assert not editor.save.isEnabled() and not editor.revert.isEnabled()

    qtbot.mouseClick(editor.add, LEFT)
    qtbot.mouseClick(editor.save, LEFT)
    assert actions.sent[-1][0] == "manager.skills.saved"
    assert editor.save.isEnabled()  # not yet answered
    actions.answers[-1]({"number": 1})
    assert not editor.save.isEnabled() and not editor.revert.isEnabled()


def test_a_click_beside_the_support_box_still_picks_the_row(qtbot, tr, actions) -> None:
    editor = windows_tab(qtbot, tr, actions, 1).editor
    editor.add_choice.setCurrentIndex(editor.add_choice.findData("C"))
    qtbot.mouseClick(editor.add, LEFT)
    editor.list.setCurrentRow(0)
    # The strip carrying the box lies over the row's name; the click lands on the strip.
    strip = editor.list.itemWidget(editor.list.item(1))
    assert editor.list.visualItemRect(editor.list.item(1)).contains(strip.geometry())
    where = QPoint(20, strip.height() // 2)
    assert not editor.overflow_boxes["C"].geometry().contains(where)
    qtbot.mouseClick(strip, LEFT, pos=where)
    assert editor.list.currentRow() == 1
    assert not editor.overflow_boxes["C"].isChecked()


def test_acknowledge_buttons_are_whole_in_their_rows(qtbot, tr) -> None:
    window = manager.alerts(tr)
    qtbot.addWidget(window)
    lay_out(window, (1366, 768))
    table = window.alerts.open_table
    assert window.alerts.ack_buttons
    for row, button in enumerate(window.alerts.ack_buttons.values()):
        assert button.height() >= button.minimumSizeHint().height()
        assert table.rowHeight(row) >= button.height()
        cell = table.visualRect(table.model().index(row, 5))
        assert cell.contains(button.geometry()), (cell, button.geometry())


def test_a_device_fault_reads_in_the_managers_language(tr) -> None:
    fault = {
        "kind": "device_fault",
        "subject": {"device": "kiosk-1/printer", "health": "error", "detail": "paper out"},
        "detail": "paper out",
    }
    assert alert_detail(tr, fault, str) == "kiosk-1/printer：打印纸已用完"
    tr.set_language("en")
    assert alert_detail(tr, fault, str) == "kiosk-1/printer: Out of paper"
    # No detail from the device: its health, in words.
    bare = {**fault, "subject": {"device": "kiosk-1/printer", "health": "offline"}}
    assert alert_detail(tr, bare, str) == "kiosk-1/printer: offline"


@pytest.mark.parametrize(
    ("document", "zh", "en"),
    [
        ("config", "配置", "configuration"),
        ("vip", "贵宾名单", "VIP list"),
        ("knowledge", "知识库", "knowledge base"),
        ("notice", "大厅公告", "hall notice"),
        ("rates", "rates", "rates"),  # a kind this console does not know: as the centre wrote it
    ],
)
def test_a_refused_head_office_document_is_named_in_the_managers_language(
    tr, document: str, zh: str, en: str
) -> None:
    refused = {
        "kind": "head_office_refused",
        "subject": {"document": document, "version": 3, "code": "bad_signature"},
        "detail": f"head office {document} v3 refused (bad_signature): …",
    }
    assert alert_detail(tr, refused, str) == f"总行下发的{zh}第 3 版已拒绝：bad_signature"
    tr.set_language("en")
    assert alert_detail(tr, refused, str) == f"Head office {en} v3 refused: bad_signature"


def test_a_business_card_with_a_queue_past_target_is_red_and_not_100_percent(qtbot, tr):
    from ui.manager.tabs.live import LiveTab
    from ui.model.isotime import parse_time

    client = ManagerClient("http://127.0.0.1:9", "no-server")  # never started
    snap = snapshot()
    snap["today"] = {"A": {"called": 4, "within_target": 4}}
    # 12 waiting for cash; 6 of them have waited 12 minutes against a 10-minute target.
    snap["tickets"] = [
        {"id": i, "number": f"A{i:03d}", "service": "A", "state": "waiting", "leg": 0,
         "arrived_at": "2026-11-27T09:48:00+08:00" if i <= 6 else "2026-11-27T09:58:00+08:00",
         "counter": None}
        for i in range(1, 13)
    ]  # fmt: skip
    snap["waiting"] = {"A": {"waiting": 12, "longest_wait_s": 720, "eta_new_s": 400.0}}
    client.model.load_snapshot(snap)
    try:
        console = BranchConsole(client.model, client.model.extras)
        console.snapshot_loaded()
        tab = LiveTab(tr)
        qtbot.addWidget(tab)
        tab.resize(1000, 600)
        tab.show()
        now = parse_time(snap["at"])
        tab.show_rows(console.business_rows(now), console.counter_rows(now))
        card = tab.cards["A"]
        assert card.frame.property("status") == "over"
        assert "今日达标 40%" in card.outlook.text()  # 4 on time of 4 called + 6 overdue
        assert "6 人超过目标" in card.toolTip()
    finally:
        client.stop()


def test_the_hall_alerts_read_in_the_managers_language(tr) -> None:
    crowded = {"kind": "hall_crowded", "subject": {"waiting": 35, "limit": 30}, "detail": "…"}
    over = {
        "kind": "hall_over_target",
        "subject": {"over_target": 3, "waiting": 10, "share": 0.3, "limit_share": 0.2},
        "detail": "…",
    }
    assert alert_detail(tr, crowded, str) == "大厅有 35 人等候，超过总行设定的 30 人"
    assert alert_detail(tr, over, str) == (
        "等候的 10 人中有 3 人（30%）已超过目标等候时间，超过总行设定的 20%"
    )
    tr.set_language("en")
    assert alert_detail(tr, crowded, str) == "35 customers waiting, over the 30 set by head office"
    assert alert_detail(tr, over, str).startswith("3 of 10 waiting customers (30%)")


def test_bookings_kept_outside_the_hours_read_in_the_managers_language(tr) -> None:
    closed = {
        "kind": "bookings_outside_hours",
        "subject": {"day": "2026-11-29", "count": 2, "first_slot": "11:00", "hours": []},
        "detail": "…",
    }
    shorter = {**closed, "subject": {**closed["subject"], "hours": ["09:00", "10:30"]}}
    assert alert_detail(tr, closed, str) == (
        "2026-11-29 有 2 个预约（最早 11:00）在营业时间外（当日不营业），"
        "已保留：请与客户改约或确认到店"
    )
    assert "（当日营业 09:00–10:30）" in alert_detail(tr, shorter, str)
    tr.set_language("en")
    assert alert_detail(tr, closed, str) == (
        "2 kept booking(s) on 2026-11-29 (from 11:00), closed that day: "
        "move or confirm with the customers"
    )
