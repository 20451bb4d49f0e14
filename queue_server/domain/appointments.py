"""Appointments: bookings, their signed single-use QR tokens, slot rules and check-in outcomes.

Everything here is pure: the engine supplies the random parts (booking number, nonce, the
branch secret) and the time, so a decision can be replayed and tested without a server.

Token format (`BQA1` is the format's version)::

    BQA1.<base64url payload>.<base64url HMAC-SHA256(secret, "BQA1." + payload text)[:16]>
    payload = "<branch id>|<appointment id>|<service>|<slot start, Unix minutes>|<nonce>"

A delimited payload rather than JSON keeps the QR code small (about 80 characters in all).
The MAC covers the payload's base64 text exactly as transmitted, so no re-encoding of the
same bytes verifies. The nonce is rotated whenever the booking changes, so the old QR code
of a changed booking is refused (`appointment_superseded`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from queue_server.domain.day import business_day
from queue_server.domain.errors import DomainError

TOKEN_VERSION = "BQA1"
MAX_TOKEN_CHARS = 512
MAC_BYTES = 16
# Booking numbers are read out and typed by staff: no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
BOOKING_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
BOOKING_NUMBER_LENGTH = 8
_TOKEN_RE = re.compile(r"^BQA1\.([A-Za-z0-9_-]{4,400})\.([A-Za-z0-9_-]{16,64})$")
_NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{4,32}$")
_DIGITS_RE = re.compile(r"^[0-9]{1,18}$")  # ASCII only: str.isdigit() admits "²", int() not


class AppointmentState(StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"
    RELEASED = "released"  # not checked in by the end of the grace: a no-show


class CheckInOutcome(StrEnum):
    ON_TIME = "on_time"  # appointment priority from the slot
    EARLY = "early"  # appointment ticket, waits as regular until the slot
    LATE = "late"  # after the grace on the slot's day: a regular ticket


@dataclass(frozen=True, slots=True)
class Appointment:
    """One booking of a business at a slot; it reveals nothing about who booked it."""

    id: int
    booking_number: str
    service: str
    slot_start: datetime  # aware, UTC
    slot_end: datetime
    created_at: datetime
    nonce: str  # part of the QR token; a new one invalidates the old code
    state: AppointmentState = AppointmentState.BOOKED
    ticket_id: int | None = None
    ticket_number: str | None = None
    checked_in_at: datetime | None = None
    outcome: CheckInOutcome | None = None
    customer_ref: str | None = None  # salted hash from the bank, never personal data
    changed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AppointmentRules:
    """How bookings are made: slot length, check-in window and capacity per business."""

    slot_min: int = 30
    early_min: int = 120  # an early arrival may check in this long before the slot
    book_ahead_days: int = 90
    capacity: Mapping[str, int] = field(default_factory=dict)  # absent: counters serving it
    # The hours offered to customers (the booking page, the free-slot list) for a business
    # that has no opening hours of its own.
    opens: time = time(9, 0)
    closes: time = time(17, 0)

    @property
    def slot(self) -> timedelta:
        return timedelta(minutes=self.slot_min)

    @property
    def early_window(self) -> timedelta:
        return timedelta(minutes=self.early_min)


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says."""

    branch_id: str
    appointment_id: int
    service: str
    slot_start: datetime
    nonce: str


