"""Real-time printer status: DLE EOT requests, strict reply checks, and what they mean.

python-escpos's own `query_status` / `paper_status` call a silent printer "paper OK"; a
kiosk that trusted that would hand out tickets from an empty printer. Here every reply
byte is checked against the fixed bits every ESC/POS status byte carries, and a printer
that says nothing, or says something that is not a status byte, is `unknown`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from devices.errors import DeviceTimeout
from devices.printer.transports import Transport, win32

Health = Literal["ok", "warning", "error", "offline"]

#: DLE EOT n: n = 1 printer, 2 offline cause, 3 error cause, 4 paper sensor.
DLE_EOT = b"\x10\x04"
ASKED = (1, 2, 4)  # 3 is asked only when 2 reports an error, to say which

#: Every status byte has bit 1 and bit 4 set and bit 0 and bit 7 clear: 0b0xx1xx10.
FIXED_MASK = 0b1001_0011
FIXED_BITS = 0b0001_0010

# n=1
OFFLINE = 0x08
# n=2
COVER_OPEN = 0x04
FEED_BUTTON = 0x08
STOPPED_AT_PAPER_END = 0x20
ERROR = 0x40
# n=3
CUTTER_ERROR = 0x08
UNRECOVERABLE = 0x20
AUTO_RECOVERABLE = 0x40
# n=4
PAPER_NEAR_END = 0x0C
PAPER_END = 0x60

REPLY_TIMEOUT_S = 0.3
BUDGET_S = 1.0  # the whole query, however many requests it takes


def status_request(n: int) -> bytes:
    """The DLE EOT request for status `n` (1–4)."""
    if n not in (1, 2, 3, 4):
        raise ValueError(f"DLE EOT {n}: n must be 1, 2, 3 or 4")
    return DLE_EOT + bytes((n,))


def is_status_byte(value: int) -> bool:
    return value & FIXED_MASK == FIXED_BITS


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said about itself. Check `unknown` before trusting the rest."""

    online: bool = False
    cover_open: bool = False
    paper_near_end: bool = False
    paper_out: bool = False
    error: bool = False
    #: True when the printer did not answer, answered garbage, or cannot answer at all.
    unknown: bool = True
    #: One line for people (the manager's screen, a field technician); no personal data.
    detail: str = ""
    #: The link cannot carry status at all (a spooler queue, a plain file).
    one_way: bool = False
    #: Unknown because the printer answered with bytes that are not status (wrong baud
    #: rate, another device on the port, a printer that echoes).
    garbled: bool = False
    #: The raw reply to each DLE EOT n asked, for diagnostics.
    replies: Mapping[int, bytes] = field(default_factory=dict, compare=False)

    @property
    def ready(self) -> bool:
        """Known to be able to print now (paper near end still prints)."""
        return (
            not self.unknown
            and self.online
            and not (self.cover_open or self.paper_out or self.error)
        )

    @property
    def health(self) -> Health:
        """In the server's device-health words: ok / warning / error / offline."""
        if self.one_way:
            return "ok"  # opened fine; nothing more can be known
        if self.unknown:
            return "error" if self.garbled else "offline"
        if not self.ready:
            return "error"
        return "warning" if self.paper_near_end else "ok"

    def summary(self) -> str:
        if self.unknown:
            return f"unknown: {self.detail}" if self.detail else "unknown"
        problems = [
            name
            for flag, name in (
                (self.paper_out, "paper out"),
                (self.cover_open, "cover open"),
                (self.error, "error"),
                (not self.online, "offline"),
                (self.paper_near_end, "paper near end"),
            )
            if flag
        ]
        return ", ".join(problems) if problems else "ready"


def _garbled(replies: Mapping[int, bytes], n: int) -> PrinterStatus:
    reply = replies[n]
    shown = reply.hex(" ") if reply else "nothing"
    return PrinterStatus(
        detail=f"not a status byte in answer to DLE EOT {n}: {shown}",
        garbled=True,
        replies=dict(replies),
    )


