"""The RS-485 counter bus: one serial line, one thread, every board, keypad and pad on it.

URL format (scheme `rs485+serial`)::

    rs485+serial://PORT?baud=9600&timeout=0.2

    PORT      /dev/ttyUSB0, COM3, or any pyserial URL: socket://10.0.0.7:4001 reaches an
              RS-485-to-Ethernet converter, rfc2217://host:port, loop://
    baud      line speed, 8N1; default 9600 (all devices on one line use the same speed)
    timeout   seconds to wait for a device's reply; default 0.2
    retries   extra attempts for a command that got no valid reply; default 2
    poll_ms   how often each keypad, and a rating pad awaiting a rating, is polled; default 80
    health_s  how often boards, idle rating pads and offline devices are checked; default 1.0
    echo      1 when the adapter hears its own transmission (no automatic receiver
              disable): the bus drops that echo; default 0

Modbus digit boards and BranchQ framed devices may share one line at the same baud rate:
our frames start with 0xFA, which is no Modbus address, so a board never takes one for
its own, and our devices only accept a frame whose CRC is right. Addresses must be unique
across both. Boards whose firmware does not resync on the Modbus 3.5-character gap get
confused by foreign traffic; give those a line (and a `Bus`) of their own.

Threading: `Bus` owns one SerialLine and one thread that does all traffic, one exchange at
a time: queued commands first, device polls in between (the most overdue device first),
blink steps and rating deadlines on time. Every public method may be called from any
thread and returns at once — a `concurrent.futures.Future` or nothing. `on_key` and
`on_health_change` callbacks run on a second thread, `rs485-callbacks`, in order, so a
slow callback holds up neither the line nor any Future. Futures are resolved by the bus
thread itself, so a done-callback added to one runs there and must be quick
(`asyncio.wrap_future` is); waiting on `result()` from any other thread is always fine.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from devices.bus import frames, modbus
from devices.bus.frames import Command, Key, Kind, Rating, Reply
from devices.bus.link import BusLink
from devices.errors import DeviceError, DeviceUnavailable, ProtocolError
from devices.serialport import SerialLine
from devices.url import parse_device_url, serial_target

log = logging.getLogger(__name__)

SCHEME = "rs485+serial"
OFFLINE_AFTER = 3  # consecutive exchanges without a valid reply before a device is offline
CLOSE_WAIT_S = 1.0

Status = Literal["unknown", "online", "offline"]
T = TypeVar("T")


# ------------------------------------------------------------------------------ settings
@dataclass(frozen=True)
class BusSettings:
    url: str
    port: str  # what SerialLine opens
    baud: int = 9600
    reply_timeout_s: float = 0.2
    retries: int = 2
    poll_s: float = 0.08
    health_s: float = 1.0
    echo: bool = False


_OPTIONS = ("baud", "timeout", "retries", "poll_ms", "health_s", "echo")


def parse_bus_url(url: str) -> BusSettings:
    """Settings from an `rs485+serial://` URL; ValueError with a readable message if bad."""
    parsed = parse_device_url(url)
    if parsed.scheme != SCHEME:
        raise ValueError(f"{url!r} is not an {SCHEME}:// URL")
    unknown = sorted(set(parsed.options) - set(_OPTIONS))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)} in {url!r}; known: {_OPTIONS}")
    port = serial_target(parsed)
    if not port:
        raise ValueError(f"{url!r} names no serial port")
    settings = BusSettings(
        url=url,
        port=port,
        baud=parsed.int_option("baud", 9600),
        reply_timeout_s=parsed.float_option("timeout", 0.2),
        retries=parsed.int_option("retries", 2),
        poll_s=parsed.int_option("poll_ms", 80) / 1000,
        health_s=parsed.float_option("health_s", 1.0),
        echo=parsed.option("echo", "0") in ("1", "true", "yes"),
    )
    if settings.baud <= 0 or settings.reply_timeout_s <= 0 or settings.health_s <= 0:
        raise ValueError(f"baud, timeout and health_s must be positive in {url!r}")
    if settings.retries < 0 or settings.poll_s < 0.01:
        raise ValueError(f"retries must be >= 0 and poll_ms >= 10 in {url!r}")
    return settings


# ------------------------------------------------------------------------- public values
@dataclass(frozen=True)
class DeviceHealth:
    """A device's link state, for the hub to report faults."""

    address: int
    kind: str  # "text board", "digit board", "keypad", "rating pad"
    status: Status  # "unknown" until the first exchange settles it
    last_error: str  # most recent error, kept after recovery so a flaky device shows
    last_seen: float | None  # time.time() of the last valid reply
    since: float  # time.time() when `status` last changed

    @property
    def online(self) -> bool:
        return self.status == "online"