class AppointmentRefused(DomainError):
    """A check-in or booking change refused for a reason the customer can be told."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        slot_start: datetime | None = None,
        timezone: str | None = None,
        ticket_number: str | None = None,
        opens_at: datetime | None = None,
    ) -> None:
        super().__init__(message, code=code)
        details: dict[str, Any] = {}
        for name, moment in (("slot_start", slot_start), ("opens_at", opens_at)):
            if moment is not None:
                local = moment.astimezone(ZoneInfo(timezone)) if timezone else moment
                details[name] = local.isoformat()
        if ticket_number is not None:
            details["ticket_number"] = ticket_number
        self.details = details


class AppointmentInvalid(AppointmentRefused):
    """The booking request or appointment code itself is wrong (not a clash with others)."""


class AppointmentUnknown(AppointmentRefused):
    """No booking matches what was given."""


def _refuse(code: str, message: str) -> AppointmentRefused:
    return AppointmentInvalid(code, message)


# ----------------------------------------------------------------- tokens
def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload_text: str) -> bytes:
    message = f"{TOKEN_VERSION}.{payload_text}".encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).digest()[:MAC_BYTES]


def sign_token(appointment: Appointment, branch_id: str, secret: bytes) -> str:
    """The QR text for a booking: branch, booking, business, slot and nonce under the MAC."""
    minutes = int(appointment.slot_start.timestamp()) // 60
    payload = f"{branch_id}|{appointment.id}|{appointment.service}|{minutes}|{appointment.nonce}"
    payload_text = _b64(payload.encode("utf-8"))
    return f"{TOKEN_VERSION}.{payload_text}.{_b64(_mac(secret, payload_text))}"


def read_token(text: str, branch_id: str, secret: bytes) -> TokenClaims:
    """Verify scanned text; refuses with not_appointment, appointment_wrong_branch or _forged.

    Text that does not even claim to be a BranchQ appointment (a URL, a payment code,
    another format) is `not_appointment`; text that claims to be one but does not verify is
    `appointment_forged`. The branch is checked before the MAC: another branch's token
    cannot verify here, and "wrong branch" is the more useful thing to tell its holder.
    """
    text = text.strip()
    if not text.startswith(TOKEN_VERSION + "."):
        raise _refuse("not_appointment", "this code is not a BranchQ appointment")
    forged = _refuse("appointment_forged", "this appointment code is not valid")
    match = _TOKEN_RE.match(text) if len(text) <= MAX_TOKEN_CHARS else None
    if match is None:
        raise forged
    payload_text, mac_text = match.groups()
    try:
        payload = _unb64(payload_text).decode("utf-8")
        mac = _unb64(mac_text)
    except (binascii.Error, ValueError):
        raise forged from None
    parts = payload.rsplit("|", 4)
    if len(parts) != 5:
        raise forged
    token_branch, raw_id, service, raw_minutes, nonce = parts
    if token_branch != branch_id:
        raise _refuse("appointment_wrong_branch", "this appointment is for another branch")
    # The MAC's last base64 character carries unused bits: only its canonical spelling counts,
    # so one booking has one code (a bit flipped there must not verify).
    if _b64(mac) != mac_text or not hmac.compare_digest(mac, _mac(secret, payload_text)):
        raise forged
    if not (_DIGITS_RE.match(raw_id) and _DIGITS_RE.match(raw_minutes) and _NONCE_RE.match(nonce)):
        raise forged  # signed by us yet malformed: only a leaked secret could do this
    try:
        slot_start = datetime.fromtimestamp(int(raw_minutes) * 60, UTC)
    except (OverflowError, OSError, ValueError):
        raise forged from None
    return TokenClaims(token_branch, int(raw_id), service, slot_start, nonce)


def booking_number_from(random: bytes) -> str:
    """A short, unambiguous booking number made from random bytes (one byte per character)."""
    if len(random) < BOOKING_NUMBER_LENGTH:
        raise ValueError(f"need {BOOKING_NUMBER_LENGTH} random bytes")
    n = len(BOOKING_ALPHABET)
    # `b % 25` favours a few characters slightly (256 is not a multiple of 25): harmless for
    # a number that only has to be unique among live bookings and not guessable in bulk.
    return "".join(BOOKING_ALPHABET[b % n] for b in random[:BOOKING_NUMBER_LENGTH])


def normalise_booking_number(text: str) -> str:
    """What a teller typed, as stored: upper case, without spaces or dashes."""
    return re.sub(r"[\s-]", "", text).upper()


# ------------------------------------------------------------------ slots
def aware_slot(moment: datetime, timezone: str) -> datetime:
    """A slot start in UTC; a naive time means the branch's local time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


def within_hours(
    local: datetime, rules: AppointmentRules, opens: time | None, closes: time | None
) -> bool:
    """Whether a slot starting at this local time fits in the hours (an open end: no limit)."""
    end = (local + rules.slot).time()
    if opens is not None and local.time() < opens:
        return False
    return closes is None or not (end > closes or end < local.time())


def check_slot(
    slot_start: datetime,
    now: datetime,
    rules: AppointmentRules,
    timezone: str,
    opens: time | None = None,
    closes: time | None = None,
) -> None:
    """Refuse a slot that is not aligned to the interval, is past, too far, or out of hours."""
    local = slot_start.astimezone(ZoneInfo(timezone))
    minutes = local.hour * 60 + local.minute
    if local.second or local.microsecond or minutes % rules.slot_min:
        raise _refuse(
            "slot_not_aligned", f"slots start every {rules.slot_min} minutes from midnight"
        )
    if slot_start <= now:
        raise _refuse("slot_in_past", "this slot has already started")
    if slot_start - now > timedelta(days=rules.book_ahead_days):
        raise _refuse("slot_too_far", f"bookings open {rules.book_ahead_days} days ahead at most")
    if not within_hours(local, rules, opens, closes):
        raise _refuse("slot_outside_hours", "this business is not offered at that time")


