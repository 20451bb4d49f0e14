"""The appointment desk: books, changes and checks in appointments through the engine.

It supplies what the pure domain must not make itself — random booking numbers, token
nonces, the branch secret — and makes check-in idempotent. Everything runs on the event
loop, like the engine's own commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from queue_server.domain import Branch, Change, DomainError, InvalidState, Ticket
from queue_server.domain.appointments import (
    Appointment,
    AppointmentRefused,
    AppointmentUnknown,
    CheckInOutcome,
    SlotOffer,
    TokenClaims,
    booking_number_from,
    cancel_code,
    normalise_booking_number,
    read_token,
    sign_token,
)
from queue_server.engine import Engine
from queue_server.storage import CommitFailed, load_branch, migrate, write_change
from queue_server.storage.alone import alone_in_transaction
from queue_server.storage.appointments import (
    MEMORY_DAYS,
    appointment_by_id,
    branch_secret,
    list_appointments,
)
from queue_server.storage.tickets import ticket_by_idempotency_key

log = logging.getLogger(__name__)
HOUSEKEEPING_S = 30.0  # how often no-shows are released when nothing else happens


@dataclass(frozen=True)
class CheckIn:
    outcome: CheckInOutcome
    appointment: Appointment
    ticket: Ticket
    replayed: bool


class AppointmentDesk:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._secret: bytes | None = None
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self._housekeeping: asyncio.Task[None] | None = None

    # --------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._housekeeping = asyncio.get_running_loop().create_task(self._release_loop())

    async def stop(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping

    async def _release_loop(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_S)
            try:
                await self.release_no_shows()
            except (DomainError, CommitFailed) as exc:
                log.warning("releasing no-show appointments failed: %s", exc)
            before = self.engine.clock() - timedelta(days=MEMORY_DAYS)
            self.engine.branch.forget_old_appointments(before)

    # ----------------------------------------------------------------- helpers
    @property
    def secret(self) -> bytes:
        if self._secret is None:
            self._secret = branch_secret(self.engine.read_conn)
        return self._secret

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.engine.branch.settings.timezone)

    def qr(self, appointment: Appointment) -> str:
        """The text of the booking's QR code (only its current nonce verifies)."""
        return sign_token(appointment, self.engine.branch.settings.branch_id, self.secret)

    def view(self, appointment: Appointment, *, with_qr: bool = False) -> dict[str, Any]:
        """A booking as the online channel and staff see it, in the branch's local time."""
        tz = self.timezone

        def local(moment: datetime | None) -> str | None:
            return None if moment is None else moment.astimezone(tz).isoformat()

        out: dict[str, Any] = {
            "id": appointment.id,
            "booking_number": appointment.booking_number,
            "service": appointment.service,
            "slot_start": local(appointment.slot_start),
            "slot_end": local(appointment.slot_end),
            "state": appointment.state.value,
            "created_at": local(appointment.created_at),
            "ticket_id": appointment.ticket_id,
            "ticket_number": appointment.ticket_number,
            "checked_in_at": local(appointment.checked_in_at),
            "outcome": appointment.outcome.value if appointment.outcome else None,
            "staff_id": appointment.staff_id,
        }
        if with_qr:
            out["qr"] = self.qr(appointment)
        return out

    def cancel_code(self, appointment: Appointment) -> str:
        """The code the booking page shows so its customer can cancel (derived, not stored)."""
        return cancel_code(appointment.id, appointment.booking_number, self.secret)

    def slot_view(self, offer: SlotOffer) -> dict[str, Any]:
        tz = self.timezone
        return {
            "slot_start": offer.start.astimezone(tz).isoformat(),
            "slot_end": offer.end.astimezone(tz).isoformat(),
            "capacity": offer.capacity,
            "booked": offer.booked,
            "free": offer.free,
            "bookable": offer.bookable,
        }

    @staticmethod
    def _nonce() -> str:
        return secrets.token_urlsafe(6)

    # ---------------------------------------------------------------- commands
    async def release_no_shows(self) -> None:
        """Release bookings whose grace has passed; a no-op (and no write) when none has."""
        await self.engine.execute(lambda b, now: b.release_no_shows(now))

    async def book(
        self,
        service: str,
        slot_start: datetime,
        customer_ref: str | None = None,
        *,
        staff_id: str | None = None,
    ) -> Appointment:
        await self.release_no_shows()
        for _ in range(10):
            decide = partial(
                _book,
                service=service,
                slot_start=slot_start,
                booking_number=booking_number_from(os.urandom(8)),
                nonce=self._nonce(),
                customer_ref=customer_ref,
                staff_id=staff_id,
            )
            try:
                change = await self.engine.execute(decide)
            except InvalidState as exc:
                if exc.code == "booking_number_taken":
                    continue  # one in 10^11: draw another
                raise
            return _result(change.result)
        raise InvalidState("could not draw a free booking number", code="booking_number_taken")

    async def reschedule(self, appointment_id: int, slot_start: datetime) -> Appointment:
        await self.release_no_shows()
        nonce = self._nonce()
        change = await self.engine.execute(
            lambda b, now: b.reschedule_appointment(appointment_id, slot_start, now, nonce=nonce)
        )
        return _result(change.result)

    async def cancel(self, appointment_id: int) -> Appointment:
        await self.release_no_shows()
        change = await self.engine.execute(lambda b, now: b.cancel_appointment(appointment_id, now))
        return _result(change.result)

    async def cancel_by_customer(
        self,
        *,
        booking_number: str | None = None,
        code: str | None = None,
        qr: str | None = None,
    ) -> Appointment:
        """Cancel for whoever booked: with the booking number and its cancel code, or the QR.

        A wrong code and an unknown number get the same answer, so the form cannot be used
        to learn which booking numbers exist. The proof is checked in the same step as the
        cancellation, so a booking changed in between is judged as it is now.
        """
        await self.release_no_shows()
        secret = self.secret
        claims = None
        if qr is not None:
            claims = read_token(qr, self.engine.branch.settings.branch_id, secret)
        given = normalise_booking_number(code or "")

        def decide(branch: Branch, now: datetime) -> Change:
            if claims is not None:
                appointment = branch.appointment(claims.appointment_id)
                if not hmac.compare_digest(claims.nonce, appointment.nonce):
                    raise AppointmentRefused(
                        "appointment_superseded",
                        "this appointment was changed: please use the code of the new booking",
                    )
                return branch.cancel_appointment(appointment.id, now)
            not_found = AppointmentUnknown(
                "booking_not_found", "no booking with this number and cancel code"
            )
            try:
                appointment = branch.appointment_by_number(booking_number or "")
            except AppointmentRefused:
                raise not_found from None
            expected = cancel_code(appointment.id, appointment.booking_number, secret)
            if not hmac.compare_digest(expected, given):
                raise not_found
            return branch.cancel_appointment(appointment.id, now)

        change = await self.engine.execute(decide)
        return _result(change.result)

    async def slots(self, service: str, day: date) -> list[SlotOffer]:
        """Every slot of a business on a local calendar day, with capacity and bookings."""
        await self.release_no_shows()
        return self.engine.branch.slots_of_day(service, day, self.engine.clock())

    async def find(self, appointment_id: int) -> Appointment:
        await self.release_no_shows()
        return self.engine.branch.appointment(appointment_id)

    async def list(self, day: date | None, service: str | None) -> list[Appointment]:
        """Bookings with a slot on one local calendar day (default today), by slot."""
        await self.release_no_shows()
        tz = self.timezone
        if day is None:
            day = self.engine.clock().astimezone(tz).date()
        start = datetime.combine(day, time(0), tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tz)
        return list_appointments(self.engine.read_conn, start, end, service)

    async def check_in(
        self,
        *,
        qr: str | None = None,
        booking_number: str | None = None,
        idempotency_key: str | None = None,
    ) -> CheckIn:
        """Check a booking in from its QR text or (staff) its booking number.

        A retry with the same Idempotency-Key answers with the first attempt's ticket and
        outcome; the key used for anything else is refused as reused.
        """
        await self.release_no_shows()
        branch = self.engine.branch
        claims: TokenClaims | None = None
        if qr is not None:
            claims = read_token(qr, branch.settings.branch_id, self.secret)
            target = claims.appointment_id
        else:
            target = branch.appointment_by_number(booking_number or "").id
        if idempotency_key is not None:
            earlier = await self._ticket_for_key(idempotency_key)
            if earlier is not None:
                return self._replay(earlier, target)
        token = secrets.token_urlsafe(16)  # the live ticket page, as for any ticket
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if idempotency_key is not None:
            self._inflight[idempotency_key] = future
        try:
            change = await self.engine.execute(
                lambda b, now: b.check_in_appointment(
                    target,
                    now,
                    claims=claims,
                    token=token,
                    idempotency_key=idempotency_key,
                )
            )
        finally:
            if idempotency_key is not None:
                self._inflight.pop(idempotency_key, None)
            future.set_result(None)
        ticket = change.result
        assert isinstance(ticket, Ticket)
        appointment = change.appointments[-1]
        assert appointment.outcome is not None
        return CheckIn(appointment.outcome, appointment, ticket, replayed=False)

    def _replay(self, ticket: Ticket, target: int) -> CheckIn:
        if ticket.appointment_id != str(target):
            raise InvalidState(
                "this Idempotency-Key was used for another request", code="idempotency_key_reused"
            )
        appointment = self.engine.branch.appointments.get(target)
        if appointment is None:
            appointment = appointment_by_id(self.engine.read_conn, target)
            assert appointment is not None  # the ticket names it
        assert appointment.outcome is not None
        return CheckIn(appointment.outcome, appointment, ticket, replayed=True)

    async def _ticket_for_key(self, key: str) -> Ticket | None:
        pending = self._inflight.get(key)
        if pending is not None:
            await asyncio.shield(pending)  # the first request decides; the retry reports it
        branch = self.engine.branch
        tid = branch.idempotency.get(key)
        if tid is not None and tid in branch.tickets:
            return branch.tickets[tid]
        return ticket_by_idempotency_key(self.engine.read_conn, key)


