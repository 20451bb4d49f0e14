"""Simulated RS-485 counter bus: boards, digit boards, keypads and rating pads on one pty.

    sim = start_counter_bus([1, 2, 3])       # per counter N: board N, keypad 100+N, pad 200+N
    bus = Bus(sim.url)                       # rs485+serial:///dev/pts/7
    sim.press(101, Key.NEXT)                 # reported to the host at keypad 101's next poll
    sim.answer(201, 4)                       # rates the request pad 201 is showing
    sim.text_board(1).text                   # what board 1 shows
    sim.set_silent(102, True)                # keypad 102 stops answering (unplugged)
    sim.noise = True                         # garbage bytes before every reply

The simulated devices parse the same bytes a real device receives (framed protocol and
Modbus-RTU side by side, as on a shared line) and answer with the same bytes a real one
sends. `TcpBusSimulator` is the same bus behind an RS-485-to-Ethernet converter
(`rs485+serial://socket://127.0.0.1:PORT`), which can also be stopped and started again
on the same port to unplug the whole line.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import ClassVar

from devices.bus import modbus, plan
from devices.bus.frames import (
    FLAG_FRESH,
    Command,
    Frame,
    FrameParser,
    Key,
    Kind,
    NackCode,
    Rating,
    stuff,
)
from devices.bus.modbus import Adu, ModbusParser, crc16
from devices.sim.base import PtyDevice, TcpDevice

MODBUS_GAP_S = 0.05  # silence after which a partial Modbus request is dropped (t3.5 stand-in)


# ------------------------------------------------------------------- framed devices
class SimFramedDevice:
    """A device speaking BranchQ's framed protocol, with an event queue for polls."""

    kind: ClassVar[Kind]

    def __init__(self, address: int) -> None:
        self.address = address
        self.fresh = True  # just powered on: says so in every reply until told a state
        self.silent = False  # stops answering (unplugged)
        self.corrupt = False  # answers with a wrong CRC
        self.frames: list[Frame] = []  # every frame addressed to it
        self._events: deque[tuple[int, Command, bytes]] = deque()
        self._rng = random.Random(address)  # a real device uses a hardware random source
        self._seq = self._first_seq()

    @property
    def pending_events(self) -> int:
        return len(self._events)

    def power_cycle(self) -> None:
        """Lose all state, as after a power cut (events are lost, numbering restarts)."""
        self.fresh = True
        self._events.clear()
        self._seq = self._first_seq()

    def _first_seq(self) -> int:
        # Numbering starts at a random point after power-up, so an acknowledgement the
        # host meant for the previous life is unlikely to match a new event.
        return self._rng.randint(0, 254)

    def on_frame(self, frame: Frame, now: float) -> Frame:
        self.frames.append(frame)
        if frame.command == Command.POLL:
            if len(frame.data) != 1:
                return self._nack(NackCode.BAD_DATA)
            # While fresh, an ack may be for an event of the device's previous life that
            # carried the same number: it is ignored until the host has seen FRESH.
            if not self.fresh and self._events and self._events[0][0] == frame.data[0]:
                self._events.popleft()  # the host acknowledged it
            if self._events:
                seq, command, payload = self._events[0]
                return self._reply(command, bytes([seq]) + payload)
            return self._reply(Command.ACK)
        # Any command but POLL ends FRESH, even one refused: the host has reacted to the
        # restart, and a keypad without a display must not stay FRESH (ignoring acks).
        self.fresh = False
        refused = self.command(frame, now)
        if refused is not None:
            return self._nack(refused)
        return self._reply(Command.ACK)

    def command(self, frame: Frame, now: float) -> NackCode | None:
        """Carry out a host command; a NackCode refuses it."""
        raise NotImplementedError

    def queue_event(self, command: Command, payload: bytes) -> None:
        self._seq = self._seq % 255 + 1
        self._events.append((self._seq, command, payload))

    def _reply(self, command: Command, data: bytes = b"") -> Frame:
        flags = FLAG_FRESH if self.fresh else 0
        return Frame(self.address, command, bytes([self.kind, flags]) + data)

    def _nack(self, code: NackCode) -> Frame:
        return self._reply(Command.NACK, bytes([code]))


