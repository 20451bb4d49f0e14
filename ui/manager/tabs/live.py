"""The Live tab: per business a card coloured against its target, per counter a table row."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QVBoxLayout, QWidget

from ui.i18n import Translator
from ui.manager.console import BusinessRow, CounterRow
from ui.manager.widgets import Table
from ui.widgets import TextLabel, card, counter_title, duration, label, minutes, restyle

PAUSE_REASONS = ("lunch", "break", "meeting", "cash", "other")


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
            t.tr(
                "manager.live.share_tip",
                count=row.called_today,
                within=row.within_today,
                late=row.overdue_waiting,
            )
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
        if self.cards and self._per_row() != self.per_row:
            self._place_cards()

    def _per_row(self) -> int:
        """As many cards a row as fit whole (their text is longer in English), and rows
        of equal length: 7 → one row of 7, or 4 + 3, or 3 + 3 + 1 …"""
        if not self.isVisible():
            # Not laid out yet, so its width says nothing: two rows, which fit a 1366 px
            # screen, until the first resize tells.
            return -(-len(self.cards) // 2)
        need = max(each.minimumSizeHint().width() for each in self.cards.values())
        spacing = self.grid.horizontalSpacing()
        fits = max(1, (self.width() + spacing) // (need + spacing))
        rows = -(-len(self.cards) // fits)
        return -(-len(self.cards) // rows)

    def _place_cards(self) -> None:
        self.per_row = per_row = self._per_row()
        for business in self.cards.values():
            self.grid.removeWidget(business)
        for i, business in enumerate(self.cards.values()):
            self.grid.addWidget(business, i // per_row, i % per_row)

    def show_rows(self, businesses: list[BusinessRow], counters: list[CounterRow]) -> None:
        t = self.tr_
        self._last = (businesses, counters)
        codes = [b.code for b in businesses]
        if list(self.cards) != codes:
            for old in self.cards.values():
                old.setParent(None)
                old.deleteLater()
            self.cards = {code: BusinessCard(t) for code in codes}
        for row in businesses:
            self.cards[row.code].show_row(row)
        if self.cards and (self.per_row == 0 or self._per_row() != self.per_row):
            self._place_cards()
        self.counters.retranslate()
        self.counters.setRowCount(len(counters))
        for r, c in enumerate(counters):
            name = counter_title(t, c.number, c.name)
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
            self.counters.set_cell(r, 2, c.teller or t.tr("manager.counter.nobody"))
            self.counters.set_cell(r, 3, customer)
            self.counters.set_cell(r, 4, duration(t, c.customer_for_s, "manager.duration"))
            self.counters.set_cell(r, 5, duration(t, c.idle_s, "manager.duration"))
            self.counters.set_cell(r, 6, c.skill_text)
