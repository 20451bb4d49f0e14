"""`branchq demo --network N`: a local head office and N branches shipping to it.

Everything is real and on loopback: a throwaway PostgreSQL (removed at exit), the centre
(`branchq central serve`) over HTTPS with a self-signed certificate (the branch shipper
only ships over HTTPS and checks the centre against a CA file: here the certificate
itself), and N `branchq server` processes, each on its own port and database with the
`--head-office*` flags. Simulated customers and tellers (tools/demo_traffic.py) work every
branch through its HTTP API, some branches busier than their tellers can serve, so the
console's network table shows amber and red rows within a couple of minutes.

The centre measures waits on its own clock against the events' times, so the branch
servers run on real time. To see queues build in minutes rather than hours, each branch
is configured with its business's service times and wait targets divided by `speed`, and
its simulated tellers work `speed` times faster than the demo branch's: the same shape of
day, compressed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import secrets
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from queue_server.config import DEMO_CONFIG, BranchConfig, init_db, load_config
from tools.demo import provision
from tools.demo_traffic import DemoClock, DemoTraffic, RealTimePacer
from tools.harness import (
    BRANCHQ,
    HOST,
    child_env,
    free_port,
    self_signed_certificate,
    stop_process,
    tail,
    wait_healthy,
)
from tools.pgcluster import Cluster

POLL_S = 0.05  # a process starting up: nothing to wait on but its port
MAX_BRANCHES = 12  # each branch is a server process and a share of two cores
CENTRE_START_S = 30.0
REGIONS = {"east": "华东区", "north": "华北区"}
# Branch id, name, region, and its traffic as a multiple of the calm load: over 1 the
# queue outgrows the tellers (red before long), near 1 it hovers near target (amber now
# and then), under 1 it stays green. Regions alternate so two branches cover both.
BRANCHES = (
    ("sh-lujiazui", "上海陆家嘴支行", "east", 2.2),
    ("bj-guomao", "北京国贸支行", "north", 0.6),
    ("sh-xujiahui", "上海徐家汇支行", "east", 1.15),
    ("tj-binhai", "天津滨海支行", "north", 1.6),
    ("hz-xihu", "杭州西湖支行", "east", 0.7),
    ("bj-zhongguancun", "北京中关村支行", "north", 1.1),
    ("nj-xinjiekou", "南京新街口支行", "east", 0.8),
    ("sjz-yuhua", "石家庄裕华支行", "north", 0.9),
)


class NetworkDemoError(RuntimeError):
    """The network demo could not be set up (said in one line)."""


@dataclass(frozen=True)
class NetworkOptions:
    branches: int
    central_port: int  # 0: any free port
    first_port: int  # branch k listens on first_port + k; 0: any free ports
    var: Path
    speed: float
    duration: float | None


@dataclass(frozen=True)
class DemoBranch:
    id: str
    name: str
    region: str
    load: float
    port: int
    db: Path
    tokens: dict[str, str]

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"


def plan_branches(n: int, first_port: int) -> list[tuple[str, str, str, float, int]]:
    """The first `n` demo branches with their ports (distinct names past the list's end)."""
    if not 1 <= n <= MAX_BRANCHES:
        raise NetworkDemoError(f"--network takes 1 to {MAX_BRANCHES} branches, not {n}")
    plan = []
    for k in range(n):
        if k < len(BRANCHES):
            bid, name, region, load = BRANCHES[k]
        else:
            region = "east" if k % 2 == 0 else "north"
            bid, name, load = f"demo-{k + 1:02d}", f"{REGIONS[region][:2]}第{k + 1}支行", 1.0
        port = first_port + 1 + k if first_port else free_port()
        plan.append((bid, name, region, load, port))
    return plan


def compressed(cfg: BranchConfig, branch: str, name: str, speed: float) -> BranchConfig:
    """The demo branch as `name`, its service times and wait targets divided by `speed`."""
    services = tuple(
        dataclasses.replace(
            s,
            mean_service_s=max(5, round(s.mean_service_s / speed)),
            target_wait_s=max(10, round(s.target_wait_s / speed)),
        )
        for s in cfg.services
    )
    settings = dataclasses.replace(cfg.settings, name=name, branch_id=branch)
    return dataclasses.replace(cfg, settings=settings, services=services)


def _die_with_parent() -> None:
    # A child whose demo is killed (kill -9, a closed terminal) ends too instead of holding
    # its port: Linux sends it SIGTERM when the parent goes (prctl PR_SET_PDEATHSIG).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [*BRANCHQ, *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env(),
            preexec_fn=_die_with_parent,
        )


