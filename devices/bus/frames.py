"""BranchQ's framed RS-485 protocol for text LED boards, caller keypads and rating pads.

    FA | ADDR CMD LEN DATA… CRC_lo CRC_hi | FB

START (FA) and END (FB) frame everything; between them the bytes FA, FB and FC are sent
as FC followed by the byte XOR 0x20, so a START byte always begins a frame and a receiver
that lost track resyncs on the next one. LEN counts DATA bytes before stuffing; the CRC is
CRC-16/MODBUS over ADDR, CMD, LEN and DATA before stuffing, low byte first. Commands from
the host have bit 7 clear, replies from a device have it set, so an adapter that echoes
the host's own frames can never fake a reply. docs/rs485-protocol.md is the full
description with hex examples, timing and addressing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum

from devices.bus.modbus import crc16
from devices.errors import ProtocolError

START = 0xFA
END = 0xFB
ESC = 0xFC
STUFFED = (START, END, ESC)
MAX_DATA = 240  # keeps a frame inside the 256-byte receive buffer of small controllers
REPLY_BIT = 0x80
BROADCAST = 0  # reserved: no device ever answers address 0


class Command(IntEnum):
    # host → device
    POLL = 0x01  # data: ack_seq (the last event seq the host received, 0 = none)
    SHOW_TEXT = 0x10  # data: GB18030 text, "\n" between lines on multi-line boards
    BLINK = 0x11  # data: times (0 = until the next show/clear), period in 10 ms units
    CLEAR = 0x12  # no data
    REQUEST_RATING = 0x20  # data: request_id 1..255, timeout in seconds (0 = none)
    CANCEL_RATING = 0x21  # data: request_id (0 = whatever request is showing)
    # device → host: the first two data bytes of every reply are kind and flags
    ACK = 0x80  # data: kind, flags — done / alive with nothing to report
    KEY_PRESSED = 0x81  # data: kind, flags, seq, key, arg
    RATING_GIVEN = 0x82  # data: kind, flags, seq, request_id, rating
    NACK = 0x8F  # data: kind, flags, NackCode


class Kind(IntEnum):
    """What a device says it is in every reply (the probe reports it)."""

    TEXT_BOARD = 0x01
    KEYPAD = 0x02
    RATING_PAD = 0x03

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")


def kind_label(kind: int) -> str:
    try:
        return Kind(kind).label
    except ValueError:
        return f"device of unknown kind {kind:#04x}"


# Powered up and not yet sent any command but POLL: the host re-sends its state. While it
# is set a device ignores POLL's ack_seq, which may belong to its previous life.
FLAG_FRESH = 0x01


class Key(IntEnum):
    """Caller keypad keys. TRANSFER's arg is the counter number typed before it (0 = none)."""

    NEXT = 0x01
    RECALL = 0x02
    START = 0x03
    FINISH = 0x04
    NO_SHOW = 0x05
    TRANSFER = 0x06
    PAUSE = 0x07
    RESUME = 0x08


class Rating(IntEnum):
    """The four buttons of a rating pad, as Chinese branches label them."""

    UNSATISFIED = 1
    FAIR = 2
    SATISFIED = 3
    VERY_SATISFIED = 4

    @property
    def label_zh(self) -> str:
        return {1: "不满意", 2: "一般", 3: "满意", 4: "非常满意"}[self.value]


class NackCode(IntEnum):
    UNKNOWN_COMMAND = 0x01
    BAD_DATA = 0x02  # wrong data length or a value out of range
    CANNOT_SHOW = 0x03  # text too long for the board or characters its font lacks
    BUSY = 0x04
    NOT_SUPPORTED = 0x05  # e.g. a rating request sent to a text board


def stuff(body: bytes) -> bytes:
    """START, `body` with FA/FB/FC escaped, END: what goes on the wire."""
    out = bytearray([START])
    for byte in body:
        if byte in STUFFED:
            out += bytes([ESC, byte ^ 0x20])
        else:
            out.append(byte)
    out.append(END)
    return bytes(out)


