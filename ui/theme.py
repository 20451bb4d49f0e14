"""The look of every BranchQ Qt app: one stylesheet, a normal and a large-text variant.

`assets/theme/kiosk.qss` is a template; `assets/theme/variants.toml` holds the values for
its `${name}` slots, once for `[normal]` (calm bank palette) and once for `[large]` (large
text and high contrast), plus `[staff]`, a compact variant for the staff apps on a shared
desktop (`apply_theme(app, variant="staff")`). `apply_theme(app, large)` fills the template
and applies it to the whole application, so switching variant at run time is one call and
every open screen follows; `theme_state().largeTextChanged` tells widgets that care (the
toggles on every screen) which variant is showing.

Chinese text needs a CJK font. BranchQ uses the system font "WenQuanYi Micro Hei"
(Debian/Ubuntu `fonts-wqy-microhei`, Apache-2.0 or GPL-3.0) and never a web
font; `ensure_cjk_font()` finds it or registers it from a file, and fails with the install
command instead of letting the kiosk show empty boxes.
"""

from __future__ import annotations

import os
import string
import tomllib
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from ui.assets import ASSETS

THEME_DIR = ASSETS / "theme"
ICON_DIR = THEME_DIR / "icons"
CJK_FAMILY = "WenQuanYi Micro Hei"
# Where the font file lives when fontconfig does not already know it (a bundled kiosk, a
# minimal container). BRANCHQ_CJK_FONT names a file explicitly.
CJK_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
)
# Icons for the demo branch's businesses by service code; a code not listed gets "other".
SERVICE_ICONS = {
    "A": "cash",
    "B": "other",
    "C": "account",
    "K": "card",
    "L": "loan",
    "W": "wealth",
}
LARGE_PROPERTY = "branchqLargeText"  # on the QApplication: which variant is applied


class MissingFontError(RuntimeError):
    """The CJK font is not installed: Chinese would render as empty boxes."""


def variables(large: bool, variant: str | None = None) -> dict[str, str]:
    """The `${name}` values for one variant, from `variants.toml` (`variant` overrides)."""
    with (THEME_DIR / "variants.toml").open("rb") as f:
        table = tomllib.load(f)[variant or ("large" if large else "normal")]
    return {name: str(value) for name, value in table.items()}


def stylesheet(large: bool = False, variant: str | None = None) -> str:
    """The filled-in stylesheet; a `${name}` without a value is an error, not a blank."""
    template = string.Template((THEME_DIR / "kiosk.qss").read_text(encoding="utf-8"))
    try:
        return template.substitute(variables(large, variant))
    except KeyError as missing:
        raise ValueError(f"kiosk.qss uses {missing} which variants.toml does not set") from None


def pixels(large: bool, name: str, variant: str | None = None) -> int:
    """A size from the theme as a number (`pixels(False, "tile_min_h")` → 180)."""
    return int(variables(large, variant)[name].removesuffix("px"))


def ensure_cjk_font() -> str:
    """Make sure Qt can draw Chinese with the CJK family; return the family name."""
    if CJK_FAMILY in QFontDatabase.families():
        return CJK_FAMILY
    candidates = [os.environ.get("BRANCHQ_CJK_FONT", ""), *CJK_FONT_FILES]
    for path in filter(None, candidates):
        if Path(path).is_file():
            font_id = QFontDatabase.addApplicationFont(path)
            if font_id >= 0 and CJK_FAMILY in QFontDatabase.applicationFontFamilies(font_id):
                return CJK_FAMILY
    raise MissingFontError(
        f'The Chinese font "{CJK_FAMILY}" is not installed, so Chinese text would show as '
        "empty boxes. Install it with:  sudo apt-get install -y fonts-wqy-microhei  "
        "(or set BRANCHQ_CJK_FONT to the path of wqy-microhei.ttc)."
    )


class ThemeState(QObject):
    """Tells widgets when the large-text variant is switched on or off."""

    largeTextChanged = Signal(bool)


_state: ThemeState | None = None


def theme_state() -> ThemeState:
    global _state
    if _state is None:
        _state = ThemeState()
    return _state


def is_large_text(app: QApplication | None = None) -> bool:
    """Whether the large-text variant is applied to `app` (default: the running app)."""
    app = app or QApplication.instance()  # type: ignore[assignment]
    return bool(app is not None and app.property(LARGE_PROPERTY))


def apply_theme(app: QApplication, large: bool = False, *, variant: str | None = None) -> None:
    """Style the whole application with the normal or the large-text variant, or another
    named one (`variant="staff"`: the compact staff screens, never large)."""
    large = large and variant is None
    family = ensure_cjk_font()
    was_large = is_large_text(app)
    first_time = app.property(LARGE_PROPERTY) is None
    # Fusion draws the same on Windows and Linux and honours every stylesheet rule; the
    # native Windows style ignores some (button backgrounds).
    app.setStyle("Fusion")
    font = QFont(family)
    font.setPixelSize(pixels(large, "body_px", variant))
    app.setFont(font)
    app.setStyleSheet(stylesheet(large, variant))
    app.setProperty(LARGE_PROPERTY, large)
    if first_time or was_large != large:
        theme_state().largeTextChanged.emit(large)


def icon_path(name: str) -> Path:
    """An icon from `assets/theme/icons/` by name (`"cash"`), "other" when there is none."""
    path = ICON_DIR / f"{name}.svg"
    return path if path.is_file() else ICON_DIR / "other.svg"


def service_icon(code: str) -> Path:
    """The icon for a service code (`"A"` → cash)."""
    return icon_path(SERVICE_ICONS.get(code, "other"))
