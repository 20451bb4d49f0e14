"""Queue-ticket printers: ESC/POS over USB, serial, TCP, a device file or a Windows queue.

    printer = printer_for_url("escpos+tcp://10.0.0.5:9100?paper=80")
    if printer.status().ready:
        printer.print_ticket(content)

Options every scheme takes: `paper=80|58` (mm, default 80), `mode=image|text` (default
image: the ticket drawn with our CJK font; text: the printer's own GB18030 fonts and native
QR, faster on Chinese printers), `cut=full|partial`, `status_timeout=S` (per status reply,
default 0.3, a whole status query never takes more than 1 s). Scheme-specific options are
in each module under `devices.printer.transports`. `PrinterSimulator` in `.sim` speaks
the same bytes on TCP or a pty for tests and the demo.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from devices.errors import DeviceError
from devices.printer import _escpos_setup  # noqa: F401  (python-escpos must be imported through it)
from devices.printer.layout import PAPER_DOTS, Paper, TicketContent, render_ticket
from devices.printer.status import PrinterStatus
from devices.printer.ticket_printer import EscposTicketPrinter, Mode
from devices.printer.transports import Transport
from devices.printer.transports.file import open_file
from devices.printer.transports.serial import open_serial
from devices.printer.transports.tcp import open_tcp
from devices.printer.transports.usb import open_usb
from devices.printer.transports.win32 import open_win32
from devices.url import DeviceURL, parse_device_url


@runtime_checkable
class TicketPrinter(Protocol):
    """What the kiosk needs from a ticket printer."""

    def print_ticket(self, content: TicketContent) -> None:
        """Print one ticket; raises DeviceUnavailable or DeviceTimeout, never hangs."""
        ...

    def status(self) -> PrinterStatus:
        """Status within about a second; `unknown` when the printer cannot say.

        Raises DeviceUnavailable when the printer cannot be reached at all.
        """
        ...

    def close(self) -> None: ...


#: Every URL scheme, with one line on what it reaches and an example.
SCHEMES: dict[str, str] = {
    "escpos+usb": "USB printer by vendor:product id (needs libusb): escpos+usb://04b8:0e28",
    "escpos+serial": "serial or USB-serial printer: escpos+serial:///dev/ttyUSB0?baud=115200",
    "escpos+tcp": "network printer on raw port 9100: escpos+tcp://10.0.0.5:9100?timeout=5",
    "escpos+file": "printer device file, e.g. Linux usblp: escpos+file:///dev/usb/lp0",
    "escpos+win32": "Windows print queue, raw (needs pywin32): escpos+win32://POS-80",
}

_OPENERS: dict[str, Callable[[DeviceURL], Transport]] = {
    "escpos+usb": open_usb,
    "escpos+serial": open_serial,
    "escpos+tcp": open_tcp,
    "escpos+file": open_file,
    "escpos+win32": open_win32,
}
COMMON_OPTIONS = frozenset({"paper", "mode", "cut", "status_timeout"})
SCHEME_OPTIONS: dict[str, frozenset[str]] = {
    "escpos+usb": frozenset({"interface", "timeout"}),
    "escpos+serial": frozenset({"baud", "timeout"}),
    "escpos+tcp": frozenset({"timeout", "connect_timeout"}),
    "escpos+file": frozenset({"timeout"}),
    "escpos+win32": frozenset(),
}


def _paper(url: DeviceURL) -> Paper:
    value = url.option("paper", "80").lower().removesuffix("mm")
    if value == "80":
        return "80mm"
    if value == "58":
        return "58mm"
    raise ValueError(f"{url}: paper must be 80 or 58, not {value!r}")


def _mode(url: DeviceURL) -> Mode:
    value = url.option("mode", "image").lower()
    if value == "image":
        return "image"
    if value == "text":
        return "text"
    raise ValueError(f"{url}: mode must be image or text, not {value!r}")


def printer_for_url(url: str) -> EscposTicketPrinter:
    """Open the printer a URL names (see SCHEMES); raises ValueError for a malformed URL,
    DeviceUnavailable when the printer cannot be reached, MissingDependency when a library
    its scheme needs is not installed."""
    parsed = parse_device_url(url)
    opener = _OPENERS.get(parsed.scheme)
    if opener is None:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise ValueError(f"unknown printer URL scheme {parsed.scheme!r} (known: {known})")
    allowed = COMMON_OPTIONS | SCHEME_OPTIONS[parsed.scheme]
    unknown = sorted(set(parsed.options) - allowed)
    if unknown:
        raise ValueError(
            f"{url}: unknown option(s) {', '.join(unknown)} (known: {', '.join(sorted(allowed))})"
        )
    cut = parsed.option("cut", "full").lower()
    if cut not in ("full", "partial"):
        raise ValueError(f"{url}: cut must be full or partial, not {cut!r}")
    paper, mode = _paper(parsed), _mode(parsed)
    reply_timeout_s = parsed.float_option("status_timeout", 0.3)
    transport = opener(parsed)
    return EscposTicketPrinter(
        transport,
        paper=paper,
        mode=mode,
        partial_cut=cut == "partial",
        reply_timeout_s=reply_timeout_s,
        url=url,
    )


def probe(url: str) -> str:
    """Field diagnostic: open the printer, ask its status, and say what was found.

    Never raises for a device problem (that is what it reports); prints nothing on paper.
    """
    lines = [f"printer  {url}"]
    started = time.monotonic()
    try:
        printer = printer_for_url(url)
    except ValueError as exc:
        return "\n".join([*lines, f"url      invalid: {exc}", "verdict  fix the printer URL"])
    except DeviceError as exc:
        return "\n".join([*lines, f"open     FAILED: {exc}", "verdict  cannot reach the printer"])
    with printer:
        opened_ms = (time.monotonic() - started) * 1000
        lines.append(f"link     {printer.transport.description} (opened in {opened_ms:.0f} ms)")
        cut = "partial" if printer.partial_cut else "full"
        lines.append(f"setup    paper {printer.paper}, mode {printer.mode}, {cut} cut")
        asked = time.monotonic()
        try:
            status = printer.status()
        except DeviceError as exc:
            return "\n".join([*lines, f"status   FAILED: {exc}", "verdict  link lost"])
        lines.append(f"status   {status.summary()} ({(time.monotonic() - asked) * 1000:.0f} ms)")
        if not status.unknown:
            flags = (
                ("online", status.online),
                ("cover open", status.cover_open),
                ("paper near end", status.paper_near_end),
                ("paper out", status.paper_out),
                ("error", status.error),
            )
            lines.append("flags    " + ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in flags))
        for n, reply in status.replies.items():
            shown = " ".join(f"0x{b:02x}" for b in reply) if reply else "no answer"
            lines.append(f"DLE EOT {n}  → {shown}")
        if status.one_way:
            verdict = "opened; this link cannot report paper or cover (print a test ticket)"
        elif status.unknown:
            verdict = "NOT SURE: the printer does not answer status requests properly"
        elif status.ready:
            verdict = "ready" + (" (load new paper soon)" if status.paper_near_end else "")
        else:
            verdict = f"NOT READY: {status.detail}"
        lines.append(f"health   {status.health}")
        lines.append(f"verdict  {verdict}")
    return "\n".join(lines)


__all__ = [
    "PAPER_DOTS",
    "SCHEMES",
    "EscposTicketPrinter",
    "Paper",
    "PrinterStatus",
    "TicketContent",
    "TicketPrinter",
    "printer_for_url",
    "probe",
    "render_ticket",
]
