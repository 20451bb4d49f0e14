"""The keyboard-wedge filter in a real Qt widget tree: scans are caught, typing gets through."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QVBoxLayout, QWidget

from devices.scanner.wedge import WedgeDetector
from ui.scan_filter import KeyboardWedgeFilter

CODE = "BQ1.eyJhIjoiQVAwMDQyIn0.c2ln-_9"


class Keyboard:
    """Sends key presses with chosen window-system timestamps, as a scanner or a person."""

    def __init__(self, start_ms: int = 1_000_000) -> None:
        self.now_ms = start_ms

    def press(self, char: str, after_ms: int) -> None:
        self.now_ms += after_ms
        if char == "\r":
            key, text = Qt.Key.Key_Return, ""
        else:
            key, text = Qt.Key(ord(char.upper())), char
        event = QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier, text)
        event.setTimestamp(self.now_ms)
        receiver = QApplication.focusWidget()
        assert receiver is not None
        QApplication.sendEvent(receiver, event)

    def type(self, text: str, gap_ms: int, enter: bool = False) -> None:
        for char in text:
            self.press(char, gap_ms)
        if enter:
            self.press("\r", gap_ms)


@pytest.fixture
def form(qtbot):
    window = QWidget()
    layout = QVBoxLayout(window)
    field, other = QLineEdit(), QLineEdit()
    layout.addWidget(field)
    layout.addWidget(other)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    field.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is field)
    yield field  # the window stays referenced (alive) for the whole test


@pytest.fixture
def wedge(qtbot):
    scan_filter = KeyboardWedgeFilter().install()
    yield scan_filter
    scan_filter.uninstall()


def test_a_scanner_burst_is_caught_and_never_reaches_the_text_field(qtbot, form, wedge):
    keyboard = Keyboard()
    returns = []
    form.returnPressed.connect(lambda: returns.append(True))
    with qtbot.waitSignal(wedge.scanned, timeout=2000) as blocker:
        keyboard.type(CODE, gap_ms=4, enter=True)
    assert blocker.args == [CODE]
    assert form.text() == "" and returns == [] and wedge.held == 0


def test_slow_typing_reaches_the_text_field_and_is_not_a_scan(qtbot, form, wedge):
    keyboard = Keyboard()
    scans = []
    wedge.scanned.connect(scans.append)
    keyboard.type("hello", gap_ms=150)
    qtbot.waitUntil(lambda: form.text() == "hello", timeout=2000)
    assert scans == [] and wedge.held == 0


def test_a_person_s_enter_is_passed_on_after_their_text(qtbot, form, wedge):
    keyboard = Keyboard()
    seen = []
    form.returnPressed.connect(lambda: seen.append(form.text()))
    keyboard.type("A023", gap_ms=180, enter=True)
    qtbot.waitUntil(lambda: seen == ["A023"], timeout=2000)


def test_typing_then_a_scan_keeps_the_typing_and_catches_the_scan(qtbot, form, wedge):
    keyboard = Keyboard()
    keyboard.type("42", gap_ms=200)
    with qtbot.waitSignal(wedge.scanned, timeout=2000) as blocker:
        keyboard.press(CODE[0], after_ms=300)
        keyboard.type(CODE[1:], gap_ms=3, enter=True)
    assert blocker.args == [CODE]
    assert form.text() == "42"


def test_a_fast_burst_without_enter_is_typing(qtbot, form, wedge):
    keyboard = Keyboard()
    scans = []
    wedge.scanned.connect(scans.append)
    keyboard.type("abc", gap_ms=5)  # a typist rolling over three keys
    qtbot.waitUntil(lambda: form.text() == "abc", timeout=2000)
    assert scans == []


def test_a_scanner_without_a_suffix_when_configured(qtbot, form):
    scan_filter = KeyboardWedgeFilter(detector=WedgeDetector(end_on_idle=True)).install()
    try:
        with qtbot.waitSignal(scan_filter.scanned, timeout=2000) as blocker:
            Keyboard().type("6901234567892", gap_ms=2)
        assert blocker.args == ["6901234567892"] and form.text() == ""
    finally:
        scan_filter.uninstall()


def test_uninstalling_passes_held_keys_on_and_stops_filtering(qtbot, form):
    scan_filter = KeyboardWedgeFilter().install()
    keyboard = Keyboard()
    keyboard.press("x", after_ms=100)
    assert scan_filter.held == 1 and form.text() == ""
    scan_filter.uninstall()
    assert form.text() == "x"
    keyboard.type(CODE, gap_ms=2, enter=True)  # no filter now: it is just typing
    assert form.text() == "x" + CODE


def test_key_presses_through_the_window_system_path(qtbot, form, wedge):
    # Real key presses reach the top-level QWindow first, which forwards them to the focus
    # widget: the filter must judge each press once, at the widget.
    window = form.window().windowHandle()
    stamp = 2_000_000
    with qtbot.waitSignal(wedge.scanned, timeout=2000) as blocker:
        for char in [*CODE, "\r"]:
            stamp += 3
            key = Qt.Key.Key_Return if char == "\r" else Qt.Key(ord(char.upper()))
            text = "" if char == "\r" else char
            event = QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier, text)
            event.setTimestamp(stamp)
            QApplication.sendEvent(window, event)
    assert blocker.args == [CODE] and form.text() == ""


def test_qtest_key_clicks_without_timestamps_use_the_monotonic_clock(qtbot, form):
    # QTest's events carry no timestamp, so the filter times them itself; the threshold is
    # relaxed so that a busy CI machine pausing between two clicks does not split the burst.
    relaxed = WedgeDetector(max_gap_s=0.25)
    scan_filter = KeyboardWedgeFilter(detector=relaxed).install()
    try:
        with qtbot.waitSignal(scan_filter.scanned, timeout=3000) as blocker:
            qtbot.keyClicks(form, CODE)
            qtbot.keyClick(form, Qt.Key.Key_Return)
        assert blocker.args == [CODE] and form.text() == ""
        qtbot.keyClicks(form, "ab")  # too short for a scan: typing, released by the timer
        qtbot.waitUntil(lambda: form.text() == "ab", timeout=3000)
    finally:
        scan_filter.uninstall()
