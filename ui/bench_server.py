"""A real queue server in a subprocess, with device tokens and staff, for the apps' benchmarks.

`branchq bench kiosk` and `branchq bench counter` both measure a Qt app against a server
that is not in their process, set up the way an installer would: `branchq init`, `branchq
token create`, `branchq staff add`, then `branchq server` on a free loopback port. The apps
never import the server's code, so neither does this module: it runs the `branchq` command.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BRANCHQ = [sys.executable, "-m", "queue_server.cli"]
START_TIMEOUT_S = 30.0  # the server answering /health
STOP_TIMEOUT_S = 15.0


def child_env() -> dict[str, str]:
    """The environment for a child process: offscreen Qt, and this checkout importable."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    package_parent = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    return env


def branchq(*args: str) -> str:
    """Run one `branchq` command; its standard output."""
    done = subprocess.run(
        [*BRANCHQ, *args], capture_output=True, text=True, env=child_env(), timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(f"branchq {' '.join(args[:2])} failed: {done.stderr[-1000:]}")
    return done.stdout


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_healthy(base_url: str, server: subprocess.Popen[bytes]) -> None:
    """Return once the server answers /health; raise if it exits or takes too long."""
    import httpx

    deadline = time.perf_counter() + START_TIMEOUT_S
    with httpx.Client(base_url=base_url + "/api/v1", timeout=5) as http:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the queue server exited with code {server.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if http.get("/health").status_code == 200:
                    return
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the queue server did not answer within {START_TIMEOUT_S} s")
            time.sleep(0.05)  # a process starting up: nothing to wait on but the port


@dataclass(frozen=True)
class BenchServer:
    """A running `branchq server`: its URL, a token per role asked for, its folder."""

    base_url: str
    tokens: dict[str, str]
    folder: Path
    db: Path

    def client(self, role: str, **options: Any) -> Any:
        """An httpx.Client with `role`'s token (the caller closes it)."""
        import httpx

        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return httpx.Client(
            base_url=self.base_url + "/api/v1", headers=headers, timeout=10, **options
        )


@contextlib.contextmanager
def bench_server(
    roles: Sequence[str], staff: Sequence[tuple[str, str]] = (), *, prefix: str = "branchq-bench-"
) -> Iterator[BenchServer]:
    """The demo branch in a temporary folder, served by a `branchq server` subprocess.

    `roles`: one token each ("kiosk", "counter:1", …); `staff`: (staff id, PIN) to add.
    The server's log is printed (its end) when the body raises.
    """
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        folder = Path(tmp)
        db = folder / "bench.db"
        branchq("init", "--db", str(db))
        tokens = {}
        for role in roles:
            out = branchq("token", "create", "--db", str(db), "--role", role, "--name", "bench")
            tokens[role] = out.split()[-1]
        for staff_id, pin in staff:
            branchq("staff", "add", "--db", str(db), "--staff-id", staff_id, "--pin", pin)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        log_path = folder / "server.log"
        command = [*BRANCHQ, "server", "--db", str(db), "--port", str(port)]
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [*command, "--log-level", "warning"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_env(),
            )
            try:
                wait_healthy(base_url, server)
                yield BenchServer(base_url, tokens, folder, db)
            except BaseException:
                tail = log_path.read_text(errors="replace")[-2000:]
                if tail:
                    print(f"server log (end):\n{tail}", file=sys.stderr)
                raise
            finally:
                stop_process(server)


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Terminate a child, and kill it if it has not gone after `timeout_s`."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
