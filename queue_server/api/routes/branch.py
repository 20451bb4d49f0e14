"""The branch as a whole: health, the snapshot, and the live event stream."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect

from queue_server.api import views
from queue_server.api.deps import STREAM_ROLES, AnyDevice, EngineDep, Manager, manager_actor
from queue_server.api.schemas.branch import Health, NoticePublic, NoticeUpdate
from queue_server.api.websockets import stream_guard
from queue_server.wire_encode import dumps

router = APIRouter(tags=["branch"])
FLOOD_WINDOW_S = 10.0
FLOOD_MESSAGES = 100  # a client sending more than this in the window is cut off


@router.get("/health", response_model=Health)
async def health(engine: EngineDep, request: Request) -> dict[str, Any]:
    """Liveness for monitors and clients; needs no token. `loop_lag`: how late the server's
    event loop ran what was due (a histogram since start, see queue_server/loopwatch.py)."""
    return {
        "status": "ok",
        "seq": engine.hub.last_seq,
        "business_day": engine.branch.business_day(engine.clock()).isoformat(),
        "subscribers": engine.hub.subscribers,
        "loop_lag": request.app.state.loopwatch.reading(),
        "callbacks": callbacks.reading() if (callbacks := request.app.state.callbacks) else None,
    }


@router.get("/snapshot")
async def snapshot(engine: EngineDep, _: AnyDevice) -> dict[str, Any]:
    """The whole live state at one sequence number; events after `seq` bring it up to date."""
    await engine.durable()
    return views.snapshot(engine)


@router.put("/branch/notice", response_model=NoticePublic)
async def set_notice(body: NoticeUpdate, engine: EngineDep, device: Manager) -> dict[str, Any]:
    """Set the notice line the hall display scrolls ("" clears it); event branch.notice."""
    change = await engine.execute(
        lambda b, now: b.set_notice(body.text, now), actor=manager_actor(device)
    )
    seq = change.events[-1].seq if change.events else 0
    return {"text": engine.branch.settings.notice, "seq": seq}


@router.websocket("/events")
async def events(
    websocket: WebSocket,
    since: int | None = Query(None, ge=0),
    epoch: str | None = Query(None, max_length=64),
    token: str | None = Query(None, max_length=200),
) -> None:
    """Snapshot (or resume after `since`), then every event in order, with heartbeats.

    Messages: {"type": "snapshot", "epoch": e, "seq": n, ...}, {"type": "resume", ...},
    {"type": "events", "events": [...]}, {"type": "heartbeat", "seq": n, "epoch": e}, and
    {"type": "waits", "after_seq": n, "epoch": e, "at": t, "waits": {code: {"waiting",
    "longest_wait_s", "open_counters", "eta_new_s", "eta_low_s", "eta_high_s"}}} — each
    business's waiting summary (`wire.WaitsMessage`), sent when any of it changes (not an
    event: no seq, not replayed on resume; the newest one follows).
    A client resumes with `since` and the `epoch` of the snapshot it holds. Without the
    epoch, or after the server restarted or reloaded (a new epoch: sequence numbers that were
    never made durable may have been reused), it gets a fresh snapshot instead.
    """
    app = websocket.app
    bearer = token or websocket.headers.get("authorization", "").partition(" ")[2]
    await websocket.accept()  # accept first: a close before accept reaches no client as 4401
    device = app.state.tokens.lookup(bearer)
    if device is None:
        await websocket.close(code=4401, reason="unknown, expired or revoked token")
        return
    if device.role not in STREAM_ROLES:  # the online booking channel sees no live branch
        await websocket.close(code=4403, reason=f"role {device.label} may not follow the branch")
        return
    async with stream_guard(websocket, "event stream"):
        await _follow_branch(websocket, since, epoch)


async def _follow_branch(websocket: WebSocket, since: int | None, epoch: str | None) -> None:
    app = websocket.app
    engine = app.state.engine
    hub = engine.hub
    if since is not None and epoch == engine.epoch and hub.can_resume(since):
        sub = hub.subscribe_from(since)
        first = dumps({"type": "resume", "since": since, "epoch": engine.epoch})
    else:
        await engine.durable()  # then snapshot and subscribe with no await between
        snap = views.snapshot(engine)
        sub = hub.subscribe_after_snapshot(snap["seq"])
        first = dumps({"type": "snapshot", **snap})
    heartbeat_s: float = app.state.heartbeat_s
    coalesce_s: float = app.state.coalesce_s
    receiver = asyncio.create_task(_drain_client(websocket))
    # A client that goes away wakes the loop as events do: one wait per round, no task
    # created per round (with 50 displays and bursts of events, that was a real share of
    # the server's loop).
    receiver.add_done_callback(lambda _: sub.wake.set())
    try:
        await websocket.send_text(first)
        while not receiver.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(heartbeat_s):
                    await sub.wake.wait()
            if receiver.done():
                break
            if sub.wake.is_set() and coalesce_s > 0:
                # Under load, events a few milliseconds apart go out as one frame: one send
                # per subscriber per burst instead of one per event.
                await asyncio.sleep(coalesce_s)
            if sub.needs_snapshot or sub.overflowed:
                await engine.durable()
                sub.take()
                sub.needs_snapshot = sub.overflowed = False
                snap = views.snapshot(engine)
                sub.after = max(sub.after, snap["seq"])
                await websocket.send_text(dumps({"type": "snapshot", **snap}))
                continue
            batch = sub.take()
            if batch:
                await websocket.send_text(hub.frame(batch))
            else:
                beat = {
                    "type": "heartbeat",
                    "seq": hub.last_seq,
                    "epoch": engine.epoch,
                    "at": engine.clock().isoformat(),
                }
                await websocket.send_text(dumps(beat))
    finally:
        receiver.cancel()
        hub.unsubscribe(sub)


async def _drain_client(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends; returns as soon as the client goes away.

    Clients have nothing to say on this stream, so one that floods it is cut off (1008)
    rather than costing the server's loop time every other subscriber shares.
    """
    loop = asyncio.get_running_loop()
    window_start, count = loop.time(), 0
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            now = loop.time()
            if now - window_start > FLOOD_WINDOW_S:
                window_start, count = now, 0
            count += 1
            if count > FLOOD_MESSAGES:
                await websocket.close(code=1008, reason="too many messages")
                return
