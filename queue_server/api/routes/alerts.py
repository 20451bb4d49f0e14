"""The manager's alerts, follow-ups of 不满意 ratings, and the audit log of manager actions."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from queue_server.api.deps import AlertDeskDep, AlertId, AuditLogDep, EngineDep, Manager, actor_of
from queue_server.api.schemas.alerts import AlertPublic, AuditEntry, FollowupPublic, FollowupUpdate

router = APIRouter(tags=["manager"])


@router.get("/alerts", response_model=list[AlertPublic])
async def list_alerts(
    desk: AlertDeskDep,
    engine: EngineDep,
    _: Manager,
    day: Annotated[date | None, Query(description="business day (default today)")] = None,
) -> list[dict[str, Any]]:
    """Every alert raised on a business day, newest first, with its acknowledgement."""
    await desk.check()  # up to the moment, not up to the last periodic check
    day = day or engine.branch.business_day(engine.clock())
    return [a.to_dict() for a in desk.history(day)]


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertPublic)
async def acknowledge_alert(
    alert_id: AlertId, desk: AlertDeskDep, device: Manager
) -> dict[str, Any]:
    """Acknowledge an alert (it stays open while its condition holds)."""
    return (await desk.acknowledge(alert_id, actor_of(device))).to_dict()


@router.get("/followups", response_model=list[FollowupPublic])
async def list_followups(
    desk: AlertDeskDep,
    _: Manager,
    state: Annotated[str, Query(pattern="^(open|all)$")] = "open",
) -> list[dict[str, Any]]:
    """Follow-ups of 不满意 ratings: the open ones (default) or all, newest first."""
    return [f.to_dict() for f in desk.followups(open_only=state == "open")]


@router.patch("/followups/{followup_id}", response_model=FollowupPublic)
async def update_followup(
    followup_id: int, body: FollowupUpdate, desk: AlertDeskDep, device: Manager
) -> dict[str, Any]:
    """Write the follow-up's note and/or mark it resolved (which clears its alert)."""
    followup = await desk.update_followup(
        followup_id, actor_of(device), note=body.note, resolved=body.resolved
    )
    return followup.to_dict()


@router.get("/audit", response_model=list[AuditEntry])
async def audit_log(
    audit: AuditLogDep,
    _: Manager,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    before_seq: Annotated[int | None, Query(ge=1)] = None,
) -> list[dict[str, Any]]:
    """Manager and admin actions, newest first: who, what, and the state before and after."""
    return audit.entries(limit=limit, before_seq=before_seq)
