"""The customer's own ticket, authorised by its live-page token only (no bearer token).

The token printed in the ticket's QR code (128 random bits, `Engine._new_token`) opens that
one ticket and nothing else: its public view (`public_view`) holds no customer reference,
ID data, note, staff id or other ticket. It works for the ticket's business day (and while
the ticket is still open after it); afterwards 410. POSTs are rate-limited per token and
per client address.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from asyncio import FIRST_COMPLETED as FIRST
from collections import deque
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Path, Request, WebSocket, WebSocketDisconnect

from queue_server.api import views
from queue_server.wire_encode import dumps, guidance_wire

from ...domain import Change, Ticket, TicketState
from ...domain.branch import LATE_MAX_MINUTES, LATE_MAX_TIMES
from ...engine import Engine
from ..deps import EngineDep, result_of
from ..schemas import LateRequest, RatingRequest

router = APIRouter(prefix="/public/tickets", tags=["public ticket"])
TokenPath = Path(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
RATE_WINDOW_S = 60.0
RATE_PER_TOKEN = 10  # POSTs a minute for one ticket: a customer taps a few times at most
RATE_PER_CLIENT = 30  # POSTs a minute from one address (a branch's guest Wi-Fi is shared)
PUSH_MIN_INTERVAL_S = 0.5  # a phone gets a changed view at most this often


class TicketTokens:
    """Ticket ids by live-page token: a dict (O(1) hash lookup) kept up by the engine's
    changes; the database's token index answers for tickets no longer in memory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ids: dict[str, int] = {}
        self._rebuild()
        engine.listeners.append(self._follow)

    def _rebuild(self) -> None:
        """From the tickets in memory (the engine drops earlier days' finished ones)."""
        self._ids = {}
        for t in sorted(self.engine.branch.tickets.values(), key=lambda t: t.id):
            if t.token:
                self._ids[t.token] = t.id  # a transfer's later leg (higher id) wins

    def _follow(self, change: Change) -> None:
        for t in change.tickets:
            if t.token and t.id >= self._ids.get(t.token, 0):
                self._ids[t.token] = t.id
        if len(self._ids) > 2 * len(self.engine.branch.tickets) + 1000:
            self._rebuild()  # days have passed: forget their tokens (the database keeps them)

    def find(self, token: str) -> Ticket:
        """The ticket's current leg; 404 unknown, 410 past its business day."""
        engine = self.engine
        tid = self._ids.get(token)
        if tid is None:
            row = engine.read_conn.execute(
                "SELECT id FROM tickets WHERE token = ? ORDER BY id DESC LIMIT 1", (token,)
            ).fetchone()
            if row is None:
                raise HTTPException(404, "no such ticket: check the link on your ticket")
            tid = int(row["id"])
        ticket = engine.find_ticket(tid)
        today = engine.branch.business_day(engine.clock())
        if ticket.business_day != today and ticket.state.is_final:
            self._ids.pop(token, None)
            raise HTTPException(410, "this ticket was for an earlier day; its link has expired")
        return ticket


class RateLimit:
    """At most `limit` hits per key in a sliding window (monotonic clock)."""

    def __init__(self, limit: int, window_s: float = RATE_WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> bool:
        now = time.monotonic()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        if len(self._hits) > 10_000:  # forget idle keys now and then
            for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window_s]:
                del self._hits[k]
        return True


def _state(app: Any) -> tuple[TicketTokens, RateLimit, RateLimit]:
    """This app's token index and limits, made on first use (the engine has started)."""
    found = getattr(app.state, "public_tickets", None)
    if found is None:
        tokens = TicketTokens(app.state.engine)
        found = (tokens, RateLimit(RATE_PER_TOKEN), RateLimit(RATE_PER_CLIENT))
        app.state.public_tickets = found
    return found


def _find(request: Request, token: str) -> Ticket:
    return _state(request.app)[0].find(token)


def _limit(request: Request, token: str) -> None:
    _, per_token, per_client = _state(request.app)
    client = request.client.host if request.client else "?"
    if not per_client.hit(client) or not per_token.hit(token):
        raise HTTPException(
            429, "too many requests: wait a minute and try again", headers={"Retry-After": "60"}
        )


