"""The fault proxy: a link reset under open connections ends them quietly."""

from __future__ import annotations

import socket
import threading

from tools.faultproxy import FaultProxy


def test_a_reset_under_open_connections_ends_their_pumps_without_an_error(monkeypatch):
    # Found by the central drill: set_mode("reset") closes the sockets a pump is selecting
    # on, and select() on a closed socket raises ValueError, which killed the thread noisily.
    errors: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    with socket.create_server(("127.0.0.1", 0)) as upstream:
        proxy = FaultProxy(upstream.getsockname()).start()
        try:
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as client:
                far, _ = upstream.accept()
                with far:
                    client.sendall(b"ping")
                    assert far.recv(4) == b"ping"
                    far.sendall(b"pong")
                    assert client.recv(4) == b"pong"  # both pumps are running
                    proxy.set_mode("reset")
                    pumps = proxy._threads[1:]
                    for t in pumps:
                        t.join(5)
                    assert not any(t.is_alive() for t in pumps)
        finally:
            proxy.stop()
    assert errors == []
