"""A full set of simulated branch devices on ptys and loopback ports, for demos and drills.

`branchq devices sim` and `branchq demo` start one: a network ticket printer writing PNGs,
an ID card reader (with a synthetic card on it, or empty), a serial QR scanner, and an
RS-485 bus with a text LED board, a caller keypad and a rating pad for every counter
(default address plan).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class SimSet:
    printer: Any
    idcard: Any
    scanner: Any
    bus: Any
    urls: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        for sim in (self.bus, self.scanner, self.idcard, self.printer):
            sim.stop()

    def describe(self, indent: str = "  ") -> str:
        width = max(len(k) for k in self.urls)
        return "\n".join(f"{indent}{k:<{width}}  {v}" for k, v in self.urls.items())


def start_simulators(
    out: Path,
    counters: list[int],
    *,
    auto_rating: int | None = 4,
    card: str | None = "adult",
) -> SimSet:
    """Start every simulator; printed tickets go to `out/tickets`.

    `card` is the SYNTHETIC_CARDS name lying on the ID card reader from the start (None:
    the reader starts empty, as the demo's kiosk wants it, so a card is placed on demand).
    """
    from devices.bus import plan
    from devices.bus.sim import start_counter_bus
    from devices.idcard.sim import IdCardReaderSimulator
    from devices.printer.sim import PrinterSimulator
    from devices.scanner.sim import SerialScannerSimulator

    printer = PrinterSimulator(out / "tickets", transport="tcp").start()
    idcard = IdCardReaderSimulator().start()
    if card is not None:
        idcard.place(card)
    scanner = SerialScannerSimulator().start()
    bus = start_counter_bus(counters)
    if auto_rating is not None:
        for n in counters:
            bus.rating_pad(plan.rating_pad_address(n)).auto_answer = auto_rating
    urls = {
        "printer": printer.url,
        "id card reader": idcard.url,
        "QR scanner": f"scanner+serial://{scanner.path}",
        "RS-485 bus": bus.url,
    }
    for n in counters:
        urls[f"counter {n}"] = (
            f"board {plan.board_address(n)}, keypad {plan.keypad_address(n)}, "
            f"rating pad {plan.rating_pad_address(n)}"
        )
    return SimSet(printer, idcard, scanner, bus, urls)
