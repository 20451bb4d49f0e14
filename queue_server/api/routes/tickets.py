"""Tickets: issue (idempotent), read with position and ETA, cancel, rate, read the e-form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Response

from queue_server.api import views
from queue_server.api.deps import (
    AnyDevice,
    EngineDep,
    IssuingDevice,
    TicketDeskDep,
    device_key,
    manager_actor,
    require,
)
from queue_server.api.schemas.text import IDEMPOTENCY_KEY
from queue_server.api.schemas.tickets import (
    Eform,
    RatingRequest,
    TicketCreate,
    TicketHistory,
    TicketIssued,
    TicketPublic,
)
from queue_server.auth import Principal
from queue_server.desks.tickets import Identity
from wire import TicketView

router = APIRouter(prefix="/tickets", tags=["tickets"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY)]
CounterOrAdmin = Annotated[Principal, Depends(require("counter", "admin"))]


@router.post("", response_model=TicketIssued, status_code=201)
async def issue_ticket(
    body: TicketCreate,
    response: Response,
    engine: EngineDep,
    desk: TicketDeskDep,
    device: IssuingDevice,
    idempotency_key: IdempotencyKey = None,
) -> TicketView:
    """Issue a ticket. A retry with the same Idempotency-Key and body returns the same ticket
    (200); the key with another body is refused (409 `idempotency_key_reused`). A kiosk or
    counter may declare care priority only (403 `priority_not_declarable`)."""
    identity = body.identity
    issued = await desk.issue(
        issued_by=device.role,
        service=body.service,
        bundle=body.bundle,
        priority=body.priority,
        vip_tier=body.vip_tier,
        identity=Identity(identity.id_number, identity.birth_date) if identity else None,
        eform=body.eform,
        appointment_id=body.appointment_id,
        appointment_slot=body.appointment_slot,
        idempotency_key=device_key(device, idempotency_key),
        actor=manager_actor(device),
    )
    if issued.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replay"] = "true"
    return views.ticket_view(engine, issued.ticket, with_token=True)


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
async def cancel_ticket(
    ticket_id: int, engine: EngineDep, desk: TicketDeskDep, device: IssuingDevice
) -> TicketView:
    """Cancel a waiting ticket (the customer left)."""
    ticket = await desk.cancel(ticket_id, actor=manager_actor(device))
    return views.ticket_view(engine, ticket)


@router.post("/{ticket_id}/rating", response_model=TicketPublic)
async def rate_ticket(
    ticket_id: int,
    body: RatingRequest,
    engine: EngineDep,
    desk: TicketDeskDep,
    device: CounterOrAdmin,
) -> TicketView:
    """Store the customer's rating of a finished service (from the counter's rating pad)."""
    ticket = desk.find(ticket_id)
    if device.role == "counter" and ticket.counter != device.counter:
        raise HTTPException(403, "this ticket was served at another counter")
    return views.ticket_view(engine, await desk.rate(ticket_id, body.rating, body.comment))


@router.get("/{ticket_id}/eform", response_model=Eform)
async def read_eform(ticket_id: int, desk: TicketDeskDep, device: CounterOrAdmin) -> dict[str, Any]:
    """The pre-filled form, for the counter serving the ticket (held until the visit ends)."""
    ticket = desk.find(ticket_id)
    if device.role == "counter" and not (
        ticket.state.is_active and ticket.counter == device.counter
    ):
        raise HTTPException(403, "only the counter serving this ticket may read its form")
    return {"ticket_id": ticket_id, "fields": desk.eform(ticket_id)}
