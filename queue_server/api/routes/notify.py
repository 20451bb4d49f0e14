"""Notices by SMS: a customer opts in from their live ticket page (its token is the key).

The phone number is held in memory only (see notify/optins.py) and answered masked.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from queue_server.api.deps import EngineDep, Manager
from queue_server.api.deps import NotificationDeskDep as NoticeDesk
from queue_server.api.deps import PublicTicketDeskDep as TicketLinks
from queue_server.api.schemas.notify import NotifierStatus, NotifyRequest, NotifyStatus
from queue_server.desks.notifications import TooOften
from queue_server.domain import DomainError
from queue_server.notify.optins import TooManyChanges

router = APIRouter(tags=["notifications"])
# Any text that is no ticket's token is simply unknown here (404), as long as it is short.
TicketToken = Annotated[str, Path(max_length=64, description="the live ticket page's token")]


@router.post("/public/tickets/{token}/notify", response_model=NotifyStatus)
async def opt_in(
    token: TicketToken, body: NotifyRequest, engine: EngineDep, desk: NoticeDesk, links: TicketLinks
) -> dict[str, Any]:
    """Text this phone when the ticket is near, called or passed (the ticket's link is the key)."""
    ticket = links.find(token)
    language = body.language or engine.branch.settings.languages[0]
    try:
        return desk.opt_in(ticket, body.phone, language)
    except TooManyChanges:
        raise _too_many() from None


@router.get("/public/tickets/{token}/notify", response_model=NotifyStatus)
async def notify_status(token: TicketToken, desk: NoticeDesk, links: TicketLinks) -> dict[str, Any]:
    """Whether this ticket's customer is opted in, with the number masked."""
    return desk.view(links.find(token))


@router.delete("/public/tickets/{token}/notify", response_model=NotifyStatus)
async def opt_out(token: TicketToken, desk: NoticeDesk, links: TicketLinks) -> dict[str, Any]:
    """Stop the messages for this ticket and forget the number."""
    ticket = links.find(token)
    try:
        desk.opt_out(ticket)
    except TooManyChanges:
        raise _too_many() from None
    return desk.view(ticket)


@router.get("/notifications", response_model=NotifierStatus)
async def notifier_status(desk: NoticeDesk, device: Manager) -> dict[str, Any]:
    """The notifier in use and its counts since start-up: sent, failed, dropped."""
    return desk.status()


def _too_many() -> DomainError:
    return TooOften("this ticket's notices were changed too often")
