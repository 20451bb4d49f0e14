"""`python -m kiosk`: parse the command line, build the kiosk window, run the Qt loop."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from kiosk.app import open_kiosk
from kiosk.peripherals import KioskPeripherals
from kiosk.printing import TicketPrinting
from ui import theme
from ui.client import BranchClient

log = logging.getLogger("kiosk")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m kiosk", description="BranchQ customer kiosk")
    parser.add_argument("--server", help="queue server, e.g. http://10.0.0.2:8470 (required)")
    parser.add_argument("--token", help="this kiosk's device token, role kiosk (required)")
    parser.add_argument("--printer", help="ticket printer URL, e.g. escpos+tcp://10.0.0.5:9100")
    parser.add_argument("--name", default="kiosk-1", help="device name reported to the server")
    parser.add_argument(
        "--live-url",
        help="base of the customer's live ticket page as phones reach it (default: --server)",
    )
    parser.add_argument(
        "--idcard", help="ID card reader URL, e.g. sdt+serial:///dev/ttyUSB0?baud=115200"
    )
    parser.add_argument(
        "--scanner",
        action="append",
        default=[],
        help="QR scanner URL, repeatable: camera://0, file://qr.avi?loop=1, "
        "scanner+serial:///dev/ttyACM0 (USB scanners that type are caught without one)",
    )
    parser.add_argument(
        "--maintenance-pin",
        default=os.environ.get("BRANCHQ_MAINTENANCE_PIN", ""),
        help="PIN for the maintenance screen (default: $BRANCHQ_MAINTENANCE_PIN; "
        "none: no maintenance screen)",
    )
    parser.add_argument("--fullscreen", action="store_true", help="fill the screen, no frame")
    parser.add_argument(
        "--lockdown",
        action="store_true",
        help="full screen, no frame, cannot be closed except from the maintenance screen",
    )
    parser.add_argument("--large-text", action="store_true", help="start in large-text mode")
    parser.add_argument(
        "--ready-file", help="write this file (the process id) once the attract screen is shown"
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="start (offscreen without a display), check the attract screen, texts and icons, "
        "exit 0 or 1; needs no --server or --token",
    )
    args = parser.parse_args(argv)
    missing = [f"--{name}" for name in ("server", "token") if not getattr(args, name)]
    if missing and not args.self_test:
        parser.error(f"the following arguments are required: {', '.join(missing)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.self_test:
        from kiosk.selftest import run

        return run(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = QApplication(sys.argv[:1])
    theme.apply_theme(app, args.large_text)
    client = BranchClient(args.server, args.token)
    if args.lockdown and not args.maintenance_pin:
        log.warning("lockdown without a maintenance PIN: only stopping the process ends it")
    printing = TicketPrinting(args.printer)
    peripherals = KioskPeripherals(args.idcard, args.scanner)
    window = open_kiosk(
        client,
        printing,
        device_name=args.name,
        live_page_base=args.live_url,
        peripherals=peripherals,
        maintenance_pin=args.maintenance_pin,
        lockdown=args.lockdown,
    )
    client.start()
    peripherals.start()
    window.check_printer()
    window.show_kiosk(args.fullscreen)
    if args.ready_file:  # the first turn of the event loop: the window is up
        ready = Path(args.ready_file)
        QTimer.singleShot(0, lambda: ready.write_text(f"{os.getpid()}\n", encoding="utf-8"))
    code = app.exec()
    peripherals.stop()
    client.stop()
    printing.close()
    return code
