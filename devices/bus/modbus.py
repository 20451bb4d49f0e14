"""Modbus-RTU for "LED-485" digit boards: requests, CRC-16/MODBUS, reply parsing, 7-segment glyphs.

A digit board is a Modbus server (default address 1, 9600 8N1) with these holding registers:

    0x0000  value shown, int16            (function 06)
    0x0002  new Modbus address, 1–247     (function 06, takes effect after the reply)
    0x0003  baud index 1–8 = 1200 … 115200 (function 06)
    0x0004  decimal point position, 0 = none (function 06)
    0x0080… raw segment patterns, one register per digit, leftmost digit first (function 16)

A segment pattern is the low byte of its register: bit 0 = segment a (top), then b, c, d,
e, f, g (middle) and bit 7 the decimal point — the usual "gfedcba" wiring. The board shows
whatever was written last: the value register or the raw patterns. BranchQ shows tickets
through the raw patterns because a 7-segment 'A' exists and "A023" is what the customer's
ticket says; `number_value` gives the digits-only fallback for boards without raw patterns.

Every request and reply ends with CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), low
byte first. Replies are found in the received bytes by `ModbusParser`, which skips noise
and only ever yields a frame whose CRC is right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from devices.errors import ProtocolError

READ_HOLDING = 0x03
WRITE_SINGLE = 0x06
WRITE_MULTIPLE = 0x10

REG_VALUE = 0x0000
REG_ADDRESS = 0x0002
REG_BAUD = 0x0003
REG_DECIMAL_POINT = 0x0004
REG_SEGMENTS = 0x0080

BAUD_INDEX = {1200: 1, 2400: 2, 4800: 3, 9600: 4, 19200: 5, 38400: 6, 57600: 7, 115200: 8}

EXCEPTION_MEANINGS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge (still working)",
    6: "server device busy",
}

MAX_ADU = 256  # the Modbus-RTU limit on one frame, CRC included


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/MODBUS of `data` (check value: crc16(b"123456789") == 0x4B37)."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc


def with_crc(body: bytes) -> bytes:
    """`body` followed by its CRC, low byte first as Modbus-RTU sends it."""
    return body + crc16(body).to_bytes(2, "little")


def _check_address(address: int, *, broadcast: bool = False) -> None:
    low = 0 if broadcast else 1
    if not low <= address <= 247:
        raise ValueError(f"Modbus address {address} is outside {low}..247")


def _u16(value: int, what: str) -> int:
    if not -0x8000 <= value <= 0xFFFF:
        raise ValueError(f"{what} {value} does not fit a 16-bit register")
    return value & 0xFFFF  # int16 values go on the wire as two's complement


# ------------------------------------------------------------------------------ requests
def write_register(address: int, register: int, value: int) -> bytes:
    """Function 06: one holding register. Negative values are sent as int16."""
    _check_address(address, broadcast=True)
    body = bytes([address, WRITE_SINGLE]) + _u16(register, "register").to_bytes(2, "big")
    return with_crc(body + _u16(value, "value").to_bytes(2, "big"))


def write_registers(address: int, start: int, values: list[int]) -> bytes:
    """Function 16: consecutive holding registers from `start`."""
    _check_address(address, broadcast=True)
    if not 1 <= len(values) <= 123:
        raise ValueError("function 16 writes 1..123 registers")
    body = bytes([address, WRITE_MULTIPLE])
    body += _u16(start, "register").to_bytes(2, "big") + len(values).to_bytes(2, "big")
    body += bytes([2 * len(values)])
    body += b"".join(_u16(v, "value").to_bytes(2, "big") for v in values)
    return with_crc(body)


def read_registers(address: int, start: int, count: int = 1) -> bytes:
    """Function 03: read holding registers (the bus uses it to check a board is there)."""
    _check_address(address)
    if not 1 <= count <= 125:
        raise ValueError("function 03 reads 1..125 registers")
    body = bytes([address, READ_HOLDING]) + _u16(start, "register").to_bytes(2, "big")
    return with_crc(body + count.to_bytes(2, "big"))


def set_address(address: int, new_address: int) -> bytes:
    _check_address(new_address)
    return write_register(address, REG_ADDRESS, new_address)


def set_baud(address: int, baud: int) -> bytes:
    if baud not in BAUD_INDEX:
        raise ValueError(f"digit boards run at one of {sorted(BAUD_INDEX)} baud, not {baud}")
    return write_register(address, REG_BAUD, BAUD_INDEX[baud])


def set_decimal_point(address: int, position: int) -> bytes:
    if not 0 <= position <= 8:
        raise ValueError("decimal point position is 0 (none) .. 8")
    return write_register(address, REG_DECIMAL_POINT, position)


# ------------------------------------------------------------------------------- replies
@dataclass(frozen=True)
class Adu:
    """One Modbus-RTU frame whose CRC was right: address, function, the bytes between."""

    address: int
    function: int
    payload: bytes
    raw: bytes = field(default=b"", compare=False, repr=False)

    @property
    def is_exception(self) -> bool:
        return bool(self.function & 0x80)

    @property
    def exception_code(self) -> int:
        return self.payload[0] if self.is_exception and self.payload else 0


class ModbusError(ProtocolError):
    """The board answered with an exception: it is there, but refused the request."""

    def __init__(self, address: int, function: int, code: int) -> None:
        self.address, self.function, self.code = address, function, code
        meaning = EXCEPTION_MEANINGS.get(code, "unknown exception")
        super().__init__(
            f"Modbus device {address} refused function {function:02d}: exception {code} ({meaning})"
        )


def check_reply(request: bytes, reply: Adu) -> Adu:
    """Raise unless `reply` is the right answer to `request`; returns it for chaining."""
    address, function = request[0], request[1]
    if reply.address != address or reply.function & 0x7F != function:
        raise ProtocolError(
            f"reply from {reply.address} function {reply.function:#04x} does not answer "
            f"function {function:#04x} to {address}"
        )
    if reply.is_exception:
        raise ModbusError(address, function, reply.exception_code)
    if function == WRITE_SINGLE and reply.raw != request:
        raise ProtocolError(f"Modbus device {address} echoed a different write")
    if function == WRITE_MULTIPLE and reply.payload != request[2:6]:
        raise ProtocolError(f"Modbus device {address} confirmed a different register range")
    if function == READ_HOLDING:
        count = int.from_bytes(request[4:6], "big")
        if reply.payload[0] != 2 * count:
            raise ProtocolError(f"Modbus device {address} returned the wrong register count")
    return reply


def read_values(reply: Adu) -> list[int]:
    """Register values of a function 03 reply."""
    data = reply.payload[1:]
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def _response_length(buf: bytearray | bytes, i: int) -> int | None:
    """Bytes a reply starting at buf[i] must have; 0 = not a reply start; None = need more."""
    if len(buf) - i < 2:
        return None
    address, function = buf[i], buf[i + 1]
    if not 1 <= address <= 247:
        return 0
    if function in (WRITE_SINGLE, WRITE_MULTIPLE):
        return 8
    if function & 0x80 and function & 0x7F in (READ_HOLDING, WRITE_SINGLE, WRITE_MULTIPLE):
        return 5
    if function == READ_HOLDING:
        if len(buf) - i < 3:
            return None
        count = buf[i + 2]
        return 5 + count if count and count % 2 == 0 else 0
    return 0


def _request_length(buf: bytearray | bytes, i: int) -> int | None:
    """Bytes a request starting at buf[i] must have; 0 = not a request; None = need more."""
    if len(buf) - i < 2:
        return None
    address, function = buf[i], buf[i + 1]
    if address > 247:
        return 0
    if function in (READ_HOLDING, WRITE_SINGLE):
        return 8
    if function == WRITE_MULTIPLE:
        if len(buf) - i < 7:
            return None
        count = buf[i + 6]
        return 9 + count if count and count % 2 == 0 else 0
    return 0


class ModbusParser:
    """Finds Modbus-RTU frames in a byte stream; `feed` never raises.

    RTU frames have no start byte (real devices split them by 3.5 characters of silence),
    so the parser tries every offset: a candidate whose CRC fails costs one byte, and a
    candidate still waiting for bytes is given up as soon as a complete, valid frame is
    found behind it — so noise that looks like the start of a long frame cannot swallow
    the real reply.
    """

    def __init__(self, role: Literal["response", "request"] = "response") -> None:
        self._length = _response_length if role == "response" else _request_length
        self._buf = bytearray()
        self.rejected = 0  # candidates whose CRC failed (noise or a corrupted frame)

    def reset(self) -> None:
        self._buf.clear()

    def feed(self, data: bytes) -> list[Adu]:
        self._buf += data
        found: list[Adu] = []
        buf = self._buf
        i = 0
        while i < len(buf):
            need = self._length(buf, i)
            if need == 0:
                i += 1
                continue
            if need is None or i + need > len(buf):
                later = self._complete_frame_after(i + 1)
                if later is None:
                    break  # wait for more bytes
                i = later
                continue
            frame = bytes(buf[i : i + need])
            if crc16(frame) == 0:  # a frame followed by its own CRC leaves remainder 0
                found.append(Adu(frame[0], frame[1], frame[2:-2], frame))
                i += need
            else:
                self.rejected += 1
                i += 1
        del buf[:i]
        if len(buf) > MAX_ADU:  # no frame is longer: the head is noise
            del buf[: len(buf) - MAX_ADU]
        return found

    def _complete_frame_after(self, start: int) -> int | None:
        buf = self._buf
        for j in range(start, len(buf)):
            need = self._length(buf, j)
            if need and j + need <= len(buf) and crc16(bytes(buf[j : j + need])) == 0:
                return j
        return None


# ----------------------------------------------------------------------- 7-segment text
SEG_A, SEG_B, SEG_C, SEG_D, SEG_E, SEG_F, SEG_G, SEG_DP = (1 << n for n in range(8))

# Letters a 7-segment digit can show recognisably. S, Z, O and I come out looking like
# 5, 2, 0 and 1 on any board; V is drawn as U. K, M, W and X have no shape and show '-'.
GLYPHS: dict[str, int] = {
    "0": 0x3F, "1": 0x06, "2": 0x5B, "3": 0x4F, "4": 0x66,
    "5": 0x6D, "6": 0x7D, "7": 0x07, "8": 0x7F, "9": 0x6F,
    "A": 0x77, "B": 0x7C, "C": 0x39, "D": 0x5E, "E": 0x79, "F": 0x71, "G": 0x3D,
    "H": 0x76, "I": 0x30, "J": 0x1E, "L": 0x38, "N": 0x54, "O": 0x5C, "P": 0x73,
    "Q": 0x67, "R": 0x50, "S": 0x6D, "T": 0x78, "U": 0x3E, "V": 0x3E, "Y": 0x6E,
    "Z": 0x5B, "-": 0x40, "_": 0x08, " ": 0x00,
}  # fmt: skip
UNKNOWN_GLYPH = GLYPHS["-"]

# What a person reads off a lit pattern: digits win where a letter looks the same.
_READ_AS: dict[int, str] = {}
for _char, _pattern in GLYPHS.items():
    _READ_AS.setdefault(_pattern, _char)


def fit_ticket(text: str, digits: int) -> str:
    """The characters a `digits`-wide board shows for a ticket number, right-aligned.

    "A023" on 4 digits → "A023"; on 3 digits the prefix letters go first → "023"; then
    leading digits → "A1234" on 4 digits shows "1234".
    """
    text = text.strip().upper()
    if len(text) > digits:
        text = "".join(c for c in text if c.isdigit()) or text
    return text[-digits:].rjust(digits)


def segment_patterns(text: str, digits: int = 4) -> list[int]:
    """One pattern per digit, leftmost first, for `text` fitted to the board width."""
    return [GLYPHS.get(c, UNKNOWN_GLYPH) for c in fit_ticket(text, digits)]


def render_segments(patterns: list[int]) -> str:
    """What a person reads on the board: '?' for a pattern that is no glyph, '.' for a dp."""
    out = []
    for p in patterns:
        out.append(_READ_AS.get(p & 0x7F, "?"))
        if p & SEG_DP:
            out.append(".")
    return "".join(out)


def segment_art(patterns: list[int]) -> str:
    """Three lines of ASCII art drawing the lit segments (for logs and a simulator view)."""
    rows = ["", "", ""]
    for p in patterns:
        rows[0] += " " + ("_" if p & SEG_A else " ") + "  "
        rows[1] += ("|" if p & SEG_F else " ") + ("_" if p & SEG_G else " ")
        rows[1] += ("|" if p & SEG_B else " ") + " "
        rows[2] += ("|" if p & SEG_E else " ") + ("_" if p & SEG_D else " ")
        rows[2] += ("|" if p & SEG_C else " ") + ("." if p & SEG_DP else " ")
    return "\n".join(r.rstrip() for r in rows)


def number_value(text: str, letters: Literal["drop", "index"] = "drop") -> int:
    """The int16 a digits-only board shows for a ticket number.

    "drop" shows the sequence number alone: "A023" → 23. "index" puts the prefix letter's
    place in the alphabet in front: "A023" → 1023, "C105" → 3105 — tellers at a board
    without raw patterns can still tell queues apart. A value that would not fit int16
    falls back to "drop".
    """
    text = text.strip().upper()
    number = "".join(c for c in text if c.isdigit())
    if not number:
        raise ValueError(f"{text!r} has no digits to show on a digit board")
    value = int(number)
    prefix = "".join(c for c in text if c.isalpha())
    if letters == "index" and len(prefix) == 1:
        indexed = int(f"{ord(prefix) - ord('A') + 1}{number}")
        if indexed <= 0x7FFF:
            return indexed
    return value if value <= 0x7FFF else int(number[-4:])
