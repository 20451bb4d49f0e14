"""`branchq demo`: a fresh demo branch with tokens, staff and (optionally) live traffic.

Traffic goes through the real HTTP API, the way kiosks and counters use it, so the event
stream a display or manager console subscribes to is alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets

from devices.simset import SimSet, start_simulators

from .api import create_app
from .auth import add_staff, create_token
from .bushub import run_hub
from .config import BranchConfig, init_db, load_config
from .storage import connect

DEMO_PIN = "1234"
SPEED = 30.0  # by default demo time runs this many times faster than branch time


def provision(db: Path, config: BranchConfig) -> dict[str, str]:
    """One token per role and counter, and a signed-up teller per counter."""
    conn = connect(db)
    try:
        conn.execute("BEGIN IMMEDIATE")
        tokens = {}
        for role in ("kiosk", "display", "manager", "admin"):
            tokens[role] = create_token(conn, role, f"demo {role}")[1]
        for c in config.counters:
            tokens[f"counter:{c.number}"] = create_token(conn, f"counter:{c.number}", c.name)[1]
            add_staff(conn, f"t{c.number:02d}", f"Teller {c.number}", DEMO_PIN)
        conn.execute("COMMIT")
        return tokens
    finally:
        conn.close()


def run_demo(
    *,
    host: str,
    port: int,
    var: Path,
    traffic: bool,
    duration: float | None,
    config: str | None,
    devices: bool = True,
    speed: float = SPEED,
) -> int:
    var.mkdir(parents=True, exist_ok=True)
    db = var / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    cfg = load_config(config)
    init_db(db, cfg)
    tokens = provision(db, cfg)
    devices_dir = var if devices else None
    asyncio.run(_serve(db, cfg, tokens, host, port, traffic, duration, devices_dir, speed))
    return 0


async def _serve(
    db: Path,
    cfg: BranchConfig,
    tokens: dict[str, str],
    host: str,
    port: int,
    traffic: bool,
    duration: float | None,
    devices_dir: Path | None,
    speed: float,
) -> None:
    server = uvicorn.Server(
        uvicorn.Config(create_app(db), host=host, port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving  # raises the start-up error (e.g. port in use)
            return
        await asyncio.sleep(0.05)
    base = f"http://{host}:{port}"
    _banner(cfg, tokens, base, db, traffic, speed)
    sims = None
    stop_hub = asyncio.Event()
    tasks = []
    if devices_dir is not None:
        sims, hub_config = _start_devices(devices_dir, cfg, tokens, base)
        tasks.append(asyncio.create_task(run_hub(hub_config, stop=stop_hub)))
    tasks.append(asyncio.create_task(_watch(base, tokens["display"], sims)))
    if traffic:
        teller_traffic = _traffic(base, cfg, tokens, rate=sims is None, speed=speed)
        tasks.append(asyncio.create_task(teller_traffic))
    try:
        if duration is not None:
            await asyncio.wait_for(asyncio.shield(serving), duration)
        else:
            await serving
    except TimeoutError:
        pass
    finally:
        stop_hub.set()
        for t in tasks[1:] if sims is not None else tasks:
            t.cancel()
        if sims is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(tasks[0], 5)
            sims.stop()
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving


def _banner(
    cfg: BranchConfig, tokens: dict[str, str], base: str, db: Path, traffic: bool, speed: float
) -> None:
    print(f"\nBranchQ demo — {cfg.settings.name}")
    print(f"  database     {db}")
    print(f"  API          {base}/api/v1   (OpenAPI docs: {base}/docs)")
    print(f"  live events  ws{base[4:]}/api/v1/events?token=<display token>")
    print("  tokens (use as 'Authorization: Bearer <token>'):")
    for role, token in tokens.items():
        print(f"    {role:<11} {token}")
    print(f"  tellers      t01…t{len(cfg.counters):02d}, PIN {DEMO_PIN}")
    print(
        f"  try          curl -H 'Authorization: Bearer {tokens['display']}' {base}/api/v1/snapshot"
    )
    if traffic:
        print(f"  traffic      simulated customers and tellers, {speed:.0f}× branch speed")
    print("  No display here: the kiosk and staff apps come with their own issues. Ctrl-C stops.")


def _start_devices(
    folder: Path, cfg: BranchConfig, tokens: dict[str, str], base: str
) -> tuple[SimSet, Path]:
    """Simulated printer, reader, scanner and RS-485 bus, plus a hub config for the bus."""
    numbers = [c.number for c in cfg.counters]
    sims = start_simulators(folder / "sim", numbers)
    lines = [f'server = "{base}"', "[[buses]]", 'name = "main"', f'url = "{sims.bus.url}"']
    for n in numbers:
        lines += ["[[counters]]", f"number = {n}", f'token = "{tokens[f"counter:{n}"]}"']
    hub_config = folder / "hub.toml"
    hub_config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("  devices      simulated; the bus hub drives each counter's LED board and pads:")
    print(sims.describe(indent="    "))
    print(f"  hub config   {hub_config}\n")
    return sims, hub_config


def _boards(sims: SimSet | None, counters: list[int]) -> str:
    if sims is None:
        return ""
    from devices.bus import plan

    shown = [f"{n}:{sims.bus.text_board(plan.board_address(n)).text or '—'}" for n in counters]
    return "  · LED boards " + " ".join(shown)


async def _watch(base: str, token: str, sims: SimSet | None = None) -> None:
    """Print a one-line pulse of the live event stream every few seconds."""
    url = f"ws{base[4:]}/api/v1/events?token={token}"
    seen = 0
    last = 0
    rated = 0
    counters: list[int] = []
    async with websockets.connect(url, open_timeout=5) as ws:
        loop = asyncio.get_running_loop()
        next_print = loop.time() + 5
        while True:
            msg = json.loads(await ws.recv())
            if msg["type"] == "snapshot":
                counters = [c["number"] for c in msg["counters"]]
            if msg["type"] == "events":
                seen += len(msg["events"])
                last = msg["events"][-1]["seq"]
                rated += sum(1 for e in msg["events"] if e["kind"] == "ticket.rated")
            if loop.time() >= next_print:
                boards = _boards(sims, counters)
                print(
                    f"  events: {seen} received over WebSocket, last seq {last}, "
                    f"{rated} ratings{boards}",
                    flush=True,
                )
                next_print = loop.time() + 5


async def _traffic(
    base: str, cfg: BranchConfig, tokens: dict[str, str], *, rate: bool, speed: float
) -> None:
    """Customers arrive; tellers call, serve and finish. With simulated rating pads the
    pads rate through the hub, so the tellers do not rate themselves (`rate=False`)."""
    rng = random.Random()
    async with httpx.AsyncClient(base_url=base + "/api/v1", timeout=5) as http:
        workers = [_teller(http, c.number, tokens, rng, rate, speed) for c in cfg.counters]
        await asyncio.gather(_arrivals(http, cfg, tokens["kiosk"], rng), *workers)


async def _arrivals(http: httpx.AsyncClient, cfg: BranchConfig, token: str, rng: Any) -> None:
    codes = [s.code for s in cfg.services]
    weights = [5, 2, 1, 1, 1][: len(codes)] + [1] * max(0, len(codes) - 5)
    auth = {"Authorization": f"Bearer {token}"}
    while True:
        body: dict[str, Any] = {"service": rng.choices(codes, weights)[0]}
        if rng.random() < 0.1:
            body["priority"] = "care"
        with contextlib.suppress(httpx.HTTPError):
            await http.post("/tickets", json=body, headers=auth)
        await asyncio.sleep(rng.expovariate(1 / 1.2))


async def _teller(
    http: httpx.AsyncClient,
    counter: int,
    tokens: dict[str, str],
    rng: Any,
    rate: bool,
    speed: float,
) -> None:
    auth = {"Authorization": f"Bearer {tokens[f'counter:{counter}']}"}
    url = f"/counters/{counter}"
    await http.post(
        f"{url}/sign-in", json={"staff_id": f"t{counter:02d}", "pin": DEMO_PIN}, headers=auth
    )
    while True:
        try:
            r = await http.post(f"{url}/call-next", headers=auth)
            ticket = r.json().get("ticket") if r.status_code == 200 else None
            if ticket is None:
                await asyncio.sleep(2)
                continue
            await asyncio.sleep(rng.uniform(0.5, 2))
            if rng.random() < 0.05:
                await http.post(f"{url}/no-show", headers=auth)
                continue
            await http.post(f"{url}/start", headers=auth)
            await asyncio.sleep(rng.expovariate(1 / (240 / speed)))  # 4-minute services
            await http.post(f"{url}/finish", headers=auth)
            if rate and rng.random() < 0.7:
                rating = {"rating": rng.choices([4, 3, 2, 1], [60, 30, 7, 3])[0]}
                await http.post(f"/tickets/{ticket['id']}/rating", json=rating, headers=auth)
        except httpx.HTTPError:
            await asyncio.sleep(1)
