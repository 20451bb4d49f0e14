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
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
START_TIMEOUT_S = 120.0
# Where branch servers listen: below Linux's ephemeral range (32768–60999). A port from that
# range (`harness.free_port`) was free when picked, but tens of branches starting for a
# minute — and a stopped branch away for longer — each give the kernel time to hand it to an
# outgoing connection (the shippers', the drivers', other tests'): at 50 branches two servers
# failed to bind. Nothing is handed a port below that range unless it asks for it.
LISTEN_PORTS = range(20000, 32768)
_given: set[int] = set()  # picked in this process: free until their servers bind them
STARTING_AT_ONCE = 8  # branch servers started and signed in side by side
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
    calling_policy: str | None = None,
) -> None:
    """Start `count` real branches into `out` (the caller's list, so the caller stops every
    one that started even when a later one fails), each with `extra` server arguments and
    running `calling_policy` (None: the default), and sign a teller in at every window."""
    import psycopg

    from central.branches import enrol

    # One branch database made, the rest copies: each teller's PIN is an argon2 hash, slow on
    # purpose, and a copy holds the same hashes and tokens (each server still has its own file).
    template = root / "template.db"
    tokens = make_branch(template, counters, calling_policy)
    numbers = list(range(1, counters + 1))
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        for k in range(count):
            branch = f"{prefix}{k:03d}"
            folder = root / branch
            folder.mkdir()
            shutil.copyfile(template, folder / "branch.db")
            (folder / "token").write_text(enrol(conn, branch, f"实体支行 {k}", "real"))
            rb = RealBranch(branch, folder, listening_port(), dict(tokens), numbers)
            rb.server_args = (
                "--head-office", centre_url, "--head-office-branch", branch,
                "--head-office-token-file", str(folder / "token"), "--head-office-ca", str(ca),
                *extra,
            )  # fmt: skip
            out.append(rb)
    start_and_sign_in(out)


def listening_port() -> int:
    """A loopback port outside the ephemeral range, free now and not picked before here."""
    from tools.harness import free_socket

    ports = list(LISTEN_PORTS)
    random.shuffle(ports)  # another run beside this one starts elsewhere in the range
    for port in ports:
        if port in _given:
            continue
        with contextlib.suppress(OSError), free_socket(port):
            _given.add(port)
            return port
    raise RuntimeError(f"no free port in {LISTEN_PORTS}")


def make_branch(db: Path, counters: int, calling_policy: str | None) -> dict[str, str]:
    """A branch database with the demo businesses, `counters` windows serving all of them and
    a teller for each; its tokens by role."""
    from queue_server.config import init_db
    from tools.bench.server import bench_config
    from tools.demo import provision

    config = replace(bench_config(counters), calling_policy=calling_policy)
    init_db(db, config)
    return provision(db, config)


def start_and_sign_in(branches: list[RealBranch]) -> None:
    """Start each branch, wait for it to answer, then sign a teller in at each window;
    `STARTING_AT_ONCE` branches side by side: one at a time adds up, and fifty importing at
    once on two cores would each spend their start timeout waiting on the others."""
    with ThreadPoolExecutor(min(len(branches), STARTING_AT_ONCE) or 1) as pool:
        for done in [pool.submit(_start_and_sign_in, rb) for rb in branches]:
            done.result()


def _start_and_sign_in(rb: RealBranch) -> None:
    from tools.demo import DEMO_PIN
    from tools.harness import wait_healthy

    rb.launch()
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
