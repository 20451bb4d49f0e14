"""Errors on the wire: one table maps each error class to its HTTP status, one shape for
every error body (`{"error": {"code", "message", …}}`), documented in the OpenAPI document."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from queue_server.api.schemas.errors import ErrorBody
from queue_server.api.schemas.text import INVALID_UNICODE, TEXT_CODES
from queue_server.desks.lobby import SignedOut, WrongPin
from queue_server.desks.notifications import TooOften
from queue_server.domain import (
    DomainError,
    Expired,
    InvalidInput,
    InvalidState,
    NotAllowed,
    NotFound,
)
from queue_server.domain.appointments import (
    AppointmentInvalid,
    AppointmentRefused,
    AppointmentUnknown,
)
from queue_server.security.limits import TooManyRequests
from queue_server.storage import ChangeNotStored, CommitFailed

log = logging.getLogger(__name__)

# Error class -> HTTP status. A class not listed answers as its nearest listed base class.
STATUS: dict[type[Exception], int] = {
    DomainError: 409,
    NotFound: 404,
    InvalidState: 409,
    InvalidInput: 422,
    NotAllowed: 403,
    Expired: 410,
    AppointmentRefused: 409,
    AppointmentInvalid: 422,
    AppointmentUnknown: 404,
    TooOften: 429,
    SignedOut: 401,  # the lobby tablet signs its staff member in again
    WrongPin: 401,
    TooManyRequests: 429,
    CommitFailed: 503,
    ChangeNotStored: 500,  # retrying the same change cannot help
}

# The code of an error raised as a bare HTTP status (FastAPI's own, and route checks).
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    410: "gone",
    413: "body_too_large",
    422: "invalid_request",
    429: "too_many_requests",
}


def http_code(status: int) -> str:
    """The stable code of a bare HTTP status: from the table, else its standard reason
    phrase in snake_case (415: "unsupported_media_type"), never a catch-all."""
    if status in HTTP_CODES:
        return HTTP_CODES[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:  # not a registered status
        return f"http_{status}"
    return re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_")


# Every route may answer with these; the body is always an ErrorBody.
RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (401, "missing, unknown, expired or revoked token"),
        (403, "the token's role may not do this"),
        (404, "no such ticket, counter, business, booking …"),
        (409, "the branch's rules refuse the command in its present state"),
        (410, "a ticket link or rating past its business day"),
        (422, "the request is malformed or names something invalid"),
        (429, "too many requests or attempts; see Retry-After"),
        (503, "the change could not be saved; try again"),
    )
}


def status_of(exc: Exception) -> int:
    """The HTTP status for an error, from the table (by class, nearest base first)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


# Pydantic's own refusal of a string it cannot read as Unicode, answered like ours.
_UNICODE_ERRORS = {"string_unicode": INVALID_UNICODE}


def validation_code(errors: Any) -> str:
    """The code of a 422 for refused input: a text rule's own code when one refused it."""
    for e in errors:
        kind = _UNICODE_ERRORS.get(e.get("type", ""), e.get("type", ""))
        if kind in TEXT_CODES:
            return str(kind)
    return "invalid_request"


def _where(loc: Any) -> str:
    # A location may hold a key the client sent (a language, an e-form field): cut short, so
    # a megabyte key is not echoed back.
    return ".".join(str(p)[:40] for p in loc)


def _printable(message: str) -> str:
    # A JSON body may carry lone surrogates ("\ud800") into a key the message names; they
    # cannot be encoded as UTF-8, so they are shown as escapes instead of failing the answer.
    return message.encode("utf-8", "backslashreplace").decode("utf-8")


def error(status: int, code: str, message: str, **details: Any) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": _printable(message), **details}}, status_code=status
    )


def install(app: FastAPI) -> None:
    """Answer every error as an ErrorBody with its status from the table."""

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return error(status_of(exc), exc.code, exc.message, **exc.details)

    @app.exception_handler(TooManyRequests)
    async def too_many(_: Request, exc: TooManyRequests) -> JSONResponse:
        response = error(status_of(exc), "too_many_requests", exc.message)
        if exc.retry_after_s is not None:
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    @app.exception_handler(CommitFailed)
    async def commit_failed(_: Request, exc: CommitFailed) -> JSONResponse:
        return error(status_of(exc), exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        parts = [f"{_where(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors[:5]]
        return error(422, validation_code(errors), "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = error(exc.status_code, http_code(exc.status_code), str(exc.detail))
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        return response

    @app.exception_handler(OverflowError)
    async def out_of_range(_: Request, exc: OverflowError) -> JSONResponse:
        # An id, sequence number or date far outside anything stored (SQLite holds 64 bits).
        return error(422, "invalid_request", "a number or date in the request is out of range")

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error(500, "internal", "internal error; the change was not made")
