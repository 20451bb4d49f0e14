"""The teller's action keys, shared by the full caller window and the compact bar."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy

from ui.counter.session import ACTION_KEYS, SHORTCUTS, Action
from ui.i18n import Translator
from ui.widgets import BigButton

PRIMARY = (Action.CALL_NEXT, Action.START, Action.FINISH)


class ActionButton(BigButton):
    """A teller action with its function key shown on it ("F1  叫下一位"); `key` words it
    otherwise (the compact bar's short "F1  叫号"), `name` is its object name."""

    def __init__(
        self, action: Action, tr: Translator, *, key: str | None = None, name: str | None = None
    ) -> None:
        self.action = action
        self.hint = SHORTCUTS.get(action, "")
        role = "primary" if action in PRIMARY else "secondary"
        super().__init__(key or ACTION_KEYS[action], role, translator=tr)
        self.setObjectName(name or f"action_{action.value}")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Enter from a scanner must not press it

    def retranslate(self) -> None:
        text = self._tr.tr(self.key, **self.values)
        hint = getattr(self, "hint", "")
        self.setText(self._tr.tr("counter.key_hint", key=hint, text=text) if hint else text)
