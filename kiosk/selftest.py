"""`python -m kiosk --self-test`: start the real kiosk, see it reach the attract screen, exit.

It proves a build (the PyInstaller bundle or a fresh checkout) has everything the kiosk
needs at run time. The kiosk starts as `main()` starts it (theme, catalogs, client,
printer, window) against a server that does not answer, so the first screen stays the
attract screen. Once that screen has painted, it checks what the start-up did not
necessarily touch: every catalog key the kiosk's screens name resolves, every icon renders,
the device libraries import and the voice prompts' clips are all there. Success is one line
on stdout,
`self-test ok: attract screen in 0.84 s` (seconds since the process started), exit 0;
any failure is one `self-test FAILED: …` line on stderr and exit 1, within TIME_LIMIT_S.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys
import time
import types
from collections.abc import Iterable, Iterator
from pathlib import Path

# Port 9 is "discard": nothing listens there, so the kiosk starts as with its server down.
UNREACHABLE_SERVER = "http://127.0.0.1:9"
TIME_LIMIT_S = 20.0
# Libraries the kiosk's devices use that its start-up does not import (camera, scanners).
DEVICE_LIBRARIES = ("cv2", "pyzbar.pyzbar", "serial", "escpos.printer", "qrcode", "PIL.Image")
_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_FILE_SUFFIXES = {"qss", "json", "toml", "svg", "png", "py", "txt"}
_MODULE_STARTED = time.perf_counter()


class SelfTestFailed(Exception):
    """What the self-test found wrong, in words for whoever installs the kiosk."""


def seconds_since_process_start() -> float:
    """How long this process has existed (Linux /proc; else since this module loaded)."""
    try:
        stat = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(stat[19]) / os.sysconf("SC_CLK_TCK")
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - started)
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _MODULE_STARTED


def use_offscreen_without_display() -> None:
    """A kiosk checked over SSH or in CI has no screen: render offscreen rather than abort."""
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("QT_QPA_PLATFORM")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _strings(code: types.CodeType) -> Iterator[str]:
    for const in code.co_consts:
        if isinstance(const, str):
            yield const
        elif isinstance(const, types.CodeType):
            yield from _strings(const)
        elif isinstance(const, tuple | frozenset):
            yield from (c for c in const if isinstance(c, str))


def catalog_keys_used(module_names: Iterable[str], namespaces: set[str]) -> dict[str, set[str]]:
    """String constants in the given modules' code that look like catalog keys, per module.

    Read from the compiled code, so it works in the bundle too, where there is no source.
    A key is a dotted lower-case name whose first part is one the catalogs use (`kiosk.`,
    `common.`, `device.` …); file names such as `kiosk.qss` are not keys.
    """
    found: dict[str, set[str]] = {}
    for name in module_names:
        module = sys.modules.get(name) or importlib.import_module(name)
        loader = getattr(module, "__loader__", None)
        get_code = getattr(loader, "get_code", None)
        code = get_code(name) if get_code is not None else None
        if code is None:
            continue
        keys = {
            s
            for s in _strings(code)
            if _KEY.match(s)
            and s.split(".", 1)[0] in namespaces
            and s.rsplit(".", 1)[1] not in _FILE_SUFFIXES
        }
        if keys:
            found[name] = keys
    return found


def kiosk_modules() -> list[str]:
    """The loaded modules that make up the kiosk's screens (kiosk.*, ui.*), not this one."""
    return sorted(
        name
        for name in list(sys.modules)
        if name.split(".", 1)[0] in ("kiosk", "ui") and name != __name__
    )


def check_catalogs(catalog: object) -> None:
    """Every key the kiosk's code names has a text in every language (or the fallback)."""
    from ui.i18n import FALLBACK_LANGUAGE, LANGUAGES, Catalog

    assert isinstance(catalog, Catalog)
    known = catalog.keys()
    namespaces = {key.split(".", 1)[0] for key in known}
    fallback = catalog.messages.get(FALLBACK_LANGUAGE, {})
    problems = []
    for module, keys in catalog_keys_used(kiosk_modules(), namespaces).items():
        for key in sorted(keys):
            bare = [
                lang
                for lang in LANGUAGES
                if key not in catalog.messages.get(lang, {}) and key not in fallback
            ]
            if bare:
                problems.append(f"{key} (in {module}; no text in {'/'.join(bare)})")
    problems += [f"{key} (asked for at run time)" for key in sorted(catalog.unknown_keys)]
    if problems:
        raise SelfTestFailed("catalog keys without a text: " + ", ".join(problems))