@dataclass(frozen=True)
class KeyEvent:
    """A caller keypad key. For TRANSFER, `arg` is the counter number typed (0 = none)."""

    address: int
    key: Key
    arg: int = 0


class CommandRefused(ProtocolError):
    """The device answered NACK: it is there, but would not do this (not retried)."""

    def __init__(self, address: int, command: str, code: int) -> None:
        self.address, self.code = address, code
        super().__init__(f"address {address} refused {command}: {frames.describe_nack(code)}")


_REFUSALS = (CommandRefused, modbus.ModbusError)
# Commands that leave a device in a fully known state (BLINK and POLL do not).
_STATE_COMMANDS = frozenset(
    {Command.SHOW_TEXT, Command.CLEAR, Command.REQUEST_RATING, Command.CANCEL_RATING}
)


# ------------------------------------------------------------------------------ handles
class _Handle:
    """One device on the bus. Public methods run on callers' threads; `_`-methods on the
    bus thread. Shared state is guarded by the bus's condition lock."""

    kind: str = "device"

    def __init__(self, bus: Bus, address: int) -> None:
        self._bus = bus
        self.address = address
        self._status: Status = "unknown"
        self._fails = 0
        self._last_error = ""
        self._last_seen: float | None = None
        self._since = time.time()
        self._next_check = 0.0
        self._restore_queued = False
        self._fresh = False  # the device's last reply carried FRESH

    @property
    def health(self) -> DeviceHealth:
        with self._bus._cond:
            return self._health()

    def _health(self) -> DeviceHealth:
        return DeviceHealth(
            self.address, self.kind, self._status, self._last_error, self._last_seen, self._since
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.address} on {self._bus.url}>"

    # ------------------------------------------------------------ bus thread only
    def _check(self) -> bool:
        """Poll or health-check once; True asks to be checked again straight away."""
        raise NotImplementedError

    def _interval(self) -> float:
        """Seconds to the next check (called with the lock held)."""
        if self._status == "offline":
            return self._bus._offline_interval()
        if self._fails:  # a missed answer is confirmed or cleared quickly
            return self._bus.settings.poll_s
        return self._bus.settings.health_s

    def _restore(self) -> None:
        """Send the state the host last asked for (the device came back or restarted)."""

    def _on_fresh(self) -> None:
        """The device reports it restarted (called with the lock held)."""


class _FramedHandle(_Handle):
    expected_kind: Kind = Kind.TEXT_BOARD

    def _exchange(self, frame: frames.Frame) -> Reply:
        return self._bus._framed(self, frame)

    def _send_state(self, frame: frames.Frame) -> Future[None]:
        def send() -> None:
            self._exchange(frame)

        return self._bus._submit(self, send)


