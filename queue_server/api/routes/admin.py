"""Provisioning: device tokens and staff accounts (manager and admin only)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response

from wire import EventKind

from ...auth import (
    Principal,
    TokenCache,
    add_staff,
    create_token,
    list_tokens,
    parse_role,
    revoke_token,
)
from ...engine import Engine
from ...storage import in_transaction
from ..deps import CurrentDevice, EngineDep, Manager, get_tokens, manager_actor
from ..schemas import StaffCreate, StaffPublic, TokenCreate, TokenCreated, TokenInfo

router = APIRouter(tags=["admin"])


@router.post("/tokens", response_model=TokenCreated, status_code=201)
async def new_token(body: TokenCreate, engine: EngineDep, device: Manager) -> dict[str, Any]:
    """Create a device token; a manager may create any role but admin."""
    role, counter = parse_role(body.role)
    if role == "admin" and device.role != "admin":
        raise HTTPException(403, "only an admin may create admin tokens")
    if counter is not None and counter not in engine.branch.counters:
        raise HTTPException(422, f"there is no counter {counter}")
    expires_at = None
    if body.expires_in_days is not None:
        expires_at = datetime.now(UTC) + timedelta(days=body.expires_in_days)
    token_id, token = await asyncio.to_thread(
        in_transaction, engine.db_path, create_token, body.role, body.name, expires_at
    )
    await _audit(
        engine,
        device,
        EventKind.TOKEN_CREATED,
        id=token_id,
        role=body.role,
        name=body.name,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    return {"id": token_id, "role": body.role, "name": body.name, "token": token}


@router.get("/tokens", response_model=list[TokenInfo])
async def get_tokens_list(engine: EngineDep, _: Manager) -> list[dict[str, Any]]:
    """List device tokens (never the tokens themselves)."""
    return list_tokens(engine.read_conn)


@router.delete("/tokens/{token_id}", status_code=204)
async def delete_token(
    token_id: int,
    engine: EngineDep,
    device: Manager,
    tokens: Annotated[TokenCache, Depends(get_tokens)],
) -> Response:
    """Revoke a device token at once."""
    row = engine.read_conn.execute("SELECT role FROM tokens WHERE id = ?", (token_id,)).fetchone()
    if row is None:
        raise HTTPException(404, f"no token {token_id}")
    if row["role"] == "admin" and device.role != "admin":
        raise HTTPException(403, "only an admin may revoke admin tokens")
    await asyncio.to_thread(in_transaction, engine.db_path, revoke_token, token_id)
    tokens.forget()
    await _audit(engine, device, EventKind.TOKEN_REVOKED, id=token_id, role=row["role"])
    return Response(status_code=204)


@router.get("/staff", response_model=list[StaffPublic])
async def list_staff(engine: EngineDep, _: Manager) -> list[dict[str, Any]]:
    """List staff accounts (never their PINs)."""
    rows = engine.read_conn.execute("SELECT staff_id, name, active FROM staff ORDER BY staff_id")
    return [{"staff_id": r[0], "name": r[1] or "", "active": bool(r[2])} for r in rows]


@router.post("/staff", response_model=StaffPublic, status_code=201)
async def new_staff(body: StaffCreate, engine: EngineDep, device: Manager) -> dict[str, Any]:
    """Add a staff member (or reset their PIN)."""
    known = engine.read_conn.execute(
        "SELECT 1 FROM staff WHERE staff_id = ?", (body.staff_id,)
    ).fetchone()
    await asyncio.to_thread(
        in_transaction, engine.db_path, add_staff, body.staff_id, body.name, body.pin
    )
    kind = EventKind.STAFF_PIN_RESET if known else EventKind.STAFF_CREATED
    await _audit(engine, device, kind, staff_id=body.staff_id, name=body.name)
    return {"staff_id": body.staff_id, "name": body.name, "active": True}


@router.get("/whoami")
async def whoami(device: CurrentDevice) -> dict[str, Any]:
    """The role of the calling token (clients check their pairing with it)."""
    return {"role": device.label, "name": device.name, "counter": device.counter}


async def _audit(engine: Engine, device: Principal, kind: str, **data: Any) -> None:
    """A provisioning step as an event, for the audit log (never a token or PIN)."""
    await engine.execute(
        lambda b, now: b.record(now, [(kind, data)]), actor=manager_actor(device) or device.label
    )