class SimTextBoard(SimFramedDevice):
    """A text LED board: remembers what it shows, whether it blinks, and its history."""

    kind = Kind.TEXT_BOARD

    def __init__(self, address: int) -> None:
        super().__init__(address)
        self.text = ""
        self.history: list[str] = []  # "show A023", "blink 3x0.50s", "clear"
        self.blink_times = 0
        self.blink_period_s = 0.0
        self._blink_started: float | None = None

    @property
    def blinking(self) -> bool:
        started = self._blink_started
        if started is None:
            return False
        return self.blink_times == 0 or time.monotonic() < started + (
            self.blink_times * self.blink_period_s
        )

    def command(self, frame: Frame, now: float) -> NackCode | None:
        if frame.command == Command.SHOW_TEXT:
            self.text = frame.data.decode("gb18030", errors="replace")
            self._blink_started = None
            self.history.append(f"show {self.text}")
        elif frame.command == Command.BLINK:
            if len(frame.data) != 2 or frame.data[1] == 0:
                return NackCode.BAD_DATA
            self.blink_times, self.blink_period_s = frame.data[0], frame.data[1] / 100
            self._blink_started = now
            self.history.append(f"blink {self.blink_times}x{self.blink_period_s:.2f}s")
        elif frame.command == Command.CLEAR:
            self.text = ""
            self._blink_started = None
            self.history.append("clear")
        elif frame.command in (Command.REQUEST_RATING, Command.CANCEL_RATING):
            return NackCode.NOT_SUPPORTED
        else:
            return NackCode.UNKNOWN_COMMAND
        return None


class SimKeypad(SimFramedDevice):
    """A caller keypad with a small display; `press` queues a key for the next poll."""

    kind = Kind.KEYPAD

    def __init__(self, address: int) -> None:
        super().__init__(address)
        self.display = ""

    def press(self, key: Key, arg: int = 0) -> None:
        self.queue_event(Command.KEY_PRESSED, bytes([key, arg]))

    def command(self, frame: Frame, now: float) -> NackCode | None:
        if frame.command == Command.SHOW_TEXT:
            self.display = frame.data.decode("gb18030", errors="replace")
        elif frame.command == Command.CLEAR:
            self.display = ""
        elif frame.command in (Command.BLINK, Command.REQUEST_RATING, Command.CANCEL_RATING):
            return NackCode.NOT_SUPPORTED
        else:
            return NackCode.UNKNOWN_COMMAND
        return None


class SimRatingPad(SimFramedDevice):
    """A 4-button rating pad. `answer` rates the request showing; `auto_answer` does it
    by itself for every request (handy in the demo)."""

    kind = Kind.RATING_PAD

    def __init__(self, address: int) -> None:
        super().__init__(address)
        self.requests: list[tuple[int, int]] = []  # (request id, timeout s) as received
        self.cancels: list[int] = []  # request ids cancelled (0 = any)
        self.ratings: list[tuple[int, int]] = []  # (request id, rating) given
        self.auto_answer: int | None = None
        self._showing: tuple[int, float] | None = None  # (request id, expires at)

    @property
    def showing(self) -> int | None:
        """The request id the pad is asking about now, or None."""
        if self._showing is None:
            return None
        request_id, expires = self._showing
        return request_id if time.monotonic() < expires else None

    def answer(self, rating: int) -> None:
        """The customer presses a button. Without a request showing it goes out with
        request id 0, which the host ignores — as a real pad's stray press would."""
        if not 1 <= rating <= 4:
            raise ValueError("ratings are 1..4")
        request_id = self.showing or 0
        self._showing = None
        self.ratings.append((request_id, rating))
        self.queue_event(Command.RATING_GIVEN, bytes([request_id, rating]))

    def command(self, frame: Frame, now: float) -> NackCode | None:
        if frame.command == Command.REQUEST_RATING:
            if len(frame.data) != 2 or frame.data[0] == 0:
                return NackCode.BAD_DATA
            request_id, timeout_s = frame.data
            self.requests.append((request_id, timeout_s))
            self._showing = (request_id, now + (timeout_s or 1e9))
            if self.auto_answer is not None:
                self.answer(self.auto_answer)
        elif frame.command == Command.CANCEL_RATING:
            if len(frame.data) != 1:
                return NackCode.BAD_DATA
            self.cancels.append(frame.data[0])
            if self._showing and frame.data[0] in (0, self._showing[0]):
                self._showing = None
        elif frame.command == Command.CLEAR:
            self._showing = None
        elif frame.command in (Command.SHOW_TEXT, Command.BLINK):
            return NackCode.NOT_SUPPORTED
        else:
            return NackCode.UNKNOWN_COMMAND
        return None


