"""What a customer sees on the rendered kiosk screens, as the screenshots showed it: the
facts of a ticket above the fold on a short screen, an action bar on one row, the senior
button apart from "touch to start", the printer note before starting, no lonely tile."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication, QBoxLayout, QWidget

from kiosk.app import KioskWindow
from kiosk.flow import PrintOutcome
from tools.screenshots import kiosk as shots
from tools.screenshots.fit import fit_problems, lay_out
from ui import theme
from ui.i18n import Catalog, Translator

LAPTOP = (1366, 768)


@pytest.fixture
def build(qapp: QApplication) -> Iterator[object]:
    made: list[QWidget] = []

    def make(screen, lang: str = "zh", large: bool = False, size=(1920, 1080)) -> KioskWindow:
        theme.apply_theme(qapp, large)
        window = screen(Translator(Catalog.load(language=lang)))
        made.append(window)
        lay_out(window, size)
        assert isinstance(window, KioskWindow)
        return window

    yield make
    for window in made:
        window.close()
        window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    theme.apply_theme(qapp, False)


def _on_screen(widget: QWidget, window: QWidget) -> bool:
    """Is all of `widget` inside the part of the ticket's scrolling body that shows?"""
    viewport = window.ticket.body.viewport()
    shown = QRect(viewport.mapTo(window, QPoint(0, 0)), viewport.size())
    rect = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
    return widget.isVisible() and shown.contains(rect)


@pytest.mark.parametrize("screen", [shots.ticket, shots.ticket_identified])
def test_a_large_text_ticket_at_1366x768_shows_the_people_ahead_and_the_wait_unscrolled(
    build, screen
):
    window = build(screen, large=True, size=LAPTOP)
    ticket = window.ticket
    for line in (ticket.number, ticket.ahead, ticket.eta):
        assert _on_screen(line, window), line.text()


def test_english_large_text_keeps_the_home_action_bar_on_one_row_at_1366(build):
    window = build(shots.home, lang="en", large=True, size=LAPTOP)
    bar = window.home.action_bar
    width = bar.geometry().width()
    assert len(bar.rows(width)) == 1
    assert window.home.side_buttons["priority"].text() == "Priority"


def _colour_inside(widget: QWidget) -> tuple[int, int, int]:
    image = widget.grab().toImage()
    colour = image.pixelColor(image.width() // 12, image.height() // 2)
    return colour.red(), colour.green(), colour.blue()


@pytest.mark.parametrize("large", [False, True])
def test_the_senior_mode_button_is_not_the_colour_of_touch_to_start(build, large):
    window = build(shots.attract, large=large)
    assert _colour_inside(window.attract.elder) != _colour_inside(window.attract.call)


def test_the_attract_screen_says_the_number_will_be_on_screen_while_paper_is_out(build):
    window = build(shots.attract)
    note = window.attract.printer_note
    assert not note.isVisible()
    window.flow.printer_checked(
        PrintOutcome(False, "error", "paper out", "device.printer.paper_out")
    )
    assert note.isVisible()
    assert "打印纸暂缺" in note.message_label.text()
    window.flow.printer_checked(PrintOutcome(False, "offline", "gone", "device.printer.offline"))
    assert "暂时无法打印号票" in note.message_label.text()
    window.flow.printer_checked(PrintOutcome(True, "ok", "ready"))
    assert not note.isVisible()


def test_seven_tiles_leave_no_lonely_tile_the_last_one_spans_the_row(build):
    window = build(shots.home)
    tiles = list(window.home.tiles.values())
    assert len(tiles) == 7
    first_row_right = tiles[2].geometry().right()
    assert tiles[6].geometry().left() == tiles[0].geometry().left()
    assert tiles[6].geometry().right() == first_row_right


def test_the_senior_tiles_fill_the_screen_and_stack_in_portrait(build):
    window = build(shots.elder_home, large=True)
    grid = window.elder_home.grid
    tiles = list(window.elder_home.tiles.values())
    assert min(t.height() for t in tiles) > theme.pixels(True, "tile_min_h")
    assert grid.columns(grid.geometry().width()) == 2
    window.resize(1080, 1920)
    QApplication.processEvents()
    assert grid.columns(grid.geometry().width()) == 1


def test_the_id_card_page_shows_where_the_card_goes(build):
    window = build(shots.idcard)
    picture = window.idcard.picture
    assert picture.isVisible() and picture.height() >= 240
    image = picture.grab().toImage()
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 8) for y in range(0, image.height(), 8)
    }
    assert len(colours) > 3  # something is drawn, not an empty box


def test_a_title_too_long_for_the_switches_row_takes_its_own_row_unbroken(build):
    # Portrait: beside the switches "办理“现金及转账”前请准备" broke as 现金及转/账.
    window = build(shots.guidance, size=(1080, 1920))
    title = window.guidance.title
    assert title.width() >= title.sizeHint().width(), title.text()
    assert title.height() < 2 * title.fontMetrics().lineSpacing()


@pytest.mark.parametrize("large", [False, True])
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("screen", [shots.attract, shots.attract_centre, shots.attract_no_paper])
def test_the_attract_screen_at_1366x768_shows_whole_without_scrolling(build, screen, lang, large):
    """The first screen an elderly customer sees never cuts a sentence at the fold (it cut
    也可将身份证放在感应区快速取号 in half, with a scroll bar beside it)."""
    window = build(screen, lang=lang, large=large, size=LAPTOP)
    attract = window.attract
    assert attract.body.verticalScrollBar().maximum() == 0
    assert fit_problems(window, LAPTOP) == []
    for part in (attract.welcome, attract.call, attract.elder):
        assert (
            attract.body.viewport()
            .rect()
            .contains(QRect(part.mapTo(attract.body.viewport(), QPoint(0, 0)), part.size()))
        ), part
    if screen is shots.attract_no_paper:
        assert attract.printer_note.isVisible()


def test_the_fit_check_fails_an_attract_screen_that_needs_scrolling(build):
    """The check behind the fit test and the pictures catches a scrolling attract screen:
    the old one-column screen, everything shown, at 1366×768 in large text."""
    window = build(shots.attract_centre, large=True, size=LAPTOP)
    attract = window.attract
    attract.panes.setDirection(QBoxLayout.Direction.TopToBottom)
    attract.waiting.show()
    QApplication.processEvents()
    assert any("scrolls" in problem for problem in fit_problems(window, LAPTOP))


def test_the_waits_per_business_stay_where_there_is_room_for_them(build):
    for size in ((1920, 1080), (1080, 1920)):
        window = build(shots.attract_centre, size=size)
        assert window.attract.waiting.isVisible(), size
    assert not build(shots.attract, size=LAPTOP).attract.waiting.isVisible()


def test_the_attract_screen_rearranges_when_the_customer_switches_language_and_size(
    build, qapp, qtbot
):
    """Large English needs more room than normal Chinese: the screen re-fits after each
    switch, not only when the window is resized."""
    window = build(shots.attract_no_paper, size=LAPTOP)
    attract = window.attract
    qtbot.mouseClick(attract.large_text, Qt.MouseButton.LeftButton)
    attract.tr_.set_language("en")
    qtbot.waitUntil(lambda: attract.property("fit") == "tight", timeout=10_000)
    assert attract.body.verticalScrollBar().maximum() == 0
    assert fit_problems(window, LAPTOP) == []
