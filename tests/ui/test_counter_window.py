"""The counter caller as a teller uses it, against a real queue server on loopback.

Clicks and function keys go through the real BranchClient to conftest's LiveServer; what
the screen shows is compared with what the server holds. Waits are qtbot.waitUntil with a
deadline, never sleeps.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PIN, TEST_CONFIG, FakeClock, LiveServer, make_db, sign_in
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from ui import theme
from ui.client import BranchClient
from ui.counter.session import Action
from ui.counter.window import CounterWindow, open_counter
from ui.i18n import Translator

WAIT_MS = 8000
LEFT = Qt.MouseButton.LeftButton
KEYS = {
    Action.CALL_NEXT: Qt.Key.Key_F1,
    Action.RECALL: Qt.Key.Key_F2,
    Action.START: Qt.Key.Key_F3,
    Action.FINISH: Qt.Key.Key_F4,
    Action.NO_SHOW: Qt.Key.Key_F5,
    Action.TRANSFER: Qt.Key.Key_F6,
    Action.PAUSE: Qt.Key.Key_F7,
    Action.CALL_NUMBER: Qt.Key.Key_F8,
}


@pytest.fixture
def make_counter(qtbot, tr: Translator) -> Iterator[Any]:
    clients: list[BranchClient] = []

    def make(base_url: str, token: str, counter: int, **options: Any) -> CounterWindow:
        client = BranchClient(base_url, token, timeout_s=2.0, backoff_s=(0.1, 0.5))
        clients.append(client)
        options.setdefault("offline_grace_ms", 0)
        window = open_counter(client, counter, tr=tr, refresh_ms=50, **options)
        qtbot.addWidget(window)
        window.resize(1366, 768)
        window.show()
        client.start()
        qtbot.waitUntil(lambda: client.online and window.session.view().known, timeout=WAIT_MS)
        return window

    yield make
    for client in clients:
        client.stop()


def issue(server: LiveServer, service: str = "A", **body: Any) -> dict[str, Any]:
    r = server.client("kiosk").post("/tickets", json={"service": service, **body})
    assert r.status_code == 201, r.text
    return r.json()


def on_server(server: LiveServer, ticket_id: int) -> dict[str, Any]:
    return server.client("manager").get(f"/tickets/{ticket_id}").json()


def counter_on_server(server: LiveServer, number: int) -> dict[str, Any]:
    return server.client("manager").get(f"/counters/{number}").json()


def shown(window: CounterWindow) -> str | None:
    """The number on the customer panel, or None when it says nobody is there."""
    panel = window.customer
    if panel.pages.currentWidget() is not panel.present:
        return None
    return panel.number.text()


def click(qtbot, window: CounterWindow, action: Action) -> None:
    button = window.buttons[Action.PAUSE if action is Action.RESUME else action]
    assert button.isEnabled(), f"{action} is not enabled"
    qtbot.mouseClick(button, LEFT)


def settle(qtbot, window: CounterWindow) -> None:
    """Wait until the last action has been answered."""
    qtbot.waitUntil(lambda: window.busy is None, timeout=WAIT_MS)


def test_the_tellers_day(qtbot, make_counter, server):
    window = make_counter(server.base_url, server.tokens["counter:1"], 1, staff_id="t1")
    page = window.sign_in
    assert window.stack.currentWidget() is page
    assert "1 号窗口" in page.counter.text()

    # A wrong PIN is refused in words; the right one opens the counter.
    qtbot.keyClicks(page.pin, "1111")
    qtbot.mouseClick(page.submit, LEFT)
    qtbot.waitUntil(lambda: page.error.isVisible(), timeout=WAIT_MS)
    assert page.error.message_label.text() == "工号或密码不正确，请重新输入"
    assert page.pin.text() == ""
    qtbot.keyClicks(page.pin, PIN)
    qtbot.keyClick(page.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.main, timeout=WAIT_MS)
    assert counter_on_server(server, 1)["state"] == "open"
    # The teller's name comes with the counter (the counter's token cannot read the staff).
    qtbot.waitUntil(lambda: window.staff.text() == "柜员 Teller 1", timeout=WAIT_MS)

    # Call, recall twice, no-show.
    first = issue(server)
    click(qtbot, window, Action.CALL_NEXT)
    qtbot.waitUntil(lambda: shown(window) == first["number"], timeout=WAIT_MS)
    assert window.customer.state.text() == "已叫号，等待客户到窗口"
    for times in (1, 2):
        settle(qtbot, window)
        click(qtbot, window, Action.RECALL)
        qtbot.waitUntil(
            lambda times=times: on_server(server, first["id"])["recall_count"] == times,
            timeout=WAIT_MS,
        )
    qtbot.waitUntil(lambda: window.customer.recalls.text() == "已呼叫 3 次", timeout=WAIT_MS)
    settle(qtbot, window)
    click(qtbot, window, Action.NO_SHOW)
    qtbot.waitUntil(lambda: shown(window) is None, timeout=WAIT_MS)
    assert on_server(server, first["id"])["state"] == "no_show"

    # Call a care customer, start, transfer to account opening with a note.
    second = issue(server, priority="care")
    settle(qtbot, window)
    click(qtbot, window, Action.CALL_NEXT)
    qtbot.waitUntil(lambda: shown(window) == second["number"], timeout=WAIT_MS)
    assert window.customer.priority.text() == "优先服务"
    settle(qtbot, window)
    click(qtbot, window, Action.START)
    qtbot.waitUntil(lambda: window.buttons[Action.FINISH].isEnabled(), timeout=WAIT_MS)
    assert on_server(server, second["id"])["state"] == "serving"
    settle(qtbot, window)  # the serving event can enable Finish before Start's reply is in
    click(qtbot, window, Action.TRANSFER)
    dialog = window.transfer_dialog
    assert dialog is not None
    dialog.choose_service("C")
    dialog.note.setText("要开户")  # QTest cannot type Chinese; an IME would
    qtbot.mouseClick(dialog.confirm, LEFT)
    qtbot.waitUntil(lambda: shown(window) is None, timeout=WAIT_MS)
    history = server.client("manager").get(f"/tickets/{second['id']}/history").json()
    leg = history["legs"][-1]
    assert (leg["service"], leg["state"], leg["priority"], leg["note"]) == (
        "C", "waiting", "care", "要开户",
    )  # fmt: skip
    assert leg["arrived_at"] == on_server(server, second["id"])["arrived_at"]
    preview = server.client("counter:3").get("/counters/3/queue").json()
    assert leg["id"] in [t["id"] for t in preview["next"]]

    # Call, start, finish; the rating pad's answer shows up on the screen.
    third = issue(server)
    settle(qtbot, window)
    click(qtbot, window, Action.CALL_NEXT)
    qtbot.waitUntil(lambda: shown(window) == third["number"], timeout=WAIT_MS)
    settle(qtbot, window)
    click(qtbot, window, Action.START)
    qtbot.waitUntil(lambda: window.buttons[Action.FINISH].isEnabled(), timeout=WAIT_MS)
    settle(qtbot, window)
    click(qtbot, window, Action.FINISH)
    qtbot.waitUntil(lambda: shown(window) is None, timeout=WAIT_MS)
    assert window.rating.text() == f"正在等待 {third['number']} 的客户评价…"
    r = server.client("counter:1").post(f"/tickets/{third['id']}/rating", json={"rating": 4})
    assert r.status_code == 200, r.text
    qtbot.waitUntil(
        lambda: window.rating.text() == f"{third['number']} 的评价：非常满意", timeout=WAIT_MS
    )
    qtbot.waitUntil(lambda: window.today.values["served"].text() == "1", timeout=WAIT_MS)
    assert window.today.values["no_shows"].text() == "1"
    assert window.today.values["transfers"].text() == "1"

    # Pause for lunch, resume.
    settle(qtbot, window)
    click(qtbot, window, Action.PAUSE)
    pause = window.pause_dialog
    assert pause is not None
    pause.choose("lunch")
    qtbot.mouseClick(pause.confirm, LEFT)
    qtbot.waitUntil(lambda: window.paused.isVisible(), timeout=WAIT_MS)
    assert window.paused.message_label.text() == "本窗口暂停服务：午餐"
    assert counter_on_server(server, 1)["pause_reason"] == "lunch"
    assert not window.buttons[Action.CALL_NEXT].isEnabled()
    assert window.buttons[Action.PAUSE].text() == "F7  恢复服务"
    settle(qtbot, window)  # the banner comes with the event; a press before the reply is ignored
    click(qtbot, window, Action.RESUME)
    qtbot.waitUntil(lambda: window.buttons[Action.CALL_NEXT].isEnabled(), timeout=WAIT_MS)
    assert counter_on_server(server, 1)["state"] == "open"

    # Sign out: the counter closes and the sign-in screen is back.
    settle(qtbot, window)
    qtbot.mouseClick(window.sign_out, LEFT)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.sign_in, timeout=WAIT_MS)
    assert counter_on_server(server, 1)["staff_id"] is None


def kinds_for(events: list[dict[str, Any]], ticket_id: int) -> list[str]:
    return [e["kind"] for e in events if (e.get("ticket") or {}).get("id") == ticket_id]


def test_function_keys_do_what_the_buttons_do(qtbot, make_counter, server):
    sign_in(server, 1)
    window = make_counter(server.base_url, server.tokens["counter:1"], 1)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
    events: list[dict[str, Any]] = []
    window.client.eventReceived.connect(events.append)
    steps = (Action.CALL_NEXT, Action.RECALL, Action.START, Action.FINISH)

    def run(press) -> int:
        ticket = issue(server)
        for action in steps:
            settle(qtbot, window)
            qtbot.waitUntil(lambda a=action: window.session.view().can(a), timeout=WAIT_MS)
            press(action)
        qtbot.waitUntil(lambda: on_server(server, ticket["id"])["state"] == "done", timeout=WAIT_MS)
        qtbot.waitUntil(lambda: "ticket.done" in kinds_for(events, ticket["id"]), timeout=WAIT_MS)
        return int(ticket["id"])

    by_click = run(lambda action: click(qtbot, window, action))
    by_key = run(lambda action: qtbot.keyClick(window, KEYS[action]))
    assert kinds_for(events, by_key) == kinds_for(events, by_click) == [
        "ticket.issued", "ticket.called", "ticket.recalled", "ticket.serving", "ticket.done",
    ]  # fmt: skip

    # F7 opens the pause dialog and, once paused, resumes; F8 calls a number.
    settle(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_F7)
    assert window.pause_dialog is not None
    qtbot.mouseClick(window.pause_dialog.confirm, LEFT)
    qtbot.waitUntil(lambda: counter_on_server(server, 1)["state"] == "paused", timeout=WAIT_MS)
    # The reply to a pause carries no counter: the window learns it is paused from the
    # counter.paused event, which can come later. Until then F7 would open the dialog again.
    qtbot.waitUntil(
        lambda: window.paused.isVisible() and window.session.view().can(Action.RESUME),
        timeout=WAIT_MS,
    )
    settle(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_F7)
    qtbot.waitUntil(lambda: counter_on_server(server, 1)["state"] == "open", timeout=WAIT_MS)
    issue(server)
    wanted = issue(server)
    qtbot.waitUntil(lambda: window.buttons[Action.CALL_NUMBER].isEnabled(), timeout=WAIT_MS)
    settle(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_F8)
    assert window.call_dialog is not None
    qtbot.keyClicks(window.call_dialog.field, wanted["number"].lower())
    qtbot.keyClick(window.call_dialog.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: shown(window) == wanted["number"], timeout=WAIT_MS)
    # The number shows from the reply; its ticket.called event may still be on its way.
    qtbot.waitUntil(lambda: "ticket.called" in kinds_for(events, wanted["id"]), timeout=WAIT_MS)
    settle(qtbot, window)
    # Letters typed at the window (a wedge scanner) do nothing.
    before = len(events)
    qtbot.keyClicks(window, "n1rsf")
    QApplication.processEvents()
    assert len(events) == before and window.busy is None


def test_server_restarted_mid_shift(qtbot, make_counter, branch_db, clock: FakeClock):
    db, tokens = branch_db
    first = LiveServer(db, tokens, clock).start()
    second: LiveServer | None = None
    try:
        sign_in(first, 1)
        ticket = issue(first)
        window = make_counter(first.base_url, tokens["counter:1"], 1)
        click(qtbot, window, Action.CALL_NEXT)
        qtbot.waitUntil(lambda: shown(window) == ticket["number"], timeout=WAIT_MS)
        settle(qtbot, window)

        first.stop()
        qtbot.waitUntil(lambda: window.offline.isVisible(), timeout=WAIT_MS)
        assert window.offline.message_label.text().startswith("与排队服务器的连接已断开")
        # Pressed while down: refused at once and in words, never queued.
        qtbot.mouseClick(window.buttons[Action.START], LEFT)
        assert window.message.isVisible() and window.message.kind == "error"
        assert window.message.message_label.text().startswith("未连接排队服务器，操作未执行")
        assert window.busy is None

        second = LiveServer(db, tokens, clock, port=first.port).start()
        assert on_server(second, ticket["id"])["state"] == "called"  # the press did nothing
        # Meanwhile another teller's keypad started the service: the app shows the truth.
        r = second.client("counter:1").post("/counters/1/start", json={})
        assert r.status_code == 200, r.text
        qtbot.waitUntil(lambda: not window.offline.isVisible(), timeout=WAIT_MS)
        qtbot.waitUntil(
            lambda: (
                window.customer.state.text() == "正在办理"
                and window.buttons[Action.FINISH].isEnabled()
            ),
            timeout=WAIT_MS,
        )
        assert window.message.message_label.text() == "已恢复连接"
        click(qtbot, window, Action.FINISH)
        qtbot.waitUntil(lambda: on_server(second, ticket["id"])["state"] == "done", timeout=WAIT_MS)
    finally:
        if second is not None:
            second.stop()
        first.stop()


def test_two_counters_pressing_call_next_together_never_get_the_same_customer(
    qtbot, make_counter, server
):
    sign_in(server, 1)
    sign_in(server, 2)
    one = make_counter(server.base_url, server.tokens["counter:1"], 1)
    two = make_counter(server.base_url, server.tokens["counter:2"], 2)
    tickets = [issue(server) for _ in range(3)]
    qtbot.waitUntil(lambda: one.buttons[Action.CALL_NEXT].isEnabled(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: two.buttons[Action.CALL_NEXT].isEnabled(), timeout=WAIT_MS)
    # Both requests leave before either answer is read.
    one.press(Action.CALL_NEXT)
    two.press(Action.CALL_NEXT)
    qtbot.waitUntil(lambda: shown(one) is not None and shown(two) is not None, timeout=WAIT_MS)
    assert shown(one) != shown(two)
    numbers = {t["number"] for t in tickets}
    assert {shown(one), shown(two)} <= numbers
    states = {t["id"]: on_server(server, t["id"]) for t in tickets}
    assert sorted(s["counter"] for s in states.values() if s["state"] == "called") == [1, 2]


def test_a_care_customer_with_a_form_is_shown_and_the_form_goes_when_they_do(
    qtbot, make_counter, tmp_path: Path, clock: FakeClock
):
    config = copy.deepcopy(TEST_CONFIG)
    config["services"][2]["needs_form"] = True
    db = tmp_path / "form.db"
    tokens = make_db(db, config)
    live = LiveServer(db, tokens, clock).start()
    try:
        sign_in(live, 3)
        eform = {"name": "王建华", "id_number": "11010519550307002X", "address": "北京市朝阳区"}
        ticket = issue(live, "C", priority="care", eform=eform)
        window = make_counter(live.base_url, tokens["counter:3"], 3)
        click(qtbot, window, Action.CALL_NEXT)
        qtbot.waitUntil(lambda: shown(window) == ticket["number"], timeout=WAIT_MS)
        fields = window.customer.eform_fields
        qtbot.waitUntil(lambda: fields["name"][1].text() == "王建华", timeout=WAIT_MS)
        assert fields["id_number"][1].text() == "11010519550307002X"
        assert fields["id_number"][1].isReadOnly()
        assert window.customer.eform.isVisible() and not fields["gender"][1].isVisible()
        assert window.customer.priority.text() == "优先服务"
        settle(qtbot, window)
        click(qtbot, window, Action.START)
        qtbot.waitUntil(lambda: window.buttons[Action.FINISH].isEnabled(), timeout=WAIT_MS)
        settle(qtbot, window)
        click(qtbot, window, Action.FINISH)
        qtbot.waitUntil(lambda: shown(window) is None, timeout=WAIT_MS)
        assert all(value.text() == "" for _, value in fields.values())
        assert not window.customer.eform.isVisible()
    finally:
        live.stop()


def test_language_switch_and_the_compact_staff_theme(qtbot, make_counter, server, tr, qapp):
    sign_in(server, 1)
    window = make_counter(server.base_url, server.tokens["counter:1"], 1)
    assert window.buttons[Action.CALL_NEXT].text() == "F1  叫下一位"
    qtbot.mouseClick(window.language.buttons["en"], LEFT)
    assert window.buttons[Action.CALL_NEXT].text() == "F1  Call next"
    assert window.customer.empty.text() == "No customer at the counter"
    assert window.title.text().startswith("Counter 1")
    # The staff variant: same slots as the kiosk's, smaller, buttons still ≥ 48 px.
    assert theme.variables(False, "staff").keys() == theme.variables(False).keys()
    assert theme.pixels(False, "button_min_h", "staff") >= 48
    assert theme.pixels(False, "toggle_min_h", "staff") >= 48
    assert theme.pixels(False, "body_px", "staff") < theme.pixels(False, "body_px")
    try:
        theme.apply_theme(qapp, variant="staff")
        QApplication.processEvents()
        assert all(b.height() >= 48 for b in window.buttons.values())
        assert window.sign_out.height() >= 48
    finally:
        qapp.setStyleSheet("")
        qapp.setProperty(theme.LARGE_PROPERTY, None)


def test_the_entry_point_parses_its_arguments():
    from ui.counter.main import parse_args

    args = parse_args(
        ["--server", "http://h:1", "--token", "t", "--counter", "3", "--language", "en"]
    )
    assert (args.server, args.counter, args.staff, args.language) == ("http://h:1", 3, "", "en")
    with pytest.raises(SystemExit):
        parse_args(["--server", "http://h:1", "--token", "t"])


def test_every_text_the_counter_app_names_is_in_both_catalogs():
    import ui.counter.dialogs
    import ui.counter.panels.knowledge
    import ui.counter.session
    import ui.counter.window
    from kiosk.selftest import catalog_keys_used
    from ui.counter.panels.customer import EFORM_FIELDS
    from ui.counter.panels.today import TodayPanel
    from ui.counter.session import ACTION_KEYS, PAUSE_REASONS, RATING_KEYS, CounterState
    from ui.i18n import LANGUAGES, Catalog
    from wire.knowledge import LIST_FIELDS

    catalog = Catalog.load()
    modules = [
        m.__name__
        for m in (
            ui.counter.session,
            ui.counter.window,
            ui.counter.dialogs,
            ui.counter.panels.knowledge,
        )
    ]
    named = set().union(
        *catalog_keys_used([*modules, "tools.screenshots.counter"], {"counter"}).values()
    )
    built = {
        *ACTION_KEYS.values(),
        *RATING_KEYS.values(),
        *(f"counter.pause_reason.{r}" for r in PAUSE_REASONS),
        *(f"counter.state.{s.value}" for s in CounterState),
        *(f"counter.eform.field.{f}" for f in EFORM_FIELDS),
        *(f"counter.today.{f}" for f in TodayPanel.FIGURES),
        *(f"priority.{p}" for p in ("regular", "care", "vip", "appointment")),
        *(f"counter.knowledge.{f}" for f in LIST_FIELDS),
    }
    assert len(named) > 40
    missing = {
        lang: sorted(k for k in named | built if k not in catalog.messages[lang])
        for lang in LANGUAGES
    }
    assert missing == {lang: [] for lang in LANGUAGES}


def test_the_compact_bar_calls_starts_and_finishes_and_is_remembered(
    qtbot, make_counter, server, tmp_path
):
    settings = QSettings(str(tmp_path / "counter.ini"), QSettings.Format.IniFormat)
    window = make_counter(server.base_url, server.tokens["counter:1"], 1, settings=settings)
    sign_in(server, 1)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.main, timeout=WAIT_MS)
    qtbot.mouseClick(window.compact_button, LEFT)
    bar = window.compact
    assert bar is not None and bar.isVisible() and not window.isVisible()
    assert bar.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert bar.width() <= 480 and bar.height() <= 160
    assert bar.staff.text() == "柜员 Teller 1"

    first = issue(server)
    qtbot.mouseClick(bar.keys[Action.CALL_NEXT], LEFT)
    qtbot.waitUntil(lambda: bar.number.text() == first["number"], timeout=WAIT_MS)
    assert on_server(server, first["id"])["state"] == "called"
    assert not bar.keys[Action.CALL_NEXT].isEnabled() and bar.keys[Action.START].isEnabled()
    settle(qtbot, window)
    qtbot.keyClick(bar, Qt.Key.Key_F3)  # the function keys work on the bar as on the window
    qtbot.waitUntil(lambda: on_server(server, first["id"])["state"] == "serving", timeout=WAIT_MS)
    settle(qtbot, window)
    qtbot.mouseClick(bar.keys[Action.FINISH], LEFT)
    qtbot.waitUntil(lambda: on_server(server, first["id"])["state"] == "done", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bar.number.text() == "—", timeout=WAIT_MS)

    # The choice outlives the app: a new window over the same settings opens as the bar.
    again = make_counter(server.base_url, server.tokens["counter:1"], 1, settings=settings)
    again.restore_mode()
    assert again.compact is not None and again.compact.isVisible()
    qtbot.mouseClick(again.compact.leave, LEFT)
    assert again.isVisible() and not again.compact.isVisible()
    assert QSettings(str(tmp_path / "counter.ini"), QSettings.Format.IniFormat).value(
        "counter/compact"
    ) in (False, "false")
