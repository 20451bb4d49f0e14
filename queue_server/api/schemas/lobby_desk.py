"""The lobby's desk work (issue 21): pre-review, the relationship manager's day, visits."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from queue_server.api.schemas.services import ServiceCode
from queue_server.api.schemas.text import FormValue, Reason, Text
from queue_server.api.schemas.tickets import EformKey

DocumentLabel = Annotated[str, Text(40)]  # "收入证明": what was collected, never its contents


class Prereview(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    consent: bool = Field(
        False, description="the customer agreed to share the form; required with fields"
    )
    fields: dict[EformKey, FormValue] = Field(
        default_factory=dict,
        max_length=20,
        description="the kiosk's e-form keys (name, id_number…), held in memory only until "
        "the visit ends; a typed id_number must be a valid resident ID number",
    )
    materials_reviewed: bool = Field(False, description="the customer's materials were checked")


class ToDesk(BaseModel):
    model_config = ConfigDict(extra="forbid")
    counter: int = Field(ge=1, le=999, description="the counter (the RM's desk) to call them")
    reason: Reason = ""


class VisitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = ServiceCode
    at: AwareDatetime = Field(description="when the visit took place (within the last 7 days)")
    documents_collected: list[DocumentLabel] = Field(
        default_factory=list, max_length=20, description="labels only: no numbers or names"
    )
    follow_up_slot: AwareDatetime | None = Field(
        None, description="an aligned slot at the branch booked for the next step"
    )


class DayAppointment(BaseModel):
    id: int
    kind: str = Field(description="booking: the customer comes in; visit: outside the branch")
    booking_number: str
    service: str
    at: str = Field(description="slot start or visit time, in the branch's local time")
    state: str
    checked_in: bool
    ticket_id: int | None = Field(description="the visit's current leg, once checked in")
    ticket_number: str | None
    ticket_state: str | None = Field(description="waiting, called, serving, done…")
    counter: int | None = Field(description="the counter that called or serves them")
    target_counter: int | None = Field(description="the one desk they wait for, if sent")
    documents_collected: list[str]
    follow_up_id: int | None


class MyDay(BaseModel):
    staff_id: str
    day: str
    slot_min: int = Field(description="follow-up bookings start on these minute boundaries")
    appointments: list[DayAppointment] = Field(description="bookings, by time")
    visits: list[DayAppointment] = Field(description="visits outside the branch, by time")
