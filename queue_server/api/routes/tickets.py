"""Tickets: issue (idempotent), read with position and ETA, cancel, rate, read the e-form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Response

from queue_server.api import views
from wire import TicketView

from ...auth import Principal
from ...domain import NotFound, PriorityClass, Source, Ticket
from ...visits import plan_visit
from ..deps import AnyDevice, EngineDep, IssuingDevice, manager_actor, require, result_of
from ..schemas import (
    Eform,
    RatingRequest,
    TicketCreate,
    TicketHistory,
    TicketIssued,
    TicketPublic,
)
from .customers import identify

router = APIRouter(prefix="/tickets", tags=["tickets"])
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=8, max_length=100)
]


@router.post("", response_model=TicketIssued, status_code=201)
async def issue_ticket(
    body: TicketCreate,
    response: Response,
    engine: EngineDep,
    device: IssuingDevice,
    idempotency_key: IdempotencyKey = None,
) -> TicketView:
    """Issue a ticket. A retry with the same Idempotency-Key returns the same ticket (200)."""
    found = identify(engine, body.identity) if body.identity is not None else None
    plan = plan_visit(
        engine.branch,
        service=body.service,
        bundle=body.bundle,
        priority=body.priority,
        vip_tier=body.vip_tier,
        identified=(found.customer_ref, found.priority, found.vip_tier) if found else None,
        eform=body.eform,
    )
    if device.role == "kiosk":
        source = Source.APPOINTMENT if body.priority is PriorityClass.APPOINTMENT else Source.KIOSK
    else:
        source = Source.STAFF
    ticket, replayed = await engine.issue_ticket(
        plan.service,
        idempotency_key=idempotency_key,
        priority=plan.priority,
        vip_tier=plan.vip_tier,
        source=source,
        appointment_id=body.appointment_id,
        appointment_slot=body.appointment_slot,
        customer_ref=plan.customer_ref,
        bundle=plan.bundle,
        has_eform=plan.eform is not None,
    )
    if plan.eform is not None and not replayed:
        engine.eforms.attach(ticket.id, plan.eform, ticket.business_day)
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replay"] = "true"
    return views.ticket_view(engine, ticket, with_token=True)


@router.get("/{ticket_id}", response_model=TicketPublic)
async def read_ticket(ticket_id: int, engine: EngineDep, _: AnyDevice) -> TicketView:
    """Read a ticket with its live position and estimated wait."""
    return views.ticket_view(engine, engine.find_ticket(ticket_id))


@router.get("/{ticket_id}/history", response_model=TicketHistory)
async def ticket_history(
    ticket_id: int,
    engine: EngineDep,
    _: Annotated[Principal, Depends(require("counter", "manager", "admin"))],
) -> dict[str, Any]:
    """The ticket's whole visit, leg by leg, with each transfer's counter, staff and note."""
    return views.visit_history(engine, ticket_id)


@router.post("/{ticket_id}/cancel", response_model=TicketPublic)
async def cancel_ticket(ticket_id: int, engine: EngineDep, device: IssuingDevice) -> TicketView:
    """Cancel a waiting ticket (the customer left)."""
    change = await engine.execute(
        lambda b, now: b.cancel_ticket(ticket_id, now), actor=manager_actor(device)
    )
    return views.ticket_view(engine, result_of(change, Ticket))


@router.post("/{ticket_id}/rating", response_model=TicketPublic)
async def rate_ticket(
    ticket_id: int,
    body: RatingRequest,
    engine: EngineDep,
    device: Annotated[Principal, Depends(require("counter", "admin"))],
) -> TicketView:
    """Store the customer's rating of a finished service (from the counter's rating pad)."""
    ticket = engine.find_ticket(ticket_id)
    if device.role == "counter" and ticket.counter != device.counter:
        raise HTTPException(403, "this ticket was served at another counter")
    change = await engine.execute(
        lambda b, now: b.rate_ticket(ticket_id, body.rating, now, comment=body.comment)
    )
    return views.ticket_view(engine, result_of(change, Ticket))


@router.get("/{ticket_id}/eform", response_model=Eform)
async def read_eform(
    ticket_id: int,
    engine: EngineDep,
    device: Annotated[Principal, Depends(require("counter", "admin"))],
) -> dict[str, Any]:
    """The pre-filled form, for the counter serving the ticket (held until the visit ends)."""
    ticket = engine.find_ticket(ticket_id)
    if device.role == "counter" and not (
        ticket.state.is_active and ticket.counter == device.counter
    ):
        raise HTTPException(403, "only the counter serving this ticket may read its form")
    fields = engine.eforms.get(ticket_id, engine.branch.business_day(engine.clock()))
    if fields is None:
        raise NotFound(f"no form is held for ticket {ticket_id}", code="no_eform")
    return {"ticket_id": ticket_id, "fields": fields}
