"""Console accounts: argon2id password hashes, sessions kept as token digests, a sign-in throttle.

A head-office account sees every branch; a regional account sees the branches of one region.
Everything here takes an open psycopg connection and commits nothing itself: the caller
owns the transaction (a pool's `connection()` block commits on leaving it).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("head_office", "regional")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256  # argon2 hashes anything; a megabyte "password" is an attack, not a secret
SESSION_TTL = timedelta(hours=10)  # one working day, then sign in again
THROTTLE_AFTER = 5  # wrong passwords in a row before a name is locked
THROTTLE_LOCK = timedelta(minutes=5)
# PasswordHasher's defaults are argon2id (RFC 9106's low-memory profile).
_hasher = PasswordHasher()
# Verifying against this keeps an unknown name as slow as a known one.
_ABSENT_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A refused account change or sign-in, with a stable machine-readable code."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class SignInThrottled(AccountError):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__("too many wrong passwords: try again later", "sign_in_throttled")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the console, and which branches they may see."""

    username: str
    role: str
    region_id: str | None  # None: head office, every region

    def may_see_region(self, region_id: str) -> bool:
        return self.region_id is None or self.region_id == region_id


def add_account(
    conn: psycopg.Connection, username: str, password: str, role: str, region_id: str | None
) -> None:
    """Create an account (its password stored only as an argon2id hash)."""
    if not USERNAME_RE.match(username):
        raise AccountError(
            "username: 1 to 64 letters, digits, '.', '_', '@' or '-'", "bad_username"
        )
    if role not in ROLES:
        raise AccountError(f"role: one of {', '.join(ROLES)}", "bad_role")
    if (role == "regional") != (region_id is not None):
        raise AccountError("a regional account needs --region; head office has none", "bad_region")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"password: {MIN_PASSWORD} to {MAX_PASSWORD} characters", "bad_password")
    if (
        region_id is not None
        and not conn.execute("SELECT 1 FROM regions WHERE id = %s", (region_id,)).fetchone()
    ):
        raise AccountError(f"unknown region {region_id!r}", "unknown_region")
    try:
        with conn.transaction():
            conn.execute(
                "INSERT INTO accounts (username, password_hash, role, region_id) "
                "VALUES (%s, %s, %s, %s)",
                (username, _hasher.hash(password), role, region_id),
            )
    except psycopg.errors.UniqueViolation:
        raise AccountError(f"account {username!r} exists already", "account_exists") from None


def sign_in(conn: psycopg.Connection, username: str, password: str) -> tuple[str, Viewer]:
    """Check a password (slow on purpose: call it off the event loop); a new session token.

    Raises SignInThrottled while the name is locked (even for the right password, or a
    guesser would simply keep going) and AccountError("bad_credentials") otherwise.
    """
    wrong = AccountError("wrong username or password", "bad_credentials")
    if not USERNAME_RE.match(username) or len(password) > MAX_PASSWORD:
        raise wrong
    locked = conn.execute(
        "SELECT ceil(extract(epoch FROM locked_until - now()))::int "
        "FROM console_sign_in_failures WHERE username = %s AND locked_until > now()",
        (username,),
    ).fetchone()
    if locked:
        raise SignInThrottled(max(1, locked[0]))
    row = conn.execute(
        "SELECT password_hash, role, region_id FROM accounts WHERE username = %s", (username,)
    ).fetchone()
    if not _password_matches(row[0] if row else _ABSENT_HASH, password) or row is None:
        _count_failure(conn, username)
        raise wrong
    conn.execute("DELETE FROM console_sign_in_failures WHERE username = %s", (username,))
    token = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO console_sessions (token_sha256, username, expires_at) "
        "VALUES (%s, %s, now() + %s)",
        (_digest(token), username, SESSION_TTL),
    )
    return token, Viewer(username, row[1], row[2])


def session_viewer(conn: psycopg.Connection, token: str) -> Viewer | None:
    """The viewer a session token belongs to, while it has not expired or been signed out."""
    if not token or len(token) > 128:
        return None
    row = conn.execute(
        "SELECT a.username, a.role, a.region_id FROM console_sessions s "
        "JOIN accounts a USING (username) WHERE s.token_sha256 = %s AND s.expires_at > now()",
        (_digest(token),),
    ).fetchone()
    return Viewer(row[0], row[1], row[2]) if row else None


def sign_out(conn: psycopg.Connection, token: str) -> None:
    conn.execute("DELETE FROM console_sessions WHERE token_sha256 = %s", (_digest(token),))
    # Expired sessions go when anyone signs out: no timer needed, and the table stays small.
    conn.execute("DELETE FROM console_sessions WHERE expires_at <= now()")


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _count_failure(conn: psycopg.Connection, username: str) -> None:
    # A lock that has run out starts a fresh count rather than locking again at once.
    conn.execute(
        """
        INSERT INTO console_sign_in_failures AS f (username, failures, last_failed_at)
        VALUES (%(u)s, 1, now())
        ON CONFLICT (username) DO UPDATE SET
            failures = CASE WHEN f.locked_until <= now() THEN 1 ELSE f.failures + 1 END,
            last_failed_at = now(),
            locked_until = CASE
                WHEN f.locked_until <= now() THEN NULL
                WHEN f.failures + 1 >= %(after)s THEN now() + %(lock)s
                ELSE f.locked_until END
        """,
        {"u": username, "after": THROTTLE_AFTER, "lock": THROTTLE_LOCK},
    )


def _digest(token: str) -> bytes:
    # Session tokens are 256 random bits: a fast hash is enough, unlike a password.
    return hashlib.sha256(token.encode()).digest()
