"""Oversized, stalled and trickled requests, and event-stream floods, on a real server."""

from __future__ import annotations

import json
import select
import socket

import pytest

from queue_server.api import app as app_module
from queue_server.security import limits
from tools.drill import hostile_input as hostile
from tools.harness import ScratchBranch

pytestmark = pytest.mark.slow
CUT_S = 1.0  # the deadlines, shortened so the tests do not wait ten seconds each


@pytest.fixture(scope="module")
def branch():
    """One scratch branch served with the production limits (deadlines shortened)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(app_module, "BODY_TIMEOUT_S", CUT_S)
        mp.setattr(limits.GuardedHttpProtocol, "head_timeout_s", CUT_S)
        with ScratchBranch() as scratch:
            yield scratch


def server_silent_for(sock: socket.socket, seconds: float) -> bool:
    """Wait on the connection itself for `seconds`: True if the server neither answered nor
    closed it meanwhile (this is how a slow client paces itself, and what it checks)."""
    readable, _, _ = select.select([sock], [], [], seconds)
    return not readable


def read_response(sock: socket.socket) -> int:
    """One whole HTTP/1.1 response with a Content-Length from `sock`; its status code."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, "the server closed the connection"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(4096)
        assert chunk, "the server closed the connection mid-body"
        body += chunk
    return int(head[9:12])


def test_oversized_bodies_and_heads_are_refused(branch):
    result = hostile.probe_oversized(branch.base_url, branch.tokens["kiosk"])
    assert result == {"declared": 413, "chunked": 413, "huge_head": 431}


def test_a_refusal_before_the_app_has_the_api_error_shape(branch):
    """The connection guard answers for the app (431 here, 408 alike): a client reads one
    error shape with a stable code, whichever layer refused it."""
    host, port = branch.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 20_000)
        data = b""
        while chunk := sock.recv(4096):  # the server closes after its answer
            data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 431 ")
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"]["code"] == "headers_too_large"


def test_stalled_and_trickling_clients_are_cut_off(branch):
    result = hostile.probe_slow(branch.base_url, branch.tokens["kiosk"], wait_s=10)
    assert result["body"]["status"] == 408
    assert result["head"]["status"] == 408
    assert result["silent"]["status"] is None  # closed without a word: it said nothing
    for probe in result.values():
        assert CUT_S * 0.8 < probe["cut_after_s"] < CUT_S + 3, result


def test_a_trickled_body_within_the_deadline_is_served(branch):
    host, port = hostile._address(branch.base_url)
    body = b'{"service": "A"}'
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(
            b"POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + branch.tokens["kiosk"].encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
        )
        for i in range(0, len(body), 4):
            if i:  # the body so far is incomplete: no early answer, and no cut
                assert server_silent_for(sock, CUT_S / 10)
            sock.sendall(body[i : i + 4])
        status, _ = hostile._status_line(sock, 5)
    assert status == 201


def test_a_kept_alive_connection_serves_requests_one_after_another(branch):
    """The head deadline is per request: a connection reused for a while is not cut."""
    host, port = hostile._address(branch.base_url)
    request = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection((host, port), timeout=5) as sock:
        for _ in range(3):
            sock.sendall(request)
            assert read_response(sock) == 200
            assert server_silent_for(sock, CUT_S * 0.6)  # idle between requests: kept open
        sock.sendall(request)
        assert read_response(sock) == 200


def test_floods_on_the_event_stream_do_not_stall_other_subscribers(branch):
    result = hostile.probe_ws_flood(branch.base_url, branch.tokens, tickets=60)
    assert result["flooder_closed"], result
    assert result["good_subscriber_lag_s"] is not None, result
    assert result["good_subscriber_lag_s"] < 2.0, result
