"""A simulated serial scanner on a real pty: `scan(text)` sends a line, as a trigger pull does.

Usage::

    sim = SerialScannerSimulator().start()
    scanner = scanner_for_url(f"scanner+serial://{sim.path}?baud=9600", on_code).start()
    sim.scan("BQ1.abc.def")          # → on_code(Code("BQ1.abc.def", "UNKNOWN"))
    sim.send(b"\\xff\\x00noise\\r\\n")  # line noise: skipped by the scanner
    scanner.stop(); sim.stop()
"""

from __future__ import annotations

from devices.sim.base import PtyDevice


class SerialScannerSimulator(PtyDevice):
    """Sends scans; ignores what the host writes (real scanners ignore it unless set up)."""

    name = "serial-scanner"

    def __init__(self, terminator: bytes = b"\r\n", encoding: str = "utf-8") -> None:
        super().__init__()
        self.terminator = terminator
        self.encoding = encoding
        self.scanned: list[str] = []

    def scan(self, text: str, aim: str = "") -> None:
        """One scan: `text` (after an optional AIM identifier such as "]Q1") and the line end."""
        self.scanned.append(text)
        self.send((aim + text).encode(self.encoding) + self.terminator)

    def handle(self, data: bytes) -> bytes:
        return b""
