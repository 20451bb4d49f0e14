"""The one loopback harness: a scratch branch served by a real uvicorn on 127.0.0.1.

Benches, drills, the demo, the screenshots and the tests all need "the demo branch in a
temporary folder, a free port, a token per role, and a server that answers /health". Two
ways to serve it:

- `ThreadServer` / `ScratchBranch`: uvicorn in a thread of this process, for callers that
  want the engine at hand (tests, the hostile-input drill);
- `branch_process` / `start_server`: a `branchq server` child process, where a separate
  process is the point (kill -9, the server's own CPU or memory, a Qt app measured apart
  from the server).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

HOST = "127.0.0.1"
BRANCHQ = [sys.executable, "-m", "queue_server.cli"]
START_TIMEOUT_S = 30.0  # a server answering /health
STOP_TIMEOUT_S = 15.0
ROOT = Path(__file__).resolve().parents[1]  # the checkout: the folder above tools/
POLL_S = 0.05  # a process starting up: nothing to wait on but its port


def child_env() -> dict[str, str]:
    """The environment for a child process: offscreen Qt, and this checkout importable."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def branchq(*args: str) -> str:
    """Run one `branchq` command to completion; its standard output."""
    done = subprocess.run(
        [*BRANCHQ, *args], capture_output=True, text=True, env=child_env(), timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(f"branchq {' '.join(args[:2])} failed: {done.stderr[-1000:]}")
    return done.stdout


def free_socket(port: int = 0) -> socket.socket:
    """A loopback socket bound to `port` (0: any free port), reusable right after a close."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    return sock


def free_port() -> int:
    """A loopback port that was free a moment ago (for a child process to bind)."""
    with free_socket() as s:
        port: int = s.getsockname()[1]
        return port


def start_server(
    db: Path, port: int, log: IO[bytes], *extra: str, log_level: str = "warning"
) -> subprocess.Popen[bytes]:
    """`branchq server` on `db` as a child process, its output to `log`."""
    command = [*BRANCHQ, "server", "--db", str(db), "--host", HOST, "--port", str(port)]
    return subprocess.Popen(
        [*command, "--log-level", log_level, *extra],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=child_env(),
    )


def wait_healthy(
    base_url: str,
    server: subprocess.Popen[bytes] | None = None,
    timeout_s: float = START_TIMEOUT_S,
    poll_s: float = POLL_S,
) -> float:
    """Return once the server answers /health (seconds it took); raise if the child exits
    or it takes longer than `timeout_s`."""
    import httpx

    started = time.perf_counter()
    with httpx.Client(base_url=base_url + "/api/v1", timeout=2) as http:
        while True:
            if server is not None and server.poll() is not None:
                raise RuntimeError(f"the queue server exited with code {server.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if http.get("/health").status_code == 200:
                    return time.perf_counter() - started
            if time.perf_counter() - started > timeout_s:
                raise RuntimeError(f"the queue server did not answer within {timeout_s:.0f} s")
            time.sleep(poll_s)


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Terminate a child, and kill it if it has not gone after `timeout_s`."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def tail(path: Path, chars: int = 2000) -> str:
    """The end of a log file ('' when there is none)."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def client(base_url: str, token: str | None, **options: Any) -> Any:
    """An httpx.Client on the API with a bearer token (the caller closes it)."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    options.setdefault("timeout", 10)
    return httpx.Client(base_url=base_url + "/api/v1", headers=headers, **options)


# ------------------------------------------------------------------ in this process
def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 (the `cryptography` package is not a dependency;
    the openssl command line is on every Debian/Ubuntu machine)."""
    import shutil
    import subprocess

    openssl = shutil.which("openssl")
    assert openssl is not None, "openssl is a set-up dependency (the Makefile installs it)"
    cert, key = folder / "cert.pem", folder / "cert.key"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class ThreadServer:
    """A real uvicorn serving an ASGI app on 127.0.0.1, in a background thread."""

    def __init__(self, app: Any, port: int = 0, **uvicorn_options: Any) -> None:
        self.app = app
        self.port = port  # 0: any free port; an old port to "restart" at the same address
        self.options = {"log_level": "warning", "ws_ping_interval": None, **uvicorn_options}
        self.base_url = ""
        self.server: Any = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    def start(self, timeout_s: float = START_TIMEOUT_S) -> ThreadServer:
        import uvicorn

        sock = self._sock = free_socket(self.port)
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(self.app, **self.options))
        thread = self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        thread.start()
        self.base_url = f"http://{HOST}:{self.port}"
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the loopback server did not start")
            thread.join(0.01)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)
        if self._sock is not None:
            self._sock.close()  # free the port for a server restarted on it


