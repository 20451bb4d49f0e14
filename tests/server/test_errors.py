"""One table maps error classes to HTTP statuses; every error body has one documented shape."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

import httpx
import pytest
from starlette.websockets import WebSocket, WebSocketState

from queue_server.api.errors import HTTP_CODES, http_code, status_of
from queue_server.api.websockets import stream_broke
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
from queue_server.storage import CommitFailed


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (DomainError("x"), 409),
        (InvalidState("x"), 409),
        (NotFound("x"), 404),
        (InvalidInput("x"), 422),
        (NotAllowed("x"), 403),
        (Expired("x"), 410),
        (AppointmentRefused("c", "x"), 409),
        (AppointmentInvalid("c", "x"), 422),
        (AppointmentUnknown("c", "x"), 404),
        (TooOften("x"), 429),
        (TooManyRequests("x", 60), 429),
        (CommitFailed("x"), 503),
        (KeyError("x"), 500),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_each_error_class_has_one_status(error, status):
    assert status_of(error) == status


def test_a_subclass_answers_as_its_nearest_listed_base():
    class SlotGone(NotFound):
        pass

    assert status_of(SlotGone("x")) == 404


def test_410_has_a_stable_code():
    assert HTTP_CODES[410] == "gone"


@pytest.mark.parametrize("status", [s for s in HTTPStatus if s >= 400], ids=str)
def test_every_error_status_has_a_specific_code(status):
    """A status raised without an entry in the table (a framework's 415, say) still gets a
    code a client can act on, never a catch-all."""
    code = http_code(status)
    assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", code) and code not in ("error", "http")
    assert code == HTTP_CODES.get(status, code)


def test_the_error_body_is_documented_for_every_operation(server):
    with httpx.Client(base_url=server.base_url, timeout=10) as web:
        doc = web.get("/openapi.json").json()
    detail = doc["components"]["schemas"]["ErrorDetail"]
    assert detail["required"] == ["code", "message"]
    undocumented = [
        (method, path)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if op["responses"].get("409", {}).get("content", {}).get("application/json", {})
        != {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
    ]
    assert not undocumented


def test_wrong_answers_keep_their_shape_on_the_wire(server):
    kiosk = server.client("kiosk")
    missing = kiosk.get("/tickets/424242")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"code": "unknown_ticket", "message": "unknown ticket 424242"}
    }
    unauthorised = server.client(None).get("/tickets/1")
    assert unauthorised.status_code == 401
    assert unauthorised.json()["error"]["code"] == "unauthorized"


def _socket(closed: bool) -> WebSocket:
    async def receive() -> dict:
        return {"type": "websocket.disconnect"}

    async def send(message: dict) -> None:
        return None

    socket = WebSocket({"type": "websocket", "path": "/", "headers": []}, receive, send)
    if closed:
        socket.application_state = WebSocketState.DISCONNECTED
    return socket


def test_a_send_after_close_ends_a_stream_quietly(caplog):
    with caplog.at_level(logging.DEBUG, logger="queue_server.api.websockets"):
        stream_broke(_socket(closed=True), RuntimeError("send after close"), "event stream")
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]


def test_any_other_runtime_error_in_a_stream_is_logged_with_its_traceback(caplog):
    with caplog.at_level(logging.DEBUG, logger="queue_server.api.websockets"):
        stream_broke(_socket(closed=False), RuntimeError("snapshot failed"), "event stream")
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert "event stream stopped" in record.getMessage()
