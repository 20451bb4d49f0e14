"""The Calling policy tab: which policy calls the customers today and why, the last policy
tournament's table, and the manager's two actions — run a tournament now, apply its choice.

Its own tab rather than a corner of the Advice tab: the advice is about windows per hour, the
policy about the order in which every window calls, and the tournament table needs the width.
Read when the tab opens and again on `policy.*` events; while a tournament runs the tab reads
its progress every `poll_ms` (the server publishes no event per step).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.client import ApiError
from ui.i18n import Translator
from ui.manager.actions import ConsoleActions
from ui.manager.console import POLICY_CLASSES, PolicyView, policy_view
from ui.manager.widgets import Table, short_time
from ui.widgets import BigButton, TextLabel, label


def _pct(x: float) -> str:
    return f"{x * 100:.1f}"


class PolicyTab(QWidget):
    """The calling policy in use and why; the last tournament; run one now, apply it."""

    def __init__(self, tr: Translator, actions: ConsoleActions, poll_ms: int = 1000) -> None:
        super().__init__()
        self.tr_ = tr
        self.console_actions = actions
        self.overview: dict[str, Any] | None = None
        self.view: PolicyView = policy_view(None, tr.language, tr)
        self.error: str | None = None
        self.running_name = label("policyRunning", "heading")
        self.since = label("policySince", "hint")
        self.reason = label("policyReason")
        self.run = BigButton("manager.policy.run", "secondary", translator=tr)
        self.run.setObjectName("runTournament")
        self.apply = BigButton("manager.policy.apply", "primary", translator=tr)
        self.apply.setObjectName("applyPolicy")
        self.status = label("tournamentStatus", "hint")
        self.progress = QProgressBar()
        self.progress.setObjectName("tournamentProgress")
        self.progress.setTextVisible(False)
        self.progress.hide()
        # "Apply now" asks first, inside the tab: a modal box would stop the live console.
        self.confirm = QFrame()
        self.confirm.setObjectName("applyConfirm")
        self.confirm_text = label("applyConfirmText")
        self.confirm_yes = QPushButton()
        self.confirm_yes.setObjectName("confirmApply")
        self.confirm_no = QPushButton()
        self.confirm_no.setObjectName("cancelApply")
        row = QHBoxLayout(self.confirm)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.confirm_text, 1)
        row.addWidget(self.confirm_yes)
        row.addWidget(self.confirm_no)
        self.confirm.hide()
        self.table = Table(tr, self._header_keys(), "tournamentTable", stretch=0)
        # Rows as tall as their wrapped names at the width the columns end up with.
        self.table.horizontalHeader().sectionResized.connect(
            lambda *_: self.table.resizeRowsToContents()
        )
        self.legend = TextLabel("manager.policy.legend", "hint", translator=tr)

        top = QHBoxLayout()
        heading = TextLabel("manager.policy.running_title", "heading", translator=tr)
        heading.setWordWrap(False)
        top.addWidget(heading)
        top.addStretch(1)
        top.addWidget(self.run)
        top.addWidget(self.apply)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 8, 0, 0)
        column.addLayout(top)
        column.addWidget(self.running_name)
        column.addWidget(self.since)
        column.addWidget(self.reason)
        column.addWidget(self.confirm)
        column.addWidget(TextLabel("manager.policy.last_title", "heading", translator=tr))
        column.addWidget(self.status)
        column.addWidget(self.progress)
        column.addWidget(self.table, 1)
        column.addWidget(self.legend)

        self._poll = QTimer(self)
        self._poll.setSingleShot(True)
        self._poll.setInterval(poll_ms)
        self._poll.timeout.connect(self.load)
        self.run.clicked.connect(self.run_now)
        self.apply.clicked.connect(self.ask_to_apply)
        self.confirm_yes.clicked.connect(self.apply_now)
        self.confirm_no.clicked.connect(self.confirm.hide)
        tr.languageChanged.connect(lambda _: self.show_overview(self.overview))
        self.show_overview(None)

    @staticmethod
    def _header_keys() -> list[str]:
        return [
            "manager.policy.col_policy",
            "manager.policy.col_share",
            *["manager.policy.col_p95"] * len(POLICY_CLASSES),
            "manager.policy.col_total",
        ]

    # ------------------------------------------------------------------ render
    def show_overview(self, overview: dict[str, Any] | None) -> None:
        """Show `GET /policy` as read (None: not read yet)."""
        t = self.tr_
        self.overview = overview
        v = self.view = policy_view(overview, t.language, t)
        tz = self.console_actions.branch_timezone()
        self.running_name.setText(v.running)
        if v.since:
            actor = v.actor or ""
            actor = t.tr("manager.policy.actor_system") if actor == "system" else actor
            self.since.setText(
                t.tr("manager.policy.since", time=short_time(v.since, tz), actor=actor)
            )
        else:
            self.since.setText(t.tr("manager.policy.default"))
        self.reason.setText(self.error or v.reason)

        if v.running_job:
            self.status.setText(t.tr("manager.policy.progress", done=v.job_done, steps=v.job_steps))
            self.progress.setRange(0, max(1, v.job_steps))
            self.progress.setValue(v.job_done)
            self.progress.show()
        else:
            self.progress.hide()
            self.status.setText(self._last_text(v, tz))
        self.run.set_text("manager.policy.run_busy" if v.running_job else "manager.policy.run")
        self.run.setEnabled(not v.running_job)
        self.apply.set_text(
            "manager.policy.apply" if v.can_apply or not v.chosen else "manager.policy.in_use"
        )
        self.apply.setEnabled(v.can_apply and not v.running_job)
        if not self.apply.isEnabled():
            self.confirm.hide()
        self.confirm_yes.setText(t.tr("manager.policy.confirm_yes"))
        self.confirm_no.setText(t.tr("manager.policy.confirm_no"))
        self.confirm_text.setText(t.tr("manager.policy.confirm", policy=v.chosen or ""))
        self._fill_table(v)
        if v.running_job and self.console_actions.fetch:
            self._poll.start()

    def _last_text(self, v: PolicyView, tz: str | None) -> str:
        t = self.tr_
        if v.last_state is None:
            return t.tr("manager.policy.none")
        when = short_time(v.last_finished, tz)
        if v.last_state != "done":
            return t.tr("manager.policy.last_failed", time=when, error=v.last_error or "")
        return t.tr(
            "manager.policy.last_done",
            time=when,
            trigger=t.tr(f"manager.policy.trigger_{v.last_trigger or 'manager'}"),
            day=v.last_for_day or "",
            basis=t.tr(f"manager.advice.basis_{v.basis or 'none'}"),
            days=v.days,
        )

    def _fill_table(self, v: PolicyView) -> None:
        t = self.tr_
        headers = [t.tr("manager.policy.col_policy"), t.tr("manager.policy.col_share")]
        headers += [
            t.tr("manager.policy.col_p95", cls=t.tr(f"priority.{cls}")) for cls in POLICY_CLASSES
        ]
        headers.append(t.tr("manager.policy.col_total"))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(v.rows))
        for r, row in enumerate(v.rows):
            name = row.name
            if row.chosen:
                name = t.tr("manager.policy.chosen", name=name)
            elif row.excluded:
                name = t.tr("manager.policy.excluded", name=name)
            self.table.set_cell(r, 0, name, "ok" if row.chosen else "")
            share = "—"
            if row.share is not None:
                low, high = row.interval or (row.share, row.share)
                share = t.tr(
                    "manager.policy.share", share=_pct(row.share), low=_pct(low), high=_pct(high)
                )
            self.table.set_cell(r, 1, share)
            for c, wait in enumerate(row.waits, start=2):
                text = "—"
                if wait.p95_min is not None and wait.target_min is not None:
                    text = t.tr(
                        "manager.policy.p95",
                        p95=f"{wait.p95_min:.1f}",
                        target=f"{wait.target_min:g}",
                    )
                self.table.set_cell(r, c, text, wait.state)
            hours = "—" if row.total_wait_min is None else f"{row.total_wait_min / 60.0:.1f}"
            self.table.set_cell(
                r, 2 + len(POLICY_CLASSES), t.tr("manager.policy.hours", hours=hours)
            )
            self.table.center_figures(r)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, self.table.columnCount()):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        # A candidate's name (a head-start variant in English) is longer than its column at
        # 1366 px: wrapped onto two lines, never cut off with "…".
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.resizeRowsToContents()

    # ---------------------------------------------------------------- requests
    def load(self) -> None:
        a = self.console_actions
        if not a.fetch:
            return

        def done(data: Any) -> None:
            self.error = None
            self.show_overview(data if isinstance(data, dict) else None)

        def failed(error: ApiError) -> None:
            self.error = a.error_text(error)
            self.show_overview(self.overview)

        a.send(a.client.calling_policy, done, failed=failed)

    def run_now(self) -> None:
        a = self.console_actions

        def failed(error: ApiError) -> None:
            if error.code == "tournament_running":
                a.show_message("manager.policy.already_running", "error")
            else:
                a.show_text(a.error_text(error), "error")
            self.load()  # show the run that is going on

        a.send(a.client.run_tournament, lambda _: self.load(), "manager.policy.started", failed)

    def ask_to_apply(self) -> None:
        if self.view.can_apply:
            self.confirm.show()

    def apply_now(self) -> None:
        a = self.console_actions
        self.confirm.hide()
        last = (self.overview or {}).get("last") or {}
        chosen = self.view.chosen or ""
        a.send(
            lambda: a.client.apply_policy(last.get("id")),
            lambda _: self.load(),
            "manager.policy.applied",
            policy=chosen,
        )

    def stop(self) -> None:
        self._poll.stop()