class TextBoard(_FramedHandle):
    """A counter LED board that shows text (framed protocol)."""

    kind = "text board"
    expected_kind = Kind.TEXT_BOARD

    def __init__(self, bus: Bus, address: int) -> None:
        super().__init__(bus, address)
        self._desired: frames.Frame | None = None  # SHOW_TEXT or CLEAR last asked for
        self._text: str | None = None

    @property
    def text(self) -> str | None:
        """What the host last asked this board to show (None after clear)."""
        with self._bus._cond:
            return self._text

    def show(self, text: str) -> Future[None]:
        """Show `text` (GB18030, up to 240 bytes; ValueError at once if it cannot be sent)."""
        frame = frames.show_text(self.address, text)
        with self._bus._cond:
            self._desired, self._text = frame, text
        return self._send_state(frame)

    def blink(self, times: int = 3, period_s: float = 0.5) -> Future[None]:
        """Blink what is shown `times` times (0 = until the next show or clear)."""
        return self._send_state(frames.blink(self.address, times, period_s))

    def clear(self) -> Future[None]:
        frame = frames.clear(self.address)
        with self._bus._cond:
            self._desired, self._text = frame, None
        return self._send_state(frame)

    def _check(self) -> bool:
        self._exchange(frames.poll(self.address))
        return False

    def _restore(self) -> None:
        with self._bus._cond:
            frame = self._desired or frames.clear(self.address)
        self._exchange(frame)


class DigitBoard(_Handle):
    """A Modbus "LED-485" digit board. It cannot blink by itself: the bus thread blinks it
    by writing blank and lit segment patterns in turn."""

    kind = "digit board"

    def __init__(
        self,
        bus: Bus,
        address: int,
        *,
        digits: int = 4,
        mode: Literal["segments", "number"] = "segments",
        letters: Literal["drop", "index"] = "drop",
    ) -> None:
        if not 1 <= digits <= 16:
            raise ValueError("a digit board has 1..16 digits")
        if mode not in ("segments", "number") or letters not in ("drop", "index"):
            raise ValueError("mode is 'segments' or 'number'; letters is 'drop' or 'index'")
        super().__init__(bus, address)
        self.digits, self.mode, self.letters = digits, mode, letters
        self._blank = modbus.write_registers(address, modbus.REG_SEGMENTS, [0] * digits)
        self._desired: bytes | None = None  # the Modbus request that shows the current state
        self._text: str | None = None
        self._blink_gen = 0  # bumped by every show/clear/blink: a running blink stops

    @property
    def text(self) -> str | None:
        with self._bus._cond:
            return self._text

    def request_for(self, text: str) -> bytes:
        """The Modbus request that shows `text` on this board (see modbus.py for the rules)."""
        if self.mode == "number":
            return modbus.write_register(
                self.address, modbus.REG_VALUE, modbus.number_value(text, self.letters)
            )
        patterns = modbus.segment_patterns(text, self.digits)
        return modbus.write_registers(self.address, modbus.REG_SEGMENTS, patterns)

    def show(self, text: str) -> Future[None]:
        """Show a ticket number or any short text the segments can draw."""
        request = self.request_for(text)
        return self._set(request, text)

    def clear(self) -> Future[None]:
        return self._set(self._blank, None)

    def blink(self, times: int = 3, period_s: float = 0.5) -> Future[None]:
        """Blink the shown number `times` times (0 = until the next show or clear).

        The Future resolves once the first blank is written; the bus thread does the rest.
        """
        if times < 0 or period_s <= 0:
            raise ValueError("blink needs times >= 0 and a positive period")
        with self._bus._cond:
            self._blink_gen += 1
            gen = self._blink_gen

        def start() -> None:
            self._write(self._blank)
            self._schedule_blink(gen, 1, times, period_s / 2)

        return self._bus._submit(self, start)

    def set_decimal_point(self, position: int) -> Future[None]:
        request = modbus.set_decimal_point(self.address, position)
        return self._bus._submit(self, lambda: self._write(request))

    def _set(self, request: bytes, text: str | None) -> Future[None]:
        with self._bus._cond:
            self._desired, self._text = request, text
            self._blink_gen += 1
        return self._bus._submit(self, lambda: self._write(request))

    # ------------------------------------------------------------ bus thread only
    def _write(self, request: bytes) -> None:
        self._bus._modbus(self, request)

    def _schedule_blink(self, gen: int, step: int, times: int, half_s: float) -> None:
        def toggle() -> None:
            with self._bus._cond:
                if gen != self._blink_gen:
                    return  # a show, clear or newer blink took over
                lit = self._desired or self._blank
            # Odd steps light the number, even ones blank it; the last step is lit.
            with contextlib.suppress(DeviceError):  # counted in health; the next step retries
                self._write(lit if step % 2 else self._blank)
            if times == 0 or step < 2 * times - 1:
                self._schedule_blink(gen, step + 1, times, half_s)

        self._bus._add_timer(time.monotonic() + half_s, toggle)

    def _check(self) -> bool:
        # A board without function 03 answers with an exception: that still proves it is there.
        with contextlib.suppress(modbus.ModbusError):
            self._bus._modbus(self, modbus.read_registers(self.address, modbus.REG_VALUE))
        return False

    def _restore(self) -> None:
        with self._bus._cond:
            request = self._desired
        if request is not None:
            self._write(request)


