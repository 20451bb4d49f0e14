"""Network printers on a raw TCP port (JetDirect / "port 9100").

URL: `escpos+tcp://HOST[:PORT][?timeout=S&connect_timeout=S]`

* PORT defaults to 9100.
* `timeout` (seconds, default 5): the longest one job may take to be accepted by the
  printer. A printer whose buffer is full (paper out, cover open) stops reading, and the
  kiosk should learn that within seconds, not after TCP's own minutes.
* `connect_timeout` (seconds, default 1.5): how long to try to reach the printer.

The connection is kept open between tickets; a connection the printer dropped while idle
is noticed before the next job and reopened.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time

from devices.errors import DeviceTimeout, DeviceUnavailable
from devices.url import DeviceURL

DEFAULT_PORT = 9100


class TcpTransport:
    can_read = True

    def __init__(
        self, host: str, port: int, *, timeout_s: float = 5.0, connect_timeout_s: float = 1.5
    ) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.description = f"TCP {host}:{port}"
        self._sock: socket.socket | None = None

    def open(self) -> None:
        if self._sock is not None:
            return
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout_s)
        except TimeoutError as exc:
            raise DeviceUnavailable(
                f"{self.description}: no answer within {self.connect_timeout_s:g} s"
            ) from exc
        except OSError as exc:
            raise DeviceUnavailable(f"cannot connect to {self.description}: {exc}") from exc
        # Tickets are written in one go; Nagle would only delay the trailing cut command.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock

    def _connected(self) -> socket.socket:
        sock = self._sock
        if sock is not None and self._peer_closed(sock):
            self.close()
            sock = None
        if sock is None:
            self.open()
            sock = self._sock
            assert sock is not None
        return sock

    @staticmethod
    def _peer_closed(sock: socket.socket) -> bool:
        # Printers drop idle connections; a readable socket with nothing to peek is one of
        # those. Status bytes the printer sent on its own are left for `read` to drain.
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            sock.setblocking(False)
            try:
                return sock.recv(1, socket.MSG_PEEK) == b""
            finally:
                sock.setblocking(True)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True

    def write(self, data: bytes, timeout_s: float | None = None) -> None:
        limit = self.timeout_s if timeout_s is None else timeout_s
        sock = self._connected()
        sock.settimeout(limit)
        try:
            sock.sendall(data)
        except TimeoutError as exc:
            # Part of the job may be in the printer; the connection is no longer usable.
            self.close()
            raise DeviceTimeout(
                f"{self.description}: printer did not take the data within {limit:g} s"
            ) from exc
        except OSError as exc:
            self.close()
            raise DeviceUnavailable(f"{self.description} lost: {exc}") from exc

    def read(self, size: int, timeout_s: float) -> bytes:
        sock = self._connected()
        deadline = time.monotonic() + timeout_s
        out = bytearray()
        try:
            while len(out) < size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                sock.settimeout(remaining)
                try:
                    chunk = sock.recv(size - len(out))
                except TimeoutError:
                    break
                if not chunk:
                    self.close()
                    break
                out += chunk
        except OSError as exc:
            self.close()
            raise DeviceUnavailable(f"{self.description} lost: {exc}") from exc
        return bytes(out)

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None


def open_tcp(url: DeviceURL) -> TcpTransport:
    target = url.target.rstrip("/")
    if target.startswith("["):  # [fe80::1]:9100
        host, _, rest = target[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else str(DEFAULT_PORT)
    else:
        host, sep, port_text = target.partition(":")
        if not sep:
            port_text = str(DEFAULT_PORT)
    if not host:
        raise ValueError(f"{url}: no printer host (expected escpos+tcp://HOST:9100)")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"{url}: port {port_text!r} is not a number") from None
    transport = TcpTransport(
        host,
        port,
        timeout_s=url.float_option("timeout", 5.0),
        connect_timeout_s=url.float_option("connect_timeout", 1.5),
    )
    transport.open()
    return transport
