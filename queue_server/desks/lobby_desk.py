"""The lobby's desk work (issue 21): pre-review while the customer waits, and the relationship
manager's day — their appointments, a customer sent to their desk, visits outside the branch.

Every command runs through the engine with the staff member as the actor
(`lobby:<staff id>`), so the audit log shows who did it.

The pre-reviewed form is the kiosk's e-form under the kiosk's rules (`queue_server.visits`):
given only with the customer's consent, held in this process's memory, purged when the visit
ends. The ID number is typed on the tablet: the kiosk's card reader is wired to the kiosk PC
and nothing links a card placed there to a ticket the lobby holds, so "via the reader" is
the customer taking their ticket at the kiosk with the card (the kiosk's own e-form).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from queue_server.desks.lobby import lobby_actor
from queue_server.domain import Branch, Change, InvalidInput, InvalidState, NotFound, Ticket
from queue_server.domain.appointments import Appointment, booking_number_from
from queue_server.engine import Engine
from queue_server.storage.appointments import staff_appointments
from wire.id_number import BadIdNumber, canonical_id_number


def checked_form(fields: Mapping[str, str]) -> dict[str, str]:
    """The form as it will be held: a typed ID number must be a real one (GB 11643), in its
    canonical form, so the teller never copies a mistyped number into the bank's system."""
    form = {key: value.strip() for key, value in fields.items() if value.strip()}
    if "id_number" in form:
        try:
            form["id_number"], _ = canonical_id_number(form["id_number"])
        except BadIdNumber as exc:
            raise InvalidInput(str(exc), code=exc.code) from None
    return form


@dataclass(frozen=True)
class DayEntry:
    """One line of a relationship manager's day: a booking (and its ticket) or a visit."""

    appointment: Appointment
    ticket: Ticket | None


class RelationshipDesk:
    """Pre-review and the relationship manager's day (the triage is `desks.lobby`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.engine.branch.settings.timezone)

    async def prereview(
        self,
        ticket_id: int,
        *,
        staff_id: str,
        consent: bool,
        fields: Mapping[str, str] | None,
        materials_reviewed: bool,
    ) -> Ticket:
        """Attach the customer's form (with consent) and/or mark their materials reviewed."""
        form = checked_form(fields) if fields else {}
        if form and not consent:
            raise InvalidInput(
                "the customer must agree before their form is kept", code="consent_required"
            )
        engine = self.engine
        change = await engine.execute(
            lambda b, now: b.prereview_ticket(
                ticket_id,
                now,
                staff_id=staff_id,
                with_form=bool(form),
                materials_reviewed=materials_reviewed,
            ),
            actor=lobby_actor(staff_id),
        )
        ticket = _ticket(change.result)
        if form:
            # After the commit, as the kiosk's form is: a refused command holds nothing.
            engine.eforms.attach(ticket.id, form, ticket.business_day)
        return ticket

    async def to_desk(
        self, ticket_id: int, counter: int, *, staff_id: str, reason: str = ""
    ) -> Ticket:
        """Send a waiting customer to one counter, keeping their place."""
        change = await self.engine.execute(
            lambda b, now: b.send_to_counter(
                ticket_id, counter, now, staff_id=staff_id, reason=reason
            ),
            actor=lobby_actor(staff_id),
        )
        return _ticket(change.result)

    async def record_visit(
        self,
        *,
        staff_id: str,
        service: str,
        at: datetime,
        documents_collected: Sequence[str],
        follow_up_slot: datetime | None = None,
    ) -> Appointment:
        """Record a visit made outside the branch; book the follow-up at the branch if given."""
        for _ in range(10):
            decide = partial(
                _visit,
                service=service,
                at=at,
                staff_id=staff_id,
                documents_collected=documents_collected,
                booking_number=booking_number_from(os.urandom(8)),
                nonce=secrets.token_urlsafe(6),
                follow_up_slot=follow_up_slot,
                follow_up_number=booking_number_from(os.urandom(8)),
                follow_up_nonce=secrets.token_urlsafe(6),
            )
            try:
                change = await self.engine.execute(decide, actor=lobby_actor(staff_id))
            except InvalidState as exc:
                if exc.code == "booking_number_taken":
                    continue  # one in 10^11: draw again
                raise
            result = change.result
            assert isinstance(result, Appointment)
            return result
        raise InvalidState("could not draw a free booking number", code="booking_number_taken")

    def my_day(self, staff_id: str, now: datetime) -> list[DayEntry]:
        """The staff member's bookings and visits of today (local calendar day), by time,
        each booking with its ticket when the customer has checked in."""
        engine = self.engine
        zone = self.timezone
        day = now.astimezone(zone).date()
        start = datetime.combine(day, time(0), zone)
        end = start + timedelta(days=1)
        entries = []
        for appointment in staff_appointments(engine.read_conn, staff_id, start, end):
            ticket = None
            if appointment.ticket_id is not None:
                ticket = self._current_leg(appointment.ticket_id)
            entries.append(DayEntry(appointment, ticket))
        return entries

    def _current_leg(self, ticket_id: int) -> Ticket | None:
        """The visit's latest leg: a transfer or a send-to-desk moved the customer on."""
        try:
            legs = self.engine.visit_legs(ticket_id)
        except NotFound:
            return None
        return legs[-1] if legs else None

    def appointment_view(self, entry: DayEntry) -> dict[str, Any]:
        a = entry.appointment
        tz = self.timezone
        ticket = entry.ticket
        return {
            "id": a.id,
            "kind": a.kind.value,
            "booking_number": a.booking_number,
            "service": a.service,
            "at": a.slot_start.astimezone(tz).isoformat(),
            "state": a.state.value,
            "checked_in": a.checked_in_at is not None,
            "ticket_id": ticket.id if ticket is not None else None,
            "ticket_number": a.ticket_number,
            "ticket_state": ticket.state.value if ticket is not None else None,
            "counter": ticket.counter if ticket is not None else None,
            # The desk the customer waits for once sent there: the day says so instead of
            # offering to send them again.
            "target_counter": ticket.target_counter if ticket is not None else None,
            "documents_collected": list(a.documents_collected),
            "follow_up_id": a.follow_up_id,
        }


def _visit(branch: Branch, now: datetime, *, service: str, at: datetime, **kw: Any) -> Change:
    return branch.record_visit(service, at, now, **kw)


def _ticket(result: object) -> Ticket:
    if not isinstance(result, Ticket):
        raise TypeError("expected a Ticket from the command")
    return result
