"""Renders BranchQ's screens offscreen to PNG files, to be looked at (`make screenshots`).

`render(widget, path)` grabs one widget at kiosk resolution. `main()` renders every
registered screen in both languages, both text sizes and at each of its screen sizes to
`docs/screenshots/`, named `<screen>-<zh|en>-<normal|large>-<W>x<H>.png`. This module
registers the shared-widget gallery (`widgets-*`); the kiosk, counter and manager apps add
their screens by providing a module listed in `SCREEN_MODULES` with a function `screens()`
that returns `Screen` entries.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tools.screenshots.qt [--out DIR] [--only NAME]
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QMessageLogContext,
    QSize,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from tools.screenshots.fit import Overflow, assert_fits, lay_out
from tools.screenshots.stale import QT_NAME, qt_screen_name, remove_stale
from ui import theme
from ui.assets import ASSETS
from ui.i18n import LANGUAGES, Catalog, Translator
from ui.reflow import BarLayout, ReflowLayout, ScrollBody
from ui.widgets import (
    Banner,
    BigButton,
    LanguageToggle,
    LargeTextToggle,
    NumberDisplay,
    TextLabel,
    Tile,
)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "docs" / "screenshots"
# Modules that add screens to the gallery; one that does not exist yet is skipped.
# The shared-widget gallery of this module always comes first.
SCREEN_MODULES = (
    "tools.screenshots.kiosk",
    "tools.screenshots.counter",
    "tools.screenshots.manager",
)


FULL_HD = (1920, 1080)
LAPTOP = (1366, 768)
PORTRAIT = (1080, 1920)  # the usual standing Chinese 取号机
SQUARE_ISH = (1280, 1024)
# The screens a kiosk is sold with; the fit test lays every kiosk screen out on all of them.
KIOSK_SIZES = (FULL_HD, PORTRAIT, LAPTOP, SQUARE_ISH)
# The ones `make screenshots` draws (1280×1024 is left to the fit test).
KIOSK_PICTURE_SIZES = (FULL_HD, PORTRAIT, LAPTOP)


@dataclass(frozen=True)
class Screen:
    """One screen to render: `build(translator)` returns the widget, ready to grab, and it
    is drawn at each of `sizes`."""

    name: str
    build: Callable[[Translator], QWidget]
    sizes: Sequence[tuple[int, int]] = (FULL_HD,)
    languages: Sequence[str] = LANGUAGES
    large_variants: Sequence[bool] = (False, True)

    @property
    def size(self) -> tuple[int, int]:
        """The first of `sizes` (the one a tool that knows a single size uses)."""
        return self.sizes[0]


def render(widget: QWidget, path: Path | str, size: tuple[int, int] = (1920, 1080)) -> Path:
    """Lay `widget` out at `size` offscreen and save exactly what it shows as a PNG.

    A screen that does not fit `size` raises `Overflow` and writes nothing: a picture must
    show what the screen shows, never a squashed copy of a bigger window."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lay_out(widget, size)
    assert_fits(widget, size, path.stem)
    pixmap = widget.grab()
    pixmap.setDevicePixelRatio(1.0)
    if pixmap.size() != QSize(*size):
        raise Overflow(f"{path.stem}: grabbed {pixmap.width()}×{pixmap.height()}, not {size}")
    if not pixmap.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    widget.hide()
    return path


# ---- the shared-widget gallery --------------------------------------------------------


def demo_config() -> dict[str, Any]:
    """The demo branch's TOML, which every app's screenshots are built from."""
    with (ASSETS / "demo_branch.toml").open("rb") as f:
        return tomllib.load(f)


def demo_services() -> list[dict[str, object]]:
    """The demo branch's businesses (code, names), so the gallery shows real names."""
    services: list[dict[str, object]] = demo_config()["services"]
    return services


