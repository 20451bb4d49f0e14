"""The demo's simulated customers and tellers: a discrete-event simulation in branch time.

Every action goes through the real HTTP API (kiosk issues, counters call, start, finish), in
the order of a heap of branch-time events. A `Pacer` decides how branch time passes: the live
demo waits `Δt / speed` real seconds and serves the server on a `DemoClock` running `speed`
times faster, so the server measures branch minutes and the tellers take the branch config's
service times; a test moves a fake clock to each event instead of waiting, so an hour of
traffic runs in seconds and the same seed gives the same day.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx

from queue_server.config import BranchConfig
from queue_server.domain.staffing import branch_hours

DEMO_PIN = "1234"
CALL_WALK_S = 40.0  # branch seconds from the call to the customer at the counter (mean)
SERVICE_CV = 0.6  # spread of service times: a gamma with this coefficient of variation
POLL_S = 30.0  # an idle teller looks at the queue again after this many branch seconds
NO_SHOW = 0.05
CARE_SHARE = 0.1
CALM_LOAD = 0.85  # arrivals as a share of what the simulated tellers can serve
FEW_WINDOWS_LOAD = 0.6  # the same for a business with a window or less of its own
# A busy spell brings cash customers for 2.5 times what cash's windows serve: a queue the
# manager sees grow (about ten waiting, the longest past target, after 20 minutes) and
# shortens by moving a window; the calm hour after it drains what is left.
BUSY_LOAD = 2.5
CALM_MIN, BUSY_MIN = 60, 20  # a cycle of the demo's traffic, in branch minutes
BUSY_SERVICE = "A"  # the business that gets crowded in a busy spell


class DemoClock:
    """Branch time for the demo's server: from `start`, `speed` times faster than real time."""

    def __init__(
        self, start: datetime, speed: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if speed <= 0:
            raise ValueError("the demo's speed must be above zero")
        self.start = start
        self.speed = speed
        self._monotonic = monotonic
        self._began = monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(self._monotonic() - self._began) * self.speed)


class Pacer(Protocol):
    """How branch time passes between two events."""

    def now(self) -> datetime: ...

    async def until(self, moment: datetime) -> None: ...


@dataclass
class RealTimePacer:
    """The live demo: wait in real time for the server's `DemoClock` to reach the moment."""

    clock: DemoClock

    def now(self) -> datetime:
        return self.clock()

    async def until(self, moment: datetime) -> None:
        ahead = (moment - self.clock()).total_seconds()
        if ahead > 0:
            await asyncio.sleep(ahead / self.clock.speed)


def arrivals_per_min(cfg: BranchConfig, tellers: list[int], load: float) -> dict[str, float]:
    """Customers a branch minute per business, each `load` of the time its tellers give it.

    A teller's time is shared equally among its regular skills, and a business's customers
    each take its mean service time from the config plus the walk: so no business gets more
    customers than its own windows can serve (one loans desk cannot take a fifth of a busy
    hall), and a queue grows only where the demo means it to (the busy spell).
    """
    means = {s.code: s.mean_service_s for s in cfg.services}
    visible = {s.code for s in cfg.services if s.visible}
    share: dict[str, float] = {}
    for c in cfg.counters:
        if c.number not in tellers:
            continue
        regular = [k.service for k in c.skills if not k.overflow and k.service in visible]
        for code in regular:
            share[code] = share.get(code, 0.0) + 1.0 / len(regular)
    # One window at 85 % keeps a long queue now and then however it calls (an M/G/1 queue's
    # wait grows as load/(1 − load) × the service): a business with a window or less of
    # its own gets a lighter load, so its waits stay those of a calm branch.
    return {
        code: min(load, FEW_WINDOWS_LOAD if windows < 1.5 else load)
        * windows
        * 60.0
        / (means[code] + CALL_WALK_S)
        for code, windows in share.items()
    }


def arrivals_at(cfg: BranchConfig, tellers: list[int], crowded: bool) -> dict[str, float]:
    """Customers a branch minute per business; in a busy spell `BUSY_SERVICE` gets
    `BUSY_LOAD` of its windows' time, more than they can serve, so its queue grows."""
    rates = arrivals_per_min(cfg, tellers, CALM_LOAD)
    if crowded and BUSY_SERVICE in rates:
        rates[BUSY_SERVICE] *= BUSY_LOAD / CALM_LOAD
    return rates


def busy_spell(elapsed_min: float) -> bool:
    """Whether the demo is in a busy spell `elapsed_min` branch minutes after it began."""
    return elapsed_min % (CALM_MIN + BUSY_MIN) >= CALM_MIN


def service_time_s(mean_s: float, rng: random.Random, cv: float = SERVICE_CV) -> float:
    """A service time with the config's mean and a realistic spread (gamma, `cv`)."""
    shape = 1.0 / (cv * cv)
    return rng.gammavariate(shape, mean_s / shape)


