"""The ticket desk: issuing a ticket, from identifying the customer to attaching the e-form.

Issuance used to be spread over the route, a helper in another route and the engine; here
it is one use case: identify the customer (when an ID was read), plan the visit (service or
bundle, priority, VIP tier, e-form), decide the ticket's source from the issuing device,
issue it idempotently, and hold the e-form for the counter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from queue_server.domain import Identification, NotFound, PriorityClass, Source, Ticket
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


def source_of(role: str, priority: PriorityClass) -> Source:
    """Where a ticket came from, by the role of the device that issued it."""
    if role == "kiosk":
        return Source.APPOINTMENT if priority is PriorityClass.APPOINTMENT else Source.KIOSK
    return Source.STAFF


class TicketDesk:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def identify(self, identity: Identity) -> Identification:
        """Identify on the business day, in the branch's time zone (InvalidInput when bad)."""
        engine = self.engine
        branch = engine.branch
        return engine.customers.identify(
            identity.id_number,
            identity.birth_date,
            branch.business_day(engine.clock()),
            branch.settings.care_age,
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
    ) -> Issued:
        """Issue a ticket for the device role `issued_by`; a retried key gets the same one."""
        engine = self.engine
        found = self.identify(identity) if identity is not None else None
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
            priority=plan.priority,
            vip_tier=plan.vip_tier,
            source=source_of(issued_by, priority),
            appointment_id=appointment_id,
            appointment_slot=appointment_slot,
            customer_ref=plan.customer_ref,
            bundle=plan.bundle,
            has_eform=plan.eform is not None,
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
