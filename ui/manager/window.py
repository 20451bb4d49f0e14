"""ManagerWindow: the branch manager's console — live branch, windows, advice, alerts, settings.

The window holds no rules of its own: `BranchConsole` (Qt-free) derives every row and colour
from the client's live model, which the event stream keeps current (nothing is polled). The
window renders it, turns clicks into requests through `ConsoleActions`, and says in words
what was done or why the server refused. The advice is re-read when counters or businesses
change (debounced); the audit log when its tab is opened. `open_console` builds the window
for a live client; the window itself gets its presenter and actions ready-made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QDate, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QHBoxLayout, QTabWidget, QVBoxLayout, QWidget

from ui.i18n import Translator, translator
from ui.manager.actions import ConsoleActions
from ui.manager.client import ManagerClient
from ui.manager.console import POLICY_EVENTS, BranchConsole
from ui.manager.tabs.advice import AdviceTab
from ui.manager.tabs.alerts import AlertsTab
from ui.manager.tabs.audit import AuditTab
from ui.manager.tabs.live import LiveTab
from ui.manager.tabs.policy import PolicyTab
from ui.manager.tabs.reports import ReportsTab
from ui.manager.tabs.settings import SettingsTab
from ui.manager.tabs.windows import WindowsTab
from ui.widgets import Banner, LanguageToggle, label, restyle


def open_console(
    client: ManagerClient,
    *,
    tr: Translator | None = None,
    fetch: bool = True,
    **options: Any,
) -> ManagerWindow:
    """The console for a live client: its presenter over the client's model, its actions.

    `fetch=False` never reads from the server (screenshots); `options` go to the window.
    """
    console = BranchConsole(client.model, client.model.extras)
    actions = ConsoleActions(client, tr or translator(), fetch=fetch)
    return ManagerWindow(console, actions, **options)


class ManagerWindow(QWidget):
    """The branch manager's console."""

    def __init__(
        self,
        console: BranchConsole,
        actions: ConsoleActions,
        *,
        advice_debounce_ms: int = 1500,
        tick_ms: int = 1000,
        offline_grace_ms: int = 1000,
        policy_poll_ms: int = 1000,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("managerApp")
        self.console_actions = actions
        self.client = client = actions.client
        self.tr_ = actions.tr_
        self.fetch = actions.fetch  # False: never read from the server (screenshots)
        self.console = console
        self._policy_poll_ms = policy_poll_ms
        self.console.online = bool(client.online)
        self._offline_shown = False
        self._business_day: QDate | None = None
        self._build()

        self._advice_timer = QTimer(self)
        self._advice_timer.setSingleShot(True)
        self._advice_timer.setInterval(advice_debounce_ms)
        self._advice_timer.timeout.connect(self.advice.load)
        self._tick = QTimer(self)
        self._tick.setInterval(tick_ms)
        self._tick.timeout.connect(self.update_view)
        self._tick.start()
        self._grace = QTimer(self)
        self._grace.setSingleShot(True)
        self._grace.setInterval(offline_grace_ms)
        self._grace.timeout.connect(self._show_offline)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.message.hide)
        actions.subscribe(self._show_message, self.update_view)

        client.connectedChanged.connect(self.connection_changed)
        client.snapshotLoaded.connect(self._snapshot_loaded)
        client.eventReceived.connect(self._event)
        self.tr_.languageChanged.connect(lambda _: self.update_view())
        if client.model.loaded:
            self._snapshot_loaded()
        self.connection_changed(bool(client.online))
        self.update_view()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        t = self.tr_
        self.title = label("managerTitle", "title", wrap=False)
        self.trouble = label("troubleLine", wrap=False)
        self.link = label("linkState", wrap=False)
        self.language = LanguageToggle(translator=t)
        bar = QHBoxLayout()
        bar.setSpacing(12)
        bar.addWidget(self.title)
        bar.addWidget(self.trouble)
        bar.addStretch(1)
        bar.addWidget(self.link)
        bar.addWidget(self.language)
        self.offline = Banner("manager.offline", "warning", translator=t)
        self.offline.setObjectName("offlineBanner")
        self.offline.hide()
        self.message = Banner("manager.error.other", "info", translator=t)
        self.message.setObjectName("messageBanner")
        self.message.hide()

        self.live = LiveTab(t)
        self.windows = WindowsTab(t, self.console_actions, self.console)
        self.advice = AdviceTab(t, self.console_actions, self.console)
        self.policy = PolicyTab(t, self.console_actions, self._policy_poll_ms)
        self.alerts = AlertsTab(t, self.console_actions)
        self.audit = AuditTab(t, self.console_actions)
        self.settings = SettingsTab(t, self.console_actions)
        self.reports = ReportsTab(t, self.console_actions)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("managerTabs")
        self.tab_keys = [
            (self.live, "manager.tab.live"),
            (self.windows, "manager.tab.windows"),
            (self.advice, "manager.tab.advice"),
            (self.policy, "manager.tab.policy"),
            (self.alerts, "manager.tab.alerts"),
            (self.audit, "manager.tab.audit"),
            (self.settings, "manager.tab.settings"),
            (self.reports, "manager.tab.reports"),
        ]
        for widget, key in self.tab_keys:
            self.tabs.addTab(widget, t.tr(key))
        self.tabs.currentChanged.connect(self._tab_opened)

        column = QVBoxLayout(self)
        column.setContentsMargins(16, 12, 16, 12)
        column.setSpacing(8)
        column.addLayout(bar)
        column.addWidget(self.offline)
        column.addWidget(self.message)
        column.addWidget(self.tabs, 1)

    # ------------------------------------------------------------------ render
    def update_view(self) -> None:
        t = self.tr_
        c = self.console
        branch = str(self.client.model.branch.get("name") or "")
        self.setWindowTitle(t.tr("manager.app_title"))
        self.title.setText(
            t.tr("manager.title", branch=branch) if branch else t.tr("manager.app_title")
        )
        for widget, key in self.tab_keys:
            self.tabs.setTabText(self.tabs.indexOf(widget), t.tr(key).replace("&", "&&"))
        over, near, alerts = c.trouble()
        if over or near or alerts:
            parts = []
            if over:
                parts.append(t.tr("manager.trouble.over", count=over))
            if near:
                parts.append(t.tr("manager.trouble.near", count=near))
            if alerts:
                parts.append(t.tr("manager.trouble.alerts", count=alerts))
            self.trouble.setText(" · ".join(parts))
            restyle(self.trouble, "status", "over" if over or alerts else "near")
        else:
            self.trouble.setText(t.tr("manager.trouble.none"))
            restyle(self.trouble, "status", "ok")
        self.link.setText(t.tr("manager.link.online" if c.online else "manager.link.offline"))
        restyle(self.link, "status", "ok" if c.online else "over")
        counters = c.counter_rows()
        self.live.show_rows(c.business_rows(), counters)
        self.windows.show_rows(counters, c.window_summary())
        self.advice.redraw()
        self.alerts.show_open(
            c.extras.open_alerts(), c.extras.open_followups(), self.console_actions.service_name
        )
        open_alerts = sum(1 for a in c.extras.alerts.values() if not a.get("acknowledged_at"))
        index = self.tabs.indexOf(self.alerts)
        text = t.tr("manager.tab.alerts").replace("&", "&&")
        self.tabs.setTabText(index, f"{text} ({open_alerts})" if open_alerts else text)

    # ------------------------------------------------------ the server's news
    def connection_changed(self, online: bool) -> None:
        self.console.online = online
        if online:
            self._grace.stop()
            if self._offline_shown:
                self._offline_shown = False
                self.offline.hide()
        elif not self._offline_shown and not self._grace.isActive():
            self._grace.start()
        self.update_view()

    def _show_offline(self) -> None:
        if not self.console.online:
            self._offline_shown = True
            self.offline.show()

    def _snapshot_loaded(self) -> None:
        self.console.snapshot_loaded()
        day = QDate.fromString(str(self.client.model.business_day or ""), "yyyy-MM-dd")
        if day.isValid() and day != self._business_day:
            # Dates default to the branch's business day (its clock, not this PC's).
            self._business_day = day
            self.alerts.date.setDate(day)
            self.reports.set_day(day)
        self.windows.counter_selected()
        if self.fetch:
            self._advice_timer.start(0)
            self.settings.snapshot_loaded()
            self.settings.office_page.refresh()  # it may have changed while we were away
        self.update_view()

    def _event(self, event: dict[str, Any]) -> None:
        self.console.event(event)
        if self.fetch and self.console.affects_advice(event):
            self._advice_timer.start()
        kind = str(event.get("kind", ""))
        self.settings.stream_event(kind)
        if self.fetch and kind in POLICY_EVENTS:
            self.policy.load()
        self.update_view()

    def _tab_opened(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if not self.fetch:
            return
        if widget is self.audit:
            self.audit.load()
        elif widget is self.advice:
            self.advice.load()
        elif widget is self.policy:
            self.policy.load()
        elif widget is self.alerts:
            self.alerts.load_history()
        elif widget is self.settings:
            self.settings.load()
        elif widget is self.reports and self.reports.report is None:
            self.reports.load()

    # ----------------------------------------------------------------- requests
    def _show_message(self, key: str, kind: str, values: Mapping[str, object]) -> None:
        self.message.set_message(key, kind, **values)
        self.message.show()
        self._message_timer.start(10_000 if kind == "error" else 5_000)

    # ---- advice
    def show_advice(self, advice: Mapping[str, Any]) -> None:
        """Show advice fetched elsewhere (tests, screenshots)."""
        self.console.advice = advice
        self.advice.error = None
        self.update_view()

    def closeEvent(self, event: QCloseEvent) -> None:
        for timer in (self._tick, self._advice_timer, self._grace, self._message_timer):
            timer.stop()
        self.policy.stop()
        super().closeEvent(event)
