"""The kiosk's smaller screens: priority, ID card, appointment, a check-in notice, and the
staff's PIN and maintenance screens. Like kiosk/screens.py, they show what they are given
and emit what was tapped; `KioskWindow` wires them to the flow.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QGridLayout, QLabel, QLineEdit, QSizePolicy, QWidget

from kiosk.flow import CARE_KINDS
from kiosk.screens import KioskScreen, _card, _label
from ui import theme
from ui.i18n import Translator
from ui.reflow import ReflowLayout
from ui.widgets import Banner, BigButton, TextLabel

VOLUME_STEP = 10


class PriorityScreen(KioskScreen):
    """ "Do you need priority service?": senior, disability, pregnancy, or a regular ticket."""

    declared = Signal(object)  # a kind from CARE_KINDS, or None
    back_requested = Signal()

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "kiosk.priority.title")
        self.column.addWidget(TextLabel("kiosk.priority.explain", "heading", translator=tr))
        # Two by two, or one above the other where two do not fit side by side.
        grid = ReflowLayout(cell_width=theme.pixels(False, "card_min_w"), max_columns=2)
        self.choices: dict[str | None, BigButton] = {}
        for kind in (*CARE_KINDS, None):
            key = f"kiosk.priority.{kind or 'none'}"
            button = BigButton(key, "primary" if kind else "secondary", translator=tr)
            button.setObjectName("choice")
            button.clicked.connect(lambda _=False, k=kind: self.declared.emit(k))
            grid.addWidget(button)
            self.choices[kind] = button
        self.column.addLayout(grid)
        self.column.addWidget(TextLabel("kiosk.priority.verify_age", "hint", translator=tr))
        self.column.addStretch(1)
        self.back = BigButton("common.back", "secondary", translator=tr)
        self.back.clicked.connect(self.back_requested)
        self.action_bar.add(self.back, "start")


class InstructionScreen(KioskScreen):
    """An instruction in big type (with a `picture` of what to do, if any) and a way back:
    ID card, appointment QR."""

    back_requested = Signal()

    def __init__(
        self,
        tr: Translator,
        title_key: str,
        lines: Sequence[tuple[str, str]],
        picture: QWidget | None = None,
    ) -> None:
        super().__init__(tr, title_key)
        card, column = _card()
        for key, role in lines:
            column.addWidget(TextLabel(key, role, translator=tr))
        self.column.addStretch(1)
        if picture is None:
            self.column.addWidget(card)
        else:
            # Beside the words on a wide screen, above them in portrait.
            self.picture = picture
            row = ReflowLayout(cell_width=theme.pixels(False, "card_min_w"), max_columns=2)
            row.addWidget(picture)
            row.addWidget(card)
            self.column.addLayout(row)
        self.status = Banner("kiosk.idcard.failed", "error", translator=tr)
        self.status.hide()
        self.column.addWidget(self.status)
        self.column.addStretch(2)
        self.back = BigButton("common.back", "secondary", translator=tr)
        self.back.clicked.connect(self.back_requested)
        self.action_bar.add(self.back, "start")

    def show_problem(self, key: str | None) -> None:
        if key:
            self.status.set_message(key, "error")
        self.status.setVisible(bool(key))


def _pen(colour: QColor, width: float) -> QPen:
    pen = QPen(colour, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen


class CardOnReader(QWidget):
    """A drawing of an ID card laid flat on the reader, photo side up: where the card goes
    says more to someone who has never used the kiosk than a sentence does. Drawn in the
    theme's colours, so it follows the large, high-contrast text."""

    CARD_RATIO = 85.6 / 54.0  # an ID card, ISO/IEC 7810 ID-1

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("cardOnReader")
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        theme.theme_state().largeTextChanged.connect(self._follow_text_size)

    def _follow_text_size(self, _large: bool) -> None:
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(560, 360)

    def paintEvent(self, event: QPaintEvent) -> None:
        colours = theme.variables(theme.is_large_text())
        accent, text = QColor(colours["accent"]), QColor(colours["text"])
        surface, soft = QColor(colours["surface"]), QColor(colours["accent_soft"])
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        # The reader: a pad at the bottom, wider than the card.
        h = min(float(self.height()), self.width() / 1.6)
        w = h * 1.6
        left, top = (self.width() - w) / 2, (self.height() - h) / 2
        pad = QRectF(left, top + h * 0.52, w, h * 0.46)
        painter.setPen(QPen(text, 4))
        painter.setBrush(soft)
        painter.drawRoundedRect(pad, 24, 24)
        # Contact-less waves on the pad's right, where the card does not cover them.
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(_pen(accent, 5))
        centre = QPointF(pad.right() - pad.width() * 0.1, pad.center().y())
        for radius in (0.1, 0.18, 0.26):
            r = pad.height() * radius
            painter.drawArc(
                QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r), 120 * 16, 120 * 16
            )
        # The card, about to land on the pad.
        card_h = h * 0.5
        card = QRectF(left + w * 0.12, top + h * 0.06, card_h * self.CARD_RATIO, card_h)
        painter.setPen(QPen(accent, 5))
        painter.setBrush(surface)
        painter.drawRoundedRect(card, 14, 14)
        photo = QRectF(
            card.right() - card.width() * 0.32,
            card.top() + card.height() * 0.16,
            card.width() * 0.24,
            card.height() * 0.62,
        )
        painter.setPen(QPen(accent, 3))
        painter.setBrush(soft)
        painter.drawRect(photo)
        painter.setPen(_pen(text, 6))
        for i, length in enumerate((0.42, 0.34, 0.46, 0.3)):
            y = card.top() + card.height() * (0.24 + 0.17 * i)
            x = card.left() + card.width() * 0.08
            painter.drawLine(QPointF(x, y), QPointF(x + card.width() * length, y))
        # Down onto the pad.
        tip = QPointF(card.center().x(), pad.top() + pad.height() * 0.45)
        tail = QPointF(tip.x(), card.bottom() + h * 0.04)
        painter.setPen(_pen(accent, 8))
        painter.drawLine(tail, QPointF(tip.x(), tip.y() - h * 0.05))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(accent)
        a = h * 0.06
        painter.drawPolygon(
            QPolygonF([tip, QPointF(tip.x() - a, tip.y() - a), QPointF(tip.x() + a, tip.y() - a)])
        )
        painter.end()