class Keypad(_FramedHandle):
    """A teller's caller keypad; keys arrive through `on_key(KeyEvent)`."""

    kind = "keypad"
    expected_kind = Kind.KEYPAD

    def __init__(self, bus: Bus, address: int, on_key: Callable[[KeyEvent], None]) -> None:
        super().__init__(bus, address)
        self.on_key = on_key
        self._last_seq = 0  # the last key event received; sent back as the ack
        self._desired: frames.Frame | None = None

    def show(self, text: str) -> Future[None]:
        """Text for keypads with a small display ("A023 等候 5"); others NACK it."""
        frame = frames.show_text(self.address, text)
        with self._bus._cond:
            self._desired = frame
        return self._send_state(frame)

    def clear(self) -> Future[None]:
        with self._bus._cond:
            self._desired = None
        return self._send_state(frames.clear(self.address))

    def _interval(self) -> float:
        if self._status == "offline":
            return self._bus._offline_interval()
        return self._bus.settings.poll_s

    def _on_fresh(self) -> None:
        self._last_seq = 0  # a restarted keypad numbers its events from 1 again

    def _check(self) -> bool:
        with self._bus._cond:
            ack = self._last_seq
        reply = self._exchange(frames.poll(self.address, ack))
        if reply.command is not Command.KEY_PRESSED:
            return False
        with self._bus._cond:
            duplicate = reply.seq == self._last_seq
            self._last_seq = reply.seq
            on_key = self.on_key
        if not duplicate:
            try:
                event = KeyEvent(self.address, Key(reply.value), reply.arg)
            except ValueError:
                log.warning("keypad %d sent unknown key %#04x", self.address, reply.value)
            else:
                self._bus._dispatch(lambda: on_key(event))
        return True  # more keys may be waiting, and the ack goes out with the next poll

    def _restore(self) -> None:
        with self._bus._cond:
            frame = self._desired or frames.clear(self.address)
        self._exchange(frame)


@dataclass
class _PendingRating:
    request_id: int
    future: Future[int | None]
    deadline: float  # time.monotonic()


