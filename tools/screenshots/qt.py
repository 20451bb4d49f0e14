"""Renders BranchQ's screens offscreen to PNG files, to be looked at (`make screenshots`).

`render(widget, path)` grabs one widget at kiosk resolution. `main()` renders every
registered screen in both languages and both text sizes to `docs/screenshots/`, named
`<screen>-<zh|en>-<normal|large>.png`. This module registers the shared-widget gallery
(`widgets-*`); the kiosk, counter and manager apps add their screens by providing a module
listed in `SCREEN_MODULES` with a function `screens()` that returns `Screen` entries.

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
from PySide6.QtWidgets import QApplication, QGridLayout, QHBoxLayout, QVBoxLayout, QWidget

from tools.screenshots.fit import Overflow, assert_fits, lay_out
from ui import theme
from ui.assets import ASSETS
from ui.i18n import LANGUAGES, Catalog, Translator
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


@dataclass(frozen=True)
class Screen:
    """One picture to render: `build(translator)` returns the widget, ready to grab."""

    name: str
    build: Callable[[Translator], QWidget]
    size: tuple[int, int] = (1920, 1080)
    languages: Sequence[str] = LANGUAGES
    large_variants: Sequence[bool] = (False, True)


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


def _top_bar(tr: Translator, title: str) -> QHBoxLayout:
    bar = QHBoxLayout()
    bar.addWidget(TextLabel(title, "title", translator=tr), 1)
    bar.addWidget(LanguageToggle(translator=tr))
    bar.addSpacing(16)
    bar.addWidget(LargeTextToggle(translator=tr))
    return bar


def _screen(tr: Translator, title: str) -> tuple[QWidget, QVBoxLayout]:
    page = QWidget()
    page.setObjectName("screen")
    column = QVBoxLayout(page)
    column.setContentsMargins(48, 36, 48, 36)
    column.setSpacing(24)
    column.addLayout(_top_bar(tr, title))
    return page, column


def gallery_home(tr: Translator) -> QWidget:
    """Tiles (one closed), banners and the switches, as the home screen will use them."""
    page, column = _screen(tr, "kiosk.home.title")
    column.addWidget(Banner("kiosk.offline.title", "warning", translator=tr))
    grid = QGridLayout()
    grid.setSpacing(24)
    services = demo_services()
    waits = [8, 3, 25, 0, None]
    for index, service in enumerate(services):
        names = service["names"]
        assert isinstance(names, dict)
        tile = Tile(names, code=str(service["code"]), translator=tr)
        tile.set_wait(waits[index % len(waits)])
        grid.addWidget(tile, index // 3, index % 3)
    closed = Tile({"zh": "外汇业务", "en": "Foreign exchange"}, code="X", translator=tr)
    closed.set_available(False, "kiosk.home.opens_at", time="13:30")
    grid.addWidget(closed, len(services) // 3, len(services) % 3)
    column.addLayout(grid)
    column.addWidget(TextLabel("kiosk.home.subtitle", "hint", translator=tr))
    column.addStretch(1)
    buttons = QHBoxLayout()
    buttons.addWidget(BigButton("kiosk.home.appointment", "secondary", translator=tr))
    buttons.addWidget(BigButton("kiosk.home.priority", "secondary", translator=tr))
    buttons.addStretch(1)
    buttons.addWidget(BigButton("common.help", "secondary", translator=tr))
    column.addLayout(buttons)
    return page


def gallery_ticket(tr: Translator) -> QWidget:
    """The ticket number, text roles, every banner kind and the button roles."""
    page, column = _screen(tr, "kiosk.ticket.title")
    column.addWidget(TextLabel("kiosk.ticket.your_number", "heading", centred=True, translator=tr))
    column.addWidget(NumberDisplay("A023"))
    column.addWidget(
        TextLabel("kiosk.ticket.people_ahead", "heading", centred=True, translator=tr, count=5)
    )
    column.addWidget(TextLabel("kiosk.ticket.mobile_hint", "hint", centred=True, translator=tr))
    column.addStretch(1)
    column.addWidget(Banner("kiosk.ticket.take_ticket", "info", translator=tr))
    column.addWidget(Banner("kiosk.printer.fallback", "error", translator=tr, number="A023"))
    buttons = QHBoxLayout()
    buttons.addWidget(BigButton("common.home", "secondary", translator=tr))
    buttons.addStretch(1)
    buttons.addWidget(BigButton("common.done", "primary", translator=tr))
    column.addLayout(buttons)
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
    """Render every screen × language × text size; return the files written."""
    app = QApplication.instance()
    assert isinstance(app, QApplication), "create the QApplication first"
    written = []
    for screen in all_screens():
        if only and only not in screen.name:
            continue
        for large in screen.large_variants:
            theme.apply_theme(app, large)
            for lang in screen.languages:
                tr = Translator(Catalog.load(language=lang))
                widget = screen.build(tr)
                variant = "large" if large else "normal"
                written.append(
                    render(widget, out / f"{screen.name}-{lang}-{variant}.png", screen.size)
                )
                widget.close()
                widget.deleteLater()
                # processEvents() never runs deferred deletes: without this every screen
                # stays alive, and each theme switch restyles all of them.
                QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    theme.apply_theme(app, False)
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
