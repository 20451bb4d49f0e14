"""The manager console's other tabs: alerts and follow-ups, the audit log, branch settings
(reports are in `reports.py`). Each renders what it is given and hands clicks to the window
(`attach`), which sends the request and reports the answer.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui.i18n import Translator
from ui.widgets import BigButton, TextLabel

from .widgets import Table, card, label

if TYPE_CHECKING:
    from .window import ManagerWindow

RATING_KEYS = {
    4: "rating.very_satisfied",
    3: "rating.satisfied",
    2: "rating.average",
    1: "rating.dissatisfied",
}
DEVICE_ROLES = ("kiosk", "counter", "display", "manager")


def _time(text: Any) -> str:
    """`MM-DD HH:MM` of an ISO time as the server wrote it (the branch's offset)."""
    s = str(text or "")
    return f"{s[5:10]} {s[11:16]}" if len(s) >= 16 else (s or "—")


def _form_field(name: str = "formField") -> QLineEdit:
    field = QLineEdit()
    field.setObjectName(name)
    return field


# ------------------------------------------------------------ alerts, follow-ups
class AlertsTab(QWidget):
    """Open alerts with Acknowledge, open follow-ups of 不满意 ratings, a day's history."""

    def __init__(self, tr: Translator) -> None:
        super().__init__()
        self.tr_ = tr
        self.on_acknowledge: Callable[[str], None] = lambda alert_id: None
        self.on_followup: Callable[[int, str, bool], None] = lambda i, note, done: None
        self.on_history: Callable[[str | None], None] = lambda day: None
        self.open_table = Table(
            tr,
            (
                "manager.alerts.severity",
                "manager.alerts.kind",
                "manager.alerts.detail",
                "manager.alerts.raised",
                "manager.alerts.state",
                "manager.alerts.action",
            ),
            "alertsTable",
            stretch=2,
        )
        self.followups = Table(
            tr,
            (
                "manager.followups.number",
                "manager.followups.service",
                "manager.followups.counter",
                "manager.followups.rating",
                "manager.followups.rated",
                "manager.followups.note",
                "manager.followups.action",
            ),
            "followupsTable",
            stretch=5,
        )
        self.history = Table(
            tr,
            (
                "manager.alerts.raised",
                "manager.alerts.severity",
                "manager.alerts.kind",
                "manager.alerts.detail",
                "manager.alerts.state",
            ),
            "historyTable",
            stretch=3,
        )
        self.date = QDateEdit(QDate.currentDate())
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        self.load = BigButton("manager.alerts.load", "secondary", translator=tr)
        self.load.clicked.connect(lambda: self.on_history(self.day()))
        self.history_status = label("historyStatus", "hint")
        self.ack_buttons: dict[str, QPushButton] = {}
        self.note_fields: dict[int, QLineEdit] = {}
        self.followup_buttons: dict[int, tuple[QPushButton, QPushButton]] = {}
        self.none_open = TextLabel("manager.alerts.none", "hint", translator=tr)
        self.none_followups = TextLabel("manager.followups.none", "hint", translator=tr)

        history_bar = QHBoxLayout()
        history_bar.addWidget(TextLabel("manager.alerts.history", "heading", translator=tr))
        history_bar.addStretch(1)
        history_bar.addWidget(self.date)
        history_bar.addWidget(self.load)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 8, 0, 0)
        column.addWidget(TextLabel("manager.alerts.open", "heading", translator=tr))
        column.addWidget(self.none_open)
        column.addWidget(self.open_table, 2)
        column.addWidget(TextLabel("manager.followups.title", "heading", translator=tr))
        column.addWidget(self.none_followups)
        column.addWidget(self.followups, 2)
        column.addLayout(history_bar)
        column.addWidget(self.history_status)
        column.addWidget(self.history, 2)
        self._open: list[dict[str, Any]] = []
        self._followups: list[dict[str, Any]] = []
        self._language = ""
        self._names: Callable[[str], str] = str

    def day(self) -> str:
        return self.date.date().toString("yyyy-MM-dd")

    def followups_ids(self) -> list[int]:
        """The follow-ups shown, in order."""
        return [int(f["id"]) for f in self._followups]

    def _kind(self, alert: Mapping[str, Any]) -> str:
        return self.tr_.tr(f"manager.alert_kind.{alert.get('kind', 'other')}")

    def _detail(self, alert: Mapping[str, Any]) -> str:
        return alert_detail(self.tr_, alert, self._names)

    def _state(self, alert: Mapping[str, Any]) -> str:
        t = self.tr_
        if alert.get("acknowledged_at"):
            state = t.tr("manager.alerts.acknowledged_by", who=alert.get("acknowledged_by") or "—")
        else:
            state = t.tr("manager.alerts.unacknowledged")
        if alert.get("cleared_at"):
            state += " · " + t.tr("manager.alerts.cleared")
        return state

    def show_open(
        self,
        alerts: Sequence[Mapping[str, Any]],
        followups: Sequence[Mapping[str, Any]],
        names: Callable[[str], str],
    ) -> None:
        t = self.tr_
        self._names = names
        self.open_table.retranslate()
        self.followups.retranslate()
        self.history.retranslate()
        # Rebuilt only when something changed (a note being typed survives the 1 s redraw).
        fresh_language = t.language != self._language
        self._language = t.language
        same_alerts = [dict(a) for a in alerts] == self._open and not fresh_language
        same_followups = [dict(f) for f in followups] == self._followups and not fresh_language
        typed = {fid: field.text() for fid, field in self.note_fields.items()}
        self.none_open.setVisible(not alerts)
        self.none_followups.setVisible(not followups)
        if not same_alerts or self.open_table.rowCount() != len(alerts):
            self._open = [dict(a) for a in alerts]
            self.ack_buttons = {}
            self.open_table.setRowCount(len(alerts))
            for r, a in enumerate(alerts):
                severity = str(a.get("severity") or "warning")
                state = "over" if severity == "critical" else "near"
                self.open_table.set_cell(r, 0, t.tr(f"manager.severity.{severity}"), state)
                self.open_table.set_cell(r, 1, self._kind(a))
                self.open_table.set_cell(r, 2, self._detail(a))
                self.open_table.set_cell(r, 3, _time(a.get("raised_at")))
                self.open_table.set_cell(r, 4, self._state(a))
                acked = bool(a.get("acknowledged_at"))
                button = QPushButton(
                    t.tr("manager.alerts.done" if acked else "manager.alerts.acknowledge")
                )
                button.setObjectName("ackButton")
                button.setEnabled(not acked)
                alert_id = str(a["id"])
                button.clicked.connect(lambda _=False, i=alert_id: self.on_acknowledge(i))
                self.open_table.setCellWidget(r, 5, button)
                self.ack_buttons[alert_id] = button
        if not same_followups or self.followups.rowCount() != len(followups):
            self._followups = [dict(f) for f in followups]
            self.note_fields, self.followup_buttons = {}, {}
            self.followups.setRowCount(len(followups))
            for r, f in enumerate(followups):
                fid = int(f["id"])
                service = str(f.get("service") or "")
                counter = f.get("counter")
                rating = RATING_KEYS.get(int(f.get("rating") or 1), "rating.dissatisfied")
                self.followups.set_cell(r, 0, str(f.get("number") or ""))
                self.followups.set_cell(r, 1, f"{service}  {names(service)}")
                self.followups.set_cell(
                    r,
                    2,
                    (t.tr("common.counter", counter=counter) if counter else "—")
                    + (f" · {f['staff_id']}" if f.get("staff_id") else ""),
                )
                self.followups.set_cell(r, 3, t.tr(rating), "over")
                self.followups.set_cell(r, 4, _time(f.get("rated_at")))
                note = QLineEdit(typed.get(fid, str(f.get("note") or "")))
                note.setObjectName("followupNote")
                note.setPlaceholderText(t.tr("manager.followups.note_hint"))
                self.followups.setCellWidget(r, 5, note)
                actions = QWidget()
                row = QHBoxLayout(actions)
                row.setContentsMargins(0, 0, 0, 0)
                save = QPushButton(t.tr("manager.followups.save"))
                resolve = QPushButton(t.tr("manager.followups.resolve"))
                save.clicked.connect(
                    lambda _=False, i=fid, n=note: self.on_followup(i, n.text(), False)
                )
                resolve.clicked.connect(
                    lambda _=False, i=fid, n=note: self.on_followup(i, n.text(), True)
                )
                row.addWidget(save)
                row.addWidget(resolve)
                self.followups.setCellWidget(r, 6, actions)
                self.note_fields[fid] = note
                self.followup_buttons[fid] = (save, resolve)

    def show_history(self, data: Any) -> None:
        rows = data if isinstance(data, list) else []
        t = self.tr_
        self.history_status.setText(
            t.tr("manager.alerts.history_count", count=len(rows), day=self.day())
        )
        self.history.setRowCount(len(rows))
        for r, a in enumerate(rows):
            severity = str(a.get("severity") or "warning")
            self.history.set_cell(r, 0, _time(a.get("raised_at")))
            self.history.set_cell(r, 1, t.tr(f"manager.severity.{severity}"))
            self.history.set_cell(r, 2, self._kind(a))
            self.history.set_cell(r, 3, self._detail(a))
            self.history.set_cell(r, 4, self._state(a))

    def show_history_error(self, text: str) -> None:
        self.history_status.setText(text)
        self.history.setRowCount(0)


