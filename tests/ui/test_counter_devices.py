"""The teller's day with the counter's RS-485 devices taking part.

A real queue server on loopback, the simulated bus on a pty (counter 1's LED board at 1,
keypad at 101, rating pad at 201), the real bus hub following the event stream on its own
thread, and the CounterWindow for counter 1. The app's buttons and the keypad's keys must
produce the same events; the board shows what the app calls; the pad is asked when the
app finishes, and its answer appears in the app. Waits are qtbot.waitUntil, never sleeps.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import LiveServer, sign_in
from PySide6.QtCore import Qt

from devices.bus import Key, plan
from devices.bus.sim import BusSimulator, start_counter_bus
from queue_server.bushub import run_hub
from ui.client import BranchClient
from ui.counter.session import Action
from ui.counter.window import CounterWindow, open_counter
from ui.i18n import Translator

WAIT_MS = 8000
COUNTER = 1
KEYPAD = plan.keypad_address(COUNTER)
PAD = plan.rating_pad_address(COUNTER)


class HubOnThread:
    """`run_hub` in an event loop of its own thread, as `branchq devices hub` runs it."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None
        self.failure: BaseException | None = None
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, name="bus-hub", daemon=True)

    def _run(self) -> None:
        async def hub() -> None:
            self.loop = asyncio.get_running_loop()
            self.stop_event = asyncio.Event()
            self.started.set()
            await run_hub(self.config, stop=self.stop_event, health_every_s=60)

        try:
            asyncio.run(hub())
        except BaseException as exc:  # reported by stop()
            self.failure = exc
        finally:
            self.started.set()

    def start(self) -> HubOnThread:
        self.thread.start()
        assert self.started.wait(10), "the hub thread did not start"
        return self

    def stop(self) -> None:
        if self.loop is not None and self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(10)
        assert not self.thread.is_alive(), "the hub did not stop"
        assert self.failure is None, self.failure


@pytest.fixture
def bus() -> Iterator[BusSimulator]:
    sim = start_counter_bus([1, 2, 3])
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def hub(tmp_path: Path, server: LiveServer, bus: BusSimulator) -> Iterator[HubOnThread]:
    lines = [f'server = "{server.base_url}"', "[[buses]]", f'url = "{bus.url}"']
    for n in (1, 2, 3):
        lines += ["[[counters]]", f"number = {n}", f'token = "{server.tokens[f"counter:{n}"]}"']
    config = tmp_path / "hub.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    running = HubOnThread(config).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def window(qtbot, tr: Translator, server: LiveServer, hub: HubOnThread, bus) -> Iterator[Any]:
    sign_in(server, COUNTER)
    client = BranchClient(
        server.base_url, server.tokens[f"counter:{COUNTER}"], timeout_s=2.0, backoff_s=(0.1, 0.5)
    )
    w = open_counter(client, COUNTER, tr=tr, refresh_ms=50, offline_grace_ms=0)
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    client.start()
    qtbot.waitUntil(lambda: client.online and w.session.view().signed_in, timeout=WAIT_MS)
    # The hub has the server's snapshot once it has cleared the boards.
    board = bus.text_board(plan.board_address(COUNTER))
    qtbot.waitUntil(lambda: "clear" in board.history, timeout=WAIT_MS)
    yield w
    client.stop()


def issue(server: LiveServer) -> dict[str, Any]:
    r = server.client("kiosk").post("/tickets", json={"service": "A"})
    assert r.status_code == 201, r.text
    return r.json()


def shown(window: CounterWindow) -> str | None:
    panel = window.customer
    if panel.pages.currentWidget() is not panel.present:
        return None
    return panel.number.text()


def click(qtbot, window: CounterWindow, action: Action) -> None:
    qtbot.waitUntil(
        lambda: window.busy is None and window.buttons[action].isEnabled(), timeout=WAIT_MS
    )
    qtbot.mouseClick(window.buttons[action], Qt.MouseButton.LeftButton)


def kinds_for(events: list[dict[str, Any]], ticket_id: int) -> list[str]:
    return [e["kind"] for e in events if (e.get("ticket") or {}).get("id") == ticket_id]


