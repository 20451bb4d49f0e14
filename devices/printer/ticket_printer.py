"""The ESC/POS ticket printer: builds a ticket job and sends it over any transport."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Literal

from devices.printer.commands import image_job, text_job
from devices.printer.layout import Paper, TicketContent, render_ticket
from devices.printer.status import BUDGET_S, REPLY_TIMEOUT_S, PrinterStatus, query_status
from devices.printer.transports import Transport

Mode = Literal["image", "text"]


class EscposTicketPrinter:
    """A `TicketPrinter` for any ESC/POS printer reachable through a `Transport`."""

    def __init__(
        self,
        transport: Transport,
        *,
        paper: Paper = "80mm",
        mode: Mode = "image",
        partial_cut: bool = False,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
        url: str = "",
    ) -> None:
        self.transport = transport
        self.paper: Paper = paper
        self.mode: Mode = mode
        self.partial_cut = partial_cut
        self.reply_timeout_s = min(reply_timeout_s, BUDGET_S)
        self.url = url
        # One job or one status exchange at a time: a status request written into the
        # middle of a job would be printed as data or read back as the wrong answer.
        self._lock = threading.Lock()

    def job_for(self, content: TicketContent) -> bytes:
        """Every byte of one ticket, from ESC @ to the cut."""
        if self.mode == "text":
            return text_job(content, self.paper, partial_cut=self.partial_cut)
        return image_job(render_ticket(content, self.paper), partial_cut=self.partial_cut)

    def send(self, job: bytes) -> None:
        """Write a whole job in one go (DeviceUnavailable / DeviceTimeout on failure)."""
        with self._lock:
            self.transport.write(job)

    def print_ticket(self, content: TicketContent) -> None:
        """Print one ticket. Does not ask for status first: call `status()` for that."""
        self.send(self.job_for(content))

    def status(self) -> PrinterStatus:
        """Real-time status within about a second; `unknown` if the printer cannot say."""
        with self._lock:
            return query_status(
                self.transport,
                reply_timeout_s=self.reply_timeout_s,
                budget_s=BUDGET_S,
            )

    def close(self) -> None:
        with self._lock:
            self.transport.close()

    def __enter__(self) -> EscposTicketPrinter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EscposTicketPrinter({self.url or self.transport.description!r})"
