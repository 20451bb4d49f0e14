"""Appointments: booking by the bank's online channel, and check-in at the kiosk or counter."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response

from queue_server.api import views
from queue_server.api.deps import AppointmentDeskDep as DeskDep
from queue_server.api.deps import BusinessDay, EngineDep, device_key, require
from queue_server.api.schemas.appointments import (
    AppointmentBooked,
    AppointmentChange,
    AppointmentCreate,
    AppointmentPublic,
    CheckInRequest,
    CheckInResult,
    SlotPublic,
)
from queue_server.api.schemas.text import IDEMPOTENCY_KEY
from queue_server.auth import Principal

router = APIRouter(prefix="/appointments", tags=["appointments"])
ServiceQuery = Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,16}$", description="business code")]


BookingChannel = Annotated[Principal, Depends(require("booking", "manager", "admin"))]
CheckInDevice = Annotated[Principal, Depends(require("kiosk", "counter", "manager", "admin"))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY)]


@router.post("", response_model=AppointmentBooked, status_code=201)
async def book_appointment(
    body: AppointmentCreate, desk: DeskDep, _: BookingChannel
) -> dict[str, Any]:
    """Book a slot of a business; the answer carries the text of the booking's QR code."""
    appointment = await desk.book(
        body.service, body.slot_start, body.customer_ref, staff_id=body.staff_id
    )
    return desk.view(appointment, with_qr=True)


@router.get("", response_model=list[AppointmentPublic])
async def list_appointments(
    desk: DeskDep,
    _: BookingChannel,
    day: Annotated[date | None, Query(description="local calendar day; default today")] = None,
    service: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,16}$")] = None,
) -> list[dict[str, Any]]:
    """List one day's bookings (optionally of one business), by slot."""
    return [desk.view(a) for a in await desk.list(day, service)]


@router.get("/slots", response_model=list[SlotPublic])
async def list_slots(
    desk: DeskDep,
    _: BookingChannel,
    day: Annotated[BusinessDay, Query(description="local calendar day")],
    service: ServiceQuery,
) -> list[dict[str, Any]]:
    """Every slot of a business on a day within its hours, with capacity, bookings and room."""
    return [desk.slot_view(offer) for offer in await desk.slots(service, day)]


@router.post("/check-in", response_model=CheckInResult, status_code=201)
async def check_in(
    body: CheckInRequest,
    response: Response,
    engine: EngineDep,
    desk: DeskDep,
    device: CheckInDevice,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Check a booking in from its QR text (or, staff only, its number) and issue its ticket."""
    if body.booking_number is not None and device.role == "kiosk":
        raise HTTPException(403, "only staff may check a booking in by its number")
    done = await desk.check_in(
        qr=body.qr,
        booking_number=body.booking_number,
        idempotency_key=device_key(device, idempotency_key),
    )
    if done.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replay"] = "true"
    view = desk.view(done.appointment)
    return {
        "outcome": done.outcome.value,
        "slot_start": view["slot_start"],
        "slot_end": view["slot_end"],
        "appointment_id": done.appointment.id,
        "ticket": views.ticket_view(engine, done.ticket, with_token=True),
    }


@router.get("/{appointment_id}", response_model=AppointmentBooked)
async def read_appointment(appointment_id: int, desk: DeskDep, _: BookingChannel) -> dict[str, Any]:
    """Read one booking with its current QR text."""
    return desk.view(await desk.find(appointment_id), with_qr=True)


@router.patch("/{appointment_id}", response_model=AppointmentBooked)
async def change_appointment(
    appointment_id: int, body: AppointmentChange, desk: DeskDep, _: BookingChannel
) -> dict[str, Any]:
    """Move a booking to another slot; its old QR code stops working (appointment_superseded)."""
    appointment = await desk.reschedule(appointment_id, body.slot_start)
    return desk.view(appointment, with_qr=True)


@router.post("/{appointment_id}/cancel", response_model=AppointmentPublic)
async def cancel_appointment(
    appointment_id: int, desk: DeskDep, _: BookingChannel
) -> dict[str, Any]:
    """Cancel a booking; its slot becomes free again."""
    return desk.view(await desk.cancel(appointment_id))
