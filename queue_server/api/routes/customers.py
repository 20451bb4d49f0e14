"""Customers: identification from ID card data (keyed hash, age, VIP tier), never stored."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from queue_server.api.deps import TicketDeskDep, require
from queue_server.api.schemas.customers import CustomerIdentified, IdentityIn
from queue_server.auth import Principal
from queue_server.desks.tickets import Identity

router = APIRouter(prefix="/customers", tags=["customers"])
Identifier = Annotated[Principal, Depends(require("kiosk", "counter", "admin"))]


@router.post("/identify", response_model=CustomerIdentified)
async def identify_customer(body: IdentityIn, desk: TicketDeskDep, _: Identifier) -> dict[str, Any]:
    """Identify a customer by ID number: their reference, age, VIP tier and priority earned."""
    found = await desk.identify(Identity(body.id_number, body.birth_date))
    return {
        "customer_ref": found.customer_ref,
        "vip_tier": found.vip_tier,
        "age": found.age,
        "priority": found.priority,
    }