def snapshot_services(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The branch TOML's businesses as a server snapshot lists them."""
    return [
        {
            "code": s["code"],
            "prefix": s["code"],
            "names": s["names"],
            "target_wait_s": int(s.get("target_wait_min", 10) * 60),
            "mean_service_s": int(s.get("mean_min", 5) * 60),
            "guidance": s.get("guidance", {}),
            "needs_form": bool(s.get("needs_form", False)),
            "fast_lane": False,
            "visible": bool(s.get("visible", True)),
            "enabled": True,
            "opens": None,
            "closes": None,
            "sort": i,
        }
        for i, s in enumerate(config["services"])
    ]


def _screen(tr: Translator, title: str) -> tuple[QWidget, QVBoxLayout, BarLayout]:
    """A page as the kiosk builds one: fixed title bar, scrolling body, fixed action bar;
    returns the page, the body's column and the action bar."""
    page = QWidget()
    page.setObjectName("screen")
    outer = QVBoxLayout(page)
    outer.setContentsMargins(48, 28, 48, 28)
    outer.setSpacing(20)
    bar = BarLayout(spacing=16, gap=16)
    outer.addLayout(bar)
    bar.add(TextLabel(title, "title", translator=tr), "start", expand=True, share=0.4)
    bar.add(LanguageToggle(translator=tr), "end")
    bar.add(LargeTextToggle(translator=tr), "end")
    body = ScrollBody()
    body.column.setSpacing(24)
    outer.addWidget(body, 1)
    actions = BarLayout(spacing=24, gap=48)
    outer.addLayout(actions)
    return page, body.column, actions


def gallery_home(tr: Translator) -> QWidget:
    """Tiles (one closed), banners and the switches, as the home screen will use them."""
    page, column, actions = _screen(tr, "kiosk.home.title")
    column.addWidget(Banner("kiosk.offline.title", "warning", translator=tr))
    grid = ReflowLayout(cell_width=theme.pixels(theme.is_large_text(), "tile_min_w"))
    column.addLayout(grid)
    services = demo_services()
    waits = [8, 3, 25, 0, None]
    for index, service in enumerate(services):
        names = service["names"]
        assert isinstance(names, dict)
        tile = Tile(names, code=str(service["code"]), translator=tr)
        tile.set_wait(waits[index % len(waits)])
        grid.addWidget(tile)
    closed = Tile({"zh": "外汇业务", "en": "Foreign exchange"}, code="X", translator=tr)
    closed.set_available(False, "kiosk.home.opens_at", time="13:30")
    grid.addWidget(closed)
    column.addWidget(TextLabel("kiosk.home.subtitle", "hint", translator=tr))
    column.addStretch(1)
    actions.add(BigButton("kiosk.home.appointment", "secondary", translator=tr), "middle")
    actions.add(BigButton("kiosk.home.priority", "secondary", translator=tr), "middle")
    actions.add(BigButton("common.help", "secondary", translator=tr), "end")
    return page


def gallery_ticket(tr: Translator) -> QWidget:
    """The ticket number, text roles, every banner kind and the button roles."""
    page, column, actions = _screen(tr, "kiosk.ticket.title")
    column.addWidget(TextLabel("kiosk.ticket.your_number", "heading", centred=True, translator=tr))
    column.addWidget(NumberDisplay("A023"))
    column.addWidget(
        TextLabel("kiosk.ticket.people_ahead", "heading", centred=True, translator=tr, count=5)
    )
    column.addWidget(TextLabel("kiosk.ticket.mobile_hint", "hint", centred=True, translator=tr))
    column.addStretch(1)
    column.addWidget(Banner("kiosk.ticket.take_ticket", "info", translator=tr))
    column.addWidget(Banner("kiosk.printer.fallback", "error", translator=tr, number="A023"))
    actions.add(BigButton("common.home", "secondary", translator=tr), "start")
    actions.add(BigButton("common.done", "primary", translator=tr), "end")
    return page


def screens() -> list[Screen]:
    """The pictures this module contributes: the shared widgets."""
    return [
        Screen("widgets-home", gallery_home),
        Screen("widgets-ticket", gallery_ticket),
    ]


def all_screens(modules: Iterable[str] = SCREEN_MODULES) -> list[Screen]:
    found = screens()
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name is not None and name.startswith(missing.name):
                continue  # that app has no screens yet
            raise  # the module exists but one of *its* imports is broken: say so
        found.extend(module.screens())
    return found


def render_all(out: Path, only: str | None = None) -> list[Path]:
    """Render every screen × language × text size × screen size; return the files written.

    Once all are drawn, the pictures of these screens that the run did not draw (a size or
    screen dropped, an old name) are removed; a whole run removes every Qt-named picture it
    did not draw, so `out` never shows a screen the code no longer has."""
    app = QApplication.instance()
    assert isinstance(app, QApplication), "create the QApplication first"
    written = []
    chosen = [screen for screen in all_screens() if not only or only in screen.name]
    for screen in chosen:
        for large in screen.large_variants:
            theme.apply_theme(app, large)
            for lang in screen.languages:
                tr = Translator(Catalog.load(language=lang))
                # Built once and laid out at every size, as a window is when the screen
                # it is on changes: the layout must follow, not only start right.
                widget = screen.build(tr)
                variant = "large" if large else "normal"
                for width, height in screen.sizes:
                    name = f"{screen.name}-{lang}-{variant}-{width}x{height}.png"
                    written.append(render(widget, out / name, (width, height)))
                widget.close()
                widget.deleteLater()
                # processEvents() never runs deferred deletes: without this every screen
                # stays alive, and each theme switch restyles all of them.
                QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    theme.apply_theme(app, False)
    owned = [qt_screen_name(screen.name) for screen in chosen] if only else [QT_NAME]
    for path in remove_stale(out, written, owned):
        print(f"removed {path.name} (no longer drawn)")
    return written


def _quiet_offscreen_noise(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    # The offscreen platform warns on every shown window that it cannot resize to hints;
    # that says nothing about the screens. Everything else (a stylesheet that does not
    # parse, a missing image) must still be seen.
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots.qt", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the PNGs")
    parser.add_argument("--only", help="render only screens whose name contains this")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    qInstallMessageHandler(_quiet_offscreen_noise)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    for path in render_all(args.out, args.only):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
