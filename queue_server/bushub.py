"""The bus hub: drives counter devices on an RS-485 bus from the server's event stream.

A branch whose LED boards, caller keypads and rating pads are wired to one controller next
to the server runs `branchq devices hub --config hub.toml` instead of a counter PC per
window. The hub follows the live event stream (resuming with since + epoch after a drop):
a call shows the number on that counter's board, a recall blinks it, the end of service
clears it and asks the rating pad; keypad keys become the counter's actions over the API
with that counter's own token; device health goes to the server every few seconds.

Configuration (TOML):

    server = "http://192.168.1.10:8470"
    [[buses]]
    name = "main"
    url = "rs485+serial:///dev/ttyUSB0?baud=9600"
    [[counters]]
    number = 3
    token = "bq_…"          # a counter:3 token (`branchq token create --role counter:3`)
    bus = "main"
    board = 3               # text LED board address (or digit_board = 3 for Modbus digits)
    keypad = 103            # optional
    rating_pad = 203        # optional
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import tomllib
import uuid
from collections.abc import Awaitable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import websockets

from wire import EventKind, MessageType

log = logging.getLogger(__name__)
# The server sends a heartbeat every 2 s: three missed ones mean a stalled link (as the
# Qt client and the display page judge it), whatever websockets' own pings say.
RETRY_MAX_S = 2.0
STALL_S = 6.0
RATING_TIMEOUT_S = 30.0
HEALTH_EVERY_S = 5.0

# Keypad key → (HTTP path under /counters/N, whether it needs the current ticket id).
KEY_ACTIONS = {
    "NEXT": "call-next",
    "RECALL": "recall",
    "START": "start",
    "FINISH": "finish",
    "NO_SHOW": "no-show",
}


class CounterHardware(Protocol):
    """What the hub needs from one counter's devices, whatever bus they are on."""

    def show(self, text: str) -> None: ...
    def blink(self) -> None: ...
    def clear(self) -> None: ...
    def request_rating(self, timeout_s: float) -> Future[int | None] | None:
        """None when the counter has no rating pad."""
        ...

    def health(self) -> list[tuple[str, str, str, str]]:
        """(device id, kind, health, detail) for each device of this counter."""
        ...


@dataclass
class CounterConfig:
    number: int
    token: str
    bus: str = "main"
    board: int | None = None
    digit_board: int | None = None
    keypad: int | None = None
    rating_pad: int | None = None


@dataclass
class HubConfig:
    server: str
    buses: dict[str, str]
    counters: list[CounterConfig] = field(default_factory=list)


def load_hub_config(path: str | Path) -> HubConfig:
    try:
        with Path(path).open("rb") as f:
            raw = tomllib.load(f)
        buses = {str(b.get("name", "main")): str(b["url"]) for b in raw.get("buses", [])}
        counters = [
            CounterConfig(
                number=int(c["number"]),
                token=str(c["token"]),
                bus=str(c.get("bus", "main")),
                board=c.get("board"),
                digit_board=c.get("digit_board"),
                keypad=c.get("keypad"),
                rating_pad=c.get("rating_pad"),
            )
            for c in raw.get("counters", [])
        ]
        config = HubConfig(str(raw["server"]).rstrip("/"), buses, counters)
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"bad hub config {path}: {exc}") from exc
    if not config.counters:
        raise ValueError(f"bad hub config {path}: no [[counters]]")
    for c in config.counters:
        if c.bus not in config.buses:
            raise ValueError(f"bad hub config {path}: counter {c.number} uses unknown bus {c.bus}")
    return config


class Hub:
    """Follows the event stream and drives each configured counter's hardware."""

    def __init__(
        self,
        server: str,
        counters: dict[int, tuple[str, CounterHardware]],
        *,
        http_timeout_s: float = 5.0,
        health_every_s: float = HEALTH_EVERY_S,
    ) -> None:
        self.server = server.rstrip("/")
        self.health_every_s = health_every_s
        self.counters = counters  # number -> (token, hardware)
        self.showing: dict[int, int] = {}  # counter -> ticket id on its board
        self.counter_state: dict[int, str] = {}
        self._http = httpx.AsyncClient(base_url=self.server + "/api/v1", timeout=http_timeout_s)
        self._seq: int | None = None
        self._epoch: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.connected = asyncio.Event()
        self.ratings_posted: list[tuple[int, int]] = []  # (ticket id, rating), for diagnostics

    # ------------------------------------------------------------ event stream
    async def run(self) -> None:
        """Follow the stream until cancelled, reconnecting with a short backoff."""
        backoff = 0.5
        token = next(iter(self.counters.values()))[0]
        while True:
            url = self.server.replace("http", "ws", 1) + f"/api/v1/events?token={token}"
            if self._seq is not None and self._epoch is not None:
                url += f"&since={self._seq}&epoch={self._epoch}"
            try:
                async with websockets.connect(
                    url, open_timeout=5, ping_interval=5, close_timeout=1
                ) as ws:
                    backoff = 0.5
                    while True:
                        try:
                            # Not wait_for: on Python 3.11 it swallows a cancel that lands as
                            # a message arrives, and the hub then never stops.
                            async with asyncio.timeout(STALL_S):
                                raw = await ws.recv()
                        except TimeoutError:
                            # Three heartbeats missed: the link is dead even if TCP says
                            # nothing. Drop it at once (a polite close would wait for an
                            # answer that never comes) and reconnect.
                            log.warning("event stream silent for %.0f s; reconnecting", STALL_S)
                            ws.transport.abort()
                            break
                        await self.handle(json.loads(raw))
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                log.warning("event stream lost (%s); reconnecting", exc)
            self.connected.clear()
            await asyncio.sleep(backoff)
            # At most 2 s between tries: the boards promise to be back within 3 s of the
            # server (the network drill), and a try on the branch's LAN costs nothing.
            backoff = min(backoff * 2, RETRY_MAX_S)

    async def handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == MessageType.SNAPSHOT:
            self._epoch = message["epoch"]
            self._seq = message["seq"]
            self._apply_snapshot(message)
            self.connected.set()
        elif kind == MessageType.RESUME:
            self._epoch = message["epoch"]
            self.connected.set()
        elif kind == MessageType.EVENTS:
            for event in message["events"]:
                self._seq = event["seq"]
                self._apply_event(event)
        elif kind == MessageType.HEARTBEAT:
            self._epoch = message.get("epoch", self._epoch)

    def _apply_snapshot(self, snap: dict[str, Any]) -> None:
        for c in snap["counters"]:
            self.counter_state[c["number"]] = c["state"]
        active = {
            t["counter"]: t
            for t in snap["tickets"]
            if t["state"] in ("called", "serving") and t["counter"] in self.counters
        }
        for number, (_, hardware) in self.counters.items():
            ticket = active.get(number)
            if ticket is None:
                self.showing.pop(number, None)
                hardware.clear()
            else:
                self.showing[number] = ticket["id"]
                hardware.show(ticket["number"])

    def _apply_event(self, event: dict[str, Any]) -> None:
        if "counter" in event and event["kind"].startswith("counter."):
            self.counter_state[event["counter"]["number"]] = event["counter"]["state"]
        ticket = event.get("ticket")
        if ticket is None:
            return
        number = ticket.get("counter")
        if number not in self.counters:
            return
        hardware = self.counters[number][1]
        kind = event["kind"]
        if kind == EventKind.TICKET_CALLED:
            self.showing[number] = ticket["id"]
            hardware.show(ticket["number"])
        elif kind == EventKind.TICKET_RECALLED:
            hardware.blink()
        elif kind in (EventKind.TICKET_NO_SHOW, EventKind.TICKET_TRANSFERRED):
            self._clear(number, ticket["id"])
        elif kind == EventKind.TICKET_DONE:
            self._clear(number, ticket["id"])
            self._spawn(self._ask_rating(number, ticket["id"]))

    def _clear(self, number: int, ticket_id: int) -> None:
        if self.showing.get(number) == ticket_id:
            del self.showing[number]
            self.counters[number][1].clear()

    # ------------------------------------------------------------------ ratings
    async def _ask_rating(self, number: int, ticket_id: int) -> None:
        token, hardware = self.counters[number]
        future = hardware.request_rating(RATING_TIMEOUT_S)
        if future is None:
            return
        rating = await asyncio.wrap_future(future)
        if rating is None:
            return  # the customer left without rating: nothing to store
        r = await self._post(token, f"/tickets/{ticket_id}/rating", {"rating": rating})
        if r is not None and r.status_code == 200:
            self.ratings_posted.append((ticket_id, rating))

    # ------------------------------------------------------------------ keypad
    def on_key(self, number: int, key: str, arg: int = 0) -> None:
        """Called from the bus's callback thread: hop to the loop and act there."""
        self._loop.call_soon_threadsafe(lambda: self._spawn(self.press(number, key, arg)))

    async def press(self, number: int, key: str, arg: int = 0) -> int | None:
        """Perform a keypad key as the counter's action; returns the HTTP status.

        TRANSFER sends the current customer to the counter number typed before the key.
        """
        token = self.counters[number][0]
        if key in ("PAUSE", "RESUME"):
            paused = self.counter_state.get(number) == "paused"
            action = "open" if key == "RESUME" or paused else "pause"
            r = await self._post(token, f"/counters/{number}/{action}", None)
        elif key == "TRANSFER":
            if not arg:
                log.info("counter %s: TRANSFER needs a counter number typed first", number)
                return None
            body = {"to_counter": arg, "note": "keypad"}
            r = await self._post(token, f"/counters/{number}/transfer", body)
        elif key in KEY_ACTIONS:
            headers = {"Idempotency-Key": uuid.uuid4().hex} if key == "NEXT" else {}
            r = await self._post(token, f"/counters/{number}/{KEY_ACTIONS[key]}", None, headers)
        else:
            log.info("counter %s: key %s has no action on a keypad", number, key)
            return None
        if r is not None and r.status_code >= 400:
            # A refused key (nobody waiting to finish, counter paused…) is shown, not hidden.
            log.info("counter %s: %s refused: %s", number, key, r.text[:200])
        return None if r is None else r.status_code

    # ------------------------------------------------------------------ health
    async def report_health(self) -> None:
        """Post each device's health (the server records only changes)."""
        for number, (token, hardware) in self.counters.items():
            for device, kind, status, detail in hardware.health():
                health = bus_health(status)
                if health is None:
                    continue
                body = {
                    "device": _device_id(device),
                    "kind": kind.replace(" ", "_"),  # "text board" -> "text_board"
                    "health": health,
                    "detail": detail[:300],
                    "counter": number,
                }
                r = await self._post(token, "/devices/status", body)
                if r is not None and r.status_code >= 400:
                    log.warning("health of %s refused: %s", device, r.text[:200])

    async def health_loop(self) -> None:
        while True:
            await self.report_health()
            await asyncio.sleep(self.health_every_s)

    # ------------------------------------------------------------------ plumbing
    async def _post(
        self,
        token: str,
        path: str,
        body: dict[str, Any] | None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response | None:
        try:
            return await self._http.post(
                path, json=body, headers={"Authorization": f"Bearer {token}", **(headers or {})}
            )
        except httpx.HTTPError as exc:
            log.warning("server unreachable for %s: %s", path, exc)
            return None

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._spawn(self.run())
        self._spawn(self.health_loop())

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._http.aclose()


# The bus reports online / offline / unknown; the server's words for device health.
_BUS_HEALTH = {"online": "ok", "offline": "offline"}


def _device_id(device: str) -> str:
    """A bus device id (`PORT#ADDRESS`) in the server's alphabet, at most 64 characters."""
    cleaned = re.sub(r"[^A-Za-z0-9:_./-]", ":", device)
    return cleaned[-64:]


def bus_health(status: str) -> str | None:
    """The server's health word for a bus device's status; None until it was first seen."""
    return _BUS_HEALTH.get(status)


def open_counter_devices(config: HubConfig, hub: Hub) -> list[Any]:
    """Open every configured bus and attach each counter's devices; returns the buses."""
    from devices.bus import Bus, plan
    from devices.bus.counter import CounterDevices

    buses = {name: Bus(url) for name, url in config.buses.items()}

    def key_event(counter: int, event: Any) -> None:
        hub.on_key(counter, event.key.name, int(event.arg or 0))

    for c in config.counters:
        if (c.board, c.digit_board, c.keypad, c.rating_pad) == (None, None, None, None):
            # Nothing listed: the default address plan (board N, keypad 100+N, pad 200+N).
            c.board = plan.board_address(c.number)
            c.keypad = plan.keypad_address(c.number)
            c.rating_pad = plan.rating_pad_address(c.number)
        devices = CounterDevices(
            buses[c.bus],
            c.number,
            board=c.board,
            digit_board=c.digit_board,
            keypad=c.keypad,
            rating_pad=c.rating_pad,
            on_key_event=key_event,
        )
        hub.counters[c.number] = (c.token, devices)
    return list(buses.values())


async def run_hub(
    config_path: str | Path,
    *,
    stop: asyncio.Event | None = None,
    health_every_s: float = HEALTH_EVERY_S,
) -> None:
    """`branchq devices hub`: run until cancelled (or `stop` is set)."""
    config = load_hub_config(config_path)
    hub = Hub(config.server, {}, health_every_s=health_every_s)
    buses = open_counter_devices(config, hub)
    try:
        await hub.start()
        await (stop.wait() if stop is not None else asyncio.Event().wait())
    finally:
        await hub.close()
        for bus in buses:
            bus.close()
