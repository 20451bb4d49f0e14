"""Provisioning: device tokens and staff accounts, each step written to the audit log.

Tokens and PINs are hashed by `queue_server.auth`; the rows live in the database
(`storage.provisioning`). Writes run in a worker thread with their own connection
(argon2 is slow on purpose), so the event loop never waits on them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from queue_server.auth import (
    TokenCache,
    add_staff,
    create_token,
    parse_role,
    revoke_token,
    verify_pin,
)
from queue_server.desks.audit import AuditLog
from queue_server.domain import InvalidInput, NotAllowed, NotFound
from queue_server.engine import Engine
from queue_server.storage import connect, in_transaction
from queue_server.storage.provisioning import list_staff, list_tokens, staff_exists, token_role


class Provisioning:
    def __init__(self, engine: Engine, tokens: TokenCache, audit: AuditLog) -> None:
        self.engine = engine
        self.tokens = tokens
        self.audit = audit

    async def create_token(
        self, role: str, name: str, expires_in_days: int | None, *, by_role: str, actor: str
    ) -> tuple[int, str]:
        """A new device token (its id and the only plain copy); a manager may create any
        role but admin."""
        kind, counter = parse_role(role)
        if kind == "admin" and by_role != "admin":
            raise NotAllowed("only an admin may create admin tokens")
        if counter is not None and counter not in self.engine.branch.counters:
            raise InvalidInput(f"there is no counter {counter}", code="invalid_request")
        expires_at = None
        if expires_in_days is not None:
            expires_at = datetime.now(UTC) + timedelta(days=expires_in_days)
        token_id, token = await asyncio.to_thread(
            in_transaction, self.engine.db_path, create_token, role, name, expires_at
        )
        await self.audit.record(
            actor,
            "token.created",
            id=token_id,
            role=role,
            name=name,
            expires_at=expires_at.isoformat() if expires_at else None,
        )
        return token_id, token

    def list_tokens(self) -> list[dict[str, Any]]:
        """Device tokens (never the tokens themselves)."""
        return list_tokens(self.engine.read_conn)

    async def revoke_token(self, token_id: int, *, by_role: str, actor: str) -> None:
        """Revoke a device token at once (the token cache forgets what it knew)."""
        role = token_role(self.engine.read_conn, token_id)
        if role is None:
            raise NotFound(f"no token {token_id}")
        if role == "admin" and by_role != "admin":
            raise NotAllowed("only an admin may revoke admin tokens")
        await asyncio.to_thread(in_transaction, self.engine.db_path, revoke_token, token_id)
        self.tokens.forget()
        await self.audit.record(actor, "token.revoked", id=token_id, role=role)

    def list_staff(self) -> list[dict[str, Any]]:
        """Staff accounts (never their PINs)."""
        return list_staff(self.engine.read_conn)

    async def add_staff(self, staff_id: str, name: str, pin: str, *, actor: str) -> None:
        """Add a staff member, or reset their PIN when the id is known."""
        known = staff_exists(self.engine.read_conn, staff_id)
        await asyncio.to_thread(in_transaction, self.engine.db_path, add_staff, staff_id, name, pin)
        kind = "staff.pin_reset" if known else "staff.created"
        await self.audit.record(actor, kind, staff_id=staff_id, name=name)

    async def verify_pin(self, staff_id: str, pin: str) -> bool:
        """Check a teller's PIN off the event loop (argon2 is slow on purpose)."""
        return await asyncio.to_thread(self._verify, staff_id, pin)

    def _verify(self, staff_id: str, pin: str) -> bool:
        conn = connect(self.engine.db_path)  # a worker thread needs its own connection
        try:
            return verify_pin(conn, staff_id, pin)
        finally:
            conn.close()
