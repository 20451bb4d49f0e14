"""Provisioning: device tokens and staff accounts."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from queue_server.api.schemas.text import Name


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(
        pattern=r"^(kiosk|display|manager|admin|booking|lobby|counter:[1-9][0-9]{0,3})$"
    )
    name: Name = ""
    expires_in_days: int | None = Field(
        None, ge=1, le=3650, description="the token stops working after this; none: never"
    )


class TokenCreated(BaseModel):
    id: int
    role: str
    name: str
    token: str = Field(description="shown once; only its hash is stored")


class TokenInfo(BaseModel):
    id: int
    role: str
    name: str | None
    created_at: str
    expires_at: str | None
    revoked_at: str | None


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    name: Name = ""
    pin: str = Field(pattern=r"^[0-9]{4,12}$")


class StaffPublic(BaseModel):
    staff_id: str
    name: str
    active: bool
