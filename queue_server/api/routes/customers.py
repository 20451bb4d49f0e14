"""Customers: identification from ID card data (keyed hash, age, VIP tier), never stored."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from ...auth import Principal
from ...domain import Identification
from ...engine import Engine
from ..deps import EngineDep, require
from ..schemas import CustomerIdentified, IdentityIn

router = APIRouter(prefix="/customers", tags=["customers"])
Identifier = Annotated[Principal, Depends(require("kiosk", "counter", "admin"))]


@router.post("/identify", response_model=CustomerIdentified)
async def identify_customer(body: IdentityIn, engine: EngineDep, _: Identifier) -> dict[str, Any]:
    """Identify a customer by ID number: their reference, age, VIP tier and priority earned."""
    found = identify(engine, body)
    return {
        "customer_ref": found.customer_ref,
        "vip_tier": found.vip_tier,
        "age": found.age,
        "priority": found.priority,
    }


def identify(engine: Engine, identity: IdentityIn) -> Identification:
    """Identify on the business day, in the branch's time zone (InvalidInput when bad)."""
    branch = engine.branch
    return engine.customers.identify(
        identity.id_number,
        identity.birth_date,
        branch.business_day(engine.clock()),
        branch.settings.care_age,
    )
