"""Prints kiosk tickets off the GUI thread and says how it went, one job at a time.

A printer status query can take a second and a TCP connect several, so every printer call
runs on a one-thread QThreadPool; the outcome comes back to the GUI thread through a
queued signal. The printer is opened on first use and reopened after any device error, so
a printer that is plugged back in works again without restarting the kiosk.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

from devices.errors import DeviceError
from devices.printer import (
    EscposTicketPrinter,
    PrinterStatus,
    TicketContent,
    printer_for_url,
)
from kiosk.flow import IssuedTicket, PrintOutcome, guidance_for
from ui.i18n import Catalog, wait_text

log = logging.getLogger(__name__)
# Priority classes that get a badge on paper (regular gets none); names from the catalog.
BADGED_PRIORITIES = ("care", "appointment", "vip")


@functools.cache
def paper_catalog() -> Catalog:
    """The catalogs the paper is worded from: both languages, whatever the screen shows."""
    return Catalog.load()


def problem_key(status: PrinterStatus) -> str:
    """The catalog key that tells a customer what is wrong with the printer."""
    if status.paper_out:
        return "device.printer.paper_out"
    if status.cover_open:
        return "device.printer.cover_open"
    return (
        "device.printer.offline" if status.unknown or not status.online else "kiosk.printer.problem"
    )


def ticket_content(
    ticket: IssuedTicket,
    branch: Mapping[str, Any],
    service: Mapping[str, Any],
    catalog: Catalog | None = None,
) -> TicketContent:
    """What the paper ticket says: the screen's words in both languages, no personal data."""
    texts = catalog if catalog is not None else paper_catalog()

    def both(key: str, /, **values: object) -> str:
        return f"{texts.tr_in('zh', key, **values)} / {texts.tr_in('en', key, **values)}"

    names = service.get("names") or {}
    zone: ZoneInfo | None
    try:
        zone = ZoneInfo(str(branch.get("timezone") or "Asia/Shanghai"))
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    try:
        issued = datetime.fromisoformat(ticket.issued_at)
        issued = issued.astimezone(zone) if zone is not None else issued
    except ValueError:
        issued = datetime.now(zone)
    if ticket.people_ahead > 0:
        ahead_key, ahead_values = "kiosk.ticket.people_ahead", {"count": ticket.people_ahead}
    else:
        ahead_key, ahead_values = "kiosk.ticket.none_ahead", {}
    # The screen hides the wait when nobody is ahead ("please listen for your number"
    # says it all); the paper does the same.
    wait_key, wait_values = wait_text(ticket.eta_minutes, issued=True)
    show_wait = ticket.people_ahead > 0 or ticket.eta_minutes is None
    where = {lang: guidance_for(service, lang)["where"] for lang in ("zh", "en")}
    where_text = ""
    if where["zh"]:
        where_text = (
            f"{texts.tr_in('zh', 'kiosk.ticket.where', where=where['zh'])} / "
            f"{texts.tr_in('en', 'kiosk.ticket.where', where=where['en'] or where['zh'])}"
        )
    badge = ""
    if ticket.priority in BADGED_PRIORITIES:
        key = f"priority.{ticket.priority}"
        zh, en = texts.tr_in("zh", key), texts.tr_in("en", key)
        badge = zh if zh == en else f"{zh} {en}"
    appointment = ""
    if ticket.appointment_note:
        appointment = both(ticket.appointment_note, time=ticket.appointment_time)
    tip = f"{texts.tr_in('zh', 'kiosk.paper.tip')}\n{texts.tr_in('en', 'kiosk.paper.tip')}"
    return TicketContent(
        branch_name=str(branch.get("name") or ""),
        service_zh=str(names.get("zh") or names.get("en") or ticket.service),
        service_en=str(names.get("en") or ""),
        number=ticket.number,
        ahead_zh=texts.tr_in("zh", ahead_key, **ahead_values),
        ahead_en=texts.tr_in("en", ahead_key, **ahead_values),
        wait_text=both(wait_key, **wait_values) if show_wait else "",
        issued_at=issued.replace(tzinfo=None),
        url=ticket.url,
        footer=tip,
        priority_label=badge,
        where_text=where_text,
        appointment_text=appointment,
    )


