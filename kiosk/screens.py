"""The kiosk's screens as widgets: each shows what it is given and emits what was tapped.

Screens hold no flow logic and talk to no server or device: `KioskWindow` (kiosk/app.py)
feeds them from the flow and the client's model and connects their signals to the flow.
All text comes from the catalogs (or from the server's per-language names via `pick`), and
every screen re-translates itself when the language changes.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

import qrcode
from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.i18n import Translator
from ui.widgets import (
    Banner,
    BigButton,
    LanguageToggle,
    LargeTextToggle,
    NumberDisplay,
    TextLabel,
    Tile,
)

from .flow import IssuedTicket, PrintState, ServiceChoice, guidance_for

# Additions to the app theme for the kiosk's own parts (cards, the clock, the QR frame),
# filled from the same variants.toml values so large text / high contrast applies too.
KIOSK_QSS = """
QFrame#kioskCard {
    background: ${surface};
    border: ${border_width} solid ${border};
    border-radius: ${radius};
}
QFrame#kioskCard QLabel { background: transparent; }
QLabel#clock { font-size: ${title_px}; font-weight: bold; color: ${accent}; }
QLabel#welcome { font-size: ${hero_px}; font-weight: bold; color: ${text}; }
QLabel#attractCall {
    font-size: ${title_px}; font-weight: bold; color: ${on_accent}; background: ${accent};
    border-radius: ${radius}; padding: ${pad} 64px;
}
QLabel#qr { background: #FFFFFF; border-radius: ${radius}; padding: 16px; }
QLabel#fallback {
    font-size: ${heading_px}; font-weight: bold; color: ${error_text}; background: ${error_bg};
    border: ${border_width} solid ${error_border}; border-radius: ${radius}; padding: ${pad};
}
QLabel#offlineBadge {
    font-size: ${number_px}; font-weight: bold; color: ${warning_border};
    background: transparent;
}
QLabel[role="item"] { font-size: ${heading_px}; }
QLabel[role="sub"] { font-size: ${heading_px}; font-weight: bold; color: ${accent}; }
BigButton#takeTicket { min-height: 140px; min-width: 520px; font-size: ${title_px}; }
"""


def kiosk_stylesheet(large: bool) -> str:
    """The kiosk's additions to the theme, in the normal or the large-text variant."""
    values = theme.variables(large)
    values["hero_px"] = f"{round(theme.pixels(large, 'title_px') * 1.5)}px"
    return string.Template(KIOSK_QSS).substitute(values)