class RatingPad(_FramedHandle):
    """A customer's 4-button rating pad (1 不满意, 2 一般, 3 满意, 4 非常满意)."""

    kind = "rating pad"
    expected_kind = Kind.RATING_PAD

    def __init__(self, bus: Bus, address: int) -> None:
        super().__init__(bus, address)
        self._pending: _PendingRating | None = None
        self._request_ids = itertools.cycle(range(1, 256))
        self._last_seq = 0

    @property
    def awaiting(self) -> bool:
        with self._bus._cond:
            return self._pending is not None

    def request_rating(self, timeout_s: float = 30.0) -> Future[int | None]:
        """Ask the customer to rate; resolves to a `Rating` (an int 1..4) or None.

        None means no rating: the timeout passed, `cancel()` was called, a newer request
        replaced this one, the bus closed, or the pad could not be reached in time (its
        health says so). A pad that comes back before the timeout gets the request again.
        """
        if timeout_s <= 0:
            raise ValueError("a rating request needs a positive timeout")
        future: Future[int | None] = Future()
        future.set_running_or_notify_cancel()  # only the bus resolves it
        bus = self._bus
        with bus._cond:
            replaced = self._pending
            pending = _PendingRating(next(self._request_ids), future, time.monotonic() + timeout_s)
            self._pending = pending
            bus._track(future, resolve_on_close=None)
            self._next_check = 0.0  # start fast polling now
            bus._add_timer_locked(pending.deadline, lambda: self._expire(pending))
            bus._enqueue_locked(_Job(self, lambda: self._send_request(pending), None))
        if replaced is not None:
            bus._resolve(replaced.future, None)
        return future

    def cancel(self) -> Future[None]:
        """Withdraw the request: its Future resolves None and the pad stops asking."""
        with self._bus._cond:
            pending, self._pending = self._pending, None
        if pending is not None:
            self._bus._resolve(pending.future, None)
        request_id = pending.request_id if pending else 0
        return self._send_state(frames.cancel_rating(self.address, request_id))

    def _interval(self) -> float:
        if self._status == "offline" or self._pending is None:
            return super()._interval()
        return self._bus.settings.poll_s

    def _on_fresh(self) -> None:
        self._last_seq = 0

    # ------------------------------------------------------------ bus thread only
    def _send_request(self, pending: _PendingRating) -> None:
        with self._bus._cond:
            if self._pending is not pending:
                return  # cancelled or replaced before it went out
        remaining = pending.deadline - time.monotonic()
        if remaining > 0:
            self._exchange(frames.request_rating(self.address, pending.request_id, remaining))

    def _expire(self, pending: _PendingRating) -> None:
        with self._bus._cond:
            if self._pending is not pending:
                return
            self._pending = None
        self._bus._resolve(pending.future, None)
        with contextlib.suppress(DeviceError):  # stop the pad asking, in case its timer is slow
            self._exchange(frames.cancel_rating(self.address, pending.request_id))

    def _check(self) -> bool:
        with self._bus._cond:
            ack = self._last_seq
        reply = self._exchange(frames.poll(self.address, ack))
        if reply.command is not Command.RATING_GIVEN:
            return False
        with self._bus._cond:
            duplicate = reply.seq == self._last_seq
            self._last_seq = reply.seq
            pending = self._pending
            matches = (
                not duplicate
                and pending is not None
                and reply.arg == pending.request_id
                and 1 <= reply.value <= 4
            )
            if matches:
                self._pending = None
        if matches and pending is not None:
            self._bus._resolve(pending.future, Rating(reply.value))
        elif not duplicate:
            log.info("rating pad %d: rating %d not awaited, ignored", self.address, reply.value)
        return True

    def _restore(self) -> None:
        with self._bus._cond:
            pending = self._pending
        if pending is not None and pending.deadline > time.monotonic():
            self._send_request(pending)
        else:
            self._exchange(frames.clear(self.address))


# ---------------------------------------------------------------------------- the bus
@dataclass
class _Job:
    handle: _Handle
    action: Callable[[], object]
    future: Future[Any] | None


