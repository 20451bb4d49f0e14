"""The branch's calling policy: the last tournament and its reason, run one now, apply it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from queue_server.api.deps import Manager, actor_of
from queue_server.api.schemas.policy import (
    ApplyPolicy,
    PolicyApplied,
    PolicyOverview,
    TournamentJobPublic,
)
from queue_server.desks.policy import PolicyDesk

router = APIRouter(prefix="/policy", tags=["policy"])


async def get_policy_desk(request: Request) -> PolicyDesk:
    desk: PolicyDesk = request.app.state.policy
    return desk


PolicyDeskDep = Annotated[PolicyDesk, Depends(get_policy_desk)]


@router.get("", response_model=PolicyOverview)
async def policy_overview(desk: PolicyDeskDep, _: Manager) -> dict[str, Any]:
    """The policy running today and why, the tournament in progress, the last result."""
    return desk.overview()


@router.post("/tournament", response_model=TournamentJobPublic, status_code=202)
async def run_tournament(desk: PolicyDeskDep, device: Manager) -> dict[str, Any]:
    """Start a tournament for the next business day now; 409 tournament_running if one runs."""
    return desk.request(actor_of(device)).to_dict()


@router.post("/apply", response_model=PolicyApplied)
async def apply_policy(
    desk: PolicyDeskDep, device: Manager, body: Annotated[ApplyPolicy | None, Body()] = None
) -> dict[str, Any]:
    """Run the last (or the given) tournament's choice from now on; audited."""
    tournament_id = body.tournament_id if body is not None else None
    return await desk.apply_now(actor_of(device), tournament_id)
