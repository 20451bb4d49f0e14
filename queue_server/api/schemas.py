"""Request and response models: they validate input and document the API (OpenAPI)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..domain import CounterState, DeviceHealth, PriorityClass, Source, TicketState

ServiceCode = Field(pattern=r"^[A-Za-z0-9_-]{1,16}$")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = ServiceCode
    priority: PriorityClass = PriorityClass.REGULAR
    vip_tier: int = Field(0, ge=0, le=3)
    appointment_id: str | None = Field(None, max_length=64)
    appointment_slot: AwareDatetime | None = None


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
    position: int = Field(0, description="customers of the same business ahead of this one")
    eta_s: float | None = Field(None, description="estimated wait in seconds; null: no counter")


class TicketIssued(TicketPublic):
    token: str = Field(description="opaque token of the customer's live ticket page (/t/TOKEN)")


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
    note: str = Field("", max_length=500)
    ticket_id: int | None = Field(None, ge=1)


class RatingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: int = Field(ge=1, le=4, strict=True, description="1 不满意, 2 一般, 3 满意, 4 非常满意")


class PauseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=200)


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
    skills: list[SkillModel]
    pause_reason: str


class GuidanceModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[str] = Field(default_factory=list, max_length=20)
    steps: list[str] = Field(default_factory=list, max_length=20)
    where: str = Field("", max_length=200)
    alternative: str = Field("", max_length=500)


class ServicePublic(BaseModel):
    code: str
    prefix: str
    names: dict[str, str]
    target_wait_s: int
    mean_service_s: int
    guidance: dict[str, GuidanceModel]
    fast_lane: bool
    visible: bool
    enabled: bool
    opens: str | None
    closes: str | None
    sort: int


class ServiceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    names: dict[str, str] | None = Field(None, max_length=8)
    target_wait_s: int | None = Field(None, ge=1, le=86_400)
    mean_service_s: int | None = Field(None, ge=1, le=86_400)
    guidance: dict[str, GuidanceModel] | None = Field(None, max_length=8)
    fast_lane: bool | None = None
    visible: bool | None = None
    enabled: bool | None = None
    sort: int | None = Field(None, ge=0, le=1000)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(pattern=r"^(kiosk|display|manager|admin|counter:[1-9][0-9]{0,3})$")
    name: str = Field("", max_length=100)


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
    name: str = Field("", max_length=100)
    pin: str = Field(pattern=r"^[0-9]{4,12}$")


class StaffPublic(BaseModel):
    staff_id: str
    name: str
    active: bool


class DeviceReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device: str = Field(pattern=r"^[A-Za-z0-9:_./-]{1,64}$", description="e.g. kiosk-1/printer")
    kind: str = Field(pattern=r"^[a-z0-9_]{1,32}$", description="printer, idcard, led, keypad…")
    health: DeviceHealth
    detail: str = Field("", max_length=300)
    counter: int | None = Field(None, ge=1, le=9999)


class DevicePublic(BaseModel):
    device: str
    kind: str
    health: DeviceHealth
    detail: str
    reported_at: datetime
    counter: int | None


class Health(BaseModel):
    status: str
    seq: int
    business_day: str
    subscribers: int