class IdCardScreen(InstructionScreen):
    def __init__(self, tr: Translator) -> None:
        super().__init__(
            tr,
            "kiosk.idcard.title",
            [("kiosk.idcard.why", "title"), ("kiosk.idcard.privacy", "heading")],
            picture=CardOnReader(),
        )
        self.back.set_text("kiosk.idcard.skip")


class AppointmentScreen(InstructionScreen):
    def __init__(self, tr: Translator) -> None:
        super().__init__(
            tr,
            "kiosk.qr.title",
            [("kiosk.qr.how", "title"), ("kiosk.qr.staff_help", "heading")],
        )


class NoticeScreen(KioskScreen):
    """Why a scanned QR did not check the customer in, and what to do instead."""

    ok = Signal()

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "kiosk.qr.notice_title")
        self.column.addStretch(1)
        card, column = _card()
        card.setObjectName("noticeCard")
        self.message = TextLabel("kiosk.qr.failed", "title", centred=True, translator=tr)
        column.addWidget(self.message)
        self.column.addWidget(card)
        self.column.addStretch(2)
        # The screen's one way on: as big as 取号, not a small button in a corner.
        self.ok_button = BigButton("kiosk.qr.take_regular", "primary", translator=tr)
        self.ok_button.setObjectName("noticeOk")
        self.ok_button.clicked.connect(self.ok)
        self.action_bar.add(self.ok_button, "end", fill_when_wrapped=True)

    def show_notice(self, key: str, values: dict[str, object]) -> None:
        self.message.set_text(key, **values)