def slot_is_taken(state: AppointmentState) -> bool:
    """Whether a booking in this state uses its slot's capacity."""
    return state in (AppointmentState.BOOKED, AppointmentState.CHECKED_IN)


@dataclass(frozen=True, slots=True)
class SlotOffer:
    """One slot of a business on a day: how many it takes, has and whether it can be booked."""

    start: datetime  # aware, UTC
    end: datetime
    capacity: int
    booked: int  # booked or checked in
    bookable: bool  # not started yet and within the booking horizon

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.booked)


def day_slots(
    day: date,
    now: datetime,
    rules: AppointmentRules,
    timezone: str,
    *,
    hours: tuple[time | None, time | None],
    capacity: int,
    booked: Mapping[datetime, int],
) -> list[SlotOffer]:
    """Every slot of a local calendar day within the hours, with capacity and bookings.

    `booked` counts the bookings holding a place, by slot start in UTC. A slot is bookable
    by the same rules as `check_slot`: aligned (all of these are), not started, not beyond
    the horizon, within the hours (all of these are).
    """
    tz = ZoneInfo(timezone)
    opens, closes = hours
    offers = []
    for minutes in range(0, 24 * 60, rules.slot_min):
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tz)
        if not within_hours(local, rules, opens, closes):
            continue
        start = local.astimezone(UTC)
        bookable = now < start and start - now <= timedelta(days=rules.book_ahead_days)
        offers.append(
            SlotOffer(start, start + rules.slot, capacity, booked.get(start, 0), bookable)
        )
    return offers


def cancel_code(appointment_id: int, booking_number: str, secret: bytes) -> str:
    """The code that lets whoever booked cancel without an account: derived, never stored.

    Made like a booking number (8 unambiguous characters) from an HMAC of the booking, so
    the page that booked can show it and the server can check it without keeping it.
    """
    message = f"BQC1|{appointment_id}|{booking_number}".encode()
    return booking_number_from(hmac.new(secret, message, hashlib.sha256).digest())


# --------------------------------------------------------------- check-in
@dataclass(frozen=True, slots=True)
class CheckInWindow:
    """The times that decide a check-in, with the branch's day boundaries."""

    grace: timedelta
    early: timedelta
    timezone: str
    day_starts_at: time

    def day(self, moment: datetime) -> date:
        return business_day(moment, self.timezone, self.day_starts_at)


def check_in_outcome(
    appointment: Appointment,
    now: datetime,
    window: CheckInWindow,
    *,
    nonce: str | None = None,
    ticket_number: str | None = None,
) -> CheckInOutcome:
    """How a booking is checked in now, or why it cannot be (an AppointmentRefused).

    `nonce` is the scanned token's (None for a staff check-in by booking number). A booking
    released as a no-show may still be checked in late on its own day: the customer came,
    and a regular ticket is what they would get anyway; on a later day it has expired.
    """
    slot = appointment.slot_start
    tz = window.timezone

    def refuse(code: str, message: str, **extra: Any) -> AppointmentRefused:
        return AppointmentRefused(code, message, slot_start=slot, timezone=tz, **extra)

    if appointment.state is AppointmentState.CANCELLED:
        raise refuse("appointment_cancelled", "this appointment was cancelled")
    if appointment.state is AppointmentState.CHECKED_IN:
        raise refuse(
            "appointment_used",
            "this appointment has already been checked in",
            ticket_number=ticket_number,
        )
    if nonce is not None and not hmac.compare_digest(nonce, appointment.nonce):
        raise refuse(
            "appointment_superseded",
            "this appointment was changed: please use the code of the new booking",
        )
    if window.day(slot) < window.day(now):
        raise refuse("appointment_expired", "this appointment's day has passed")
    if now < slot - window.early:
        raise refuse(
            "appointment_too_early",
            "it is too early to check in for this appointment",
            opens_at=slot - window.early,
        )
    if now < slot:
        return CheckInOutcome.EARLY
    if now <= slot + window.grace:
        return CheckInOutcome.ON_TIME
    return CheckInOutcome.LATE


def release_due(appointment: Appointment, now: datetime, grace: timedelta) -> bool:
    """A booking nobody checked in by the end of its grace is released as a no-show."""
    return appointment.state is AppointmentState.BOOKED and now > appointment.slot_start + grace


def appointment_summary(appointment: Appointment) -> dict[str, Any]:
    """What an event says about a booking: no booking number, nonce or customer reference."""
    return {
        "id": appointment.id,
        "service": appointment.service,
        "slot_start": appointment.slot_start.isoformat(),
        "slot_end": appointment.slot_end.isoformat(),
        "state": appointment.state.value,
        "ticket_id": appointment.ticket_id,
        "outcome": appointment.outcome.value if appointment.outcome else None,
    }
