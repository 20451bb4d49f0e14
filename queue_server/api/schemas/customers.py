"""Identification: the ID card data read at the kiosk, and who it identifies."""

from __future__ import annotations

from datetime import date

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from queue_server.api.schemas.text import IdNumber
from queue_server.domain import PriorityClass


class IdentityIn(BaseModel):
    """The customer's ID card data, as read at the kiosk: hashed at once, never kept."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    id_number: IdNumber = Field(description="18-character resident ID")
    birth_date: date = Field(description="YYYY-MM-DD, as on the card")


class CustomerIdentified(BaseModel):
    customer_ref: str = Field(description="keyed hash of the ID number (HMAC-SHA256, hex)")
    vip_tier: int = Field(description="0: not on the bank's VIP list")
    age: int = Field(description="completed years on the business day")
    priority: PriorityClass = Field(description="regular, care (age) or vip")