class PinScreen(KioskScreen):
    """Staff only: the maintenance PIN, on a keypad big enough for a finger."""

    entered = Signal(str)
    cancelled = Signal()

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "kiosk.maintenance.pin_title")
        self.field = QLineEdit()
        self.field.setObjectName("pinField")
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setMaxLength(12)
        self.field.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.field.returnPressed.connect(self._submit)
        self.column.addWidget(self.field, 0, Qt.AlignmentFlag.AlignHCenter)
        self.error = Banner("kiosk.maintenance.wrong_pin", "error", translator=tr)
        self.error.hide()
        self.column.addWidget(self.error)
        pad = QGridLayout()
        pad.setSpacing(16)
        self.keys: dict[str, BigButton] = {}
        for index, digit in enumerate("123456789"):
            self._add_key(pad, digit, index // 3, index % 3)
        self._add_key(pad, "0", 3, 1)
        self.clear = BigButton("kiosk.maintenance.clear", "secondary", translator=tr)
        self.clear.clicked.connect(self.field.clear)
        pad.addWidget(self.clear, 3, 0)
        self.enter = BigButton("common.ok", "primary", translator=tr)
        self.enter.clicked.connect(self._submit)
        pad.addWidget(self.enter, 3, 2)
        self.column.addLayout(pad)
        self.column.addStretch(1)
        self.cancel = BigButton("common.cancel", "secondary", translator=tr)
        self.cancel.clicked.connect(self.cancelled)
        self.action_bar.add(self.cancel, "start")

    def _add_key(self, pad: QGridLayout, digit: str, row: int, column: int) -> None:
        button = BigButton("kiosk.maintenance.digit", "secondary", translator=self.tr_, d=digit)
        button.setObjectName("pinKey")
        button.clicked.connect(lambda _=False: self.field.insert(digit))
        pad.addWidget(button, row, column)
        self.keys[digit] = button

    def _submit(self) -> None:
        pin = self.field.text()
        self.field.clear()
        self.entered.emit(pin)

    def show_error(self, key: str | None) -> None:
        if key:
            self.error.set_message(key, "error")
        self.error.setVisible(bool(key))
        if not key:
            self.field.clear()


class MaintenanceScreen(KioskScreen):
    """Staff only: how the kiosk's server link and devices are, a test print, the speaker's
    volume and a test sound, the way out."""

    test_print = Signal()
    check_paper = Signal()
    test_sound = Signal()
    volume_step = Signal(int)  # + or - VOLUME_STEP
    leave = Signal()
    exit_requested = Signal()

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "kiosk.maintenance.staff_title")
        card, column = _card()
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(32)
        self.grid.setVerticalSpacing(12)
        column.addLayout(self.grid)
        self.column.addWidget(card)
        self.result = Banner("kiosk.maintenance.test_print_sent", "info", translator=tr)
        self.result.hide()
        self.column.addWidget(self.result)
        self.print_button = BigButton("kiosk.maintenance.test_print", "primary", translator=tr)
        self.print_button.clicked.connect(self.test_print)
        self.paper_button = BigButton("kiosk.maintenance.check_paper", "secondary", translator=tr)
        self.paper_button.clicked.connect(self.check_paper)
        # The voice prompts' speaker: shown only when the kiosk has one.
        # Four side by side, or two by two on a narrow screen.
        sound = ReflowLayout(cell_width=theme.pixels(False, "button_min_w"), max_columns=4)
        self.volume_down = BigButton("kiosk.maintenance.volume_down", "secondary", translator=tr)
        self.volume_down.clicked.connect(lambda: self.volume_step.emit(-VOLUME_STEP))
        self.volume = TextLabel("kiosk.maintenance.volume", "heading", translator=tr, level=0)
        self.volume_up = BigButton("kiosk.maintenance.volume_up", "secondary", translator=tr)
        self.volume_up.clicked.connect(lambda: self.volume_step.emit(VOLUME_STEP))
        self.sound_button = BigButton("kiosk.maintenance.test_sound", "secondary", translator=tr)
        self.sound_button.clicked.connect(self.test_sound)
        for widget in (self.volume_down, self.volume, self.volume_up, self.sound_button):
            sound.addWidget(widget)
        self.column.addLayout(sound)
        self.column.addStretch(1)
        self.show_volume(None)
        self.leave_button = BigButton("kiosk.maintenance.leave", "primary", translator=tr)
        self.leave_button.clicked.connect(self.leave)
        self.exit_button = BigButton("kiosk.maintenance.exit", "secondary", translator=tr)
        self.exit_button.clicked.connect(self.exit_requested)
        self.action_bar.add(self.leave_button, "start")
        self.action_bar.add(self.print_button, "middle")
        self.action_bar.add(self.paper_button, "middle")
        self.action_bar.add(self.exit_button, "end")
        self._rows: list[tuple[str, str, str]] = []

    def show_status(self, rows: Sequence[tuple[str, str, str]]) -> None:
        """Rows of (catalog key of the part, its state's catalog key, a detail as is)."""
        if list(rows) == self._rows:
            return
        self._rows = list(rows)
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item is not None and (widget := item.widget()) is not None:
                widget.deleteLater()
        for index, (part, state, detail) in enumerate(self._rows):
            self.grid.addWidget(TextLabel(part, "heading", translator=self.tr_), index, 0)
            self.grid.addWidget(TextLabel(state, "body", translator=self.tr_), index, 1)
            label: QLabel = _label(role="hint")
            label.setText(detail)
            self.grid.addWidget(label, index, 2)
        self.grid.setColumnStretch(2, 1)

    def show_result(self, key: str | None, kind: str = "info") -> None:
        if key:
            self.result.set_message(key, kind)
        self.result.setVisible(bool(key))

    def show_volume(self, level: int | None) -> None:
        """The speaker's volume (0-100); None: the kiosk has no speaker, no controls."""
        for widget in (self.volume_down, self.volume, self.volume_up, self.sound_button):
            widget.setVisible(level is not None)
        if level is not None:
            self.volume.set_text("kiosk.maintenance.volume", level=level)
            self.volume_down.setEnabled(level > 0)
            self.volume_up.setEnabled(level < 100)

    def rows(self) -> list[tuple[str, str, str]]:
        return list(self._rows)