@dataclass(frozen=True)
class Frame:
    address: int
    command: int
    data: bytes = b""
    body: bytes = field(default=b"", compare=False, repr=False)  # as received, CRC included

    def encode(self) -> bytes:
        if not 0 <= self.address <= 255 or not 0 <= self.command <= 255:
            raise ValueError("address and command are single bytes")
        if len(self.data) > MAX_DATA:
            raise ValueError(f"frame data is {len(self.data)} bytes; the limit is {MAX_DATA}")
        body = bytes([self.address, self.command, len(self.data)]) + self.data
        return stuff(body + crc16(body).to_bytes(2, "little"))

    @property
    def is_reply(self) -> bool:
        return bool(self.command & REPLY_BIT)


class FrameParser:
    """Turns received bytes into valid frames; `feed` never raises.

    Bytes outside a frame are skipped up to the next START; a START inside a frame
    abandons the partial one (its END was lost). A frame is dropped when its CRC, LEN or
    an escape is wrong or when it grows past the largest legal frame.
    """

    def __init__(self, max_data: int = MAX_DATA) -> None:
        self.max_body = 3 + max_data + 2
        self._body = bytearray()
        self._in_frame = False
        self._escaped = False
        self.garbage = 0  # bytes skipped outside frames
        self.truncated = 0  # frames cut short by a new START
        self.bad_crc = 0
        self.bad_length = 0  # LEN disagrees with the data, or too short to be a frame
        self.bad_escape = 0
        self.oversized = 0

    @property
    def rejected(self) -> int:
        """Frames that arrived damaged (checksum, length, escape or size wrong)."""
        return self.bad_crc + self.bad_length + self.bad_escape + self.oversized

    def reset(self) -> None:
        self._body.clear()
        self._in_frame = self._escaped = False

    def feed(self, data: bytes) -> list[Frame]:
        frames: list[Frame] = []
        for byte in data:
            if byte == START:
                if self._in_frame:
                    self.truncated += 1
                self._body.clear()
                self._in_frame, self._escaped = True, False
            elif not self._in_frame:
                self.garbage += 1
            elif byte == END:
                self._in_frame = False
                frame = self._finish()
                if frame is not None:
                    frames.append(frame)
            elif byte == ESC:
                if self._escaped:
                    self._drop("bad_escape")
                else:
                    self._escaped = True
            else:
                if self._escaped:
                    byte ^= 0x20
                    self._escaped = False
                    if byte not in STUFFED:  # only the three special bytes are escaped
                        self._drop("bad_escape")
                        continue
                self._body.append(byte)
                if len(self._body) > self.max_body:
                    self._drop("oversized")
        return frames

    def _drop(self, reason: str) -> None:
        setattr(self, reason, getattr(self, reason) + 1)
        self._in_frame = self._escaped = False
        self._body.clear()

    def _finish(self) -> Frame | None:
        body = bytes(self._body)
        self._body.clear()
        if self._escaped:
            self._escaped = False
            self.bad_escape += 1
            return None
        if len(body) < 5 or body[2] != len(body) - 5:
            self.bad_length += 1
            return None
        if crc16(body) != 0:  # CRC appended low byte first leaves a remainder of 0
            self.bad_crc += 1
            return None
        return Frame(body[0], body[1], body[3:-2], body)


# ----------------------------------------------------------------- host → device frames
def _check_address(address: int) -> None:
    if not 1 <= address <= 247:
        raise ValueError(f"bus address {address} is outside 1..247")


def _byte(value: int, what: str, low: int = 0) -> int:
    if not low <= value <= 255:
        raise ValueError(f"{what} {value} is outside {low}..255")
    return value


def encode_text(text: str) -> bytes:
    try:
        data = text.encode("gb18030")
    except UnicodeEncodeError as exc:
        raise ValueError(f"cannot encode {text!r} as GB18030: {exc.reason}") from None
    if len(data) > MAX_DATA:
        raise ValueError(f"text is {len(data)} bytes in GB18030; a board takes {MAX_DATA}")
    return data


def poll(address: int, ack_seq: int = 0) -> Frame:
    _check_address(address)
    return Frame(address, Command.POLL, bytes([_byte(ack_seq, "ack seq")]))


