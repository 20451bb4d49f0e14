"""Device health: kiosks, counters and the bus hub report; the manager sees it live."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from queue_server.api.deps import AnyDevice, EngineDep, require
from queue_server.api.schemas.devices import DevicePublic, DeviceReport
from queue_server.auth import Principal
from queue_server.domain import DeviceHealth
from queue_server.wire_encode import device_wire
from wire import DeviceWire

router = APIRouter(prefix="/devices", tags=["devices"])
Reporter = Annotated[Principal, Depends(require("kiosk", "counter", "manager", "admin"))]


@router.get("", response_model=list[DevicePublic])
async def list_devices(engine: EngineDep, _: AnyDevice) -> list[DeviceWire]:
    """The last reported health of every device in the branch."""
    devices = sorted(engine.branch.devices.values(), key=lambda d: d.device)
    return [device_wire(d) for d in devices]


@router.post("/status", response_model=DevicePublic)
async def report_status(body: DeviceReport, engine: EngineDep, _: Reporter) -> DeviceWire:
    """Report a device's health; a change of health becomes a `device.status` event."""
    await engine.execute(
        lambda b, now: b.report_device(
            body.device,
            body.kind,
            DeviceHealth(body.health),
            body.detail,
            now,
            counter=body.counter,
        )
    )
    return device_wire(engine.branch.devices[body.device])
