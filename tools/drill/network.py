"""The network drill: cut, stall and restart the links of real clients; count what they lose.

The clients under test, all connected through one `FaultyLink` (proxy.py) to a real
`branchq server` subprocess:

* kiosk and counter: the Qt client (`ui.client.BranchClient`), in a subprocess running
  `tools/drill/peer.py` (this package never imports Qt); the kiosk issues tickets and the
  counter calls, starts and finishes customers while they are online;
* bus hub: the real `queue_server.bushub.Hub` (its event stream, keypad actions and health
  reports), with a recording board instead of an RS-485 bus;
* display: a WebSocket client that resumes as the hall display page does (since + epoch,
  0.25 s backoff doubling to 3 s, a link silent for 8 s is dead); the page's own resume
  logic is tested in tests/web.

Besides them, a kiosk and a teller talk to the server directly (not through the link), so
events keep coming while the link is down. Each round injects three faults, each followed
by a second or two of calm:

* cut: both sides of every connection closed, new connections reset, for CUT_S;
* stall: nothing forwarded either way, for STALL_S (longer than the clients' silence limits,
  so each should notice), then everything held is delivered;
* restart: the server is stopped — SIGTERM in odd rounds (an orderly restart), SIGKILL in
  even ones (a crash) — and started again on the same port.

After each fault, every client must show it (go offline) and be back — online, with every
event up to the server's position at the moment it became reachable — within 3 s of that
moment (`RECOVERY_LIMIT_S`). At the end, with the load stopped: each client's record of
events has no gap and no repeat and matches the server's `events` table; the Qt clients'
models hold the same open tickets as the server; everything acknowledged to any client is
in the database (the crash drill's checks).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import websockets

from queue_server.bushub import Hub
from tools.demo import DEMO_PIN
from tools.drill import DrillResult, Log, p95
from tools.drill.crash import (
    API,
    Kiosk,
    Ledger,
    ServerProcess,
    Teller,
    check,
    scratch_branch,
    stream_problems,
)
from tools.drill.proxy import FaultyLink
from tools.harness import HOST, child_env

COUNTERS = 4  # 1: the Qt counter, 2: the bus hub's keypad, 3: the direct teller
QT_COUNTER, HUB_COUNTER, LOAD_COUNTER = 1, 2, 3
CUT_S = 1.0
STALL_S = 9.0  # beyond the display's 8 s and the Qt client's 6 s (three heartbeats)
CALM_S = (1.0, 2.0)  # load between faults, uniform (seeded)
RECOVERY_LIMIT_S = 3.0
RECOVERY_WAIT_S = 15.0  # give up waiting for a client this long after the server is back
DISPLAY_SILENCE_S = 8.0  # display.js SILENT_TIMEOUT_MS
LOAD_PACE_S = 0.05  # the direct kiosk and teller: one request per this, each
FAULTS = ("cut", "stall", "restart")


# ------------------------------------------------------------- watched clients
@dataclass
class Watched:
    """What one client showed: online or not, its position, every sync and event."""

    name: str
    log: list[tuple[Any, ...]] = field(default_factory=list)  # as crash.Subscriber's
    timeline: list[tuple[float, int | None, bool]] = field(default_factory=list)  # t, pos, on
    pos: int | None = None
    online: bool = False

    def note(self, t: float, *, pos: int | None = None, online: bool | None = None) -> None:
        if pos is not None:
            self.pos = pos if self.pos is None else max(self.pos, pos)
        if online is not None:
            self.online = online
        self.timeline.append((t, self.pos, self.online))

    def went_offline(self, start: float, end: float) -> bool:
        return any(start <= t <= end and not on for t, _, on in self.timeline)

    def back_at(self, reachable: float, seq: int) -> float | None:
        """When it was online again with every event up to `seq`, from `reachable` on."""
        state: tuple[int | None, bool] = (None, False)
        for t, pos, on in self.timeline:
            if t > reachable:
                break
            state = (pos, on)
        if state[1] and (state[0] or 0) >= seq:
            return reachable
        for t, pos, on in self.timeline:
            if t > reachable and on and (pos or 0) >= seq:
                return t
        return None


class Display:
    """A WebSocket client that follows the stream as the hall display page does."""

    def __init__(self, url: str, watched: Watched) -> None:
        self.url = url
        self.w = watched
        self.epoch: str | None = None

    async def run(self) -> None:
        retry = 0.25
        while True:
            url = self.url
            if self.w.pos is not None and self.epoch:
                url += f"&since={self.w.pos}&epoch={self.epoch}"
            try:
                async with websockets.connect(
                    url,
                    open_timeout=DISPLAY_SILENCE_S,
                    ping_interval=None,
                    max_size=None,
                    close_timeout=1,
                    compression=None,
                ) as ws:
                    first = True
                    while True:
                        try:
                            raw = await asyncio.wait_for(ws.recv(), DISPLAY_SILENCE_S)
                        except TimeoutError:
                            ws.transport.abort()  # a dead link answers no close frame
                            raise
                        if first:
                            first, retry = False, 0.25
                        self.on_message(json.loads(raw))
            except (OSError, TimeoutError, websockets.WebSocketException, ValueError):
                pass
            if self.w.online:
                self.w.note(time.monotonic(), online=False)
            await asyncio.sleep(retry)
            retry = min(retry * 2, 3.0)

    def on_message(self, msg: dict[str, Any]) -> None:
        now = time.monotonic()
        kind = msg.get("type")
        if kind == "snapshot":
            self.epoch = msg["epoch"]
            self.w.pos = None  # a snapshot may only move forward: the check says if not
            self.w.log.append(("snapshot", int(msg["seq"]), now))
            self.w.note(now, pos=int(msg["seq"]), online=True)
        elif kind == "resume":
            self.w.log.append(("resume", int(msg["since"]), now))
            self.w.note(now, online=True)
        elif kind == "events":
            for e in msg["events"]:
                ticket = e.get("ticket") or {}
                self.w.log.append(("event", int(e["seq"]), e["kind"], ticket.get("id")))
            self.w.note(now, pos=max(int(e["seq"]) for e in msg["events"]))


# The real hall display page in headless Chromium. This wraps the page's WebSocket so that
# every stream message reaching the page's current socket is recorded (the page makes a new
# socket only after giving up the old one); what it shows is read from `branchqDisplay`.
RECORDER_JS = """
(() => {
  const Native = window.WebSocket;
  const drill = (window.__drill = { log: [], current: null });
  function Recorded(url, protocols) {
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    drill.current = ws;
    ws.addEventListener("message", (m) => {
      if (drill.current !== ws) return;
      let d;
      try { d = JSON.parse(m.data); } catch (err) { return; }
      if (d.type === "snapshot") drill.log.push(["snapshot", d.seq, 0]);
      else if (d.type === "resume") drill.log.push(["resume", d.since, 0]);
      else if (d.type === "events")
        for (const e of d.events)
          drill.log.push(["event", e.seq, e.kind, e.ticket ? e.ticket.id : null]);
    });
    return ws;
  }
  Recorded.prototype = Native.prototype;
  for (const k of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) Recorded[k] = Native[k];
  window.WebSocket = Recorded;
})();
"""
CHROMIUM = Path("/usr/bin/chromium")
PAGE_STATE_JS = (
    "() => window.branchqDisplay ? [branchqDisplay.connection, branchqDisplay.seq] : [null, null]"
)


class DisplayPage:
    """/display in headless Chromium through the link: online when it says "live"."""

    def __init__(self, url: str, watched: Watched) -> None:
        self.url = url
        self.w = watched
        self._pw: Any = None
        self._browser: Any = None
        self.page: Any = None

    @staticmethod
    def unavailable() -> str | None:
        """Why the page cannot be driven here, or None."""
        if not CHROMIUM.exists():
            return f"{CHROMIUM} is not installed"
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            return "the playwright package is missing"
        return None

    async def start(self) -> None:
        from playwright.async_api import async_playwright

        self._pw = await async_playwright().start()
        self._browser = await self._pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--autoplay-policy=no-user-gesture-required"],
        )
        self.page = await self._browser.new_page(viewport={"width": 1280, "height": 720})
        await self.page.add_init_script(RECORDER_JS)
        await self.page.goto(self.url)

    async def watch(self) -> None:
        """Sample what the page shows every 50 ms into the timeline."""
        while True:
            connection, seq = await self.page.evaluate(PAGE_STATE_JS)
            online = connection == "live"
            if online != self.w.online or (seq is not None and seq != self.w.pos):
                self.w.note(time.monotonic(), pos=seq, online=online)
            await asyncio.sleep(0.05)

    async def collect(self) -> None:
        """The stream messages the page got, into the record the checks read."""
        log = await self.page.evaluate("() => window.__drill.log")
        self.w.log = [tuple(entry) for entry in log]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            if self._browser is not None:
                await self._browser.close()
            if self._pw is not None:
                await self._pw.stop()


class Board:
    """A counter's LED board and rating pad as the hub sees them; healthy, and recorded."""

    def __init__(self) -> None:
        self.shown: list[str] = []

    def show(self, text: str) -> None:
        self.shown.append(text)

    def blink(self) -> None:
        pass

    def clear(self) -> None:
        self.shown.append("")

    def request_rating(self, timeout_s: float) -> Future[int | None] | None:
        return None

    def health(self) -> list[tuple[str, str, str, str]]:
        return [(f"drill#{HUB_COUNTER}", "text board", "online", "")]


