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

from devices.audio import audio_for_url
from kiosk.app import open_kiosk
from kiosk.peripherals import KioskPeripherals
from kiosk.printing import TicketPrinting
from kiosk.voice import VoiceMode
from ui import theme
from ui.client import BranchClient

log = logging.getLogger("kiosk")


def _volume(text: str) -> int:
    try:
        level = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= level <= 100:
        raise argparse.ArgumentTypeError(f"{level} is not 0 to 100")
    return level


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
        "--audio",
        default="none://",
        help="speaker for voice prompts: alsa://default, alsa://plughw:1,0, sim://?dir=/tmp/voice"
        " (default none://: silent)",
    )
    parser.add_argument(
        "--volume",
        type=_volume,
        default=None,
        help="speaker volume 0-100 (default 80; staff change it on the maintenance screen)",
    )
    parser.add_argument(
        "--voice",
        choices=[m.value for m in VoiceMode],
        default=VoiceMode.ELDER.value,
        help="elder: prompts in senior mode, the ID-card reminder for everyone (default); "
        "always: every prompt for every customer",
    )
    parser.add_argument(
        "--elder-services",
        type=lambda text: [c.strip() for c in text.split(",") if c.strip()],
        default=[],
        help="business codes of the senior-mode tiles in order, e.g. A,B,D "
        "(default: the branch's first four)",
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
    if not args.self_test:
        try:
            audio_for_url(args.audio).close()  # a malformed URL is a start-up error
        except ValueError as exc:
            parser.error(f"--audio: {exc}")
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
    audio = audio_for_url(args.audio, volume=args.volume)
    window = open_kiosk(
        client,
        printing,
        device_name=args.name,
        live_page_base=args.live_url,
        peripherals=peripherals,
        maintenance_pin=args.maintenance_pin,
        lockdown=args.lockdown,
        audio=audio,
        voice_mode=VoiceMode(args.voice),
        elder_services=args.elder_services,
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
    audio.close()
    return code
