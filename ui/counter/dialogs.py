"""The counter app's small dialogs: transfer a customer, pause with a reason, call a number.

Each is opened with `open()` (window-modal, never a nested event loop) and reports through
`accepted`; the window reads the choice with `target()`, `reason()` or `number()`. Every
text comes from the catalogs and follows a language switch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ui.counter.session import PAUSE_REASONS
from ui.i18n import Translator
from ui.widgets import BigButton, TextLabel

MAX_NOTE = 500  # the server's limit
MAX_REASON = 200


class CounterDialog(QDialog):
    """A titled dialog with Confirm / Cancel at the bottom, in the counter app's look."""

    def __init__(self, tr: Translator, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("counterDialog")
        self.setModal(True)
        self.tr_ = tr
        self._title_key = title
        self.body = QVBoxLayout()
        self.body.setSpacing(12)
        self.confirm = BigButton("common.confirm", "primary", translator=tr)
        self.cancel = BigButton("common.cancel", "secondary", translator=tr)
        self.confirm.setDefault(True)
        self.confirm.clicked.connect(self.accept)
        self.cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.confirm)
        column = QVBoxLayout(self)
        column.setContentsMargins(24, 20, 24, 20)
        column.setSpacing(16)
        column.addWidget(TextLabel(title, "title", translator=tr))
        column.addLayout(self.body, 1)
        column.addLayout(buttons)
        tr.languageChanged.connect(self.retranslate)

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr_.tr(self._title_key))


