"""A stand-in SMS gateway on loopback, for the demo and the phone page's tests.

It speaks what `sms+http://` (queue_server/notify/sms_http.py) sends: one JSON POST per
message, `{"to", "text", "reference"[, "sender"]}`, any 2xx meaning accepted. Nothing
leaves the machine; each message is kept in memory with its number masked and handed to
`on_message`, so the demo's terminal shows what a customer's phone would have received.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from queue_server.notify import mask

MAX_BODY = 16_384  # an SMS request is a few hundred bytes


@dataclass(frozen=True)
class TextMessage:
    to: str  # masked: 139****4321
    text: str
    reference: str


class SmsGateway:
    """`start()`, then point the branch at `url`; `messages` holds what was accepted."""

    def __init__(self, on_message: Callable[[TextMessage], None] | None = None) -> None:
        self.messages: list[TextMessage] = []
        self.on_message = on_message
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sms gateway", daemon=True
        )

    @property
    def url(self) -> str:
        """The branch's notifier URL for this gateway."""
        return f"sms+http://127.0.0.1:{self.port}/send?sender=BranchQ&timeout=2"

    def start(self) -> SmsGateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _accept(self, body: dict[str, Any]) -> None:
        message = TextMessage(
            mask(str(body["to"])), str(body["text"]), str(body.get("reference", ""))
        )
        with self._lock:
            self.messages.append(message)
        if self.on_message is not None:
            self.on_message(message)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                try:
                    length = int(self.headers.get("Content-Length", "0"))
                    if not 0 < length <= MAX_BODY:
                        raise ValueError("no body, or too long")
                    body = json.loads(self.rfile.read(length))
                    if not isinstance(body, dict) or "to" not in body or "text" not in body:
                        raise ValueError("not an SMS request")
                except ValueError:
                    self._answer(400, {"accepted": False})
                    return
                gateway._accept(body)
                self._answer(200, {"accepted": True})

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass  # its request lines would carry nothing useful; messages are reported

        return Handler
