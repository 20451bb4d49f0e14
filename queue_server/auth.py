"""Device tokens with roles, and staff PINs under a real password hash."""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# booking: the bank's online channel, which may only book, change and cancel appointments.
ROLES = ("kiosk", "counter", "display", "manager", "admin", "booking")
_ROLE_RE = re.compile(r"^(kiosk|display|manager|admin|booking|counter:([1-9][0-9]{0,3}))$")
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
            f"unknown role {text!r}: use kiosk, counter:N, display, manager, admin or booking"
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
    cur = conn.execute(
        "INSERT INTO tokens (token_hash, role, name, created_at, expires_at) VALUES (?,?,?,?,?)",
        (
            hash_token(token),
            role,
            name[:100],
            datetime.now(UTC).isoformat(),
            expires_at.isoformat() if expires_at else None,
        ),
    )
    return int(cur.lastrowid or 0), token


def revoke_token(conn: sqlite3.Connection, token_id: int) -> bool:
    cur = conn.execute(
        "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        (datetime.now(UTC).isoformat(), token_id),
    )
    return cur.rowcount == 1


def list_tokens(conn: sqlite3.Connection) -> list[dict[str, object]]:
    rows = conn.execute(
        "SELECT id, role, name, created_at, expires_at, revoked_at FROM tokens ORDER BY id"
    )
    return [dict(r) for r in rows]


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
        row = self._conn.execute(
            "SELECT id, role, name, expires_at, revoked_at FROM tokens WHERE token_hash = ?",
            (digest,),
        ).fetchone()
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
    conn.execute(
        "INSERT OR REPLACE INTO staff (staff_id, name, pin_hash, active, created_at) "
        "VALUES (?, ?, ?, 1, ?)",
        (staff_id, name[:100], _hasher.hash(pin), datetime.now(UTC).isoformat()),
    )


def verify_pin(conn: sqlite3.Connection, staff_id: str, pin: str) -> bool:
    """Slow on purpose (argon2): call it off the event loop."""
    row = conn.execute(
        "SELECT pin_hash FROM staff WHERE staff_id = ? AND active = 1", (staff_id,)
    ).fetchone()
    if row is None:
        _hasher.hash(pin or "0000")  # same cost whether or not the id exists
        return False
    try:
        return _hasher.verify(row["pin_hash"], pin)
    except (VerificationError, InvalidHashError):
        return False


class PinLockout:
    """Refuses a staff id's sign-in for a while after repeated wrong PINs.

    Kept in memory: a restart forgets the count, which costs an attacker a server restart
    per handful of guesses — a restart the branch would notice. Keyed by staff id whether or
    not it exists, so a locked answer does not tell which ids are real.
    """

    def __init__(
        self, max_failures: int = 5, window_s: float = 15 * 60, lock_s: float = 15 * 60
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.lock_s = lock_s
        self._failures: dict[str, list[datetime]] = {}
        self._locked_until: dict[str, datetime] = {}

    def locked_for(self, staff_id: str, now: datetime) -> float:
        """Seconds the staff id stays locked (0: it may try)."""
        until = self._locked_until.get(staff_id)
        if until is None:
            return 0.0
        if now >= until:
            del self._locked_until[staff_id]
            return 0.0
        return (until - now).total_seconds()

    def failed(self, staff_id: str, now: datetime) -> bool:
        """Count a wrong PIN; True when this one locks the staff id."""
        recent = [
            t for t in self._failures.get(staff_id, []) if (now - t).total_seconds() < self.window_s
        ]
        recent.append(now)
        if len(recent) >= self.max_failures:
            self._failures.pop(staff_id, None)
            self._locked_until[staff_id] = now + timedelta(seconds=self.lock_s)
            return True
        self._failures[staff_id] = recent
        if len(self._failures) > 10_000:  # ids typed at random must not grow memory for ever
            self._failures = {k: v for k, v in self._failures.items() if k == staff_id}
        return False

    def succeeded(self, staff_id: str) -> None:
        self._failures.pop(staff_id, None)