class RecordingHub(Hub):
    """The real hub, recording every stream message it acts on."""

    watched: Watched

    async def handle(self, message: dict[str, Any]) -> None:
        now = time.monotonic()
        kind = message.get("type")
        if kind == "snapshot":
            self.watched.log.append(("snapshot", int(message["seq"]), now))
            self.watched.pos = None
            self.watched.note(now, pos=int(message["seq"]))
        elif kind == "resume":
            self.watched.log.append(("resume", int(message["since"]), now))
        elif kind == "events":
            for e in message["events"]:
                ticket = e.get("ticket") or {}
                self.watched.log.append(("event", int(e["seq"]), e["kind"], ticket.get("id")))
            self.watched.note(now, pos=max(int(e["seq"]) for e in message["events"]))
        await super().handle(message)


async def watch_hub(hub: RecordingHub) -> None:
    """The hub's online flag (`connected`) into its timeline, sampled every 10 ms."""
    while True:
        if hub.connected.is_set() != hub.watched.online:
            hub.watched.note(time.monotonic(), online=hub.connected.is_set())
        await asyncio.sleep(0.01)


async def hub_keys(hub: Hub, rng: random.Random) -> None:
    """A teller on the hub's keypad: NEXT, START, FINISH, over and over."""
    keys = ("NEXT", "START", "FINISH")
    i = 0
    while True:
        await asyncio.sleep(rng.uniform(0.3, 0.7))
        if hub.connected.is_set():
            await hub.press(HUB_COUNTER, keys[i % 3])
            i += 1


