"""The kiosk's screens as widgets: each shows what it is given and emits what was tapped.

Screens hold no flow logic and talk to no server or device: `KioskWindow` (kiosk/app.py)
feeds them from the flow and the client's model and connects their signals to the flow.
All text comes from the catalogs (or from the server's per-language names via `pick`), and
every screen re-translates itself when the language changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import qrcode
from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPixmap,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QBoxLayout,
    QFrame,
    QLabel,
    QLayout,
    QVBoxLayout,
    QWidget,
)

from kiosk.flow import BranchClosed, IssuedTicket, PrintState, ServiceChoice, guidance_for
from ui import theme
from ui.i18n import Translator, wait_text
from ui.reflow import UNSCROLLED, BarLayout, ReflowLayout, ScrollBody
from ui.widgets import (
    Banner,
    BigButton,
    LanguageToggle,
    LargeTextToggle,
    NumberDisplay,
    TextLabel,
    Tile,
    label,
    restyle,
)


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


def _height_needed(layout: QLayout, width: int) -> int:
    """How tall `layout` is at `width` with its parts shown or hidden as they are now: its
    cached answers (and its sublayouts') are dropped first, a part having just been shown
    or hidden."""
    _forget_sizes(layout)
    if layout.hasHeightForWidth():
        return layout.totalHeightForWidth(width)
    return layout.totalMinimumSize().height()


def _forget_sizes(layout: QLayout) -> None:
    for index in range(layout.count()):
        item = layout.itemAt(index)
        inner = item.layout() if item is not None else None
        if inner is not None:
            _forget_sizes(inner)
    layout.invalidate()


def _label(name: str = "", role: str = "", *, wrap: bool = True) -> QLabel:
    """A label drawn on a tile or card: a tap on it goes to the widget beneath."""
    return label(name, role, wrap=wrap, clicks_through=True)


class KioskScreen(QWidget):
    """A full-screen page: a fixed title bar (title, language, text size), a body that
    scrolls when it does not fit, and a fixed action bar that is always on screen.

    Subclasses put their contents in `column` (the scrolling body) and their buttons in
    `action_bar`: `start` (返回), `middle` (side ways such as 优先服务) and `end` (the main
    action, 取号). Both bars wrap into more rows on a narrow screen instead of pushing the
    window wider than the screen, so no screen size or text size can hide a button."""

    def __init__(self, tr: Translator, title_key: str = "", **values: object) -> None:
        super().__init__()
        self.tr_ = tr
        self.setObjectName("screen")
        self.outer = QVBoxLayout(self)
        self.outer.setContentsMargins(48, 28, 48, 28)
        self.outer.setSpacing(20)
        self.bar = BarLayout(spacing=16, gap=16)
        self.outer.addLayout(self.bar)
        self.title: TextLabel | None = None
        if title_key:
            self.title = TextLabel(title_key, "title", translator=tr)
            self.title.set_text(title_key, **values)
            # Beside the switches only when it fits there whole; otherwise a row of its own
            # above them (a title broken mid-word, 现金及转/账, reads badly).
            self.bar.add(self.title, "start", expand=True, share=1.0)
        self.language = LanguageToggle(translator=tr)
        self.large_text = LargeTextToggle(translator=tr)
        self.bar.add(self.language, "end")
        self.bar.add(self.large_text, "end")
        self.body = ScrollBody()
        self.column = self.body.column
        self.column.setSpacing(24)
        self.outer.addWidget(self.body, 1)
        self.action_bar = BarLayout(spacing=24, gap=48)
        self.outer.addLayout(self.action_bar)
        tr.languageChanged.connect(lambda _: self.retranslate())

    def showEvent(self, event: QShowEvent) -> None:
        untouchable_focus(self)
        super().showEvent(event)

    def retranslate(self) -> None:
        """Texts the screen builds itself (catalog widgets follow the language alone)."""


def untouchable_focus(widget: QWidget) -> None:
    """No keyboard focus for the buttons of a touch screen: on a kiosk the focus ring only
    looks like a choice already made for the customer."""
    for button in widget.findChildren(QAbstractButton):
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)


class CentreText(TextLabel):
    """A kiosk text the head office may set per language (`kiosk_texts.<language>.<name>`):
    its text in the language shown when it gives one (`{branch}` in it filled in), else the
    catalog's `key` ("": nothing, and the label is hidden). Never another language's text:
    an English screen with a Chinese line would read as a fault."""

    def __init__(self, key: str, name: str, role: str, *, translator: Translator) -> None:
        self.name_in_config = name
        self.centre: Mapping[str, Mapping[str, str]] = {}
        super().__init__(key, role, centred=True, translator=translator)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)

    def show_centre(self, texts: Mapping[str, Mapping[str, str]], **values: object) -> None:
        self.centre, self.values = texts, values
        self.retranslate()

    def retranslate(self) -> None:
        own = dict(getattr(self, "centre", {}).get(self._tr.language) or {})
        text = own.get(self.name_in_config, "")
        if text:
            for name, value in self.values.items():
                text = text.replace("{" + name + "}", str(value))
        elif self.key:
            text = self._tr.tr(self.key, **self.values)
        self.setText(text)
        self.setVisible(bool(text))


class AttractScreen(KioskScreen):
    """Shown between customers: the branch, the time, how busy it is, "touch to start",
    and the senior-mode (长辈模式) button."""

    started = Signal()
    elder_requested = Signal()

    # Beside each other when the body is at least this much wider than it is tall: a
    # landscape kiosk (1366×768) has no room for the whole screen in one column.
    SIDE_BY_SIDE_RATIO = 1.25
    SPACING: ClassVar[dict[str, int]] = {"roomy": 20, "tight": 8}

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr)
        self.clock = _label("clock", wrap=False)
        self.bar.add(self.clock, "start", expand=True, index=0)
        # The first screen a customer sees never scrolls: a sentence cut in half at the
        # fold reads as a fault, and an elderly customer would not think to scroll.
        self.body.setProperty(UNSCROLLED, True)
        self.column.addStretch(1)
        self.welcome = CentreText("kiosk.attract.welcome", "welcome", "title", translator=tr)
        self.welcome.setObjectName("welcome")
        self.column.addWidget(self.welcome)
        # The branch closed to new tickets: said under the welcome, before anything to do.
        # Its own hint below already sends booked customers to the scanner.
        self.hours = HoursBanner(tr, booking_hint=False)
        self.column.addWidget(self.hours)
        # What to do (touch, senior mode) and what to know (hints, notes, waits): one
        # column in portrait, two side by side on a landscape screen.
        self.panes = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.column.addLayout(self.panes)
        self.column.addStretch(1)
        act = QVBoxLayout()
        self.panes.addLayout(act, 1)
        # Wraps, across the whole width: one line of large English is wider than a
        # portrait screen.
        self.call = TextLabel("kiosk.attract.touch_to_start", centred=True, translator=tr)
        self.call.setObjectName("attractCall")
        self.call.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        act.addWidget(self.call)
        # Senior mode is its own button: a tap on it must not also "touch to start".
        # Its own warm colour, not the blue of "touch to start": an older customer looking
        # for it must not take the two for one button.
        self.elder = BigButton("kiosk.attract.elder_mode", "primary", translator=tr)
        self.elder.setObjectName("elderMode")
        self.elder.clicked.connect(self.elder_requested)
        act.addWidget(self.elder, 0, Qt.AlignmentFlag.AlignHCenter)
        # Read by the customers it is for: as big as a heading, not body text.
        elder_hint = TextLabel("kiosk.attract.elder_mode_hint", "body", centred=True, translator=tr)
        elder_hint.setObjectName("elderHint")
        elder_hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        act.addWidget(elder_hint)
        self.elder_hint = elder_hint
        act.addStretch(1)
        know = QVBoxLayout()
        self.panes.addLayout(know, 1)
        for key in ("kiosk.attract.appointment_hint", "kiosk.attract.id_hint"):
            hint = TextLabel(key, "heading", centred=True, translator=tr)
            hint.setObjectName("attractHint")
            hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            know.addWidget(hint)
        self.id_hint = hint  # "your ID card takes a ticket": untrue while closed
        # Said before the customer starts: the ticket will be on screen, not on paper.
        self.printer_note = Banner("kiosk.attract.no_paper", "info", translator=tr)
        self.printer_note.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.printer_note.hide()
        know.addWidget(self.printer_note)
        # The head office's line for every kiosk of the network (a service line, a campaign):
        # only when it gives one.
        self.footer = CentreText("", "footer", "heading", translator=tr)
        self.footer.setObjectName("attractFooter")
        know.addWidget(self.footer)
        know.addStretch(1)
        # How many wait per business: the one block left out when the screen is too short
        # for it, since the next screen shows each business's wait on its tile anyway.
        self.waiting = QWidget()
        self.waiting.setObjectName("attractWaiting")
        waiting_column = QVBoxLayout(self.waiting)
        waiting_column.setContentsMargins(0, 8, 0, 0)
        waiting_column.setSpacing(16)
        self.waiting_title = TextLabel("kiosk.attract.waiting_now", "heading", translator=tr)
        self.waiting_title.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        waiting_column.addWidget(self.waiting_title)
        # As many counts side by side as fit; each count on one line ("6 人等候").
        self.counts = ReflowLayout(cell_width=200, max_columns=8, spacing=20)
        waiting_column.addLayout(self.counts)
        know.addWidget(self.waiting)
        self._columns = (self.column, self.panes, act, know)
        self._choices: list[ServiceChoice] = []
        self.body.installEventFilter(self)
        # After the texts have taken their new language or size (their own slots run later).
        tr.languageChanged.connect(self._arrange_soon)
        theme.theme_state().largeTextChanged.connect(self._arrange_soon)

    def _arrange_soon(self, _changed: object = None) -> None:
        QTimer.singleShot(0, self, self.arrange)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.body and event.type() == QEvent.Type.Resize:
            self.arrange()
        return super().eventFilter(watched, event)

    def arrange(self) -> None:
        """Side by side on a landscape body, one column otherwise; then the first of these
        that fits unscrolled: everything; without the waits per business; the welcome,
        hints and head office's line a size smaller (still no smaller than body text) and
        closer together; and last, that without the head office's line, which says
        nothing about this customer's visit."""
        width, height = self.body.width(), self.body.height()
        if width <= 0 or height <= 0:
            return
        side_by_side = width >= height * self.SIDE_BY_SIDE_RATIO
        self.panes.setDirection(
            QBoxLayout.Direction.LeftToRight if side_by_side else QBoxLayout.Direction.TopToBottom
        )
        steps = (("roomy", True, True), ("roomy", False, True), ("tight", False, True))
        for fit, with_waits, with_footer in (*steps, ("tight", False, False)):
            restyle(self, "fit", fit)
            self._pad_call(fit)
            for column in self._columns:
                column.setSpacing(self.SPACING[fit])
            self.waiting.setVisible(with_waits and bool(self._choices))
            self.footer.setVisible(with_footer and bool(self.footer.text()))
            if _height_needed(self.column, width) <= height:
                return

    def _pad_call(self, fit: str) -> None:
        # Narrower sides, so 请触摸屏幕开始取号 stays on one line in a half-width column. On
        # the label itself: Qt keeps the padding of the first stylesheet rule that matched
        # when a changed property re-matches the rules (the font follows, the padding not).
        pad = theme.pixels(theme.is_large_text(), "pad")
        sheet = f"QLabel#attractCall {{ padding: {pad}px 12px; }}" if fit == "tight" else ""
        if self.call.styleSheet() != sheet:
            self.call.setStyleSheet(sheet)

    def show_branch(
        self,
        name: str,
        clock: str,
        choices: Sequence[ServiceChoice],
        texts: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """`texts`: the head office's kiosk texts ({"zh": {"welcome": …}}), if any."""
        before = (self.welcome.text(), self.footer.text())
        self.welcome.show_centre(texts or {}, branch=name)
        self.footer.show_centre(texts or {}, branch=name)
        self.clock.setText(clock)
        if (self.welcome.text(), self.footer.text()) != before:
            self.arrange()
        if [(c.code, c.waiting) for c in choices] != [(c.code, c.waiting) for c in self._choices]:
            self._choices = list(choices)
            self._fill_counts()

    def set_clock(self, text: str) -> None:
        self.clock.setText(text)

    def show_closed(self, closed: BranchClosed | None) -> None:
        """The hours while the branch takes no walk-in; "touch to take a ticket" would then
        promise what the next screen refuses, so the call says what a touch still offers."""
        shown = (self.hours.isHidden(), self.call.text())
        self.hours.show_closed(closed)
        key = "kiosk.attract.touch_to_start" if closed is None else "kiosk.attract.touch_closed"
        self.call.set_text(key)
        # Both promise a ticket in one step, which the branch does not give while closed
        # (and the banner needs their room on a landscape screen).
        self.elder_hint.setVisible(closed is None)
        self.id_hint.setVisible(closed is None)
        if (self.hours.isHidden(), self.call.text()) != shown:
            self.arrange()  # the banner takes room: what else fits may change

    def show_printer_problem(self, problem_key: str | None) -> None:
        """The printer cannot print (`problem_key` says why); None once it can again."""
        if problem_key:
            out_of_paper = problem_key == "device.printer.paper_out"
            key = "kiosk.attract.no_paper" if out_of_paper else "kiosk.attract.no_printer"
            self.printer_note.set_message(key, "info")
        if self.printer_note.isHidden() == bool(problem_key):
            self.printer_note.setVisible(bool(problem_key))
            self.arrange()

    def _fill_counts(self) -> None:
        while self.counts.count():
            item = self.counts.takeAt(0)
            if item is not None and (w := item.widget()) is not None:
                w.deleteLater()
        for choice in self._choices:
            card, column = _card()
            column.setContentsMargins(20, 20, 20, 20)  # six or more side by side
            card.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            name = _label(role="item")
            count = _label(role="sub", wrap=False)
            name.setProperty("names", dict(choice.names))
            count.setProperty("count", choice.waiting)
            column.addWidget(name)
            column.addWidget(count)
            self.counts.addWidget(card)
        self.retranslate()
        self.arrange()

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


class HoursBanner(Banner):
    """The head office's hours while the branch takes no walk-in (hidden while it does), said
    before a customer taps a business; a booked customer is pointed to the check-in."""

    def __init__(self, tr: Translator, *, booking_hint: bool = True) -> None:
        self._booking_hint = booking_hint  # before the base class words it
        super().__init__("hours.closed_none", "warning", translator=tr)
        self.setObjectName("hoursBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hide()

    def show_closed(self, closed: BranchClosed | None) -> None:
        if closed is not None:
            self.set_message(closed.key, "warning", **closed.values)
        self.setVisible(closed is not None)

    def retranslate(self) -> None:
        text = self._tr.tr(self.key, **self.values)
        if self._booking_hint:
            text += "\n" + self._tr.tr("hours.appointments")
        self.message_label.setText(text)


class CustomerBanner(Banner):
    """Who the kiosk is serving: the masked name from an ID card, the priority they get."""

    def __init__(self, tr: Translator) -> None:
        super().__init__("kiosk.idcard.greeting", "info", translator=tr, name="")
        self.hide()

    def show_line(self, line: tuple[str, str, dict[str, object]] | None) -> None:
        if line is not None:
            key, kind, values = line
            self.set_message(key, kind, **values)
        self.setVisible(line is not None)


class MenuScreen(KioskScreen):
    """A screen of business tiles in a grid that reflows with the width; a tap emits the
    business's code. The tiles are rebuilt only when the businesses offered change."""

    chosen = Signal(str)

    def __init__(self, tr: Translator, title_key: str, tile_name: str = "") -> None:
        super().__init__(tr, title_key)
        self._tile_name = tile_name
        self.grid = ReflowLayout(cell_width=self._tile_width(), max_columns=3, fill_last_row=True)
        self.tiles: dict[str, Tile] = {}
        theme.theme_state().largeTextChanged.connect(self._follow_text_size)

    @staticmethod
    def _tile_width() -> int:
        return theme.pixels(theme.is_large_text(), "tile_min_w")

    def _follow_text_size(self, _large: bool) -> None:
        self.grid.set_cell_width(self._tile_width())

    def place_tiles(self, choices: Sequence[ServiceChoice], max_columns: int) -> None:
        """One tile per choice, named and open or closed as the choice says."""
        codes = [c.code for c in choices]
        if codes != list(self.tiles):
            for tile in self.tiles.values():
                self.grid.removeWidget(tile)
                tile.deleteLater()
            self.tiles = {}
            self.grid.max_columns = max_columns
            for choice in choices:
                icon = theme.icon_path("bundle") if choice.bundle else None
                tile = Tile(choice.names, icon, code=choice.code, translator=self.tr_)
                if self._tile_name:
                    tile.setObjectName(self._tile_name)
                tile.setFocusPolicy(Qt.FocusPolicy.NoFocus)
                tile.clicked.connect(lambda _=False, code=choice.code: self.chosen.emit(code))
                self.grid.addWidget(tile)
                self.tiles[choice.code] = tile
        for choice in choices:
            tile = self.tiles[choice.code]
            tile.set_names(choice.names)
            if choice.available != tile.isEnabled() or not choice.available:
                key, values = choice.reason
                tile.set_available(choice.available, key, **values)


class HomeScreen(MenuScreen):
    """One tile per business (and per one-stop bundle) with its live wait, and the ways to
    ask for priority, identify with an ID card or check in an appointment."""

    back_requested = Signal()
    side_requested = Signal(str)  # a Screen value: priority / idcard / appointment

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "kiosk.home.title")
        self.hours = HoursBanner(tr)
        self.column.addWidget(self.hours)
        self.customer = CustomerBanner(tr)
        self.column.addWidget(self.customer)
        # Three tiles a row on a wide screen, two in portrait or in large text, one on
        # anything narrower: the width of a tile comes from the theme.
        self.column.addLayout(self.grid)
        self.column.addStretch(1)
        self.hint = TextLabel("kiosk.home.subtitle", "hint", translator=tr)
        self.column.addWidget(self.hint)
        self.back = BigButton("common.back", "secondary", translator=tr)
        self.back.clicked.connect(self.back_requested)
        self.action_bar.add(self.back, "start")
        self.side_buttons: dict[str, BigButton] = {}
        for screen, key in (
            ("priority", "kiosk.home.priority"),
            ("idcard", "kiosk.home.id_card"),
            ("appointment", "kiosk.home.appointment"),
        ):
            button = BigButton(key, "secondary", translator=tr)
            button.clicked.connect(lambda _=False, s=screen: self.side_requested.emit(s))
            self.action_bar.add(button, "middle")
            self.side_buttons[screen] = button

    def show_services(self, choices: Sequence[ServiceChoice]) -> None:
        # Four or fewer businesses read better two by two than three and one.
        self.place_tiles(choices, 3 if len(choices) > 4 else 2)
        for choice in choices:
            self.tiles[choice.code].set_wait(choice.wait_minutes)


class GuidanceScreen(KioskScreen):
    """What a business needs before the customer queues for it, and the ticket button."""

    take_ticket = Signal()
    back_requested = Signal()
    priority_requested = Signal()
    consent_changed = Signal(bool)
    # An alternative to queueing is pointed out once the wait here is at least this long.
    FASTER_ELSEWHERE_MIN = 10

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "kiosk.guidance.title", service="")
        self.customer = CustomerBanner(tr)
        self.column.addWidget(self.customer)
        # Consent to pre-fill the teller's form: off until the customer turns it on. First
        # in the body, so it is seen before 取号 without scrolling.
        self.consent = BigButton("kiosk.consent.share", "secondary", translator=tr)
        self.consent.setObjectName("consent")
        self.consent.setCheckable(True)
        self.consent.toggled.connect(self.consent_changed)
        self.consent_hint = TextLabel("kiosk.consent.explain", "hint", translator=tr)
        consent_row = BarLayout(spacing=20, gap=20)
        self.column.addLayout(consent_row)
        consent_row.add(self.consent, "start")
        consent_row.add(self.consent_hint, "middle", expand=True)
        self.consent.hide()
        self.consent_hint.hide()
        self.includes = _label(role="item")
        self.column.addWidget(self.includes)
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
        # Stands out when the wait here is long: the card says it once, no banner repeats it.
        self.alternative = _label("alternative", role="item")
        right_col.addWidget(self.alternative)
        right_col.addStretch(1)
        self.wait = _label(role="sub")
        right_col.addWidget(self.wait)
        # Side by side on a wide screen (what to bring wider), stacked in portrait.
        self.cards = ReflowLayout(cell_width=self._card_width(), max_columns=2, stretches=(3, 2))
        theme.theme_state().largeTextChanged.connect(self._follow_text_size)
        self.column.addLayout(self.cards)
        self.cards.addWidget(left)
        self.cards.addWidget(right)
        self.error = Banner("kiosk.error.generic", "error", translator=tr)
        self.error.hide()
        self.column.addWidget(self.error)
        self.column.addStretch(1)
        # 返回 left, 优先服务 apart from it, 取号 big on the right: a tap meant for 取号
        # never lands on 优先服务.
        self.back = BigButton("common.back", "secondary", translator=tr)
        self.back.clicked.connect(self.back_requested)
        self.priority = BigButton("kiosk.home.priority", "secondary", translator=tr)
        self.priority.clicked.connect(self.priority_requested)
        self.take = BigButton("kiosk.guidance.take_ticket", "primary", translator=tr)
        self.take.setObjectName("takeTicket")
        self.take.clicked.connect(self.take_ticket)
        self.action_bar.add(self.back, "start")
        self.action_bar.add(self.priority, "middle")
        self.action_bar.add(self.take, "end", fill_when_wrapped=True)
        self._service: Mapping[str, Any] = {}
        self._wait: int | None = None
        self._included: list[Mapping[str, str]] = []

    @staticmethod
    def _card_width() -> int:
        return theme.pixels(theme.is_large_text(), "card_min_w")

    def _follow_text_size(self, _large: bool) -> None:
        self.cards.set_cell_width(self._card_width())

    def _section(self, column: QVBoxLayout, key: str) -> QLabel:
        column.addWidget(TextLabel(key, "heading", translator=self.tr_))
        label = _label(role="item")
        column.addWidget(label)
        return label

    def show_service(
        self,
        service: Mapping[str, Any],
        wait_minutes: int | None,
        error_key: str | None,
        included: Sequence[Mapping[str, str]] = (),
    ) -> None:
        """A business (or a bundle, with the names of the businesses it `included`)."""
        self._service, self._wait, self._included = service, wait_minutes, list(included)
        if error_key:
            self.error.set_message(error_key, "error")
        self.error.setVisible(bool(error_key))
        self.retranslate()

    def show_consent(self, offered: bool, given: bool) -> None:
        """Offer the form pre-fill when the customer placed a card and the business has one."""
        self.consent.setVisible(offered)
        self.consent_hint.setVisible(offered)
        if self.consent.isChecked() != given:
            self.consent.blockSignals(True)
            self.consent.setChecked(given)
            self.consent.blockSignals(False)
        self.consent.set_text("kiosk.consent.given" if given else "kiosk.consent.share")

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
        long_wait = self._wait is not None and self._wait >= self.FASTER_ELSEWHERE_MIN
        restyle(self.alternative, "long", "yes" if long_wait else "no")
        wait_key, wait_values = wait_text(self._wait, issued=False)
        names = [self.tr_.pick(n) for n in self._included]
        joiner = "、" if self.tr_.language == "zh" else ", "
        self.includes.setText(
            self.tr_.tr("kiosk.guidance.bundle_includes", services=joiner.join(names))
        )
        self.includes.setVisible(bool(names))
        self.wait.setText(self.tr_.tr(wait_key, **wait_values))


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

    def show_checking_in(self, checking_in: bool) -> None:
        self.message.set_text("kiosk.qr.checking" if checking_in else "kiosk.issuing")


class TicketScreen(KioskScreen):
    """The issued ticket: number, business, people ahead, wait, QR; printed or on screen."""

    done = Signal()
    QR_PX = 360

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "kiosk.ticket.title")
        number_column = QWidget()
        left = QVBoxLayout(number_column)
        left.setContentsMargins(0, 0, 0, 0)
        left.setSpacing(8)
        left.addStretch(1)
        self.your_number = TextLabel(
            "kiosk.ticket.your_number", "heading", centred=True, translator=tr
        )
        left.addWidget(self.your_number)
        self.number_column = left
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
        self.where = _label(role="item")
        self.where.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        left.addWidget(self.where)
        # Appointment, priority or one-stop: what is special about this ticket.
        self.note = _label("ticketNote")
        self.note.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        left.addWidget(self.note)
        left.addStretch(1)
        # What the customer must act on (take the ID card back, the printer failed) heads
        # the second column: beside the number on a wide screen, so a short one does not
        # hide it below the fold; the QR code, which can wait, comes last.
        qr_column = QWidget()
        right = QVBoxLayout(qr_column)
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(12)
        self.card_reminder = Banner("kiosk.idcard.remove", "warning", translator=tr)
        self.card_reminder.hide()
        right.addWidget(self.card_reminder)
        self.status = Banner("kiosk.ticket.printing", "info", translator=tr)
        right.addWidget(self.status)
        self.fallback = _label("fallback")
        self.fallback.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.fallback.hide()
        right.addWidget(self.fallback)
        right.addStretch(1)
        self.qr = _label("qr", wrap=False)
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        right.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignHCenter)
        self.qr_hint = TextLabel("kiosk.ticket.scan_screen", "hint", centred=True, translator=tr)
        right.addWidget(self.qr_hint)
        right.addStretch(1)
        # The QR beside the number on a wide screen, below it in portrait; the whole in
        # the middle of a tall screen, where the eye is.
        body = ReflowLayout(cell_width=self.QR_PX + 160, max_columns=2, stretches=(3, 2))
        self.column.addStretch(1)
        self.column.addLayout(body)
        body.addWidget(number_column)
        body.addWidget(qr_column)
        self.column.addStretch(1)
        self.countdown = _label(role="hint")
        self.finish = BigButton("common.done", "primary", translator=tr)
        self.finish.clicked.connect(self.done)
        self.action_bar.add(self.countdown, "start", expand=True)
        self.action_bar.add(self.finish, "end", fill_when_wrapped=True)
        self.ticket: IssuedTicket | None = None
        self._service: Mapping[str, Any] = {}
        self._seconds: int | None = None

    def resizeEvent(self, event: QResizeEvent) -> None:
        # A short screen (1366×768) shows a smaller number, so what follows it (people
        # ahead, the wait) is still seen without scrolling.
        # It also starts at the top of its column, under the title that already says
        # 取号成功, so the banners beside it cannot push it down out of sight.
        compact = event.size().height() < 900
        restyle(self.number, "compact", "yes" if compact else "no")
        self.your_number.setVisible(not compact)
        self.number_column.setStretch(0, 0 if compact else 1)
        super().resizeEvent(event)

    def show_ticket(
        self, ticket: IssuedTicket, service: Mapping[str, Any], *, card_used: bool = False
    ) -> None:
        """The ticket of `service` (the business or bundle: its names and where it is
        handled); `card_used`: remind the customer to take their ID card back."""
        if self.ticket is None or self.ticket.url != ticket.url:
            self.qr.setPixmap(qr_pixmap(ticket.url, self.QR_PX))
        self.ticket, self._service = ticket, service
        self.card_reminder.setVisible(card_used)
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
        if self.title is not None:
            checked_in = bool(ticket.appointment_note)
            self.title.set_text(
                "kiosk.ticket.title_checked_in" if checked_in else "kiosk.ticket.title"
            )
        self.service.setText(self.tr_.pick(self._service.get("names") or {}) or ticket.service)
        where = guidance_for(self._service, self.tr_.language)["where"]
        self.where.setText(self.tr_.tr("kiosk.ticket.where", where=where))
        self.where.setVisible(bool(where))
        if ticket.people_ahead > 0:
            self.ahead.setText(self.tr_.tr("kiosk.ticket.people_ahead", count=ticket.people_ahead))
        else:
            self.ahead.setText(self.tr_.tr("kiosk.ticket.none_ahead"))
        minutes = ticket.eta_minutes
        eta_key, eta_values = wait_text(minutes, issued=True)
        self.eta.setText(self.tr_.tr(eta_key, **eta_values))
        self.eta.setVisible(ticket.people_ahead > 0 or minutes is None)
        if ticket.appointment_note:
            note = self.tr_.tr(ticket.appointment_note, time=ticket.appointment_time)
        elif ticket.priority in ("care", "vip"):
            note = self.tr_.tr("kiosk.ticket.priority_note")
        else:
            note = ""
        self.note.setText(note)
        self.note.setVisible(bool(note))
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