@dataclass
class DemoTraffic:
    """Customers arrive, tellers call, serve and finish, in branch time, over HTTP.

    `rate`: the tellers rate their customers (without rating-pad simulators). No teller
    signs in at the counters in `human`: a person runs those.
    """

    http: httpx.AsyncClient
    cfg: BranchConfig
    tokens: Mapping[str, str]
    pacer: Pacer
    seed: int | None = None  # the same seed, the same customers (and the same tellers)
    rate: bool = True
    human: frozenset[int] = frozenset()
    say: Callable[[str], None] = lambda line: None
    # Arrivals as a multiple of the calm load: a network demo's busy branch takes more
    # customers than its tellers serve, so its queue and waits grow without a busy spell.
    load: float = 1.0
    _events: list[tuple[datetime, int, str, int]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _serving: dict[int, dict[str, Any]] = field(default_factory=dict)
    _began: datetime | None = None
    _was_busy: bool = False

    def __post_init__(self) -> None:
        # Customers and tellers draw apart: a run where the manager moves a window meets
        # the very customers of the run where nobody does.
        self.customers = random.Random(self.seed)
        self.pace = random.Random(None if self.seed is None else self.seed + 1)

    @property
    def tellers(self) -> list[int]:
        return [c.number for c in self.cfg.counters if c.number not in self.human]

    def _at(self, moment: datetime, what: str, counter: int = 0) -> None:
        heapq.heappush(self._events, (moment, next(self._order), what, counter))

    async def run(self, until: datetime | None = None) -> None:
        """Sign the tellers in, then play events until `until` (None: for ever)."""
        await self.start()
        await self.play(until)

    async def start(self) -> None:
        """Sign the simulated tellers in; the first customer and calls come at once."""
        self._began = began = self.pacer.now()
        for n in self.tellers:
            body = {"staff_id": f"t{n:02d}", "pin": DEMO_PIN}
            await self.http.post(f"/counters/{n}/sign-in", json=body, headers=self._auth(n))
            self._at(began, "call", n)
        self._at(began, "arrive")

    async def play(self, until: datetime | None = None) -> None:
        """Play the events in branch-time order until `until` (None: for ever)."""
        while self._events:
            moment, _, what, n = self._events[0]
            if until is not None and moment > until:
                return
            heapq.heappop(self._events)
            await self.pacer.until(moment)
            try:
                if what == "arrive":
                    await self._arrive(moment)
                else:
                    await self._teller(what, n, moment)
            except httpx.HTTPError:
                if what == "arrive":
                    self._at(moment + timedelta(seconds=POLL_S), "arrive")
                else:
                    self._serving.pop(n, None)
                    self._at(moment + timedelta(seconds=POLL_S), "call", n)

    async def _arrive(self, moment: datetime) -> None:
        """One customer takes a ticket; the next comes after an exponential gap."""
        assert self._began is not None, "start() first"
        crowded = busy_spell((moment - self._began).total_seconds() / 60)
        if crowded and not self._was_busy:
            self.say(
                f"  traffic      busy spell: {BUSY_SERVICE} customers crowd in for {BUSY_MIN} "
                f"branch minutes; in the console give {BUSY_SERVICE} another window (窗口调配: "
                f"counter 4 serves {BUSY_SERVICE} only) and watch its wait fall"
            )
        self._was_busy = crowded
        rates = {k: v * self.load for k, v in arrivals_at(self.cfg, self.tellers, crowded).items()}
        codes, per_min = list(rates), list(rates.values())
        self._at(moment + timedelta(minutes=self.customers.expovariate(sum(per_min))), "arrive")
        body: dict[str, Any] = {"service": self.customers.choices(codes, per_min)[0]}
        if self.customers.random() < CARE_SHARE:
            body["priority"] = "care"
        kiosk = {"Authorization": f"Bearer {self.tokens['kiosk']}"}
        await self.http.post("/tickets", json=body, headers=kiosk)

    async def _teller(self, what: str, n: int, moment: datetime) -> None:
        url, auth = f"/counters/{n}", self._auth(n)
        if what == "call":
            r = await self.http.post(f"{url}/call-next", headers=auth)
            ticket = r.json().get("ticket") if r.status_code == 200 else None
            if ticket is None:
                self._at(moment + timedelta(seconds=POLL_S), "call", n)
                return
            self._serving[n] = ticket
            walk = self.pace.uniform(0.4, 1.6) * CALL_WALK_S
            self._at(moment + timedelta(seconds=walk), "start", n)
        elif what == "start":
            if self.pace.random() < NO_SHOW:
                self._serving.pop(n, None)
                await self.http.post(f"{url}/no-show", headers=auth)
                self._at(moment, "call", n)
                return
            await self.http.post(f"{url}/start", headers=auth)
            means = {s.code: s.mean_service_s for s in self.cfg.services}
            mean_s = means.get(str(self._serving[n].get("service")), 240.0)
            self._at(moment + timedelta(seconds=service_time_s(mean_s, self.pace)), "finish", n)
        elif what == "finish":
            ticket = self._serving.pop(n)
            await self.http.post(f"{url}/finish", headers=auth)
            if self.rate and self.pace.random() < 0.7:
                rating = {"rating": self.pace.choices([4, 3, 2, 1], [60, 30, 7, 3])[0]}
                await self.http.post(f"/tickets/{ticket['id']}/rating", json=rating, headers=auth)
            self._at(moment, "call", n)

    def _auth(self, n: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[f'counter:{n}']}"}


def opening_today(cfg: BranchConfig, now: datetime) -> datetime:
    """Today's opening on the branch's clock, in UTC (the demo's branch day starts there, so
    the staffing advice has a current interval and the config's prior to work from)."""
    hours = branch_hours(cfg.services)
    opens = cfg.arrival_prior.opens if cfg.arrival_prior is not None else hours.opens
    local = now.astimezone(ZoneInfo(cfg.settings.timezone))
    local = local.replace(hour=opens.hour, minute=opens.minute, second=0, microsecond=0)
    return local.astimezone(UTC)
