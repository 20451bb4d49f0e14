"""The notification desk: texts opted-in customers when they are near, called or passed.

It follows the engine's changes (`engine.listeners`): a call, recall or no-show is queued
for sending at once; positions are checked right after every change and every few seconds
(accumulating priority reorders a queue as time passes). Each notice goes at most once per
ticket and kind (a call: once per call or recall). Sending happens on the outbox's worker
thread, so a slow gateway never holds a teller's call.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from queue_server.desks import stop_following, woken_or_every
from queue_server.domain import (
    Change,
    DomainError,
    InvalidState,
    Ticket,
    TicketState,
)
from queue_server.engine import Engine
from queue_server.notify import Channel, Notice, NoticeKind, Notifier, mask, notifier_for_url
from queue_server.notify.log import LoggingNotifier
from queue_server.notify.optins import OptIn, OptInBook
from queue_server.notify.outbox import NoticeOutbox, OutboxStats
from queue_server.notify.settings import NotificationSettings, load_notification_settings
from queue_server.notify.texts import notice_text
from wire import EventKind

log = logging.getLogger(__name__)
CHECK_S = 5.0  # positions are rechecked this often without any change
_WAKING = (
    EventKind.TICKET_ISSUED,
    EventKind.TICKET_CALLED,
    EventKind.TICKET_CANCELLED,
    EventKind.TICKET_REQUEUED,
    EventKind.TICKET_TRANSFERRED,
    EventKind.TICKET_NO_SHOW,
    EventKind.TICKET_DONE,
    "counter.",  # every counter event
)


class TooOften(DomainError):
    """A ticket's notices were switched on and off more often than a customer would."""

    code = "too_many_changes"


class NotificationDesk:
    def __init__(
        self,
        engine: Engine,
        settings: NotificationSettings | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.engine = engine
        self._settings = settings
        self._notifier = notifier
        self.book = OptInBook()
        self.outbox: NoticeOutbox | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._generation = engine.generation
        self.offered = False  # whether customers may opt in: known once started

    @property
    def settings(self) -> NotificationSettings:
        return self._settings or NotificationSettings()

    # --------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Choose the notifier from the branch's settings, then follow the engine."""
        if self._settings is None:
            self._settings = load_notification_settings(self.engine.read_conn)
        notifier = self._notifier
        if notifier is None:
            try:
                notifier = notifier_for_url(self.settings.url)
            except Exception as exc:
                # The queue must run without notices rather than not at all.
                log.error("notifier %s unusable (%s): notices only logged", self.scheme, exc)
                notifier = LoggingNotifier()
        self._notifier = notifier
        # log:// only writes what would be sent: offering it would promise a text never sent.
        self.offered = not isinstance(notifier, LoggingNotifier)
        self.outbox = NoticeOutbox(notifier)
        self.outbox.start()
        self.engine.listeners.append(self._follow)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await stop_following(self.engine.listeners, self._follow, self._task)
        if self.outbox is not None:
            await asyncio.to_thread(self.outbox.stop)
        self.book.clear()

    @property
    def scheme(self) -> str:
        return self.settings.url.split(":", 1)[0]

    # ---------------------------------------------------------------- commands
    def opt_in(
        self, ticket: Ticket, destination: str, language: str, channel: Channel = "sms"
    ) -> dict[str, Any]:
        """Attach a destination to an open ticket (replacing an earlier one)."""
        self._require_open(ticket)
        today = self.engine.branch.business_day(self.engine.clock())
        self.book.attach(ticket.id, OptIn(destination, channel, language), today)
        log.info("ticket %s opted in for notices to %s", ticket.number, mask(destination, channel))
        self._wake.set()  # already near: told at once
        return self.view(ticket)

    def opt_out(self, ticket: Ticket) -> bool:
        today = self.engine.branch.business_day(self.engine.clock())
        return self.book.detach(ticket.id, today)

    def view(self, ticket: Ticket) -> dict[str, Any]:
        """What the customer's page may show: masked, never the number itself."""
        self.book.purge_before(self.engine.branch.business_day(self.engine.clock()))
        optin = self.book.get(ticket.id)
        return {
            "ticket": ticket.number,
            "offered": self.offered,
            "opted_in": optin is not None,
            "channel": optin.channel if optin else None,
            "destination": mask(optin.destination, optin.channel) if optin else None,
            "language": optin.language if optin else None,
            "near": self.settings.near,
        }

    def _require_open(self, ticket: Ticket) -> None:
        if ticket.state.is_final or ticket.id not in self.engine.branch.tickets:
            raise InvalidState(f"ticket {ticket.number} is no longer open", code="ticket_closed")

    def status(self) -> dict[str, Any]:
        stats = (self.outbox.stats if self.outbox else OutboxStats()).to_dict()
        return {"notifier": self.scheme, "near": self.settings.near,
                "opted_in": len(self.book), **stats}  # fmt: skip

    # ---------------------------------------------------------------- following
    def _follow(self, change: Change) -> None:
        # Called inside the engine's command after the change is durable: an exception here
        # would answer the teller with an error for a call that happened.
        try:
            self._follow_change(change)
        except Exception:
            log.exception("following a change for notices failed")

    def _follow_change(self, change: Change) -> None:
        wake = False
        for e in change.events:
            t = e.ticket
            wake = wake or e.kind.startswith(_WAKING)
            if t is None or self.book.get(t.id) is None:
                continue
            if e.kind in (EventKind.TICKET_CALLED, EventKind.TICKET_RECALLED):
                self._notify(t, "called", f"called:{t.recall_count}")
            elif e.kind == EventKind.TICKET_NO_SHOW:
                self._notify(t, "no_show", "no_show")
        # After the notices: a no-show's number is needed once more, then purged.
        self.book.follow(change, self.engine.branch.business_day(self.engine.clock()))
        if wake and len(self.book):
            self._wake.set()

    async def _run(self) -> None:
        while True:
            await woken_or_every(self._wake, CHECK_S)
            try:
                self.check_near()
            except Exception:  # a notice must never take the desk down
                log.exception("checking positions for notices failed")

    def check_near(self) -> int:
        """Tell every opted-in customer now within `near` places of being called; how many."""
        b = self.engine.branch
        now = self.engine.clock()
        self.book.purge_before(b.business_day(now))
        if self._generation != self.engine.generation:  # state reloaded after a failed commit
            self._generation = self.engine.generation
            self.book.retain(b.tickets)
        told = 0
        for ticket_id in self.book.opted_in():
            ticket = b.tickets.get(ticket_id)
            if ticket is None or ticket.state is not TicketState.WAITING:
                continue
            ahead = b.position(ticket, now)
            if ahead <= self.settings.near and self._notify(ticket, "near", "near", ahead=ahead):
                told += 1
        return told

    def _notify(self, ticket: Ticket, kind: NoticeKind, marker: str, *, ahead: int = 0) -> bool:
        optin = self.book.get(ticket.id)
        if optin is None or self.outbox is None or not self.book.first_time(ticket.id, marker):
            return False
        service = self.engine.branch.services.get(ticket.service)
        names = service.names if service is not None else {}
        notice = Notice(
            kind=kind,
            ticket_id=ticket.id,
            number=ticket.number,
            business=names.get(optin.language) or names.get("zh") or ticket.service,
            destination=optin.destination,
            language=optin.language,
            channel=optin.channel,
            counter=ticket.counter if kind == "called" else None,
            places_ahead=ahead if kind == "near" else None,
            reference=f"{self.engine.branch.settings.branch_id}-{ticket.id}-{marker}".replace(
                ":", ""
            ),
        )
        return self.outbox.put(replace(notice, text=notice_text(notice)))