def decode_status(replies: Mapping[int, bytes]) -> PrinterStatus:
    """Replies to DLE EOT 1, 2 and 4 (and maybe 3) → status; any missing or bad one → unknown."""
    for n in ASKED:
        reply = replies.get(n, b"")
        if not reply:
            return PrinterStatus(
                detail=f"no answer to status request DLE EOT {n}", replies=dict(replies)
            )
        if len(reply) != 1 or not is_status_byte(reply[0]):
            return _garbled(replies, n)
    s1, s2, s4 = (replies[n][0] for n in ASKED)
    causes = []
    if s2 & COVER_OPEN:
        causes.append("cover open")
    paper_out = bool(s2 & STOPPED_AT_PAPER_END or s4 & PAPER_END)
    if paper_out:
        causes.append("paper out")
    error = bool(s2 & ERROR)
    if error:
        s3 = replies.get(3, b"")
        if len(s3) == 1 and is_status_byte(s3[0]):
            if s3[0] & CUTTER_ERROR:
                causes.append("auto-cutter error")
            if s3[0] & UNRECOVERABLE:
                causes.append("unrecoverable error")
            if s3[0] & AUTO_RECOVERABLE:
                causes.append("error (recovers by itself)")
        if not any("error" in c for c in causes):
            causes.append("error")
    if s2 & FEED_BUTTON:
        causes.append("feed button pressed")
    near_end = bool(s4 & PAPER_NEAR_END) and not paper_out
    if near_end:
        causes.append("paper near end")
    online = not s1 & OFFLINE
    if not online and not causes:
        causes.append("offline")
    return PrinterStatus(
        online=online,
        cover_open=bool(s2 & COVER_OPEN),
        paper_near_end=bool(s4 & PAPER_NEAR_END),
        paper_out=paper_out,
        error=error,
        unknown=False,
        detail=", ".join(causes) if causes else "ready",
        replies=dict(replies),
    )


@runtime_checkable
class SpoolerStatus(Protocol):
    """A transport that reports status from an OS print queue instead of DLE EOT."""

    def spooler_flags(self) -> int: ...


def query_status(
    transport: Transport, *, reply_timeout_s: float = REPLY_TIMEOUT_S, budget_s: float = BUDGET_S
) -> PrinterStatus:
    """Ask the printer on `transport`; returns within `budget_s` whatever it does.

    Raises DeviceUnavailable when the link itself is gone (unplugged, refused).
    """
    if isinstance(transport, SpoolerStatus):
        return status_from_spooler(transport.spooler_flags())
    if not transport.can_read:
        return PrinterStatus(
            one_way=True, detail=f"{transport.description} cannot report printer status"
        )
    deadline = time.monotonic() + budget_s
    # A late answer to an earlier query, or bytes the printer volunteered, would otherwise
    # be read as the answer to this one.
    transport.read(256, 0.01)
    replies: dict[int, bytes] = {}
    asking = list(ASKED)
    while asking:
        n = asking.pop(0)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            transport.write(status_request(n), timeout_s=min(reply_timeout_s, remaining))
        except DeviceTimeout:
            # A printer that does not even take three bytes is stuck (its buffer full, or
            # flow control holding us): it cannot say anything useful now.
            return PrinterStatus(detail="printer is not taking data (stalled or buffer full)")
        replies[n] = transport.read(1, min(reply_timeout_s, remaining))
        if not replies[n] or not is_status_byte(replies[n][0]):
            break  # a silent or confused printer will not do better on the next request
        if n == 2 and replies[n][0] & ERROR:
            asking.insert(0, 3)
    return decode_status(replies)


def status_from_spooler(flags: int) -> PrinterStatus:
    """Win32 PRINTER_STATUS_* flags → status. No flags means the driver reports nothing."""
    if flags == 0:
        return PrinterStatus(one_way=True, detail="the print queue reports no problem")
    paper_out = bool(flags & (win32.SPOOLER_PAPER_OUT | win32.SPOOLER_PAPER_PROBLEM))
    cover_open = bool(flags & win32.SPOOLER_DOOR_OPEN)
    error = bool(flags & win32.SPOOLER_ERROR)
    offline = bool(flags & (win32.SPOOLER_OFFLINE | win32.SPOOLER_NOT_AVAILABLE))
    names = [
        name
        for flag, name in (
            (paper_out, "paper out"),
            (cover_open, "cover open"),
            (error, "error"),
            (offline, "offline"),
        )
        if flag
    ]
    return PrinterStatus(
        online=not offline,
        cover_open=cover_open,
        paper_out=paper_out,
        error=error,
        unknown=False,
        detail="print queue: " + (", ".join(names) if names else f"status flags {flags:#x}"),
    )
