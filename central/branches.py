"""Branch enrolment and the shipping token: `bq1.<branch id>.<secret>`, kept only as a SHA-256.

The secret is 256 random bits, so a plain SHA-256 is enough to keep it (nothing to brute
force); re-enrolling a branch issues a new secret and the old token stops working at once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

import psycopg

from central.storage import branches as stored
from wire.shipping import TOKEN_PREFIX

_BRANCH_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class BadToken(Exception):
    """The request's token is missing, malformed or not the branch's current one."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def enrol(
    conn: psycopg.Connection,
    branch: str,
    name: str,
    region: str,
    region_name: str | None = None,
) -> str:
    """Enrol (or re-enrol) a branch in its region and return its new token, the only copy."""
    if not _BRANCH_ID.match(branch):
        raise ValueError("a branch id is 1-64 letters, digits, '_', '.' or '-'")
    if not _BRANCH_ID.match(region):
        raise ValueError("a region id is 1-64 letters, digits, '_', '.' or '-'")
    token = f"{TOKEN_PREFIX}.{branch}.{secrets.token_urlsafe(32)}"
    with conn.transaction():
        stored.save_region(conn, region, region_name)
        stored.save_branch(conn, branch, name, region, token_digest(token))
    return token


def branch_of_token(header: str | None) -> tuple[str, bytes]:
    """The branch an `Authorization: Bearer bq1.<branch>.<secret>` names, and the token's digest."""
    if not header:
        raise BadToken("missing_token", "a branch token is required (Authorization: Bearer …)")
    scheme, _, token = header.partition(" ")
    parts = token.strip().split(".", 2)
    if scheme.lower() != "bearer" or len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise BadToken("malformed_token", f"expected 'Bearer {TOKEN_PREFIX}.<branch>.<secret>'")
    if not _BRANCH_ID.match(parts[1]) or not parts[2]:
        raise BadToken("malformed_token", f"expected 'Bearer {TOKEN_PREFIX}.<branch>.<secret>'")
    return parts[1], token_digest(token.strip())


def authenticate(conn: psycopg.Connection, header: str | None) -> str:
    """The branch id the request's token belongs to; BadToken when it does not match."""
    branch, digest = branch_of_token(header)
    kept = stored.token_of(conn, branch)
    # Compared whether or not the branch exists, in constant time, so neither the timing nor
    # the answer tells an unknown branch from a wrong secret.
    if not hmac.compare_digest(kept or b"\0" * 32, digest) or kept is None:
        raise BadToken("bad_token", "the branch token is not valid")
    return branch
