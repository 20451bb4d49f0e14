"""The public booking page's endpoints (/api/v1/public/book/…), for customers (the page
itself, /book, is served by `pages.book`).

For banks without their own online channel: a customer at home picks a business, a day and
a free slot, and gets a booking number, the QR code to show at the kiosk and a cancel code.
No token and no personal data: the endpoints are public, so each client address is held to
a rate of requests and a number of bookings per business day (kept in memory: a restart
forgets them). The addresses are those uvicorn reports; behind a reverse proxy run it with
`--proxy-headers` and `--forwarded-allow-ips` so they are the customers' own.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query

from queue_server.api.deps import AppointmentDeskDep as DeskDep
from queue_server.api.deps import ClientAddress, EngineDep, PublicGateDep
from queue_server.api.schemas.public_booking import (
    BookingOffer,
    FreeSlot,
    PublicBooking,
    PublicBookingCreate,
    PublicCancel,
    PublicCancelled,
)
from queue_server.desks.appointments import AppointmentDesk
from queue_server.domain import InvalidInput, NotFound
from queue_server.domain.appointments import Appointment, AppointmentRefused, aware_slot
from queue_server.engine import Engine
from queue_server.wire_encode import guidance_wire

API = "/api/v1/public/book"
DAYS_SHOWN = 7  # today and the next six days (fewer when the booking horizon is shorter)

router = APIRouter()
_CODE = r"^[A-Za-z0-9_-]{1,16}$"


# ------------------------------------------------------------------- limits
async def read_limit(gate: PublicGateDep, address: ClientAddress, engine: EngineDep) -> None:
    gate.read(address, engine.clock())


async def write_limit(gate: PublicGateDep, address: ClientAddress, engine: EngineDep) -> None:
    gate.write(address, engine.clock())


ReadLimit = Depends(read_limit)
WriteLimit = Depends(write_limit)


# ------------------------------------------------------------------- models


# ---------------------------------------------------------------- endpoints
def offered_days(engine: Engine) -> list[date]:
    rules = engine.branch.appointment_rules
    today = engine.clock().astimezone(ZoneInfo(engine.branch.settings.timezone)).date()
    return [today + timedelta(days=n) for n in range(min(DAYS_SHOWN, rules.book_ahead_days + 1))]


def offered_services(engine: Engine) -> list[str]:
    """Businesses a customer may book here: enabled, shown to customers, taking bookings."""
    branch = engine.branch
    services = sorted(branch.services.values(), key=lambda s: (s.sort, s.code))
    return [
        s.code for s in services if s.enabled and s.visible and branch.slot_capacity(s.code) > 0
    ]


def _offered_service(engine: Engine, code: str) -> str:
    if code not in offered_services(engine):
        raise NotFound(f"business {code} cannot be booked here", code="unknown_service")
    return code


def _offered_day(engine: Engine, day: date) -> date:
    if day not in offered_days(engine):
        raise InvalidInput("this day cannot be booked here", code="day_not_offered")
    return day


@router.get(API + "/services", response_model=BookingOffer, tags=["public booking"])
async def public_services(engine: EngineDep, _: None = ReadLimit) -> dict[str, Any]:
    """What may be booked: the businesses (with what to bring) and the days."""
    branch = engine.branch
    services = []
    for code in offered_services(engine):
        s = branch.service(code)
        guidance = {lang: guidance_wire(g) for lang, g in s.guidance.items()}
        services.append({"code": s.code, "names": dict(s.names), "guidance": guidance})
    days = offered_days(engine)
    return {
        "branch": branch.settings.name,
        "today": days[0],
        "days": days,
        "slot_min": branch.appointment_rules.slot_min,
        "early_min": branch.appointment_rules.early_min,
        "grace_min": branch.settings.appointment_grace_s // 60,
        "services": services,
    }


@router.get(API + "/slots", response_model=list[FreeSlot], tags=["public booking"])
async def public_slots(
    engine: EngineDep,
    desk: DeskDep,
    day: Annotated[date, Query(description="a day from the services answer")],
    service: Annotated[str, Query(pattern=_CODE)],
    _: None = ReadLimit,
) -> list[dict[str, Any]]:
    """A business's slots on a day, with the places left."""
    offers = await desk.slots(_offered_service(engine, service), _offered_day(engine, day))
    out = []
    for offer in offers:
        view = desk.slot_view(offer)
        out.append(
            {
                "slot_start": view["slot_start"],
                "slot_end": view["slot_end"],
                "free": view["free"],
                "bookable": view["bookable"] and view["free"] > 0,
            }
        )
    return out


@router.post(API, response_model=PublicBooking, status_code=201, tags=["public booking"])
async def public_book(
    body: PublicBookingCreate,
    engine: EngineDep,
    desk: DeskDep,
    gate: PublicGateDep,
    address: ClientAddress,
    _: None = WriteLimit,
) -> dict[str, Any]:
    """Book a free slot; the answer has the booking number, cancel code and QR code."""
    service = _offered_service(engine, body.service)
    timezone = engine.branch.settings.timezone
    slot = aware_slot(body.slot_start, timezone)
    day = slot.astimezone(desk.timezone).date()
    _offered_day(engine, day)
    offers = engine.branch.slots_of_day(service, day, engine.clock())
    if all(offer.start != slot for offer in offers):  # out of the offered hours, or misaligned
        raise InvalidInput("this time is not offered for booking", code="slot_not_offered")
    today = engine.branch.business_day(engine.clock())
    gate.reserve_booking(address, today)
    try:
        appointment = await desk.book(service, slot)
    except BaseException:
        gate.release_booking(address, today)
        raise
    return public_view(desk, appointment)


@router.post(API + "/cancel", response_model=PublicCancelled, tags=["public booking"])
async def public_cancel(body: PublicCancel, desk: DeskDep, _: None = WriteLimit) -> dict[str, Any]:
    """Cancel a booking made here, with its number and cancel code (or its QR text)."""
    try:
        appointment = await desk.cancel_by_customer(
            booking_number=body.booking_number, code=body.cancel_code, qr=body.qr
        )
    except AppointmentRefused as exc:
        exc.details.pop("ticket_number", None)  # nothing about the visit to a stranger
        raise
    view = desk.view(appointment)
    return {k: view[k] for k in ("booking_number", "service", "slot_start", "state")}


def public_view(desk: AppointmentDesk, appointment: Appointment) -> dict[str, Any]:
    view = desk.view(appointment, with_qr=True)
    return {
        "booking_number": appointment.booking_number,
        "cancel_code": desk.cancel_code(appointment),
        "service": appointment.service,
        "slot_start": view["slot_start"],
        "slot_end": view["slot_end"],
        "state": view["state"],
        "qr": view["qr"],
        "qr_svg": qr_svg(view["qr"]),
    }


def qr_svg(text: str) -> str:
    """The QR code as an inline SVG that scales with its box (no size of its own)."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    buffer = io.BytesIO()
    qrcode.make(text, image_factory=SvgPathImage, border=4).save(buffer)
    svg = buffer.getvalue().decode("utf-8")
    svg = svg[svg.index("<svg") :]  # without the XML declaration: it goes into HTML
    svg = re.sub(r'\s(width|height)="[^"]*"', "", svg, count=2)
    return svg.replace("<svg", '<svg role="img" shape-rendering="crispEdges"', 1)
