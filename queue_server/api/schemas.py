"""Request and response models: they validate input and document the API (OpenAPI)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ..domain import CounterState, DeviceHealth, PriorityClass, Source, TicketState

ServiceCode = Field(pattern=r"^[A-Za-z0-9_-]{1,16}$")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str = Field(description="stable, for programs: e.g. invalid_state, ticket_expired")
    message: str = Field(description="for people")


class ErrorBody(BaseModel):
    """Every error answer; some codes add fields (an appointment's slot_start, say)."""

    error: ErrorDetail


class IdentityIn(BaseModel):
    """The customer's ID card data, as read at the kiosk: hashed at once, never kept."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    id_number: str = Field(min_length=1, max_length=64, description="18-character resident ID")
    birth_date: date = Field(description="YYYY-MM-DD, as on the card")


EformKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$")]
EformValue = Annotated[str, StringConstraints(max_length=200)]


class CustomerIdentified(BaseModel):
    customer_ref: str = Field(description="keyed hash of the ID number (HMAC-SHA256, hex)")
    vip_tier: int = Field(description="0: not on the bank's VIP list")
    age: int = Field(description="completed years on the business day")
    priority: PriorityClass = Field(description="regular, care (age) or vip")


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    service: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,16}$", description="omit when a bundle is given"
    )
    priority: PriorityClass = PriorityClass.REGULAR
    vip_tier: int = Field(0, ge=0, le=3)
    appointment_id: str | None = Field(None, max_length=64)
    appointment_slot: AwareDatetime | None = None
    identity: IdentityIn | None = Field(
        None, description="ID card data: sets customer_ref and any care/VIP priority it earns"
    )
    bundle: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,16}$", description="bundle code: joins its queue"
    )
    eform: dict[EformKey, EformValue] | None = Field(
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


class TicketHistory(BaseModel):
    visit_id: int = Field(description="id of the visit's first leg")
    legs: list[TicketPublic] = Field(
        description="every leg of the visit in order; a leg's note is its transfer note"
    )


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
    comment: str = Field("", max_length=200, description="the customer's words (plain text)")


class LateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minutes: int = Field(ge=1, le=30, strict=True, description="how much later the customer comes")


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
    needs_form: bool = False


class BundlePublic(BaseModel):
    code: str
    names: dict[str, str]
    service: str = Field(description="the queue the bundle's ticket joins")
    includes: list[str] = Field(description="the businesses done during the visit")
    guidance: dict[str, GuidanceModel]
    sort: int
    needs_form: bool = Field(description="true when any included business needs a form")


class Eform(BaseModel):
    ticket_id: int
    fields: dict[str, str]


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
    needs_form: bool | None = None


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(pattern=r"^(kiosk|display|manager|admin|booking|counter:[1-9][0-9]{0,3})$")
    name: str = Field("", max_length=100)
    expires_in_days: int | None = Field(
        None, ge=1, le=3650, description="the token stops working after this; none: never"
    )


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


class AppointmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = ServiceCode
    slot_start: datetime = Field(
        description="start of an aligned slot; without an offset it is the branch's local time"
    )
    customer_ref: str | None = Field(
        None, pattern=r"^[A-Fa-f0-9]{16,128}$", description="the bank's hash of the customer"
    )


class AppointmentChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slot_start: datetime = Field(description="the new slot; the booking gets a new QR code")


class AppointmentPublic(BaseModel):
    id: int
    booking_number: str = Field(description="short code staff can type to check the booking in")
    service: str
    slot_start: datetime = Field(description="in the branch's local time")
    slot_end: datetime
    state: str = Field(description="booked, checked_in, cancelled or released (no-show)")
    created_at: datetime
    ticket_id: int | None
    ticket_number: str | None
    checked_in_at: datetime | None
    outcome: str | None = Field(description="on_time, early or late once checked in")


class AppointmentBooked(AppointmentPublic):
    qr: str = Field(description="the signed text of the booking's QR code (BQA1.…)")


class CheckInRequest(BaseModel):
    """Exactly one of: the scanned QR text, or (staff only) the booking number."""

    model_config = ConfigDict(extra="forbid")
    qr: str | None = Field(None, min_length=1, max_length=512)
    booking_number: str | None = Field(None, pattern=r"^[A-Za-z0-9 -]{4,20}$")

    @model_validator(mode="after")
    def one_of(self) -> CheckInRequest:
        if (self.qr is None) == (self.booking_number is None):
            raise ValueError("give either qr or booking_number")
        return self


class CheckInResult(BaseModel):
    outcome: str = Field(description="on_time, early (called from the slot) or late (regular)")
    slot_start: datetime = Field(description="in the branch's local time")
    slot_end: datetime
    appointment_id: int
    ticket: TicketIssued


class NoticeUpdate(BaseModel):
    """The hall display's scrolling notice line."""

    text: str = Field(max_length=300, description='one line; "" clears the notice')


class NoticePublic(BaseModel):
    text: str = Field(description="the notice as stored (whitespace collapsed to one line)")
    seq: int = Field(description="sequence number of the branch.notice event; 0: unchanged")


class BusinessStaffing(BaseModel):
    forecast_arrivals: float = Field(description="customers expected in the interval")
    offered_load: float = Field(description="modified offered load, Erlangs")
    recommended_windows: int = Field(description="fewest windows that meet the target")
    service_level: float = Field(description="predicted share within target, recommended")
    open_windows_now: int | None = Field(
        description="open windows with it as a regular skill; current interval only"
    )
    service_level_now: float | None = Field(
        description="predicted share within target with the windows open now; current only"
    )


class StaffingInterval(BaseModel):
    start: datetime
    end: datetime
    current: bool = Field(description="the interval the branch is in now")
    by_service: dict[str, BusinessStaffing]


class ServiceTimes(BaseModel):
    mean_service_s: float
    cv: float = Field(description="coefficient of variation of service time")
    samples: int = Field(description="observed services behind mean and cv; 0: the config's")
    target_wait_s: float
    target_share: float


class CounterMove(BaseModel):
    counter: int
    counter_name: str
    from_service: str = Field(description="the business the counter serves first now")
    to_service: str = Field(description="the business it should serve first instead")
    start: datetime
    end: datetime


class StaffingAdvice(BaseModel):
    day: str = Field(description="business day, YYYY-MM-DD")
    interval_min: int
    forecast_basis: str = Field(description="weekday, all_days, prior or none")
    history_days: int = Field(description="business days of history behind the forecast")
    services: dict[str, ServiceTimes]
    recommended_counter_hours: float
    intervals: list[StaffingInterval]
    moves: list[CounterMove] = Field(description="advice only: nothing is changed")
