"""The one stylesheet: parses, draws Chinese, keeps kiosk-size targets, grows in large text."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QRawFont
from PySide6.QtWidgets import QPushButton

from tools.screenshots.qt import gallery_home, gallery_ticket
from ui import theme
from ui.i18n import CATALOG_DIR, Catalog, Translator
from ui.widgets import BigButton, LargeTextToggle, Tile

PARSE_ERROR = "Could not parse"


@pytest.fixture
def app(qapp):
    """The test app, with the theme taken off again so other tests see plain Qt."""
    yield qapp
    qapp.setStyleSheet("")
    qapp.setProperty(theme.LARGE_PROPERTY, None)


@pytest.fixture
def tr():
    return Translator(Catalog.load())


def parse_errors(qtlog) -> list[str]:
    return [r.message for r in qtlog.records if PARSE_ERROR in r.message]


@pytest.mark.parametrize("large", [False, True])
def test_the_theme_applies_to_every_shared_widget_without_parse_errors(
    app, qtbot, qtlog, tr, large
):
    theme.apply_theme(app, large)
    for build in (gallery_home, gallery_ticket):
        page = build(tr)
        qtbot.addWidget(page)
        page.show()  # stylesheet rules are parsed when widgets are polished
        app.processEvents()
    assert "${" not in theme.stylesheet(large)
    assert parse_errors(qtlog) == []


def test_the_parse_check_would_catch_a_broken_sheet(app, qtbot, qtlog):
    button = QPushButton("x")
    qtbot.addWidget(button)
    app.setStyleSheet("QPushButton { color: red ")  # unterminated block
    button.show()
    app.processEvents()
    assert parse_errors(qtlog) != []


def test_both_variants_fill_the_same_slots():
    assert theme.variables(False).keys() == theme.variables(True).keys()


def test_kiosk_size_floors_hold_and_large_text_is_larger_everywhere():
    assert theme.pixels(False, "body_px") >= 28
    assert theme.pixels(False, "small_px") >= 28
    assert theme.pixels(False, "button_min_h") >= 72
    assert theme.pixels(False, "tile_min_h") >= 160
    assert theme.pixels(False, "number_px") >= 200
    sizes = [n for n, v in theme.variables(False).items() if v.endswith("px") and n != "radius"]
    smaller = [n for n in sizes if theme.pixels(True, n) < theme.pixels(False, n)]
    assert smaller == []


def test_the_cjk_font_is_registered_and_draws_every_chinese_text(app):
    family = theme.ensure_cjk_font()
    assert family == "WenQuanYi Micro Hei"
    font = QFont(family)
    font.setPixelSize(28)
    assert QRawFont.fromFont(font).familyName() == family  # not silently substituted
    # QRawFont asks the one font file; QFontMetrics would also count fallback fonts.
    raw = QRawFont.fromFont(font)
    texts = json.loads((CATALOG_DIR / "zh.json").read_text(encoding="utf-8")).values()
    missing = sorted({ch for text in texts for ch in text if not raw.supportsCharacter(ord(ch))})
    assert missing == []
    assert not raw.supportsCharacter(0x1F600)  # the check can fail: no emoji here


def test_a_missing_cjk_font_fails_with_the_install_command(app, monkeypatch):
    monkeypatch.setattr(theme, "CJK_FAMILY", "No Such Font 无此字体")
    monkeypatch.setattr(theme, "CJK_FONT_FILES", ())
    monkeypatch.delenv("BRANCHQ_CJK_FONT", raising=False)
    with pytest.raises(theme.MissingFontError, match="apt-get install -y fonts-wqy-microhei"):
        theme.apply_theme(app, False)


def test_large_text_makes_a_tile_and_a_button_bigger(app, qtbot, tr):
    tile = Tile({"zh": "开户", "en": "Account opening"}, code="C", translator=tr)
    button = BigButton("common.ok", translator=tr)
    for widget in (tile, button):
        qtbot.addWidget(widget)
        widget.show()

    def measure():
        app.processEvents()
        return (tile.minimumHeight(), tile.title_label.font().pixelSize(),
                button.minimumHeight(), button.font().pixelSize())  # fmt: skip

    theme.apply_theme(app, False)
    normal = measure()
    assert normal[0] >= 160 and normal[2] >= 72 and normal[1] >= 28
    theme.apply_theme(app, True)
    large = measure()
    assert all(big > small for big, small in zip(large, normal, strict=True)), (normal, large)


def test_the_large_text_button_switches_the_app_and_every_other_toggle_follows(app, qtbot, tr):
    theme.apply_theme(app, False)
    here, elsewhere = LargeTextToggle(translator=tr), LargeTextToggle(translator=tr)
    for toggle in (here, elsewhere):
        qtbot.addWidget(toggle)
        toggle.show()
    assert here.text().endswith("大字模式")
    with qtbot.waitSignal(theme.theme_state().largeTextChanged) as blocker:
        qtbot.mouseClick(here, Qt.MouseButton.LeftButton)
    assert blocker.args == [True]
    assert theme.is_large_text(app)
    assert elsewhere.isChecked() and elsewhere.text() == "标准字体"
    with qtbot.waitSignal(theme.theme_state().largeTextChanged) as blocker:
        qtbot.mouseClick(elsewhere, Qt.MouseButton.LeftButton)
    assert blocker.args == [False]
    assert not here.isChecked() and not theme.is_large_text(app)


def test_every_service_gets_an_icon_file():
    for code in ("A", "B", "C", "L", "W", "unknown"):
        assert theme.service_icon(code).is_file()
    assert theme.icon_path("no-such-icon").name == "other.svg"
