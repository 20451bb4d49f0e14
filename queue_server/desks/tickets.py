"""The ticket desk: issuing a ticket, from identifying the customer to attaching the e-form.

Issuance used to be spread over the route, a helper in another route and the engine; here
it is one use case: identify the customer (when an ID was read), plan the visit (service or
bundle, priority, VIP tier, e-form), decide the ticket's source from the issuing device,
issue it idempotently, and hold the e-form for the counter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from queue_server.customers import central_slow_hash
from queue_server.domain import (
    Identification,
    NotAllowed,
    NotFound,
    PriorityClass,
    Source,
    Ticket,
)
from queue_server.engine import Engine
from queue_server.visits import plan_visit


@dataclass(frozen=True)
class Identity:
    """What the kiosk read from an ID card (never stored: it is hashed and dropped)."""

    id_number: str
    birth_date: date


@dataclass(frozen=True)
class Issued:
    ticket: Ticket
    replayed: bool  # a retry with an Idempotency-Key already used: the first ticket


# The priority a device may declare, by its role. Care is the customer's to declare (at the
# kiosk, or to the teller). A VIP tier is the bank's to grant: it comes from the server's own
# identification of an ID card; an appointment's priority from checking its booking in.
# A manager or admin may grant any class (and is named in the audit log when they do).
DECLARABLE: Mapping[str, frozenset[PriorityClass]] = {
    "kiosk": frozenset({PriorityClass.REGULAR, PriorityClass.CARE}),
    "counter": frozenset({PriorityClass.REGULAR, PriorityClass.CARE}),
    "lobby": frozenset({PriorityClass.REGULAR, PriorityClass.CARE}),
}


def check_declared(role: str, priority: PriorityClass, vip_tier: int) -> None:
    """Refuse a priority the role may not declare (NotAllowed, `priority_not_declarable`):
    a kiosk that asks for VIP is misconfigured or abused, and should be noticed."""
    allowed = DECLARABLE.get(role)
    if allowed is not None and (priority not in allowed or vip_tier):
        raise NotAllowed(
            f"a {role} may declare only {', '.join(sorted(allowed))} priority; VIP comes from"
            " identifying the customer's ID card, appointment priority from checking in",
            code="priority_not_declarable",
        )


def source_of(role: str) -> Source:
    """Where a ticket came from, by the role of the device that issued it (a booking's
    ticket is issued by checking it in, not here)."""
    if role == "lobby":
        return Source.LOBBY
    return Source.KIOSK if role == "kiosk" else Source.STAFF


class TicketDesk:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def identify(self, identity: Identity) -> Identification:
        """Identify on the business day, in the branch's time zone (InvalidInput when bad)."""
        engine = self.engine
        central_s = await central_slow_hash(engine.customers, identity.id_number)
        branch = engine.branch
        return engine.customers.identify(
            identity.id_number,
            identity.birth_date,
            branch.business_day(engine.clock()),
            branch.settings.care_age,
            central_s,
        )

    async def issue(
        self,
        *,
        issued_by: str,
        service: str | None = None,
        bundle: str | None = None,
        priority: PriorityClass = PriorityClass.REGULAR,
        vip_tier: int = 0,
        identity: Identity | None = None,
        eform: Mapping[str, str] | None = None,
        appointment_id: str | None = None,
        appointment_slot: datetime | None = None,
        idempotency_key: str | None = None,
        actor: str | None = None,
        care_reason: str = "",
    ) -> Issued:
        """Issue a ticket for the device role `issued_by`; a retried key gets the same one,
        as long as it asks for the same thing."""
        engine = self.engine
        check_declared(issued_by, priority, vip_tier)
        request_hash = None
        if idempotency_key is not None:
            asked: dict[str, Any] = {
                "service": service,
                "bundle": bundle,
                "priority": priority.value,
                "vip_tier": vip_tier,
                "identity": [identity.id_number, identity.birth_date.isoformat()]
                if identity is not None
                else None,
                "eform": dict(eform) if eform is not None else None,
                "appointment_id": appointment_id,
                "appointment_slot": appointment_slot.astimezone(UTC).isoformat()
                if appointment_slot is not None
                else None,
            }
            request_hash = engine.customers.request_hash(asked)
        found = await self.identify(identity) if identity is not None else None
        plan = plan_visit(
            engine.branch,
            service=service,
            bundle=bundle,
            priority=priority,
            vip_tier=vip_tier,
            identified=(found.customer_ref, found.priority, found.vip_tier) if found else None,
            eform=eform,
        )
        ticket, replayed = await engine.issue_ticket(
            plan.service,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            actor=actor,
            priority=plan.priority,
            vip_tier=plan.vip_tier,
            source=source_of(issued_by),
            appointment_id=appointment_id,
            appointment_slot=appointment_slot,
            customer_ref=plan.customer_ref,
            bundle=plan.bundle,
            has_eform=plan.eform is not None,
            care_reason=care_reason,
        )
        if plan.eform is not None and not replayed:
            engine.eforms.attach(ticket.id, plan.eform, ticket.business_day)
        return Issued(ticket, replayed)

    def find(self, ticket_id: int) -> Ticket:
        return self.engine.find_ticket(ticket_id)

    async def cancel(self, ticket_id: int, *, actor: str | None = None) -> Ticket:
        """Cancel a waiting ticket (the customer left)."""
        change = await self.engine.execute(
            lambda b, now: b.cancel_ticket(ticket_id, now), actor=actor
        )
        return _ticket(change.result)

    async def rate(self, ticket_id: int, rating: int, comment: str = "") -> Ticket:
        """Store the customer's rating of a finished service."""
        change = await self.engine.execute(
            lambda b, now: b.rate_ticket(ticket_id, rating, now, comment=comment)
        )
        return _ticket(change.result)

    def eform(self, ticket_id: int) -> dict[str, str]:
        """The pre-filled form held for the ticket (NotFound once the visit has ended)."""
        engine = self.engine
        fields = engine.eforms.get(ticket_id, engine.branch.business_day(engine.clock()))
        if fields is None:
            raise NotFound(f"no form is held for ticket {ticket_id}", code="no_eform")
        return fields


def _ticket(result: object) -> Ticket:
    if not isinstance(result, Ticket):
        raise TypeError("expected a Ticket from the command")
    return result
