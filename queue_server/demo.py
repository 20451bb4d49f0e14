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

from .api import create_app
from .auth import add_staff, create_token
from .config import BranchConfig, init_db, load_config
from .storage import connect

DEMO_PIN = "1234"
SPEED = 30.0  # demo seconds pass this many times faster than branch time


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
) -> int:
    var.mkdir(parents=True, exist_ok=True)
    db = var / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    cfg = load_config(config)
    init_db(db, cfg)
    tokens = provision(db, cfg)
    asyncio.run(_serve(db, cfg, tokens, host, port, traffic, duration))
    return 0


async def _serve(
    db: Path,
    cfg: BranchConfig,
    tokens: dict[str, str],
    host: str,
    port: int,
    traffic: bool,
    duration: float | None,
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
    _banner(cfg, tokens, base, db, traffic)
    tasks = [asyncio.create_task(_watch(base, tokens["display"]))]
    if traffic:
        tasks.append(asyncio.create_task(_traffic(base, cfg, tokens)))
    try:
        if duration is not None:
            await asyncio.wait_for(asyncio.shield(serving), duration)
        else:
            await serving
    except TimeoutError:
        pass
    finally:
        for t in tasks:
            t.cancel()
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving


def _banner(cfg: BranchConfig, tokens: dict[str, str], base: str, db: Path, traffic: bool) -> None:
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
        print(f"  traffic      simulated customers and tellers, {SPEED:.0f}× branch speed")
    print("  No display here: the kiosk and staff apps come with their own issues. Ctrl-C stops.\n")


async def _watch(base: str, token: str) -> None:
    """Print a one-line pulse of the live event stream every few seconds."""
    url = f"ws{base[4:]}/api/v1/events?token={token}"
    seen = 0
    last = 0
    async with websockets.connect(url, open_timeout=5) as ws:
        loop = asyncio.get_running_loop()
        next_print = loop.time() + 5
        while True:
            msg = json.loads(await ws.recv())
            if msg["type"] == "events":
                seen += len(msg["events"])
                last = msg["events"][-1]["seq"]
            if loop.time() >= next_print:
                print(f"  events: {seen} received over WebSocket, last seq {last}", flush=True)
                next_print = loop.time() + 5


async def _traffic(base: str, cfg: BranchConfig, tokens: dict[str, str]) -> None:
    rng = random.Random()
    async with httpx.AsyncClient(base_url=base + "/api/v1", timeout=5) as http:
        workers = [_teller(http, c.number, tokens, rng) for c in cfg.counters]
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


async def _teller(http: httpx.AsyncClient, counter: int, tokens: dict[str, str], rng: Any) -> None:
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
            await asyncio.sleep(rng.expovariate(1 / (240 / SPEED)))
            await http.post(f"{url}/finish", headers=auth)
            if rng.random() < 0.7:
                rating = {"rating": rng.choices([4, 3, 2, 1], [60, 30, 7, 3])[0]}
                await http.post(f"/tickets/{ticket['id']}/rating", json=rating, headers=auth)
        except httpx.HTTPError:
            await asyncio.sleep(1)
