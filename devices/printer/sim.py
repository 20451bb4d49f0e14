"""A simulated ESC/POS ticket printer on loopback TCP (like port 9100) or on a pty.

It parses the byte stream as a printer does, in whatever pieces it arrives, answers DLE
EOT status requests from its simulated state, and at each cut composes what was printed
into a PNG. Tests and the demo drive the real printer code against it:

    with PrinterSimulator(tmp_path) as sim:               # TCP; transport="pty" for serial
        printer = printer_for_url(sim.url)                 # escpos+tcp://127.0.0.1:PORT
        printer.print_ticket(content)
        assert sim.wait_for_tickets(1, timeout=5)
        sim.tickets[0], sim.texts[0], sim.qr_data[0]       # PNG path, decoded text, QR data
        sim.paper_out = True                               # status() now says paper out

Unknown or malformed commands are skipped, never fatal, as on a real printer. To run one
by hand (the demo, a kiosk without a printer):

    python -m devices.printer.sim var/printer [--pty] [--port 9100] [--paper 58mm]
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal

from PIL import Image

from devices.printer.layout import Paper
from devices.printer.parser import Element, EscposParser, Job, compose
from devices.sim import PtyDevice, TcpDevice

log = logging.getLogger(__name__)


@dataclass
class PrintedTicket:
    """One cut ticket as the simulator saw it."""

    text: str
    qr_data: list[str]
    cut: Literal["full", "partial"]
    cut_at: float  # time.perf_counter() when the cut was parsed (the job's last byte)
    image: Image.Image | None = None
    path: Path | None = None
    elements: list[Element] = field(default_factory=list, repr=False)


class PrinterSimulator:
    """An ESC/POS printer on loopback TCP or a pty; settable paper and cover state.

    Each cut becomes a `PrintedTicket` in `printed` (its text, QR data and image), and a
    PNG in `out_dir` listed in `tickets` when an output folder is given. A cut while the
    printer cannot print (paper out, cover open, offline, error) prints nothing and counts
    in `lost_jobs`, as a real printer would lose or hold the job.
    """

    def __init__(
        self,
        out_dir: Path | str | None = None,
        *,
        transport: Literal["tcp", "pty"] = "tcp",
        paper: Paper = "80mm",
        chinese_by_default: bool = False,
        render: bool = True,
        port: int = 0,
    ) -> None:
        self.out_dir = Path(out_dir) if out_dir is not None else None
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.paper: Paper = paper
        self.render = render  # off for benchmarks: composing a PNG is not the printer's time
        # Simulated state, settable while running.
        self.paper_out = False
        self.paper_near_end = False
        self.cover_open = False
        self.offline = False
        self.error = False
        self.silent = False  # never answers status requests
        self.garbled = False  # answers status requests with a byte that is not status
        self.printed: list[PrintedTicket] = []
        self.tickets: list[Path] = []
        self.texts: list[str] = []
        self.qr_data: list[list[str]] = []
        self.lost_jobs = 0  # cut while the printer could not print
        # Called on the simulator's own thread after each ticket is recorded (the demo
        # prints a line for each PNG); it must not block.
        self.on_ticket: Callable[[PrintedTicket], None] | None = None
        self._done = threading.Condition()
        self.parser = EscposParser(
            on_cut=self._on_cut, status=self.status_byte, chinese_by_default=chinese_by_default
        )
        self._link: _TcpLink | _PtyLink = (
            _TcpLink(self, port) if transport == "tcp" else _PtyLink(self)
        )
        self.transport = transport

    # -------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        if isinstance(self._link, _TcpLink):
            return f"escpos+tcp://{self._link.address}"
        return f"escpos+serial://{self._link.path}"

    @property
    def port(self) -> int | None:
        """The TCP port (None on a pty): a pyserial `socket://` URL can use it too."""
        return self._link.port if isinstance(self._link, _TcpLink) else None

    @property
    def received(self) -> bytes:
        with self._link.lock:
            return bytes(self._link.received)

    def start(self) -> PrinterSimulator:
        self._link.start()
        return self

    def stop(self) -> None:
        self._link.stop()

    def __enter__(self) -> PrinterSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ state
    def status_byte(self, n: int) -> int | None:
        """The answer to DLE EOT n in the current simulated state (None: stay silent)."""
        if self.silent:
            return None
        if self.garbled:
            return 0xFF
        byte = 0b0001_0010
        if n == 1 and (self.offline or self.paper_out or self.cover_open or self.error):
            byte |= 0x08
        elif n == 2:
            byte |= (0x04 if self.cover_open else 0) | (0x20 if self.paper_out else 0)
            byte |= 0x40 if self.error else 0
        elif n == 3:
            byte |= 0x08 if self.error else 0  # the auto-cutter, the usual culprit
        elif n == 4:
            byte |= 0x0C if self.paper_near_end or self.paper_out else 0
            byte |= 0x60 if self.paper_out else 0
        return byte

    @property
    def can_print(self) -> bool:
        return not (self.paper_out or self.cover_open or self.offline or self.error)

    # ---------------------------------------------------------------- tickets
    def feed(self, data: bytes) -> bytes:
        return self.parser.feed(data)

    def _on_cut(self, job: Job) -> None:
        cut_at = time.perf_counter()
        if not self.can_print:
            with self._done:
                self.lost_jobs += 1
                self._done.notify_all()
            return
        ticket = PrintedTicket(job.text, job.qr_data, job.cut, cut_at, elements=job.elements)
        if self.render:
            ticket.image = compose(job, self.paper)
            if self.out_dir is not None:
                ticket.path = self.out_dir / f"ticket-{len(self.printed) + 1:04d}.png"
                ticket.image.save(ticket.path)
        with self._done:
            self.printed.append(ticket)
            if ticket.path is not None:
                self.tickets.append(ticket.path)
            self.texts.append(ticket.text)
            self.qr_data.append(ticket.qr_data)
            self._done.notify_all()
        if self.on_ticket is not None:
            try:
                self.on_ticket(ticket)
            except Exception:  # a broken hook must not stop the printer
                log.exception("the printer simulator's on_ticket hook failed")

    def wait_for_tickets(self, n: int, timeout: float = 5.0) -> bool:
        """Block until `n` tickets in all have been cut; False if `timeout` passes first."""
        with self._done:
            return self._done.wait_for(lambda: len(self.printed) >= n, timeout)

    def wait_for_lost_jobs(self, n: int, timeout: float = 5.0) -> bool:
        with self._done:
            return self._done.wait_for(lambda: self.lost_jobs >= n, timeout)


class _TcpLink(TcpDevice):
    name = "printer-tcp"

    def __init__(self, sim: PrinterSimulator, port: int) -> None:
        super().__init__(port)
        self.sim = sim

    def handle(self, data: bytes) -> bytes:
        return self.sim.feed(data)


class _PtyLink(PtyDevice):
    name = "printer-pty"

    def __init__(self, sim: PrinterSimulator) -> None:
        super().__init__()
        self.sim = sim

    def handle(self, data: bytes) -> bytes:
        return self.sim.feed(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a simulated ESC/POS ticket printer.")
    parser.add_argument("out_dir", type=Path, help="folder for the ticket PNGs")
    parser.add_argument("--pty", action="store_true", help="serve on a pty instead of TCP")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free)")
    parser.add_argument("--paper", choices=["80mm", "58mm"], default="80mm")
    args = parser.parse_args(argv)
    sim = PrinterSimulator(
        args.out_dir, transport="pty" if args.pty else "tcp", paper=args.paper, port=args.port
    )
    with sim:
        print(f"printer simulator at {sim.url}, tickets in {args.out_dir}", flush=True)
        seen = 0
        try:
            while True:
                sim.wait_for_tickets(seen + 1, timeout=3600)
                for ticket in sim.printed[seen:]:
                    print(f"ticket {ticket.path or '(not saved)'}", flush=True)
                seen = len(sim.printed)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
