"""Windows printers reached through the print spooler as raw (unformatted) jobs.

URL: `escpos+win32://PRINTER NAME` — the queue name as Windows shows it, e.g.
`escpos+win32://POS-80` or `escpos+win32://EPSON TM-T88V Receipt` (spaces may be written
as %20).

Needs pywin32 (`pip install pywin32`), imported only when such a printer is opened; on any
other system, or without pywin32, opening one raises MissingDependency.

The spooler is one-way: ESC/POS status bytes never come back through it. The queue's own
flags (paper out, offline, door open, error) are reported instead when the driver sets
them; otherwise status stays unknown.
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import unquote

from devices.errors import DeviceUnavailable, MissingDependency
from devices.url import DeviceURL

# PRINTER_STATUS_* flags from the Win32 spooler API (winspool.h).
SPOOLER_ERROR = 0x2
SPOOLER_PAPER_OUT = 0x10
SPOOLER_PAPER_PROBLEM = 0x40
SPOOLER_OFFLINE = 0x80
SPOOLER_NOT_AVAILABLE = 0x1000
SPOOLER_DOOR_OPEN = 0x400000


def _win32print() -> Any:
    if sys.platform != "win32":
        raise MissingDependency("escpos+win32:// printers exist only on Windows")
    try:
        import win32print  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise MissingDependency("Windows printer queues need pywin32: pip install pywin32") from exc
    return win32print


class Win32Transport:
    can_read = False  # the spooler never passes status bytes back

    def __init__(self, name: str) -> None:
        self.name = name
        self.description = f"Windows printer {name!r}"
        self._api = _win32print()

    def open(self) -> None:
        # Checked once up front so a mistyped queue name fails at start-up, not at the first
        # customer's ticket.
        handle = self._handle()
        self._api.ClosePrinter(handle)

    def _handle(self) -> Any:
        try:
            return self._api.OpenPrinter(self.name)
        except Exception as exc:  # pywintypes.error has no importable base here
            raise DeviceUnavailable(f"cannot open {self.description}: {exc}") from exc

    def write(self, data: bytes, timeout_s: float | None = None) -> None:
        # The spooler takes the job at once and prints it later: no timeout applies.
        handle = self._handle()
        try:
            self._api.StartDocPrinter(handle, 1, ("BranchQ ticket", None, "RAW"))
            try:
                self._api.StartPagePrinter(handle)
                self._api.WritePrinter(handle, data)
                self._api.EndPagePrinter(handle)
            finally:
                self._api.EndDocPrinter(handle)
        except Exception as exc:
            raise DeviceUnavailable(f"{self.description}: {exc}") from exc
        finally:
            self._api.ClosePrinter(handle)

    def read(self, size: int, timeout_s: float) -> bytes:
        return b""

    def spooler_flags(self) -> int:
        """The queue's PRINTER_STATUS_* flags (0 when the driver reports nothing)."""
        handle = self._handle()
        try:
            return int(self._api.GetPrinter(handle, 2)["Status"])
        except Exception as exc:
            raise DeviceUnavailable(f"{self.description}: {exc}") from exc
        finally:
            self._api.ClosePrinter(handle)

    def close(self) -> None:
        pass  # a handle is held only for the length of one call


def open_win32(url: DeviceURL) -> Win32Transport:
    name = unquote(url.target).strip("/")
    if not name:
        raise ValueError(f"{url}: no printer name (expected escpos+win32://POS-80)")
    transport = Win32Transport(name)
    transport.open()
    return transport