class TransferDialog(CounterDialog):
    """Send the customer to another business, or to a named counter, with a note."""

    def __init__(
        self,
        tr: Translator,
        services: Sequence[tuple[str, Mapping[str, str]]],
        counters: Sequence[tuple[int, str, str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(tr, "counter.transfer.title", parent)
        self.services = list(services)
        self.counters = list(counters)  # (number, name, state)
        self.to_service = QRadioButton()
        self.to_counter = QRadioButton()
        group = QButtonGroup(self)
        group.addButton(self.to_service)
        group.addButton(self.to_counter)
        self.service_box = QComboBox()
        self.counter_box = QComboBox()
        self.note = QLineEdit()
        self.note.setMaxLength(MAX_NOTE)
        self.note.setObjectName("formField")
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(12)
        grid.addWidget(self.to_service, 0, 0)
        grid.addWidget(self.service_box, 0, 1)
        grid.addWidget(self.to_counter, 1, 0)
        grid.addWidget(self.counter_box, 1, 1)
        grid.setColumnStretch(1, 1)
        self.body.addLayout(grid)
        self.note_label = TextLabel("counter.transfer.note", "hint", translator=tr)
        self.body.addWidget(self.note_label)
        self.body.addWidget(self.note)
        self.body.addStretch(1)
        self.to_service.toggled.connect(self._enable)
        self.service_box.activated.connect(lambda _: self.to_service.setChecked(True))
        self.counter_box.activated.connect(lambda _: self.to_counter.setChecked(True))
        if self.services:
            self.to_service.setChecked(True)
        elif self.counters:
            self.to_counter.setChecked(True)
        self.to_service.setEnabled(bool(self.services))
        self.to_counter.setEnabled(bool(self.counters))
        self.retranslate()
        self._enable()

    def _enable(self) -> None:
        self.service_box.setEnabled(self.to_service.isChecked())
        self.counter_box.setEnabled(self.to_counter.isChecked())
        self.confirm.setEnabled(self.to_service.isChecked() or self.to_counter.isChecked())

    def retranslate(self) -> None:
        super().retranslate()
        t = self.tr_
        self.to_service.setText(t.tr("counter.transfer.to_service"))
        self.to_counter.setText(t.tr("counter.transfer.to_counter"))
        service_at, counter_at = self.service_box.currentIndex(), self.counter_box.currentIndex()
        self.service_box.clear()
        for code, names in self.services:
            self.service_box.addItem(f"{code}  {t.pick(names)}", code)
        self.counter_box.clear()
        for number, name, state in self.counters:
            text = t.tr(
                "counter.transfer.counter_item", name=name, state=t.tr(f"counter.state.{state}")
            )
            self.counter_box.addItem(text, number)
        self.service_box.setCurrentIndex(max(service_at, 0))
        self.counter_box.setCurrentIndex(max(counter_at, 0))
        self.note.setPlaceholderText(t.tr("counter.transfer.note_example"))

    def choose_service(self, code: str) -> None:
        self.to_service.setChecked(True)
        self.service_box.setCurrentIndex(self.service_box.findData(code))

    def choose_counter(self, number: int) -> None:
        self.to_counter.setChecked(True)
        self.counter_box.setCurrentIndex(self.counter_box.findData(number))

    def target(self) -> dict[str, object]:
        """Keyword arguments for `BranchClient.transfer`: to_service or to_counter, note."""
        note = self.note.text().strip()
        if self.to_counter.isChecked() and self.counter_box.currentIndex() >= 0:
            return {"to_counter": int(self.counter_box.currentData()), "note": note}
        return {"to_service": str(self.service_box.currentData()), "note": note}


class PauseDialog(CounterDialog):
    """Why the counter pauses; the manager sees it. Standard reasons go as their code."""

    def __init__(self, tr: Translator, parent: QWidget | None = None) -> None:
        super().__init__(tr, "counter.pause_reason.title", parent)
        self.group = QButtonGroup(self)
        self.choices: dict[str, QRadioButton] = {}
        for code in PAUSE_REASONS:
            button = QRadioButton()
            self.group.addButton(button)
            self.choices[code] = button
            self.body.addWidget(button)
        self.other = QLineEdit()
        self.other.setObjectName("formField")
        self.other.setMaxLength(MAX_REASON)
        self.other.textEdited.connect(lambda _: self.choices["other"].setChecked(True))
        self.body.addWidget(self.other)
        self.body.addStretch(1)
        self.choices[PAUSE_REASONS[0]].setChecked(True)
        self.retranslate()

    def retranslate(self) -> None:
        super().retranslate()
        for code, button in self.choices.items():
            button.setText(self.tr_.tr(f"counter.pause_reason.{code}"))
        self.other.setPlaceholderText(self.tr_.tr("counter.pause_reason.other_hint"))

    def choose(self, code: str, text: str = "") -> None:
        self.choices[code].setChecked(True)
        if text:
            self.other.setText(text)

    def reason(self) -> str:
        """The reason sent to the server: a standard code, or the teller's own words."""
        chosen = next(code for code, b in self.choices.items() if b.isChecked())
        if chosen == "other" and self.other.text().strip():
            return self.other.text().strip()
        return chosen


class CallNumberDialog(CounterDialog):
    """Call one customer out of turn by the number on their ticket."""

    def __init__(self, tr: Translator, parent: QWidget | None = None) -> None:
        super().__init__(tr, "counter.call_number.title", parent)
        self.field = QLineEdit()
        self.field.setObjectName("formField")
        self.field.setMaxLength(12)
        pattern = QRegularExpression(r"[A-Za-z0-9]{0,12}")
        self.field.setValidator(QRegularExpressionValidator(pattern, self.field))
        self.field.textChanged.connect(lambda text: self.confirm.setEnabled(bool(text.strip())))
        self.field.returnPressed.connect(self._enter)
        self.body.addWidget(TextLabel("counter.call_number.hint", "hint", translator=tr))
        self.body.addWidget(self.field)
        self.body.addStretch(1)
        self.confirm.setEnabled(False)
        self.field.setFocus(Qt.FocusReason.OtherFocusReason)
        self.retranslate()

    def _enter(self) -> None:
        if self.number():
            self.accept()

    def number(self) -> str:
        return self.field.text().strip().upper()
