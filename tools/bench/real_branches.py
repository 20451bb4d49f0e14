"""Real branch servers linked to a real centre, and the traffic that keeps them busy.

Shared by `branchq bench central` (real branches among its emitters) and `branchq drill
config-rollout` (a network of real branches taking a configuration from the centre): each
branch is a `branchq server` process with its own database, enrolled at the centre and
shipping to it; `RealBranch.step` drives one command's worth of a busy hall through its HTTP
API, and tells `answers` (when set) of every answer it got.
"""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
START_TIMEOUT_S = 120.0
SERVICES = ("A", "B", "C")  # what the driver's kiosk issues: every window serves them

# (branch, action, counter or None, response, seconds it took)
Answers = Callable[["RealBranch", str, int | None, httpx.Response, float], None]


@dataclass
class RealBranch:
    """A real `branchq server` process with its own database, shipping through its own
    shipper to the centre, and a small driver of its traffic through its HTTP API."""

    branch: str
    folder: Path
    port: int
    tokens: dict[str, str]
    counters: list[int]
    proc: subprocess.Popen[bytes] | None = None
    busy: dict[int, str] = field(default_factory=dict)  # counter → its next step
    server_args: tuple[str, ...] = ()  # what `launch` starts it with
    answers: Answers | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    @property
    def db(self) -> Path:
        return self.folder / "branch.db"

    def launch(self) -> None:
        """Start the server process (again: same database, port and arguments)."""
        from tools.harness import start_server

        with (self.folder / "server.log").open("ab") as log:
            self.proc = start_server(self.db, self.port, log, *self.server_args)

    async def step(self, http: httpx.AsyncClient, rng: random.Random) -> None:
        """One commit's worth of traffic: a ticket, or a counter's next step."""
        idle = [n for n in self.counters if n not in self.busy]
        if rng.random() < 0.35 or (not self.busy and not idle):
            await self.issue(http, rng.choice(SERVICES))
            return
        if idle and (not self.busy or rng.random() < 0.5):
            n = rng.choice(idle)
            r = await self._post(http, "call-next", n, f"/counters/{n}/call-next")
            if r.json().get("ticket") is not None:
                self.busy[n] = "start"
            return
        n = rng.choice(list(self.busy))
        action = self.busy[n]
        await self._post(http, action, n, f"/counters/{n}/{action}")
        if action == "start":
            self.busy[n] = "finish"
        else:
            del self.busy[n]

    async def issue(self, http: httpx.AsyncClient, service: str) -> httpx.Response:
        """A kiosk's ticket for `service`."""
        return await self._post(http, "issue", None, "/tickets", {"service": service})

    async def _post(
        self,
        http: httpx.AsyncClient,
        action: str,
        counter: int | None,
        path: str,
        body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        role = "kiosk" if counter is None else f"counter:{counter}"
        started = time.monotonic()
        r = await http.post(self.base + path, json=body, headers=self._auth(role))
        if self.answers is not None:
            self.answers(self, action, counter, r, time.monotonic() - started)
        r.raise_for_status()
        return r

    def _auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def _counter(self, n: int) -> dict[str, str]:
        return self._auth(f"counter:{n}")


def start_real_branches(
    root: Path,
    dsn: str,
    centre_url: str,
    ca: Path,
    count: int,
    out: list[RealBranch],
    *,
    counters: int = 3,
    extra: Sequence[str] = (),
    prefix: str = "R",
) -> None:
    """Start `count` real branches into `out` (the caller's list, so the caller stops every
    one that started even when a later one fails), each with `extra` server arguments, and
    sign a teller in at every window."""
    import psycopg

    from central.branches import enrol
    from queue_server.config import init_db
    from tools.bench.server import bench_config
    from tools.demo import provision
    from tools.harness import free_port

    config = bench_config(counters)  # each teller's PIN is an argon2 hash: fewer start quicker
    for k in range(count):
        branch = f"{prefix}{k:03d}"
        folder = root / branch
        folder.mkdir()
        init_db(folder / "branch.db", config)
        tokens = provision(folder / "branch.db", config)
        with psycopg.connect(dsn) as conn:
            token = enrol(conn, branch, f"实体支行 {k}", "real")
        (folder / "token").write_text(token)
        rb = RealBranch(branch, folder, free_port(), tokens, [c.number for c in config.counters])
        rb.server_args = (
            "--head-office", centre_url, "--head-office-branch", branch,
            "--head-office-token-file", str(folder / "token"), "--head-office-ca", str(ca),
            *extra,
        )  # fmt: skip
        rb.launch()
        out.append(rb)
    sign_in_everywhere(out)


def sign_in_everywhere(branches: list[RealBranch]) -> None:
    """Wait for each branch to answer, then sign a teller in at each of its windows."""
    from tools.demo import DEMO_PIN
    from tools.harness import wait_healthy

    for rb in branches:
        # Started side by side, tens of them share the machine's cores while they import.
        wait_healthy(f"http://127.0.0.1:{rb.port}", rb.proc, timeout_s=START_TIMEOUT_S)
        with httpx.Client(timeout=TIMEOUT) as http:
            for n in rb.counters:
                body = {"staff_id": f"t{n:02d}", "pin": DEMO_PIN}
                r = http.post(f"{rb.base}/counters/{n}/sign-in", json=body, headers=rb._counter(n))
                r.raise_for_status()


def centre_process(
    dsn: str,
    port: int,
    logfile: Path,
    cert: Path,
    key: Path,
    *,
    signing_key: Path | None = None,
    pool_size: int = 12,
) -> subprocess.Popen[bytes]:
    """`branchq central serve` over HTTPS as a child process, once it accepts connections."""
    exe = Path(sys.executable).with_name("branchq")
    cmd = [
        str(exe), "central", "serve", "--dsn", dsn, "--port", str(port),
        "--pool-size", str(pool_size), "--tls-cert", str(cert), "--tls-key", str(key),
    ]  # fmt: skip
    if signing_key is not None:
        cmd += ["--signing-key", str(signing_key)]
    with logfile.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return proc
        if proc.poll() is not None:
            raise RuntimeError(f"the centre exited: {logfile.read_text()[-2000:]}")
        time.sleep(0.05)  # another process's port: nothing to wait on but polling it
    proc.kill()
    raise RuntimeError("the centre did not start within 30 s")
