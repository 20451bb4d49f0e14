"""RS-485 counter devices: LED boards (text or Modbus digits), caller keypads, rating pads.

    from devices.bus import Bus, Key, plan

    bus = Bus("rs485+serial:///dev/ttyUSB0?baud=9600")
    board = bus.text_board(plan.board_address(3))
    board.show("A023")                      # → Future[None]
    bus.keypad(plan.keypad_address(3), on_key=lambda e: print(e.key))
    rating = bus.rating_pad(plan.rating_pad_address(3)).request_rating(30).result(31)

docs/rs485-protocol.md describes the wire protocols, the address plan and the wiring.
"""

from __future__ import annotations

from devices.bus.bus import (
    Bus,
    BusSettings,
    CommandRefused,
    DeviceHealth,
    DigitBoard,
    KeyEvent,
    Keypad,
    RatingPad,
    TextBoard,
    parse_bus_url,
)
from devices.bus.frames import Key, Rating
from devices.bus.modbus import ModbusError
from devices.bus.probe import configure_digit_board, probe

SCHEMES: dict[str, str] = {
    "rs485+serial": (
        "counter LED boards, caller keypads and rating pads on one RS-485 line — "
        "rs485+serial:///dev/ttyUSB0?baud=9600&timeout=0.2 "
        "(or rs485+serial://socket://10.0.0.7:4001 through an RS-485-to-Ethernet converter)"
    ),
}

__all__ = [
    "SCHEMES",
    "Bus",
    "BusSettings",
    "CommandRefused",
    "DeviceHealth",
    "DigitBoard",
    "Key",
    "KeyEvent",
    "Keypad",
    "ModbusError",
    "Rating",
    "RatingPad",
    "TextBoard",
    "configure_digit_board",
    "parse_bus_url",
    "probe",
]
