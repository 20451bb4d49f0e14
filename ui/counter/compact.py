"""The counter caller's compact bar: a small always-on-top strip, as a 软件呼叫器 is.

Tellers work full screen in the core-banking client; the full caller window would sit
behind it. The bar stays on top of it with what a call needs: who is signed in, the number
at the counter and five keys (call next, recall, start, finish, pause / resume), with the
same function keys as the full window. It renders the window's own view and sends every
press through the window, so it has no rules of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from ui.counter.keys import ActionButton
from ui.counter.session import SHORTCUTS, Action, CounterView
from ui.i18n import Translator
from ui.widgets import BigButton, label, restyle

if TYPE_CHECKING:
    from ui.counter.window import CounterWindow

# The bar's keys, in the full window's function-key order.
COMPACT_KEYS = (Action.CALL_NEXT, Action.RECALL, Action.START, Action.FINISH, Action.PAUSE)
COMPACT_SIZE = (480, 160)  # on top of the teller's other work: as small as stays legible


def compact_key(action: Action, tr: Translator) -> ActionButton:
    """One key of the bar with its function key and a short word: "F1  叫号"."""
    return ActionButton(action, tr, key=f"counter.compact.{action.value}", name="compactKey")


class CompactBar(QWidget):
    """The always-on-top strip for one counter window."""

    def __init__(self, window: CounterWindow) -> None:
        super().__init__(None, Qt.WindowType.Window | Qt.WindowType.WindowStaysOnTopHint)
        self.setObjectName("counterCompact")
        self.window_ = window
        tr = window.tr_
        self.staff = label("compactStaff", wrap=False)
        self.number = label("compactNumber", wrap=False)
        self.state = label("compactState", wrap=False)
        self.note = label("compactNote", "hint")
        self.note.hide()
        self.leave = BigButton("counter.compact.leave", "secondary", translator=tr)
        self.leave.setObjectName("compactLeave")
        self.leave.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.leave.clicked.connect(window.leave_compact)
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.number)
        top.addWidget(self.state)
        top.addStretch(1)
        top.addWidget(self.staff)
        top.addWidget(self.leave)
        keys = QHBoxLayout()
        keys.setSpacing(6)
        self.keys: dict[Action, ActionButton] = {}
        for action in COMPACT_KEYS:
            key = compact_key(action, tr)
            key.clicked.connect(lambda _=False, action=action: window.press(action))
            keys.addWidget(key)
            self.keys[action] = key
        column = QVBoxLayout(self)
        column.setContentsMargins(10, 8, 10, 8)
        column.setSpacing(8)
        column.addLayout(top)
        column.addLayout(keys)
        column.addWidget(self.note)
        for action in COMPACT_KEYS:
            shortcut = QShortcut(QKeySequence(SHORTCUTS[action]), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda action=action: self._shortcut(action))
        self.resize(*COMPACT_SIZE)

    def _shortcut(self, action: Action) -> None:
        if self.window_.session.view().signed_in:
            self.window_.press(action)

    def show_view(self, view: CounterView, staff_name: str) -> None:
        t = self.window_.tr_
        self.setWindowTitle(self.window_.windowTitle())
        self.staff.setText(t.tr("counter.staff", staff=staff_name) if staff_name else "")
        customer = view.customer
        self.number.setText(customer.number if customer is not None else "—")
        if customer is not None:
            state = "serving" if customer.serving else "called"
            self.state.setText(t.tr(f"counter.state.{state}"))
        elif view.signed_in:
            self.state.setText(t.tr(f"counter.state.{view.state.value}"))
        else:
            self.state.setText(t.tr("counter.state.closed"))
        restyle(self.state, "state", view.state.value)
        for action, key in self.keys.items():
            if action is Action.PAUSE:
                action = view.pause_action
                key.set_text(f"counter.compact.{action.value}")
            key.setEnabled(view.can(action))

    def show_note(self, text: str) -> None:
        """Why a key did nothing, in the strip (the full window's banner is hidden)."""
        self.note.setText(text)
        self.note.setToolTip(text)
        self.note.show()
