"""Provisioning: device tokens and staff accounts (manager and admin only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from queue_server.api.deps import CurrentDevice, Manager, ProvisioningDep, actor_of
from queue_server.api.schemas.admin import (
    StaffCreate,
    StaffPublic,
    TokenCreate,
    TokenCreated,
    TokenInfo,
)

router = APIRouter(tags=["admin"])


@router.post("/tokens", response_model=TokenCreated, status_code=201)
async def new_token(body: TokenCreate, desk: ProvisioningDep, device: Manager) -> dict[str, Any]:
    """Create a device token; a manager may create any role but admin."""
    token_id, token = await desk.create_token(
        body.role, body.name, body.expires_in_days, by_role=device.role, actor=actor_of(device)
    )
    return {"id": token_id, "role": body.role, "name": body.name, "token": token}


@router.get("/tokens", response_model=list[TokenInfo])
async def get_tokens_list(desk: ProvisioningDep, _: Manager) -> list[dict[str, Any]]:
    """List device tokens (never the tokens themselves)."""
    return desk.list_tokens()


@router.delete("/tokens/{token_id}", status_code=204)
async def delete_token(token_id: int, desk: ProvisioningDep, device: Manager) -> Response:
    """Revoke a device token at once."""
    await desk.revoke_token(token_id, by_role=device.role, actor=actor_of(device))
    return Response(status_code=204)


@router.get("/staff", response_model=list[StaffPublic])
async def list_staff(desk: ProvisioningDep, _: Manager) -> list[dict[str, Any]]:
    """List staff accounts (never their PINs)."""
    return desk.list_staff()


@router.post("/staff", response_model=StaffPublic, status_code=201)
async def new_staff(body: StaffCreate, desk: ProvisioningDep, device: Manager) -> dict[str, Any]:
    """Add a staff member (or reset their PIN)."""
    await desk.add_staff(body.staff_id, body.name, body.pin, actor=actor_of(device))
    return {"staff_id": body.staff_id, "name": body.name, "active": True}


@router.get("/whoami")
async def whoami(device: CurrentDevice) -> dict[str, Any]:
    """The role of the calling token (clients check their pairing with it)."""
    return {"role": device.label, "name": device.name, "counter": device.counter}
