"""ManagerWindow: the branch manager's console — live branch, windows, advice, alerts, settings.

The window holds no rules of its own: `BranchConsole` (Qt-free) derives every row and colour
from the client's live model, which the event stream keeps current (nothing is polled). The
window renders it, turns clicks into client calls, and says in words what was done or why
the server refused. The advice is re-read when counters or businesses change (debounced);
the audit log when its tab is opened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui.client import ApiError
from ui.i18n import Translator, translator
from ui.widgets import Banner, BigButton, LanguageToggle, TextLabel

from .client import ManagerClient
from .console import (
    AdviceView,
    BranchConsole,
    BusinessRow,
    CounterRow,
    SkillsDraft,
)
from .panels import AlertsTab, AuditTab, SettingsTab
from .reports import ReportsTab
from .widgets import Table, card, duration, label, minutes, restyle

log = logging.getLogger(__name__)
PAUSE_REASONS = ("lunch", "break", "meeting", "cash", "other")
ERROR_KEYS = {
    "offline": "manager.error.offline",
    "forbidden": "manager.error.forbidden",
    "http_403": "manager.error.forbidden",
    "http_404": "manager.error.not_available",
    "not_found": "manager.error.not_available",
    "invalid_request": "manager.error.invalid",
    "http_422": "manager.error.invalid",
}


def error_text(tr: Translator, error: ApiError) -> str:
    key = ERROR_KEYS.get(error.code)
    if key is None and error.status == 403:
        key = "manager.error.forbidden"
    if key is None and error.status == 404:
        key = "manager.error.not_available"
    if key is None:
        return tr.tr("manager.error.other", code=error.code, message=error.message)
    return tr.tr(key)


def counter_label(tr: Translator, number: int, name: str) -> str:
    """ "1 号窗口", plus the counter's own name when it says more than its number."""
    text = tr.tr("common.counter", counter=number)
    plain = {
        tr.catalog.tr_in(lang, "common.counter", counter=number).replace(" ", "")
        for lang in ("zh", "en")
    }
    if name and name.replace(" ", "") not in plain:
        text += f" {name}"
    return text


# ------------------------------------------------------------------- live branch
class BusinessCard(QWidget):
    """One business at a glance: waiting, longest wait against target, ETA, today's share."""

    def __init__(self, tr: Translator) -> None:
        super().__init__()
        self.tr_ = tr
        frame, column = card("businessCard")
        self.frame = frame
        self.name = label("businessName", wrap=False)
        self.windows = label("businessWindows", wrap=False)
        self.windows.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.waiting = label("businessWaiting", wrap=False)
        self.longest = label("businessLine", wrap=False)
        self.outlook = label("businessLine", wrap=False)
        top = QHBoxLayout()
        top.addWidget(self.name, 1)
        top.addWidget(self.windows)
        column.addLayout(top)
        for widget in (self.waiting, self.longest, self.outlook):
            column.addWidget(widget)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)

    def show_row(self, row: BusinessRow) -> None:
        t = self.tr_
        self.name.setText(f"{row.code}  {t.pick(row.names)}")
        self.windows.setText(t.tr("manager.live.windows", count=row.open_windows))
        self.waiting.setText(t.tr("manager.live.waiting", count=row.waiting))
        self.longest.setText(
            t.tr(
                "manager.live.longest",
                minutes=minutes(row.longest_wait_s),
                target=minutes(row.target_wait_s),
            )
        )
        eta = (
            t.tr("manager.live.eta", minutes=round((row.eta_new_s or 0) / 60))
            if row.eta_new_s is not None
            else t.tr("manager.live.eta_none")
        )
        share = row.share_within
        today = (
            t.tr("manager.live.share", percent=round(share * 100))
            if share is not None
            else t.tr("manager.live.share_none")
        )
        self.outlook.setText(f"{eta} · {today}")
        self.setToolTip(
            t.tr("manager.live.share_tip", count=row.called_today, within=row.within_today)
        )
        restyle(self.frame, "status", row.status.value if row.enabled else "off")


