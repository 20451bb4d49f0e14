"""What the event streams share: telling a client that left from a fault in the stream."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

log = logging.getLogger(__name__)
INTERNAL_ERROR = 1011  # the WebSocket close code for "the server met a condition it could not"


def _closed(websocket: WebSocket) -> bool:
    return WebSocketState.DISCONNECTED in (websocket.client_state, websocket.application_state)


@contextlib.asynccontextmanager
async def stream_guard(websocket: WebSocket, stream: str) -> AsyncIterator[None]:
    """Run a stream's loop: a client that left ends it quietly, anything else is a fault.

    The client going away is the normal end of every stream: WebSocketDisconnect, or
    Starlette's RuntimeError for a send after either side closed. Any other error (from
    building a snapshot, say) is logged with its traceback and the client is told 1011, so
    it reconnects instead of waiting on a silent socket. The log names the stream only:
    a ticket stream's token is the customer's key and stays out of it.
    """
    try:
        yield
    except WebSocketDisconnect:
        return
    except Exception as exc:
        if isinstance(exc, RuntimeError) and _closed(websocket):
            log.debug("%s: the socket closed mid-send (%s)", stream, exc)
            return
        log.exception("%s stopped by an unexpected error", stream)
        # The socket may be broken too; the fault is logged, and there is nobody to tell.
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
            await websocket.close(code=INTERNAL_ERROR, reason="internal error; reconnect")
