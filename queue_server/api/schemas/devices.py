"""Device health reports (printers, readers, displays)."""

from __future__ import annotations

from datetime import datetime

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from queue_server.api.schemas.text import Line
from queue_server.domain import DeviceHealth


class DeviceReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device: str = Field(pattern=r"^[A-Za-z0-9:_./-]{1,64}$", description="e.g. kiosk-1/printer")
    kind: str = Field(pattern=r"^[a-z0-9_]{1,32}$", description="printer, idcard, led, keypad…")
    health: DeviceHealth
    detail: Line = ""
    counter: int | None = Field(None, ge=1, le=9999)


class DevicePublic(BaseModel):
    device: str
    kind: str
    health: DeviceHealth
    detail: str
    reported_at: datetime
    counter: int | None
