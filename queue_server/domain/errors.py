"""Domain errors: every refusal has a stable code; the API maps each class to a 4xx answer
(`queue_server.api.errors`), so the domain knows nothing of HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A command the branch's rules refuse; nothing was changed."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        # Extra JSON fields of the error answer (e.g. an appointment's slot_start).
        self.details: dict[str, Any] = {}


class NotFound(DomainError):
    code = "not_found"


class InvalidState(DomainError):
    """The ticket or counter is not in a state that allows this action."""

    code = "invalid_state"


class InvalidInput(DomainError):
    code = "invalid_input"


class Expired(DomainError):
    """Something that was valid on its business day and is no longer (a ticket's link)."""

    code = "expired"


class NotAllowed(DomainError):
    """The caller's role may not do this (e.g. a manager creating an admin token)."""

    code = "forbidden"
