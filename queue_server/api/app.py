"""The FastAPI application: routes under /api/v1, JSON errors, limits, engine lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.exceptions import HTTPException as StarletteHTTPException

from queue_server import logs
from queue_server.api import lobby_session
from queue_server.api.deps import PublicTicketLimits
from queue_server.api.errors import RESPONSES, error, install
from queue_server.api.routes import (
    admin,
    alerts,
    appointments,
    branch,
    counters,
    customers,
    devices,
    lobby,
    lobby_desk,
    notify,
    pages,
    public_booking,
    public_tickets,
    reports,
    services,
    staffing,
    tickets,
    voice,
)
from queue_server.api.routes import head_office as head_office_routes
from queue_server.api.routes import knowledge as knowledge_routes
from queue_server.api.routes import policy as policy_routes
from queue_server.auth import TokenCache
from queue_server.customers import VipListApplier
from queue_server.desks.alerts import AlertDesk
from queue_server.desks.appointments import AppointmentDesk
from queue_server.desks.audit import AuditLog
from queue_server.desks.centre_notice import CentreNoticeDesk
from queue_server.desks.configuration import ConfigurationDesk
from queue_server.desks.head_office import HeadOfficeLink
from queue_server.desks.lobby import LobbyDesk, LobbySessions
from queue_server.desks.notifications import NotificationDesk
from queue_server.desks.policy import PolicyDesk
from queue_server.desks.provisioning import Provisioning
from queue_server.desks.public_tickets import PublicTicketDesk
from queue_server.desks.sign_in import StaffSignIn
from queue_server.desks.tickets import TicketDesk
from queue_server.domain import CallingPolicy
from queue_server.engine import Clock, Engine, utc_now
from queue_server.head_office import HeadOffice
from queue_server.knowledge import KnowledgeDesk
from queue_server.loopwatch import CallbackWatch, LoopWatch
from queue_server.security.headers import SecurityHeaders, cors_origins
from queue_server.security.limits import PublicGate, RateLimit
from queue_server.vip_key import BranchVipKey, vip_key_path

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024  # nothing a kiosk or counter sends comes near this
# The routes that take more: a photo of a ticket from the lobby tablet's camera.
LARGER_BODIES = {"/api/v1/lobby/scan": 2 * 1024 * 1024}
BODY_TIMEOUT_S = 10.0  # a body still arriving after this is a stalled or trickling client
API = "/api/v1"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _build_routes(app: FastAPI) -> None:
    """FastAPI builds a router's matching tables on the first request that reaches it: ~150 ms
    of CPU on the event loop for ours, which a kiosk's first ticket after a restart waited
    through. A request for no route walks every router: built before the server serves."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/__build_routes__",
        "raw_path": b"/__build_routes__",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
        "app": app,
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    with contextlib.suppress(StarletteHTTPException):  # the 404 it is meant to end in
        await app.router(scope, receive, send)


