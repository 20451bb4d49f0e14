"""Domain errors: every refusal has a stable code that the API turns into a 4xx answer."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A command the branch's rules refuse; nothing was changed."""

    code = "domain_error"
    status = 409

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        # Extra JSON fields of the error answer (e.g. an appointment's slot_start).
        self.details: dict[str, Any] = {}


class NotFound(DomainError):
    code = "not_found"
    status = 404


class InvalidState(DomainError):
    """The ticket or counter is not in a state that allows this action."""

    code = "invalid_state"
    status = 409


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 422
