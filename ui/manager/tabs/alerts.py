"""The Alerts tab: open alerts with Acknowledge, open follow-ups of 不满意 ratings, and a
day's alert history."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.client import ApiError
from ui.i18n import Translator, device_detail
from ui.manager.actions import ConsoleActions
from ui.manager.widgets import Table, short_time
from ui.widgets import BigButton, TextLabel, label

RATING_KEYS = {
    4: "rating.very_satisfied",
    3: "rating.satisfied",
    2: "rating.average",
    1: "rating.dissatisfied",
}


class AlertsTab(QWidget):
    """Open alerts with Acknowledge, open follow-ups of 不满意 ratings, a day's history."""

    def __init__(self, tr: Translator, actions: ConsoleActions) -> None:
        super().__init__()
        self.tr_ = tr
        self.console_actions = actions
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
        # Rows with buttons and note fields are as tall as those need (a text row is not).
        for table in (self.open_table, self.followups):
            table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.date = QDateEdit(QDate.currentDate())
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        self.load = BigButton("manager.alerts.load", "secondary", translator=tr)
        self.load.clicked.connect(lambda: self.load_history(self.day()))
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
        # The open alerts first and largest: on a laptop they must not hide behind a scroll.
        column.addWidget(self.open_table, 3)
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
                self.open_table.set_cell(
                    r, 3, short_time(a.get("raised_at"), self.console_actions.branch_timezone())
                )
                self.open_table.set_cell(r, 4, self._state(a))
                acked = bool(a.get("acknowledged_at"))
                button = QPushButton(
                    t.tr("manager.alerts.done" if acked else "manager.alerts.acknowledge")
                )
                button.setObjectName("ackButton")
                button.setEnabled(not acked)
                alert_id = str(a["id"])
                button.clicked.connect(lambda _=False, i=alert_id: self.acknowledge(i))
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
                self.followups.set_cell(
                    r, 4, short_time(f.get("rated_at"), self.console_actions.branch_timezone())
                )
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
                    lambda _=False, i=fid, n=note: self.save_followup(i, n.text(), False)
                )
                resolve.clicked.connect(
                    lambda _=False, i=fid, n=note: self.save_followup(i, n.text(), True)
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
            self.history.set_cell(
                r, 0, short_time(a.get("raised_at"), self.console_actions.branch_timezone())
            )
            self.history.set_cell(r, 1, t.tr(f"manager.severity.{severity}"))
            self.history.set_cell(r, 2, self._kind(a))
            self.history.set_cell(r, 3, self._detail(a))
            self.history.set_cell(r, 4, self._state(a))

    def show_history_error(self, text: str) -> None:
        self.history_status.setText(text)
        self.history.setRowCount(0)

    # ---- requests
    def acknowledge(self, alert_id: str) -> None:
        a = self.console_actions
        a.send(lambda: a.client.acknowledge_alert(alert_id), success="manager.alerts.acknowledged")

    def save_followup(self, followup_id: int, note: str, resolved: bool) -> None:
        a = self.console_actions
        a.send(
            lambda: a.client.update_followup(followup_id, note, resolved),
            success="manager.followups.saved",
        )

    def load_history(self, day: str | None = None) -> None:
        a = self.console_actions
        chosen = day or self.day()

        def failed(error: ApiError) -> None:
            self.show_history_error(a.error_text(error))

        a.send(lambda: a.client.alerts(chosen), self.show_history, failed=failed)


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
        predicted = subject.get("reason") == "predicted_wait" and minutes("eta_s") is not None
        values = {
            "service": f"{code} {names(code)}".strip(),
            "wait": minutes("eta_s" if predicted else "longest_wait_s"),
            "target": minutes("target_s"),
        }
        if predicted:  # nobody has waited long yet: say what the alert foresees
            return t.tr("manager.alert_detail.business_predicted", **values)
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
    elif kind == "hall_crowded" and subject.get("limit") is not None:
        values = {"waiting": subject.get("waiting", ""), "limit": subject["limit"]}
    elif kind == "hall_over_target" and subject.get("limit_share") is not None:
        values = {
            "over": subject.get("over_target", ""),
            "waiting": subject.get("waiting", ""),
            "share": round(float(subject.get("share") or 0) * 100),
            "limit": round(float(subject["limit_share"]) * 100),
        }
    elif kind == "bookings_outside_hours" and subject.get("day"):
        hours = subject.get("hours") or []
        values = {
            "day": subject["day"],
            "count": subject.get("count", ""),
            "first": subject.get("first_slot", ""),
            "when": t.tr("manager.alert_detail.branch_open", opens=hours[0], closes=hours[1])
            if len(hours) == 2
            else t.tr("manager.alert_detail.branch_closed_day"),
        }
    elif kind == "device_fault" and subject.get("device"):
        health = str(subject.get("health") or "")
        fault = str(subject.get("detail") or "")
        values = {
            "device": subject["device"],
            "detail": device_detail(t.catalog, fault)
            if fault
            else t.tr(f"manager.device_health.{health}"),
        }
    elif kind == "negative_rating" and subject.get("number"):
        counter = subject.get("counter")
        values = {
            "number": subject["number"],
            "where": t.tr("manager.alert_detail.at_counter", counter=counter) if counter else "",
        }
    elif kind == "head_office_refused" and subject.get("document"):
        document = str(subject["document"])
        named = f"manager.head_office.kind.{document}"
        values = {
            # A kind this console does not know yet shows as the centre wrote it.
            "document": t.tr(named) if t.has(named) else document,
            "version": subject.get("version", ""),
            "code": subject.get("code", ""),
        }
    if not values:
        return str(alert.get("detail") or "")
    return t.tr(f"manager.alert_detail.{kind}", **values)