def test_the_app_the_led_board_the_keypad_and_the_rating_pad_work_as_one_counter(
    qtbot, window: CounterWindow, server: LiveServer, bus: BusSimulator
):
    board = bus.text_board(plan.board_address(COUNTER))
    pad = bus.rating_pad(PAD)
    events: list[dict[str, Any]] = []
    window.client.eventReceived.connect(events.append)

    # By the app: Call next shows the number on the screen and on the LED board.
    first = issue(server)
    click(qtbot, window, Action.CALL_NEXT)
    qtbot.waitUntil(lambda: shown(window) == first["number"], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: board.text == first["number"], timeout=WAIT_MS)
    click(qtbot, window, Action.RECALL)
    qtbot.waitUntil(lambda: board.blinking, timeout=WAIT_MS)
    click(qtbot, window, Action.START)
    click(qtbot, window, Action.FINISH)
    # The finish asks the pad; the customer presses 满意; the app shows it.
    qtbot.waitUntil(lambda: shown(window) is None and board.text == "", timeout=WAIT_MS)
    assert window.rating.text() == f"正在等待 {first['number']} 的客户评价…"
    qtbot.waitUntil(lambda: pad.showing is not None, timeout=WAIT_MS)
    bus.answer(PAD, 3)
    qtbot.waitUntil(
        lambda: window.rating.text() == f"{first['number']} 的评价：满意", timeout=WAIT_MS
    )
    rated = server.client("manager").get(f"/tickets/{first['id']}").json()
    assert (rated["state"], rated["rating"]) == ("done", 3)

    # By the keypad: the same keys make the same events, and the app follows each one.
    second = issue(server)
    qtbot.waitUntil(lambda: window.buttons[Action.CALL_NEXT].isEnabled(), timeout=WAIT_MS)
    bus.press(KEYPAD, Key.NEXT)
    qtbot.waitUntil(lambda: shown(window) == second["number"], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: board.text == second["number"], timeout=WAIT_MS)
    bus.press(KEYPAD, Key.RECALL)
    qtbot.waitUntil(lambda: window.customer.recalls.text() == "已呼叫 2 次", timeout=WAIT_MS)
    bus.press(KEYPAD, Key.START)
    qtbot.waitUntil(
        lambda: (
            window.customer.state.text() == "正在办理" and window.buttons[Action.FINISH].isEnabled()
        ),
        timeout=WAIT_MS,
    )
    bus.press(KEYPAD, Key.FINISH)
    qtbot.waitUntil(lambda: shown(window) is None and board.text == "", timeout=WAIT_MS)
    # Finished from the keypad, the app still follows the rating.
    qtbot.waitUntil(lambda: second["number"] in window.rating.text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: pad.showing is not None, timeout=WAIT_MS)
    bus.answer(PAD, 4)
    qtbot.waitUntil(lambda: "ticket.rated" in kinds_for(events, second["id"]), timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: window.rating.text() == f"{second['number']} 的评价：非常满意", timeout=WAIT_MS
    )
    assert kinds_for(events, second["id"]) == kinds_for(events, first["id"]) == [
        "ticket.issued", "ticket.called", "ticket.recalled", "ticket.serving", "ticket.done",
        "ticket.rated",
    ]  # fmt: skip
    for ticket in (first, second):
        called = next(
            e for e in events if e["kind"] == "ticket.called" and e["ticket"]["id"] == ticket["id"]
        )
        assert called["ticket"]["counter"] == COUNTER
    qtbot.waitUntil(lambda: window.today.values["served"].text() == "2", timeout=WAIT_MS)

    # The keypad's pause and resume: the app shows the counter paused, then open again.
    bus.press(KEYPAD, Key.PAUSE)
    qtbot.waitUntil(lambda: window.paused.isVisible(), timeout=WAIT_MS)
    assert not window.buttons[Action.CALL_NEXT].isEnabled()
    bus.press(KEYPAD, Key.RESUME)
    qtbot.waitUntil(lambda: window.buttons[Action.CALL_NEXT].isEnabled(), timeout=WAIT_MS)
    assert not window.paused.isVisible()
