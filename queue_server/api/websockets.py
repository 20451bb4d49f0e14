"""What the event streams share: telling a closed socket's error from a real fault."""

from __future__ import annotations

import logging

from starlette.websockets import WebSocket, WebSocketState

log = logging.getLogger(__name__)


def stream_broke(websocket: WebSocket, exc: RuntimeError, stream: str) -> None:
    """Account for a RuntimeError that ended a stream's loop.

    Starlette raises RuntimeError for a send or receive after either side closed: that is
    the normal end of a stream and is logged at debug level. Any other RuntimeError (from
    building a snapshot, say) is a fault: it is logged with its traceback, not swallowed.
    """
    closed = WebSocketState.DISCONNECTED in (websocket.client_state, websocket.application_state)
    if closed:
        log.debug("%s: the socket closed mid-send (%s)", stream, exc)
    else:
        log.exception("%s stopped by an unexpected error", stream, exc_info=exc)
