"""Who asked to be told about their ticket: destinations held in memory only.

A phone number (or app-push id) is personal data. Like the pre-filled forms (visits.py) it
is held ONLY in this process's memory, keyed by ticket id: never in SQLite, the event log,
snapshots, events or responses (which show it masked), nor the server log (masked). It is
purged when the visit ends (done, no-show, cancelled), follows the customer to the new leg
on a transfer, and every one is dropped at the business-day rollover. A restart forgets
them all, on purpose; the customer's page then shows them not opted in.

What was already sent for a ticket is remembered apart from its destination, so changing
the number (or opting out and in again) never sends a notice twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from queue_server.domain import Change, Ticket
from queue_server.notify import Channel

MAX_CHANGES = 5  # opt-ins and opt-outs per ticket: a ticket's token cannot text a whole list


@dataclass(slots=True)
class OptIn:
    destination: str
    channel: Channel
    language: str


@dataclass(slots=True)
class _Held:
    day: date
    optin: OptIn | None = None
    sent: set[str] = field(default_factory=set)  # "near", "called:0", "no_show" …
    changes: int = 0


class TooManyChanges(Exception):
    pass


class OptInBook:
    def __init__(self) -> None:
        self._held: dict[int, _Held] = {}

    def __len__(self) -> int:
        return sum(1 for h in self._held.values() if h.optin is not None)

    def attach(self, ticket_id: int, optin: OptIn, day: date) -> None:
        held = self._entry(ticket_id, day)
        held.optin = optin

    def detach(self, ticket_id: int, day: date) -> bool:
        """Opt out; False when the ticket had not opted in."""
        held = self._held.get(ticket_id)
        if held is None or held.optin is None:
            return False
        self._entry(ticket_id, day).optin = None
        return True

    def _entry(self, ticket_id: int, day: date) -> _Held:
        self.purge_before(day)
        held = self._held.setdefault(ticket_id, _Held(day))
        if held.changes >= MAX_CHANGES:
            raise TooManyChanges
        held.changes += 1
        return held

    def get(self, ticket_id: int) -> OptIn | None:
        held = self._held.get(ticket_id)
        return held.optin if held is not None else None

    def opted_in(self) -> list[int]:
        return [tid for tid, h in self._held.items() if h.optin is not None]

    def first_time(self, ticket_id: int, marker: str) -> bool:
        """Mark a notice as sent; False when it was already (at most once per ticket)."""
        held = self._held.get(ticket_id)
        if held is None or marker in held.sent:
            return False
        held.sent.add(marker)
        return True

    def purge_before(self, today: date) -> None:
        """Drop everything held for an earlier business day."""
        if any(h.day != today for h in self._held.values()):
            self._held = {tid: h for tid, h in self._held.items() if h.day == today}

    def follow(self, change: Change, today: date) -> None:
        """Move to the new leg on a transfer; purge when the visit ends."""
        self.purge_before(today)
        if not self._held:
            return
        for ticket in change.tickets:
            previous = ticket.previous_id
            if previous is not None and previous in self._held and not ticket.state.is_final:
                moved = self._held.pop(previous)
                self._held[ticket.id] = _Held(moved.day, moved.optin, changes=moved.changes)
        for ticket in change.tickets:
            if ticket.state.is_final:
                self._held.pop(ticket.id, None)

    def retain(self, open_tickets: Mapping[int, Ticket]) -> None:
        """Keep only what belongs to tickets still open."""
        self._held = {
            tid: h
            for tid, h in self._held.items()
            if tid in open_tickets and not open_tickets[tid].state.is_final
        }

    def clear(self) -> None:
        self._held.clear()