class LiveTab(QWidget):
    """Per business (a card each, coloured against target) and per counter (a table)."""

    COLUMNS = (
        "manager.counter.number",
        "manager.counter.state",
        "manager.counter.staff",
        "manager.counter.customer",
        "manager.counter.for",
        "manager.counter.idle",
        "manager.counter.skills",
    )

    def __init__(self, tr: Translator) -> None:
        super().__init__()
        self.tr_ = tr
        self.cards: dict[str, BusinessCard] = {}
        self.per_row = 0
        self._last: tuple[list[BusinessRow], list[CounterRow]] | None = None
        self.grid = QGridLayout()
        self.grid.setSpacing(10)
        self.counters = Table(tr, self.COLUMNS, "counterTable")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 8, 0, 0)
        column.setSpacing(10)
        self.business_title = TextLabel("manager.live.businesses", "heading", translator=tr)
        column.addWidget(self.business_title)
        column.addLayout(self.grid)
        column.addWidget(TextLabel("manager.live.counters", "heading", translator=tr))
        column.addWidget(self.counters, 1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._last is not None and (7 if self.width() >= 1700 else 4) != self.per_row:
            self.show_rows(*self._last)

    def show_rows(self, businesses: list[BusinessRow], counters: list[CounterRow]) -> None:
        t = self.tr_
        self._last = (businesses, counters)
        # One row of cards on a wide screen, two on a 1366 px one.
        per_row = 7 if self.width() >= 1700 else 4
        codes = [b.code for b in businesses]
        if list(self.cards) != codes or per_row != self.per_row:
            self.per_row = per_row
            for old in self.cards.values():
                old.setParent(None)
                old.deleteLater()
            self.cards = {}
            for i, code in enumerate(codes):
                widget = BusinessCard(t)
                self.cards[code] = widget
                self.grid.addWidget(widget, i // per_row, i % per_row)
        for row in businesses:
            self.cards[row.code].show_row(row)
        self.counters.retranslate()
        self.counters.setRowCount(len(counters))
        for r, c in enumerate(counters):
            name = counter_label(t, c.number, c.name)
            state = t.tr(f"manager.state.{c.state}")
            if c.state == "paused" and c.pause_reason:
                reason = c.pause_reason
                if reason in PAUSE_REASONS:
                    reason = t.tr(f"counter.pause_reason.{reason}")
                state = t.tr("manager.state.paused_for", reason=reason)
            customer = "—"
            if c.customer is not None:
                customer = f"{c.customer} · " + t.tr(f"manager.customer.{c.customer_state}")
            self.counters.set_cell(r, 0, name)
            cell_state = {"open": "ok", "paused": "near", "closed": "closed"}.get(c.state)
            self.counters.set_cell(r, 1, state, cell_state)
            self.counters.set_cell(r, 2, c.staff_id or t.tr("manager.counter.nobody"))
            self.counters.set_cell(r, 3, customer)
            self.counters.set_cell(r, 4, duration(t, c.customer_for_s))
            self.counters.set_cell(r, 5, duration(t, c.idle_s))
            self.counters.set_cell(r, 6, c.skill_text)


# ----------------------------------------------------------------- window counts
class SkillsEditor(QWidget):
    """The businesses one counter serves, in order: up / down, overflow ticks, add, remove."""

    def __init__(self, tr: Translator) -> None:
        super().__init__()
        self.tr_ = tr
        self.draft: SkillsDraft | None = None
        self.names: Callable[[str], str] = lambda code: code
        self.title = label("skillsTitle", "heading")
        self.list = QListWidget()
        self.list.setObjectName("skillsList")
        self.list.setDragDropMode(QListWidget.DragDropMode.InternalMove)
        self.list.model().rowsMoved.connect(self._dragged)
        self.list.itemChanged.connect(self._ticked)
        self.up = QPushButton()
        self.down = QPushButton()
        self.remove = QPushButton()
        self.add_choice = QComboBox()
        self.add = QPushButton()
        self.save = BigButton("manager.skills.save", "primary", translator=tr)
        self.revert = BigButton("manager.skills.revert", "secondary", translator=tr)
        self.hint = TextLabel("manager.skills.hint", "hint", translator=tr)
        for button in (self.up, self.down, self.remove, self.add):
            button.setObjectName("smallButton")
        self.up.clicked.connect(lambda: self._move(-1))
        self.down.clicked.connect(lambda: self._move(1))
        self.remove.clicked.connect(self._remove)
        self.add.clicked.connect(self._add)
        moves = QHBoxLayout()
        for button in (self.up, self.down, self.remove):
            moves.addWidget(button)
        moves.addStretch(1)
        adding = QHBoxLayout()
        adding.addWidget(self.add_choice, 1)
        adding.addWidget(self.add)
        actions = QHBoxLayout()
        actions.addWidget(self.revert)
        actions.addWidget(self.save)
        frame, column = card()
        column.addWidget(self.title)
        column.addWidget(self.hint)
        column.addWidget(self.list, 1)
        column.addLayout(moves)
        column.addLayout(adding)
        column.addLayout(actions)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        tr.languageChanged.connect(lambda _: self.retranslate())
        self.retranslate()

    def retranslate(self) -> None:
        t = self.tr_
        self.up.setText(t.tr("manager.skills.up"))
        self.down.setText(t.tr("manager.skills.down"))
        self.remove.setText(t.tr("manager.skills.remove"))
        self.add.setText(t.tr("manager.skills.add"))
        self.redraw()

    def edit(self, draft: SkillsDraft | None, services: Mapping[str, Mapping[str, Any]]) -> None:
        self.draft = draft
        self.services = services
        self.redraw()

    def redraw(self, select: int | None = None) -> None:
        t = self.tr_
        draft = self.draft
        self.setEnabled(draft is not None)
        self.list.blockSignals(True)
        self.list.clear()
        if draft is None:
            self.title.setText(t.tr("manager.skills.pick"))
            self.list.blockSignals(False)
            return
        self.title.setText(
            t.tr("manager.skills.title", counter=t.tr("common.counter", counter=draft.counter))
        )
        for i, skill in enumerate(draft.skills):
            text = f"{i + 1}. {skill['service']}  {self.names(skill['service'])}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, skill["service"])
            item.setFlags(
                item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsDragEnabled
            )
            item.setCheckState(
                Qt.CheckState.Checked if skill["overflow"] else Qt.CheckState.Unchecked
            )
            item.setToolTip(t.tr("manager.skills.overflow_hint"))
            if skill["overflow"]:
                item.setText(f"{text}  ({t.tr('manager.skills.overflow')})")
            self.list.addItem(item)
        if select is not None and 0 <= select < self.list.count():
            self.list.setCurrentRow(select)
        self.list.blockSignals(False)
        self.add_choice.clear()
        for code in getattr(self, "services", {}):
            if code not in draft.codes():
                self.add_choice.addItem(f"{code}  {self.names(code)}", code)
        self.add.setEnabled(self.add_choice.count() > 0)

    def _move(self, step: int) -> None:
        if self.draft is None or self.list.currentRow() < 0:
            return
        self.redraw(self.draft.move(self.list.currentRow(), step))

    def _remove(self) -> None:
        if self.draft is not None and self.list.currentRow() >= 0:
            self.draft.remove(self.list.currentRow())
            self.redraw()

    def _add(self) -> None:
        code = self.add_choice.currentData()
        if self.draft is not None and code:
            self.draft.add(str(code))
            self.redraw(len(self.draft.skills) - 1)

    def _ticked(self, item: QListWidgetItem) -> None:
        if self.draft is not None:
            checked = item.checkState() == Qt.CheckState.Checked
            row = self.list.row(item)
            self.draft.set_overflow(row, checked)
            QTimer.singleShot(0, lambda: self.redraw(row))  # the label says "overflow" too

    def _dragged(self, *_: Any) -> None:
        if self.draft is None:
            return
        order = [
            str(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())
        ]
        by_code = {s["service"]: s for s in self.draft.skills}
        self.draft.skills = [by_code[c] for c in order if c in by_code]
        QTimer.singleShot(0, lambda: self.redraw(self.list.currentRow()))


class WindowsTab(QWidget):
    """Open, pause or close counters and edit what each serves; the window count per business."""

    COLUMNS = (
        "manager.counter.number",
        "manager.counter.state",
        "manager.counter.staff",
        "manager.counter.skills",
    )

    def __init__(self, tr: Translator) -> None:
        super().__init__()
        self.tr_ = tr
        self.summary = label("windowSummary")
        self.table = Table(tr, self.COLUMNS, "windowsTable")
        self.open_button = BigButton("manager.windows.open", "primary", translator=tr)
        self.pause_button = BigButton("manager.windows.pause", "secondary", translator=tr)
        self.close_button = BigButton("manager.windows.close", "secondary", translator=tr)
        self.reason = QComboBox()
        self.reason.setObjectName("pauseReason")
        for button in (self.open_button, self.pause_button, self.close_button):
            button.setObjectName(button.key.replace(".", "_"))
        self.editor = SkillsEditor(tr)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.reason)
        buttons.addWidget(self.close_button)
        buttons.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(self.table, 1)
        left.addLayout(buttons)
        row = QHBoxLayout()
        row.addLayout(left, 3)
        row.addWidget(self.editor, 2)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 8, 0, 0)
        column.addWidget(TextLabel("manager.windows.summary_title", "heading", translator=tr))
        column.addWidget(self.summary)
        column.addLayout(row, 1)
        tr.languageChanged.connect(lambda _: self._reasons())
        self._reasons()

    def _reasons(self) -> None:
        current = self.reason.currentIndex()
        self.reason.clear()
        for reason in PAUSE_REASONS:
            self.reason.addItem(self.tr_.tr(f"counter.pause_reason.{reason}"), reason)
        self.reason.setCurrentIndex(max(0, current))

    def selected(self) -> int | None:
        row = self.table.currentRow()
        if row < 0:
            return None
        item = self.table.item(row, 0)
        value = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return int(value) if value is not None else None

    def select(self, counter: int) -> None:
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == counter:
                self.table.selectRow(r)
                return

    def show_rows(self, counters: list[CounterRow], summary: list[tuple[str, int]]) -> None:
        t = self.tr_
        parts = [t.tr("manager.windows.count", code=code, count=n) for code, n in summary]
        self.summary.setText(t.tr("manager.windows.summary", counts=" · ".join(parts)))
        self.table.retranslate()
        self.table.setRowCount(len(counters))
        for r, c in enumerate(counters):
            name = t.tr("common.counter", counter=c.number)
            self.table.set_cell(r, 0, name)
            item = self.table.item(r, 0)
            assert item is not None
            item.setData(Qt.ItemDataRole.UserRole, c.number)
            cell_state = {"open": "ok", "paused": "near", "closed": "closed"}.get(c.state)
            self.table.set_cell(r, 1, t.tr(f"manager.state.{c.state}"), cell_state)
            self.table.set_cell(r, 2, c.staff_id or t.tr("manager.counter.nobody"))
            self.table.set_cell(r, 3, c.skill_text)
        chosen = next((c for c in counters if c.number == self.selected()), None)
        self.open_button.setEnabled(chosen is not None and chosen.state != "open")
        self.pause_button.setEnabled(chosen is not None and chosen.state == "open")
        self.close_button.setEnabled(chosen is not None and chosen.state != "closed")


