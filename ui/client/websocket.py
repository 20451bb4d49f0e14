"""A minimal RFC 6455 WebSocket client on QSslSocket, for the branch event stream.

The event stream needs only a small part of the protocol: one text message at a time from
the server, pings answered, and a clean close, so it is spoken here directly on Qt's
asynchronous socket (and the kiosk bundle needs no QtWebSockets). Nothing here blocks:
bytes are handled as Qt reports them.

`ws://` is plain TCP; `wss://` is TLS, verified against the machine's trusted
certificates as the client's HTTPS requests are (a branch that serves HTTPS with
`--cert/--key` installs its certificate where the PCs trust it). A certificate that fails
verification is never ignored: the connection closes with `certificate_errors` saying
why. Limits, on purpose: no
extensions (we never offer permessage-deflate, so the server never uses it), and binary
messages are ignored.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtNetwork import QAbstractSocket, QSslError, QSslSocket

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # fixed by RFC 6455 §1.3
_MAX_MESSAGE = 64 * 1024 * 1024  # a snapshot of a very busy day is a few MB; this is a guard
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def accept_key(key: bytes) -> bytes:
    """The Sec-WebSocket-Accept a server must answer to our Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1(key + _GUID).digest())


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One final frame from a client: clients must mask every frame (RFC 6455 §5.3)."""
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return head + mask + _unmask(payload, mask)


def _unmask(data: bytes, mask: bytes) -> bytes:
    if not data:
        return b""
    # XOR with the 4-byte key repeated, as one big-int operation instead of a byte loop.
    key = (mask * (len(data) // 4 + 1))[: len(data)]
    n = int.from_bytes(data, "big") ^ int.from_bytes(key, "big")
    return n.to_bytes(len(data), "big")


class EventSocket(QObject):
    """One WebSocket connection; make a new one for every attempt.

    `opened` follows a successful handshake; `textReceived` carries each text message;
    `closed(reason)` is emitted exactly once, however the connection ends (refused,
    handshake failed, server closed, network lost, or `abort()`).
    """

    opened = Signal()
    textReceived = Signal(str)
    closed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._socket = QSslSocket(self)
        # Plain: the handshake goes once TCP connects; TLS: once the channel is encrypted.
        self._socket.connected.connect(self._tcp_connected)
        self._socket.encrypted.connect(self._send_handshake)
        self._socket.readyRead.connect(self._read)
        self._socket.disconnected.connect(lambda: self._finish("connection closed"))
        self._socket.errorOccurred.connect(self._on_error)
        self._socket.sslErrors.connect(self._on_certificate_errors)
        self._buffer = bytearray()
        self._handshaken = False
        self._key = b""
        self._request = b""
        self._fragments: list[bytes] = []
        self._fragment_op = 0
        self._done = False
        self._tls = False
        self.close_code: int | None = None  # what the server's close frame said, if any
        # Why TLS refused the server's certificate (untrusted, wrong name, expired), if it did.
        self.certificate_errors: list[str] = []

    @property
    def is_open(self) -> bool:
        return self._handshaken and not self._done

    def open(self, url: QUrl, headers: dict[str, str] | None = None) -> None:
        if url.scheme() not in ("ws", "http", "wss", "https"):
            self._finish(f"unsupported scheme {url.scheme()!r} (only ws:// or wss://)")
            return
        self._tls = url.scheme() in ("wss", "https")
        host = url.host()
        port = url.port(443 if self._tls else 80)
        target = url.path(QUrl.ComponentFormattingOption.FullyEncoded) or "/"
        if url.hasQuery():
            target += "?" + url.query(QUrl.ComponentFormattingOption.FullyEncoded)
        self._key = base64.b64encode(os.urandom(16))
        lines = [
            f"GET {target} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {self._key.decode()}",
            "Sec-WebSocket-Version: 13",
        ]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self._request = ("\r\n".join(lines) + "\r\n\r\n").encode()
        if self._tls:
            self._socket.connectToHostEncrypted(host, port)  # verifies the name `host`
        else:
            self._socket.connectToHost(host, port)

    def send_text(self, text: str) -> None:
        if self.is_open:
            self._socket.write(client_frame(OP_TEXT, text.encode()))

    def close(self, code: int = 1000) -> None:
        """Close politely (a close frame), then drop the connection."""
        was_open = self.is_open
        self._finish("closed by client")
        if was_open:
            self._socket.write(client_frame(OP_CLOSE, struct.pack("!H", code)))
            self._socket.disconnectFromHost()
        else:
            self._socket.abort()

    def abort(self, reason: str = "aborted") -> None:
        """Drop the connection now (a dead link does not answer a close frame)."""
        self._finish(reason)
        self._socket.abort()

    # ------------------------------------------------------------------ private
    def _tcp_connected(self) -> None:
        if not self._tls:
            self._send_handshake()

    def _send_handshake(self) -> None:
        self._socket.write(self._request)

    def _on_certificate_errors(self, errors: list[QSslError]) -> None:
        # Not ignored, so the handshake fails next and errorOccurred closes the socket.
        self.certificate_errors = [e.errorString() for e in errors]

    def _on_error(self, error: QAbstractSocket.SocketError) -> None:
        if self.certificate_errors:
            reason = "; ".join(self.certificate_errors)
            self._finish(f"the server's TLS certificate was refused: {reason}")
            return
        self._finish(self._socket.errorString() or str(error))

    def _finish(self, reason: str) -> None:
        if self._done:
            return
        self._done = True
        self.closed.emit(reason)

    def _read(self) -> None:
        self._buffer += bytes(self._socket.readAll().data())
        if not self._handshaken and not self._read_handshake():
            return
        while not self._done and self._read_frame():
            pass

    def _read_handshake(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > 16 * 1024:
                self.abort("handshake response too long")
            return False
        head = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
        del self._buffer[: end + 4]
        status = head[0].split(" ", 2)
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if len(status) < 2 or status[1] != "101":
            self.abort(f"handshake refused: {head[0]}")
            return False
        if fields.get("sec-websocket-accept", "").encode() != accept_key(self._key):
            self.abort("handshake failed: wrong Sec-WebSocket-Accept")
            return False
        self._handshaken = True
        self.opened.emit()
        return True

    def _read_frame(self) -> bool:
        """Take one complete frame off the buffer; False when more bytes are needed."""
        buf = self._buffer
        if len(buf) < 2:
            return False
        fin, opcode = buf[0] & 0x80, buf[0] & 0x0F
        masked, n = buf[1] & 0x80, buf[1] & 0x7F
        pos = 2
        if n == 126:
            if len(buf) < 4:
                return False
            n = struct.unpack_from("!H", buf, 2)[0]
            pos = 4
        elif n == 127:
            if len(buf) < 10:
                return False
            n = struct.unpack_from("!Q", buf, 2)[0]
            pos = 10
        if n > _MAX_MESSAGE:
            self.abort("message too large")
            return False
        mask = b""
        if masked:  # servers must not mask, but unmasking costs nothing
            if len(buf) < pos + 4:
                return False
            mask = bytes(buf[pos : pos + 4])
            pos += 4
        if len(buf) < pos + n:
            return False
        payload = bytes(buf[pos : pos + n])
        del buf[: pos + n]
        if mask:
            payload = _unmask(payload, mask)
        self._on_frame(bool(fin), opcode, payload)
        return True

    def _on_frame(self, fin: bool, opcode: int, payload: bytes) -> None:
        if opcode == OP_PING:
            self._socket.write(client_frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            if len(payload) >= 2:
                self.close_code = struct.unpack("!H", payload[:2])[0]
            reason = payload[2:].decode("utf-8", "replace")
            self._finish(f"server closed ({self.close_code}) {reason}".strip())
            # Echo the close as the protocol asks; pending bytes are written before the FIN.
            self._socket.write(client_frame(OP_CLOSE, payload[:2]))
            self._socket.disconnectFromHost()
        elif opcode in (OP_TEXT, OP_BINARY, OP_CONT):
            if opcode != OP_CONT:
                self._fragments, self._fragment_op = [], opcode
            self._fragments.append(payload)
            if sum(map(len, self._fragments)) > _MAX_MESSAGE:
                self.abort("message too large")
                return
            if fin:
                data = b"".join(self._fragments)
                self._fragments = []
                if self._fragment_op == OP_TEXT:
                    self.textReceived.emit(data.decode("utf-8", "replace"))
        # OP_PONG and reserved opcodes: nothing to do