def public_view(engine: Engine, ticket: Ticket) -> dict[str, Any]:
    """What the customer's phone may see of their own ticket (a whitelist, nothing else)."""
    b = engine.branch
    now = engine.clock()
    live = views.ticket_view(engine, ticket)
    service = b.services.get(ticket.service)
    guidance = {}
    if ticket.bundle is not None and ticket.bundle in b.bundles:
        guidance = {k: guidance_wire(g) for k, g in b.bundles[ticket.bundle].guidance.items()}
    elif service is not None:
        guidance = {k: guidance_wire(g) for k, g in service.guidance.items()}
    names = dict(service.names) if service is not None else {}
    if ticket.bundle is not None and ticket.bundle in b.bundles:
        names = dict(b.bundles[ticket.bundle].names)
    counter = b.counters.get(ticket.counter) if ticket.counter is not None else None
    held = ticket.held_until if ticket.held_until is not None and ticket.held_until > now else None
    eta = [live.get("eta_s"), live.get("eta_low_s"), live.get("eta_high_s")]
    if held is not None:  # not called before the time the customer asked for
        rest = round((held - now).total_seconds(), 1)
        eta = [None if v is None else max(v, rest) for v in eta]
    today = b.business_day(now)
    waiting = ticket.state is TicketState.WAITING
    return {
        "number": ticket.number,
        "service": ticket.service,
        "service_names": names,
        "state": ticket.state.value,
        "position": live.get("position", 0),
        "eta_s": eta[0],
        "eta_low_s": eta[1],
        "eta_high_s": eta[2],
        "counter": ticket.counter
        if ticket.state.is_active or ticket.state is TicketState.DONE
        else None,
        "counter_name": counter.name if counter is not None and ticket.state.is_active else None,
        "counter_location": counter.location
        if counter is not None and ticket.state.is_active
        else None,
        "recall_count": ticket.recall_count,
        "called_at": _iso(ticket.called_at),
        "held_until": _iso(held),
        "late_left": max(0, LATE_MAX_TIMES - ticket.late_count) if waiting else 0,
        "late_max_minutes": LATE_MAX_MINUTES,
        "can_cancel": waiting,
        "rated": ticket.rating is not None,
        "rating": ticket.rating,
        "can_rate": ticket.state is TicketState.DONE
        and ticket.rating is None
        and ticket.business_day == today,
        "guidance": guidance,
        "branch": b.settings.name,
        "timezone": b.settings.timezone,
        "at": now.isoformat(),
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@router.get("/{token}")
async def read_ticket(
    request: Request, engine: EngineDep, token: str = TokenPath
) -> dict[str, Any]:
    """The customer's ticket: number, business, state, people ahead, wait, counter, guidance."""
    return public_view(engine, _find(request, token))


@router.post("/{token}/cancel")
async def cancel_ticket(
    request: Request, engine: EngineDep, token: str = TokenPath
) -> dict[str, Any]:
    """The customer cancels their waiting ticket."""
    _limit(request, token)
    tid = _find(request, token).id
    change = await engine.execute(lambda b, now: b.cancel_ticket(tid, now))
    return public_view(engine, result_of(change, Ticket))


@router.post("/{token}/late")
async def running_late(
    body: LateRequest, request: Request, engine: EngineDep, token: str = TokenPath
) -> dict[str, Any]:
    """The customer needs `minutes` more: call-next skips the ticket until then (its place kept)."""
    _limit(request, token)
    tid = _find(request, token).id
    change = await engine.execute(lambda b, now: b.late_ticket(tid, body.minutes, now))
    return public_view(engine, result_of(change, Ticket))


@router.post("/{token}/rating")
async def rate_ticket(
    body: RatingRequest, request: Request, engine: EngineDep, token: str = TokenPath
) -> dict[str, Any]:
    """The customer rates their finished service once, on its business day, with a comment."""
    _limit(request, token)
    ticket = _find(request, token)
    if ticket.business_day != engine.branch.business_day(engine.clock()):
        raise HTTPException(410, "ratings close at the end of the day of the visit")
    tid = ticket.id
    change = await engine.execute(
        lambda b, now: b.rate_ticket(tid, body.rating, now, comment=body.comment)
    )
    return public_view(engine, result_of(change, Ticket))


@router.websocket("/{token}/events")
async def ticket_events(websocket: WebSocket, token: str) -> None:
    """This ticket's view ({"type": "ticket", "ticket": …}) now and whenever it changes, and
    {"type": "heartbeat"} every few seconds. Unknown or expired: closed with 4404 / 4410."""
    app = websocket.app
    engine: Engine = app.state.engine
    await websocket.accept()
    try:
        ticket = _state(app)[0].find(token)
    except HTTPException as exc:
        await websocket.close(code=4000 + exc.status_code, reason=str(exc.detail))
        return
    hub = engine.hub
    sub = hub.subscribe_after_snapshot(hub.last_seq)
    heartbeat_s: float = app.state.heartbeat_s
    receiver = asyncio.create_task(_drain(websocket))
    last = ""
    sent_at = beat_at = -1e9
    try:
        while not receiver.done():
            try:
                ticket = _state(app)[0].find(token)
                view = public_view(engine, ticket)
            except HTTPException as exc:
                await websocket.close(code=4000 + exc.status_code, reason=str(exc.detail))
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
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        receiver.cancel()
        hub.unsubscribe(sub)


async def _drain(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
