"""Connection limits uvicorn lacks: a deadline and a size cap for each request's head.

uvicorn times out only idle keep-alive connections. A client that connects and says
nothing, or sends a request line and then a header a byte a minute (slowloris), holds its
connection for ever, and httptools buffers however large a head it is sent. The protocol
below closes such a connection with 408 / 431. The body has its own deadline and size
limit in the app (`queue_server.api.app.BodyLimit`), so it holds under any server.
"""

from __future__ import annotations

import asyncio
from typing import Any

HEAD_TIMEOUT_S = 10.0  # from connecting (or the first byte of a later request) to its last header
MAX_HEAD_BYTES = 16 * 1024  # request line and headers; a browser's stay far below this
WS_MAX_MESSAGE = 64 * 1024  # clients send nothing on the event stream but control frames
KEEP_ALIVE_S = 5

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools missing: uvicorn falls back to h11, without these limits
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


def _refuse(transport: asyncio.Transport, status: bytes, message: str) -> None:
    body = message.encode()
    transport.write(
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )
    transport.close()


if HttpToolsProtocol is not None:

    class GuardedHttpProtocol(HttpToolsProtocol):
        """httptools' protocol with a deadline and a size cap on each request head."""

        head_timeout_s = HEAD_TIMEOUT_S
        max_head_bytes = MAX_HEAD_BYTES

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._in_head = True
            self._head_bytes = 0
            self._head_timer: asyncio.TimerHandle | None = None
            self._head_size = 0  # request line and headers as parsed
            self._refused = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            if self._in_head:
                self._head_bytes += len(data)
                if self._head_timer is None:
                    self._arm()
            super().data_received(data)
            # A head still incomplete after this read: cap what httptools may buffer.
            if self._in_head and self._head_bytes > self.max_head_bytes:
                self._too_large()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_size = 0

        def on_url(self, url: bytes) -> None:
            self._head_size += len(url)
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._head_size += len(name) + len(value) + 4
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._disarm()
            if self._head_size > self.max_head_bytes:  # a whole large head in one read
                self._too_large()
                return
            super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            if not self._refused:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if self._refused:
                return
            super().on_message_complete()
            self._in_head, self._head_bytes = True, 0  # what follows is the next request

        def _too_large(self) -> None:
            self._refused = True
            self._disarm()
            if not self.transport.is_closing():
                _refuse(self.transport, b"431 Request Header Fields Too Large", "head too large")

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if not self._in_head or self.transport.is_closing():
                return
            if self._head_bytes:
                _refuse(self.transport, b"408 Request Timeout", "request head came too slowly")
            else:
                self.transport.close()  # connected and said nothing (or only kept it alive)


def server_options() -> dict[str, Any]:
    """uvicorn options every BranchQ server runs with (the CLI, the hostile drill)."""
    options: dict[str, Any] = {
        "timeout_keep_alive": KEEP_ALIVE_S,
        "ws_max_size": WS_MAX_MESSAGE,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
    }
    if HttpToolsProtocol is not None:
        options["http"] = GuardedHttpProtocol
    return options