# --------------------------------------------------------------------- audit log
def _change(before: Any, after: Any) -> str:
    """What an audited change did, in one line: the fields that differ."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        value = after if after is not None else before
        return json.dumps(value, ensure_ascii=False)[:200] if value is not None else ""
    keys = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    parts = [
        f"{k}: {json.dumps(before.get(k), ensure_ascii=False)} → "
        f"{json.dumps(after.get(k), ensure_ascii=False)}"
        for k in keys
    ]
    return "; ".join(parts)[:300]


class AuditTab(QWidget):
    """Who changed what, newest first (refreshed each time the tab is opened)."""

    def __init__(self, tr: Translator) -> None:
        super().__init__()
        self.tr_ = tr
        self.table = Table(
            tr,
            (
                "manager.audit.seq",
                "manager.audit.at",
                "manager.audit.actor",
                "manager.audit.action",
                "manager.audit.target",
                "manager.audit.change",
            ),
            "auditTable",
            stretch=5,
        )
        self.status = label("auditStatus", "hint")
        self.refresh = BigButton("manager.audit.refresh", "secondary", translator=tr)
        bar = QHBoxLayout()
        bar.addWidget(TextLabel("manager.audit.title", "heading", translator=tr))
        bar.addStretch(1)
        bar.addWidget(self.refresh)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 8, 0, 0)
        column.addLayout(bar)
        column.addWidget(self.status)
        column.addWidget(self.table, 1)

    def show_entries(self, data: Any) -> None:
        rows = data if isinstance(data, list) else []
        rows = sorted(rows, key=lambda e: int(e.get("seq") or 0), reverse=True)
        self.status.setText(self.tr_.tr("manager.audit.count", count=len(rows)))
        self.table.setRowCount(len(rows))
        for r, e in enumerate(rows):
            self.table.set_cell(r, 0, str(e.get("seq", "")))
            self.table.set_cell(r, 1, _time(e.get("at")))
            self.table.set_cell(r, 2, str(e.get("actor") or ""))
            self.table.set_cell(r, 3, str(e.get("action") or ""))
            self.table.set_cell(r, 4, str(e.get("target") or ""))
            self.table.set_cell(r, 5, _change(e.get("before"), e.get("after")))

    def show_error(self, text: str) -> None:
        self.status.setText(text)
        self.table.setRowCount(0)


# --------------------------------------------------------------- branch settings
def qr_pixmap(text: str, size: int = 220) -> QPixmap:
    """A QR code of `text` as a pixmap (the `qrcode` package draws it as a PNG)."""
    import qrcode  # a dependency; imported here so the console starts without drawing one

    image = qrcode.make(text, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    return pixmap.scaled(
        size,
        size,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.FastTransformation,
    )


def pairing_url(base_url: str, role: str, token: str) -> str:
    """What a new device is paired with: the server and its token, as one URL."""
    if role == "display":
        return f"{base_url}/display?token={token}"
    return f"branchq://pair?server={base_url}&role={role}&token={token}"


class SettingsTab(QWidget):
    """Businesses, the hall display's notice, staff accounts, device tokens."""

    def __init__(self, tr: Translator) -> None:
        super().__init__()
        self.tr_ = tr
        self.window_: ManagerWindow | None = None
        self.inner = QTabWidget()
        self.inner.setObjectName("settingsTabs")
        self.services_page = self._build_services()
        self.notice_page = self._build_notice()
        self.staff_page = self._build_staff()
        self.devices_page = self._build_devices()
        self.pages = [
            (self.services_page, "manager.settings.services"),
            (self.notice_page, "manager.settings.notice"),
            (self.staff_page, "manager.settings.staff"),
            (self.devices_page, "manager.settings.devices"),
        ]
        for page, key in self.pages:
            self.inner.addTab(page, tr.tr(key))
        self.inner.currentChanged.connect(lambda _: self.load())
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 8, 0, 0)
        column.addWidget(self.inner)
        tr.languageChanged.connect(lambda _: self.retranslate())

    def retranslate(self) -> None:
        for page, key in self.pages:
            self.inner.setTabText(self.inner.indexOf(page), self.tr_.tr(key))
        self.services.retranslate()
        self.staff.retranslate()
        self.tokens.retranslate()
        self.snapshot_loaded()

    def attach(self, window: ManagerWindow) -> None:
        self.window_ = window

    # ---- businesses
    def _build_services(self) -> QWidget:
        t = self.tr_
        page = QWidget()
        self.services = Table(
            t,
            (
                "manager.service.code",
                "manager.service.name",
                "manager.service.target",
                "manager.service.enabled",
            ),
            "servicesTable",
            stretch=1,
        )
        self.services.itemSelectionChanged.connect(self._service_picked)
        self.name_zh = _form_field()
        self.name_en = _form_field()
        self.target = QSpinBox()
        self.target.setRange(1, 240)
        self.target.setObjectName("targetMinutes")
        self.enabled = QCheckBox()
        self.guide_zh = QPlainTextEdit()
        self.guide_en = QPlainTextEdit()
        for edit in (self.guide_zh, self.guide_en):
            edit.setObjectName("guidanceField")
        self.save_service = BigButton("manager.service.save", "primary", translator=t)
        self.save_service.clicked.connect(self._save_service)
        self.service_form = QFormLayout()
        self.service_labels = {
            "manager.service.name_zh": self.name_zh,
            "manager.service.name_en": self.name_en,
            "manager.service.target_min": self.target,
            "manager.service.enabled": self.enabled,
            "manager.service.guidance_zh": self.guide_zh,
            "manager.service.guidance_en": self.guide_en,
        }
        for key, widget in self.service_labels.items():
            self.service_form.addRow(TextLabel(key, "hint", translator=t), widget)
        frame, column = card()
        column.addWidget(TextLabel("manager.service.edit", "heading", translator=t))
        column.addLayout(self.service_form)
        column.addWidget(TextLabel("manager.service.guidance_hint", "hint", translator=t))
        column.addWidget(self.save_service)
        row = QHBoxLayout(page)
        row.addWidget(self.services, 1)
        row.addWidget(frame, 1)
        self._service_code: str | None = None
        return page

    def snapshot_loaded(self) -> None:
        if self.window_ is None:
            return
        t = self.tr_
        services = list(self.window_.client.model.services.values())
        self.services.setRowCount(len(services))
        for r, s in enumerate(services):
            self.services.set_cell(r, 0, str(s["code"]))
            self.services.set_cell(r, 1, t.pick(s.get("names", {})))
            self.services.set_cell(
                r, 2, t.tr("common.minutes", minutes=int(s.get("target_wait_s") or 0) // 60)
            )
            enabled = bool(s.get("enabled", True))
            self.services.set_cell(
                r,
                3,
                t.tr("common.yes" if enabled else "common.no"),
                "ok" if enabled else "closed",
            )
        if self._service_code is None and services:
            self.services.selectRow(0)

    def _service_picked(self) -> None:
        if self.window_ is None:
            return
        row = self.services.currentRow()
        code = self.services.text_at(row, 0) if row >= 0 else ""
        s = self.window_.client.model.services.get(code)
        if s is None:
            return
        self._service_code = code
        names = s.get("names", {})
        self.name_zh.setText(str(names.get("zh", "")))
        self.name_en.setText(str(names.get("en", "")))
        self.target.setValue(max(1, int(s.get("target_wait_s") or 60) // 60))
        self.enabled.setChecked(bool(s.get("enabled", True)))
        guidance = s.get("guidance", {})
        self.guide_zh.setPlainText(_guidance_text(guidance.get("zh")))
        self.guide_en.setPlainText(_guidance_text(guidance.get("en")))

    def service_changes(self) -> dict[str, Any]:
        """The PATCH body for the business on the form (schemas.ServiceUpdate)."""
        assert self.window_ is not None and self._service_code is not None
        s = self.window_.client.model.services[self._service_code]
        guidance = dict(s.get("guidance", {}))
        for lang, edit in (("zh", self.guide_zh), ("en", self.guide_en)):
            guidance[lang] = _guidance_from(edit.toPlainText(), guidance.get(lang))
        names = dict(s.get("names", {}))
        names.update(zh=self.name_zh.text().strip(), en=self.name_en.text().strip())
        return {
            "names": {k: v for k, v in names.items() if v},
            "target_wait_s": self.target.value() * 60,
            "enabled": self.enabled.isChecked(),
            "guidance": guidance,
        }

    def _save_service(self) -> None:
        w = self.window_
        if w is None or self._service_code is None:
            return
        code, body = self._service_code, self.service_changes()
        w.send(
            lambda: w.client.update_service(code, body),
            success="manager.service.saved",
            code=code,
        )

    # ---- notice
    def _build_notice(self) -> QWidget:
        t = self.tr_
        page = QWidget()
        self.notice = _form_field()
        self.notice.setMaxLength(300)
        self.save_notice = BigButton("manager.notice.save", "primary", translator=t)
        self.clear_notice = BigButton("manager.notice.clear", "secondary", translator=t)
        self.save_notice.clicked.connect(lambda: self._set_notice(self.notice.text()))
        self.clear_notice.clicked.connect(lambda: self._set_notice(""))
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_notice)
        buttons.addWidget(self.clear_notice)
        buttons.addStretch(1)
        column = QVBoxLayout(page)
        column.addWidget(TextLabel("manager.notice.title", "heading", translator=t))
        column.addWidget(TextLabel("manager.notice.hint", "hint", translator=t))
        column.addWidget(self.notice)
        column.addLayout(buttons)
        column.addStretch(1)
        return page

    def _set_notice(self, text: str) -> None:
        w = self.window_
        if w is not None:
            w.send(lambda: w.client.set_notice(text.strip()), success="manager.notice.saved")

    # ---- staff
    def _build_staff(self) -> QWidget:
        t = self.tr_
        page = QWidget()
        self.staff = Table(
            t, ("manager.staff.id", "manager.staff.name", "manager.staff.active"), "staffTable"
        )
        self.staff_id = _form_field()
        self.staff_name = _form_field()
        self.staff_pin = _form_field()
        self.staff_pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.staff_pin.setMaxLength(12)
        self.add_staff = BigButton("manager.staff.add", "primary", translator=t)
        self.add_staff.clicked.connect(self._add_staff)
        self.staff_status = label("staffStatus", "hint")
        form = QFormLayout()
        form.addRow(TextLabel("manager.staff.id", "hint", translator=t), self.staff_id)
        form.addRow(TextLabel("manager.staff.name", "hint", translator=t), self.staff_name)
        form.addRow(TextLabel("manager.staff.pin", "hint", translator=t), self.staff_pin)
        frame, column = card()
        column.addWidget(TextLabel("manager.staff.add_title", "heading", translator=t))
        column.addWidget(TextLabel("manager.staff.pin_hint", "hint", translator=t))
        column.addLayout(form)
        column.addWidget(self.add_staff)
        column.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(self.staff_status)
        left.addWidget(self.staff, 1)
        row = QHBoxLayout(page)
        row.addLayout(left, 1)
        row.addWidget(frame, 1)
        return page

    def show_staff(self, data: Any) -> None:
        rows = data if isinstance(data, list) else []
        t = self.tr_
        self.staff_status.setText(t.tr("manager.staff.count", count=len(rows)))
        self.staff.setRowCount(len(rows))
        for r, s in enumerate(rows):
            self.staff.set_cell(r, 0, str(s.get("staff_id", "")))
            self.staff.set_cell(r, 1, str(s.get("name", "")))
            self.staff.set_cell(r, 2, t.tr("common.yes" if s.get("active") else "common.no"))

    def _add_staff(self) -> None:
        w = self.window_
        if w is None:
            return
        staff_id, name = self.staff_id.text().strip(), self.staff_name.text().strip()
        pin = self.staff_pin.text().strip()
        if not staff_id or not pin.isdigit() or not 4 <= len(pin) <= 12:
            w.show_message("manager.staff.invalid", "error")
            return

        def done(_: Any) -> None:
            self.staff_pin.clear()
            self.load()

        w.send(
            lambda: w.client.add_staff(staff_id, name, pin),
            done,
            success="manager.staff.saved",
            staff=staff_id,
        )

    # ---- devices
    def _build_devices(self) -> QWidget:
        t = self.tr_
        page = QWidget()
        self.tokens = Table(
            t,
            (
                "manager.token.id",
                "manager.token.role",
                "manager.token.name",
                "manager.token.created",
                "manager.token.state",
            ),
            "tokensTable",
        )
        self.tokens_status = label("tokensStatus", "hint")
        self.role = QComboBox()
        self.role.setObjectName("tokenRole")
        self.counter_no = QSpinBox()
        self.counter_no.setRange(1, 9999)
        self.device_name = _form_field()
        self.create_button = BigButton("manager.token.create", "primary", translator=t)
        self.revoke = BigButton("manager.token.revoke", "secondary", translator=t)
        self.create_button.clicked.connect(self._create_token)
        self.revoke.clicked.connect(self._revoke_token)
        self.qr = QLabel()
        self.qr.setObjectName("pairQr")
        self.qr.setFixedSize(220, 220)
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pair_url = QLineEdit()
        self.pair_url.setObjectName("pairUrl")
        self.pair_url.setReadOnly(True)
        self.pair_hint = label("pairHint", "hint")
        form = QFormLayout()
        form.addRow(TextLabel("manager.token.role", "hint", translator=t), self.role)
        form.addRow(TextLabel("manager.token.counter", "hint", translator=t), self.counter_no)
        form.addRow(TextLabel("manager.token.name", "hint", translator=t), self.device_name)
        frame, column = card()
        column.addWidget(TextLabel("manager.token.pair_title", "heading", translator=t))
        column.addLayout(form)
        column.addWidget(self.create_button)
        qr_row = QHBoxLayout()
        qr_row.addWidget(self.qr)
        qr_text = QVBoxLayout()
        qr_text.addWidget(self.pair_hint)
        qr_text.addWidget(self.pair_url)
        qr_text.addStretch(1)
        qr_row.addLayout(qr_text, 1)
        column.addLayout(qr_row)
        column.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(self.tokens_status)
        left.addWidget(self.tokens, 1)
        left.addWidget(self.revoke)
        row = QHBoxLayout(page)
        row.addLayout(left, 1)
        row.addWidget(frame, 1)
        self._roles()
        t.languageChanged.connect(lambda _: self._roles())
        self.qr.hide()
        return page

    def _roles(self) -> None:
        current = self.role.currentIndex()
        self.role.clear()
        for role in DEVICE_ROLES:
            self.role.addItem(self.tr_.tr(f"manager.role.{role}"), role)
        self.role.setCurrentIndex(max(0, current))

    def show_tokens(self, data: Any) -> None:
        rows = data if isinstance(data, list) else []
        t = self.tr_
        self.tokens_status.setText(t.tr("manager.token.count", count=len(rows)))
        self.tokens.setRowCount(len(rows))
        for r, k in enumerate(rows):
            self.tokens.set_cell(r, 0, str(k.get("id", "")))
            self.tokens.set_cell(r, 1, str(k.get("role", "")))
            self.tokens.set_cell(r, 2, str(k.get("name") or ""))
            self.tokens.set_cell(r, 3, _time(k.get("created_at")))
            revoked = bool(k.get("revoked_at"))
            self.tokens.set_cell(
                r,
                4,
                t.tr("manager.token.revoked" if revoked else "manager.token.active"),
                "closed" if revoked else "ok",
            )

    def tokens_refused(self, text: str) -> None:
        self.tokens_status.setText(text)
        self.tokens.setRowCount(0)

    def show_pairing(self, role: str, token: str) -> None:
        w = self.window_
        base = w.client.base_url if w is not None else ""
        url = pairing_url(base, role, token)
        self.pair_url.setText(url)
        self.pair_url.setCursorPosition(0)
        self.pair_hint.setText(self.tr_.tr("manager.token.pair_hint", role=role))
        self.qr.setPixmap(qr_pixmap(url))
        self.qr.show()

    def _create_token(self) -> None:
        w = self.window_
        if w is None:
            return
        role = str(self.role.currentData())
        if role == "counter":
            role = f"counter:{self.counter_no.value()}"
        name = self.device_name.text().strip()

        def done(data: Any) -> None:
            if isinstance(data, dict) and data.get("token"):
                self.show_pairing(str(data["role"]), str(data["token"]))
            self.load()

        w.send(
            lambda: w.client.create_token(role, name),
            done,
            success="manager.token.made",
            failed=lambda error: w.show_text(self._refusal(error)),
            role=role,
        )

    def _revoke_token(self) -> None:
        w = self.window_
        row = self.tokens.currentRow()
        if w is None or row < 0:
            return
        token_id = int(self.tokens.text_at(row, 0))
        w.send(
            lambda: w.client.revoke_token(token_id),
            lambda _: self.load(),
            success="manager.token.revoked_done",
            failed=lambda error: w.show_text(self._refusal(error)),
        )

    def _refusal(self, error: Any) -> str:
        from .window import error_text

        if getattr(error, "status", 0) == 403:
            return self.tr_.tr("manager.token.admin_only")
        return error_text(self.tr_, error)

    # ---- loading
    def load(self) -> None:
        """Read the current page's lists from the server (on opening it)."""
        w = self.window_
        if w is None or not w.fetch:
            return
        page = self.inner.currentWidget()
        if page is self.staff_page:
            w.send(w.client.list_staff, self.show_staff)
        elif page is self.devices_page:
            w.send(
                w.client.list_tokens,
                self.show_tokens,
                failed=lambda error: self.tokens_refused(self._refusal(error)),
            )
        elif page is self.notice_page:
            self.notice.setText(str(w.client.model.branch.get("notice") or ""))
        else:
            self.snapshot_loaded()


def _guidance_text(guidance: Any) -> str:
    """A business's guidance as one editable text: documents, then steps, where, tip."""
    if not isinstance(guidance, Mapping):
        return ""
    lines = [f"- {d}" for d in guidance.get("documents") or []]
    lines += [f"{i + 1}. {s}" for i, s in enumerate(guidance.get("steps") or [])]
    if guidance.get("where"):
        lines.append(f"@ {guidance['where']}")
    if guidance.get("alternative"):
        lines.append(f"* {guidance['alternative']}")
    return "\n".join(lines)


def _guidance_from(text: str, old: Any) -> dict[str, Any]:
    """The edited text back to guidance: `- document`, `1. step`, `@ where`, `* tip`."""
    out: dict[str, Any] = {"documents": [], "steps": [], "where": "", "alternative": ""}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("- "):
            out["documents"].append(line[2:].strip())
        elif line.startswith("@ "):
            out["where"] = line[2:].strip()[:200]
        elif line.startswith("* "):
            out["alternative"] = line[2:].strip()[:500]
        else:
            head, dot, rest = line.partition(". ")
            out["steps"].append(rest.strip() if dot and head.isdigit() else line)
    out["documents"] = out["documents"][:20]
    out["steps"] = out["steps"][:20]
    return out


def alert_detail(t: Translator, alert: Mapping[str, Any], names: Callable[[str], str]) -> str:
    """An alert's detail in the console's language, from the figures in its subject.

    The server's `detail` (English) is the fallback for a kind or subject it cannot word.
    """
    subject = alert.get("subject") or {}
    kind = str(alert.get("kind") or "")

    def minutes(key: str) -> int | None:
        value = subject.get(key)
        return None if value is None else round(float(value) / 60)

    values: dict[str, object] = {}
    if kind == "business_over_target" and minutes("longest_wait_s") is not None:
        code = str(subject.get("service", ""))
        values = {
            "service": f"{code} {names(code)}".strip(),
            "wait": minutes("longest_wait_s"),
            "target": minutes("target_s"),
        }
    elif kind == "customer_over_target" and minutes("waited_s") is not None:
        values = {
            "number": subject.get("number", ""),
            "wait": minutes("waited_s"),
            "target": minutes("target_s"),
        }
    elif kind == "counter_paused_long" and minutes("paused_s") is not None:
        reason = str(subject.get("reason") or "")
        values = {
            "name": subject.get("name", ""),
            "paused": minutes("paused_s"),
            "reason": t.tr("manager.alert_detail.reason", reason=reason) if reason else "",
        }
    elif kind == "device_fault" and subject.get("device"):
        health = str(subject.get("health") or "")
        values = {
            "device": subject["device"],
            "detail": subject.get("detail") or t.tr(f"manager.device_health.{health}"),
        }
    elif kind == "negative_rating" and subject.get("number"):
        counter = subject.get("counter")
        values = {
            "number": subject["number"],
            "where": t.tr("manager.alert_detail.at_counter", counter=counter) if counter else "",
        }
    if not values:
        return str(alert.get("detail") or "")
    return t.tr(f"manager.alert_detail.{kind}", **values)
