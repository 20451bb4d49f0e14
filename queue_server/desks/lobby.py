"""The lobby app's use cases (issue 21): staff sessions on a lobby tablet, the hall at a
glance, finding a ticket (by number or its QR), the lobby's triage, issuing at the door and
diverting to self-service. Every command runs through the engine as one change whose
events name the staff member (`lobby:<staff_id>`) for the audit log.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from queue_server.desks.alerts import AlertDesk
from queue_server.desks.public_tickets import PublicTicketDesk
from queue_server.desks.sign_in import StaffSignIn
from queue_server.desks.tickets import TicketDesk
from queue_server.domain import (
    Branch,
    Change,
    DomainError,
    InvalidInput,
    NotFound,
    PriorityClass,
    Ticket,
    TicketState,
)
from queue_server.domain.branch import lobby_reason
from queue_server.engine import Engine
from queue_server.storage.lobby import end_session, live_session, start_session
from wire import EventKind

SESSION_HOURS = 10  # a lobby manager's working day; then they sign in again


class SignedOut(DomainError):
    """No staff member is signed in on the lobby tablet (missing, ended, expired or the
    staff member was deactivated): the tablet asks for staff id and PIN again."""

    code = "lobby_signed_out"


class WrongPin(DomainError):
    code = "wrong_pin"


@dataclass(frozen=True)
class LobbySession:
    """A staff member signed in on one lobby device."""

    session: str  # the only plain copy, handed to the tablet once
    staff_id: str
    name: str
    expires_at: datetime


def lobby_actor(staff_id: str) -> str:
    """How the audit log names a lobby staff member's command."""
    return f"lobby:{staff_id}"


def _hash(session: str) -> str:
    # 256 random bits: a fast hash is enough (as for device tokens).
    return hashlib.sha256(session.encode()).hexdigest()


class LobbySessions:
    def __init__(self, engine: Engine, sign_in: StaffSignIn) -> None:
        self.engine = engine
        self.sign_in_desk = sign_in

    async def sign_in(self, token_id: int, staff_id: str, pin: str) -> LobbySession:
        """Staff id and PIN (argon2 off the loop, under the counters' lock-out) → a session
        bound to this device token, stored hashed with its `lobby.signed_in` event."""
        ok = await self.sign_in_desk.check_pin(staff_id, pin, where=f"lobby token {token_id}")
        if not ok:
            raise WrongPin("wrong staff id or PIN")
        session = "ls_" + secrets.token_urlsafe(32)
        now = self.engine.clock()
        expires_at = now + timedelta(hours=SESSION_HOURS)
        row = start_session(_hash(session), staff_id, token_id, now, expires_at)
        await self.engine.execute(
            lambda b, at: b.record(at, [(EventKind.LOBBY_SIGNED_IN, {"staff_id": staff_id})]),
            actor=lobby_actor(staff_id),
            also=[row],
        )
        return LobbySession(session, staff_id, self.sign_in_desk.name_of(staff_id), expires_at)

    def staff_of(self, token_id: int, session: str | None) -> tuple[str, str]:
        """(staff id, name) of a live session on this device; SignedOut otherwise."""
        if not session or len(session) > 200:
            raise SignedOut("sign in on the lobby tablet first")
        found = live_session(self.engine.read_conn, _hash(session), token_id, self.engine.clock())
        if found is None:
            raise SignedOut("the lobby session has ended: sign in again")
        return str(found["staff_id"]), str(found["name"])

    async def sign_out(self, token_id: int, session: str) -> str:
        """End the session (its `lobby.signed_out` event names who)."""
        staff_id, _ = self.staff_of(token_id, session)
        row = end_session(_hash(session), self.engine.clock())
        await self.engine.execute(
            lambda b, at: b.record(at, [(EventKind.LOBBY_SIGNED_OUT, {"staff_id": staff_id})]),
            actor=lobby_actor(staff_id),
            also=[row],
        )
        return staff_id


# ------------------------------------------------------------------- the lobby's work
AT_RISK_SHARE = 0.8  # a wait this far into its target is "about to miss it"
LONGEST = 10  # the longest waits the hall view lists
MAX_SCAN_PIXELS = 4096 * 4096  # a 16-megapixel camera frame at most
APPOINTMENTS_AHEAD = timedelta(hours=1)
# The printed ticket's QR code is its live page, `<server>/t/<token>` (kiosk/flow.py).
_TICKET_LINK = re.compile(r"/t/([A-Za-z0-9_-]{8,100})/?$")


