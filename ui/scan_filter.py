"""Catches keyboard-wedge scanner input in a Qt app and keeps it out of text fields.

A wedge scanner types a code and Enter far faster than a person (see
`devices.scanner.wedge`). `KeyboardWedgeFilter`, installed on the application, watches
every key press on its way to the focused widget and emits `scanned(code)` for a scan.

**The first keys problem.** The first characters of a scan arrive before anything can
tell a scanner from a person. The filter therefore *holds* each printable key press
(swallows it and keeps a copy) while it could still be part of a scan:

* the next key comes within the gap threshold (~30 ms): hold it too;
* a key comes later than that, or any non-text key, or a mouse press: the held keys were a
  person typing — they are replayed, in order, to the widget they were meant for
  (`QCoreApplication.sendEvent`, synchronously, so they land before the key that revealed
  them), and that key goes on as usual;
* Enter ends a burst of at least `min_length` fast keys: it was a scan — the held keys and
  the Enter are dropped and `scanned` is emitted;
* nothing follows: a single-shot timer fires just after the threshold and replays them.

So a person's keystroke reaches the field about 75 ms late (the Enter gap allowance plus
a little), which nobody notices, and no scanner keystroke ever reaches it.

Key timing comes from `QKeyEvent.timestamp()` (the window system's clock, in ms), falling
back to the monotonic clock for synthetic events that carry none. Which widget a key is for:
in a Widgets app a key press reaches the top-level QWindow, then the focus widget (or the
window's widget when nothing has focus), and bubbles up through parents when ignored —
the filter judges each press once, at the focus widget (or at the window widget when
nothing has focus). With `scope` it only judges presses inside that window.

Plain-letter shortcuts are not used in BranchQ; while keys are held, the filter accepts
`ShortcutOverride` for plain text keys so a scan's letters never trigger a shortcut.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from devices.scanner.wedge import ENTER, WedgeDetector

_ENTER_KEYS = {Qt.Key.Key_Return, Qt.Key.Key_Enter}
# Modifiers that make a key a command rather than text (Shift is part of the text).
_COMMAND_MODIFIERS = (
    Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
)
_SLACK_MS = 15  # timer slack beyond the detector's deadline, for event-loop latency


class KeyboardWedgeFilter(QObject):
    """Emits `scanned(code)` for wedge-scanner bursts and swallows their keystrokes."""

    scanned = Signal(str)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        detector: WedgeDetector | None = None,
        scope: QWidget | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self.detector = detector or WedgeDetector()
        self.scope = scope
        self.clock = clock
        self._held: list[tuple[QObject, QKeyEvent]] = []
        self._replaying = False
        self._installed_on: QCoreApplication | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_idle)

    # ------------------------------------------------------------- installing
    def install(self, app: QCoreApplication | None = None) -> KeyboardWedgeFilter:
        """Watch every key press of `app` (default: the running application)."""
        target = app or QCoreApplication.instance()
        if target is None:
            raise RuntimeError("create the QApplication before installing the scan filter")
        target.installEventFilter(self)
        self._installed_on = target
        return self

    def uninstall(self) -> None:
        """Stop watching; keys still held are passed on first."""
        self._release_everything()
        if self._installed_on is not None:
            self._installed_on.removeEventFilter(self)
            self._installed_on = None

    @property
    def held(self) -> int:
        """Key presses held back right now (for tests and diagnostics)."""
        return len(self._held)

    # ---------------------------------------------------------------- filter
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._replaying:
            return False
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and self._held:
            self._release_everything()  # the person moved on: pass their keys on
            return False
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            return False
        if not isinstance(event, QKeyEvent) or not self._is_for_focus(watched):
            return False
        char = self._char_of(event)
        if kind == QEvent.Type.ShortcutOverride:
            if self._held and char is not None and char != ENTER:
                event.accept()  # deliver it as a key press, which we may hold
            return False
        if char is None or event.isAutoRepeat():
            # Not text (arrows, F-keys, Ctrl+…), or a key held down: a person. Anything
            # held goes first, so order is kept.
            self._release_everything()
            return False
        step = self.detector.feed(char, self._seconds(event))
        self._release(step.release)
        if step.scanned is not None:
            self._drop_held()
            self._timer.stop()
            self.scanned.emit(step.scanned)
            return True
        if step.hold:
            self._held.append((watched, event.clone()))
            self._restart_timer()
            return True
        return False

    def _is_for_focus(self, watched: QObject) -> bool:
        if not isinstance(watched, QWidget):
            return False  # the QWindow stage: the same press reaches the widget next
        focus = QApplication.focusWidget()
        if focus is not None:
            if watched is not focus:
                return False
        elif not watched.isWindow():
            return False
        return self.scope is None or watched.window() is self.scope.window()

    @staticmethod
    def _char_of(event: QKeyEvent) -> str | None:
        if event.modifiers() & _COMMAND_MODIFIERS:
            return None
        if event.key() in _ENTER_KEYS:
            return ENTER
        text = event.text()
        if len(text) == 1 and text.isprintable():
            return text
        return None

    def _seconds(self, event: QKeyEvent) -> float:
        stamp = event.timestamp()
        return stamp / 1000.0 if stamp else self.clock()

    # ----------------------------------------------------------- held keys
    def _restart_timer(self) -> None:
        deadline = self.detector.deadline
        last = self._last_time()
        wait_s = (deadline - last) if deadline is not None and last is not None else 0.0
        self._timer.start(max(1, round(wait_s * 1000)) + _SLACK_MS)

    def _last_time(self) -> float | None:
        if not self._held:
            return None
        return self._seconds(self._held[-1][1])

    def _on_idle(self) -> None:
        deadline = self.detector.deadline
        if deadline is None:
            return
        release, code = self.detector.expire(deadline)
        if code is not None:
            self._drop_held()
            self.scanned.emit(code)
        else:
            self._release(release)

    def _release_everything(self) -> None:
        """Give up on every held press: the detector forgets them, the widgets get them."""
        self.detector.release_all()
        self._timer.stop()
        self._release(len(self._held))

    def _release(self, count: int) -> None:
        """Replay the `count` oldest held presses to the widgets they were meant for."""
        if count <= 0:
            return
        batch, self._held = self._held[:count], self._held[count:]
        self._replaying = True
        try:
            for receiver, event in batch:
                target = receiver if shiboken6.isValid(receiver) else QApplication.focusWidget()
                if target is not None:
                    QCoreApplication.sendEvent(target, event)
        finally:
            self._replaying = False

    def _drop_held(self) -> None:
        self._held.clear()