# ------------------------------------------------------------------- Modbus digit board
class SimDigitBoard:
    """A Modbus "LED-485" digit board: registers, and what its segments show."""

    def __init__(self, address: int, digits: int = 4) -> None:
        self.address = address
        self.digits = digits
        self.silent = False
        self.corrupt = False
        self.value = 0
        self.decimal_point = 0
        self.baud_index = 4
        self.patterns = [0] * digits
        self.showing_value = False  # the last write was the value register, not patterns
        self.history: list[str] = []  # rendered after each change
        self.requests: list[Adu] = []
        self.new_address: int | None = None  # set by a write to 0x0002, applied after the reply

    @property
    def shows(self) -> str:
        """What a person reads on the board, e.g. "A023" or "  23"."""
        return modbus.render_segments(self.lit_patterns)

    @property
    def lit_patterns(self) -> list[int]:
        if not self.showing_value:
            return list(self.patterns)
        signed = self.value - 0x10000 if self.value & 0x8000 else self.value
        text = str(signed).rjust(self.digits)[-self.digits :]
        lit = [modbus.GLYPHS.get(c, modbus.UNKNOWN_GLYPH) for c in text]
        if 0 < self.decimal_point < self.digits:
            lit[self.digits - 1 - self.decimal_point] |= modbus.SEG_DP
        return lit

    def art(self) -> str:
        return modbus.segment_art(self.lit_patterns)

    def on_request(self, adu: Adu) -> bytes:
        self.requests.append(adu)
        fc, p = adu.function, adu.payload
        if fc == modbus.READ_HOLDING:
            start, count = int.from_bytes(p[0:2], "big"), int.from_bytes(p[2:4], "big")
            if not 1 <= count <= 125:
                return self._exception(fc, 3)
            values = [self._register(start + i) for i in range(count)]
            data = bytes([2 * count]) + b"".join(v.to_bytes(2, "big") for v in values)
            return modbus.with_crc(bytes([self.address, fc]) + data)
        if fc == modbus.WRITE_SINGLE:
            register, value = int.from_bytes(p[0:2], "big"), int.from_bytes(p[2:4], "big")
            code = self._write(register, value)
            return self._exception(fc, code) if code else adu.raw
        if fc == modbus.WRITE_MULTIPLE:
            start, count = int.from_bytes(p[0:2], "big"), int.from_bytes(p[2:4], "big")
            if p[4] != 2 * count:
                return self._exception(fc, 3)
            first, last = modbus.REG_SEGMENTS, modbus.REG_SEGMENTS + self.digits
            if not (first <= start and start + count <= last):
                return self._exception(fc, 2)
            for i in range(count):
                self.patterns[start - first + i] = int.from_bytes(p[5 + 2 * i : 7 + 2 * i], "big")
            self.showing_value = False
            self._changed()
            return modbus.with_crc(bytes([self.address, fc]) + p[0:4])
        return self._exception(fc, 1)

    def _register(self, register: int) -> int:
        if modbus.REG_SEGMENTS <= register < modbus.REG_SEGMENTS + self.digits:
            return self.patterns[register - modbus.REG_SEGMENTS]
        return {
            modbus.REG_VALUE: self.value,
            modbus.REG_ADDRESS: self.address,
            modbus.REG_BAUD: self.baud_index,
            modbus.REG_DECIMAL_POINT: self.decimal_point,
        }.get(register, 0)

    def _write(self, register: int, value: int) -> int:
        """Apply a function 06 write; returns a Modbus exception code, 0 when done."""
        if register == modbus.REG_VALUE:
            self.value, self.showing_value = value, True
            self._changed()
        elif register == modbus.REG_ADDRESS:
            if not 1 <= value <= 247:
                return 3
            self.new_address = value
        elif register == modbus.REG_BAUD:
            if not 1 <= value <= 8:
                return 3
            self.baud_index = value
        elif register == modbus.REG_DECIMAL_POINT:
            if not 0 <= value < self.digits:
                return 3
            self.decimal_point = value
            self._changed()
        else:
            return 2
        return 0

    def _exception(self, function: int, code: int) -> bytes:
        return modbus.with_crc(bytes([self.address, function | 0x80, code]))

    def _changed(self) -> None:
        self.history.append(self.shows)


