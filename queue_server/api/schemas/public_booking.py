"""The public booking page's endpoints: offer, free slots, booking, cancel."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from queue_server.api.schemas.services import GuidancePublic
from queue_server.api.schemas.text import QrText

_CODE = r"^[A-Za-z0-9_-]{1,16}$"


class BookableService(BaseModel):
    code: str
    names: dict[str, str]
    guidance: dict[str, GuidancePublic] = Field(description="what to bring, per language")


class BookingOffer(BaseModel):
    branch: str = Field(description="the branch's name")
    today: date = Field(description="today in the branch's time zone")
    days: list[date] = Field(description="the days that may be booked here")
    slot_min: int
    early_min: int = Field(description="check-in opens this long before the slot")
    grace_min: int = Field(description="appointment priority lasts this long after its start")
    services: list[BookableService]


class FreeSlot(BaseModel):
    slot_start: datetime = Field(description="in the branch's local time")
    slot_end: datetime
    free: int = Field(description="places left")
    bookable: bool = Field(description="not started yet (and places left)")


class PublicBookingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = Field(pattern=_CODE)
    slot_start: datetime = Field(description="a slot from the list; no offset: local time")


class PublicBooking(BaseModel):
    booking_number: str = Field(description="what staff type to find the booking")
    cancel_code: str = Field(description="with the booking number, cancels it on this page")
    service: str
    slot_start: datetime
    slot_end: datetime
    state: str
    qr: str = Field(description="the text of the QR code to show at the kiosk (BQA1.…)")
    qr_svg: str = Field(description="the same QR code as an SVG image")


class PublicCancel(BaseModel):
    """Either the booking number with its cancel code, or the QR text."""

    model_config = ConfigDict(extra="forbid")
    booking_number: str | None = Field(None, pattern=r"^[A-Za-z0-9 -]{4,20}$")
    cancel_code: str | None = Field(None, pattern=r"^[A-Za-z0-9 -]{4,20}$")
    qr: QrText | None = None

    @model_validator(mode="after")
    def one_way(self) -> PublicCancel:
        by_number = self.booking_number is not None and self.cancel_code is not None
        if by_number == (self.qr is not None) or (
            self.qr is not None and (self.booking_number or self.cancel_code)
        ):
            raise ValueError("give booking_number and cancel_code, or qr")
        return self


class PublicCancelled(BaseModel):
    booking_number: str
    service: str
    slot_start: datetime
    state: str
