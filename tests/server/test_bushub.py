"""The bus hub end to end: real server, simulated RS-485 bus on a pty, hub in its own loop."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest
from conftest import LiveServer, sign_in
from websockets.sync.client import connect

from devices.bus import Key
from devices.bus.sim import start_counter_bus
from queue_server.bushub import load_hub_config, run_hub

WAIT_S = 10.0


class HubThread:
    """`run_hub` on a thread with its own event loop, stopped through a loop-safe event."""

    def __init__(self, config_path) -> None:
        self.path = config_path
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self.stop = asyncio.Event()
            self.ready.set()
            await run_hub(self.path, stop=self.stop, health_every_s=0.3)

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by the test
            self.error = exc
            self.ready.set()

    def __enter__(self) -> HubThread:
        self.thread.start()
        assert self.ready.wait(WAIT_S)
        return self

    def __exit__(self, *exc: object) -> None:
        if hasattr(self, "loop"):
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive(), "the hub did not stop"
        assert self.error is None, self.error


@pytest.fixture
def bus_sim() -> Iterator:
    sim = start_counter_bus([1, 2, 3])
    try:
        yield sim
    finally:
        sim.stop()


def hub_config(tmp_path, server: LiveServer, bus_url: str):
    lines = [f'server = "{server.base_url}"', "[[buses]]", 'name = "main"', f'url = "{bus_url}"']
    for n in (1, 2, 3):
        lines += ["[[counters]]", f"number = {n}", f'token = "{server.tokens[f"counter:{n}"]}"']
    path = tmp_path / "hub.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def wait_for_event(ws, kind: str) -> dict:
    while True:
        message = json.loads(ws.recv(timeout=WAIT_S))
        for event in message.get("events", []):
            if event["kind"] == kind:
                return event


def test_a_call_shows_on_the_board_and_the_pad_rating_reaches_the_server(tmp_path, server, bus_sim):
    bus_sim.rating_pad(201).auto_answer = 4
    kiosk = server.client("kiosk")
    c1 = sign_in(server, 1)
    first = kiosk.post("/tickets", json={"service": "A"}).json()
    second = kiosk.post("/tickets", json={"service": "A"}).json()
    with HubThread(hub_config(tmp_path, server, bus_sim.url)):
        board = bus_sim.text_board(1)
        c1.post("/counters/1/call-next")
        assert bus_sim.wait_until(lambda: board.text == first["number"], WAIT_S), board.text
        c1.post("/counters/1/recall")
        assert bus_sim.wait_until(lambda: board.blinking, WAIT_S)
        with connect(f"{server.ws_url}?token={server.tokens['display']}", open_timeout=5) as ws:
            ws.recv(timeout=WAIT_S)  # snapshot
            c1.post("/counters/1/start")
            c1.post("/counters/1/finish")
            rated = wait_for_event(ws, "ticket.rated")
        assert rated["ticket"]["id"] == first["id"] and rated["ticket"]["rating"] == 4
        assert bus_sim.wait_until(lambda: board.text == "", WAIT_S)

        # The teller presses NEXT on the keypad: the server calls the next customer.
        bus_sim.press(101, Key.NEXT)
        assert bus_sim.wait_until(lambda: board.text == second["number"], WAIT_S), board.text
        got = server.client("admin").get(f"/tickets/{second['id']}").json()
        assert (got["state"], got["counter"]) == ("called", 1)

        # The hub reports the health of every device it drives.
        def devices() -> set[str]:
            listed = server.client("manager").get("/devices").json()
            return {d["device"] for d in listed if d["health"] == "ok"}

        assert bus_sim.wait_until(lambda: len(devices()) >= 9, WAIT_S), devices()


def test_a_board_catches_up_from_the_snapshot_when_the_hub_starts(tmp_path, server, bus_sim):
    server.client("kiosk").post("/tickets", json={"service": "B"})
    c2 = sign_in(server, 2)
    called = c2.post("/counters/2/call-next").json()["ticket"]
    with HubThread(hub_config(tmp_path, server, bus_sim.url)):
        board = bus_sim.text_board(2)
        assert bus_sim.wait_until(lambda: board.text == called["number"], WAIT_S)


def test_hub_config_errors_are_clear(tmp_path):
    bad = tmp_path / "hub.toml"
    bad.write_text('server = "http://x"\n[[buses]]\nurl = "rs485+serial://loop://"\n')
    with pytest.raises(ValueError, match="no \\[\\[counters\\]\\]"):
        load_hub_config(bad)
    bad.write_text('server = "http://x"\n[[counters]]\nnumber = 1\ntoken = "t"\nbus = "other"\n')
    with pytest.raises(ValueError, match="unknown bus other"):
        load_hub_config(bad)
