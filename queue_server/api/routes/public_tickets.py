"""The customer's own ticket, authorised by its live-page token only (no bearer token).

The token opens that one ticket and nothing else (see `queue_server.desks.public_tickets`).
It works for the ticket's business day (and while the ticket is still open after it);
afterwards 410 `ticket_expired`. POSTs are rate-limited per token and per client address.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from asyncio import FIRST_COMPLETED as FIRST
from typing import Any

from fastapi import APIRouter, Path, WebSocket, WebSocketDisconnect

from queue_server.api.deps import (
    ClientAddress,
    PublicTicketDeskDep,
    PublicTicketLimits,
    PublicTicketLimitsDep,
)
from queue_server.api.errors import status_of
from queue_server.api.schemas.tickets import LateRequest, RatingRequest
from queue_server.api.websockets import stream_guard
from queue_server.desks.public_tickets import PublicTicketDesk
from queue_server.domain import DomainError
from queue_server.engine import Engine
from queue_server.security.limits import TooManyRequests
from queue_server.wire_encode import dumps

router = APIRouter(prefix="/public/tickets", tags=["public ticket"])
TokenPath = Path(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
RATE_PER_TOKEN = 10  # POSTs a minute for one ticket: a customer taps a few times at most
RATE_PER_CLIENT = 30  # POSTs a minute from one address (a branch's guest Wi-Fi is shared)
PUSH_MIN_INTERVAL_S = 0.5  # a phone gets a changed view at most this often


def _limit(limits: PublicTicketLimits, client: str, token: str) -> None:
    if not limits.per_client.hit(client) or not limits.per_token.hit(token):
        raise TooManyRequests("too many requests: wait a minute and try again", 60)


@router.get("/{token}")
async def read_ticket(desk: PublicTicketDeskDep, token: str = TokenPath) -> dict[str, Any]:
    """The customer's ticket: number, business, state, people ahead, wait, counter, guidance."""
    return desk.view(token)


@router.post("/{token}/cancel")
async def cancel_ticket(
    desk: PublicTicketDeskDep,
    limits: PublicTicketLimitsDep,
    client: ClientAddress,
    token: str = TokenPath,
) -> dict[str, Any]:
    """The customer cancels their waiting ticket."""
    _limit(limits, client, token)
    return await desk.cancel(token)


@router.post("/{token}/late")
async def running_late(
    body: LateRequest,
    desk: PublicTicketDeskDep,
    limits: PublicTicketLimitsDep,
    client: ClientAddress,
    token: str = TokenPath,
) -> dict[str, Any]:
    """The customer needs `minutes` more: call-next skips the ticket until then (its place kept)."""
    _limit(limits, client, token)
    return await desk.late(token, body.minutes)


@router.post("/{token}/rating")
async def rate_ticket(
    body: RatingRequest,
    desk: PublicTicketDeskDep,
    limits: PublicTicketLimitsDep,
    client: ClientAddress,
    token: str = TokenPath,
) -> dict[str, Any]:
    """The customer rates their finished service once, on its business day, with a comment."""
    _limit(limits, client, token)
    return await desk.rate(token, body.rating, body.comment)


@router.websocket("/{token}/events")
async def ticket_events(websocket: WebSocket, token: str) -> None:
    """This ticket's view ({"type": "ticket", "ticket": …}) now and whenever it changes, and
    {"type": "heartbeat"} every few seconds. Unknown or expired: closed with 4404 / 4410."""
    desk: PublicTicketDesk = websocket.app.state.public_tickets
    await websocket.accept()
    try:
        desk.find(token)
    except DomainError as exc:
        await websocket.close(code=4000 + status_of(exc), reason=exc.message)
        return
    async with stream_guard(websocket, "ticket stream"):
        await _follow_ticket(websocket, token)


async def _follow_ticket(websocket: WebSocket, token: str) -> None:
    app = websocket.app
    engine: Engine = app.state.engine
    desk: PublicTicketDesk = app.state.public_tickets
    hub = engine.hub
    sub = hub.subscribe_after_snapshot(hub.last_seq)
    heartbeat_s: float = app.state.heartbeat_s
    receiver = asyncio.create_task(_drain(websocket))
    last = ""
    sent_at = beat_at = -1e9
    try:
        while not receiver.done():
            try:
                view = desk.view(token)
            except DomainError as exc:
                await websocket.close(code=4000 + status_of(exc), reason=exc.message)
                return
            view.pop("at")
            text = dumps({"type": "ticket", "ticket": view})
            if text != last:
                await websocket.send_text(text)
                last, sent_at = text, time.monotonic()
                beat_at = sent_at
            elif time.monotonic() - beat_at >= heartbeat_s * 0.9:
                beat = {"type": "heartbeat", "at": engine.clock().isoformat()}
                await websocket.send_text(dumps(beat))
                beat_at = time.monotonic()
            woken = asyncio.create_task(sub.wake.wait())
            await asyncio.wait({woken, receiver}, timeout=heartbeat_s, return_when=FIRST)
            woken.cancel()
            sub.take()  # which events does not matter: the view is recomputed
            sub.overflowed = sub.needs_snapshot = False
            pause = sent_at + PUSH_MIN_INTERVAL_S - time.monotonic()
            if pause > 0 and not receiver.done():
                await asyncio.sleep(pause)  # throttled; changes meanwhile go out in one view
    finally:
        receiver.cancel()
        hub.unsubscribe(sub)


async def _drain(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
