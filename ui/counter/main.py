"""`python -m ui.counter`: parse the command line, build the counter window, run the Qt loop."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ui import theme
from ui.client import BranchClient
from ui.i18n import LANGUAGES, translator

from .window import CounterWindow


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ui.counter", description="BranchQ teller's counter caller"
    )
    parser.add_argument("--server", required=True, help="queue server, e.g. http://10.0.0.2:8470")
    parser.add_argument("--token", required=True, help="this counter's device token (counter:N)")
    parser.add_argument("--counter", required=True, type=int, help="the counter's number")
    parser.add_argument("--staff", default="", help="pre-fill this staff id on the sign-in screen")
    parser.add_argument("--language", choices=LANGUAGES, default="zh", help="start in (zh)")
    parser.add_argument("--fullscreen", action="store_true", help="fill the screen")
    parser.add_argument(
        "--geometry", type=geometry, help="window size and place, WxH+X+Y (default 1366x768)"
    )
    parser.add_argument(
        "--ready-file", help="write this file (the process id) once the window is shown"
    )
    return parser.parse_args(argv)


def geometry(text: str) -> tuple[int, int, int, int]:
    """`WxH+X+Y` (as X11's -geometry) → (width, height, x, y)."""
    found = re.fullmatch(r"(\d+)x(\d+)\+(\d+)\+(\d+)", text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"not WxH+X+Y: {text!r}")
    width, height, x, y = (int(g) for g in found.groups())
    return width, height, x, y


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = QApplication(sys.argv[:1])
    theme.apply_theme(app, variant="staff")
    translator().set_language(args.language)
    client = BranchClient(args.server, args.token)
    window = CounterWindow(client, args.counter, staff_id=args.staff)
    client.start()
    if args.fullscreen:
        window.showFullScreen()
    elif args.geometry:
        width, height, x, y = args.geometry
        window.resize(width, height)
        window.move(x, y)
        window.show()
    else:
        window.resize(1366, 768)
        window.show()
    if args.ready_file:  # the first turn of the event loop: the window is up
        ready = Path(args.ready_file)
        QTimer.singleShot(0, lambda: ready.write_text(f"{os.getpid()}\n", encoding="utf-8"))
    code = app.exec()
    client.stop()
    return code
