"""One table maps error classes to HTTP statuses; every error body has one documented shape."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from http import HTTPStatus

import httpx
import pytest
from starlette.websockets import WebSocket, WebSocketState
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from queue_server.api.errors import HTTP_CODES, http_code, status_of
from queue_server.api.websockets import stream_guard
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

WAIT_S = 5.0


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
        (ChangeNotStored("x"), 500),
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


def _closed_socket() -> WebSocket:
    async def receive() -> dict:
        return {"type": "websocket.disconnect"}

    async def send(message: dict) -> None:
        return None

    socket = WebSocket({"type": "websocket", "path": "/", "headers": []}, receive, send)
    socket.application_state = WebSocketState.DISCONNECTED
    return socket


def test_a_send_after_close_ends_a_stream_quietly(caplog):
    async def send_after_close() -> None:
        async with stream_guard(_closed_socket(), "event stream"):
            raise RuntimeError('Cannot call "send" once a close message has been sent.')

    with caplog.at_level(logging.DEBUG, logger="queue_server.api.websockets"):
        asyncio.run(send_after_close())
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]


def test_a_fault_in_a_stream_is_logged_and_closed_and_other_clients_carry_on(server, caplog):
    """A snapshot that cannot be built (here a snapshot part that fails, as a desk's could):
    that client is told 1011 and the fault is logged with its traceback; a client already
    following keeps its stream, and the next one is served once the fault is gone."""
    url = f"{server.ws_url}?token={server.tokens['manager']}"
    parts = server.app.state.engine.snapshot_parts
    with connect(url, open_timeout=5) as following:
        assert json.loads(following.recv(timeout=WAIT_S))["type"] == "snapshot"
        parts["broken"] = lambda: {}["staffing"]  # a KeyError: a fault, not a client leaving
        try:
            with (
                caplog.at_level(logging.ERROR, logger="queue_server.api.websockets"),
                connect(url, open_timeout=5) as refused,
                pytest.raises(ConnectionClosed) as closed,
            ):
                refused.recv(timeout=WAIT_S)
        finally:
            del parts["broken"]
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
        (record,) = caplog.records
        assert record.getMessage() == "event stream stopped by an unexpected error"
        assert record.exc_info is not None and record.exc_info[0] is KeyError
        issued = server.client("kiosk").post("/tickets", json={"service": "A"}).json()
        assert issued["id"] in _ticket_ids_until(following, issued["id"])
    with connect(url, open_timeout=5) as next_client:
        assert json.loads(next_client.recv(timeout=WAIT_S))["type"] == "snapshot"


def _ticket_ids_until(ws, ticket_id: int) -> list[int]:
    seen: list[int] = []
    while ticket_id not in seen:
        message = json.loads(ws.recv(timeout=WAIT_S))
        if message["type"] == "events":
            seen += [e["ticket"]["id"] for e in message["events"] if e.get("ticket")]
    return seen
