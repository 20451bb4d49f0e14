"""Tickets: issue (idempotent), read with position and ETA, cancel, rate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Response

from ...auth import Principal
from ...domain import PriorityClass, Source, Ticket
from ..deps import AnyDevice, EngineDep, IssuingDevice, require, result_of
from ..schemas import RatingRequest, TicketCreate, TicketIssued, TicketPublic

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
) -> dict[str, Any]:
    """Issue a ticket. A retry with the same Idempotency-Key returns the same ticket (200)."""
    if device.role == "kiosk":
        source = Source.APPOINTMENT if body.priority is PriorityClass.APPOINTMENT else Source.KIOSK
    else:
        source = Source.STAFF
    ticket, replayed = await engine.issue_ticket(
        body.service,
        idempotency_key=idempotency_key,
        priority=body.priority,
        vip_tier=body.vip_tier,
        source=source,
        appointment_id=body.appointment_id,
        appointment_slot=body.appointment_slot,
    )
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replay"] = "true"
    return engine.ticket_view(ticket, with_token=True)


@router.get("/{ticket_id}", response_model=TicketPublic)
async def read_ticket(ticket_id: int, engine: EngineDep, _: AnyDevice) -> dict[str, Any]:
    """Read a ticket with its live position and estimated wait."""
    return engine.ticket_view(engine.find_ticket(ticket_id))


@router.post("/{ticket_id}/cancel", response_model=TicketPublic)
async def cancel_ticket(ticket_id: int, engine: EngineDep, _: IssuingDevice) -> dict[str, Any]:
    """Cancel a waiting ticket (the customer left)."""
    change = await engine.execute(lambda b, now: b.cancel_ticket(ticket_id, now))
    return engine.ticket_view(result_of(change, Ticket))


@router.post("/{ticket_id}/rating", response_model=TicketPublic)
async def rate_ticket(
    ticket_id: int,
    body: RatingRequest,
    engine: EngineDep,
    device: Annotated[Principal, Depends(require("counter", "admin"))],
) -> dict[str, Any]:
    """Store the customer's rating of a finished service (from the counter's rating pad)."""
    ticket = engine.find_ticket(ticket_id)
    if device.role == "counter" and ticket.counter != device.counter:
        raise HTTPException(403, "this ticket was served at another counter")
    change = await engine.execute(lambda b, now: b.rate_ticket(ticket_id, body.rating, now))
    return engine.ticket_view(result_of(change, Ticket))