class _Callbacks:
    """Runs callbacks and resolves futures off the bus thread, in the order queued."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="rs485-callbacks", daemon=True)
        self._thread.start()

    def call(self, fn: Callable[[], None]) -> None:
        self._queue.put(fn)

    def stop(self, timeout_s: float) -> None:
        self._queue.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while (fn := self._queue.get()) is not None:
            try:
                fn()
            except Exception:
                log.exception("an RS-485 bus callback failed")


def _settle(future: Future[Any], value: object = None, error: BaseException | None = None) -> None:
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)
    except InvalidStateError:
        pass  # already resolved or cancelled by its owner


class Bus:
    """All devices on one RS-485 line. See the module docstring for URL and threading."""

    def __init__(self, url: str) -> None:
        self.settings = parse_bus_url(url)
        self.url = url
        self._line = SerialLine(
            self.settings.port,
            baudrate=self.settings.baud,
            timeout_s=self.settings.reply_timeout_s,
        )
        self._stop = threading.Event()
        self._link = BusLink(
            self._line,
            reply_timeout_s=self.settings.reply_timeout_s,
            echo=self.settings.echo,
            stop=self._stop,
        )
        self._cond = threading.Condition()
        self._handles: dict[int, _Handle] = {}
        self._commands: deque[_Job] = deque()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._timer_seq = itertools.count()
        self._after_command = False
        self._open: dict[Future[Any], bool] = {}  # unresolved futures → resolve None on close
        self._health_listeners: list[Callable[[DeviceHealth], None]] = []
        self._closed = False
        self._callbacks = _Callbacks()
        self._thread = threading.Thread(target=self._run, name="rs485-bus", daemon=True)
        self._thread.start()

    def __enter__(self) -> Bus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- devices
    def text_board(self, address: int) -> TextBoard:
        return self._add(address, TextBoard, lambda: TextBoard(self, address))

    def digit_board(
        self,
        address: int,
        *,
        digits: int = 4,
        mode: Literal["segments", "number"] = "segments",
        letters: Literal["drop", "index"] = "drop",
    ) -> DigitBoard:
        return self._add(
            address,
            DigitBoard,
            lambda: DigitBoard(self, address, digits=digits, mode=mode, letters=letters),
        )

    def keypad(self, address: int, on_key: Callable[[KeyEvent], None]) -> Keypad:
        """The keypad at `address`; asking again replaces its `on_key`."""
        pad = self._add(address, Keypad, lambda: Keypad(self, address, on_key))
        with self._cond:
            pad.on_key = on_key
        return pad

    def rating_pad(self, address: int) -> RatingPad:
        return self._add(address, RatingPad, lambda: RatingPad(self, address))

    def _add(self, address: int, cls: type[T], make: Callable[[], T]) -> T:
        if not 1 <= address <= 247:
            raise ValueError(f"bus address {address} is outside 1..247")
        with self._cond:
            if self._closed:
                raise DeviceUnavailable(f"{self.url} is closed")
            existing = self._handles.get(address)
            if existing is not None:
                if not isinstance(existing, cls):
                    raise ValueError(f"address {address} on {self.url} is a {existing.kind}")
                return existing
            handle = make()
            assert isinstance(handle, _Handle)
            self._handles[address] = handle
            self._cond.notify_all()
            return handle

    # ------------------------------------------------------------------ health
    def health(self) -> list[DeviceHealth]:
        """Every device's health, by address."""
        with self._cond:
            return [h._health() for _, h in sorted(self._handles.items())]

    def on_health_change(self, callback: Callable[[DeviceHealth], None]) -> None:
        """Call `callback(health)` whenever a device goes online or offline."""
        with self._cond:
            self._health_listeners.append(callback)

    @property
    def stats(self) -> dict[str, int]:
        """Damaged input seen on the line so far (garbage bytes, bad checksums, …)."""
        return self._link.parser_stats

    # ------------------------------------------------------------------- close
    def close(self) -> None:
        """Stop the bus thread (within about a second) and the line; idempotent.

        Unfinished command Futures fail with DeviceUnavailable; rating Futures resolve None.
        """
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._stop.set()
            self._cond.notify_all()
        self._thread.join(CLOSE_WAIT_S)
        self._line.close()
        with self._cond:
            self._commands.clear()
            self._timers.clear()
            leftovers = list(self._open.items())
            self._open.clear()
        closed = DeviceUnavailable(f"{self.url} was closed")
        for future, to_none in leftovers:
            _settle(future, None, None if to_none else closed)
        self._callbacks.stop(CLOSE_WAIT_S / 2)

    # ------------------------------------------------- used by handles (any thread)
    def _submit(self, handle: _Handle, action: Callable[[], object]) -> Future[None]:
        future: Future[None] = Future()
        with self._cond:
            if self._closed:
                raise DeviceUnavailable(f"{self.url} is closed")
            self._track(future, resolve_on_close=False)
            self._enqueue_locked(_Job(handle, action, future))
        return future

    def _track(self, future: Future[Any], *, resolve_on_close: bool | None) -> None:
        # resolve_on_close None: the future resolves None at close; False: it fails.
        self._open[future] = resolve_on_close is None

    def _enqueue_locked(self, job: _Job) -> None:
        self._commands.append(job)
        self._cond.notify_all()

    def _add_timer_locked(self, due: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (due, next(self._timer_seq), fn))
        self._cond.notify_all()

    def _add_timer(self, due: float, fn: Callable[[], None]) -> None:
        with self._cond:
            self._add_timer_locked(due, fn)

    def _dispatch(self, fn: Callable[[], None]) -> None:
        self._callbacks.call(fn)

    def _resolve(
        self, future: Future[Any], value: object = None, error: BaseException | None = None
    ) -> None:
        with self._cond:
            if self._open.pop(future, None) is None:
                return  # close() got to it first
        # Settled here and now, not on the callbacks thread, so `result()` never waits
        # behind a slow on_key; done-callbacks therefore run on the bus thread.
        _settle(future, value, error)

    # ------------------------------------------------------- the bus thread
    def _run(self) -> None:
        while True:
            with self._cond:
                step = self._next_step()
                while step is None and not self._closed:
                    self._cond.wait(self._idle_wait())
                    step = self._next_step()
                if self._closed or step is None:
                    return
            try:
                step()
            except Exception:  # a bug in one step must not stop the whole line
                log.exception("RS-485 bus step failed on %s", self.url)

    def _next_step(self) -> Callable[[], None] | None:
        if self._closed:
            return None
        now = time.monotonic()
        if self._timers and self._timers[0][0] <= now:
            return heapq.heappop(self._timers)[2]
        due = min(self._handles.values(), key=lambda h: h._next_check, default=None)
        if due is not None and due._next_check > now:
            due = None
        # Commands go first, but after one command an overdue poll gets its turn, so a
        # burst of commands cannot starve the keypads.
        if self._commands and (due is None or not self._after_command):
            self._after_command = True
            job = self._commands.popleft()
            return lambda: self._run_job(job)
        if due is not None:
            self._after_command = False
            handle = due
            handle._next_check = float("inf")  # not picked again while it runs
            return lambda: self._run_check(handle)
        return None

    def _offline_interval(self) -> float:
        """Check period of an offline device (lock held). Each such check costs a whole
        reply timeout of line time, so with many devices unplugged the period stretches
        until those checks take at most a quarter of the line."""
        offline = sum(1 for h in self._handles.values() if h._status == "offline")
        return max(self.settings.health_s, 4 * offline * self.settings.reply_timeout_s)

    def _idle_wait(self) -> float:
        now = time.monotonic()
        wake = now + 0.5
        if self._timers:
            wake = min(wake, self._timers[0][0])
        for h in self._handles.values():
            wake = min(wake, h._next_check)
        return max(0.0, wake - now)

    def _run_check(self, handle: _Handle) -> None:
        again = False
        try:
            again = handle._check()
        except DeviceError:
            pass  # counted in the device's health
        finally:
            with self._cond:
                handle._next_check = time.monotonic() + (0.0 if again else handle._interval())

    def _run_job(self, job: _Job) -> None:
        future = job.future
        if future is not None and not future.set_running_or_notify_cancel():
            with self._cond:
                self._open.pop(future, None)
            return  # the caller cancelled it while it was queued
        with self._cond:
            offline = job.handle._status == "offline"
        # A device known to be offline gets one try, so a dead board cannot hold up the
        # line for (retries + 1) timeouts per command; it gets its state when it returns.
        attempts = 1 if offline else 1 + self.settings.retries
        error: BaseException | None = None
        for _ in range(attempts):
            try:
                result = job.action()
            except _REFUSALS as exc:
                error = exc
                break
            except DeviceError as exc:
                error = exc
                if self._stop.is_set():
                    break
            except Exception as exc:
                log.exception("RS-485 command for %r failed", job.handle)
                error = exc
                break
            else:
                if future is not None:
                    self._resolve(future, result)
                return
        if future is not None:
            self._resolve(future, None, error)

    # ----------------------------------------------- exchanges with health (bus thread)
    def _framed(self, handle: _FramedHandle, frame: frames.Frame) -> Reply:
        try:
            reply = frames.parse_reply(self._link.exchange_framed(frame))
        except DeviceError as exc:
            self._failed(handle, exc)
            raise
        self._seen(handle, reply, sets_state=frame.command in _STATE_COMMANDS)
        if reply.command is Command.NACK:
            name = Command(frame.command).name.lower().replace("_", " ")
            raise CommandRefused(handle.address, name, reply.value)
        return reply

    def _modbus(self, handle: DigitBoard, request: bytes) -> modbus.Adu:
        with self._cond:
            sets_state = request == handle._desired
        try:
            reply = modbus.check_reply(request, self._link.exchange_modbus(request))
        except modbus.ModbusError:
            self._seen(handle, None)
            raise
        except DeviceError as exc:
            self._failed(handle, exc)
            raise
        self._seen(handle, None, sets_state=sets_state)
        return reply

    def _seen(self, handle: _Handle, reply: Reply | None, *, sets_state: bool = False) -> None:
        """A valid reply: the device is online. Its state is re-sent when it restarted
        (FRESH) or comes back — unless this very exchange just set that state."""
        changed: DeviceHealth | None = None
        with self._cond:
            was = handle._status
            handle._fails = 0
            handle._last_seen = time.time()
            newly_fresh = False
            if isinstance(handle, _FramedHandle) and reply is not None:
                if reply.kind != handle.expected_kind:
                    said = frames.kind_label(reply.kind)
                    handle._last_error = f"answers as a {said}, configured as a {handle.kind}"
                # A device stays FRESH (and repeats its first event) until our state reaches
                # it: only the first FRESH reply means a restart, later ones are the same life.
                newly_fresh = reply.fresh and not handle._fresh
                handle._fresh = reply.fresh
                if newly_fresh:
                    handle._on_fresh()
            if was != "online":
                handle._status, handle._since = "online", time.time()
                changed = handle._health()
            if (newly_fresh or (was != "online" and not sets_state)) and not self._closed:
                self._queue_restore_locked(handle)
        if changed is not None:
            log.info("%s %d on %s is online", handle.kind, handle.address, self.url)
            self._notify_health(changed)

    def _failed(self, handle: _Handle, error: BaseException) -> None:
        changed: DeviceHealth | None = None
        with self._cond:
            handle._fails += 1
            handle._last_error = str(error)
            if handle._fails >= OFFLINE_AFTER and handle._status != "offline":
                handle._status, handle._since = "offline", time.time()
                changed = handle._health()
        if changed is not None:
            log.warning("%s %d on %s is offline: %s", handle.kind, handle.address, self.url, error)
            self._notify_health(changed)

    def _queue_restore_locked(self, handle: _Handle) -> None:
        if handle._restore_queued:
            return
        handle._restore_queued = True

        def restore() -> None:
            with self._cond:
                handle._restore_queued = False
            handle._restore()

        self._enqueue_locked(_Job(handle, restore, None))

    def _notify_health(self, health: DeviceHealth) -> None:
        with self._cond:
            listeners = list(self._health_listeners)
        for listener in listeners:
            self._callbacks.call(functools.partial(listener, health))
