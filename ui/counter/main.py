"""`python -m ui.counter`: parse the command line, build the counter window, run the Qt loop."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

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
    return parser.parse_args(argv)


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
    else:
        window.resize(1366, 768)
        window.show()
    code = app.exec()
    client.stop()
    return code
