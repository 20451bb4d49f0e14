"""What the kiosk's window tests share: simulated printer, ID card reader and speaker, and a
kiosk on a live server.

`make_kiosk(base_url, token, **options)` builds a KioskWindow with a real BranchClient and
TicketPrinting on the simulator, shows it, and waits until the home tiles are loaded;
options other than KioskWindow's own keyword arguments and `printer_query` are idle
timeouts (`home_s=0.3`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import LiveServer
from PySide6.QtCore import Qt

from devices.audio import audio_for_url
from devices.audio.sim import SimulatedSpeaker
from devices.idcard.sim import IdCardReaderSimulator
from devices.printer.sim import PrinterSimulator
from kiosk.app import KioskWindow, open_kiosk
from kiosk.flow import Screen, Timeouts
from kiosk.peripherals import KioskPeripherals
from kiosk.printing import TicketPrinting
from ui.client import BranchClient
from ui.i18n import Catalog, Translator

WAIT_MS = 8000
WINDOW_OPTIONS = (
    "peripherals",
    "maintenance_pin",
    "lockdown",
    "audio",
    "voice_mode",
    "voice_reminder_s",
    "elder_services",
)
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[PrinterSimulator]:
    with PrinterSimulator(tmp_path / "printed") as sim:
        yield sim


@pytest.fixture
def reader() -> Iterator[IdCardReaderSimulator]:
    sim = IdCardReaderSimulator().start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def devices(qtbot) -> Iterator[list[KioskPeripherals]]:
    started: list[KioskPeripherals] = []
    yield started
    for peripherals in started:
        peripherals.stop()


def with_devices(devices: list[KioskPeripherals], **urls: Any) -> KioskPeripherals:
    peripherals = KioskPeripherals(urls.get("idcard"), urls.get("scanners", ()))
    devices.append(peripherals)
    return peripherals


@pytest.fixture
def speaker() -> Iterator[SimulatedSpeaker]:
    """The kiosk's speaker as a simulator: it records every clip it was given to play."""
    sim = audio_for_url("sim://", volume=80)
    assert isinstance(sim, SimulatedSpeaker)
    yield sim
    sim.close()


@pytest.fixture
def tr() -> Translator:
    return Translator(Catalog.load())


@pytest.fixture
def make_kiosk(qtbot, tr, printer) -> Iterator[Any]:
    made: list[tuple[BranchClient, TicketPrinting]] = []
    windows: list[KioskWindow] = []

    def make(base_url: str, token: str, **options: Any) -> KioskWindow:
        client = BranchClient(base_url, token, timeout_s=2.0, backoff_s=(0.1, 0.5))
        # `printer_query="?mode=text"` prints with the printer's own font, so the simulator
        # can read the ticket's text back.
        printing = TicketPrinting(printer.url + options.pop("printer_query", ""))
        made.append((client, printing))
        own = {k: options.pop(k) for k in WINDOW_OPTIONS if k in options}
        window = open_kiosk(
            client,
            printing,
            tr=tr,
            device_name="kiosk-7",
            timeouts=Timeouts(offline_grace_s=0, **options),
            tick_ms=50,
            printer_check_s=3600,
            **own,
        )
        qtbot.addWidget(window)
        windows.append(window)
        window.resize(1920, 1080)
        window.show()
        client.start()
        qtbot.waitUntil(lambda: client.online and bool(window.home.tiles), timeout=WAIT_MS)
        return window

    yield make
    for client, printing in made:
        client.stop()
        printing.close()
    for window in windows:
        window._may_close = True  # a locked-down kiosk still has to go at the end


@pytest.fixture
def kiosk(make_kiosk, server: LiveServer) -> KioskWindow:
    return make_kiosk(server.base_url, server.tokens["kiosk"])


def take_ticket(qtbot: Any, window: KioskWindow, code: str = "A") -> None:
    """Touch the attract screen, tap the business's tile, tap "take a ticket"."""
    assert window.flow.screen is Screen.ATTRACT
    qtbot.mouseClick(window.attract, LEFT)
    assert window.stack.currentWidget() is window.home
    qtbot.mouseClick(window.home.tiles[code], LEFT)
    assert window.stack.currentWidget() is window.guidance
    qtbot.mouseClick(window.guidance.take, LEFT)
    qtbot.waitUntil(lambda: window.flow.screen is Screen.TICKET, timeout=WAIT_MS)
    assert window.stack.currentWidget() is window.ticket
