"""The Windows tab: open, pause or close counters, and edit which businesses each serves."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.i18n import Translator
from ui.manager.actions import ConsoleActions
from ui.manager.console import BranchConsole, CounterRow, SkillsDraft
from ui.manager.tabs.live import PAUSE_REASONS
from ui.manager.widgets import Table
from ui.widgets import BigButton, TextLabel, card, label


class SkillsEditor(QWidget):
    """The businesses one counter serves, in order: up / down, a labelled 支援 (overflow)
    box on each, add, remove; save and undo once something has changed."""

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
        self.overflow_boxes: dict[str, QCheckBox] = {}
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
        frame, column = card("managerCard")
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
        self.overflow_boxes = {}
        for i, skill in enumerate(draft.skills):
            code = skill["service"]
            item = QListWidgetItem(f"{i + 1}. {code}  {self.names(code)}")
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsDragEnabled)
            self.list.addItem(item)
            self.list.setItemWidget(item, self._overflow_box(code, bool(skill["overflow"])))
        if select is not None and 0 <= select < self.list.count():
            self.list.setCurrentRow(select)
        self.list.blockSignals(False)
        self.add_choice.clear()
        for code in getattr(self, "services", {}):
            if code not in draft.codes():
                self.add_choice.addItem(f"{code}  {self.names(code)}", code)
        self.add.setEnabled(self.add_choice.count() > 0)
        self.show_changed()

    def show_changed(self) -> None:
        """Save and undo only when the draft differs from what the server holds."""
        changed = self.draft is not None and self.draft.changed
        self.save.setEnabled(changed)
        self.revert.setEnabled(changed)

    def _overflow_box(self, code: str, overflow: bool) -> QWidget:
        # The box sits at the row's right over a see-through strip: the list still paints
        # the row's name and selection beneath it, and takes the clicks and drags that
        # land beside the box (a plain widget passes them on to its parent).
        box = QCheckBox(self.tr_.tr("manager.skills.overflow"))
        box.setObjectName("overflowBox")
        box.setChecked(overflow)
        box.setToolTip(self.tr_.tr("manager.skills.overflow_hint"))
        box.toggled.connect(lambda on, code=code: self._set_overflow(code, on))
        self.overflow_boxes[code] = box
        strip = QWidget()
        row = QHBoxLayout(strip)
        row.setContentsMargins(0, 0, 8, 0)
        row.addStretch(1)
        row.addWidget(box)
        return strip

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

    def _set_overflow(self, code: str, overflow: bool) -> None:
        if self.draft is not None and code in self.draft.codes():
            self.draft.set_overflow(self.draft.codes().index(code), overflow)
            self.show_changed()

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

    def __init__(self, tr: Translator, actions: ConsoleActions, console: BranchConsole) -> None:
        super().__init__()
        self.tr_ = tr
        self.console_actions = actions
        self.console = console
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
        self.table.itemSelectionChanged.connect(self.counter_selected)
        self.open_button.clicked.connect(lambda: self.counter_action("open"))
        self.pause_button.clicked.connect(lambda: self.counter_action("pause"))
        self.close_button.clicked.connect(lambda: self.counter_action("close"))
        self.editor.save.clicked.connect(self.save_skills)
        self.editor.revert.clicked.connect(self.counter_selected)
        self.editor.names = actions.service_name

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
            self.table.set_cell(r, 2, c.teller or t.tr("manager.counter.nobody"))
            self.table.set_cell(r, 3, c.skill_text)
        chosen = next((c for c in counters if c.number == self.selected()), None)
        self.open_button.setEnabled(chosen is not None and chosen.state != "open")
        self.pause_button.setEnabled(chosen is not None and chosen.state == "open")
        self.close_button.setEnabled(chosen is not None and chosen.state != "closed")

    # ---- requests
    def counter_selected(self) -> None:
        """Edit the chosen counter's skills afresh (on a pick, a revert, a new snapshot)."""
        n = self.selected()
        model = self.console_actions.client.model
        counter = model.counters.get(n) if n is not None else None
        draft = SkillsDraft.of(n, counter.get("skills", [])) if n is not None and counter else None
        self.editor.edit(draft, model.services)
        self.show_rows(self.console.counter_rows(), self.console.window_summary())

    def counter_action(self, action: str) -> None:
        a = self.console_actions
        n = self.selected()
        if n is None:
            a.show_message("manager.windows.pick", "error")
            return
        c = a.client
        requests = {
            "open": lambda: c.open_counter(n),
            "pause": lambda: c.pause_counter(n, str(self.reason.currentData() or "")),
            "close": lambda: c.close_counter(n),
        }
        a.send(
            requests[action],
            success=f"manager.windows.done_{action}",
            counter=a.counter_name(n),
        )

    def save_skills(self) -> None:
        a = self.console_actions
        draft = self.editor.draft
        if draft is None:
            return
        if not any(not s["overflow"] for s in draft.skills):
            a.show_message("manager.skills.need_one", "error")
            return
        n, payload = draft.counter, draft.payload()

        def saved(_: Any) -> None:
            draft.mark_saved(payload)
            if draft is self.editor.draft:
                self.editor.show_changed()

        a.send(
            lambda: a.client.set_skills(n, payload),
            saved,
            success="manager.skills.saved",
            counter=a.counter_name(n),
        )
