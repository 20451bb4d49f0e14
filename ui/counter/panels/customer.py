"""The customer panel: the number at the counter, business, priority, waits, e-form."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QScrollArea,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from ui.counter.session import CounterState, CounterView, Customer
from ui.i18n import Translator
from ui.widgets import NumberDisplay, TextLabel, label, minutes, restyle

EFORM_FIELDS = (
    "name",
    "gender",
    "ethnicity",
    "birth_date",
    "id_number",
    "address",
    "issued_by",
    "valid_from",
    "valid_to",
)


class CustomerPanel(QFrame):
    """The customer at the counter: number, business, priority, waits; their e-form."""

    def __init__(self, tr: Translator) -> None:
        super().__init__()
        self.setObjectName("counterCard")
        self.tr_ = tr
        self.timezone = "Asia/Shanghai"  # the branch's, from the snapshot
        self.state = label("customerState", "heading")
        self.number = NumberDisplay("")
        self.number.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.service = label("customerService", "heading")
        self.priority = label("priorityBadge")
        self.priority.setWordWrap(False)
        self.waited = label("customerWaited")
        self.serving = label("customerServing")
        self.recalls = label("customerRecalls")
        self.appointment = label("customerAppointment")
        self.bundle = label("customerBundle")
        # What the lobby did while the customer waited: read before greeting them.
        self.lobby = QFrame()
        self.lobby.setObjectName("lobbyWork")
        lobby = QVBoxLayout(self.lobby)
        lobby.setContentsMargins(10, 6, 10, 6)
        lobby.setSpacing(4)
        self.lobby_title = TextLabel("counter.lobby.title", "hint", translator=tr)
        self.prereviewed = TextLabel("counter.lobby.prereviewed", "heading", translator=tr)
        self.prereviewed.setObjectName("prereviewedBadge")
        self.care_reason = label("lobbyCare")
        self.lobby_note = label("lobbyNote")
        self.checklist = label("lobbyChecklist")
        for widget in (
            self.lobby_title, self.prereviewed, self.care_reason, self.lobby_note, self.checklist
        ):  # fmt: skip
            lobby.addWidget(widget)
        self.lobby.hide()  # until a customer the lobby worked on is called
        self.history_title = TextLabel("counter.history.title", "hint", translator=tr)
        self.history = label("customerHistory")
        self.empty = TextLabel("counter.customer.none", "title", translator=tr)
        self.empty_hint = TextLabel("counter.customer.none_hint", "hint", translator=tr)
        self.empty.setObjectName("customerNone")
        self.empty_hint.setObjectName("customerNoneHint")

        badges = QHBoxLayout()
        badges.addWidget(self.priority)
        badges.addStretch(1)
        details = QVBoxLayout()
        details.setSpacing(6)
        details.addWidget(self.state)
        details.addWidget(self.number)
        details.addWidget(self.service)
        details.addLayout(badges)
        for widget in (self.waited, self.serving, self.recalls, self.appointment, self.bundle):
            details.addWidget(widget)
        details.addWidget(self.lobby)
        details.addWidget(self.history_title)
        details.addWidget(self.history)
        details.addStretch(1)

        # The e-form: read-only fields the teller can copy from, never edit.
        self.eform = QFrame()
        self.eform.setObjectName("eform")
        form = QVBoxLayout(self.eform)
        form.setContentsMargins(12, 8, 12, 8)
        form.setSpacing(6)
        self.eform_title = TextLabel("counter.eform.title", "heading", translator=tr)
        self.eform_status = TextLabel("counter.eform.loading", "hint", translator=tr)
        form.addWidget(self.eform_title)
        form.addWidget(self.eform_status)
        # The fields scroll inside the form: on a 1366×768 desk with a banner or two
        # showing, nine rows would otherwise push the window past the screen.
        fields = QWidget()
        fields.setObjectName("eformFields")
        grid = QGridLayout(fields)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(4)
        self.eform_fields: dict[str, tuple[TextLabel, QLineEdit]] = {}
        for row, name in enumerate(EFORM_FIELDS):
            caption = TextLabel(f"counter.eform.field.{name}", "hint", translator=tr)
            caption.setWordWrap(False)
            value = QLineEdit()
            value.setObjectName("eformField")
            value.setReadOnly(True)
            value.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            grid.addWidget(caption, row, 0)
            grid.addWidget(value, row, 1)
            self.eform_fields[name] = (caption, value)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(len(EFORM_FIELDS), 1)
        scroll = QScrollArea()
        scroll.setObjectName("eformScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(fields)
        form.addWidget(scroll, 1)

        # Two pages: the customer (details and form side by side), or "nobody here".
        self.present = QWidget()
        sides = QHBoxLayout(self.present)
        sides.setContentsMargins(20, 14, 20, 14)
        sides.setSpacing(20)
        sides.addLayout(details, 1)
        sides.addWidget(self.eform, 1)
        self.absent = QWidget()
        nobody = QVBoxLayout(self.absent)
        nobody.addStretch(1)
        for caption in (self.empty, self.empty_hint):
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            nobody.addWidget(caption)
        nobody.addStretch(2)
        self.pages = QStackedLayout(self)
        self.pages.addWidget(self.present)
        self.pages.addWidget(self.absent)
        self.clear_eform()
        self.show_history([])

    def show_customer(self, customer: Customer | None, view: CounterView) -> None:
        t = self.tr_
        self.pages.setCurrentWidget(self.present if customer is not None else self.absent)
        if customer is None:
            paused = view.state is CounterState.PAUSED
            key = "counter.customer.paused_hint" if paused else "counter.customer.none_hint"
            self.empty_hint.set_text(key)
            return
        self.state.setText(
            t.tr(
                "counter.customer.state_serving"
                if customer.serving
                else "counter.customer.state_called"
            )
        )
        restyle(self.state, "state", customer.state)
        self.number.set_number(customer.number)
        self.service.setText(f"{customer.service}  {t.pick(customer.service_names)}")
        if customer.priority == "vip" and customer.vip_tier:
            priority = t.tr("counter.priority.vip_tier", tier=customer.vip_tier)
        else:
            priority = t.tr(customer.priority_key)
        self.priority.setText(priority)
        restyle(self.priority, "priority", customer.priority)
        self.waited.setText(t.tr("counter.customer.waited", minutes=minutes(customer.waited_s)))
        self.serving.setVisible(customer.serving)
        self.serving.setText(
            t.tr("counter.customer.serving_for", minutes=minutes(customer.serving_s))
        )
        self.recalls.setVisible(customer.recall_count > 0)
        self.recalls.setText(t.tr("counter.recall_count", count=customer.recall_count + 1))
        slot = customer.appointment_slot
        self.appointment.setVisible(slot is not None)
        if slot is not None:
            when = _hhmm(slot, self.timezone)
            self.appointment.setText(t.tr("counter.customer.appointment", time=when))
        self.bundle.setVisible(customer.bundle is not None)
        if customer.bundle is not None:
            name = t.pick(customer.bundle_names) or customer.bundle
            if customer.bundle_includes:
                # What the teller does in this one visit: "一站式开户：开户 + 借记卡 + 手机银行".
                services = " + ".join(t.pick(names) for names in customer.bundle_includes)
                text = t.tr("counter.customer.bundle_of", name=name, services=services)
            else:
                text = t.tr("counter.customer.bundle", name=name)
            self.bundle.setText(text)
        self.show_lobby_work(customer)

    def show_lobby_work(self, customer: Customer) -> None:
        """The lobby's note, care reason, checked documents and pre-review, when any."""
        t = self.tr_
        self.prereviewed.setVisible(customer.prereviewed)
        self.care_reason.setVisible(bool(customer.care_reason))
        self.care_reason.setText(t.tr("counter.lobby.care", reason=customer.care_reason))
        self.lobby_note.setVisible(bool(customer.note))
        self.lobby_note.setText(t.tr("counter.lobby.note", note=customer.note))
        lists = customer.checklist
        documents = lists.get(t.language) or lists.get("zh") or next(iter(lists.values()), ())
        checked = customer.documents_checked
        lines = [f"{'✓' if i in checked else '○'} {doc}" for i, doc in enumerate(documents)]
        shown = bool(checked) and bool(lines)
        self.checklist.setVisible(shown)
        if shown:
            title = t.tr("counter.lobby.checklist", checked=len(checked), of=len(lines))
            self.checklist.setText("\n".join([title, *lines]))
        self.lobby.setVisible(
            customer.prereviewed or bool(customer.care_reason or customer.note) or shown
        )

    # ---- e-form
    def clear_eform(self) -> None:
        """Forget the last customer's form: it is personal data and they are gone."""
        for _label_widget, value in self.eform_fields.values():
            value.clear()
        self.eform.hide()

    def eform_loading(self) -> None:
        self.clear_eform()
        self.eform_status.set_text("counter.eform.loading")
        self.eform_status.show()
        for caption, value in self.eform_fields.values():
            caption.hide()
            value.hide()
        self.eform.show()

    def show_eform(self, fields: Mapping[str, str]) -> None:
        self.eform_status.hide()
        for name, (caption, value) in self.eform_fields.items():
            text = fields.get(name, "")
            value.setText(text)
            value.setCursorPosition(0)
            caption.setVisible(bool(text))
            value.setVisible(bool(text))
        self.eform.show()

    def eform_gone(self) -> None:
        self.eform_status.set_text("counter.eform.gone")
        self.eform_status.show()
        self.eform.show()

    # ---- transfers that brought the customer here
    def show_history(self, lines: list[str]) -> None:
        self.history_title.setVisible(bool(lines))
        self.history.setVisible(bool(lines))
        self.history.setText("\n".join(lines))


def _hhmm(moment: datetime, timezone: str) -> str:
    """A time as the branch's clocks show it."""
    with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
        moment = moment.astimezone(ZoneInfo(timezone))
    return moment.strftime("%H:%M")