class TicketPrinting(QObject):
    """The kiosk's ticket printer, driven from a worker thread.

    `print_ticket(content, done)` checks the printer's status first (a printer out of paper
    would swallow the job), prints when it is ready, and calls `done(PrintOutcome)` on the
    GUI thread. `check(done)` asks for the status only.
    """

    _finished = Signal(int, object)  # job number, PrintOutcome (crosses threads: queued)

    def __init__(
        self,
        url: str | None,
        *,
        opener: Callable[[str], EscposTicketPrinter] = printer_for_url,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.url = url
        self._opener = opener
        self._printer: EscposTicketPrinter | None = None
        self._lock = threading.Lock()  # the pool has one thread; this makes it explicit
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._jobs = 0
        self._callbacks: dict[int, Callable[[PrintOutcome], None]] = {}
        self._finished.connect(self._deliver)

    def print_ticket(self, content: TicketContent, done: Callable[[PrintOutcome], None]) -> None:
        self._submit(lambda: self._print(content), done)

    def check(self, done: Callable[[PrintOutcome], None]) -> None:
        self._submit(self._status, done)

    def busy(self) -> bool:
        return bool(self._callbacks)

    def close(self, wait_ms: int = 3000) -> None:
        """Finish the job in hand (never cut a ticket in half) and close the printer."""
        self._pool.waitForDone(wait_ms)
        with self._lock:
            if self._printer is not None:
                self._printer.close()
                self._printer = None

    def _submit(
        self, work: Callable[[], PrintOutcome], done: Callable[[PrintOutcome], None]
    ) -> None:
        self._jobs += 1
        job = self._jobs
        self._callbacks[job] = done

        def run() -> None:
            try:
                outcome = work()
            except Exception as exc:  # a bug must not leave the customer on "printing…"
                log.exception("printer job failed")
                outcome = PrintOutcome(False, "error", type(exc).__name__, "kiosk.printer.problem")
            self._finished.emit(job, outcome)

        self._pool.start(run)

    @Slot(int, object)
    def _deliver(self, job: int, outcome: PrintOutcome) -> None:
        done = self._callbacks.pop(job, None)
        if done is not None:
            done(outcome)

    # ------------------------------------------------------------ worker thread
    def _open(self) -> EscposTicketPrinter:
        if self._printer is None:
            assert self.url is not None
            self._printer = self._opener(self.url)
        return self._printer

    def _drop(self) -> None:
        if self._printer is not None:
            with contextlib.suppress(DeviceError):
                self._printer.close()
            self._printer = None

    def _ask(self) -> tuple[EscposTicketPrinter | None, PrintOutcome]:
        """Open the printer and read its status; the outcome says whether it may print."""
        if not self.url:
            return None, PrintOutcome(
                False, "offline", "no printer configured", "device.printer.offline"
            )
        try:
            printer = self._open()
            status = printer.status()
        except DeviceError as exc:
            self._drop()
            return None, PrintOutcome(False, "offline", str(exc)[:300], "device.printer.offline")
        detail = status.detail or status.summary()
        if status.ready or status.one_way:
            return printer, PrintOutcome(True, status.health, detail[:300])
        # Unknown (a silent or garbled answer) is not "paper OK": show the ticket on screen.
        return None, PrintOutcome(False, status.health, detail[:300], problem_key(status))

    def _status(self) -> PrintOutcome:
        with self._lock:
            _, outcome = self._ask()
            return outcome

    def _print(self, content: TicketContent) -> PrintOutcome:
        with self._lock:
            printer, outcome = self._ask()
            if printer is None:
                return outcome
            try:
                printer.print_ticket(content)
                # Paper running out or the cover opened during the job swallows the ticket
                # without an error: only asking again tells, and then the screen is the
                # ticket instead of the customer leaving with nothing.
                after = printer.status()
            except DeviceError as exc:
                self._drop()
                return PrintOutcome(False, "offline", str(exc)[:300], "device.printer.offline")
            if after.ready or after.one_way:
                return outcome
            detail = after.detail or after.summary()
            return PrintOutcome(False, after.health, detail[:300], problem_key(after))