def check_icons() -> int:
    """Render every icon once; returns how many there are."""
    from PySide6.QtSvg import QSvgRenderer

    from ui import theme

    paths = set(theme.ICON_DIR.glob("*.svg"))
    paths |= {theme.service_icon(code) for code in theme.SERVICE_ICONS}
    if not paths:
        raise SelfTestFailed(f"no icons in {theme.ICON_DIR}")
    broken = sorted(str(p) for p in paths if not QSvgRenderer(str(p)).isValid())
    if broken:
        raise SelfTestFailed("icons that do not load: " + ", ".join(broken))
    return len(paths)


def check_device_libraries() -> None:
    missing = []
    for name in DEVICE_LIBRARIES:
        try:
            importlib.import_module(name)
        except (ImportError, OSError) as exc:  # pyzbar raises ImportError without libzbar
            missing.append(f"{name} ({exc})")
    if missing:
        raise SelfTestFailed(
            "device libraries that do not load: "
            + "; ".join(missing)
            + " (libzbar: sudo apt-get install -y libzbar0)"
        )


def check_voice_pack() -> None:
    """Every clip of the voice prompts is there and in the pack's format (and the audio
    backends import), so senior mode can speak from this build."""
    from devices.audio import audio_for_url
    from devices.audio.pack import ClipPack, VoicePackError
    from ui.assets import ASSETS

    try:
        ClipPack(ASSETS / "voice").load_all()
    except VoicePackError as exc:
        raise SelfTestFailed(f"voice prompts: {exc}") from None
    audio_for_url("alsa://default").close()


def run(args: argparse.Namespace) -> int:
    """The self-test as `python -m kiosk --self-test [--printer URL] …` runs it."""
    try:
        seconds = _run(args)
    except SelfTestFailed as exc:
        print(f"self-test FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    except Exception as exc:  # anything at all: the message is the point
        print(f"self-test FAILED: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"self-test ok: attract screen in {seconds:.2f} s", flush=True)
    return 0


def _run(args: argparse.Namespace) -> float:
    use_offscreen_without_display()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from kiosk.app import open_kiosk
    from kiosk.flow import Screen
    from kiosk.printing import TicketPrinting
    from ui import theme
    from ui.client import BranchClient

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    theme.apply_theme(app, args.large_text)
    client = BranchClient(args.server or UNREACHABLE_SERVER, args.token or "self-test")
    printing = TicketPrinting(args.printer)
    window = open_kiosk(client, printing, device_name=args.name, live_page_base=args.live_url)

    painted: list[float] = []

    def shown() -> None:
        painted.append(seconds_since_process_start())
        app.quit()

    class FirstPaint(QObject):
        """Notes the attract screen's first paint, once the whole pass has been drawn."""

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not self.property("seen"):
                self.setProperty("seen", True)
                QTimer.singleShot(0, shown)
            return False

    watcher = FirstPaint()
    window.attract.installEventFilter(watcher)
    QTimer.singleShot(int(TIME_LIMIT_S * 1000), app.quit)
    try:
        client.start()
        window.check_printer()
        window.resize(1920, 1080)
        window.show()
        app.exec()
        window.attract.removeEventFilter(watcher)
        if not painted:
            raise SelfTestFailed(f"the attract screen was not shown within {TIME_LIMIT_S:.0f} s")
        if window.flow.screen is not Screen.ATTRACT or (
            window.stack.currentWidget() is not window.attract
        ):
            raise SelfTestFailed(f"the first screen was {window.screen_name}, not attract")
        check_catalogs(window.tr_.catalog)
        check_icons()
        check_device_libraries()
        check_voice_pack()
    finally:
        client.stop()
        printing.close()
        window.close()
    return painted[0]
