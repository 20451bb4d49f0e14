"""Shared widgets as a customer uses them: tap, switch language, read what is shown."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from tools.screenshots.qt import gallery_home, render, render_all
from ui.i18n import Catalog, Translator
from ui.widgets import Banner, BigButton, LanguageToggle, NumberDisplay, TextLabel, Tile

LEFT = Qt.MouseButton.LeftButton
NAMES = {"zh": "开户", "en": "Account opening"}


@pytest.fixture
def tr():
    return Translator(Catalog.load())


@pytest.fixture
def tile(qtbot, tr):
    tile = Tile(NAMES, code="C", translator=tr)
    qtbot.addWidget(tile)
    tile.resize(600, 200)
    tile.show()
    return tile


def test_a_tile_shows_the_name_and_the_wait_and_re_translates_live(qtbot, tr, tile):
    tile.set_wait(8)
    assert (tile.title_label.text(), tile.subtitle_label.text()) == ("开户", "预计等候约 8 分钟")
    with qtbot.waitSignal(tr.languageChanged):
        tr.set_language("en")
    assert (tile.title_label.text(), tile.subtitle_label.text()) == (
        "Account opening",
        "Estimated wait: about 8 min",
    )
    assert tile.accessibleName() == "Account opening, Estimated wait: about 8 min"


def test_a_tile_says_when_there_is_no_wait_or_no_estimate_yet(tile):
    tile.set_wait(0)
    assert tile.subtitle_label.text() == "无需等候"
    tile.set_wait(None)
    assert tile.subtitle_label.text() == "等候时间更新中"


def test_tapping_a_tile_anywhere_clicks_it(qtbot, tile):
    with qtbot.waitSignal(tile.clicked):
        # on the name label: labels let the press through to the tile
        qtbot.mouseClick(tile.title_label, LEFT)


def test_a_closed_tile_says_why_and_ignores_taps(qtbot, tr, tile):
    tile.set_wait(5)
    tile.set_available(False, "kiosk.home.opens_at", time="13:30")
    assert tile.subtitle_label.text() == "13:30 起办理"
    with qtbot.assertNotEmitted(tile.clicked):
        qtbot.mouseClick(tile, LEFT)
    tr.set_language("en")
    assert tile.subtitle_label.text() == "Opens at 13:30"
    tile.set_available(True)
    assert tile.subtitle_label.text() == "Estimated wait: about 5 min"
    assert tile.icon_widget.graphicsEffect() is None


def test_buttons_labels_and_banners_follow_the_language(qtbot, tr):
    button = BigButton("counter.action.call_next", translator=tr)
    label = TextLabel("kiosk.ticket.people_ahead", "heading", translator=tr, count=5)
    banner = Banner("kiosk.printer.fallback", "error", translator=tr, number="A023")
    for widget in (button, label, banner):
        qtbot.addWidget(widget)
    assert (button.text(), label.text()) == ("叫下一位", "前面还有 5 人")
    assert banner.message_label.text() == "请记住您的号码 A023，或用手机拍下本页"
    tr.set_language("en")
    assert (button.text(), label.text()) == ("Call next", "People ahead of you: 5")
    assert banner.message_label.text().startswith("Please remember your number, A023")


def test_a_banner_changes_kind_and_refuses_an_unknown_one(qtbot, tr):
    banner = Banner("counter.offline", "warning", translator=tr)
    qtbot.addWidget(banner)
    assert (banner.property("kind"), banner.badge.text()) == ("warning", "!")
    banner.set_message("counter.reconnected", "info")
    assert (banner.property("kind"), banner.message_label.text()) == ("info", "已恢复连接")
    with pytest.raises(ValueError, match="banner kind"):
        banner.set_message("counter.offline", "panic")


def test_the_number_display_shows_the_ticket(qtbot):
    number = NumberDisplay("A023")
    qtbot.addWidget(number)
    number.set_number("B105")
    assert number.text() == "B105" and number.accessibleName() == "B105"


def test_the_language_toggle_switches_and_always_offers_english_in_english(qtbot, tr):
    toggle = LanguageToggle(translator=tr)
    qtbot.addWidget(toggle)
    toggle.show()
    assert [b.text() for b in toggle.buttons.values()] == ["中文", "English"]
    assert toggle.buttons["zh"].isChecked()
    with qtbot.waitSignal(tr.languageChanged) as blocker:
        qtbot.mouseClick(toggle.buttons["en"], LEFT)
    assert blocker.args == ["en"] and toggle.buttons["en"].isChecked()
    assert [b.text() for b in toggle.buttons.values()] == ["中文", "English"]
    tr.set_language("zh")  # switched from elsewhere (another screen's toggle)
    assert toggle.buttons["zh"].isChecked()


def test_render_writes_a_png_of_the_requested_size(qtbot, tmp_path, tr):
    page = gallery_home(tr)
    qtbot.addWidget(page)
    path = render(page, tmp_path / "home.png", size=(1280, 720))
    image = QImage(str(path))
    assert path.stat().st_size > 10_000
    assert (image.width(), image.height()) == (1280, 720)


def test_the_screenshot_command_renders_both_languages_and_sizes(qapp, tmp_path):
    try:
        written = render_all(tmp_path, only="widgets-ticket")
    finally:
        qapp.setStyleSheet("")
        qapp.setProperty("branchqLargeText", None)
    assert sorted(p.name for p in written) == [
        f"widgets-ticket-{lang}-{size}-1920x1080.png"
        for lang in ("en", "zh")
        for size in ("large", "normal")
    ]
    assert all(QImage(str(p)).size().toTuple() == (1920, 1080) for p in written)


def test_the_screenshot_command_removes_the_pictures_of_its_screens_it_no_longer_draws(
    qapp, tmp_path
):
    stale = [
        "widgets-ticket-zh-normal.png",  # the naming before the size was in it
        "widgets-ticket-en-large-1366x768.png",  # a size the screen is no longer drawn at
    ]
    others = [
        "widgets-home-zh-normal-1920x1080.png",  # a screen this run did not select
        "display-landscape.png",  # the browser pages' picture
        "floor-plan.png",  # put there by hand
    ]
    for name in stale + others:
        (tmp_path / name).write_bytes(b"old")
    try:
        written = render_all(tmp_path, only="widgets-ticket")
    finally:
        qapp.setStyleSheet("")
        qapp.setProperty("branchqLargeText", None)
    left = sorted(p.name for p in tmp_path.glob("*.png"))
    assert left == sorted(others + [p.name for p in written])
