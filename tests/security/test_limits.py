"""Oversized, stalled and trickled requests, and event-stream floods, on a real server."""

from __future__ import annotations

import socket
import time

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


def test_oversized_bodies_and_heads_are_refused(branch):
    result = hostile.probe_oversized(branch.base_url, branch.tokens["kiosk"])
    assert result == {"declared": 413, "chunked": 413, "huge_head": 431}


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
            sock.sendall(body[i : i + 4])
            time.sleep(CUT_S / 10)
        status, _ = hostile._status_line(sock, 5)
    assert status == 201


def test_a_kept_alive_connection_serves_requests_one_after_another(branch):
    """The head deadline is per request: a connection reused for a while is not cut."""
    import httpx

    with httpx.Client(base_url=branch.base_url) as client:
        for _ in range(3):
            assert client.get("/api/v1/health").status_code == 200
            time.sleep(CUT_S * 0.6)
        assert client.get("/api/v1/health").status_code == 200


def test_floods_on_the_event_stream_do_not_stall_other_subscribers(branch):
    result = hostile.probe_ws_flood(branch.base_url, branch.tokens, tickets=60)
    assert result["flooder_closed"], result
    assert result["good_subscriber_lag_s"] is not None, result
    assert result["good_subscriber_lag_s"] < 2.0, result
