"""`branchq server` binds to loopback unless told otherwise, and serves HTTPS with a
branch certificate."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from queue_server.cli import build_parser
from tools.harness import free_socket, self_signed_certificate

pytestmark = pytest.mark.slow


def test_the_server_listens_on_loopback_unless_told_otherwise():
    args = build_parser().parse_args(["server"])
    assert args.host == "127.0.0.1"
    assert args.cert is None and args.key is None
    lan = build_parser().parse_args(["server", "--host", "0.0.0.0", "--cert", "c", "--key", "k"])
    assert (lan.host, lan.cert, lan.key) == ("0.0.0.0", "c", "k")


def test_a_certificate_without_its_key_is_refused(tmp_path, capsys):
    from queue_server.cli import main

    assert main(["server", "--db", str(tmp_path / "b.db"), "--cert", "x.pem"]) == 2
    assert "--key" in capsys.readouterr().err


def test_the_server_serves_https_with_a_branch_certificate(tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    command = [sys.executable, "-m", "queue_server.cli", "server", "--db", str(tmp_path / "b.db")]
    command += ["--port", str(port), "--cert", str(cert), "--key", str(key)]
    server = subprocess.Popen(
        [*command, "--log-level", "info"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        trust = ssl.create_default_context(cafile=str(cert))
        # Wait for uvicorn to say it is serving (its own line), not by polling the port.
        assert server.stdout is not None
        seen = b""
        for line in iter(server.stdout.readline, b""):
            seen += line
            if b"Uvicorn running on" in line:
                break
        else:
            raise AssertionError(f"HTTPS server did not come up:\n{seen.decode()}")
        response = httpx.get(f"https://127.0.0.1:{port}/api/v1/health", verify=trust, timeout=5)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert response.headers["x-content-type-options"] == "nosniff"
        # Plain HTTP on the TLS port gets no answer from the API.
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).raise_for_status()
        # Bound to loopback only: the port is not open on the machine's other addresses.
        other = _non_loopback_address()
        if other is not None:
            with pytest.raises(OSError):
                socket.create_connection((other, port), timeout=1).close()
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
        if server.stdout:
            server.stdout.close()


def _non_loopback_address() -> str | None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # no packet is sent; picks the outward address
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address
