"""The Audit tab: who changed what, newest first (read again each time the tab is opened)."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from ui.client import ApiError
from ui.i18n import Translator
from ui.manager.actions import ConsoleActions
from ui.manager.widgets import Table, short_time
from ui.widgets import BigButton, TextLabel, label


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

    def __init__(self, tr: Translator, actions: ConsoleActions) -> None:
        super().__init__()
        self.tr_ = tr
        self.console_actions = actions
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
        self.refresh.clicked.connect(self.load)

    def show_entries(self, data: Any) -> None:
        rows = data if isinstance(data, list) else []
        rows = sorted(rows, key=lambda e: int(e.get("seq") or 0), reverse=True)
        self.status.setText(self.tr_.tr("manager.audit.count", count=len(rows)))
        self.table.setRowCount(len(rows))
        for r, e in enumerate(rows):
            self.table.set_cell(r, 0, str(e.get("seq", "")))
            self.table.set_cell(
                r, 1, short_time(e.get("at"), self.console_actions.branch_timezone())
            )
            self.table.set_cell(r, 2, str(e.get("actor") or ""))
            self.table.set_cell(r, 3, str(e.get("action") or ""))
            self.table.set_cell(r, 4, str(e.get("target") or ""))
            self.table.set_cell(r, 5, _change(e.get("before"), e.get("after")))

    def show_error(self, text: str) -> None:
        self.status.setText(text)
        self.table.setRowCount(0)

    def load(self) -> None:
        a = self.console_actions

        def failed(error: ApiError) -> None:
            self.show_error(a.error_text(error))

        a.send(lambda: a.client.audit(200), self.show_entries, failed=failed)
