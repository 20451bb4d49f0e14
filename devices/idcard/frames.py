"""SDT frames of China resident ID card readers: building requests and parsing replies.

Every frame is `AA AA AA 96 69 | LEN_hi LEN_lo | body | CHK`. LEN counts every byte after
itself, CHK included; CHK is the XOR of the two LEN bytes and the body. A request body is
`CMD PARA data…`, a reply body is `SW1 SW2 SW3 data…` where SW3 is the status.

`FrameReader` is incremental: bytes may arrive split or merged anywhere, garbage is skipped
up to the next preamble, and a frame with a bad checksum or an absurd length is counted and
dropped — `feed` never raises on anything the line delivers.
"""

from __future__ import annotations

import enum
from collections import deque
from functools import reduce
from typing import NamedTuple

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
HEADER_LEN = len(PREAMBLE) + 2  # preamble + LEN_hi LEN_lo
# The longest reply in the SDT command set is "read base message + fingerprint" (2321
# bytes); anything announcing more than this is noise that happens to contain a preamble.
MAX_FRAME = 4096


class Command(enum.Enum):
    """Request (CMD, PARA) pairs."""

    RESET_SAM = (0x10, 0xFF)
    SAM_STATUS = (0x11, 0xFF)
    SAM_ID = (0x12, 0xFF)
    FIND_CARD = (0x20, 0x01)
    SELECT_CARD = (0x20, 0x02)
    READ_BASE_MESSAGE = (0x30, 0x01)
    READ_NEW_ADDRESS = (0x30, 0x03)

    @property
    def cmd(self) -> int:
        return int(self.value[0])

    @property
    def para(self) -> int:
        return int(self.value[1])


class Status(enum.IntEnum):
    """SW3 of a reply."""

    SUCCESS = 0x90
    CARD_FOUND = 0x9F
    CHECKSUM_ERROR = 0x10
    LENGTH_ERROR = 0x11
    BAD_COMMAND = 0x21
    UNKNOWN_ERROR = 0x24
    CARD_AUTH_FAILED = 0x31
    SAM_AUTH_FAILED = 0x32
    DATA_CHECK_FAILED = 0x33
    WRONG_CARD_TYPE = 0x40
    READ_FAILED = 0x41
    RANDOM_FAILED = 0x47
    SAM_SELF_TEST_FAILED = 0x60
    NOT_AUTHORISED = 0x66
    NO_CARD = 0x80
    SELECT_FAILED = 0x81
    NO_SUCH_ITEM = 0x91

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS: dict[Status, str] = {
    Status.SUCCESS: "success",
    Status.CARD_FOUND: "card found",
    Status.CHECKSUM_ERROR: "request checksum error",
    Status.LENGTH_ERROR: "request length error",
    Status.BAD_COMMAND: "bad command",
    Status.UNKNOWN_ERROR: "unknown error",
    Status.CARD_AUTH_FAILED: "mutual authentication failed (card could not authenticate SAM)",
    Status.SAM_AUTH_FAILED: "mutual authentication failed (SAM could not authenticate card)",
    Status.DATA_CHECK_FAILED: "card data check failed",
    Status.WRONG_CARD_TYPE: "wrong card type",
    Status.READ_FAILED: "read failed",
    Status.RANDOM_FAILED: "random-number failure",
    Status.SAM_SELF_TEST_FAILED: "SAM self-test failed",
    Status.NOT_AUTHORISED: "reader not authorised",
    Status.NO_CARD: "no card found",
    Status.SELECT_FAILED: "card select failed",
    Status.NO_SUCH_ITEM: "no such item",
}


def describe_status(code: int) -> str:
    """`0x90 success`, or `0x5A unknown status` for a code outside the table."""
    try:
        return f"0x{code:02X} {Status(code).meaning}"
    except ValueError:
        return f"0x{code:02X} unknown status"


class Reply(NamedTuple):
    sw1: int
    sw2: int
    sw3: int
    data: bytes

    @property
    def status(self) -> Status | None:
        """SW3 as a Status, None when the reader sent a code outside the table."""
        try:
            return Status(self.sw3)
        except ValueError:
            return None


class Request(NamedTuple):
    cmd: int
    para: int
    data: bytes

    @property
    def command(self) -> Command | None:
        try:
            return Command((self.cmd, self.para))
        except ValueError:
            return None


