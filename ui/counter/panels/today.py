"""The today panel: this counter's figures for the business day so far."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout

from ui.i18n import Translator
from ui.widgets import TextLabel, duration, label


class TodayPanel(QFrame):
    """This counter's figures for the business day, from the server."""

    FIGURES = ("served", "avg_service", "no_shows", "transfers", "rating")

    def __init__(self, tr: Translator) -> None:
        super().__init__()
        self.setObjectName("counterCard")
        self.tr_ = tr
        column = QVBoxLayout(self)
        column.setContentsMargins(16, 12, 16, 12)
        column.setSpacing(6)
        column.addWidget(TextLabel("counter.today.title", "heading", translator=tr))
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        self.values: dict[str, QLabel] = {}
        for index, name in enumerate(self.FIGURES):
            caption = TextLabel(f"counter.today.{name}", "hint", translator=tr)
            value = label(f"today_{name}")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(caption, index, 0)
            grid.addWidget(value, index, 1)
            self.values[name] = value
        grid.setColumnStretch(1, 1)
        column.addLayout(grid)

    def show_today(self, today: Mapping[str, Any] | None) -> None:
        t = self.tr_
        none = t.tr("counter.today.none")
        if today is None:
            for value in self.values.values():
                value.setText(none)
            return
        self.values["served"].setText(str(today.get("served", 0)))
        self.values["avg_service"].setText(
            duration(
                t, today.get("avg_service_s"), "counter.duration", none, short_key="counter.seconds"
            )
        )
        self.values["no_shows"].setText(str(today.get("no_shows", 0)))
        self.values["transfers"].setText(str(today.get("transfers_out", 0)))
        ratings = today.get("ratings") or {}
        count = sum(int(n) for n in ratings.values())
        average = today.get("rating_avg")
        self.values["rating"].setText(
            t.tr("counter.today.rating_value", average=f"{average:.1f}", count=count)
            if average is not None and count
            else none
        )
