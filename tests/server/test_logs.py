"""Secrets never reach the server's log."""

from __future__ import annotations

import logging

from websockets.sync.client import connect

from queue_server.logs import RedactSecrets, redact


def test_redact_hides_tokens_pins_and_bearer_headers():
    line = 'WebSocket /api/v1/events?since=4&token=bq_SECRET123 "Bearer bq_OTHER" pin=1234'
    out = redact(line)
    assert "bq_SECRET123" not in out and "bq_OTHER" not in out and "1234" not in out
    assert "since=4" in out


def test_uvicorn_websocket_log_lines_carry_no_token(server, caplog):
    logger = logging.getLogger("uvicorn.error")
    assert any(isinstance(f, RedactSecrets) for f in logger.filters)
    token = server.tokens["display"]
    saved = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = True
    try:
        with caplog.at_level(logging.INFO, logger="uvicorn.error"):
            with connect(f"{server.ws_url}?token={token}", open_timeout=5) as ws:
                ws.recv(timeout=5)
            # the form of uvicorn's own line for an accepted connection
            logger.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:1", f"/x?token={token}")
    finally:
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
    text = caplog.text
    assert "[accepted]" in text
    assert token not in text
