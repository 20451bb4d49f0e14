"""`python -m ui.manager`: parse the command line, build the console, run the Qt loop."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication

from ui import theme
from ui.i18n import LANGUAGES, translator
from ui.manager.client import ManagerClient
from ui.manager.window import open_console
from ui.staff_app import geometry, show_and_run


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ui.manager", description="BranchQ branch manager's console"
    )
    parser.add_argument("--server", required=True, help="queue server, e.g. http://10.0.0.2:8470")
    parser.add_argument("--token", required=True, help="a manager (or admin) device token")
    parser.add_argument("--language", choices=LANGUAGES, default="zh", help="start in (zh)")
    parser.add_argument(
        "--geometry", type=geometry, help="window size and place, WxH+X+Y (default 1600x900)"
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
    client = ManagerClient(args.server, args.token)
    window = open_console(client)
    client.start()
    return show_and_run(
        app, window, client, size=(1600, 900), place=args.geometry, ready_file=args.ready_file
    )
