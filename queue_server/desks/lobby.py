"""The lobby app's use cases (issue 21): staff sessions on a lobby tablet, the hall at a
glance, finding a ticket (by number or its QR), the lobby's triage, issuing at the door and
diverting to self-service. Every command runs through the engine as one change whose
events name the staff member (`lobby:<staff_id>`) for the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from queue_server.desks.sign_in import StaffSignIn
from queue_server.domain import DomainError
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
