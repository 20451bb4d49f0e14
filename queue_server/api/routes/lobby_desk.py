"""The lobby's desk work (issue 21): pre-review, the relationship manager's day, send a
customer to a desk, and visits outside the branch — for the staff member signed in on the
lobby tablet; each command is audited as `lobby:<staff id>`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from queue_server.api.deps import EngineDep
from queue_server.api.lobby_session import LobbyStaff
from queue_server.api.routes.lobby import LobbyDeskDep
from queue_server.api.schemas.lobby_desk import MyDay, Prereview, ToDesk, VisitCreate
from queue_server.desks.lobby_desk import RelationshipDesk
from queue_server.domain.appointments import AppointmentKind
from queue_server.engine import Engine

router = APIRouter(prefix="/lobby", tags=["lobby"])


def get_relationship_desk(engine: EngineDep) -> RelationshipDesk:
    return RelationshipDesk(engine)  # holds nothing of its own: one per request is free


DeskDep = Annotated[RelationshipDesk, Depends(get_relationship_desk)]


@router.post("/tickets/{ticket_id}/prereview")
async def prereview(
    ticket_id: int, body: Prereview, staff: LobbyStaff, desk: DeskDep, lobby: LobbyDeskDep
) -> dict[str, Any]:
    """Attach the customer's form (with consent, in memory only) and/or mark their
    materials reviewed while they wait; the teller sees it when they call them."""
    ticket = await desk.prereview(
        ticket_id,
        staff_id=staff.staff_id,
        consent=body.consent,
        fields=body.fields,
        materials_reviewed=body.materials_reviewed,
    )
    return lobby.view(ticket)  # the lobby's ticket view, as its other commands answer


@router.post("/tickets/{ticket_id}/to-desk")
async def to_desk(
    ticket_id: int, body: ToDesk, staff: LobbyStaff, desk: DeskDep, lobby: LobbyDeskDep
) -> dict[str, Any]:
    """Send a waiting customer to one counter (the RM's desk); they keep their place."""
    ticket = await desk.to_desk(ticket_id, body.counter, staff_id=staff.staff_id,
                                reason=body.reason)  # fmt: skip
    # The lobby's view, and the desk the customer now waits for.
    return {**lobby.view(ticket), "target_counter": ticket.target_counter}


@router.get("/my-day", response_model=MyDay)
async def my_day(staff: LobbyStaff, desk: DeskDep, engine: EngineDep) -> dict[str, Any]:
    """The signed-in staff member's bookings today (who has arrived, their ticket) and
    visits."""
    return day_view(engine, desk, staff.staff_id)


@router.post("/visits", response_model=MyDay, status_code=201)
async def record_visit(
    body: VisitCreate, staff: LobbyStaff, desk: DeskDep, engine: EngineDep
) -> dict[str, Any]:
    """Record a visit made outside the branch (documents collected as labels, a follow-up
    booked at the branch); answers with the day it now belongs to."""
    await desk.record_visit(
        staff_id=staff.staff_id,
        service=body.service,
        at=body.at,
        documents_collected=body.documents_collected,
        follow_up_slot=body.follow_up_slot,
    )
    return day_view(engine, desk, staff.staff_id)


def day_view(engine: Engine, desk: RelationshipDesk, staff_id: str) -> dict[str, Any]:
    now = engine.clock()
    entries = [desk.appointment_view(e) for e in desk.my_day(staff_id, now)]
    tz_day = now.astimezone(desk.timezone).date()
    return {
        "staff_id": staff_id,
        "day": tz_day.isoformat(),
        "slot_min": engine.branch.appointment_rules.slot_min,
        "appointments": [e for e in entries if e["kind"] == AppointmentKind.BOOKING],
        "visits": [e for e in entries if e["kind"] == AppointmentKind.VISIT],
    }
