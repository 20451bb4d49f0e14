"""The waiting panel: who waits for this counter's businesses, and who is next."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from ui.counter.session import CounterView
from ui.i18n import Translator
from ui.widgets import TextLabel, label, minutes, restyle


class WaitingPanel(QFrame):
    """The queues of the businesses this counter serves, and who comes next."""

    def __init__(self, tr: Translator) -> None:
        super().__init__()
        self.setObjectName("counterCard")
        self.tr_ = tr
        column = QVBoxLayout(self)
        column.setContentsMargins(16, 12, 16, 12)
        column.setSpacing(6)
        column.addWidget(TextLabel("counter.waiting.title", "heading", translator=tr))
        # A counter serving many businesses lists them all: they scroll rather than push
        # the window past a 1366×768 screen when a banner or two is showing.
        body = QWidget()
        body.setObjectName("waitingBody")
        rows = QVBoxLayout(body)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(6)
        self.grid = QGridLayout()
        self.grid.setVerticalSpacing(0)
        rows.addLayout(self.grid)
        self.targeted = label("waitingTargeted", "hint")
        rows.addWidget(self.targeted)
        rows.addWidget(TextLabel("counter.next_up", "hint", translator=tr))
        self.next_up = label("nextUp")
        rows.addWidget(self.next_up)
        rows.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("waitingScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        column.addWidget(scroll, 1)
        self.rows: list[tuple[QLabel, QLabel]] = []

    def show_view(self, view: CounterView, service_names: Callable[[str], str]) -> None:
        t = self.tr_
        # Two lines a business: its name, then the figures (narrow enough for 1366 px).
        while len(self.rows) < len(view.waiting):
            name, figures = label("waitingService"), label("waitingLongest")
            figures.setWordWrap(False)
            self.grid.addWidget(name, 2 * len(self.rows), 0)
            self.grid.addWidget(figures, 2 * len(self.rows) + 1, 0)
            self.rows.append((name, figures))
        for index, (name, figures) in enumerate(self.rows):
            if index >= len(view.waiting):
                name.hide()
                figures.hide()
                continue
            w = view.waiting[index]
            overflow = " " + t.tr("counter.waiting.overflow") if w.overflow else ""
            name.setText(f"{w.service}  {t.pick(w.names)}{overflow}")
            text = t.tr("counter.waiting.count", count=w.waiting)
            if w.waiting:
                text += " · " + t.tr("counter.waiting.longest", minutes=minutes(w.longest_wait_s))
            if w.over_target:
                text += " · " + t.tr("counter.waiting.over_target")
            figures.setText(text)
            restyle(figures, "over", "yes" if w.over_target else "no")
            name.show()
            figures.show()
        self.targeted.setVisible(view.targeted > 0)
        self.targeted.setText(t.tr("counter.targeted", count=view.targeted))
        if view.next_up:
            lines = [
                f"{n['number']}  {service_names(n['service'])}  ·  "
                + t.tr(f"priority.{n.get('priority') or 'regular'}")
                for n in view.next_up
            ]
            self.next_up.setText("\n".join(lines))
        else:
            self.next_up.setText(t.tr("counter.none_waiting"))