def checksum(data: bytes | bytearray) -> int:
    """XOR of `data` (the LEN bytes and the body)."""
    return reduce(lambda acc, b: acc ^ b, data, 0)


def build_frame(body: bytes) -> bytes:
    length = len(body) + 1  # CHK counts too
    if length > 0xFFFF:
        raise ValueError(f"SDT frame body too long: {len(body)} bytes")
    counted = length.to_bytes(2, "big") + body
    return PREAMBLE + counted + bytes([checksum(counted)])


def build_request(command: Command, data: bytes = b"") -> bytes:
    """`build_request(Command.FIND_CARD)` → `AA AA AA 96 69 00 03 20 01 22`."""
    return build_frame(bytes([command.cmd, command.para]) + data)


def build_reply(status: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    return build_frame(bytes([sw1, sw2, status]) + data)


def _partial_preamble(buf: bytearray) -> int:
    """How many trailing bytes of `buf` could be the start of a preamble split by a read."""
    for keep in range(len(PREAMBLE) - 1, 0, -1):
        if buf.endswith(PREAMBLE[:keep]):
            return keep
    return 0


class _FrameScanner:
    """Finds checked frame bodies in a byte stream; shared by replies and requests."""

    min_body = 0

    def __init__(self, max_frame: int = MAX_FRAME, keep_errors: int = 20) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()
        self.frames = 0
        self.bad_checksums = 0
        self.bad_lengths = 0
        self.skipped_bytes = 0
        self.errors: deque[str] = deque(maxlen=keep_errors)

    @property
    def error_count(self) -> int:
        return self.bad_checksums + self.bad_lengths

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def partial_frame(self) -> tuple[int, int] | None:
        """(announced, received) bytes of a frame that has begun but not ended, else None.

        Only a header that passes the same length check as a whole frame counts, so noise
        that happens to contain a preamble is not taken for a reply cut short.
        """
        buf = self._buf
        if len(buf) < HEADER_LEN or not buf.startswith(PREAMBLE):
            return None
        total = HEADER_LEN + ((buf[5] << 8) | buf[6])
        if total - HEADER_LEN < self.min_body + 1 or total > self.max_frame:
            return None
        return total, len(buf)

    def reset(self) -> None:
        """Forget a half-received frame (e.g. before a new request)."""
        self.skipped_bytes += len(self._buf)
        self._buf.clear()

    def _skip(self, count: int) -> None:
        self.skipped_bytes += count
        del self._buf[:count]

    def _bodies(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        bodies: list[bytes] = []
        while True:
            start = buf.find(PREAMBLE)
            if start < 0:
                self._skip(len(buf) - _partial_preamble(buf))
                break
            if start:
                self._skip(start)
            if len(buf) < HEADER_LEN:
                break
            length = (buf[5] << 8) | buf[6]
            total = HEADER_LEN + length
            if length < self.min_body + 1 or total > self.max_frame:
                # Not a frame we could accept: resynchronise one byte later rather than
                # trusting LEN, so a real frame right behind the noise is not swallowed.
                self.bad_lengths += 1
                self.errors.append(f"absurd frame length {length}")
                self._skip(1)
                continue
            if len(buf) < total:
                break
            if checksum(buf[5 : total - 1]) != buf[total - 1]:
                self.bad_checksums += 1
                self.errors.append(f"bad checksum in a {total}-byte frame")
                self._skip(1)
                continue
            bodies.append(bytes(buf[HEADER_LEN : total - 1]))
            self.frames += 1
            del buf[:total]
        return bodies


class FrameReader(_FrameScanner):
    """Incremental reply parser: `feed(bytes) -> list[Reply]`, never raises."""

    min_body = 3  # SW1 SW2 SW3

    def feed(self, data: bytes) -> list[Reply]:
        return [Reply(b[0], b[1], b[2], b[3:]) for b in self._bodies(data)]


class RequestReader(_FrameScanner):
    """Incremental request parser for simulated readers: `feed(bytes) -> list[Request]`."""

    min_body = 2  # CMD PARA

    def feed(self, data: bytes) -> list[Request]:
        return [Request(b[0], b[1], b[2:]) for b in self._bodies(data)]