class BodyLimit:
    """Refuses request bodies over a limit, whether or not they declare their length, and
    cuts a client whose body has not all arrived within a time limit (408)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY, timeout_s: float | None = None) -> None:
        self.app = app
        self.default_limit = limit
        self.timeout_s = BODY_TIMEOUT_S if timeout_s is None else timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = LARGER_BODIES.get(scope.get("path", ""), self.default_limit)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await _too_large(scope, receive, send, limit)
                return
        # Read the whole (small) body first, so an oversized one is refused before any route
        # sees it, however it was sent (declared length or chunked).
        chunks: list[bytes] = []
        size = 0
        more = True
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        while more:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                response = error(408, "request_timeout", "the request body came too slowly")
                response.headers["Connection"] = "close"
                await response(scope, receive, send)
                return
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large(scope, receive, send, limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = error(413, "body_too_large", f"request body over {limit} bytes")
    await response(scope, receive, send)


def create_app(
    db_path: str | Path,
    *,
    clock: Clock = utc_now,
    policy: CallingPolicy | None = None,
    heartbeat_s: float = 2.0,
    coalesce_s: float = 0.002,
    watch_callbacks: bool = False,
    policy_schedule: bool = False,
    head_office: HeadOffice | None = None,
) -> FastAPI:
    logs.install()
    engine = Engine(db_path, clock=clock, policy=policy)
    tokens = TokenCache(engine.read_conn)
    audit = AuditLog(engine)
    desk = AppointmentDesk(engine)
    alerts_desk = AlertDesk(engine)
    notices = NotificationDesk(engine)  # texts opted-in customers (phone numbers in memory)
    ticket_links = PublicTicketDesk(engine)
    loopwatch = LoopWatch()
    callbacks = CallbackWatch() if watch_callbacks else None
    if callbacks is not None:
        callbacks.install()
    provisioning = Provisioning(engine, tokens, audit)
    sign_in_desk = StaffSignIn(engine, provisioning, audit)
    # Nightly tournaments are the server's (`branchq serve`); tests and benches ask for them.
    policy_desk = PolicyDesk(engine, schedule=policy_schedule)
    vip_key = BranchVipKey(vip_key_path(engine.db_path))
    head_office_link = HeadOfficeLink(engine, head_office, alerts_desk, vip_key)
    configuration = ConfigurationDesk(engine)
    head_office_link.appliers.register("config", configuration.apply)
    head_office_link.appliers.register("notice", CentreNoticeDesk(engine).apply)
    knowledge_desk = KnowledgeDesk(engine)
    head_office_link.appliers.register("knowledge", knowledge_desk.apply)
    head_office_link.appliers.register("vip", VipListApplier(engine.db_path, vip_key).apply)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await _build_routes(app)
        await engine.start()
        loopwatch.start()
        sign_in_desk.start()
        ticket_links.start()
        desk.start()
        alerts_desk.start()
        notices.start()
        policy_desk.start()
        configuration.start()
        head_office_link.start()
        try:
            yield
        finally:
            await head_office_link.stop()
            await configuration.stop()
            await policy_desk.stop()
            await notices.stop()
            await alerts_desk.stop()
            await desk.stop()
            ticket_links.stop()
            await loopwatch.stop()
            await engine.stop()

    app = FastAPI(
        title="BranchQ queue server",
        version="1",
        summary="Tickets, counters and the live event stream of one bank branch.",
        lifespan=lifespan,
        responses=RESPONSES,
    )
    # Per-app state, built once here and reached through the aliases in deps.py.
    app.state.engine = engine
    configuration.voice_root = lambda: voice.pack_root(app)
    app.state.loopwatch = loopwatch
    app.state.callbacks = callbacks
    app.state.tokens = tokens
    app.state.audit = audit
    app.state.tickets = TicketDesk(engine)
    app.state.public_tickets = ticket_links
    app.state.appointments = desk
    app.state.alerts = alerts_desk
    app.state.notices = notices
    app.state.policy = policy_desk
    app.state.head_office = head_office_link
    app.state.configuration = configuration
    app.state.knowledge = knowledge_desk
    app.state.provisioning = provisioning
    app.state.sign_in = sign_in_desk
    app.state.lobby_sessions = LobbySessions(engine, sign_in_desk)
    app.state.lobby = LobbyDesk(engine, app.state.tickets, ticket_links, alerts_desk)
    app.state.public_ticket_limits = PublicTicketLimits(
        per_token=RateLimit(public_tickets.RATE_PER_TOKEN),
        per_client=RateLimit(public_tickets.RATE_PER_CLIENT),
    )
    app.state.public_booking_gate = PublicGate()
    app.state.heartbeat_s = heartbeat_s
    app.state.coalesce_s = coalesce_s
    install(app)

    routers = (branch, services, counters, tickets, devices, admin)
    for router in (r.router for r in routers):
        app.include_router(router, prefix=API)
    app.include_router(customers.router, prefix=API)
    app.include_router(services.bundles_router, prefix=API)
    app.include_router(appointments.router, prefix=API)
    app.include_router(staffing.router, prefix=API)
    app.include_router(policy_routes.router, prefix=API)
    app.include_router(reports.router, prefix=API)
    app.include_router(alerts.router, prefix=API)
    app.include_router(notify.router, prefix=API)
    app.include_router(head_office_routes.router, prefix=API)
    app.include_router(knowledge_routes.router, prefix=API)
    app.include_router(pages.book)  # the public booking page
    app.include_router(public_booking.router)  # its endpoints (/api/v1/public/book/…)
    app.include_router(pages.display)  # the hall display page, outside the API
    app.include_router(voice.router, prefix=API)  # call announcements (WAV)
    app.include_router(pages.ticket)  # the phone's live ticket page
    app.include_router(public_tickets.router, prefix=API)  # and its public API
    app.include_router(lobby_session.router, prefix=API)  # the lobby tablet's staff session
    app.include_router(lobby.router, prefix=API)  # and its work
    app.include_router(lobby_desk.router, prefix=API)  # pre-review and the RM's day
    app.include_router(pages.lobby)  # the lobby manager's app that calls them (/lobby)
    app.add_middleware(BodyLimit)
    # Cross-origin calls only from the configured allow-list. With none (the default) the
    # middleware is left out: browsers refuse cross-origin answers without its headers, and
    # it wrapped every answer of the hot path for nothing.
    origins = cors_origins()
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        )
    app.add_middleware(SecurityHeaders)
    return app
