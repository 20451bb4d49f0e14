"""Shared, themed widgets for the kiosk and staff screens, each re-translating itself live.

Every widget here takes catalog *keys*, not finished strings, and re-reads its text when
the translator emits `languageChanged`, so a screen built once follows the 中文 / English
switch with no code of its own. Their look is in `assets/theme/kiosk.qss`, selected by class
name (`Tile`, `BigButton` …) and by the dynamic properties `role` and `kind`.

Each constructor takes an optional `translator`; without one the app-wide
`ui.i18n.translator()` is used. Tests pass their own so no two tests share a language.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtSvgWidgets import QSvgWidget
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QFrame,
    QGraphicsOpacityEffect,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.i18n import LANGUAGES, Translator, translator, wait_text

_W = TypeVar("_W", bound=QWidget)


def _repolish(widget: QWidget) -> None:
    """Re-match the stylesheet after a dynamic property used in a selector changed."""
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    for child in widget.findChildren(QWidget):
        style.unpolish(child)
        style.polish(child)
    widget.update()


# ---- small builders the screens share: a plain label, a card, a dynamic-property restyle,
# and the minutes / `m:ss` texts of a duration.
def label(
    name: str = "", role: str | None = None, *, wrap: bool = True, clicks_through: bool = False
) -> QLabel:
    """A label for text set by code, with an object name and a typographic `role`.

    `clicks_through`: taps go to the widget beneath (a label drawn on a kiosk tile)."""
    widget = QLabel()
    if name:
        widget.setObjectName(name)
    if role:
        widget.setProperty("role", role)
    widget.setWordWrap(wrap)
    if clicks_through:
        widget.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    return widget


def card(
    name: str, margins: tuple[int, int, int, int] = (14, 10, 14, 10), spacing: int = 4
) -> tuple[QFrame, QVBoxLayout]:
    """A framed panel (styled by `#name`) and the column its contents go in."""
    frame = QFrame()
    frame.setObjectName(name)
    column = QVBoxLayout(frame)
    column.setContentsMargins(*margins)
    column.setSpacing(spacing)
    return frame, column


def restyle(widget: QWidget, name: str, value: str) -> None:
    """Set a dynamic property the stylesheet selects on, and re-match the rules."""
    if widget.property(name) != value:
        widget.setProperty(name, value)
        widget.style().unpolish(widget)
        widget.style().polish(widget)
        for child in widget.findChildren(QWidget):
            child.style().unpolish(child)
            child.style().polish(child)


def minutes(seconds: float | None) -> int:
    """Whole minutes of a duration (unknown or negative: 0)."""
    return max(0, int(seconds or 0)) // 60


def duration(
    tr: Translator,
    seconds: float | None,
    key: str,
    unknown: str = "—",
    *,
    short_key: str | None = None,
) -> str:
    """A duration in minutes and seconds as the catalog's `key` words it; `unknown` if None.

    `short_key` words one under a minute in seconds alone: "0 分 02 秒" reads as a glitch."""
    if seconds is None:
        return unknown
    whole = max(0, round(seconds))
    if short_key is not None and whole < 60:
        return tr.tr(short_key, seconds=whole)
    return tr.tr(key, minutes=whole // 60, seconds=f"{whole % 60:02d}")


def counter_title(tr: Translator, number: int, name: str) -> str:
    """ "1 号窗口", plus the counter's own name when it says more than its number (a counter
    named "1号窗口" is not shown as "1 号窗口 1号窗口")."""
    text = tr.tr("common.counter", counter=number)
    plain = {
        tr.catalog.tr_in(lang, "common.counter", counter=number).replace(" ", "")
        for lang in LANGUAGES
    }
    if name and name.replace(" ", "") not in plain:
        text += f" {name}"
    return text


class TextLabel(QLabel):
    """A label showing one catalog text, in a typographic role (title, heading, body, hint)."""

    def __init__(
        self,
        key: str,
        role: str = "body",
        *,
        centred: bool = False,
        translator: Translator | None = None,
        parent: QWidget | None = None,
        **values: object,
    ) -> None:
        super().__init__(parent)
        self._tr = translator or _app_translator()
        self.setProperty("role", role)
        self.setWordWrap(True)
        # Centre the text inside a full-width label: a wrapping label given a centred
        # *place* in a layout gets too little height and its second line is cut off.
        if centred:
            self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.set_text(key, **values)
        self._tr.languageChanged.connect(self.retranslate)

    def set_text(self, key: str, **values: object) -> None:
        self.key, self.values = key, values
        self.retranslate()

    def retranslate(self) -> None:
        self.setText(self._tr.tr(self.key, **self.values))


class BigButton(QPushButton):
    """A touch-sized button with a catalog text; `role` is "primary" or "secondary"."""

    def __init__(
        self,
        key: str,
        role: str = "primary",
        *,
        translator: Translator | None = None,
        parent: QWidget | None = None,
        **values: object,
    ) -> None:
        super().__init__(parent)
        self._tr = translator or _app_translator()
        self.setProperty("role", role)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.set_text(key, **values)
        self._tr.languageChanged.connect(self.retranslate)

    def set_text(self, key: str, **values: object) -> None:
        self.key, self.values = key, values
        self.retranslate()

    def retranslate(self) -> None:
        self.setText(self._tr.tr(self.key, **self.values))


class TileIcon(QSvgWidget):
    """The picture on a tile; its size comes from the theme (bigger in large text)."""


class Tile(QPushButton):
    """One business on the kiosk's home screen: icon, name, and a line such as the wait.

    The name comes from the server per language (`names={"zh": "开户", "en": "Account
    opening"}`); the line below it is a catalog key (`set_wait(8)` → 预计等候约 8 分钟 /
    Estimated wait: about 8 min). `set_available(False)` greys the tile out and says why.
    """

    def __init__(
        self,
        names: Mapping[str, str],
        icon: str | Path | None = None,
        *,
        code: str = "",
        translator: Translator | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._tr = translator or _app_translator()
        self.code = code
        self.names = dict(names)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

        self.icon_widget = TileIcon(str(icon or theme.service_icon(code)))
        self.title_label = _named(QLabel(), "tileTitle")
        self.subtitle_label = _named(QLabel(), "tileSubtitle")
        for label in (self.title_label, self.subtitle_label):
            label.setWordWrap(True)
        # The labels sit on the button; clicks must go to the button, not stop at them.
        for child in (self.icon_widget, self.title_label, self.subtitle_label):
            child.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)

        text = QVBoxLayout()
        text.setSpacing(6)
        text.addStretch(1)
        text.addWidget(self.title_label)
        text.addWidget(self.subtitle_label)
        text.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(28, 20, 28, 20)
        row.setSpacing(24)
        row.addWidget(self.icon_widget, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addLayout(text, 1)

        self._subtitle: tuple[str, dict[str, object]] = ("kiosk.home.wait_unknown", {})
        self._reason: tuple[str, dict[str, object]] = ("kiosk.home.closed", {})
        self._tr.languageChanged.connect(self.retranslate)
        self.retranslate()

    def set_names(self, names: Mapping[str, str]) -> None:
        self.names = dict(names)
        self.retranslate()

    def set_subtitle(self, key: str, **values: object) -> None:
        self._subtitle = (key, values)
        self.retranslate()

    def set_wait(self, minutes: int | None) -> None:
        """Show the estimated wait; `None` while the server has not said yet."""
        key, values = wait_text(minutes, issued=False, brief=True)
        self.set_subtitle(key, **values)

    def set_available(
        self, available: bool, reason: str = "kiosk.home.closed", **values: object
    ) -> None:
        """Grey the tile out (not clickable) with a reason in place of the wait."""
        self._reason = (reason, values)
        self.setEnabled(available)
        # The coloured picture would still look tappable; fade it with the rest.
        if available:
            self.icon_widget.setGraphicsEffect(None)  # type: ignore[arg-type]
        else:
            fade = QGraphicsOpacityEffect(self.icon_widget)
            fade.setOpacity(0.4)
            self.icon_widget.setGraphicsEffect(fade)
        self.retranslate()

    def retranslate(self) -> None:
        title = self._tr.pick(self.names)
        key, values = self._subtitle if self.isEnabled() else self._reason
        subtitle = self._tr.tr(key, **values)
        self.title_label.setText(title)
        self.subtitle_label.setText(subtitle)
        # Screen readers and tests see the whole tile as one button with one name.
        self.setAccessibleName(f"{title}, {subtitle}")


class Banner(QFrame):
    """A full-width message strip: `kind` "info", "warning" (e.g. offline) or "error"."""

    BADGES: ClassVar[dict[str, str]] = {"info": "i", "warning": "!", "error": "×"}

    def __init__(
        self,
        key: str,
        kind: str = "info",
        *,
        translator: Translator | None = None,
        parent: QWidget | None = None,
        **values: object,
    ) -> None:
        super().__init__(parent)
        self._tr = translator or _app_translator()
        self.badge = _named(QLabel(), "bannerBadge")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label = _named(QLabel(), "bannerMessage")
        self.message_label.setWordWrap(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(24, 12, 24, 12)
        row.setSpacing(20)
        row.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.message_label, 1)
        self.key, self.values, self.kind = key, values, kind
        self.set_message(key, kind, **values)
        self._tr.languageChanged.connect(self.retranslate)

    def set_message(self, key: str, kind: str | None = None, **values: object) -> None:
        if kind is not None and kind not in self.BADGES:
            raise ValueError(f"banner kind {kind!r}: use one of {sorted(self.BADGES)}")
        self.key, self.values = key, values
        if kind is not None and kind != self.property("kind"):
            self.kind = kind
            self.setProperty("kind", kind)
            self.badge.setText(self.BADGES[kind])
            _repolish(self)
        self.retranslate()

    def retranslate(self) -> None:
        self.message_label.setText(self._tr.tr(self.key, **self.values))


class NumberDisplay(QLabel):
    """The ticket number, huge and centred (`A023`)."""

    def __init__(self, number: str = "", parent: QWidget | None = None) -> None:
        super().__init__(number, parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.set_number(number)

    def set_number(self, number: str) -> None:
        self.setText(number)
        self.setAccessibleName(number)


class LanguageToggle(QWidget):
    """中文 | English: two segments, each always written in its own language.

    Someone who reads no Chinese must find "English" on a Chinese screen, so a segment's
    label never changes with the language; only which one is checked does.
    """

    def __init__(
        self, *, translator: Translator | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._tr = translator or _app_translator()
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        for index, lang in enumerate(LANGUAGES):
            button = QPushButton(self._tr.catalog.text("language.self_name", lang))
            button.setObjectName("langFirst" if index == 0 else "langLast")
            button.setCheckable(True)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, lang=lang: self._tr.set_language(lang))
            self.group.addButton(button)
            self.buttons[lang] = button
            row.addWidget(button)
        self.group.setExclusive(True)
        self._tr.languageChanged.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        self.buttons[self._tr.language].setChecked(True)
        self.setAccessibleName(self._tr.tr("language.switch"))


class LargeTextToggle(QPushButton):
    """大字模式 / Large text: switches the whole app to the large, high-contrast variant.

    Every screen has one; they stay in step through `theme_state().largeTextChanged`. The
    label says what pressing it will do (turn large text on, or back to normal text).
    """

    largeTextRequested = Signal(bool)

    def __init__(
        self, *, translator: Translator | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._tr = translator or _app_translator()
        self.setCheckable(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setChecked(theme.is_large_text())
        self.toggled.connect(self._on_toggled)
        self._tr.languageChanged.connect(self.retranslate)
        theme.theme_state().largeTextChanged.connect(self._follow_theme)
        self.retranslate()

    def _on_toggled(self, large: bool) -> None:
        self.retranslate()
        self.largeTextRequested.emit(large)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply_theme(app, large)

    def _follow_theme(self, large: bool) -> None:
        if self.isChecked() != large:
            self.blockSignals(True)  # following, not requesting: no apply_theme loop
            self.setChecked(large)
            self.blockSignals(False)
        self.retranslate()

    def retranslate(self) -> None:
        key = "a11y.large_text.turn_off" if self.isChecked() else "a11y.large_text.turn_on"
        self.setText(("Aa  " if not self.isChecked() else "") + self._tr.tr(key))


def _named(widget: _W, name: str) -> _W:
    """`widget` with an object name, for the stylesheet's `#name` selectors."""
    widget.setObjectName(name)
    return widget


def _app_translator() -> Translator:
    return translator()