# ------------------------------------------------------------------ the Qt peer
class QtPeer:
    """`python -m tools.drill.peer`: the kiosk and counter BranchClients, read as JSON lines."""

    def __init__(self, watched: dict[str, Watched], ledger: Ledger) -> None:
        self.watched = watched
        self.ledger = ledger
        self.finals: dict[str, dict[str, Any]] = {}
        self.issue_failures = 0
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self.stderr = b""

    async def start(self, base: str, tokens: dict[str, str], services: list[str]) -> None:
        # The peer is a Qt app with its own event loop, beside this drill's asyncio loop.
        env = child_env()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tools.drill.peer",
            "--server",
            base,
            "--kiosk-token",
            tokens["kiosk"],
            "--counter-token",
            tokens[f"counter:{QT_COUNTER}"],
            "--counter",
            str(QT_COUNTER),
            "--services",
            ",".join(services),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            limit=1 << 24,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.on_line(json.loads(raw))

    def on_line(self, r: dict[str, Any]) -> None:
        kind, t = r["type"], r.get("t", 0.0)
        w = self.watched[r["client"]]
        if kind == "online":
            w.note(t, online=r["value"])
        elif kind == "snapshot":
            w.log.append(("snapshot", r["seq"], t))
            w.pos = None
            w.note(t, pos=r["seq"])
        elif kind == "resume":
            w.log.append(("resume", r["seq"], t))
        elif kind == "event":
            w.log.append(("event", r["seq"], r["kind"], r["ticket"]))
            w.note(t, pos=r["seq"])
        elif kind == "issued":
            ticket = {k: r[k] for k in ("id", "number", "business_day", "service")}
            with self.ledger.lock:
                earlier = self.ledger.issued.setdefault(r["key"], ticket)
                if earlier != ticket:
                    self.ledger.problems.append(f"key {r['key']}: {earlier}, then {ticket}")
        elif kind == "issue_failed":
            self.issue_failures += 1
        elif kind == "op":
            with self.ledger.lock:
                if r["op"] == "call":
                    self.ledger.calls.append((r["counter"], r["key"], r["ticket"]))
                elif r["op"] == "start":
                    self.ledger.starts.append((r["counter"], r["ticket"]))
                else:
                    self.ledger.finishes.append((r["counter"], r["ticket"]))
        elif kind == "final":
            self.finals[r["client"]] = r

    async def pause(self) -> None:
        """The kiosk and the teller stop acting; the clients stay connected."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(b"pause\n")
        await self.proc.stdin.drain()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.write(b"stop\n")
            await self.proc.stdin.drain()
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)
        if self.proc.stderr is not None:
            self.stderr = await self.proc.stderr.read()


# ------------------------------------------------------------------------ run
def run(attempts: int, *, seed: int = 1, log: Log) -> DrillResult:
    with scratch_branch("network", log, COUNTERS) as (server, tokens, services):
        return asyncio.run(_drill(server, tokens, services, attempts, random.Random(seed), log))


async def _drill(  # noqa: C901 the drill's script, fault by fault
    server: ServerProcess,
    tokens: dict[str, str],
    services: list[str],
    attempts: int,
    rng: random.Random,
    log: Log,
) -> DrillResult:
    logging.getLogger("queue_server.bushub").setLevel(logging.ERROR)  # the drill reports
    log(
        f"network drill: {attempts} round(s) of cut ({CUT_S:.0f} s), stall ({STALL_S:.0f} s) "
        "and server restart under the kiosk and counter (Qt client), the bus hub and a "
        "display"
    )
    await asyncio.to_thread(server.start)
    async with httpx.AsyncClient(base_url=server.base + API, timeout=10) as http:
        for n in (QT_COUNTER, HUB_COUNTER, LOAD_COUNTER):
            headers = {"Authorization": f"Bearer {tokens[f'counter:{n}']}"}
            body = {"staff_id": f"t{n:02d}", "pin": DEMO_PIN}
            (
                await http.post(f"/counters/{n}/sign-in", json=body, headers=headers)
            ).raise_for_status()
    link = FaultyLink(server.port)
    await link.start()
    via = f"http://{HOST}:{link.port}"
    no_page = DisplayPage.unavailable()
    names = ["kiosk", "counter", "hub", "display"] + ([] if no_page else ["display page"])
    watched = {name: Watched(name) for name in names}
    ledger = Ledger()
    stop = threading.Event()
    teller = Teller(
        "direct-teller",
        server.base,
        tokens[f"counter:{LOAD_COUNTER}"],
        ledger,
        stop,
        random.Random(rng.random()),
    )
    teller.number = LOAD_COUNTER
    kiosk = Kiosk(
        "direct-kiosk", server.base, tokens["kiosk"], ledger, stop, random.Random(rng.random())
    )
    kiosk.services = tuple(services)
    load: list[Kiosk | Teller] = [kiosk, teller]
    for c in load:
        c.pace_s = LOAD_PACE_S
    hub = RecordingHub(
        via, {HUB_COUNTER: (tokens[f"counter:{HUB_COUNTER}"], Board())}, health_every_s=1.0
    )
    hub.watched = watched["hub"]
    display = Display(
        f"ws://{HOST}:{link.port}{API}/events?token={tokens['display']}", watched["display"]
    )
    peer = QtPeer(watched, ledger)
    page: DisplayPage | None = None
    if not no_page:
        page = DisplayPage(f"{via}/display?token={tokens['display']}", watched["display page"])
    tasks: list[asyncio.Task[Any]] = []
    recoveries: list[float] = []
    failures: list[str] = []
    faults = 0
    try:
        await hub.start()
        keypad = asyncio.create_task(hub_keys(hub, random.Random(rng.random())))
        tasks += [keypad, asyncio.create_task(watch_hub(hub)), asyncio.create_task(display.run())]
        await peer.start(via, tokens, services)
        if page is not None:
            await page.start()
            tasks.append(asyncio.create_task(page.watch()))
        await _wait(
            lambda: all(w.online for w in watched.values()),
            30,
            "every client online at the start",
            watched,
        )
        for c in load:
            c.start()
        for round_no in range(1, attempts + 1):
            for fault in FAULTS:
                await asyncio.sleep(rng.uniform(*CALM_S))
                faults += 1
                began = time.monotonic()
                reachable = await _inject(fault, link, server, hard=round_no % 2 == 0)
                seq = await _server_seq(server)
                label = (
                    fault
                    if fault != "restart"
                    else f"restart ({'kill -9' if round_no % 2 == 0 else 'SIGTERM'})"
                )
                line = [f"round {round_no}/{attempts}: {label}"]
                deadline = reachable + RECOVERY_WAIT_S
                while time.monotonic() < deadline and any(
                    w.back_at(reachable, seq) is None for w in watched.values()
                ):
                    await asyncio.sleep(0.02)
                for w in watched.values():
                    back = w.back_at(reachable, seq)
                    noticed = w.went_offline(began, max(reachable, back or reachable))
                    if back is None:
                        failures.append(
                            f"{fault} {round_no}: {w.name} not back within {RECOVERY_WAIT_S:.0f} s"
                        )
                        line.append(f"{w.name} NOT BACK")
                        continue
                    took = back - reachable
                    recoveries.append(took)
                    if took > RECOVERY_LIMIT_S:
                        failures.append(f"{fault} {round_no}: {w.name} back after {took:.2f} s")
                    if not noticed:
                        failures.append(f"{fault} {round_no}: {w.name} never showed it was cut off")
                    line.append(
                        f"{w.name} {'noticed' if noticed else 'DID NOT NOTICE'}, back {took:.2f} s"
                    )
                log(" ".join(line[:1]) + " — " + "; ".join(line[1:]))
        stop.set()
        await peer.pause()
        keypad.cancel()
        for c in load:
            await asyncio.to_thread(c.join, 10)
        snap = await _quiet_snapshot(server, tokens["display"], watched)
        final_seq = int(snap["seq"])
        await peer.stop()
        if page is not None:
            await page.collect()
    finally:
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await hub.close()
        if page is not None:
            await page.close()
        await link.close()
        await peer.stop()
    for c in load:
        if c.failure is not None:
            raise RuntimeError(f"load client {c.name} failed: {c.failure!r}") from c.failure

    losses = check(server.db, ledger, watched["display"].log, final_seq=final_seq)
    losses = [f"display/DB: {p}" for p in losses]
    events = _stored_events(server.db)
    for name in (n for n in watched if n != "display"):
        losses += [f"{name}: {p}" for p in stream_problems(watched[name].log, events, final_seq)]
    server_open = {str(t["id"]): t["state"] for t in snap["tickets"]}
    for name in ("kiosk", "counter"):
        final = peer.finals.get(name)
        if final is None:
            losses.append(f"{name}: the Qt client never reported its final model")
            continue
        if final["tickets"] != server_open:
            diff = set(final["tickets"].items()) ^ set(server_open.items())
            losses.append(f"{name}: model differs from the server in {len(diff)} tickets")
    details = {
        "rounds": attempts,
        "faults_by_kind": {f: attempts for f in FAULTS},
        "clients": list(watched),
        "display_page": no_page or "driven in headless Chromium",
        "final_seq": final_seq,
        "events_applied": {n: sum(1 for e in w.log if e[0] == "event") for n, w in watched.items()},
        "snapshots": {n: sum(1 for e in w.log if e[0] == "snapshot") for n, w in watched.items()},
        "resumes": {n: sum(1 for e in w.log if e[0] == "resume") for n, w in watched.items()},
        "tickets_acknowledged": len(ledger.issued),
        "calls_acknowledged": len(ledger.calls),
        "qt_issue_failures_shown": peer.issue_failures,
        "proxy_connections": link.connections,
        "recovery_max_s": round(max(recoveries), 3) if recoveries else None,
        "losses": losses,
        "failures": failures,
    }
    log(
        f"network drill: {faults} faults, {final_seq} events; lost {len(losses)}, "
        f"{len(failures)} failures"
    )
    return DrillResult("network", attempts, faults, len(losses), p95(recoveries), details)


async def _inject(fault: str, link: FaultyLink, server: ServerProcess, *, hard: bool) -> float:
    """Break something, mend it; the moment the server was reachable again."""
    if fault == "cut":
        await link.cut()
        await asyncio.sleep(CUT_S)
        await link.restore()
        return time.monotonic()
    if fault == "stall":
        await link.stall()
        await asyncio.sleep(STALL_S)
        await link.restore()
        return time.monotonic()
    assert server.proc is not None
    server.proc.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
    await asyncio.to_thread(server.proc.wait)
    await asyncio.to_thread(server.start)
    return time.monotonic()


async def _quiet_snapshot(
    server: ServerProcess, token: str, watched: dict[str, Watched]
) -> dict[str, Any]:
    """The server's state once every client has caught up and nothing moves any more."""
    for _ in range(10):
        await asyncio.sleep(0.5)  # last answers land (a key press, a device report)
        seq = await _server_seq(server)
        await _wait(
            partial(caught_up, watched, seq),
            15,
            f"every client at the server's last event {seq}",
            watched,
        )
        snap = await _snapshot(server, token)
        if snap["seq"] == seq:
            return snap
    raise RuntimeError("the server kept making events after the load stopped")


def caught_up(watched: dict[str, Watched], seq: int) -> bool:
    return all((w.pos or 0) >= seq for w in watched.values())


async def _server_seq(server: ServerProcess) -> int:
    async with httpx.AsyncClient(base_url=server.base + API, timeout=10) as http:
        return int((await http.get("/health")).json()["seq"])


async def _snapshot(server: ServerProcess, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.base + API, timeout=10) as http:
        snap: dict[str, Any] = (await http.get("/snapshot", headers=headers)).json()
        return snap


def _stored_events(db: Path) -> dict[int, tuple[str, int | None]]:
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {s: (k, t) for s, k, t in conn.execute("SELECT seq, kind, ticket_id FROM events")}
    finally:
        conn.close()


async def _wait(
    cond: Callable[[], bool], timeout: float, what: str, watched: dict[str, Watched]
) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            state = ", ".join(f"{w.name}: online={w.online} at {w.pos}" for w in watched.values())
            raise RuntimeError(f"waited {timeout:.0f} s for {what}: {state}")
        await asyncio.sleep(0.02)