SimDevice = SimFramedDevice | SimDigitBoard


# ---------------------------------------------------------------------- the simulated line
class _BusSimulation:
    """Everything on the simulated line; mixed into a pty or TCP transport."""

    lock: threading.RLock  # from the transport

    def _setup(self, seed: int) -> None:
        self.devices: dict[int, SimDevice] = {}
        self.changed = threading.Condition(self.lock)
        self.noise = False  # garbage bytes before every reply
        self.echo = False  # the host hears its own bytes back (adapter without echo off)
        self._frames = FrameParser()
        self._modbus = ModbusParser("request")
        self._last_rx = 0.0
        self._garbage = bytearray()
        self._rng = random.Random(seed)

    # ------------------------------------------------------------ building the line
    def _add(self, device: SimDevice) -> None:
        with self.lock:
            if device.address in self.devices:
                raise ValueError(f"address {device.address} is taken on the simulated bus")
            self.devices[device.address] = device

    def add_text_board(self, address: int) -> SimTextBoard:
        board = SimTextBoard(address)
        self._add(board)
        return board

    def add_digit_board(self, address: int, digits: int = 4) -> SimDigitBoard:
        board = SimDigitBoard(address, digits)
        self._add(board)
        return board

    def add_keypad(self, address: int) -> SimKeypad:
        keypad = SimKeypad(address)
        self._add(keypad)
        return keypad

    def add_rating_pad(self, address: int) -> SimRatingPad:
        pad = SimRatingPad(address)
        self._add(pad)
        return pad

    # --------------------------------------------------------------- looking at it
    def _get(self, address: int, cls: type[SimDevice]) -> SimDevice:
        device = self.devices.get(address)
        if not isinstance(device, cls):
            raise KeyError(f"no simulated {cls.__name__} at address {address}")
        return device

    def text_board(self, address: int) -> SimTextBoard:
        device = self._get(address, SimTextBoard)
        assert isinstance(device, SimTextBoard)
        return device

    def digit_board(self, address: int) -> SimDigitBoard:
        device = self._get(address, SimDigitBoard)
        assert isinstance(device, SimDigitBoard)
        return device

    def keypad(self, address: int) -> SimKeypad:
        device = self._get(address, SimKeypad)
        assert isinstance(device, SimKeypad)
        return device

    def rating_pad(self, address: int) -> SimRatingPad:
        device = self._get(address, SimRatingPad)
        assert isinstance(device, SimRatingPad)
        return device

    def wait_until(self, condition: Callable[[], bool], timeout_s: float = 2.0) -> bool:
        """Wait until `condition()` holds after some bus traffic; False on timeout."""
        with self.changed:
            return self.changed.wait_for(condition, timeout_s)

    def describe(self) -> str:
        """One line per device: what it shows or is doing (for logs and the demo)."""
        lines = []
        with self.lock:
            for address, d in sorted(self.devices.items()):
                state = "silent" if d.silent else ""
                if isinstance(d, SimTextBoard):
                    what = f"text board  {d.text!r}" + (" (blinking)" if d.blinking else "")
                elif isinstance(d, SimDigitBoard):
                    what = f"digit board {d.shows!r}"
                elif isinstance(d, SimKeypad):
                    what = f"keypad      {d.pending_events} key(s) unread"
                else:
                    assert isinstance(d, SimRatingPad)
                    what = f"rating pad  asking #{d.showing}" if d.showing else "rating pad  idle"
                lines.append(f"{address:3d}  {what} {state}".rstrip())
        return "\n".join(lines)

    # ---------------------------------------------------------------- acting on it
    def press(self, address: int, key: Key, arg: int = 0) -> None:
        with self.lock:
            self.keypad(address).press(key, arg)

    def answer(self, address: int, rating: int | Rating) -> None:
        with self.lock:
            self.rating_pad(address).answer(int(rating))

    def set_silent(self, address: int, silent: bool = True) -> None:
        """Make a device stop answering (unplugged) or answer again."""
        with self.lock:
            self.devices[address].silent = silent

    def set_corrupt(self, address: int, corrupt: bool = True) -> None:
        """Make a device's replies carry a wrong CRC."""
        with self.lock:
            self.devices[address].corrupt = corrupt

    def inject_garbage(self, data: bytes | None = None) -> None:
        """Put noise on the line ahead of the next reply (random bytes by default)."""
        with self.lock:
            self._garbage += data if data is not None else self._random_bytes()

    # ------------------------------------------------------------------- the wire
    def handle(self, data: bytes) -> bytes:
        now = time.monotonic()
        with self.lock:
            if now - self._last_rx > MODBUS_GAP_S:
                self._modbus.reset()  # real slaves drop a partial frame after a silence
            self._last_rx = now
            out = bytearray()
            for frame in self._frames.feed(data):
                device = self.devices.get(frame.address)
                # An unplugged (silent) device hears nothing, so it changes nothing either.
                if isinstance(device, SimFramedDevice) and not device.silent and not frame.is_reply:
                    reply = device.on_frame(frame, now)
                    out += _bad_crc(reply) if device.corrupt else reply.encode()
            for adu in self._modbus.feed(data):
                board = self.devices.get(adu.address)
                if isinstance(board, SimDigitBoard) and not board.silent:
                    answer = board.on_request(adu)
                    out += answer[:-1] + bytes([answer[-1] ^ 0xFF]) if board.corrupt else answer
                    if board.new_address is not None:
                        self.devices.pop(board.address)
                        board.address, board.new_address = board.new_address, None
                        self.devices[board.address] = board
            if out and (self._garbage or self.noise):
                out[:0] = self._garbage or self._random_bytes()
                self._garbage.clear()
            if self.echo:
                out[:0] = data
            self.changed.notify_all()
            return bytes(out)

    def _random_bytes(self) -> bytes:
        return self._rng.randbytes(self._rng.randint(1, 24))


