"""The lobby tablet's staff session: sign-in and sign-out, and `LobbyStaff`, the dependency
every other lobby route takes (a `lobby` device token AND a live `X-Lobby-Session`)."""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from queue_server.api.deps import require
from queue_server.auth import Principal
from queue_server.desks.lobby import LobbySessions

router = APIRouter(prefix="/lobby", tags=["lobby"])
LobbyDevice = Annotated[Principal, Depends(require("lobby"))]
SessionHeader = Annotated[str | None, Header(alias="X-Lobby-Session", max_length=200)]


class LobbyStaffMember(NamedTuple):
    """Who acts on the lobby tablet: its device, and the staff member signed in on it."""

    principal: Principal
    staff_id: str
    staff_name: str


async def get_lobby_sessions(request: Request) -> LobbySessions:
    sessions: LobbySessions = request.app.state.lobby_sessions
    return sessions


LobbySessionsDep = Annotated[LobbySessions, Depends(get_lobby_sessions)]


async def lobby_staff(
    device: LobbyDevice, sessions: LobbySessionsDep, session: SessionHeader = None
) -> LobbyStaffMember:
    """The signed-in staff member; 401 `lobby_signed_out` without a live session."""
    staff_id, name = sessions.staff_of(device.token_id, session)
    return LobbyStaffMember(device, staff_id, name)


LobbyStaff = Annotated[LobbyStaffMember, Depends(lobby_staff)]


class LobbySignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    pin: str = Field(pattern=r"^[0-9]{4,12}$")


class LobbySignedIn(BaseModel):
    session: str
    staff_id: str
    name: str
    expires_at: str


@router.post("/sign-in", response_model=LobbySignedIn)
async def sign_in(
    body: LobbySignIn, device: LobbyDevice, sessions: LobbySessionsDep
) -> dict[str, Any]:
    """A staff member signs in on the lobby tablet (401 `wrong_pin`; the counters' lock-out:
    five wrong PINs in 15 minutes lock the staff id for 15 minutes, 429)."""
    started = await sessions.sign_in(device.token_id, body.staff_id, body.pin)
    return {
        "session": started.session,
        "staff_id": started.staff_id,
        "name": started.name,
        "expires_at": started.expires_at.isoformat(),
    }


class LobbySessionPublic(BaseModel):
    staff_id: str
    name: str


@router.get("/session", response_model=LobbySessionPublic)
async def current_session(staff: LobbyStaff) -> dict[str, Any]:
    """Who is signed in on this tablet (a reloaded page checks its kept session here)."""
    return {"staff_id": staff.staff_id, "name": staff.staff_name}


@router.post("/sign-out", status_code=204)
async def sign_out(
    device: LobbyDevice, sessions: LobbySessionsDep, session: SessionHeader = None
) -> None:
    """End the staff member's session on this tablet (401 `lobby_signed_out` if none)."""
    await sessions.sign_out(device.token_id, session or "")