def show_text(address: int, text: str) -> Frame:
    _check_address(address)
    return Frame(address, Command.SHOW_TEXT, encode_text(text))


def blink(address: int, times: int = 3, period_s: float = 0.5) -> Frame:
    """Blink what is shown `times` times (0 = until the next show or clear), then keep it."""
    _check_address(address)
    period = _byte(round(period_s * 100), "blink period (10 ms units)", low=1)
    return Frame(address, Command.BLINK, bytes([_byte(times, "blink times"), period]))


def clear(address: int) -> Frame:
    _check_address(address)
    return Frame(address, Command.CLEAR)


def request_rating(address: int, request_id: int, timeout_s: float) -> Frame:
    _check_address(address)
    seconds = min(255, max(0, math.ceil(timeout_s)))
    return Frame(
        address,
        Command.REQUEST_RATING,
        bytes([_byte(request_id, "request id", low=1), seconds]),
    )


def cancel_rating(address: int, request_id: int = 0) -> Frame:
    _check_address(address)
    return Frame(address, Command.CANCEL_RATING, bytes([_byte(request_id, "request id")]))


# ----------------------------------------------------------------- device → host frames
def ack(address: int, kind: Kind, flags: int = 0) -> Frame:
    return Frame(address, Command.ACK, bytes([kind, flags]))


def nack(address: int, kind: Kind, code: NackCode, flags: int = 0) -> Frame:
    return Frame(address, Command.NACK, bytes([kind, flags, code]))


def key_pressed(address: int, seq: int, key: int, arg: int = 0, flags: int = 0) -> Frame:
    data = bytes([Kind.KEYPAD, flags, _byte(seq, "seq", 1), key, _byte(arg, "key arg")])
    return Frame(address, Command.KEY_PRESSED, data)


def rating_given(address: int, seq: int, request_id: int, rating: int, flags: int = 0) -> Frame:
    data = bytes([Kind.RATING_PAD, flags, _byte(seq, "seq", 1), request_id, rating])
    return Frame(address, Command.RATING_GIVEN, data)


@dataclass(frozen=True)
class Reply:
    """A device's answer. `kind` stays an int when a device reports a kind we don't know."""

    address: int
    command: Command
    kind: int
    flags: int
    seq: int = 0  # KEY_PRESSED / RATING_GIVEN: the event's sequence number
    value: int = 0  # KEY_PRESSED: key code; RATING_GIVEN: rating; NACK: NackCode
    arg: int = 0  # KEY_PRESSED: key arg; RATING_GIVEN: request id

    @property
    def fresh(self) -> bool:
        return bool(self.flags & FLAG_FRESH)


_REPLY_LENGTHS = {
    Command.ACK: 2,
    Command.KEY_PRESSED: 5,
    Command.RATING_GIVEN: 5,
    Command.NACK: 3,
}


def parse_reply(frame: Frame) -> Reply:
    """A device → host frame as a Reply; ProtocolError if it is not a well-formed reply."""
    try:
        command = Command(frame.command)
    except ValueError:
        raise ProtocolError(f"unknown reply {frame.command:#04x} from {frame.address}") from None
    length = _REPLY_LENGTHS.get(command)
    if length is None:
        raise ProtocolError(f"{command.name} from {frame.address} is not a reply")
    d = frame.data
    if len(d) != length:
        raise ProtocolError(f"{command.name} from {frame.address} has {len(d)} data bytes")
    if command is Command.KEY_PRESSED:
        return Reply(frame.address, command, d[0], d[1], seq=d[2], value=d[3], arg=d[4])
    if command is Command.RATING_GIVEN:
        return Reply(frame.address, command, d[0], d[1], seq=d[2], value=d[4], arg=d[3])
    if command is Command.NACK:
        return Reply(frame.address, command, d[0], d[1], value=d[2])
    return Reply(frame.address, command, d[0], d[1])


def describe_nack(code: int) -> str:
    try:
        return NackCode(code).name.lower().replace("_", " ")
    except ValueError:
        return f"error {code:#04x}"