def qr_pixmap(data: str, size_px: int) -> QPixmap:
    """A QR code of `data`, dark on white with its quiet zone, drawn crisp at `size_px`."""
    code = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()  # includes the quiet zone
    n = len(matrix)
    module = max(1, size_px // n)
    image = QImage(n * module, n * module, QImage.Format.Format_RGB32)
    image.fill(QColor("#FFFFFF"))
    painter = QPainter(image)
    dark = QColor("#000000")
    for y, row in enumerate(matrix):
        for x, on in enumerate(row):
            if on:
                painter.fillRect(QRect(x * module, y * module, module, module), dark)
    painter.end()
    return QPixmap.fromImage(image)


def _card() -> tuple[QFrame, QVBoxLayout]:
    card = QFrame()
    card.setObjectName("kioskCard")
    column = QVBoxLayout(card)
    column.setContentsMargins(36, 28, 36, 28)
    column.setSpacing(14)
    return card, column


def _label(name: str = "", role: str = "", *, wrap: bool = True) -> QLabel:
    label = QLabel()
    if name:
        label.setObjectName(name)
    if role:
        label.setProperty("role", role)
    label.setWordWrap(wrap)
    label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    return label


class KioskScreen(QWidget):
    """A full-screen page with the title bar every kiosk screen has (title + switches)."""

    def __init__(self, tr: Translator, title_key: str = "", **values: object) -> None:
        super().__init__()
        self.tr_ = tr
        self.setObjectName("screen")
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(56, 36, 56, 40)
        self.column.setSpacing(24)
        self.bar = QHBoxLayout()
        self.bar.setSpacing(16)
        self.title: TextLabel | None = None
        if title_key:
            self.title = TextLabel(title_key, "title", translator=tr)
            self.title.set_text(title_key, **values)
            self.bar.addWidget(self.title, 1)
        else:
            self.bar.addStretch(1)
        self.language = LanguageToggle(translator=tr)
        self.large_text = LargeTextToggle(translator=tr)
        self.bar_end = QHBoxLayout()
        self.bar_end.setSpacing(16)
        self.bar_end.addWidget(self.language)
        self.bar_end.addWidget(self.large_text)
        self.bar.addLayout(self.bar_end)
        self.column.addLayout(self.bar)
        tr.languageChanged.connect(lambda _: self.retranslate())

    def retranslate(self) -> None:
        """Texts the screen builds itself (catalog widgets follow the language alone)."""


class AttractScreen(KioskScreen):
    """Shown between customers: the branch, the time, how busy it is, "touch to start"."""

    started = Signal()

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr)
        self.clock = _label("clock", wrap=False)
        self.bar.insertWidget(0, self.clock, 1)
        self.column.addStretch(2)
        self.welcome = TextLabel("kiosk.attract.welcome", "title", centred=True, translator=tr)
        self.welcome.setObjectName("welcome")
        self.welcome.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.column.addWidget(self.welcome)
        self.column.addSpacing(24)
        self.call = TextLabel("kiosk.attract.touch_to_start", translator=tr)
        self.call.setObjectName("attractCall")
        self.call.setWordWrap(False)
        self.call.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.call.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.column.addWidget(self.call, 0, Qt.AlignmentFlag.AlignHCenter)
        self.column.addStretch(3)
        self.waiting_title = TextLabel("kiosk.attract.waiting_now", "heading", translator=tr)
        self.waiting_title.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.column.addWidget(self.waiting_title)
        self.counts = QHBoxLayout()
        self.counts.setSpacing(20)
        self.column.addLayout(self.counts)
        self._choices: list[ServiceChoice] = []

    def show_branch(self, name: str, clock: str, choices: Sequence[ServiceChoice]) -> None:
        self.welcome.set_text("kiosk.attract.welcome", branch=name)
        self.clock.setText(clock)
        if [(c.code, c.waiting) for c in choices] != [(c.code, c.waiting) for c in self._choices]:
            self._choices = list(choices)
            self._fill_counts()

    def set_clock(self, text: str) -> None:
        self.clock.setText(text)

    def _fill_counts(self) -> None:
        while self.counts.count():
            item = self.counts.takeAt(0)
            if item is not None and (w := item.widget()) is not None:
                w.deleteLater()
        for choice in self._choices:
            card, column = _card()
            card.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            name = _label(role="item")
            count = _label(role="sub")
            name.setProperty("names", dict(choice.names))
            count.setProperty("count", choice.waiting)
            column.addWidget(name)
            column.addWidget(count)
            self.counts.addWidget(card, 1)
        self.waiting_title.setVisible(bool(self._choices))
        self.retranslate()

    def retranslate(self) -> None:
        for card in self.findChildren(QFrame, "kioskCard"):
            labels = card.findChildren(QLabel)
            if len(labels) == 2:
                labels[0].setText(self.tr_.pick(labels[0].property("names") or {}))
                labels[1].setText(
                    self.tr_.tr("kiosk.home.waiting_count", count=labels[1].property("count"))
                )

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        # The switches take their own taps; a tap anywhere else starts.
        self.started.emit()
        super().mouseReleaseEvent(event)


