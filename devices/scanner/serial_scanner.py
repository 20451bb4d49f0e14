"""Serial barcode/QR scanners: one text line per scan over RS-232 or USB-serial (CDC).

URL format::

    scanner+serial:///dev/ttyUSB0?baud=9600
    scanner+serial://COM3?baud=115200
    scanner+serial://socket://127.0.0.1:4001        (any pyserial URL: loop://, rfc2217://)

Options:

    baud=N      line speed (default 9600, the factory setting of most scanners)
    max=N       longest line accepted, in characters (default 4096); longer ones are dropped
    idle=S      a line with no line end after S seconds of silence is dropped (default 0.2)
    dedup=S     report the same code again only after S seconds (default 0: every scan —
                a customer who scans twice means it; set it for scanners in presentation
                mode that re-read a code left under them)
    aim=1       lines start with an AIM symbology identifier (`]Q1…` QR, `]C0…` Code 128,
                `]E0…` EAN-13): strip it and report the symbology
    encoding=E  how the scanner encodes text (default utf-8; gb18030 for scanners set to
                the Chinese code page)

A line ends at CR, LF or CR LF. A line that is not text in the encoding, or that holds
control characters, is line noise (a scanner powering up, a baud mismatch) and is skipped,
as is an over-long one: the scanner drops the rest up to its next line end. A partial line
followed by silence (a cable pulled mid-line, a scanner set to no suffix) is dropped after
`idle` seconds, so it cannot swallow the next scan; a scanner sends a whole line in one
burst, a millisecond a byte at 9600 baud.
Skipped lines are counted in `skipped`. Every read goes through `SerialLine`, so a scanner
that is unplugged is reported once and reopened when it comes back.
"""

from __future__ import annotations

import logging

from devices.errors import DeviceError
from devices.scanner.base import OnCode, OnError, ThreadedScanner
from devices.scanner.decode import Code
from devices.scanner.dedup import Deduplicator
from devices.serialport import SerialLine
from devices.url import parse_device_url, serial_target

log = logging.getLogger(__name__)

# AIM symbology identifier flag characters → zbar's names for the same symbologies.
AIM_SYMBOLOGIES = {
    "Q": "QRCODE",
    "C": "CODE128",
    "E": "EAN13",
    "A": "CODE39",
    "G": "CODE93",
    "I": "I25",
    "L": "PDF417",
    "F": "CODABAR",
    "e": "DATABAR",
    "d": "DATAMATRIX",
}


class LineAssembler:
    """Bytes as they arrive → complete lines; drops over-long lines (pure, no I/O)."""

    def __init__(self, max_length: int = 4096) -> None:
        self.max_length = max_length
        self._buffer = bytearray()
        self._overflowing = False  # inside an over-long line: drop up to its end
        self.overlong = 0
        self.abandoned = 0

    @property
    def pending(self) -> bool:
        """Part of a line (or of an over-long one) has arrived without its line end."""
        return bool(self._buffer) or self._overflowing

    def idle(self) -> None:
        """No bytes for a while: a partial line will never be finished; drop it."""
        if self._buffer or self._overflowing:
            if not self._overflowing:
                self.abandoned += 1
            self._buffer.clear()
            self._overflowing = False

    def feed(self, data: bytes) -> list[bytes]:
        lines: list[bytes] = []
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._overflowing:
                    self._overflowing = False
                elif self._buffer:
                    lines.append(bytes(self._buffer))
                self._buffer.clear()
                continue
            if self._overflowing:
                continue
            self._buffer.append(byte)
            if len(self._buffer) > self.max_length:
                self._buffer.clear()
                self._overflowing = True
                self.overlong += 1
        return lines


def parse_line(raw: bytes, encoding: str = "utf-8", aim: bool = False) -> Code | None:
    """One scanned line → a Code, or None when it is line noise."""
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    text = text.strip()
    if not text or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        return None
    symbology = "UNKNOWN"
    if aim and len(text) > 3 and text[0] == "]":
        symbology = AIM_SYMBOLOGIES.get(text[1], "UNKNOWN")
        text = text[3:]
    return Code(text, symbology)


class SerialScanner(ThreadedScanner):
    """Reports each line a serial scanner sends as a Code."""

    name = "serial-scanner"

    def __init__(self, url: str, on_code: OnCode, on_error: OnError | None = None) -> None:
        super().__init__(url, on_code, on_error)
        dev = parse_device_url(url)
        if dev.scheme != "scanner+serial":
            raise ValueError(f"not a serial scanner URL: {url!r}")
        self.port = serial_target(dev)
        self.baudrate = dev.int_option("baud", 9600)
        self.encoding = dev.option("encoding", "utf-8")
        self.aim = dev.int_option("aim", 0) == 1
        self.dedup = Deduplicator(dev.float_option("dedup", 0.0))
        self.assembler = LineAssembler(dev.int_option("max", 4096))
        self.garbage = 0
        self.idle_s = max(0.02, dev.float_option("idle", 0.2))
        self.line = SerialLine(self.port, baudrate=self.baudrate, timeout_s=0.2,
                               reopen_after_s=dev.float_option("retry", 2.0))  # fmt: skip

    @property
    def connected(self) -> bool:
        return self.running and self.line.connected

    @property
    def skipped(self) -> int:
        """Lines dropped as noise, as too long, or as never finished."""
        return self.garbage + self.assembler.overlong + self.assembler.abandoned

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    if not self.line.connected:
                        self.line.open()  # now, not on the first read: `ready` means open
                        self.ready.set()
                    # Block for the first byte only, then take what else has arrived, so a
                    # scan is reported as soon as its line end is in.
                    data = self.line.read(1, timeout_s=self.idle_s)
                    if data:
                        data += self.line.read_available()
                except DeviceError as exc:
                    self._report(exc)
                    self._stop.wait(0.5)
                    continue
                self._recovered()
                if not data:
                    self.assembler.idle()
                    continue
                for raw in self.assembler.feed(data):
                    code = parse_line(raw, self.encoding, self.aim)
                    if code is None:
                        self.garbage += 1
                        log.info("%s: skipped a line of noise (%d bytes)", self.url, len(raw))
                    elif self.dedup.window_s == 0 or self.dedup.first_sighting(code):
                        self._emit(code)
        finally:
            self.line.close()