def _bad_crc(frame: Frame) -> bytes:
    body = bytes([frame.address, frame.command, len(frame.data)]) + frame.data
    return stuff(body + (crc16(body) ^ 0x5A5A).to_bytes(2, "little"))


class BusSimulator(_BusSimulation, PtyDevice):
    """The simulated bus on a pty: `Bus(sim.url)` opens it like a USB-RS485 adapter."""

    name = "rs485-bus"

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self._setup(seed)

    @property
    def url(self) -> str:
        return f"rs485+serial://{self.path}"


class TcpBusSimulator(_BusSimulation, TcpDevice):
    """The simulated bus behind an RS-485-to-Ethernet converter on 127.0.0.1."""

    name = "rs485-bus-tcp"

    def __init__(self, port: int = 0, seed: int = 0) -> None:
        super().__init__(port)
        self._setup(seed)

    @property
    def url(self) -> str:
        return f"rs485+serial://socket://127.0.0.1:{self.port}"


def populate_counters(
    sim: _BusSimulation, counters: list[int], *, digit_boards: bool = False
) -> None:
    """Per counter N, by the default address plan: a board at N (text, or Modbus digits),
    a keypad at 100+N and a rating pad at 200+N."""
    for n in counters:
        if digit_boards:
            sim.add_digit_board(plan.board_address(n))
        else:
            sim.add_text_board(plan.board_address(n))
        sim.add_keypad(plan.keypad_address(n))
        sim.add_rating_pad(plan.rating_pad_address(n))


def start_counter_bus(
    counters: list[int], *, digit_boards: bool = False, seed: int = 0
) -> BusSimulator:
    """A running simulated bus with a board, a keypad and a rating pad per counter."""
    sim = BusSimulator(seed)
    populate_counters(sim, counters, digit_boards=digit_boards)
    sim.start()
    return sim