# ------------------------------------------------------------------------ advice
class AdviceTab(QWidget):
    """Recommended windows per business now and in the coming hours; one-click moves."""

    def __init__(self, tr: Translator, hours: int = 3) -> None:
        super().__init__()
        self.tr_ = tr
        self.hours = hours
        self.basis = label("adviceBasis", "hint")
        self.refresh = BigButton("manager.advice.refresh", "secondary", translator=tr)
        self.table = Table(tr, self._headers(), "adviceTable")
        self.moves = Table(
            tr,
            (
                "manager.advice.move_counter",
                "manager.advice.move_from",
                "manager.advice.move_to",
                "manager.advice.move_when",
                "manager.advice.move_apply",
            ),
            "movesTable",
            stretch=2,
        )
        self.apply_buttons: list[QPushButton] = []
        self._moves_shown: tuple[Any, ...] | None = None
        self.on_apply: Callable[[Mapping[str, Any]], None] = lambda move: None
        top = QHBoxLayout()
        title = TextLabel("manager.advice.title", "heading", translator=tr)
        title.setWordWrap(False)
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.refresh)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 8, 0, 0)
        column.addLayout(top)
        column.addWidget(self.basis)
        column.addWidget(self.table, 3)
        column.addWidget(TextLabel("manager.advice.moves", "heading", translator=tr))
        self.no_moves = TextLabel("manager.advice.no_moves", "hint", translator=tr)
        column.addWidget(self.no_moves)
        column.addWidget(self.moves, 2)

    def _headers(self) -> list[str]:
        return [
            "manager.advice.business",
            "manager.advice.open_now",
            "manager.advice.recommended_now",
            *[f"manager.advice.hour_{i}" for i in range(self.hours)],
        ]

    def show_advice(
        self,
        view: AdviceView,
        names: Callable[[str], str],
        counter_name: Callable[[int], str],
        done: Callable[[Mapping[str, Any]], bool],
        error: str | None = None,
    ) -> None:
        t = self.tr_
        if error is not None:
            self.basis.setText(error)
        elif not view.rows:
            self.basis.setText(t.tr("manager.advice.loading"))
        else:
            self.basis.setText(
                t.tr(
                    "manager.advice.basis",
                    day=view.day,
                    basis=t.tr(f"manager.advice.basis_{view.basis or 'none'}"),
                )
            )
        headers = [t.tr(k) for k in self._headers()[:3]] + [
            t.tr("manager.advice.at_hour", time=h) for h in view.hours
        ]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(view.rows))
        for r, row in enumerate(view.rows):
            self.table.set_cell(r, 0, f"{row.code}  {names(row.code)}")
            self.table.set_cell(r, 1, str(row.open_now))
            rec = "—" if row.recommended_now is None else str(row.recommended_now)
            state = "ok" if row.short <= 0 else "over"
            if row.recommended_now is None:
                state = ""
            self.table.set_cell(r, 2, rec, state)
            for i, n in enumerate(row.coming):
                self.table.set_cell(r, 3 + i, "—" if n is None else str(n))
            for c in range(1, self.table.columnCount()):
                item = self.table.item(r, c)
                if item is not None:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
        # The figures share the width evenly, next to each other, easy to compare.
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for c in range(1, self.table.columnCount()):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.Stretch)
        self.no_moves.setVisible(not view.moves and bool(view.rows))
        # The buttons are rebuilt only when the moves change, not on every redraw (a button
        # replaced under the mouse would swallow the click).
        shown = (t.language, tuple((repr(m), done(m)) for m in view.moves))
        if shown == self._moves_shown:
            return
        self._moves_shown = shown
        self.moves.retranslate()
        self.moves.setRowCount(len(view.moves))
        self.apply_buttons = []
        for r, move in enumerate(view.moves):
            start, end = move.get("start", ""), move.get("end", "")
            self.moves.set_cell(r, 0, counter_name(int(move["counter"])))
            self.moves.set_cell(r, 1, f"{move['from_service']}  {names(move['from_service'])}")
            self.moves.set_cell(r, 2, f"{move['to_service']}  {names(move['to_service'])}")
            self.moves.set_cell(r, 3, f"{_clock(start)}–{_clock(end)}")
            button = QPushButton()
            button.setObjectName("applyMove")
            if done(move):
                button.setText(t.tr("manager.advice.applied"))
                button.setEnabled(False)
            else:
                button.setText(t.tr("manager.advice.apply"))
                button.clicked.connect(lambda _=False, move=move: self.on_apply(move))
            self.moves.setCellWidget(r, 4, button)
            self.apply_buttons.append(button)