def _book(branch: Branch, now: datetime, **kwargs: Any) -> Change:
    return branch.book_appointment(now=now, **kwargs)


def _result(result: object) -> Appointment:
    if not isinstance(result, Appointment):
        raise TypeError("expected an appointment from the command")
    return result


def book_offline(
    db_path: str | Path, service: str, slot_start: datetime, now: datetime
) -> tuple[Appointment, str]:
    """Book straight into a branch database (the CLI's way) and return the booking and its QR.

    Only while no server runs: a running server would not see the booking until it restarts,
    and its next event would clash with this one's number. So the booking is written only
    when nothing else has the database open; otherwise DatabaseOpenElsewhere, nothing written.
    """
    migrate(db_path)
    return alone_in_transaction(db_path, _book_in, service, slot_start, now)


def _book_in(
    conn: sqlite3.Connection, service: str, slot_start: datetime, now: datetime
) -> tuple[Appointment, str]:
    branch = load_branch(conn, now)
    for _ in range(10):
        try:
            change = branch.book_appointment(
                service,
                slot_start,
                now,
                booking_number=booking_number_from(os.urandom(8)),
                nonce=AppointmentDesk._nonce(),
            )
            break
        except InvalidState as exc:
            if exc.code != "booking_number_taken":
                raise
    else:
        raise InvalidState("no free booking number", code="booking_number_taken")
    write_change(conn, change, branch.settings.branch_id)
    appointment = _result(change.result)
    return appointment, sign_token(appointment, branch.settings.branch_id, branch_secret(conn))
