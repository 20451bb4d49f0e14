"""The sign-in page: counter number and name, staff id and PIN, and what went wrong."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from ui.i18n import Translator
from ui.widgets import Banner, BigButton, TextLabel, card


class SignInPage(QWidget):
    """Counter number and name; staff id and PIN; what went wrong, plainly."""

    def __init__(self, tr: Translator, staff_id: str = "") -> None:
        super().__init__()
        self.tr_ = tr
        self.title = TextLabel("counter.sign_in.title", "title", centred=True, translator=tr)
        self.counter = TextLabel("common.counter", "heading", centred=True, translator=tr)
        self.hint = TextLabel("counter.sign_in.hint", "hint", centred=True, translator=tr)
        self.staff_label = TextLabel("counter.sign_in.staff_id", "body", translator=tr)
        self.staff = QLineEdit(staff_id)
        self.staff.setObjectName("formField")
        self.staff.setMaxLength(64)
        self.pin_label = TextLabel("counter.sign_in.pin", "body", translator=tr)
        self.pin = QLineEdit()
        self.pin.setObjectName("formField")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setMaxLength(12)
        self.submit = BigButton("counter.action.sign_in", "primary", translator=tr)
        self.error = Banner("counter.sign_in.failed", "error", translator=tr)
        self.error.hide()
        self.status = TextLabel("counter.sign_in.connecting", "hint", centred=True, translator=tr)
        self.staff.returnPressed.connect(self.pin.setFocus)

        frame, column = card("counterCard", (16, 12, 16, 12), spacing=6)
        frame.setMaximumWidth(560)
        column.setContentsMargins(32, 28, 32, 28)
        column.setSpacing(12)
        for widget in (self.title, self.counter, self.hint):
            column.addWidget(widget)
        column.addSpacing(8)
        column.addWidget(self.staff_label)
        column.addWidget(self.staff)
        column.addWidget(self.pin_label)
        column.addWidget(self.pin)
        column.addSpacing(8)
        column.addWidget(self.submit)
        column.addWidget(self.error)
        column.addWidget(self.status)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(frame, 2)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

    def show_error(self, key: str, **values: object) -> None:
        self.error.set_message(key, "error", **values)
        self.error.show()
