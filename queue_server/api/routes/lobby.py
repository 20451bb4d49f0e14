"""The lobby tablet's API (issue 21): the hall, finding a ticket, the triage commands,
issuing at the door and diverting. Every route needs a `lobby` device token and a signed-in
staff member (`LobbyStaff`); every command is audited under `lobby:<staff_id>`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from queue_server.api.deps import device_key
from queue_server.api.lobby_session import LobbyStaff
from queue_server.api.routes.public_booking import qr_svg
from queue_server.api.schemas.services import ServiceCode
from queue_server.api.schemas.text import IDEMPOTENCY_KEY, Note, Reason
from queue_server.desks.lobby import LobbyDesk
from queue_server.domain import InvalidInput

router = APIRouter(prefix="/lobby", tags=["lobby"])
SCAN_MAX = 2 * 1024 * 1024  # a phone camera's frame as JPEG is well under this
SCAN_TYPES = ("image/jpeg", "image/png")
TicketNumber = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{1,10}$", description="printed number")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY)]


async def get_lobby_desk(request: Request) -> LobbyDesk:
    desk: LobbyDesk = request.app.state.lobby
    return desk


LobbyDeskDep = Annotated[LobbyDesk, Depends(get_lobby_desk)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BusinessChange(_Body):
    service: str = ServiceCode
    reason: Reason = ""


class WithReason(_Body):
    reason: Reason = ""


class DocumentsChecked(_Body):
    checked: list[Annotated[int, Field(ge=0, le=99)]] = Field(max_length=100)
    reason: Reason = ""


class TicketNote(_Body):
    text: Note


class DoorTicket(_Body):
    service: str | None = Field(None, pattern=r"^[A-Z][A-Z0-9_]{0,15}$")
    bundle: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,32}$")
    care: bool = False
    reason: Reason = ""

    @model_validator(mode="after")
    def _one_of(self) -> DoorTicket:
        if (self.service is None) == (self.bundle is None):
            raise ValueError("give a service or a bundle")
        return self


class Divert(_Body):
    service: str = ServiceCode
    channel: Literal["atm", "app", "self_service"]
    reason: Reason = ""


@router.get("/hall")
async def hall(desk: LobbyDeskDep, _: LobbyStaff) -> dict[str, Any]:
    """The hall at a glance: queues with predicted waits, the longest waits, who needs help,
    open alerts and the appointments due in the next hour."""
    return desk.hall()


@router.get("/tickets/{number}")
async def ticket_by_number(
    number: TicketNumber, desk: LobbyDeskDep, _: LobbyStaff
) -> dict[str, Any]:
    """A ticket by its printed number (404 `not_found`)."""
    return desk.view(desk.by_number(number))


@router.post("/scan")
async def scan(request: Request, desk: LobbyDeskDep, _: LobbyStaff) -> dict[str, Any]:
    """A photo of a ticket (image/jpeg or image/png, ≤ 2 MB): its QR code read on the
    server (422 `no_code`, 404 `not_found`)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in SCAN_TYPES:
        raise InvalidInput("send the photo as image/jpeg or image/png", code="not_an_image")
    image = await request.body()
    return desk.view(await desk.scan(image))


@router.post("/tickets/{ticket_id}/business")
async def change_business(
    ticket_id: int, body: BusinessChange, desk: LobbyDeskDep, staff: LobbyStaff
) -> dict[str, Any]:
    """Queue the customer for another business, keeping their place by arrival time and
    priority (a new leg, as a transfer)."""
    ticket = await desk.change_business(staff.staff_id, ticket_id, body.service, body.reason)
    return desk.view(ticket)


@router.post("/tickets/{ticket_id}/care")
async def grant_care(
    ticket_id: int, body: WithReason, desk: LobbyDeskDep, staff: LobbyStaff
) -> dict[str, Any]:
    """Care priority, with the reason (422 `reason_required`)."""
    return desk.view(await desk.grant_care(staff.staff_id, ticket_id, body.reason))


@router.post("/tickets/{ticket_id}/documents")
async def check_documents(
    ticket_id: int, body: DocumentsChecked, desk: LobbyDeskDep, staff: LobbyStaff
) -> dict[str, Any]:
    """Which items of the business's checklist the lobby saw (indexes into `checklist`)."""
    ticket = await desk.check_documents(staff.staff_id, ticket_id, body.checked, body.reason)
    return desk.view(ticket)


@router.post("/tickets/{ticket_id}/note")
async def note(
    ticket_id: int, body: TicketNote, desk: LobbyDeskDep, staff: LobbyStaff
) -> dict[str, Any]:
    """A note for the teller (≤ 500 characters), shown with the ticket at the counter."""
    return desk.view(await desk.note(staff.staff_id, ticket_id, body.text))


@router.post("/tickets/{ticket_id}/hold")
async def hold(
    ticket_id: int, body: WithReason, desk: LobbyDeskDep, staff: LobbyStaff
) -> dict[str, Any]:
    """Hold the ticket (call-next skips it, it keeps its place), with the reason."""
    return desk.view(await desk.hold(staff.staff_id, ticket_id, body.reason))


@router.post("/tickets/{ticket_id}/release")
async def release(
    ticket_id: int, desk: LobbyDeskDep, staff: LobbyStaff, body: WithReason | None = None
) -> dict[str, Any]:
    """The customer is back: the ticket may be called again, in its old place."""
    reason = body.reason if body is not None else ""
    return desk.view(await desk.release(staff.staff_id, ticket_id, reason))


@router.post("/tickets/{ticket_id}/cancel")
async def cancel(
    ticket_id: int, body: WithReason, desk: LobbyDeskDep, staff: LobbyStaff
) -> dict[str, Any]:
    """Cancel a waiting ticket, with the reason."""
    return desk.view(await desk.cancel(staff.staff_id, ticket_id, body.reason))


@router.post("/tickets", status_code=201)
async def issue_at_the_door(
    body: DoorTicket,
    request: Request,
    desk: LobbyDeskDep,
    staff: LobbyStaff,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """A ticket for a customer at the door: the kiosk's numbering and priority rules, care
    only with a reason; with its phone link's QR code as SVG."""
    ticket = await desk.issue(
        staff.staff_id,
        service=body.service,
        bundle=body.bundle,
        care=body.care,
        reason=body.reason,
        idempotency_key=device_key(staff.principal, idempotency_key),
    )
    view = desk.view(ticket)
    # The customer's phone opens the link from outside this page: the server's own address.
    view["phone_url"] = str(request.base_url).rstrip("/") + view["phone_url"]
    view["qr_svg"] = qr_svg(view["phone_url"])
    return view


@router.post("/divert", status_code=204)
async def divert(body: Divert, desk: LobbyDeskDep, staff: LobbyStaff) -> None:
    """A customer sent to an ATM, the app or a self-service machine instead of queueing."""
    await desk.divert(staff.staff_id, body.service, body.channel, body.reason)
