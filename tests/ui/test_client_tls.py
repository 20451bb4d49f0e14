"""The Qt client against the branch server run with HTTPS (`branchq server --cert --key`):
its requests go over https:// and its event stream over wss://, and it comes online.

The server is the real command in a child process, serving a certificate made for
127.0.0.1 that the client trusts the way a branch PC would (Qt's default trusted
certificates, here extended for this test and restored afterwards).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PySide6.QtNetwork import QSslCertificate, QSslConfiguration

from tools.harness import free_socket
from ui.client import BranchClient

pytestmark = pytest.mark.slow
WAIT_MS = 10_000


def branch_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1, made with the openssl command."""
    openssl = shutil.which("openssl")
    assert openssl is not None, "openssl is a set-up dependency"
    cert, key = folder / "tls.pem", folder / "tls.key"
    make = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        [*make, "-keyout", str(key), "-out", str(cert), *subject],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextmanager
def trusting(cert: Path) -> Iterator[None]:
    """Qt's default trusted certificates plus `cert`, as on a PC the branch has set up."""
    before = QSslConfiguration.defaultConfiguration()
    config = QSslConfiguration.defaultConfiguration()
    config.addCaCertificates(QSslCertificate.fromPath(str(cert)))
    QSslConfiguration.setDefaultConfiguration(config)
    try:
        yield
    finally:
        QSslConfiguration.setDefaultConfiguration(before)


@pytest.fixture
def https_server(
    branch_db: tuple[Path, dict[str, str]], tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    """`branchq server` with --cert/--key on a free loopback port: its URL and certificate."""
    db, _tokens = branch_db
    cert, key = branch_certificate(tmp_path)
    probe = free_socket()
    port = probe.getsockname()[1]
    probe.close()
    command = [sys.executable, "-m", "queue_server.cli", "server", "--db", str(db)]
    command += ["--port", str(port), "--cert", str(cert), "--key", str(key)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    child = subprocess.Popen(
        [*command, "--log-level", "info"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert child.stdout is not None
    said = b""
    for line in iter(child.stdout.readline, b""):  # uvicorn says when it serves
        said += line
        if b"Uvicorn running on" in line:
            break
    else:
        child.wait(10)
        raise AssertionError(f"the HTTPS server did not start:\n{said.decode()}")
    try:
        yield f"https://127.0.0.1:{port}", cert
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)
        child.stdout.close()


def test_the_client_comes_online_over_https_and_hears_events_over_wss(
    qtbot, https_server: tuple[str, Path], branch_db: tuple[Path, dict[str, str]]
) -> None:
    url, cert = https_server
    _db, tokens = branch_db
    client = BranchClient(url, tokens["kiosk"], timeout_s=3.0, backoff_s=(0.1, 0.5))
    answers: list[object] = []
    with trusting(cert):
        try:
            client.start()
            qtbot.waitUntil(lambda: client.online and client.model.loaded, timeout=WAIT_MS)
            assert client.last_sync == "snapshot"  # the event stream came up over wss://
            with qtbot.waitSignal(
                client.eventReceived,
                timeout=WAIT_MS,
                check_params_cb=lambda event: str(event.get("kind", "")).startswith("ticket."),
            ):
                client.issue_ticket("A").then(lambda data, error: answers.append(error or data))
            qtbot.waitUntil(lambda: bool(answers), timeout=WAIT_MS)
            ticket = answers[0]
            assert isinstance(ticket, dict), ticket  # issued over https://
            assert any(t.get("number") == ticket["number"] for t in client.model.tickets.values())
        finally:
            client.stop()


def test_a_certificate_the_machine_does_not_trust_keeps_the_client_offline(
    qtbot, https_server: tuple[str, Path], branch_db: tuple[Path, dict[str, str]]
) -> None:
    url, _cert = https_server
    _db, tokens = branch_db
    client = BranchClient(url, tokens["kiosk"], timeout_s=3.0, backoff_s=(0.1, 0.5))
    try:
        client.start()
        qtbot.waitUntil(lambda: client.stream_error is not None, timeout=WAIT_MS)
        assert not client.online
        assert not client.model.loaded
    finally:
        client.stop()
