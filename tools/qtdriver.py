"""Driving the real Qt apps from the benches, drills and the soak: the one copy of the loop
helpers they share.

- `wait_until`: run the Qt event loop until a condition holds (the tools' `qtbot.waitUntil`);
- `stdin_commands`: lines from a parent process, delivered on the GUI thread;
- `sign_in_counter`: a teller signing in at the counter app's sign-in page, by clicks.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtTest import QTest


def wait_until(done: Callable[[], bool], what: str, timeout_s: float) -> None:
    """Run the Qt loop until `done()`; a TimeoutError names `what` after `timeout_s`.

    The loop sleeps until an event arrives; a single-shot timer wakes it at the deadline, so
    a condition that never comes true still ends in a TimeoutError, not a hang.
    """
    app = QCoreApplication.instance()
    assert app is not None, "create the QApplication first"
    deadline = time.monotonic() + timeout_s
    alarm = QTimer()
    alarm.setSingleShot(True)
    if math.isfinite(timeout_s):
        alarm.start(int(timeout_s * 1000) + 1)
    try:
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} within {timeout_s:.0f} s")
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
    finally:
        alarm.stop()


class _Lines(QObject):
    line = Signal(str)


_BRIDGES: list[_Lines] = []


def stdin_commands(name: str) -> list[str]:
    """A list that fills with the stripped lines of standard input ("stop" at its end).

    A reader thread emits each line through a queued signal, so the list only changes on
    the GUI thread, while the loop runs (`wait_until(lambda: bool(commands), …)`).
    """
    commands: list[str] = []
    bridge = _Lines()
    bridge.line.connect(commands.append)

    def read() -> None:
        for raw in sys.stdin:
            bridge.line.emit(raw.strip())
        bridge.line.emit("stop")

    threading.Thread(target=read, name=name, daemon=True).start()
    _BRIDGES.append(bridge)  # kept alive as long as the process
    return commands


def sign_in_counter(window: Any, staff: str, pin: str, timeout_s: float) -> None:
    """Type the staff id and PIN into the counter app's sign-in page and submit, by clicks;
    return once the window shows its main page."""
    page = window.sign_in
    page.staff.setText(staff)
    page.pin.setText(pin)
    QTest.mouseClick(page.submit, Qt.MouseButton.LeftButton)
    wait_until(lambda: window.stack.currentWidget() is window.main, "not signed in", timeout_s)
