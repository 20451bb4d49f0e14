"""Small widgets and helpers the manager console's tabs share (tables, cards, texts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.i18n import Translator

# Table cells coloured by status (the staff palette's soft red, amber, green, grey).
CELL_COLOURS = {"over": "#FCE8E6", "near": "#FFF3DC", "ok": "#E6F4EA", "closed": "#E4E8ED"}


def label(name: str = "", role: str | None = None, *, wrap: bool = True) -> QLabel:
    widget = QLabel()
    if name:
        widget.setObjectName(name)
    if role:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    return widget


def restyle(widget: QWidget, name: str, value: str) -> None:
    """Set a dynamic property the stylesheet selects on, and re-match the rules."""
    if widget.property(name) != value:
        widget.setProperty(name, value)
        widget.style().unpolish(widget)
        widget.style().polish(widget)
        for child in widget.findChildren(QWidget):
            child.style().unpolish(child)
            child.style().polish(child)


def card(name: str = "managerCard") -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setObjectName(name)
    column = QVBoxLayout(frame)
    column.setContentsMargins(14, 10, 14, 10)
    column.setSpacing(4)
    return frame, column


def minutes(seconds: float | None) -> int:
    return max(0, int(seconds or 0)) // 60


def duration(tr: Translator, seconds: float | None) -> str:
    """`12:05` style minutes and seconds, or a dash for unknown."""
    if seconds is None:
        return "—"
    whole = max(0, round(seconds))
    return tr.tr("manager.duration", minutes=whole // 60, seconds=f"{whole % 60:02d}")


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


def short_time(text: Any) -> str:
    """`MM-DD HH:MM` of an ISO time as the server wrote it (the branch's offset)."""
    s = str(text or "")
    return f"{s[5:10]} {s[11:16]}" if len(s) >= 16 else (s or "—")