def scan_image(image: bytes) -> list[str]:
    """The codes in a photo of a ticket (JPEG or PNG), read by the kiosk's decoder cascade.
    Slow (tens of milliseconds and more): run it in a worker thread."""
    import io

    import cv2
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from devices.scanner.decode import decode_frame

    # A few kilobytes may claim a picture of gigapixels: the header is read first, and only
    # a camera-sized one is decoded (a tablet's frame is well under this).
    try:
        with Image.open(io.BytesIO(image)) as header:
            width, height = header.size
    except Image.DecompressionBombError:
        width = height = MAX_SCAN_PIXELS  # Pillow's own limit said it first
    except (UnidentifiedImageError, OSError, ValueError):
        raise InvalidInput("the upload is not a JPEG or PNG picture", code="not_an_image") from None
    if width * height > MAX_SCAN_PIXELS:
        raise InvalidInput("the picture is larger than a camera frame", code="image_too_large")
    frame = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_GRAYSCALE)
    if frame is None:
        raise InvalidInput("the upload is not a JPEG or PNG picture", code="not_an_image")
    return [code.text for code in decode_frame(frame)]


class LobbyDesk:
    """What a signed-in lobby staff member sees and does; `staff_id` names them."""

    def __init__(
        self,
        engine: Engine,
        tickets: TicketDesk,
        public_tickets: PublicTicketDesk,
        alerts: AlertDesk,
    ) -> None:
        self.engine = engine
        self.tickets = tickets
        self.public_tickets = public_tickets
        self.alerts = alerts

    # ---------------------------------------------------------------- reading
    def view(self, ticket: Ticket) -> dict[str, Any]:
        """The lobby's view of one ticket: where it stands and what the lobby did to it."""
        engine = self.engine
        branch = engine.branch
        now = engine.clock()
        service = branch.services.get(ticket.service)
        wait = engine.ticket_wait(ticket)
        waited = _waited_s(ticket, now)
        target = service.target_wait_s if service is not None else 0
        return {
            "id": ticket.id,
            "number": ticket.number,
            "service": ticket.service,
            "bundle": ticket.bundle,
            "names": dict(service.names) if service is not None else {},
            "state": ticket.state.value,
            "arrived_at": ticket.arrived_at.isoformat(),
            "waited_s": waited,
            "target_wait_s": target,
            "at_risk": _at_risk(ticket, waited, target),
            "position": wait.position,
            "predicted_wait_s": wait.eta_s,
            "priority": ticket.priority.value,
            "care_reason": ticket.care_reason,
            "on_hold": ticket.on_hold,
            "hold_reason": ticket.hold_reason,
            "note": ticket.note,
            "checklist": {k: list(v) for k, v in branch.checklist(ticket).items()}
            if service is not None
            else {},
            "documents_checked": list(ticket.documents_checked),
            "prereviewed": ticket.prereviewed,
            "has_eform": ticket.has_eform,
            # Whether pre-review may take the customer's form (the business or any business
            # of its bundle needs one) or only mark their materials reviewed.
            "needs_form": branch.needs_form(ticket.service, ticket.bundle),
            "phone_url": f"/t/{ticket.token}" if ticket.token else None,
        }

    def by_number(self, number: str) -> Ticket:
        """The open ticket printed with this number (its current leg)."""
        try:
            return self.engine.branch.open_ticket_by_number(number.strip().upper())
        except NotFound:
            raise NotFound(f"no open ticket numbered {number}", code="not_found") from None

    def by_id(self, ticket_id: int) -> Ticket:
        try:
            return self.engine.find_ticket(ticket_id)
        except NotFound:
            raise NotFound(f"no ticket {ticket_id}", code="not_found") from None

    async def scan(self, image: bytes) -> Ticket:
        """The ticket whose printed QR code is in the picture (422 `no_code`, 404)."""
        texts = await asyncio.to_thread(scan_image, image)
        if not texts:
            raise InvalidInput("no code could be read in the picture", code="no_code")
        tokens = self.public_tickets.tokens
        for text in texts:
            found = _TICKET_LINK.search(text.strip())
            if found is not None and tokens is not None:
                try:
                    return tokens.find(found.group(1))
                except DomainError:
                    continue
        raise NotFound("the code is not one of this branch's open tickets", code="not_found")

    def hall(self) -> dict[str, Any]:
        """The hall at a glance: queues, the longest waits, who needs help, open alerts,
        and the appointments due in the next hour."""
        engine = self.engine
        branch = engine.branch
        now = engine.clock()
        summary = engine.waiting_summary(now)
        businesses = []
        for code, svc in sorted(branch.services.items(), key=lambda kv: (kv[1].sort, kv[0])):
            figures = summary.get(code)
            if figures is None or not svc.enabled:
                continue
            predicted = figures["eta_new_s"]
            businesses.append(
                {
                    "code": code,
                    "names": dict(svc.names),
                    "waiting": figures["waiting"],
                    "predicted_wait_s": predicted,
                    "target_wait_s": svc.target_wait_s,
                    "at_risk": figures["longest_wait_s"] >= AT_RISK_SHARE * svc.target_wait_s
                    or (predicted is not None and predicted > svc.target_wait_s),
                }
            )
        waiting = sorted(branch.waiting, key=lambda t: (t.arrived_at, t.id))
        views = [self.view(t) for t in waiting]
        needs_help = [
            v
            for v in views
            if v["priority"] == PriorityClass.CARE.value or v["on_hold"] or v["at_risk"]
        ]
        return {
            "businesses": businesses,
            "longest": views[:LONGEST],
            "needs_help": needs_help,
            "alerts": [a.to_dict() for a in self.alerts.book.attention() if a.open],
            "appointments": self._appointments_due(branch, now),
        }

    @staticmethod
    def _appointments_due(branch: Branch, now: datetime) -> list[dict[str, Any]]:
        grace = timedelta(seconds=branch.settings.appointment_grace_s)
        due = [
            a
            for a in branch.appointments.values()
            if now - grace <= a.slot_start <= now + APPOINTMENTS_AHEAD
            and a.state.value in ("booked", "checked_in")
        ]
        return [
            {
                "id": a.id,
                "booking_number": a.booking_number,
                "service": a.service,
                "slot_start": a.slot_start.isoformat(),
                "checked_in": a.checked_in_at is not None,
                "ticket_number": a.ticket_number,
                "staff_id": getattr(a, "staff_id", None),  # assigned by lobby-desk's booking
            }
            for a in sorted(due, key=lambda a: (a.slot_start, a.id))
        ]

    # -------------------------------------------------------------- commands
    async def _run(self, staff_id: str, decide: Callable[[Branch, datetime], Change]) -> Ticket:
        try:
            change = await self.engine.execute(decide, actor=lobby_actor(staff_id))
        except NotFound as exc:
            if exc.code != "unknown_ticket":
                raise
            # The lobby's codes name the case, not the entity (`unknown_service` stays).
            raise NotFound(exc.message, code="not_found") from None
        if not isinstance(change.result, Ticket):
            raise TypeError("expected a Ticket from the lobby's command")
        return change.result

    async def change_business(
        self, staff_id: str, ticket_id: int, service: str, reason: str
    ) -> Ticket:
        return await self._run(
            staff_id, lambda b, now: b.change_business(ticket_id, service, now, reason=reason)
        )

    async def grant_care(self, staff_id: str, ticket_id: int, reason: str) -> Ticket:
        return await self._run(staff_id, lambda b, now: b.grant_care(ticket_id, reason, now))

    async def check_documents(
        self, staff_id: str, ticket_id: int, checked: Sequence[int], reason: str
    ) -> Ticket:
        return await self._run(
            staff_id, lambda b, now: b.check_documents(ticket_id, checked, now, reason=reason)
        )

    async def note(self, staff_id: str, ticket_id: int, text: str) -> Ticket:
        return await self._run(staff_id, lambda b, now: b.note_ticket(ticket_id, text, now))

    async def hold(self, staff_id: str, ticket_id: int, reason: str) -> Ticket:
        return await self._run(staff_id, lambda b, now: b.hold_ticket(ticket_id, reason, now))

    async def release(self, staff_id: str, ticket_id: int, reason: str) -> Ticket:
        return await self._run(
            staff_id, lambda b, now: b.release_ticket(ticket_id, now, reason=reason)
        )

    async def cancel(self, staff_id: str, ticket_id: int, reason: str) -> Ticket:
        return await self._run(
            staff_id, lambda b, now: b.cancel_with_reason(ticket_id, reason, now)
        )

    async def issue(
        self,
        staff_id: str,
        *,
        service: str | None,
        bundle: str | None,
        care: bool,
        reason: str,
        idempotency_key: str | None,
    ) -> Ticket:
        """A ticket for a customer at the door: the kiosk's numbering, priority rules and
        phone link; care priority only with a reason."""
        reason = lobby_reason(reason, required=care)
        issued = await self.tickets.issue(
            issued_by="lobby",
            service=service,
            bundle=bundle,
            priority=PriorityClass.CARE if care else PriorityClass.REGULAR,
            idempotency_key=idempotency_key,
            actor=lobby_actor(staff_id),
            care_reason=reason if care else "",
        )
        return issued.ticket

    async def divert(self, staff_id: str, service: str, channel: str, reason: str) -> None:
        await self.engine.execute(
            lambda b, now: b.divert(service, channel, now, reason=reason),
            actor=lobby_actor(staff_id),
        )


def _waited_s(ticket: Ticket, now: datetime) -> int:
    end = ticket.called_at if ticket.state is not TicketState.WAITING else None
    return max(0, round(((end or now) - ticket.arrived_at).total_seconds()))


def _at_risk(ticket: Ticket, waited_s: int, target_s: int) -> bool:
    return ticket.state is TicketState.WAITING and waited_s >= AT_RISK_SHARE * target_s
