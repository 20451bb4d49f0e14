"""The customer's own ticket, reached by its live-page token: find, show, cancel, run late, rate.

The token printed in the ticket's QR code (128 random bits, `Engine._new_token`) opens that
one ticket and nothing else: its public view (`public_view`) holds no customer reference,
ID data, note, staff id or other ticket. It works for the ticket's business day (and while
the ticket is still open after it); afterwards the ticket is `Expired`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from queue_server.domain import Change, Expired, NotFound, Ticket, TicketState
from queue_server.domain.branch import LATE_MAX_MINUTES, LATE_MAX_TIMES
from queue_server.engine import Engine
from queue_server.storage.tickets import ticket_id_by_token
from queue_server.wire_encode import guidance_wire
from wire.waits import shown_wait


class TicketTokens:
    """Ticket ids by live-page token: a dict (O(1) hash lookup) kept up by the engine's
    changes; the database's token index answers for tickets no longer in memory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ids: dict[str, int] = {}
        self._rebuild()
        engine.listeners.append(self._follow)

    def _rebuild(self) -> None:
        """From the tickets in memory (the engine drops earlier days' finished ones)."""
        self._ids = {}
        for t in sorted(self.engine.branch.tickets.values(), key=lambda t: t.id):
            if t.token:
                self._ids[t.token] = t.id  # a transfer's later leg (higher id) wins

    def _follow(self, change: Change) -> None:
        for t in change.tickets:
            if t.token and t.id >= self._ids.get(t.token, 0):
                self._ids[t.token] = t.id
        if len(self._ids) > 2 * len(self.engine.branch.tickets) + 1000:
            self._rebuild()  # days have passed: forget their tokens (the database keeps them)

    def close(self) -> None:
        """Stop following the engine."""
        if self._follow in self.engine.listeners:
            self.engine.listeners.remove(self._follow)

    def find(self, token: str) -> Ticket:
        """The ticket's current leg; NotFound unknown, Expired past its business day."""
        engine = self.engine
        tid = self._ids.get(token)
        if tid is None:
            tid = ticket_id_by_token(engine.read_conn, token)
            if tid is None:
                raise NotFound("no such ticket: check the link on your ticket")
        ticket = engine.find_ticket(tid)
        today = engine.branch.business_day(engine.clock())
        if ticket.business_day != today and ticket.state.is_final:
            self._ids.pop(token, None)
            raise Expired(
                "this ticket was for an earlier day; its link has expired", code="ticket_expired"
            )
        return ticket


class PublicTicketDesk:
    """What the customer's phone may do with its ticket, by token only."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.tokens: TicketTokens | None = None

    def start(self) -> None:
        """Index the tokens of the tickets in memory (call after `engine.start`)."""
        self.tokens = TicketTokens(self.engine)

    def stop(self) -> None:
        if self.tokens is not None:
            self.tokens.close()

    def find(self, token: str) -> Ticket:
        if self.tokens is None:
            raise RuntimeError("the public ticket desk was not started")
        return self.tokens.find(token)

    def view(self, token: str) -> dict[str, Any]:
        return public_view(self.engine, self.find(token))

    async def cancel(self, token: str) -> dict[str, Any]:
        """The customer cancels their waiting ticket."""
        tid = self.find(token).id
        change = await self.engine.execute(lambda b, now: b.cancel_ticket(tid, now))
        return public_view(self.engine, _ticket(change.result))

    async def late(self, token: str, minutes: int) -> dict[str, Any]:
        """The customer needs `minutes` more: call-next skips the ticket until then."""
        tid = self.find(token).id
        change = await self.engine.execute(lambda b, now: b.late_ticket(tid, minutes, now))
        return public_view(self.engine, _ticket(change.result))

    async def rate(self, token: str, rating: int, comment: str = "") -> dict[str, Any]:
        """The customer rates their finished service once, on its business day."""
        engine = self.engine
        ticket = self.find(token)
        if ticket.business_day != engine.branch.business_day(engine.clock()):
            raise Expired("ratings close at the end of the day of the visit", code="rating_closed")
        tid = ticket.id
        change = await engine.execute(
            lambda b, now: b.rate_ticket(tid, rating, now, comment=comment)
        )
        return public_view(engine, _ticket(change.result))


def _ticket(result: object) -> Ticket:
    if not isinstance(result, Ticket):
        raise TypeError("expected a Ticket from the command")
    return result


def public_view(engine: Engine, ticket: Ticket) -> dict[str, Any]:
    """What the customer's phone may see of their own ticket (a whitelist, nothing else)."""
    b = engine.branch
    now = engine.clock()
    wait = engine.ticket_wait(ticket)
    service = b.services.get(ticket.service)
    guidance = {}
    if ticket.bundle is not None and ticket.bundle in b.bundles:
        guidance = {k: guidance_wire(g) for k, g in b.bundles[ticket.bundle].guidance.items()}
    elif service is not None:
        guidance = {k: guidance_wire(g) for k, g in service.guidance.items()}
    names = dict(service.names) if service is not None else {}
    if ticket.bundle is not None and ticket.bundle in b.bundles:
        names = dict(b.bundles[ticket.bundle].names)
    counter = b.counters.get(ticket.counter) if ticket.counter is not None else None
    held = ticket.held_until if ticket.held_until is not None and ticket.held_until > now else None
    eta = [wait.eta_s, wait.low_s, wait.high_s]
    if held is not None:  # not called before the time the customer asked for
        rest = round((held - now).total_seconds(), 1)
        eta = [None if v is None else max(v, rest) for v in eta]
    today = b.business_day(now)
    waiting = ticket.state is TicketState.WAITING
    slot_end = None
    if ticket.appointment_slot is not None:
        slot_end = ticket.appointment_slot + timedelta(minutes=b.appointment_rules.slot_min)
    return {
        "number": ticket.number,
        "service": ticket.service,
        "service_names": names,
        "state": ticket.state.value,
        "position": wait.position,
        "eta_s": eta[0],
        "eta_low_s": eta[1],
        "eta_high_s": eta[2],
        **shown_wait(eta[0], eta[1], eta[2]),
        "counter": ticket.counter
        if ticket.state.is_active or ticket.state is TicketState.DONE
        else None,
        "counter_name": counter.name if counter is not None and ticket.state.is_active else None,
        "counter_location": counter.location
        if counter is not None and ticket.state.is_active
        else None,
        "recall_count": ticket.recall_count,
        "called_at": _iso(ticket.called_at),
        "held_until": _iso(held),
        # The booked slot, so an appointment customer sees why they are called out of turn.
        "appointment_slot_start": _iso(ticket.appointment_slot),
        "appointment_slot_end": _iso(slot_end),
        "late_left": max(0, LATE_MAX_TIMES - ticket.late_count) if waiting else 0,
        "late_max_minutes": LATE_MAX_MINUTES,
        "can_cancel": waiting,
        "rated": ticket.rating is not None,
        "rating": ticket.rating,
        "can_rate": ticket.state is TicketState.DONE
        and ticket.rating is None
        and ticket.business_day == today,
        "guidance": guidance,
        "branch": b.settings.name,
        "timezone": b.settings.timezone,
        "at": now.isoformat(),
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
