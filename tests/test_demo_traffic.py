"""The demo's simulated traffic in branch time, on a fake clock against a real server: the
tellers take the config's service times, and every business's queue stays bounded."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from conftest import FakeClock

from queue_server.api import create_app
from queue_server.config import init_db, load_config
from tools.demo import provision
from tools.demo_traffic import CALM_LOAD, DemoTraffic, arrivals_per_min
from tools.harness import ThreadServer


class FakePacer:
    """Branch time jumps to each event: an hour of traffic in seconds, nobody waits."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def now(self) -> datetime:
        return self.clock()

    async def until(self, moment: datetime) -> None:
        if moment > self.clock():
            self.clock.advance(seconds=(moment - self.clock()).total_seconds())


def test_no_business_gets_more_customers_than_its_windows_serve():
    cfg = load_config()
    tellers = [c.number for c in cfg.counters]
    means = {s.code: s.mean_service_s for s in cfg.services}
    rates = arrivals_per_min(cfg, tellers, CALM_LOAD)
    # Loans and wealth share one desk: together they may not load it beyond CALM_LOAD.
    desk = sum(rates[c] * (means[c] + 40) / 60 for c in ("L", "W"))
    assert desk < 1.0


def test_an_hour_of_demo_traffic_keeps_every_queue_bounded(tmp_path):
    cfg = load_config()
    db = tmp_path / "demo.db"
    init_db(db, cfg)
    tokens = provision(db, cfg)
    clock = FakeClock(datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    server = ThreadServer(create_app(db, clock=clock)).start()
    worst: dict[str, int] = {}

    async def play() -> None:
        async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", timeout=10) as http:
            traffic = DemoTraffic(http, cfg, tokens, FakePacer(clock), seed=1, rate=True)
            await traffic.start()
            start = clock()
            display = {"Authorization": f"Bearer {tokens['display']}"}
            for minute in range(10, 61, 10):
                await traffic.play(start + timedelta(minutes=minute))
                waiting = (await http.get("/snapshot", headers=display)).json()["waiting"]
                for code, w in waiting.items():
                    worst[code] = max(worst.get(code, 0), int(w.get("longest_wait_s") or 0))

    try:
        asyncio.run(play())
    finally:
        server.stop()
    targets = {s.code: s.target_wait_s for s in cfg.services}
    assert worst, "no queue was ever counted"
    for code, longest in worst.items():
        assert longest <= 2 * targets[code], (code, longest)
