"""Tickets: issuing, the public view with position and wait, history, the e-form."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from queue_server.api.schemas.customers import IdentityIn
from queue_server.api.schemas.text import Comment, FormValue, Label
from queue_server.domain import PriorityClass, Source, TicketState

EformKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$")]


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    service: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,16}$", description="omit when a bundle is given"
    )
    priority: PriorityClass = PriorityClass.REGULAR
    vip_tier: int = Field(0, ge=0, le=3)
    appointment_id: Label | None = None
    appointment_slot: AwareDatetime | None = None
    identity: IdentityIn | None = Field(
        None, description="ID card data: sets customer_ref and any care/VIP priority it earns"
    )
    bundle: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,16}$", description="bundle code: joins its queue"
    )
    eform: dict[EformKey, FormValue] | None = Field(
        None,
        max_length=20,
        description="pre-filled form fields the customer agreed to share; held in memory only",
    )

    @model_validator(mode="after")
    def _service_or_bundle(self) -> TicketCreate:
        if self.service is None and self.bundle is None:
            raise ValueError("give a service or a bundle")
        return self


class TicketPublic(BaseModel):
    id: int
    number: str
    service: str
    business_day: str
    arrived_at: datetime
    issued_at: datetime
    priority: PriorityClass
    vip_tier: int
    source: Source
    state: TicketState
    visit_id: int
    leg: int
    previous_id: int | None
    called_at: datetime | None
    serving_at: datetime | None
    finished_at: datetime | None
    counter: int | None
    target_counter: int | None
    recall_count: int
    note: str
    appointment_id: str | None
    appointment_slot: datetime | None
    staff_id: str | None
    rating: int | None
    bundle: str | None = Field(None, description="the bundle (一站式) this visit is for")
    has_eform: bool = Field(False, description="the kiosk attached a pre-filled form")
    rating_comment: str = Field("", description="the customer's words with the rating")
    held_until: datetime | None = Field(
        None, description="running late: call-next skips the ticket until then"
    )
    late_count: int = Field(0, description="how often the customer said they run late")
    position: int = Field(0, description="customers of the same business ahead of this one")
    eta_s: float | None = Field(
        None, description="predicted wait until called (median), seconds; null: no counter"
    )
    eta_low_s: float | None = Field(None, description="the wait's 80 % interval: p10, seconds")
    eta_high_s: float | None = Field(None, description="the wait's 80 % interval: p90, seconds")
    wait_min: int | None = Field(
        None, description="the wait as every screen and the paper show it, minutes"
    )
    wait_low_min: int | None = Field(None, description="the usual range shown: from, minutes")
    wait_high_min: int | None = Field(None, description="the usual range shown: to, minutes")
    wait_capped: bool = Field(
        False, description="over the horizon (2 hours): show 'over 2 hours', not a figure"
    )


class TicketHistory(BaseModel):
    visit_id: int = Field(description="id of the visit's first leg")
    legs: list[TicketPublic] = Field(
        description="every leg of the visit in order; a leg's note is its transfer note"
    )


class TicketIssued(TicketPublic):
    token: str = Field(description="opaque token of the customer's live ticket page (/t/TOKEN)")


class RatingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: int = Field(ge=1, le=4, strict=True, description="1 不满意, 2 一般, 3 满意, 4 非常满意")
    comment: Comment = Field("", description="the customer's words (plain text)")


class LateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minutes: int = Field(ge=1, le=30, strict=True, description="how much later the customer comes")


class Eform(BaseModel):
    ticket_id: int
    fields: dict[str, str]