class ScratchBranch:
    """The demo branch in a temporary folder with a token per role, served in this process."""

    ROLES = ("kiosk", "display", "manager", "admin")

    def __init__(self, **uvicorn_options: Any) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="branchq-scratch-")
        self.db = Path(self._dir.name) / "branch.db"
        self.tokens: dict[str, str] = {}
        self.spare_token_id = 0
        self.base_url = ""
        self._options = uvicorn_options
        self._server: ThreadServer | None = None

    def __enter__(self) -> ScratchBranch:
        from queue_server.api import create_app
        from queue_server.auth import create_token
        from queue_server.config import init_db, load_config
        from queue_server.security.limits import server_options
        from queue_server.storage import in_transaction
        from tools.demo import provision

        config = load_config(None)
        init_db(self.db, config)
        self.tokens = provision(self.db, config)
        self.spare_token_id, _ = in_transaction(self.db, create_token, "kiosk", "spare")
        options = {"log_level": "critical", **server_options(), **self._options}
        self._server = ThreadServer(create_app(self.db), **options).start()
        self.base_url = self._server.base_url
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.stop()
        self._dir.cleanup()


# ------------------------------------------------------------------ a child process
@dataclass(frozen=True)
class BranchProcess:
    """A running `branchq server` child: its URL, a token per role asked for, its folder."""

    base_url: str
    tokens: dict[str, str]
    folder: Path
    db: Path
    proc: subprocess.Popen[bytes]

    def client(self, role: str, **options: Any) -> Any:
        """An httpx.Client with `role`'s token (the caller closes it)."""
        return client(self.base_url, self.tokens[role], **options)


@contextlib.contextmanager
def branch_process(
    roles: Sequence[str],
    staff: Sequence[tuple[str, str]] = (),
    *,
    prefix: str = "branchq-",
    head_office_down: str | None = None,
) -> Iterator[BranchProcess]:
    """The demo branch in a temporary folder, served by a `branchq server` child process,
    set up the way an installer would (`branchq init`, `token create`, `staff add`).

    `roles`: one token each ("kiosk", "counter:1", …); `staff`: (staff id, PIN) to add;
    `head_office_down`: ship to a head office that is down (see `dead_head_office`).
    The server's log is printed (its end) when the body raises.
    """
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        shipping: list[str] = []
        if head_office_down is not None:
            shipping = stack.enter_context(dead_head_office(folder, head_office_down))
        db = folder / "branch.db"
        branchq("init", "--db", str(db))
        tokens = {}
        for role in roles:
            out = branchq("token", "create", "--db", str(db), "--role", role, "--name", "tools")
            tokens[role] = out.split()[-1]
        for staff_id, pin in staff:
            branchq("staff", "add", "--db", str(db), "--staff-id", staff_id, "--pin", pin)
        port = free_port()
        base_url = f"http://{HOST}:{port}"
        log_path = folder / "server.log"
        with log_path.open("wb") as log:
            server = start_server(db, port, log, *shipping)
        try:
            wait_healthy(base_url, server)
            yield BranchProcess(base_url, tokens, folder, db, server)
        except BaseException:
            end = tail(log_path)
            if end:
                print(f"server log (end):\n{end}", file=sys.stderr)
            raise
        finally:
            stop_process(server)


# ------------------------------------------------------------------ a head office that is down
DEAD_HEAD_OFFICE_MODES = ("blackhole", "refused")
DEAD_HEAD_OFFICE_BRANCH = "bench-branch"


@contextlib.contextmanager
def dead_head_office(folder: Path, mode: str) -> Iterator[list[str]]:
    """`branchq server` arguments that ship to a head office that is down, for as long as
    the block runs.

    "blackhole": the port takes connections (the kernel completes every handshake on a
    listening socket) and nothing ever answers, the worst case: each attempt waits out the
    shipper's timeout. "refused": nothing listens, every connection is refused at once.
    The token and CA are well-formed, so the server starts as an enrolled branch would."""
    if mode not in DEAD_HEAD_OFFICE_MODES:
        raise ValueError(f"a dead head office is one of {', '.join(DEAD_HEAD_OFFICE_MODES)}")
    cert, _ = self_signed_certificate(folder)
    token_file = folder / "head-office.token"
    token_file.write_text(f"bq1.{DEAD_HEAD_OFFICE_BRANCH}.{'x' * 43}", encoding="utf-8")
    with free_socket() as sock:
        port = sock.getsockname()[1]
        if mode == "blackhole":
            sock.listen(128)  # never accepted, never answered
        else:
            sock.close()  # the port stays unused: connections to it are refused
        yield [
            "--head-office", f"https://{HOST}:{port}",
            "--head-office-branch", DEAD_HEAD_OFFICE_BRANCH,
            "--head-office-token-file", str(token_file),
            "--head-office-ca", str(cert),
        ]  # fmt: skip
