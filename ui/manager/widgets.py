"""The manager console's own widgets: the status-coloured table and short times (the
labels, cards and durations every staff screen uses are in `ui.widgets`)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
)

from ui.i18n import Translator
from ui.model.isotime import parse_time

# Table cells coloured by status (the staff palette's soft red, amber, green, grey).
CELL_COLOURS = {"over": "#FCE8E6", "near": "#FFF3DC", "ok": "#E6F4EA", "closed": "#E4E8ED"}


class Table(QTableWidget):
    """A read-only table whose headers are catalog keys, re-translated on demand."""

    def __init__(
        self,
        tr: Translator,
        headers: Sequence[str],
        name: str = "managerTable",
        stretch: int | None = None,
    ):
        super().__init__(0, len(headers))
        self.setObjectName(name)
        self.tr_ = tr
        self.header_keys = list(headers)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # One column takes the spare width (default the last); buttons keep their size.
        if stretch is None:
            header.setStretchLastSection(True)
        else:
            header.setStretchLastSection(False)
            header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
        self.retranslate()

    def retranslate(self) -> None:
        self.setHorizontalHeaderLabels([self.tr_.tr(k) for k in self.header_keys])

    def set_rows(self, rows: Sequence[Sequence[str]]) -> None:
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.set_cell(r, c, text)

    def center_figures(self, row: int, first: int = 1) -> None:
        """Centre the row's cells from column `first` on: the figures beside a name."""
        for c in range(first, self.columnCount()):
            item = self.item(row, c)
            if item is not None:
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)

    def set_cell(self, row: int, column: int, text: str, state: str | None = None) -> None:
        item = self.item(row, column)
        if item is None:
            item = QTableWidgetItem()
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.setItem(row, column, item)
        item.setText(text)
        if state is not None:
            item.setData(Qt.ItemDataRole.UserRole, state)
            if state in CELL_COLOURS:
                item.setBackground(QBrush(QColor(CELL_COLOURS[state])))
            else:
                item.setBackground(QBrush())

    def text_at(self, row: int, column: int) -> str:
        item = self.item(row, column)
        return item.text() if item is not None else ""


def short_time(text: Any, timezone: str | None = None) -> str:
    """`MM-DD HH:MM` of an ISO time on the branch's clock (`timezone`, from the snapshot):
    the server may write a time in UTC, and this PC's own zone says nothing of the branch."""
    s = str(text or "")
    moment = parse_time(s) if timezone else None
    if moment is not None and timezone:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            return moment.astimezone(ZoneInfo(timezone)).strftime("%m-%d %H:%M")
    return f"{s[5:10]} {s[11:16]}" if len(s) >= 16 else (s or "—")
