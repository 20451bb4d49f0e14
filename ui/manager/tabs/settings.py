"""The Settings tab: businesses (names, target, guidance), the head office's configuration
in force, the hall display's notice, staff accounts, and device tokens with a pairing QR
code."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui.client import ApiError
from ui.i18n import Translator
from ui.manager.actions import ConsoleActions
from ui.manager.tabs.head_office import RELOAD_EVENTS, HeadOfficePanel
from ui.manager.widgets import Table, short_time
from ui.widgets import BigButton, TextLabel, card, label

DEVICE_ROLES = ("kiosk", "counter", "display", "manager")


def _form_field(name: str = "formField") -> QLineEdit:
    field = QLineEdit()
    field.setObjectName(name)
    return field


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

    def __init__(self, tr: Translator, actions: ConsoleActions) -> None:
        super().__init__()
        self.tr_ = tr
        self.console_actions = actions
        self.inner = QTabWidget()
        self.inner.setObjectName("settingsTabs")
        self.services_page = self._build_services()
        self.office_page = HeadOfficePanel(tr, actions)
        self.notice_page = self._build_notice()
        self.staff_page = self._build_staff()
        self.devices_page = self._build_devices()
        self.pages = [
            (self.services_page, "manager.settings.services"),
            (self.office_page, "manager.settings.office"),
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
        frame, column = card("managerCard")
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
        t = self.tr_
        services = list(self.console_actions.client.model.services.values())
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
        row = self.services.currentRow()
        code = self.services.text_at(row, 0) if row >= 0 else ""
        s = self.console_actions.client.model.services.get(code)
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
        assert self._service_code is not None
        s = self.console_actions.client.model.services[self._service_code]
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
        w = self.console_actions
        if self._service_code is None:
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
        w = self.console_actions
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
        frame, column = card("managerCard")
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
        w = self.console_actions
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
        frame, column = card("managerCard")
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
            self.tokens.set_cell(r, 3, short_time(k.get("created_at")))
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
        url = pairing_url(self.console_actions.client.base_url, role, token)
        self.pair_url.setText(url)
        self.pair_url.setCursorPosition(0)
        self.pair_hint.setText(self.tr_.tr("manager.token.pair_hint", role=role))
        self.qr.setPixmap(qr_pixmap(url))
        self.qr.show()

    def _create_token(self) -> None:
        w = self.console_actions
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
        w = self.console_actions
        row = self.tokens.currentRow()
        if row < 0:
            return
        token_id = int(self.tokens.text_at(row, 0))
        w.send(
            lambda: w.client.revoke_token(token_id),
            lambda _: self.load(),
            success="manager.token.revoked_done",
            failed=lambda error: w.show_text(self._refusal(error)),
        )

    def _refusal(self, error: ApiError) -> str:
        if error.status == 403:
            return self.tr_.tr("manager.token.admin_only")
        return self.console_actions.error_text(error)

    # ---- loading
    def stream_event(self, kind: str) -> None:
        """An event from the live stream, by kind."""
        office = self.office_page
        if kind.startswith("service."):
            self.snapshot_loaded()
        if kind in RELOAD_EVENTS:
            office.refresh()
        elif kind.startswith("service.") or (
            kind.startswith("ticket.") and any(b.draining for b in office.view.businesses)
        ):
            office.redraw()  # names and targets; who still waits for a draining business

    def load(self) -> None:
        """Read the current page's lists from the server (on opening it)."""
        w = self.console_actions
        if not w.fetch:
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
        elif page is self.office_page:
            self.office_page.load()
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
