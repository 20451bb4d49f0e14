"""The Qt client against the branch server run with HTTPS (`branchq server --cert --key`):
its requests go over https:// and its event stream over wss://, and it comes online —
as each app builds it: the kiosk and the counter app with BranchClient, the manager's
console with ManagerClient, each with its own role's token.

The server is the real command in a child process, serving a certificate made for
127.0.0.1 that the client trusts the way a branch PC would (Qt's default trusted
certificates, here extended for this test and restored afterwards). A certificate the PC
does not trust is refused with a clear reason, and the client stops trying until told.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PySide6.QtNetwork import QSslCertificate, QSslConfiguration

from tools.harness import free_socket
from ui.client import BranchClient
from ui.manager.client import ManagerClient

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


# The client each app builds (kiosk/main.py, ui/counter/main.py, ui/manager/main.py).
APPS = {
    "kiosk": (BranchClient, "kiosk"),
    "counter": (BranchClient, "counter:1"),
    "manager": (ManagerClient, "manager"),
}


def issue_over_https(url: str, cert: Path, token: str) -> dict:
    """A ticket issued by another kiosk, over HTTPS verified against the branch certificate."""
    trust = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(base_url=url + "/api/v1", verify=trust, timeout=10) as kiosk:
        answer = kiosk.post("/tickets", json={"service": "A"}, headers={
            "Authorization": f"Bearer {token}", "Idempotency-Key": os.urandom(8).hex()
        })  # fmt: skip
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


@pytest.mark.parametrize("app", list(APPS))
def test_each_apps_client_comes_online_over_https_and_hears_events_over_wss(
    qtbot, https_server: tuple[str, Path], branch_db: tuple[Path, dict[str, str]], app: str
) -> None:
    url, cert = https_server
    _db, tokens = branch_db
    client_class, role = APPS[app]
    client = client_class(url, tokens[role], timeout_s=3.0, backoff_s=(0.1, 0.5))
    answers: list[object] = []
    with trusting(cert):
        try:
            client.start()
            qtbot.waitUntil(lambda: client.online and client.model.loaded, timeout=WAIT_MS)
            assert client.last_sync == "snapshot"  # the event stream came up over wss://
            assert client.base_url.startswith("https://")
            with qtbot.waitSignal(
                client.eventReceived,
                timeout=WAIT_MS,
                check_params_cb=lambda event: event.get("kind") == "ticket.issued",
            ) as heard:
                ticket = issue_over_https(url, cert, tokens["kiosk"])
            assert heard.args[0]["ticket"]["number"] == ticket["number"]  # live, over wss://
            assert any(t.get("number") == ticket["number"] for t in client.model.tickets.values())
            # The app's own requests go over https:// too.
            client.read_ticket(ticket["id"]).then(lambda data, error: answers.append(error or data))
            qtbot.waitUntil(lambda: bool(answers), timeout=WAIT_MS)
            assert isinstance(answers[0], dict), answers[0]
            assert answers[0]["number"] == ticket["number"]
        finally:
            client.stop()


def test_the_kiosk_issues_its_own_ticket_over_https(
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


def test_a_certificate_the_machine_does_not_trust_is_refused_clearly_and_not_retried(
    qtbot, https_server: tuple[str, Path], branch_db: tuple[Path, dict[str, str]]
) -> None:
    url, cert = https_server
    _db, tokens = branch_db
    client = BranchClient(url, tokens["kiosk"], timeout_s=3.0, backoff_s=(0.1, 0.5))
    try:
        with qtbot.waitSignal(client.streamRefused, timeout=WAIT_MS) as refused:
            client.start()
        reason = refused.args[0]
        assert reason == client.stream_error
        assert "certificate" in reason and "self signed" in reason.lower().replace("-", " ")
        assert client.stream_refused and not client.online and not client.model.loaded
        # Stopped, not retrying every backoff in silence: no attempt is waiting to run.
        assert not client.reconnect_scheduled
        # Once the PC trusts the branch certificate, asking again brings it online.
        with trusting(cert):
            client.reconnect()
            qtbot.waitUntil(lambda: client.online and client.model.loaded, timeout=WAIT_MS)
        assert not client.stream_refused and client.stream_error is None
    finally:
        client.stop()
