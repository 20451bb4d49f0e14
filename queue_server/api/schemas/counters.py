"""Counters: state, skills, sign-in, the teller's actions and today's figures."""

from __future__ import annotations

from datetime import datetime

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from queue_server.api.schemas.services import ServiceCode
from queue_server.api.schemas.text import Note, Reason
from queue_server.api.schemas.tickets import TicketPublic
from queue_server.domain import CounterState


class StaffToday(BaseModel):
    called: int
    served: int
    avg_service_s: float | None


class CounterToday(BaseModel):
    counter: int
    business_day: str = Field(description="YYYY-MM-DD, the branch's current business day")
    called: int = Field(description="legs called at this counter (a recall is not a new call)")
    served: int = Field(description="legs finished here")
    no_shows: int
    transfers_out: int = Field(description="legs sent from here to another business or counter")
    avg_service_s: float | None = Field(description="start → finish over the finished legs")
    avg_wait_s: float | None = Field(description="arrival → (last) call over the legs called here")
    ratings: dict[str, int] = Field(description='"4" 非常满意, "3" 满意, "2" 一般, "1" 不满意')
    rating_avg: float | None
    by_staff: dict[str, StaffToday] = Field(description="by the staff id that called the leg")


class ServiceQueue(BaseModel):
    waiting: int = Field(description="customers this counter may serve (not sent elsewhere)")
    longest_wait_s: int
    target_wait_s: int
    overflow: bool = Field(description="an overflow skill: called only when over target")
    over_target: bool = Field(description="someone in this business has waited past target")


class CounterQueue(BaseModel):
    counter: int
    at: datetime = Field(description="the moment the preview was taken")
    next: list[TicketPublic] = Field(
        description="who call-next would give this counter, in order, if it called now"
    )
    by_service: dict[str, ServiceQueue] = Field(description="the counter's businesses, in order")
    targeted: int = Field(description="customers transferred to this counter by name")


class CallResult(BaseModel):
    ticket: TicketPublic | None = Field(description="the customer called; null when nobody waits")


class TicketAction(BaseModel):
    """Optionally names the ticket the teller sees, so a stale screen cannot act on another."""

    model_config = ConfigDict(extra="forbid")
    ticket_id: int | None = Field(None, ge=1)


class CallTicket(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticket_id: int | None = Field(None, ge=1)
    number: str | None = Field(None, pattern=r"^[A-Za-z0-9]{1,12}$")


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_service: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,16}$")
    to_counter: int | None = Field(None, ge=1, le=9999)
    note: Note = ""
    ticket_id: int | None = Field(None, ge=1)


class PauseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason = ""


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    pin: str = Field(pattern=r"^[0-9]{4,12}$")


class SkillModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = ServiceCode
    weight: float = Field(1.0, gt=0, le=10)
    overflow: bool = False


class SkillsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    skills: list[SkillModel] = Field(max_length=32)


class CounterPublic(BaseModel):
    number: int
    name: str
    location: str
    state: CounterState
    staff_id: str | None
    staff_name: str = Field("", description="the signed-in teller's name, from the staff list")
    skills: list[SkillModel]
    pause_reason: str
