"""`python -m ui.counter`: parse the command line, build the counter window, run the Qt loop."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from ui import theme
from ui.client import BranchClient
from ui.counter.window import open_counter
from ui.i18n import LANGUAGES, translator
from ui.staff_app import geometry, show_and_run


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


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = QApplication(sys.argv[:1])
    theme.apply_theme(app, variant="staff")
    translator().set_language(args.language)
    client = BranchClient(args.server, args.token)
    settings = QSettings("BranchQ", f"counter-{args.counter}")
    window = open_counter(client, args.counter, staff_id=args.staff, settings=settings)
    client.start()
    QTimer.singleShot(0, window.restore_mode)  # once the window is up: as the teller left it
    return show_and_run(
        app,
        window,
        client,
        size=(1366, 768),
        place=args.geometry,
        fullscreen=args.fullscreen,
        ready_file=args.ready_file,
    )
