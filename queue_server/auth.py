"""Device tokens with roles, and staff PINs under a real password hash."""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from queue_server.storage.provisioning import (
    active_pin_hash,
    insert_token,
    mark_token_revoked,
    save_staff,
    token_by_hash,
)

# booking: the bank's online channel, which may only book, change and cancel appointments.
# lobby: the lobby manager's tablet, which may only use the lobby API (with a staff session)
# and follow the event stream.
ROLES = ("kiosk", "counter", "display", "manager", "admin", "booking", "lobby")
_ROLE_RE = re.compile(r"^(kiosk|display|manager|admin|booking|lobby|counter:([1-9][0-9]{0,3}))$")
_PIN_RE = re.compile(r"^[0-9]{4,12}$")
_STAFF_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a device with a role (and, for a counter, its number)."""

    token_id: int
    role: str
    name: str
    counter: int | None = None

    @property
    def label(self) -> str:
        return f"counter:{self.counter}" if self.role == "counter" else self.role


def parse_role(text: str) -> tuple[str, int | None]:
    m = _ROLE_RE.match(text)
    if not m:
        raise ValueError(
            f"unknown role {text!r}: use kiosk, counter:N, display, manager, admin, booking"
            " or lobby"
        )
    if m.group(2):
        return "counter", int(m.group(2))
    return m.group(1), None


def hash_token(token: str) -> str:
    # Tokens are 32 random bytes: a fast hash is enough, unlike a PIN.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    conn: sqlite3.Connection, role: str, name: str = "", expires_at: datetime | None = None
) -> tuple[int, str]:
    """Store a new device token (hashed) and return its id and the only plain copy."""
    parse_role(role)
    token = "bq_" + secrets.token_urlsafe(32)
    return insert_token(conn, hash_token(token), role, name[:100], expires_at), token


def revoke_token(conn: sqlite3.Connection, token_id: int) -> bool:
    return mark_token_revoked(conn, token_id)


class TokenCache:
    """Token → principal, read from the database and kept for a few seconds."""

    def __init__(self, conn: sqlite3.Connection, ttl_s: float = 5.0) -> None:
        self._conn = conn
        self._ttl = ttl_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    def lookup(self, token: str) -> Principal | None:
        if not token or len(token) > 200:
            return None
        digest = hash_token(token)
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        row = token_by_hash(self._conn, digest)
        principal: Principal | None = None
        if row is not None and row["revoked_at"] is None:
            expires = row["expires_at"]
            if expires is None or datetime.fromisoformat(expires) > datetime.now(UTC):
                role, counter = parse_role(row["role"])
                principal = Principal(row["id"], role, row["name"] or "", counter)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now, principal)
        return principal

    def forget(self) -> None:
        self._cache.clear()


def add_staff(conn: sqlite3.Connection, staff_id: str, name: str, pin: str) -> None:
    if not _STAFF_RE.match(staff_id):
        raise ValueError("staff id: 1 to 64 letters, digits, '.', '_' or '-'")
    if not _PIN_RE.match(pin):
        raise ValueError("PIN: 4 to 12 digits")
    save_staff(conn, staff_id, name[:100], _hasher.hash(pin))


def verify_pin(conn: sqlite3.Connection, staff_id: str, pin: str) -> bool:
    """Slow on purpose (argon2): call it off the event loop."""
    pin_hash = active_pin_hash(conn, staff_id)
    if pin_hash is None:
        _hasher.hash(pin or "0000")  # same cost whether or not the id exists
        return False
    try:
        return _hasher.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False
