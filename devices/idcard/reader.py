"""China resident ID card reader (SAM "SDT" frames) on a serial line.

URL: `sdt+serial://PORT?baud=115200&timeout=0.5&read_timeout=2&poll=0.3`

* PORT — a device path (`/dev/ttyUSB0`, `COM3`) or any pyserial URL
  (`sdt+serial://socket://10.0.0.7:4001`, `sdt+serial://loop://`).
* `baud` — line speed, default 115200 (readers ship at 115200 8N1).
* `timeout` — seconds to wait for the answer to a short command (SAM, find, select,
  presence check), default 0.5.
* `read_timeout` — seconds to wait for the 1295-byte "read base message" answer, default 2
  (a real reader needs close to a second for the radio exchange with the card).
* `poll` — the shortest gap between two polls of the card field, default 0.3: readers
  are specified for polling no faster than about every 300 ms.

A card that has been read stays "used" on the reader: find card reports no card until it
is lifted and placed again. Whether the card is still lying there is asked with "read new
address", which keeps answering while the read card stays in the field (the way vendor
SDKs detect removal) — see `card_present`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType

import serial

from devices.errors import DeviceTimeout, DeviceUnavailable
from devices.idcard.card import IdCard, parse_base_message
from devices.idcard.errors import (
    CardExpired,
    CardNotRead,
    ReaderStatusError,
    ReplyChecksumError,
    ReplyError,
    TruncatedReply,
    WrongCardType,
)
from devices.idcard.frames import (
    Command,
    FrameReader,
    Reply,
    Status,
    build_request,
    describe_status,
)
from devices.serialport import SerialLine
from devices.url import parse_device_url, serial_target

log = logging.getLogger(__name__)

# SerialLine maps most port failures to DeviceUnavailable, but a tty that hangs up (a
# USB-serial reader unplugged) mid-read can still leak these from pyserial's timeout
# setter and tcflush; the reader maps them too rather than let them kill a caller.
_PORT_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError)
try:
    import termios

    _PORT_ERRORS += (termios.error,)
except ImportError:  # Windows has no termios
    pass

SCHEME = "sdt+serial"
DEFAULT_BAUD = 115200
DEFAULT_TIMEOUT_S = 0.5
DEFAULT_READ_TIMEOUT_S = 2.0
DEFAULT_POLL_S = 0.3
# Reads are sliced so a cancel request is noticed quickly even while waiting on a silent line.
_SLICE_S = 0.05
SAM_ID_LEN = 16
# Statuses that are about the card in the field, not the reader: the radio exchange
# failed or the card left. Placing the card again is the cure, so they are the customer's.
_CARD_STATUSES: dict[Status, str] = {
    Status.CARD_AUTH_FAILED: "auth_failed",
    Status.SAM_AUTH_FAILED: "auth_failed",
    Status.DATA_CHECK_FAILED: "data_check_failed",
    Status.READ_FAILED: "read_failed",
    Status.RANDOM_FAILED: "random_failed",
    Status.NO_CARD: "no_card",
    Status.SELECT_FAILED: "select_failed",
}
# Commands that talk to a card already found; the others are the reader's own business.
_CARD_COMMANDS = {Command.SELECT_CARD, Command.READ_BASE_MESSAGE, Command.READ_NEW_ADDRESS}


class IdCardReader:
    """Find, select and read resident ID cards; every call returns within its timeout."""

    def __init__(
        self,
        line: SerialLine,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
        min_poll_s: float = DEFAULT_POLL_S,
        reject_expired: bool = True,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.line = line
        self.timeout_s = timeout_s
        self.read_timeout_s = read_timeout_s
        self.min_poll_s = min_poll_s
        # A bank takes no expired ID: refused unless a caller (a field probe) says otherwise.
        self.reject_expired = reject_expired
        self.today = today
        self._frames = FrameReader()
        self._lock = threading.RLock()
        self._cancel = threading.Event()  # never set unless replaced by cancel_on()
        self._last_poll = float("-inf")

    @classmethod
    def from_url(cls, url: str) -> IdCardReader:
        """`sdt+serial:///dev/ttyUSB0?baud=115200&timeout=0.5` (see the module docstring)."""
        parsed = parse_device_url(url)
        if parsed.scheme != SCHEME:
            raise ValueError(f"not an ID card reader URL: {url!r} (expected {SCHEME}://PORT)")
        target = serial_target(parsed)
        if not target:
            raise ValueError(f"ID card reader URL {url!r} names no port")
        timeout_s = parsed.float_option("timeout", DEFAULT_TIMEOUT_S)
        line = SerialLine(
            target,
            baudrate=parsed.int_option("baud", DEFAULT_BAUD),
            timeout_s=timeout_s,
        )
        return cls(
            line,
            timeout_s=timeout_s,
            read_timeout_s=parsed.float_option("read_timeout", DEFAULT_READ_TIMEOUT_S),
            min_poll_s=parsed.float_option("poll", DEFAULT_POLL_S),
        )

    # ---------------------------------------------------------------- lifecycle
    def close(self) -> None:
        self.line.close()

    def __enter__(self) -> IdCardReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def cancel_on(self, event: threading.Event) -> Iterator[None]:
        """Commands inside this block give up (DeviceTimeout) as soon as `event` is set.

        The card watcher runs its loop inside this, so stopping it does not wait out a
        reply timeout.
        """
        previous, self._cancel = self._cancel, event
        try:
            yield
        finally:
            self._cancel = previous

    # ------------------------------------------------------------------ exchange
    def _exchange(self, command: Command, timeout_s: float) -> Reply:
        """Send one request, return its reply; DeviceTimeout / a ReplyError otherwise."""
        with self._lock:
            try:
                return self._exchange_locked(command, timeout_s)
            except _PORT_ERRORS as exc:
                self.line.close()
                raise DeviceUnavailable(f"{self.line.url} lost: {exc}") from exc

    def _exchange_locked(self, command: Command, timeout_s: float) -> Reply:
        """The exchange itself; the caller holds the lock and maps port failures."""
        if self._cancel.is_set():
            raise DeviceTimeout(f"{command.name.lower()}: cancelled")
        # Leftovers of an earlier, timed-out reply must not answer this request. Drained
        # by reading rather than SerialLine.reset_input(): on an unplugged tty its
        # tcflush raises termios.error, which is not mapped to DeviceUnavailable.
        self.line.read_available()
        self._frames.reset()
        errors_before = self._frames.error_count
        checksums_before = self._frames.bad_checksums
        skipped_before = self._frames.skipped_bytes
        self.line.write(build_request(command))
        deadline = time.monotonic() + timeout_s
        received = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if self._cancel.is_set():
                raise DeviceTimeout(f"{command.name.lower()}: cancelled")
            chunk = self.line.read(1, timeout_s=min(remaining, _SLICE_S))
            if not chunk:
                continue
            chunk += self.line.read_available()
            received += len(chunk)
            replies = self._frames.feed(chunk)
            if replies:
                reply = replies[0]
                log.debug("%s → %s", command.name, describe_status(reply.sw3))
                return reply
            if self._frames.error_count > errors_before:
                # A corrupted reply is not resent; waiting longer would only time out.
                damaged = (
                    ReplyChecksumError
                    if self._frames.bad_checksums > checksums_before
                    else ReplyError
                )
                raise damaged(
                    f"{command.name.lower()}: invalid reply from {self.line.url} "
                    f"({self._frames.errors[-1]})"
                )
        partial = self._frames.partial_frame()
        if partial is not None:
            announced, got = partial
            raise TruncatedReply(
                f"{command.name.lower()}: reply from {self.line.url} cut short: "
                f"{got} of the {announced} bytes it announced in {timeout_s:g} s",
                announced,
                got,
            )
        if received:
            skipped = self._frames.skipped_bytes - skipped_before + self._frames.pending
            raise ReplyError(
                f"{command.name.lower()}: no valid reply from {self.line.url} in "
                f"{timeout_s:g} s ({received} bytes received, {skipped} not a frame)"
            )
        raise DeviceTimeout(
            f"{command.name.lower()}: no answer from {self.line.url} in {timeout_s:g} s"
        )

    def _pace(self) -> None:
        """Keep polls of the card field at least `min_poll_s` apart."""
        wait = self._last_poll + self.min_poll_s - time.monotonic()
        if wait > 0 and self._cancel.wait(wait):
            raise DeviceTimeout("poll: cancelled")
        self._last_poll = time.monotonic()

    @staticmethod
    def _fail(command: Command, reply: Reply) -> ReaderStatusError | CardNotRead | WrongCardType:
        """The error for a failure status: the card's (the customer is told) or the reader's."""
        message = f"{command.name.lower()}: reader answered {describe_status(reply.sw3)}"
        status = reply.status
        if command not in _CARD_COMMANDS:
            return ReaderStatusError(message, reply.sw3)
        if status is Status.WRONG_CARD_TYPE:
            return WrongCardType(message)
        if status in _CARD_STATUSES:
            return CardNotRead(message, _CARD_STATUSES[status], reply.sw3)
        return ReaderStatusError(message, reply.sw3)

    def _card_exchange(self, command: Command, timeout_s: float) -> Reply:
        """An exchange about the found card: a damaged reply means this read failed.

        A card moved during the radio exchange is the usual cause, and placing it again
        the cure, so it is the customer's moment rather than a reader fault. The damage
        (checksum or cut short) stays readable in `reason` and `__cause__`.
        """
        try:
            return self._exchange(command, timeout_s)
        except ReplyError as exc:
            raise CardNotRead(
                f"{command.name.lower()}: the card's reply was damaged ({exc})", exc.code
            ) from exc

    # ----------------------------------------------------------------- SAM
    def reset_sam(self) -> None:
        reply = self._exchange(Command.RESET_SAM, self.timeout_s)
        if reply.sw3 != Status.SUCCESS:
            raise self._fail(Command.RESET_SAM, reply)

    def sam_status(self) -> int:
        """The SAM's status code (0x90 when healthy); not raised, for diagnostics."""
        return self._exchange(Command.SAM_STATUS, self.timeout_s).sw3

    def sam_id(self) -> str:
        """The security module's number, e.g. `05.01-20181018-0000012345-0123456789`.

        Sixteen bytes: two little-endian 16-bit parts, then three little-endian 32-bit
        parts, printed the way reader vendors print them.
        """
        reply = self._exchange(Command.SAM_ID, self.timeout_s)
        if reply.sw3 != Status.SUCCESS:
            raise self._fail(Command.SAM_ID, reply)
        data = reply.data
        if len(data) < SAM_ID_LEN:
            raise ReplyError(f"sam_id: {len(data)} data bytes, expected {SAM_ID_LEN}")
        a, b = (int.from_bytes(data[i : i + 2], "little") for i in (0, 2))
        c, d, e = (int.from_bytes(data[i : i + 4], "little") for i in (4, 8, 12))
        return f"{a:02d}.{b:02d}-{c:08d}-{d:010d}-{e:010d}"

    # ---------------------------------------------------------------- card
    def find_card(self) -> bool:
        """True when a card not yet read is in the field; paced to `min_poll_s`."""
        self._pace()
        reply = self._exchange(Command.FIND_CARD, self.timeout_s)
        if reply.sw3 == Status.CARD_FOUND:
            return True
        if reply.sw3 == Status.NO_CARD:
            return False
        raise self._fail(Command.FIND_CARD, reply)

    def select_card(self) -> bool:
        """True when the found card answered; False when it left or could not be selected."""
        reply = self._card_exchange(Command.SELECT_CARD, self.timeout_s)
        if reply.sw3 == Status.SUCCESS:
            return True
        if reply.sw3 in (Status.SELECT_FAILED, Status.NO_CARD):
            return False
        raise self._fail(Command.SELECT_CARD, reply)

    def read_card(self) -> IdCard:
        """Read and check the selected card; a CardProblem when it cannot be used."""
        reply = self._card_exchange(Command.READ_BASE_MESSAGE, self.read_timeout_s)
        if reply.sw3 != Status.SUCCESS:
            raise self._fail(Command.READ_BASE_MESSAGE, reply)
        card = parse_base_message(reply.data)
        if self.reject_expired and card.valid_to is not None and card.expired(self.today()):
            raise CardExpired(f"card expired on {card.valid_to.isoformat()}", card.valid_to)
        return card

    def read_new_address(self) -> str:
        """The address change recorded on the card after issue, "" when there is none."""
        reply = self._exchange(Command.READ_NEW_ADDRESS, self.timeout_s)
        if reply.sw3 == Status.NO_SUCH_ITEM:
            return ""
        if reply.sw3 != Status.SUCCESS:
            raise self._fail(Command.READ_NEW_ADDRESS, reply)
        return _ucs2_text(reply.data)

    def card_present(self) -> bool:
        """Is the card that was just read still in the field? Paced like `find_card`.

        Find card cannot tell (it ignores a card already read), so this asks the selected
        card for its new address: it answers while it lies on the reader.
        """
        self._pace()
        reply = self._exchange(Command.READ_NEW_ADDRESS, self.timeout_s)
        if reply.sw3 in (Status.SUCCESS, Status.NO_SUCH_ITEM):
            return True
        if reply.status in _CARD_STATUSES:
            return False  # the card no longer answers as it did: it has left the field
        raise self._fail(Command.READ_NEW_ADDRESS, reply)

    def read_once(self) -> IdCard | None:
        """Find, select and read: the card, or None when no (new) card is on the reader."""
        if not self.find_card() or not self.select_card():
            return None
        return self.read_card()


def _ucs2_text(data: bytes) -> str:
    even = data[: len(data) - len(data) % 2]
    try:
        return even.decode("utf-16-le").rstrip(" \x00")
    except UnicodeDecodeError:
        raise ReplyError("new address is not UCS-2 text") from None
