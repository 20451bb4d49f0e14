"""Businesses offered by the branch, and bundles of them done in one visit (一站式)."""

from __future__ import annotations

from fastapi import APIRouter

from queue_server.api.deps import (
    AnyDevice,
    EngineDep,
    Manager,
    ServiceCodePath,
    manager_actor,
    result_of,
)
from queue_server.api.schemas.services import BundlePublic, ServicePublic, ServiceUpdate
from queue_server.domain import Service
from queue_server.visits import bundle_views
from queue_server.wire_encode import guidance_from_wire, service_wire
from wire import BundleWire, ServiceWire

router = APIRouter(prefix="/services", tags=["services"])
bundles_router = APIRouter(prefix="/bundles", tags=["services"])


@bundles_router.get("", response_model=list[BundlePublic])
async def list_bundles(engine: EngineDep, _: AnyDevice) -> list[BundleWire]:
    """List the bundles (several businesses in one visit) in display order."""
    return bundle_views(engine.branch)


@router.get("", response_model=list[ServicePublic])
async def list_services(engine: EngineDep, _: AnyDevice) -> list[ServiceWire]:
    """List the branch's businesses in display order."""
    services = sorted(engine.branch.services.values(), key=lambda s: (s.sort, s.code))
    return [service_wire(s) for s in services]


@router.get("/{code}", response_model=ServicePublic)
async def read_service(code: ServiceCodePath, engine: EngineDep, _: AnyDevice) -> ServiceWire:
    """Read one business, with its guidance for customers."""
    return service_wire(engine.branch.service(code))


@router.patch("/{code}", response_model=ServicePublic)
async def update_service(
    code: ServiceCodePath, body: ServiceUpdate, engine: EngineDep, device: Manager
) -> ServiceWire:
    """Change a business's names, guidance, targets or availability."""
    fields = body.model_dump(exclude_none=True)
    if "guidance" in fields:
        fields["guidance"] = {k: guidance_from_wire(v) for k, v in fields["guidance"].items()}
    change = await engine.execute(
        lambda b, now: b.update_service(code, now, **fields), actor=manager_actor(device)
    )
    return service_wire(result_of(change, Service))
