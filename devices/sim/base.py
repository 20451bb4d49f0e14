"""Simulated devices on real ptys and loopback TCP sockets, each served by a thread.

A subclass implements `handle(data) -> reply`: it receives the bytes the host wrote (as
they arrive, possibly split or merged) and returns what the device answers. The host side
opens `path` (a /dev/pts/N) or `url` exactly as it would open the real device.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import termios
import threading
import tty
from typing import Self


class _Served:
    """Thread lifecycle shared by both transports."""

    name = "device"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.received = bytearray()  # everything the host ever wrote, for assertions
        self.lock = threading.RLock()

    def handle(self, data: bytes) -> bytes:
        """Bytes the host wrote → bytes the device answers (maybe none)."""
        raise NotImplementedError

    def _serve(self) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._serve, name=f"sim-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _feed(self, data: bytes) -> bytes:
        with self.lock:
            self.received += data
            return self.handle(data)


class PtyDevice(_Served):
    """A device at the far end of a pseudo-terminal; the host opens `path`."""

    def __init__(self) -> None:
        super().__init__()
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        attrs = termios.tcgetattr(self._slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        self.path = os.ttyname(self._slave)

    @property
    def url(self) -> str:
        return self.path

    def send(self, data: bytes) -> None:
        """Unsolicited bytes from the device (a key pressed, a card placed)."""
        with self.lock:
            os.write(self._master, data)

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([self._master], [], [], 0.05)
                if not ready:
                    continue
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    continue  # no host has the slave open right now
                if data:
                    reply = self._feed(data)
                    if reply:
                        os.write(self._master, reply)
        finally:
            for fd in (self._master, self._slave):
                with contextlib.suppress(OSError):
                    os.close(fd)


class TcpDevice(_Served):
    """A device listening on 127.0.0.1 (e.g. a network printer on port 9100)."""

    def __init__(self, port: int = 0) -> None:
        super().__init__()
        self._listener = socket.create_server(("127.0.0.1", port))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.connections = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    conn, _ = self._listener.accept()
                except TimeoutError:
                    continue
                self.connections += 1
                with conn:
                    conn.settimeout(0.05)
                    self._session(conn)
        finally:
            self._listener.close()

    def _session(self, conn: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                self.closed_session()
                return
            reply = self._feed(data)
            if reply:
                with contextlib.suppress(OSError):
                    conn.sendall(reply)

    def closed_session(self) -> None:
        """The host closed its connection (a print job may be complete)."""