class HomeScreen(KioskScreen):
    """One tile per business the kiosk offers, with its live wait."""

    chosen = Signal(str)
    back_requested = Signal()

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "kiosk.home.title")
        self.grid = QGridLayout()
        self.grid.setSpacing(24)
        self.column.addLayout(self.grid)
        self.column.addStretch(1)
        self.hint = TextLabel("kiosk.home.subtitle", "hint", translator=tr)
        self.column.addWidget(self.hint)
        buttons = QHBoxLayout()
        self.back = BigButton("common.back", "secondary", translator=tr)
        self.back.clicked.connect(self.back_requested)
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        self.column.addLayout(buttons)
        self.tiles: dict[str, Tile] = {}

    def show_services(self, choices: Sequence[ServiceChoice]) -> None:
        codes = [c.code for c in choices]
        if codes != list(self.tiles):
            for tile in self.tiles.values():
                self.grid.removeWidget(tile)
                tile.deleteLater()
            self.tiles = {}
            columns = 3 if len(choices) > 4 else 2
            for index, choice in enumerate(choices):
                tile = Tile(choice.names, code=choice.code, translator=self.tr_)
                tile.clicked.connect(lambda _=False, code=choice.code: self.chosen.emit(code))
                self.grid.addWidget(tile, index // columns, index % columns)
                self.tiles[choice.code] = tile
        for choice in choices:
            tile = self.tiles[choice.code]
            tile.set_names(choice.names)
            tile.set_wait(choice.wait_minutes)
            if choice.available != tile.isEnabled() or not choice.available:
                key, values = choice.reason
                tile.set_available(choice.available, key, **values)


class GuidanceScreen(KioskScreen):
    """What a business needs before the customer queues for it, and the ticket button."""

    take_ticket = Signal()
    back_requested = Signal()

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "kiosk.guidance.title", service="")
        body = QHBoxLayout()
        body.setSpacing(28)
        left, left_col = _card()
        right, right_col = _card()
        self.documents = self._section(left_col, "kiosk.guidance.documents")
        left_col.addSpacing(12)
        self.steps = self._section(left_col, "kiosk.guidance.steps")
        left_col.addStretch(1)
        self.where = self._section(right_col, "kiosk.guidance.where")
        right_col.addSpacing(12)
        self.alternative_title = TextLabel("kiosk.guidance.alternative", "heading", translator=tr)
        right_col.addWidget(self.alternative_title)
        self.alternative = _label(role="item")
        right_col.addWidget(self.alternative)
        right_col.addStretch(1)
        self.wait = _label(role="sub")
        right_col.addWidget(self.wait)
        body.addWidget(left, 3)
        body.addWidget(right, 2)
        self.column.addLayout(body, 1)
        self.error = Banner("kiosk.error.generic", "error", translator=tr)
        self.error.hide()
        self.column.addWidget(self.error)
        buttons = QHBoxLayout()
        self.back = BigButton("common.back", "secondary", translator=tr)
        self.back.clicked.connect(self.back_requested)
        self.take = BigButton("kiosk.guidance.take_ticket", "primary", translator=tr)
        self.take.setObjectName("takeTicket")
        self.take.clicked.connect(self.take_ticket)
        buttons.addWidget(self.back, 0, Qt.AlignmentFlag.AlignBottom)
        buttons.addStretch(1)
        buttons.addWidget(self.take)
        self.column.addLayout(buttons)
        self._service: Mapping[str, Any] = {}
        self._wait: int | None = None

    def _section(self, column: QVBoxLayout, key: str) -> QLabel:
        column.addWidget(TextLabel(key, "heading", translator=self.tr_))
        label = _label(role="item")
        column.addWidget(label)
        return label

    def show_service(
        self, service: Mapping[str, Any], wait_minutes: int | None, error_key: str | None
    ) -> None:
        self._service, self._wait = service, wait_minutes
        if error_key:
            self.error.set_message(error_key, "error")
        self.error.setVisible(bool(error_key))
        self.retranslate()

    def retranslate(self) -> None:
        name = self.tr_.pick(self._service.get("names") or {})
        if self.title is not None:
            self.title.set_text("kiosk.guidance.title", service=name)
        g = guidance_for(self._service, self.tr_.language)
        self.documents.setText("\n".join(f"•  {d}" for d in g["documents"]) or "—")
        self.steps.setText("\n".join(f"{i}.  {s}" for i, s in enumerate(g["steps"], 1)) or "—")
        self.where.setText(g["where"] or "—")
        self.alternative.setText(g["alternative"])
        self.alternative.setVisible(bool(g["alternative"]))
        self.alternative_title.setVisible(bool(g["alternative"]))
        if self._wait is None:
            self.wait.setText(self.tr_.tr("kiosk.home.wait_unknown"))
        elif self._wait <= 0:
            self.wait.setText(self.tr_.tr("kiosk.home.wait_none"))
        else:
            self.wait.setText(self.tr_.tr("kiosk.home.wait_minutes", minutes=self._wait))


class IssuingScreen(KioskScreen):
    """A moment while the server makes the ticket."""

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr)
        self.column.addStretch(1)
        self.message = TextLabel("kiosk.issuing", "title", centred=True, translator=tr)
        self.column.addWidget(self.message)
        self.column.addWidget(
            TextLabel("common.please_wait", "heading", centred=True, translator=tr)
        )
        self.column.addStretch(2)


