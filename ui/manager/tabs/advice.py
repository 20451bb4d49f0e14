"""The Advice tab: recommended windows per business now and in the coming hours, and the
moves that get there, each one click."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QPushButton, QVBoxLayout, QWidget

from ui.client import ApiError
from ui.i18n import Translator
from ui.manager.actions import ConsoleActions
from ui.manager.console import AdviceView, BranchConsole
from ui.manager.widgets import Table
from ui.widgets import BigButton, TextLabel, label


class AdviceTab(QWidget):
    """Recommended windows per business now and in the coming hours; one-click moves."""

    def __init__(
        self, tr: Translator, actions: ConsoleActions, console: BranchConsole, hours: int = 3
    ) -> None:
        super().__init__()
        self.tr_ = tr
        self.console_actions = actions
        self.console = console
        self.error: str | None = None  # why the last read of the advice failed
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
        self.refresh.clicked.connect(self.load)

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
            self.table.center_figures(r)
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
                button.clicked.connect(lambda _=False, move=move: self.apply_move(move))
            self.moves.setCellWidget(r, 4, button)
            self.apply_buttons.append(button)

    # ---- requests
    def redraw(self) -> None:
        """Show the console's advice as it stands (or why it could not be read)."""
        a = self.console_actions
        c = self.console
        self.show_advice(c.advice_view(), a.service_name, a.counter_name, c.move_done, self.error)

    def load(self) -> None:
        a = self.console_actions
        if not a.fetch:
            return

        def done(data: Any) -> None:
            self.error = None
            self.console.advice = data if isinstance(data, dict) else None

        def failed(error: ApiError) -> None:
            self.error = a.error_text(error)
            self.redraw()

        a.send(a.client.staffing_advice, done, failed=failed)

    def apply_move(self, move: Mapping[str, Any]) -> None:
        a = self.console_actions
        skills = self.console.move_skills(move)
        if skills is None:
            a.show_message("manager.error.not_available", "error")
            return
        n = int(move["counter"])
        a.send(
            lambda: a.client.set_skills(n, skills),
            success="manager.advice.move_done",
            counter=a.counter_name(n),
            service=a.service_name(str(move["to_service"])),
        )


def _clock(text: str) -> str:
    """The HH:MM of an ISO time as the server wrote it (the branch's own offset)."""
    return text[11:16] if len(text) >= 16 else text
