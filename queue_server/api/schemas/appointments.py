"""Appointments: booking by the bank's online channel, and check-in."""

from __future__ import annotations

from datetime import datetime

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from queue_server.api.schemas.services import ServiceCode
from queue_server.api.schemas.text import QrText
from queue_server.api.schemas.tickets import TicketIssued


class AppointmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = ServiceCode
    slot_start: datetime = Field(
        description="start of an aligned slot; without an offset it is the branch's local time"
    )
    customer_ref: str | None = Field(
        None, pattern=r"^[A-Fa-f0-9]{16,128}$", description="the bank's hash of the customer"
    )
    staff_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="the relationship manager the customer is to see; their day lists it",
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
    staff_id: str | None = Field(None, description="the relationship manager it is assigned to")
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
    qr: QrText | None = None
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


class SlotPublic(BaseModel):
    slot_start: datetime = Field(description="in the branch's local time")
    slot_end: datetime
    capacity: int = Field(description="bookings the slot takes")
    booked: int = Field(description="bookings holding a place (booked or checked in)")
    free: int
    bookable: bool = Field(description="not started yet and within the booking horizon")
