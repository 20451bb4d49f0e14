"""The branch as a whole: health, the snapshot, and the live event stream."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from ...codec import dumps
from ..deps import AnyDevice, EngineDep
from ..schemas import Health

router = APIRouter(tags=["branch"])


@router.get("/health", response_model=Health)
def health(engine: EngineDep) -> dict[str, Any]:
    """Liveness for monitors and clients; needs no token."""
    return {
        "status": "ok",
        "seq": engine.hub.last_seq,
        "business_day": engine.branch.business_day(engine.clock()).isoformat(),
        "subscribers": engine.hub.subscribers,
    }


@router.get("/snapshot")
def snapshot(engine: EngineDep, _: AnyDevice) -> dict[str, Any]:
    """The whole live state at one sequence number; events after `seq` bring it up to date."""
    return engine.snapshot()


@router.websocket("/events")
async def events(
    websocket: WebSocket,
    since: int | None = Query(None, ge=0),
    token: str | None = Query(None, max_length=200),
) -> None:
    """Snapshot (or resume after `since`), then every event in order, with heartbeats.

    Messages: {"type": "snapshot", ...}, {"type": "resume", "since": n},
    {"type": "events", "events": [...]}, {"type": "heartbeat", "seq": n, "at": ...}.
    """
    app = websocket.app
    engine = app.state.engine
    bearer = token or websocket.headers.get("authorization", "").partition(" ")[2]
    if app.state.tokens.lookup(bearer) is None:
        await websocket.close(code=4401, reason="unknown, expired or revoked token")
        return
    await websocket.accept()
    hub = engine.hub
    if since is not None and hub.can_resume(since):
        sub = hub.subscribe_from(since)
        first = dumps({"type": "resume", "since": since})
    else:
        snap = engine.snapshot()
        sub = hub.subscribe_after_snapshot(snap["seq"])
        first = dumps({"type": "snapshot", **snap})
    heartbeat_s: float = app.state.heartbeat_s
    try:
        await websocket.send_text(first)
        receiver = asyncio.create_task(_drain_client(websocket))
        while not receiver.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sub.wake.wait(), heartbeat_s)
            if sub.needs_snapshot or sub.overflowed:
                sub.take()
                sub.needs_snapshot = sub.overflowed = False
                snap = engine.snapshot()
                sub.after = max(sub.after, snap["seq"])
                await websocket.send_text(dumps({"type": "snapshot", **snap}))
                continue
            batch = sub.take()
            if batch:
                await websocket.send_text('{"type":"events","events":[' + ",".join(batch) + "]}")
            else:
                beat = {"type": "heartbeat", "seq": hub.last_seq, "at": engine.clock().isoformat()}
                await websocket.send_text(dumps(beat))
        receiver.cancel()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.unsubscribe(sub)


async def _drain_client(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a close is noticed promptly."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
