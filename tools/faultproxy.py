"""A TCP fault proxy on loopback: a link that can be cut, blackholed or reset on demand.

    proxy = FaultProxy(("127.0.0.1", centre_port)).start()   # proxy.port: connect here
    proxy.set_mode("blackhole")   # bytes are taken and never passed on, nothing answers
    proxy.set_mode("reset")       # every connection, open or new, is reset (RST)
    proxy.set_mode("drop")        # every connection, open or new, is closed (FIN)
    proxy.set_mode("pass")        # a working link again

Modes apply to open connections at once, so a client mid-request sees the fault. Used by
the shipper's tests and the head-office drills.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from typing import Literal

Mode = Literal["pass", "blackhole", "reset", "drop"]
HOST = "127.0.0.1"
POLL_S = 0.02  # how soon a pump sees a new mode


class FaultProxy:
    def __init__(self, target: tuple[str, int], port: int = 0) -> None:
        self.target = target
        self.mode: Mode = "pass"
        self.changed = threading.Condition()
        self.connections = 0  # accepted so far
        self.swallowed = 0  # bytes taken in blackhole mode
        self._listener = socket.create_server((HOST, port))
        self.port: int = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> FaultProxy:
        self._spawn(self._accept)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        self._close_all(reset=False)
        for t in self._threads:
            t.join(2)

    def set_mode(self, mode: Mode) -> None:
        with self.changed:
            self.mode = mode
            self.changed.notify_all()
        if mode in ("reset", "drop"):
            self._close_all(reset=mode == "reset")

    def wait_for(self, predicate: object, timeout: float = 10.0) -> bool:
        """Wait until `predicate()` holds (checked on every connection and swallowed byte)."""
        assert callable(predicate)
        with self.changed:
            return bool(self.changed.wait_for(predicate, timeout))

    # ---------------------------------------------------------------- internals
    def _spawn(self, target: object, *args: object) -> None:
        assert callable(target)
        t = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._listener], [], [], POLL_S * 5)
                if not ready:
                    continue
                client, _ = self._listener.accept()
            except OSError:
                return
            with self.changed:
                self.connections += 1
                mode = self.mode
                self.changed.notify_all()
            if mode in ("reset", "drop"):
                _close(client, reset=mode == "reset")
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client, reset=True)  # the far end is down: the client sees a reset
                continue
            self._open.update((client, upstream))
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([source], [], [], POLL_S)
                if not ready:
                    continue
                data = source.recv(65536)
                if not data:
                    break
                if self.mode == "blackhole":
                    with self.changed:
                        self.swallowed += len(data)
                        self.changed.notify_all()
                    continue
                sink.sendall(data)
        except (OSError, ValueError):  # ValueError: set_mode closed the socket under us
            pass
        finally:
            if self.mode != "blackhole":
                self._forget(source, sink)

    def _forget(self, *socks: socket.socket) -> None:
        for s in socks:
            self._open.discard(s)
            _close(s, reset=False)

    def _close_all(self, *, reset: bool) -> None:
        for s in list(self._open):
            self._open.discard(s)
            _close(s, reset=reset)


def _close(sock: socket.socket, *, reset: bool) -> None:
    try:
        if reset:  # linger 0: close sends RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass
