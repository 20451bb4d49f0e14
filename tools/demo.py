"""`branchq demo`: a fresh demo branch with tokens, staff and (optionally) live traffic.

Traffic goes through the real HTTP API, the way kiosks and counters use it, so the event
stream a display or manager console subscribes to is alive. With a display the customer
kiosk opens on the simulated devices, a booked appointment is ready to check in, and a
panel in the terminal lets the person at the kiosk act as the ID card reader, the QR
scanner and the printer. Next to the kiosk the teller's counter app opens for counter 1,
which the simulated tellers then leave to the person at the screen; the bus hub drives
that counter's LED board, keypad and rating pad simulators as it does every other's. The
branch manager's console opens too: with `--traffic` a queue builds, a window can be moved
to it, and the wait falls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self
from zoneinfo import ZoneInfo

import httpx
import qrcode
import uvicorn
import websockets

from devices.printer.sim import PrintedTicket
from devices.simset import SimSet, start_simulators
from queue_server.api import create_app
from queue_server.auth import add_staff, create_token
from queue_server.bushub import run_hub
from queue_server.config import BranchConfig, init_db, load_config
from queue_server.domain.appointments import AppointmentRules
from queue_server.notify.settings import NotificationSettings, save_notification_settings
from queue_server.storage import connect
from tools.demo_traffic import (
    BUSY_MIN,
    BUSY_SERVICE,
    CALM_LOAD,
    CALM_MIN,
    DemoClock,
    DemoTraffic,
    RealTimePacer,
    opening_today,
)
from tools.demo_traffic import (
    DEMO_PIN as DEMO_PIN,  # the tools that provision a demo branch find it here
)
from tools.sms_gateway import SmsGateway, TextMessage

KIOSK_PIN = "2468"  # the demo kiosk's maintenance PIN
# Who signs in on the lobby app (/lobby): the lobby manager walking the hall, and a
# relationship manager whose appointments the app lists. PIN DEMO_PIN, as the tellers'.
LOBBY_STAFF = ("L01", "大堂经理 Lobby manager")
RM_STAFF = ("R01", "客户经理 Relationship manager")
KIOSK_READY_S = 30.0  # the kiosk's first start may take a while on a cold disk
HUMAN_COUNTER = 1  # the counter the person at the screen runs with the counter app
# Where the counter app goes: a smaller window over the bottom right of the kiosk's
# 1920×1080, so the kiosk's tiles on the left and its header stay free to touch.
COUNTER_APP_GEOMETRY = "1024x720+896+360"
# The manager's console: its smallest comfortable size, at the top right (under the counter
# app, over the kiosk's right half); a window manager lets the person bring it forward.
MANAGER_GEOMETRY = "1366x768+554+0"
XVFB_SCREEN = "1920x1080x24"
KIOSK_SIZE = (1920, 1080)
MANAGER_SIZE = (1366, 768)
COUNTER_SIZE = (1024, 720)
# A virtual screen with room for all three: the kiosk at the left, the console and the
# counter app stacked at its right.
WIDE_SCREEN = "3300x1500"
# By default branch time runs this many times faster than real time: an hour of demo is
# about a branch day, a wait of ten branch minutes takes 75 s to watch, and the apps (which
# move the server's clock on at real speed between its events, a few seconds apart) are
# never more than a branch minute behind it.
SPEED = 8.0
BOOKING_AHEAD = timedelta(hours=1)  # branch time from the demo's start to its booked slot


def provision(db: Path, config: BranchConfig) -> dict[str, str]:
    """One token per role and counter, a signed-up teller per counter, the lobby's staff."""
    conn = connect(db)
    try:
        conn.execute("BEGIN IMMEDIATE")
        tokens = {}
        for role in ("kiosk", "display", "manager", "admin", "lobby"):
            tokens[role] = create_token(conn, role, f"demo {role}")[1]
        for staff_id, name in (LOBBY_STAFF, RM_STAFF):
            add_staff(conn, staff_id, name, DEMO_PIN)
        for c in config.counters:
            tokens[f"counter:{c.number}"] = create_token(conn, f"counter:{c.number}", c.name)[1]
            add_staff(conn, f"t{c.number:02d}", f"Teller {c.number}", DEMO_PIN)
        conn.execute("COMMIT")
        return tokens
    finally:
        conn.close()


@dataclass(frozen=True)
class WindowPlan:
    """Where the console and the counter app open (the kiosk takes the top left)."""

    manager: str
    counter: str
    overlap: bool


def plan_windows(screen: tuple[int, int]) -> WindowPlan:
    """Side by side when the screen has room for all three, else over the kiosk's right."""
    width, height = screen
    (kw, kh), (mw, mh), (cw, ch) = KIOSK_SIZE, MANAGER_SIZE, COUNTER_SIZE
    if width >= kw + max(mw, cw) and height >= max(kh, mh + ch):
        return WindowPlan(f"{mw}x{mh}+{kw}+0", f"{cw}x{ch}+{kw}+{mh}", overlap=False)
    return WindowPlan(MANAGER_GEOMETRY, COUNTER_APP_GEOMETRY, overlap=True)


def screen_size(env: Mapping[str, str] | None = None) -> tuple[int, int] | None:
    """The X screen's size from `xdpyinfo` (x11-utils), or None when it cannot be told."""
    env = os.environ if env is None else env
    if not env.get("DISPLAY"):
        return None
    try:
        out = subprocess.run(
            ["xdpyinfo"], env=dict(env), capture_output=True, text=True, timeout=5, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"dimensions:\s+(\d+)x(\d+) pixels", out)
    return (int(found.group(1)), int(found.group(2))) if found else None


def parse_screen(text: str) -> tuple[int, int]:
    """`3300x1500` as (3300, 1500); ValueError otherwise."""
    found = re.fullmatch(r"(\d{3,5})x(\d{3,5})", text.strip())
    if not found:
        raise ValueError(f"screen size must be WIDTHxHEIGHT, e.g. {WIDE_SCREEN}: {text!r}")
    return int(found.group(1)), int(found.group(2))


def display_available(env: Mapping[str, str] | None = None) -> bool:
    """Whether a window can be shown here (an X11 or Wayland display is set)."""
    env = os.environ if env is None else env
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


@dataclass(frozen=True)
class DemoOptions:
    host: str
    port: int
    var: Path
    traffic: bool
    duration: float | None
    devices: bool
    speed: float
    kiosk: bool
    counter_app: bool = False
    manager_console: bool = False
    screen: tuple[int, int] | None = None  # None: asked of the X server


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
    kiosk: bool | None = None,
    counter_app: bool = True,
    manager_console: bool = True,
    screen: tuple[int, int] | None = None,
) -> int:
    """Run the demo branch until Ctrl-C (or `duration`). `kiosk`: start the customer kiosk
    (None: when there is a display); `counter_app`: with the kiosk, also the counter app
    for counter 1; `manager_console`: with the kiosk, also the manager's console."""
    var.mkdir(parents=True, exist_ok=True)
    db = var / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    cfg = load_config(config)
    init_db(db, cfg)
    tokens = provision(db, cfg)
    with_kiosk = display_available() if kiosk is None else kiosk
    options = DemoOptions(
        host,
        port,
        var,
        traffic,
        duration,
        devices,
        speed,
        with_kiosk,
        with_kiosk and counter_app,
        with_kiosk and manager_console,
        screen,
    )
    # Texts to customers go to a stand-in gateway on loopback, so the phone page offers them.
    gateway = SmsGateway(on_message=_texted).start()
    conn = connect(db)
    try:
        save_notification_settings(conn, NotificationSettings(url=gateway.url))
    finally:
        conn.close()
    try:
        asyncio.run(_serve(db, cfg, tokens, options))
    finally:
        gateway.stop()
    return 0


def _texted(message: TextMessage) -> None:
    print(f"  sms          to {message.to}: {message.text}", flush=True)


async def _serve(  # noqa: C901 the demo's start-up, step by step
    db: Path, cfg: BranchConfig, tokens: dict[str, str], opts: DemoOptions
) -> None:
    # The server runs on branch time from today's opening: it measures the simulated
    # tellers' minutes as branch minutes, so its predicted waits match their speed.
    clock = DemoClock(opening_today(cfg, datetime.now(UTC)), opts.speed if opts.traffic else 1.0)
    app = create_app(db, clock=clock)
    server = uvicorn.Server(
        uvicorn.Config(app, host=opts.host, port=opts.port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving  # raises the start-up error (e.g. port in use)
            return
        await asyncio.sleep(0.05)
    base = f"http://{opts.host}:{opts.port}"
    _banner(cfg, tokens, base, db, opts.traffic, clock)
    sims: SimSet | None = None
    stop_hub = asyncio.Event()
    hub: asyncio.Task[Any] | None = None
    tasks: list[asyncio.Task[Any]] = []
    kiosk: KioskProcess | None = None
    counter_app: CounterAppProcess | None = None
    console: ManagerConsoleProcess | None = None

    def quit_demo() -> None:
        server.should_exit = True

    try:
        if opts.devices:
            # With the kiosk on screen the reader starts empty: the panel places a card.
            card = None if opts.kiosk else "adult"
            sims, hub_config = _start_devices(opts.var, cfg, tokens, base, card=card)
            hub = asyncio.create_task(run_hub(hub_config, stop=stop_hub))
        booking = await book_demo_appointment(base, cfg, tokens["manager"], opts.var, clock())
        if opts.kiosk:
            plan = _windows_banner(opts.screen or screen_size())
            kiosk = await KioskProcess.start(base, tokens["kiosk"], sims, opts.var)
            # The others after the kiosk is up, so that without a window manager (a virtual
            # screen) the smaller windows are drawn over the kiosk, not under it.
            await kiosk.wait_ready(KIOSK_READY_S)
            if opts.manager_console:
                console = await ManagerConsoleProcess.start(
                    base, tokens["manager"], opts.var, plan.manager
                )
                await console.wait_ready(KIOSK_READY_S)
            if opts.counter_app:
                token = tokens[f"counter:{HUMAN_COUNTER}"]
                counter_app = await CounterAppProcess.start(base, token, opts.var, plan.counter)
        else:
            _no_kiosk_banner()
        tasks.append(asyncio.create_task(_watch(base, tokens["display"], sims)))
        if opts.traffic:
            human = {HUMAN_COUNTER} if counter_app is not None else set()
            teller_traffic = _traffic(base, cfg, tokens, clock, rate=sims is None, human=human)
            tasks.append(asyncio.create_task(teller_traffic))
        if kiosk is not None and sims is not None and stdin_is_usable():
            panel = DevicePanel(sims, booking, quit_demo)
            tasks.append(asyncio.create_task(panel.run()))
        else:
            print("  Ctrl-C stops the demo.\n", flush=True)
        if opts.duration is not None:
            await asyncio.wait_for(asyncio.shield(serving), opts.duration)
        else:
            await serving
    except TimeoutError:
        pass
    finally:
        if counter_app is not None:
            await counter_app.stop()
        if console is not None:
            await console.stop()
        if kiosk is not None:
            await kiosk.stop()
        stop_hub.set()
        for t in tasks:
            t.cancel()
        if hub is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(hub, 5)
        if sims is not None:
            sims.stop()
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving


def _banner(
    cfg: BranchConfig, tokens: dict[str, str], base: str, db: Path, traffic: bool, clock: DemoClock
) -> None:
    print(f"\nBranchQ demo — {cfg.settings.name}")
    print(f"  database     {db}")
    print(f"  API          {base}/api/v1   (OpenAPI docs: {base}/docs)")
    print(f"  live events  ws{base[4:]}/api/v1/events?token=<display token>")
    print(f"  hall display {base}/display?token={tokens['display']}")
    print("               (a TV: chromium --kiosk --autoplay-policy=no-user-gesture-required URL;")
    print("               add &layout=portrait or &zone=C,K for a portrait or a zone screen)")
    print(f"  lobby app    {base}/lobby?token={tokens['lobby']}")
    who = f"{LOBBY_STAFF[0]} (lobby manager) or {RM_STAFF[0]} (relationship manager)"
    print(f"               (a phone or tablet) staff sign-in: {who}, PIN {DEMO_PIN}")
    print("  tokens (use as 'Authorization: Bearer <token>'):")
    for role, token in tokens.items():
        print(f"    {role:<11} {token}")
    print(f"  tellers      t01…t{len(cfg.counters):02d}, PIN {DEMO_PIN}")
    print(
        f"  try          curl -H 'Authorization: Bearer {tokens['display']}' {base}/api/v1/snapshot"
    )
    opened = clock.start.astimezone(ZoneInfo(cfg.settings.timezone)).strftime("%H:%M")
    print(f"  branch time  from today's opening, {opened}, at {clock.speed:g}× real time")
    if traffic:
        print("  traffic      simulated customers and tellers at the config's service times;")
        print(f"               arrivals keep the tellers {CALM_LOAD:.0%} busy, and every")
        every = CALM_MIN + BUSY_MIN
        print(f"               {every} branch minutes a busy spell of {BUSY_SERVICE} customers")
    print("  sms          the phone page (/t/<token>) offers texts; they go to a stand-in")
    print("               gateway on loopback and are printed here, the number masked")


def _windows_banner(screen: tuple[int, int] | None) -> WindowPlan:
    """Say where the three windows go, and how to look at this (maybe virtual) screen."""
    plan = plan_windows(screen or KIOSK_SIZE)
    size = f"{screen[0]}×{screen[1]}" if screen else "of unknown size"
    if plan.overlap:
        print(f"  windows      this screen ({size}) is too small for the kiosk, the console and")
        print("               the counter app side by side: the two open over the kiosk's right")
        print("               half. Move them with your window manager, or run on a wide virtual")
        print(f"               screen: xvfb-run -a -s '-screen 0 {WIDE_SCREEN}x24' make demo")
        print(f"               (or say the size: --screen {WIDE_SCREEN})")
    else:
        print(f"  windows      side by side on this {size} screen: the kiosk at the left, the")
        print("               manager's console at the top right, the counter app under it")
    display = os.environ.get("DISPLAY")
    if display:
        auth = os.environ.get("XAUTHORITY")
        env = f"DISPLAY={display}" + (f" XAUTHORITY={auth}" if auth else "")
        print("  look         from another terminal (see README-demo.md):")
        print(f"               {env} xwd -root | convert xwd:- screen.png")
        print(f"               {env} x11vnc -localhost -forever -shared   # then vncviewer :0")
    return plan


def _no_kiosk_banner() -> None:
    print("  kiosk        not started: there is no display here. On a desktop `make demo` opens")
    print("               it; on a headless machine run it on a virtual screen with")
    print(f"               xvfb-run -a -s '-screen 0 {XVFB_SCREEN}' make demo")
    print("               (or `branchq demo --kiosk` with QT_QPA_PLATFORM=offscreen).")
    print("  counter app  opens with the kiosk, for counter 1 (`--no-counter` leaves it out),")
    print("               and so does the manager's console (`--no-manager`); or run it alone:")
    print("               python -m ui.manager --server URL --token <manager token>")


def _start_devices(
    var: Path, cfg: BranchConfig, tokens: dict[str, str], base: str, *, card: str | None
) -> tuple[SimSet, Path]:
    """Simulated printer, reader, scanner and RS-485 bus, plus a hub config for the bus."""
    numbers = [c.number for c in cfg.counters]
    sims = start_simulators(var / "sim", numbers, card=card)
    lines = [f'server = "{base}"', "[[buses]]", 'name = "main"', f'url = "{sims.bus.url}"']
    for n in numbers:
        lines += ["[[counters]]", f"number = {n}", f'token = "{tokens[f"counter:{n}"]}"']
    hub_config = var / "hub.toml"
    hub_config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def printed(ticket: PrintedTicket) -> None:
        print(f"  printer      printed a ticket → {ticket.path}", flush=True)

    sims.printer.on_ticket = printed
    print("  devices      simulated; the bus hub drives each counter's LED board and pads:")
    print(sims.describe(indent="    "))
    print(f"  hub config   {hub_config}")
    print(f"  tickets      printed tickets are written as PNGs to {sims.printer.out_dir}")
    print(f"  voice        the kiosk's spoken prompts are written as WAVs to {voice_dir(sims)}")
    return sims, hub_config


# ------------------------------------------------------------------ appointment
def next_slot(now: datetime, rules: AppointmentRules, timezone: str) -> datetime:
    """The first slot start at least a minute after `now`, in the branch's local time."""
    local = (now + timedelta(minutes=1)).astimezone(ZoneInfo(timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    minutes = math.ceil((local - midnight).total_seconds() / 60 / rules.slot_min) * rules.slot_min
    return midnight + timedelta(minutes=minutes)


@dataclass(frozen=True)
class Booking:
    booking_number: str
    service: str
    slot_start: str
    qr: str
    qr_png: Path


def demo_slot(now: datetime, rules: AppointmentRules, timezone: str) -> datetime:
    """The demo's booked slot: about a branch hour ahead, so that at the demo's speed the
    person at the kiosk has minutes to check it in before its grace runs out, and early
    enough that it may be checked in at once."""
    ahead = min(BOOKING_AHEAD, rules.early_window - rules.slot)
    return next_slot(now + max(ahead, timedelta(0)), rules, timezone)


async def book_demo_appointment(
    base: str, cfg: BranchConfig, manager_token: str, var: Path, now: datetime
) -> Booking | None:
    """Book a slot of loans ("L", else the first business) as the bank's online channel
    would, at `now` on the server's clock, and write its QR code to
    `var/appointment-qr.png`."""
    codes = [s.code for s in cfg.services]
    service = "L" if "L" in codes else codes[0]
    slot = demo_slot(now, cfg.appointments, cfg.settings.timezone)
    auth = {"Authorization": f"Bearer {manager_token}"}
    body = {"service": service, "slot_start": slot.isoformat()}
    try:
        async with httpx.AsyncClient(base_url=base + "/api/v1", timeout=10) as http:
            r = await http.post("/appointments", json=body, headers=auth)
    except httpx.HTTPError as exc:
        print(f"  appointment  could not be booked: {exc}")
        return None
    if r.status_code != 201:
        print(f"  appointment  could not be booked: {r.status_code} {r.text}")
        return None
    data = r.json()
    png = var / "appointment-qr.png"
    qrcode.make(data["qr"], border=4).save(png)
    booking = Booking(data["booking_number"], service, data["slot_start"], data["qr"], png)
    print(
        f"  appointment  booking {booking.booking_number}, business {service}, "
        f"slot {booking.slot_start}"
    )
    print(f"               its QR code: {png}")
    return booking


# --------------------------------------------------------------- kiosk and counter app
class AppProcess:
    """A Qt app of the branch as a child process on this display.

    queue_server never imports the apps: it runs them. Each one's output goes to its log
    in `var/`; it is stopped with the demo, and if it exits by itself the demo says so and
    goes on. It writes its ready file once its window is up.
    """

    label = "app"  # as the terminal names it, padded to the banner's column
    ready_words = "on screen"

    def __init__(self, proc: asyncio.subprocess.Process, ready: Path, log: Path) -> None:
        self.proc = proc
        self.ready = ready
        self.log = log
        self._watching = asyncio.create_task(self._watch())

    @classmethod
    async def _spawn(cls, args: list[str], ready: Path, log: Path) -> Self:
        ready.unlink(missing_ok=True)
        with log.open("wb") as out:  # the child keeps its own handle
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Its own session: Ctrl-C in this terminal reaches the demo, which stops it.
                start_new_session=os.name == "posix",
            )
        return cls(proc, ready, log)

    async def _watch(self) -> None:
        exited = asyncio.ensure_future(self.proc.wait())
        while not self.ready.exists():
            await asyncio.wait({exited}, timeout=0.1)
            if exited.done():
                break
        else:
            print(f"  {self.label:<12} {self.ready_words} (process {self.proc.pid})", flush=True)
        code = await exited
        print(
            f"  {self.label:<12} exited by itself (code {code}; see {self.log}). "
            "The demo goes on; Ctrl-C stops it.",
            flush=True,
        )

    async def wait_ready(self, timeout: float) -> bool:
        """Until the app's window is up (False: it exited or `timeout` passed first)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.ready.exists():
            if self.proc.returncode is not None or asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)  # a file another process writes: nothing to wait on
        return True

    async def stop(self, timeout: float = 5.0) -> None:
        """Terminate the app, and kill it if it has not gone after `timeout` seconds."""
        self._watching.cancel()
        if self.proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()


def voice_dir(sims: SimSet) -> Path:
    """Where the demo kiosk's simulated speaker writes what it says, beside the tickets."""
    return Path(sims.printer.out_dir).parent / "voice"


class KioskProcess(AppProcess):
    """The customer kiosk (`python -m kiosk`), on the simulated devices."""

    label = "kiosk"
    ready_words = "on the attract screen"

    @staticmethod
    def command(base: str, token: str, sims: SimSet | None, ready: Path) -> list[str]:
        args = [sys.executable, "-m", "kiosk", "--server", base, "--token", token]
        if sims is not None:
            args += ["--printer", sims.printer.url, "--idcard", sims.idcard.url]
            args += ["--scanner", f"scanner+serial://{sims.scanner.path}"]
            # Every prompt, senior mode or not, written as a WAV to listen to afterwards:
            # a demo machine may have no sound card (xvfb, a server).
            args += ["--audio", f"sim://?dir={voice_dir(sims)}", "--voice", "always"]
        return [*args, "--maintenance-pin", KIOSK_PIN, "--ready-file", str(ready)]

    @classmethod
    async def start(cls, base: str, token: str, sims: SimSet | None, var: Path) -> Self:
        ready, log = var / "kiosk.ready", var / "kiosk.log"
        app = await cls._spawn(cls.command(base, token, sims, ready), ready, log)
        print(f"  kiosk        starting on this display (process {app.proc.pid}, log {log}),")
        print(f"               maintenance PIN {KIOSK_PIN}")
        return app


class CounterAppProcess(AppProcess):
    """The teller's counter app (`python -m ui.counter`) for the human's counter."""

    label = "counter app"
    ready_words = "on the sign-in screen"

    @staticmethod
    def command(
        base: str, token: str, ready: Path, geometry: str = COUNTER_APP_GEOMETRY
    ) -> list[str]:
        args = [sys.executable, "-m", "ui.counter", "--server", base, "--token", token]
        args += ["--counter", str(HUMAN_COUNTER), "--staff", f"t{HUMAN_COUNTER:02d}"]
        return [*args, "--geometry", geometry, "--ready-file", str(ready)]

    @classmethod
    async def start(cls, base: str, token: str, var: Path, geometry: str) -> Self:
        ready, log = var / "counter.ready", var / "counter.log"
        app = await cls._spawn(cls.command(base, token, ready, geometry), ready, log)
        n = HUMAN_COUNTER
        print(f"  counter app  counter {n} (process {app.proc.pid}, log {log}): sign in as")
        print(f"               t{n:02d} with PIN {DEMO_PIN}; the simulated tellers leave counter")
        print(f"               {n} to you, its LED board and rating pad follow your calls")
        return app


class ManagerConsoleProcess(AppProcess):
    """The branch manager's console (`python -m ui.manager`)."""

    label = "manager"
    ready_words = "console on screen"

    @staticmethod
    def command(base: str, token: str, ready: Path, geometry: str = MANAGER_GEOMETRY) -> list[str]:
        args = [sys.executable, "-m", "ui.manager", "--server", base, "--token", token]
        return [*args, "--geometry", geometry, "--ready-file", str(ready)]

    @classmethod
    async def start(cls, base: str, token: str, var: Path, geometry: str) -> Self:
        ready, log = var / "manager.ready", var / "manager.log"
        app = await cls._spawn(cls.command(base, token, ready, geometry), ready, log)
        print(f"  manager      console (process {app.proc.pid}, log {log}): live branch,")
        print("               window counts, advice, alerts; a 不满意 at counter 1 (r 1) opens")
        print("               a follow-up there")
        return app


# ------------------------------------------------------------------ device panel
PANEL_HELP = """\
  device panel — type a letter and Enter; you are the devices of the kiosk and counter 1:
    c    place the elderly customer's ID card on the reader (again: lift it)
    a    hold the booked appointment's QR code under the scanner
    p    printer out of paper (again: paper back in)
    r N  counter 1's rating pad answers N from now on (4 非常满意, 3 满意, 2 一般, 1 不满意)
    h    this help          q  stop the demo (as Ctrl-C does)
"""


def stdin_is_usable() -> bool:
    """Whether commands can be read from stdin: a terminal in the foreground, or a pipe
    (a script or test driving the demo). Not /dev/null, a closed stdin, or a background job."""
    try:
        fd = sys.stdin.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    if os.isatty(fd):
        try:
            return os.tcgetpgrp(fd) == os.getpgrp()  # a background job would be stopped
        except (AttributeError, OSError):
            return True
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISREG(mode)


class DevicePanel:
    """Terminal commands that act as the simulated devices: ID card, scanner and printer."""

    def __init__(self, sims: SimSet, booking: Booking | None, quit_demo: Callable[[], None]):
        self.sims = sims
        self.booking = booking
        self.quit_demo = quit_demo

    async def run(self) -> None:
        print(PANEL_HELP, flush=True)
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        reader = threading.Thread(
            target=_read_lines, args=(sys.stdin.fileno(), loop, lines), daemon=True
        )
        reader.start()
        while (line := await lines.get()) is not None:
            print(self.command(line), flush=True)
        # stdin closed: the demo goes on without its panel.

    def command(self, line: str) -> str:
        """Do one panel command; the line to print."""
        word = line.strip().lower()
        idcard, printer = self.sims.idcard, self.sims.printer
        if word == "c":
            if idcard.card is None:
                idcard.place("elderly")
                return "  id card      placed: 测试一, born 1950 (care priority); c again lifts it"
            idcard.lift()
            return "  id card      lifted"
        if word == "a":
            if self.booking is None:
                return "  scanner      no appointment was booked"
            self.sims.scanner.scan(self.booking.qr)
            return f"  scanner      scanned the QR code of booking {self.booking.booking_number}"
        if word == "p":
            printer.paper_out = not printer.paper_out
            return "  printer      " + ("out of paper" if printer.paper_out else "paper loaded")
        if word.split()[:1] == ["r"]:
            return self.set_rating(word.split()[1:])
        if word in ("h", "?", "help"):
            return PANEL_HELP
        if word in ("q", "quit", "exit"):
            self.quit_demo()
            return "  stopping the demo…"
        return "" if not word else f"  unknown command {word!r}: h for help"

    def set_rating(self, args: list[str]) -> str:
        from devices.bus import plan

        if len(args) != 1 or args[0] not in ("1", "2", "3", "4"):
            return "  rating pad   r N with N from 1 (不满意) to 4 (非常满意)"
        pad = self.sims.bus.rating_pad(plan.rating_pad_address(HUMAN_COUNTER))
        pad.auto_answer = int(args[0])
        return f"  rating pad   counter {HUMAN_COUNTER}'s customers now rate {args[0]}"


def _read_lines(fd: int, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    """On a thread: read stdin with os.read (no buffered-file lock held across shutdown)
    and hand each line to the event loop; None at end of input."""
    pending = b""
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            chunk = b""
        pending += chunk
        while b"\n" in pending:
            raw, pending = pending.split(b"\n", 1)
            if not _post(loop, lines, raw.decode("utf-8", "replace")):
                return
        if not chunk:
            _post(loop, lines, None)
            return


def _post(
    loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None], item: str | None
) -> bool:
    try:
        loop.call_soon_threadsafe(lines.put_nowait, item)
    except RuntimeError:  # the loop has closed: the demo is over
        return False
    return True


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
    base: str,
    cfg: BranchConfig,
    tokens: dict[str, str],
    clock: DemoClock,
    *,
    rate: bool,
    human: set[int] | frozenset[int] = frozenset(),
) -> None:
    """Customers arrive; tellers call, serve and finish, in branch time on the server's own
    clock. With simulated rating pads the pads rate through the hub, so the tellers do not
    rate themselves (`rate=False`). No simulated teller signs in at the counters in `human`:
    a person runs those."""
    async with httpx.AsyncClient(base_url=base + "/api/v1", timeout=5) as http:
        traffic = DemoTraffic(
            http, cfg, tokens, RealTimePacer(clock), rate=rate, human=frozenset(human), say=_say
        )
        await traffic.run()


def _say(line: str) -> None:
    print(line, flush=True)
