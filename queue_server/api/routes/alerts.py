"""The manager's alerts, follow-ups of 不满意 ratings, and the audit log of manager actions."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ...alert_desk import AlertDesk
from ..deps import EngineDep, Manager, manager_actor

router = APIRouter(tags=["manager"])


async def get_alert_desk(request: Request) -> AlertDesk:
    desk: AlertDesk = request.app.state.alerts
    return desk


class AlertPublic(BaseModel):
    id: str
    key: str = Field(description="what it is about: business:A, customer:12, device:…, counter:3")
    kind: str = Field(
        description="business_over_target, customer_over_target, negative_rating, "
        "device_fault or counter_paused_long"
    )
    severity: str = Field(description="warning or critical")
    subject: dict[str, Any]
    detail: str
    raised_at: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    cleared_at: str | None


class FollowupPublic(BaseModel):
    id: int
    ticket_id: int
    number: str
    service: str
    counter: int | None
    staff_id: str | None
    rating: int
    rated_at: str
    alert_id: str
    note: str
    resolved_at: str | None
    resolved_by: str | None
    comment: str = ""  # the customer's own words with the rating (from the phone)


class FollowupUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=2000)
    resolved: bool | None = None


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor: str
    action: str = Field(description="the event kind, e.g. counter.skills")
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _actor(device: Any) -> str:
    return manager_actor(device) or device.label


@router.get("/alerts", response_model=list[AlertPublic])
async def list_alerts(
    request: Request,
    engine: EngineDep,
    _: Manager,
    day: Annotated[date | None, Query(description="business day (default today)")] = None,
) -> list[dict[str, Any]]:
    """Every alert raised on a business day, newest first, with its acknowledgement."""
    desk = await get_alert_desk(request)
    await desk.check()  # up to the moment, not up to the last periodic check
    day = day or engine.branch.business_day(engine.clock())
    return [a.to_dict() for a in desk.history(day)]


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertPublic)
async def acknowledge_alert(alert_id: str, request: Request, device: Manager) -> dict[str, Any]:
    """Acknowledge an alert (it stays open while its condition holds)."""
    desk = await get_alert_desk(request)
    return (await desk.acknowledge(alert_id, _actor(device))).to_dict()


@router.get("/followups", response_model=list[FollowupPublic])
async def list_followups(
    request: Request,
    _: Manager,
    state: Annotated[str, Query(pattern="^(open|all)$")] = "open",
) -> list[dict[str, Any]]:
    """Follow-ups of 不满意 ratings: the open ones (default) or all, newest first."""
    desk = await get_alert_desk(request)
    return [f.to_dict() for f in desk.followups(open_only=state == "open")]


@router.patch("/followups/{followup_id}", response_model=FollowupPublic)
async def update_followup(
    followup_id: int, body: FollowupUpdate, request: Request, device: Manager
) -> dict[str, Any]:
    """Write the follow-up's note and/or mark it resolved (which clears its alert)."""
    desk = await get_alert_desk(request)
    followup = await desk.update_followup(
        followup_id, _actor(device), note=body.note, resolved=body.resolved
    )
    return followup.to_dict()


@router.get("/audit", response_model=list[AuditEntry])
async def audit_log(
    engine: EngineDep,
    _: Manager,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    before_seq: Annotated[int | None, Query(ge=1)] = None,
) -> list[dict[str, Any]]:
    """Manager and admin actions, newest first: who, what, and the state before and after."""
    rows = engine.read_conn.execute(
        "SELECT seq, at, kind, body FROM events"
        " WHERE json_extract(body, '$.data.actor') IS NOT NULL AND seq < ?"
        " ORDER BY seq DESC LIMIT ?",
        (before_seq or 2**62, limit),
    )
    return [_audit_entry(seq, at, kind, json.loads(body)) for seq, at, kind, body in rows]


def _audit_entry(seq: int, at: str, kind: str, event: dict[str, Any]) -> dict[str, Any]:
    data = dict(event.get("data") or {})
    actor = str(data.pop("actor", ""))
    before = data.pop("before", None)
    after: dict[str, Any] | None
    if "counter" in event:
        target, after = f"counter {event['counter']['number']}", event["counter"]
    elif "service" in event:
        target, after = f"business {event['service']['code']}", event["service"]
    elif "alert" in data:
        target, after = f"alert {data['alert']['id']}", data["alert"]
    elif "followup" in data:
        target, after = f"follow-up {data['followup']['id']}", data["followup"]
    elif kind.startswith("staff."):
        target, after = f"staff {data.get('staff_id')}", data
    elif kind.startswith("token."):
        target, after = f"token {data.get('id')}", data
    else:
        target, after = kind.split(".")[0], data or None
    return {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": kind,
        "target": target,
        "before": before,
        "after": after,
    }