def _wait_centre(url: str, ca: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until the centre answers its console page over HTTPS (checked against `ca`)."""
    deadline = time.monotonic() + CENTRE_START_S
    with httpx.Client(verify=str(ca), timeout=2) as http:
        while True:
            if proc.poll() is not None:
                raise NetworkDemoError(f"the centre exited ({proc.returncode}):\n{tail(log)}")
            with contextlib.suppress(httpx.HTTPError):
                if http.get(url + "/console").status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise NetworkDemoError(f"the centre did not answer within {CENTRE_START_S:.0f} s")
            time.sleep(POLL_S)


def run_network_demo(opts: NetworkOptions) -> int:
    """Set the network up, run its traffic until Ctrl-C (or `duration`), take it down.

    Every process and the database are undone in reverse order on the way out, whatever
    ends the demo (Ctrl-C raises KeyboardInterrupt through here: the CLI exits 130)."""
    plan = plan_branches(opts.branches, opts.first_port)
    folder = opts.var / "network"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    central_port = opts.central_port or free_port()
    centre_url = f"https://{HOST}:{central_port}"
    with contextlib.ExitStack() as undo:
        # A `kill` (SIGTERM) ends the demo as Ctrl-C does, through the undo below: left to
        # its default, it would end this process at once and leave PostgreSQL running (it
        # is not our child: pg_ctl detaches it).
        previous = signal.signal(signal.SIGTERM, _interrupt)
        undo.callback(signal.signal, signal.SIGTERM, previous)
        pg = Cluster()
        undo.callback(pg.remove)
        pg.start()
        dsn = pg.create_database("central")
        _branchq_ok("central", "migrate", "--dsn", dsn)
        passwords, shipping_tokens = _enrol(dsn, plan)
        # The centre's signing key and the template every branch starts from (the demo
        # branch's catalogue), its first version published: each branch applies it as it
        # comes up, and the console's configuration page has something to edit and publish.
        signing_key, verify_key = folder / "centre-signing.key", folder / "centre-verify.pem"
        _publish_template(dsn, signing_key, verify_key, opts.speed)
        cert, key = self_signed_certificate(folder)
        centre_log = folder / "centre.log"
        centre = _spawn(
            ["central", "serve", "--dsn", dsn, "--host", HOST, "--port", str(central_port),
             "--tls-cert", str(cert), "--tls-key", str(key), "--signing-key", str(signing_key)],
            centre_log,
        )  # fmt: skip
        undo.callback(stop_process, centre)
        base_cfg = load_config(None)

        def prepare(bid: str, name: str, region: str, load: float, port: int) -> DemoBranch:
            db = folder / f"{bid}.db"
            cfg = compressed(base_cfg, bid, name, opts.speed)
            init_db(db, cfg)
            (folder / f"{bid}.token").write_text(shipping_tokens[bid])
            (folder / f"{bid}.token").chmod(0o600)
            return DemoBranch(bid, name, region, load, port, db, provision(db, cfg))

        # Each branch's tellers get argon2-hashed PINs (slow on purpose, and outside the
        # GIL): the branches are set up side by side while the centre starts.
        with ThreadPoolExecutor(max_workers=len(plan)) as pool:
            branches = list(pool.map(lambda p: prepare(*p), plan))
        # The branches after the centre answers: a shipper that found it down would back
        # off for seconds, and the console would show them unheard of meanwhile.
        _wait_centre(centre_url, cert, centre, centre_log)
        servers: list[subprocess.Popen[bytes]] = []
        for b in branches:
            server = _spawn(
                ["server", "--db", str(b.db), "--host", HOST, "--port", str(b.port),
                 "--log-level", "warning", "--head-office", centre_url,
                 "--head-office-branch", b.id,
                 "--head-office-token-file", str(folder / f"{b.id}.token"),
                 "--head-office-ca", str(cert), "--head-office-verify-key", str(verify_key)],
                folder / f"{b.id}.log",
            )  # fmt: skip
            undo.callback(stop_process, server)
            servers.append(server)
        for b, server in zip(branches, servers, strict=True):
            wait_healthy(b.base, server)
        _banner(opts, centre_url, cert, passwords, branches, servers, centre, pg, folder)
        asyncio.run(_traffic(branches, base_cfg, opts))
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _branchq_ok(*args: str) -> None:
    done = subprocess.run(
        [*BRANCHQ, *args], capture_output=True, text=True, env=child_env(), timeout=60
    )
    if done.returncode != 0:
        raise NetworkDemoError(f"branchq {' '.join(args[:2])} failed: {done.stderr[-1000:]}")


def _enrol(
    dsn: str, plan: list[tuple[str, str, str, float, int]]
) -> tuple[dict[str, str], dict[str, str]]:
    """Enrol every branch in its region, and add the console's two accounts: passwords
    drawn afresh each run (printed once), shipping tokens by branch."""
    import psycopg

    from central.accounts import add_account
    from central.branches import enrol

    passwords = {"hq": secrets.token_urlsafe(9), "east": secrets.token_urlsafe(9)}
    tokens = {}
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        for bid, name, region, _, _ in plan:
            tokens[bid] = enrol(conn, bid, name, region, REGIONS[region])
        add_account(conn, "hq", passwords["hq"], "head_office", None)
        add_account(conn, "east", passwords["east"], "regional", "east")
    return passwords, tokens


def _publish_template(dsn: str, signing_key: Path, verify_key: Path, speed: float) -> None:
    """The demo catalogue as the network's template, its times divided by `speed` as the
    branches' own are (`compressed`), its first version published to every branch."""
    import tomllib

    import psycopg

    from central import signing
    from central.config_merge import catalogue_from_branch
    from central.storage import config

    signer = signing.create(signing_key)  # what `branchq central keygen` does
    verify_key.write_bytes(signer.public_pem())
    catalogue = catalogue_from_branch(tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8")))
    # The demo runs at any hour of any day: branch-wide hours would turn its walk-ins away.
    del catalogue["opening_hours"]
    for service in catalogue["services"]:
        for key in ("target_wait_min", "mean_min"):
            if key in service:
                service[key] = round(service[key] / speed, 3)
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        version = config.save_template(
            conn, catalogue, saved_by="hq", based_on=None, note="演示首版 demo first version"
        )
        config.publish_config(conn, signer, version, published_by="hq")


def _banner(
    opts: NetworkOptions,
    centre_url: str,
    cert: Path,
    passwords: dict[str, str],
    branches: list[DemoBranch],
    servers: list[subprocess.Popen[bytes]],
    centre: subprocess.Popen[bytes],
    pg: Cluster,
    folder: Path,
) -> None:
    say = _say
    say(f"\nBranchQ network demo — a head office and {len(branches)} branches")
    say(f"  console      {centre_url}/console")
    say(f"               (HTTPS with a self-signed certificate for {HOST}: the browser warns")
    say(f"               once; or trust {cert})")
    say(f"  sign in      hq / {passwords['hq']}   (head office: every branch)")
    say(f"               east / {passwords['east']}   (regional manager: {REGIONS['east']})")
    say(f"  centre       process {centre.pid}, log {folder / 'centre.log'}")
    say(f"  PostgreSQL   process {pg.postmaster_pid()}, in {pg.root} (removed at exit)")
    for b, server in zip(branches, servers, strict=True):
        pace = "busy" if b.load > 1.3 else "near target" if b.load >= 1 else "calm"
        say(
            f"  branch       {b.id} {b.name} ({REGIONS[b.region]}) {b.base} "
            f"process {server.pid}, {pace}"
        )
    say(
        f"  time         service times and wait targets are the demo branch's ÷ {opts.speed:g}, "
        "so queues build in minutes"
    )
    say("  Ctrl-C stops everything.\n")


async def _traffic(branches: list[DemoBranch], cfg: BranchConfig, opts: NetworkOptions) -> None:
    """Every branch's simulated customers and tellers, until cancelled (or `duration`)."""

    async def one(b: DemoBranch, seed: int) -> None:
        # The tellers follow the uncompressed config on a clock `speed` times faster: their
        # minutes pass as the compressed branch's seconds.
        pacer = RealTimePacer(DemoClock(datetime.now(UTC), opts.speed))
        async with httpx.AsyncClient(base_url=b.base + "/api/v1", timeout=5) as http:
            await DemoTraffic(http, cfg, b.tokens, pacer, seed=seed, load=b.load).run()

    work = asyncio.gather(*(one(b, k) for k, b in enumerate(branches)))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(work, opts.duration)


def _say(line: str) -> None:
    print(line, flush=True)