class TicketScreen(KioskScreen):
    """The issued ticket: number, business, people ahead, wait, QR; printed or on screen."""

    done = Signal()
    QR_PX = 360

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "kiosk.ticket.title")
        body = QHBoxLayout()
        body.setSpacing(40)
        left = QVBoxLayout()
        left.setSpacing(8)
        left.addStretch(1)
        left.addWidget(
            TextLabel("kiosk.ticket.your_number", "heading", centred=True, translator=tr)
        )
        self.number = NumberDisplay()
        left.addWidget(self.number)
        self.service = _label(role="sub")
        self.service.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        left.addWidget(self.service)
        self.ahead = _label(role="item")
        self.ahead.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        left.addWidget(self.ahead)
        self.eta = _label(role="item")
        self.eta.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        left.addWidget(self.eta)
        left.addStretch(1)
        # A fixed-width column: a wrapping label given a centred *place* gets too little
        # height, so the hint fills this column's width and centres its own text.
        qr_column = QWidget()
        qr_column.setFixedWidth(self.QR_PX + 160)
        right = QVBoxLayout(qr_column)
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(12)
        right.addStretch(1)
        self.qr = _label("qr", wrap=False)
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        right.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignHCenter)
        self.qr_hint = TextLabel("kiosk.ticket.scan_screen", "hint", centred=True, translator=tr)
        right.addWidget(self.qr_hint)
        right.addStretch(1)
        body.addLayout(left, 1)
        body.addWidget(qr_column)
        self.column.addLayout(body, 1)
        self.fallback = _label("fallback")
        self.fallback.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.fallback.hide()
        self.column.addWidget(self.fallback)
        self.status = Banner("kiosk.ticket.printing", "info", translator=tr)
        self.column.addWidget(self.status)
        buttons = QHBoxLayout()
        self.countdown = _label(role="hint")
        self.finish = BigButton("common.done", "primary", translator=tr)
        self.finish.clicked.connect(self.done)
        buttons.addWidget(self.countdown, 1)
        buttons.addWidget(self.finish)
        self.column.addLayout(buttons)
        self.ticket: IssuedTicket | None = None
        self._names: Mapping[str, str] = {}
        self._seconds: int | None = None

    def show_ticket(self, ticket: IssuedTicket, names: Mapping[str, str]) -> None:
        if self.ticket is None or self.ticket.url != ticket.url:
            self.qr.setPixmap(qr_pixmap(ticket.url, self.QR_PX))
        self.ticket, self._names = ticket, names
        self.number.set_number(ticket.number)
        failed = ticket.print_state is PrintState.FAILED
        if ticket.print_state is PrintState.PRINTING:
            self.status.set_message("kiosk.ticket.printing", "info")
        elif ticket.print_state is PrintState.PRINTED:
            self.status.set_message("kiosk.ticket.take_ticket", "info")
        else:
            self.status.set_message("kiosk.printer.staff_notified_problem", "warning")
        self.fallback.setVisible(failed)
        self.retranslate()

    def set_countdown(self, seconds: int | None) -> None:
        self._seconds = seconds
        self._retranslate_countdown()

    def _retranslate_countdown(self) -> None:
        if self._seconds is None:
            self.countdown.setText("")
        else:
            self.countdown.setText(self.tr_.tr("common.returning_home", seconds=self._seconds))

    def retranslate(self) -> None:
        self._retranslate_countdown()
        ticket = self.ticket
        if ticket is None:
            return
        self.service.setText(self.tr_.pick(self._names) or ticket.service)
        if ticket.people_ahead > 0:
            self.ahead.setText(self.tr_.tr("kiosk.ticket.people_ahead", count=ticket.people_ahead))
        else:
            self.ahead.setText(self.tr_.tr("kiosk.ticket.none_ahead"))
        minutes = ticket.eta_minutes
        if minutes is None:
            self.eta.setText(self.tr_.tr("kiosk.ticket.eta_unknown"))
        elif minutes <= 1:
            self.eta.setText(self.tr_.tr("kiosk.ticket.eta_soon"))
        else:
            self.eta.setText(self.tr_.tr("kiosk.ticket.eta", minutes=minutes))
        self.eta.setVisible(ticket.people_ahead > 0 or minutes is None)
        self.fallback.setText(self.tr_.tr("kiosk.printer.fallback", number=ticket.number))
        if ticket.print_state is PrintState.FAILED:
            problem = self.tr_.tr(ticket.problem_key or "kiosk.printer.problem")
            self.status.set_message(
                "kiosk.printer.staff_notified_problem",
                "warning",
                problem=problem,
            )


class OfflineScreen(KioskScreen):
    """The queue server cannot be reached: say so kindly and send people to the staff."""

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr)
        self.column.addStretch(2)
        badge = _label("offlineBadge", wrap=False)
        badge.setText("!")
        badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.column.addWidget(badge)
        self.column.addWidget(
            TextLabel("kiosk.offline.title", "title", centred=True, translator=tr)
        )
        self.column.addWidget(
            TextLabel("kiosk.offline.ask_staff", "heading", centred=True, translator=tr)
        )
        self.column.addSpacing(16)
        self.column.addWidget(TextLabel("kiosk.offline.body", "body", centred=True, translator=tr))
        self.column.addStretch(3)
        self.column.addWidget(
            TextLabel("kiosk.offline.retrying", "hint", centred=True, translator=tr)
        )
