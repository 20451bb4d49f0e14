"""Every kiosk screen fits every screen a kiosk is sold with, in every mode a customer can
choose: 1920×1080, 1366×768, portrait 1080×1920 and 1280×1024; 中文 and English; normal and
large text; and each banner that changes a screen's layout (ID card, priority, consent,
printer fault, long wait, error) as a screen of its own.

The screens are the screenshot registry's (tools/screenshots/kiosk.py), so a picture and
this test can never disagree about what a screen is; the check is the one behind the
pictures (tools/screenshots/fit.py). Each screen is built once per language and text size
and laid out at every size in turn, as a window is when it moves to another screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QRect, Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QWidget

from kiosk.app import KioskWindow
from kiosk.screens import KioskScreen
from tools.screenshots import kiosk as kiosk_screens
from tools.screenshots.fit import fit_problems, lay_out
from tools.screenshots.qt import KIOSK_SIZES
from tools.screenshots.qt import screens as gallery_screens
from ui import theme
from ui.i18n import LANGUAGES, Catalog, Translator

SCREENS = {screen.name: screen for screen in kiosk_screens.screens()}
SCREENS.update({screen.name: screen for screen in gallery_screens()})
LEFT = Qt.MouseButton.LeftButton


def _cases() -> list[Any]:
    # Text size outermost, then language, then screen: one theme switch per text size and
    # one build per screen, language and text size.
    cases = []
    for large in (False, True):
        for lang in LANGUAGES:
            for name, screen in SCREENS.items():
                sizes = KIOSK_SIZES if name.startswith("kiosk-") else screen.sizes
                for width, height in sizes:
                    variant = "large" if large else "normal"
                    cases.append(
                        pytest.param(
                            name, lang, large, (width, height),
                            id=f"{name}-{lang}-{variant}-{width}x{height}",
                        )
                    )  # fmt: skip
    return cases


class Built:
    """The screen last built, kept while the next case wants the same one."""

    def __init__(self, app: QApplication) -> None:
        self.app = app
        self.key: tuple[str, str, bool] | None = None
        self.window: QWidget | None = None

    def get(self, name: str, lang: str, large: bool) -> QWidget:
        if self.key != (name, lang, large):
            self.drop()
            if theme.is_large_text(self.app) != large or self.app.styleSheet() == "":
                theme.apply_theme(self.app, large)
            self.window = SCREENS[name].build(Translator(Catalog.load(language=lang)))
            self.key = (name, lang, large)
        assert self.window is not None
        return self.window

    def drop(self) -> None:
        if self.window is not None:
            self.window.close()
            self.window.deleteLater()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        self.window, self.key = None, None


@pytest.fixture(scope="module")
def built(qapp: QApplication) -> Iterator[Built]:
    cache = Built(qapp)
    yield cache
    cache.drop()
    qapp.setStyleSheet("")
    qapp.setProperty(theme.LARGE_PROPERTY, None)


@pytest.mark.parametrize(("name", "lang", "large", "size"), _cases())
def test_the_screen_fits(built: Built, name: str, lang: str, large: bool, size: Any) -> None:
    window = built.get(name, lang, large)
    lay_out(window, size)
    assert fit_problems(window, size) == []
    if isinstance(window, KioskWindow):
        page = window.stack.currentWidget()
        assert isinstance(page, KioskScreen)
        # The body scrolls up and down only: nothing in it may be cut at the side.
        assert page.body.sideways_overflow() == 0
        # Every button of the action bar is a touch target wholly on screen.
        for button in page.action_bar.widgets("start") + page.action_bar.widgets("end"):
            if isinstance(button, QAbstractButton) and button.isVisibleTo(window):
                where = QRect(button.mapTo(window, button.rect().topLeft()), button.size())
                assert window.rect().contains(where), button.text()


def test_the_matrix_covers_every_kiosk_screen_size_language_and_text_size() -> None:
    kiosk = [c for c in _cases() if c.values[0].startswith("kiosk-")]
    names = {c.values[0] for c in kiosk}
    assert {"kiosk-home-identified", "kiosk-guidance-consent", "kiosk-guidance-long-wait",
            "kiosk-ticket-without-printer", "kiosk-guidance-error",
            "kiosk-offline"} <= names  # fmt: skip
    assert len(kiosk) == len(names) * 4 * 2 * 2


def test_a_locked_down_kiosk_covers_its_screen_and_shrinks_back_after_large_text(
    qapp: QApplication, qtbot: Any
) -> None:
    """With or without a window manager the kiosk takes the whole screen, and the elderly
    customer who turns large text on and asks for priority still has 取号 and 返回 (the
    window used to grow past the screen, and stay grown for the next customer)."""
    theme.apply_theme(qapp, False)
    window = kiosk_screens.demo_window(Translator(Catalog.load()), lockdown=True)
    qtbot.addWidget(window)
    try:
        window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        screen = window.screen().geometry()
        window.show_kiosk(fullscreen=False)  # lockdown means full screen regardless
        qapp.processEvents()
        assert window.geometry() == screen
        window.flow.start()
        qtbot.mouseClick(window.home.side_buttons["priority"], LEFT)
        qtbot.mouseClick(window.priority.choices["elderly"], LEFT)
        window.flow.choose_service("K", needs_form=True)
        qtbot.mouseClick(window.guidance.large_text, LEFT)
        qapp.processEvents()
        assert theme.is_large_text(qapp)
        assert window.size() == screen.size()
        assert fit_problems(window, screen.size().toTuple()) == []
        for button in (window.guidance.take, window.guidance.back):
            assert window.rect().contains(
                QRect(button.mapTo(window, button.rect().topLeft()), button.size())
            )
        qtbot.mouseClick(window.guidance.large_text, LEFT)
        qapp.processEvents()
        assert not theme.is_large_text(qapp)
        assert window.geometry() == screen
        assert fit_problems(window, screen.size().toTuple()) == []
    finally:
        window._may_close = True  # a locked-down window refuses to close otherwise
        qapp.setStyleSheet("")
        qapp.setProperty(theme.LARGE_PROPERTY, None)


def test_kiosk_buttons_take_no_keyboard_focus(qapp: QApplication, qtbot: Any) -> None:
    """A focus ring on a touch screen looks like a choice made for the customer."""
    window = kiosk_screens.demo_window(Translator(Catalog.load()))
    qtbot.addWidget(window)
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.show()
    window.flow.start()
    qapp.processEvents()
    qtbot.mouseClick(window.home.tiles["A"], LEFT)
    qapp.processEvents()
    assert window.flow.screen.value == "guidance"
    for page in window.pages.values():
        page.show()  # every page, as the customer would reach it
        focusable = [
            b.text() or type(b).__name__
            for b in page.findChildren(QAbstractButton)
            if b.focusPolicy() != Qt.FocusPolicy.NoFocus
        ]
        assert focusable == [], page
    assert not isinstance(QApplication.focusWidget(), QAbstractButton)


def test_a_tap_on_the_attract_screens_scrolling_body_still_starts(
    qapp: QApplication, qtbot: Any
) -> None:
    """The body of every screen now sits in a scroll area; on the attract screen a tap on
    it must still reach the screen, which starts on any tap."""
    window = kiosk_screens.demo_window(Translator(Catalog.load()))
    qtbot.addWidget(window)
    lay_out(window, (1080, 1920))
    assert window.flow.screen.value == "attract"
    welcome = window.attract.welcome
    where = welcome.mapTo(window.attract.body.content, welcome.rect().center())
    with qtbot.waitSignal(window.attract.started):
        qtbot.mouseClick(window.attract.body.content, LEFT, pos=where)
    assert window.flow.screen.value == "home"