def _clock(text: str) -> str:
    """The HH:MM of an ISO time as the server wrote it (the branch's own offset)."""
    return text[11:16] if len(text) >= 16 else text


# ------------------------------------------------------------------------ window
class ManagerWindow(QWidget):
    """The branch manager's console."""

    def __init__(
        self,
        client: ManagerClient,
        *,
        tr: Translator | None = None,
        fetch: bool = True,
        advice_debounce_ms: int = 1500,
        tick_ms: int = 1000,
        offline_grace_ms: int = 1000,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("managerApp")
        self.client = client
        self.tr_ = tr or translator()
        self.fetch = fetch  # False: never read from the server (screenshots)
        self.console = BranchConsole(client.model, client.model.extras)
        self.console.online = bool(client.online)
        self.busy = 0  # requests waiting for their answer
        self.advice_error: str | None = None
        self._offline_shown = False
        self._business_day: QDate | None = None
        self._build()

        self._advice_timer = QTimer(self)
        self._advice_timer.setSingleShot(True)
        self._advice_timer.setInterval(advice_debounce_ms)
        self._advice_timer.timeout.connect(self.load_advice)
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
        self.windows = WindowsTab(t)
        self.advice = AdviceTab(t)
        self.alerts = AlertsTab(t)
        self.audit = AuditTab(t)
        self.settings = SettingsTab(t)
        self.reports = ReportsTab(t)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("managerTabs")
        self.tab_keys = [
            (self.live, "manager.tab.live"),
            (self.windows, "manager.tab.windows"),
            (self.advice, "manager.tab.advice"),
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

        # Wiring: every action goes through one place that sends and reports.
        w = self.windows
        w.table.itemSelectionChanged.connect(self._counter_selected)
        w.open_button.clicked.connect(lambda: self._counter_action("open"))
        w.pause_button.clicked.connect(lambda: self._counter_action("pause"))
        w.close_button.clicked.connect(lambda: self._counter_action("close"))
        w.editor.save.clicked.connect(self.save_skills)
        w.editor.revert.clicked.connect(self._counter_selected)
        w.editor.names = self._service_name
        self.advice.refresh.clicked.connect(self.load_advice)
        self.advice.on_apply = self.apply_move
        self.alerts.on_acknowledge = self.acknowledge
        self.alerts.on_followup = self.save_followup
        self.alerts.on_history = self.load_alert_history
        self.audit.refresh.clicked.connect(self.load_audit)
        self.settings.attach(self)
        self.reports.attach(self)

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
        self._render_advice()
        self.alerts.show_open(c.extras.open_alerts(), c.extras.open_followups(), self._service_name)
        open_alerts = sum(1 for a in c.extras.alerts.values() if not a.get("acknowledged_at"))
        index = self.tabs.indexOf(self.alerts)
        text = t.tr("manager.tab.alerts").replace("&", "&&")
        self.tabs.setTabText(index, f"{text} ({open_alerts})" if open_alerts else text)

    def _render_advice(self) -> None:
        self.advice.show_advice(
            self.console.advice_view(),
            self._service_name,
            self._counter_name,
            self.console.move_done,
            self.advice_error,
        )

    def _service_name(self, code: str) -> str:
        return self.tr_.pick(self.client.model.services.get(code, {}).get("names", {})) or code

    def _counter_name(self, number: int) -> str:
        return self.tr_.tr("common.counter", counter=number)

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
        self._counter_selected()
        if self.fetch:
            self._advice_timer.start(0)
            self.settings.snapshot_loaded()
        self.update_view()

    def _event(self, event: dict[str, Any]) -> None:
        self.console.event(event)
        if self.fetch and self.console.affects_advice(event):
            self._advice_timer.start()
        kind = str(event.get("kind", ""))
        if kind.startswith("service."):
            self.settings.snapshot_loaded()
        self.update_view()

    def _tab_opened(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if not self.fetch:
            return
        if widget is self.audit:
            self.load_audit()
        elif widget is self.advice:
            self.load_advice()
        elif widget is self.alerts:
            self.load_alert_history()
        elif widget is self.settings:
            self.settings.load()
        elif widget is self.reports and self.reports.report is None:
            self.reports.load()

    # ----------------------------------------------------------------- requests
    def send(
        self,
        request: Callable[[], Any],
        done: Callable[[Any], None] | None = None,
        success: str | None = None,
        failed: Callable[[ApiError], None] | None = None,
        **values: object,
    ) -> None:
        """Send one request; on its answer run `done`, or say why it was refused."""
        self.busy += 1

        def answered(data: Any, error: ApiError | None) -> None:
            self.busy -= 1
            if error is not None:
                log.info("manager request refused: %s", error)
                if failed is not None:
                    failed(error)
                else:
                    self.show_text(error_text(self.tr_, error), "error")
                return
            if done is not None:
                done(data)
            if success is not None:
                self.show_message(success, "info", **values)
            self.update_view()

        request().then(answered)

    def show_message(self, key: str, kind: str = "info", **values: object) -> None:
        self.message.set_message(key, kind, **values)
        self.message.show()
        self._message_timer.start(10_000 if kind == "error" else 5_000)

    def show_text(self, text: str, kind: str = "error") -> None:
        self.show_message("manager.text", kind, text=text)

    # ---- window counts
    def _counter_selected(self) -> None:
        n = self.windows.selected()
        counter = self.client.model.counters.get(n) if n is not None else None
        draft = SkillsDraft.of(n, counter.get("skills", [])) if n is not None and counter else None
        self.windows.editor.edit(draft, self.client.model.services)
        self.windows.show_rows(self.console.counter_rows(), self.console.window_summary())

    def _counter_action(self, action: str) -> None:
        n = self.windows.selected()
        if n is None:
            self.show_message("manager.windows.pick", "error")
            return
        c = self.client
        requests = {
            "open": lambda: c.open_counter(n),
            "pause": lambda: c.pause_counter(n, str(self.windows.reason.currentData() or "")),
            "close": lambda: c.close_counter(n),
        }
        self.send(
            requests[action],
            success=f"manager.windows.done_{action}",
            counter=self._counter_name(n),
        )

    def save_skills(self) -> None:
        draft = self.windows.editor.draft
        if draft is None:
            return
        if not any(not s["overflow"] for s in draft.skills):
            self.show_message("manager.skills.need_one", "error")
            return
        n = draft.counter
        self.send(
            lambda: self.client.set_skills(n, draft.payload()),
            success="manager.skills.saved",
            counter=self._counter_name(n),
        )

    # ---- advice
    def load_advice(self) -> None:
        if not self.fetch:
            return

        def done(data: Any) -> None:
            self.advice_error = None
            self.console.advice = data if isinstance(data, dict) else None

        def failed(error: ApiError) -> None:
            self.advice_error = error_text(self.tr_, error)
            self._render_advice()

        self.send(self.client.staffing_advice, done, failed=failed)

    def show_advice(self, advice: Mapping[str, Any]) -> None:
        """Show advice fetched elsewhere (tests, screenshots)."""
        self.console.advice = advice
        self.advice_error = None
        self.update_view()

    def apply_move(self, move: Mapping[str, Any]) -> None:
        skills = self.console.move_skills(move)
        if skills is None:
            self.show_message("manager.error.not_available", "error")
            return
        n = int(move["counter"])
        self.send(
            lambda: self.client.set_skills(n, skills),
            success="manager.advice.move_done",
            counter=self._counter_name(n),
            service=self._service_name(str(move["to_service"])),
        )

    # ---- alerts, follow-ups, audit
    def acknowledge(self, alert_id: str) -> None:
        self.send(
            lambda: self.client.acknowledge_alert(alert_id), success="manager.alerts.acknowledged"
        )

    def save_followup(self, followup_id: int, note: str, resolved: bool) -> None:
        self.send(
            lambda: self.client.update_followup(followup_id, note, resolved),
            success="manager.followups.saved",
        )

    def load_alert_history(self, day: str | None = None) -> None:
        day = day or self.alerts.day()

        def failed(error: ApiError) -> None:
            self.alerts.show_history_error(error_text(self.tr_, error))

        self.send(lambda: self.client.alerts(day), self.alerts.show_history, failed=failed)

    def load_audit(self) -> None:
        def failed(error: ApiError) -> None:
            self.audit.show_error(error_text(self.tr_, error))

        self.send(lambda: self.client.audit(200), self.audit.show_entries, failed=failed)

    def closeEvent(self, event: QCloseEvent) -> None:
        for timer in (self._tick, self._advice_timer, self._grace, self._message_timer):
            timer.stop()
        super().closeEvent(event)
