"""The manager console as a manager uses it, against a real queue server on loopback.

Clicks go through the real ManagerClient to conftest's LiveServer; what the console shows
follows the event stream; what the server does next (who a counter calls) is checked over
HTTP. Waits are qtbot.waitUntil with a deadline, never sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import LiveServer, sign_in
from PySide6.QtCore import QModelIndex, Qt

from ui.client import ApiError
from ui.i18n import Translator
from ui.manager.client import ManagerClient
from ui.manager.tabs.reports import ExportWorker
from ui.manager.window import ManagerWindow, open_console

WAIT_MS = 8000
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def make_manager(qtbot, tr: Translator) -> Iterator[Any]:
    clients: list[ManagerClient] = []

    def make(server: LiveServer, role: str = "manager") -> ManagerWindow:
        client = ManagerClient(
            server.base_url, server.tokens[role], timeout_s=2.0, backoff_s=(0.1, 0.5)
        )
        clients.append(client)
        window = open_console(client, tr=tr, advice_debounce_ms=50, offline_grace_ms=0)
        qtbot.addWidget(window)
        window.resize(1600, 900)
        window.show()
        client.start()
        qtbot.waitUntil(lambda: client.online and len(client.model.counters) == 3, timeout=WAIT_MS)
        return window

    yield make
    for client in clients:
        client.stop()


def issue(server: LiveServer, service: str) -> dict[str, Any]:
    r = server.client("kiosk").post("/tickets", json={"service": service})
    assert r.status_code == 201, r.text
    return r.json()


def live_state(window: ManagerWindow, row: int) -> str:
    return window.live.counters.text_at(row, 1)


def choose_counter(qtbot, window: ManagerWindow, number: int) -> None:
    window.tabs.setCurrentWidget(window.windows)
    window.windows.select(number)
    qtbot.waitUntil(
        lambda: (
            window.windows.editor.draft is not None
            and window.windows.editor.draft.counter == number
        ),
        timeout=WAIT_MS,
    )


def test_closing_a_counter_shows_at_once_and_it_gets_no_more_customers(qtbot, make_manager, server):
    first, second = sign_in(server, 1), sign_in(server, 2)
    window = make_manager(server)
    qtbot.waitUntil(lambda: live_state(window, 0) == "开放", timeout=WAIT_MS)
    assert "A：2 个窗口" in window.windows.summary.text()
    ticket = issue(server, "A")
    qtbot.waitUntil(lambda: window.live.cards["A"].waiting.text() == "1 人等候", timeout=WAIT_MS)

    choose_counter(qtbot, window, 1)
    assert window.windows.close_button.isEnabled()
    qtbot.mouseClick(window.windows.close_button, LEFT)
    qtbot.waitUntil(lambda: live_state(window, 0) == "关闭", timeout=WAIT_MS)
    assert "A：1 个窗口" in window.windows.summary.text()
    # The table follows the event, the message the HTTP reply: either can come first.
    qtbot.waitUntil(
        lambda: window.message.message_label.text() == "1 号窗口 已关闭；正在办理的客户可继续办完",
        timeout=WAIT_MS,
    )

    refused = first.post("/counters/1/call-next")
    assert refused.status_code == 409, refused.text
    called = second.post("/counters/2/call-next").json()["ticket"]
    assert called["id"] == ticket["id"]
    qtbot.waitUntil(lambda: window.live.counters.text_at(1, 3).startswith(ticket["number"]))
    # The count is the server's, in its waits push that follows the events.
    qtbot.waitUntil(lambda: window.live.cards["A"].waiting.text() == "0 人等候", timeout=WAIT_MS)

    # Open it again from the console.
    choose_counter(qtbot, window, 1)
    qtbot.mouseClick(window.windows.open_button, LEFT)
    qtbot.waitUntil(lambda: live_state(window, 0) == "开放", timeout=WAIT_MS)


def test_moving_a_counter_from_cash_to_accounts_changes_who_it_calls(qtbot, make_manager, server):
    teller = sign_in(server, 1)
    window = make_manager(server)
    cash, accounts = issue(server, "A"), issue(server, "C")
    qtbot.waitUntil(lambda: window.live.cards["C"].waiting.text() == "1 人等候", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "C：0 个窗口" in window.windows.summary.text(), timeout=WAIT_MS)

    choose_counter(qtbot, window, 1)
    editor = window.windows.editor
    assert editor.draft is not None and editor.draft.codes() == ["A", "B"]
    index = editor.add_choice.findData("C")
    editor.add_choice.setCurrentIndex(index)
    qtbot.mouseClick(editor.add, LEFT)
    assert editor.list.currentRow() == 2
    qtbot.mouseClick(editor.up, LEFT)
    qtbot.mouseClick(editor.up, LEFT)
    editor.list.setCurrentRow(1)  # A: take it only when its queue is over target
    qtbot.mouseClick(editor.overflow_boxes["A"], LEFT)
    qtbot.waitUntil(lambda: editor.draft is not None and editor.draft.skills[1]["overflow"])
    qtbot.mouseClick(editor.save, LEFT)

    qtbot.waitUntil(lambda: "C：1 个窗口" in window.windows.summary.text(), timeout=WAIT_MS)
    assert "A：0 个窗口" in window.windows.summary.text()
    skills = server.client("manager").get("/counters/1").json()["skills"]
    assert [(s["service"], s["overflow"]) for s in skills] == [
        ("C", False), ("A", True), ("B", False)
    ]  # fmt: skip
    assert window.live.counters.text_at(0, 6) == "C (A) B"

    called = teller.post("/counters/1/call-next").json()["ticket"]
    assert called["id"] == accounts["id"] and called["id"] != cash["id"]


def test_applying_an_advice_move_rewrites_the_counters_skills(qtbot, make_manager, server):
    window = make_manager(server)
    window.tabs.setCurrentWidget(window.advice)  # reads the server's advice
    qtbot.waitUntil(lambda: window.console.advice is not None, timeout=WAIT_MS)
    assert window.advice.table.rowCount() == 3

    day = window.console.advice["day"]  # type: ignore[index]
    advice = dict(window.console.advice or {})
    advice["moves"] = [
        {"counter": 2, "counter_name": "2号窗口", "from_service": "A", "to_service": "C",
         "start": f"{day}T10:00:00+08:00", "end": f"{day}T11:00:00+08:00"}
    ]  # fmt: skip
    window.show_advice(advice)
    button = window.advice.apply_buttons[0]
    assert button.text() == "一键调配"
    qtbot.mouseClick(button, LEFT)
    qtbot.waitUntil(
        lambda: window.client.model.counters[2]["skills"][0]["service"] == "C", timeout=WAIT_MS
    )
    skills = server.client("manager").get("/counters/2").json()["skills"]
    assert [s["service"] for s in skills] == ["C", "A", "B"]
    assert window.console.move_done(advice["moves"][0])
    # The skills changed: the console reads the advice again (this server advises no move).
    qtbot.waitUntil(lambda: not (window.console.advice or {}).get("moves"), timeout=WAIT_MS)
    assert window.advice.apply_buttons == []


def test_settings_pair_a_kiosk_and_switch_language(qtbot, make_manager, server, tr):
    window = make_manager(server)
    settings = window.settings
    window.tabs.setCurrentWidget(settings)
    settings.inner.setCurrentWidget(settings.devices_page)
    qtbot.waitUntil(lambda: settings.tokens.rowCount() > 0, timeout=WAIT_MS)
    before = settings.tokens.rowCount()
    settings.device_name.setText("kiosk-9")
    qtbot.mouseClick(settings.create_button, LEFT)
    qtbot.waitUntil(lambda: settings.tokens.rowCount() == before + 1, timeout=WAIT_MS)
    assert settings.qr.isVisible() and settings.qr.pixmap().width() > 100
    assert "role=kiosk&token=" in settings.pair_url.text()

    # The hall notice goes out through the API and comes back on the stream.
    settings.inner.setCurrentWidget(settings.notice_page)
    settings.notice.setText("今日 14:00 理财讲座")
    qtbot.mouseClick(settings.save_notice, LEFT)
    qtbot.waitUntil(
        lambda: (
            window.client.model.branch.get("notice") == "今日 14:00 理财讲座"
            or server.engine.branch.settings.notice == "今日 14:00 理财讲座"
        ),
        timeout=WAIT_MS,
    )

    tr.set_language("en")
    assert window.tabs.tabText(0) == "Live branch"
    assert window.live.cards["A"].waiting.text() == "0 waiting"


def test_device_tokens_say_plainly_when_the_token_may_not_manage_them(qtbot, make_manager, server):
    window = make_manager(server)
    settings = window.settings
    text = settings._refusal(ApiError(403, "http_403", "role manager may not do this"))
    assert "管理员" in text


def test_a_dissatisfied_customer_raises_an_alert_and_a_follow_up(qtbot, make_manager, server):
    teller = sign_in(server, 1)
    window = make_manager(server)
    ticket = issue(server, "A")
    called = teller.post("/counters/1/call-next").json()["ticket"]
    assert called["id"] == ticket["id"]
    assert teller.post("/counters/1/start", json={}).status_code == 200
    assert teller.post("/counters/1/finish", json={}).status_code == 200
    r = teller.post(f"/tickets/{ticket['id']}/rating", json={"rating": 1})
    assert r.status_code == 200, r.text

    alerts = window.alerts
    qtbot.waitUntil(lambda: len(alerts.followups_ids()) == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(alerts.ack_buttons), timeout=WAIT_MS)
    assert "(1)" in window.tabs.tabText(window.tabs.indexOf(alerts))
    assert "1 条提醒待确认" in window.trouble.text()
    assert alerts.followups.text_at(0, 0) == ticket["number"]
    assert alerts.followups.text_at(0, 3) == "不满意"

    window.tabs.setCurrentWidget(alerts)
    alert_id, button = next(iter(alerts.ack_buttons.items()))
    qtbot.mouseClick(button, LEFT)
    qtbot.waitUntil(
        lambda: (
            window.client.model.extras.alerts.get(alert_id, {}).get("acknowledged_at") is not None
            or alert_id not in window.client.model.extras.alerts
        ),
        timeout=WAIT_MS,
    )
    qtbot.waitUntil(lambda: "提醒待确认" not in window.trouble.text(), timeout=WAIT_MS)

    (followup_id,) = alerts.followups_ids()
    alerts.note_fields[followup_id].setText("已致电客户,致歉并解释")
    qtbot.mouseClick(alerts.followup_buttons[followup_id][1], LEFT)
    qtbot.waitUntil(lambda: alerts.followups_ids() == [], timeout=WAIT_MS)
    done = server.client("manager").get("/followups", params={"state": "all"}).json()
    assert done[0]["note"] == "已致电客户,致歉并解释" and done[0]["resolved_at"]

    # The day's history lists it; the audit log shows the acknowledgement or the follow-up.
    qtbot.waitUntil(lambda: alerts.history.rowCount() >= 1, timeout=WAIT_MS)
    window.tabs.setCurrentWidget(window.audit)
    qtbot.waitUntil(lambda: window.audit.table.rowCount() >= 1, timeout=WAIT_MS)


def test_reports_show_the_day_and_export_it_off_the_gui_thread(
    qtbot, make_manager, server, tmp_path
):
    teller = sign_in(server, 1)
    for service in ("A", "A", "B"):
        issue(server, service)
    for _ in range(2):
        assert teller.post("/counters/1/call-next").json()["ticket"] is not None
        assert teller.post("/counters/1/start", json={}).status_code == 200
        assert teller.post("/counters/1/finish", json={}).status_code == 200
    window = make_manager(server)
    reports = window.reports
    window.tabs.setCurrentWidget(reports)  # loads the last seven business days
    qtbot.waitUntil(lambda: reports.report is not None, timeout=WAIT_MS)
    assert reports.report is not None and reports.report["totals"]["issued"] == 3
    assert reports.business_table.text_at(0, 0).startswith("A")
    assert reports.business_table.text_at(0, 1) == "2"
    assert len(reports.charts) == 4
    assert reports.export_csv.isEnabled()
    # The lobby's page: nobody diverted or pre-reviewed yet; A's two served the usual way.
    qtbot.waitUntil(lambda: reports.lobby_report is not None, timeout=WAIT_MS)
    lobby = reports.lobby_table
    assert [lobby.text_at(0, c) for c in (0, 1, 3)] == ["A", "0", "0.0"]
    assert lobby.text_at(0, 5) == "0.0 分钟（2 人）" and lobby.text_at(0, 4) == "— 分钟（0 人）"

    results: list[Any] = []
    reports.on_exported = lambda done, message: results.append((done, message))
    target = tmp_path / "report.csv"
    worker = reports.export_to(target, "csv")
    assert worker is not None
    qtbot.waitUntil(lambda: bool(results), timeout=WAIT_MS)
    assert results == [(True, "")]
    text = target.read_text(encoding="utf-8-sig")
    assert text.startswith("totals") and "by_business" in text
    assert "报表已导出" in window.message.message_label.text()

    # Cancel stops the writer between rows and leaves no file behind.
    cancelled = tmp_path / "cancelled.csv"
    job = ExportWorker(reports.report, cancelled, "csv")
    answers: list[Any] = []
    job.finished_export.connect(lambda done, message: answers.append(done))
    job.cancel.set()
    job.run()  # on this thread: the flag is seen at the first row
    assert answers == [False] and not cancelled.exists()


def test_pausing_with_a_reason_and_reordering_by_drag(qtbot, make_manager, server):
    sign_in(server, 3)
    window = make_manager(server)
    choose_counter(qtbot, window, 3)
    w = window.windows
    w.reason.setCurrentIndex(w.reason.findData("meeting"))
    qtbot.mouseClick(w.pause_button, LEFT)
    qtbot.waitUntil(lambda: live_state(window, 2) == "暂停（会议）", timeout=WAIT_MS)
    assert server.client("manager").get("/counters/3").json()["pause_reason"] == "meeting"

    # Dragging a row (Qt moves it in the list's model) reorders the draft the same way.
    editor = w.editor
    assert editor.draft is not None and editor.draft.codes() == ["C", "B", "A"]
    model = editor.list.model()
    assert model.moveRow(QModelIndex(), 2, QModelIndex(), 0)
    qtbot.waitUntil(lambda: editor.draft is not None and editor.draft.codes() == ["A", "C", "B"])
    qtbot.waitUntil(lambda: editor.list.item(0).text().startswith("1. A"))  # renumbered


def test_a_refused_action_is_said_in_words(qtbot, make_manager, server):
    window = make_manager(server, role="display")  # may watch the branch, not change it
    choose_counter(qtbot, window, 1)
    qtbot.mouseClick(window.windows.open_button, LEFT)
    qtbot.waitUntil(lambda: window.message.isVisible(), timeout=WAIT_MS)
    assert window.message.message_label.text() == "本机令牌无权执行此操作"
    assert server.client("manager").get("/counters/1").json()["state"] == "closed"


def test_alert_details_are_worded_in_the_consoles_language():
    from ui.i18n import Translator
    from ui.manager.tabs.alerts import alert_detail

    t = Translator()
    business = {
        "kind": "business_over_target",
        "subject": {"service": "C", "longest_wait_s": 1140, "target_s": 900},
        "detail": "longest wait 19 min, over the 15 min target",
    }
    paused = {
        "kind": "counter_paused_long",
        "subject": {"counter": 3, "name": "3号窗口", "reason": "午餐", "paused_s": 1500},
        "detail": "…",
    }
    t.set_language("zh")
    assert (
        alert_detail(t, business, lambda code: "开户") == "C 开户：最长等候 19 分钟（目标 15 分钟）"
    )
    assert alert_detail(t, paused, str) == "3号窗口暂停已 25 分钟（午餐）"
    t.set_language("en")
    assert alert_detail(t, business, lambda code: "Accounts") == (
        "C Accounts: longest wait 19 min (target 15 min)"
    )
    # Fired on the prediction while the longest wait is short: it says so, not "0 min".
    predicted = {
        "kind": "business_over_target",
        "subject": {
            "service": "C", "reason": "predicted_wait", "longest_wait_s": 20,
            "target_s": 900, "eta_s": 2520,
        },
        "detail": "a newcomer would wait about 42 min, target 15 min",
    }  # fmt: skip
    assert alert_detail(t, predicted, lambda code: "Accounts") == (
        "C Accounts: a newcomer would wait about 42 min (target 15 min)"
    )
    t.set_language("zh")
    assert alert_detail(t, predicted, lambda code: "开户") == (
        "C 开户：新来的客户预计等候 42 分钟（目标 15 分钟）"
    )
    # A subject without figures (an older alert): the server's own words.
    assert (
        alert_detail(t, {"kind": "business_over_target", "subject": {}, "detail": "x"}, str) == "x"
    )
