"""The RS-485 bus against the simulated counter bus over a real pty (and a TCP converter)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future

import pytest

from devices.bus import (
    Bus,
    CommandRefused,
    DeviceHealth,
    Key,
    KeyEvent,
    Rating,
    configure_digit_board,
    parse_bus_url,
    probe,
)
from devices.bus.sim import (
    BusSimulator,
    SimKeypad,
    TcpBusSimulator,
    populate_counters,
    start_counter_bus,
)
from devices.errors import DeviceError, DeviceUnavailable, ProtocolError

FAST = "?timeout=0.1&health_s=0.3"  # a silent device costs 0.1 s, not 0.2


@pytest.fixture
def sim() -> Iterator[BusSimulator]:
    simulator = start_counter_bus([1, 2, 3])  # boards 1-3, keypads 101-103, pads 201-203
    simulator.add_digit_board(9)  # a Modbus board on the same line
    simulator.add_digit_board(8)
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture
def bus(sim: BusSimulator) -> Iterator[Bus]:
    b = Bus(sim.url + FAST)
    try:
        yield b
    finally:
        b.close()


class Keys:
    """Collects key events and lets a test wait for a number of them."""

    def __init__(self) -> None:
        self.events: list[KeyEvent] = []
        self.threads: set[str] = set()
        self._cond = threading.Condition()

    def __call__(self, event: KeyEvent) -> None:
        with self._cond:
            self.events.append(event)
            self.threads.add(threading.current_thread().name)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout_s: float = 3.0) -> list[KeyEvent]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.events) >= count, timeout_s), self.events
            return list(self.events)


class HealthLog:
    def __init__(self) -> None:
        self.changes: list[DeviceHealth] = []
        self._cond = threading.Condition()

    def __call__(self, health: DeviceHealth) -> None:
        with self._cond:
            self.changes.append(health)
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self.changes.clear()

    def wait_for(self, address: int, status: str, timeout_s: float = 4.0) -> DeviceHealth:
        def found() -> DeviceHealth | None:
            return next(
                (h for h in self.changes if h.address == address and h.status == status), None
            )

        with self._cond:
            assert self._cond.wait_for(lambda: found() is not None, timeout_s), self.changes
            result = found()
            assert result is not None
            return result


# ------------------------------------------------------------------------- text boards
def test_a_text_board_shows_blinks_and_clears(sim, bus):
    board = bus.text_board(3)
    assert board.show("A023").result(2) is None
    assert sim.text_board(3).text == "A023"
    board.blink(times=3, period_s=0.5).result(2)
    shown = sim.text_board(3)
    assert shown.blinking and (shown.blink_times, shown.blink_period_s) == (3, 0.5)
    assert shown.history[-1] == "blink 3x0.50s"
    board.clear().result(2)
    assert sim.text_board(3).text == "" and not sim.text_board(3).blinking
    assert board.text is None


def test_chinese_text_goes_out_as_gb18030(sim, bus):
    bus.text_board(3).show("请 A023 号到 3 号窗口").result(2)
    assert sim.text_board(3).text == "请 A023 号到 3 号窗口"
    sent = [f for f in sim.text_board(3).frames if f.data.startswith("请".encode("gb18030"))]
    assert sent[-1].data == "请 A023 号到 3 号窗口".encode("gb18030")
    bus.text_board(2).show("满意 — 𠀀").result(2)  # a stuffed byte and a 4-byte character
    assert sim.text_board(2).text == "满意 — 𠀀"


def test_text_that_cannot_be_sent_is_refused_at_once(bus):
    with pytest.raises(ValueError, match="GB18030"):
        bus.text_board(3).show("窗" * 200)


def test_a_command_the_device_does_not_support_is_refused_not_retried(sim, bus):
    wrong = bus.text_board(201)  # a rating pad lives there
    with pytest.raises(CommandRefused, match="not supported"):
        wrong.show("A023").result(2)
    assert "answers as a rating pad" in wrong.health.last_error
    shows = [f for f in sim.rating_pad(201).frames if f.command == 0x10]
    assert len(shows) == 1


# ---------------------------------------------------------------------- digit boards
def test_a_modbus_digit_board_on_the_same_line_shows_the_ticket_letter(sim, bus):
    board = bus.digit_board(9)
    bus.text_board(3).show("A023").result(2)  # framed traffic in between
    board.show("A023").result(2)
    assert sim.digit_board(9).shows == "A023"
    assert sim.digit_board(9).art().splitlines()[1] == "|_| | |  _|  _|"
    board.clear().result(2)
    assert sim.digit_board(9).shows == "    "


def test_a_digit_board_blink_is_emulated_and_ends_lit(sim, bus):
    board = bus.digit_board(9)
    board.show("B105").result(2)
    board.blink(times=2, period_s=0.1).result(2)
    digits = sim.digit_board(9)
    assert sim.wait_until(lambda: digits.history[-4:] == ["    ", "B105", "    ", "B105"], 3)


def test_a_digits_only_board_shows_the_mapped_number(sim, bus):
    board = bus.digit_board(8, mode="number", letters="index")
    board.show("C105").result(2)
    assert sim.digit_board(8).shows == "3105"
    assert sim.digit_board(8).value == 3105


# --------------------------------------------------------------------------- keypads
def test_key_presses_reach_on_key_once_each_in_order(sim, bus):
    keys = Keys()
    bus.keypad(103, keys)
    sim.press(103, Key.NEXT)
    sim.press(103, Key.RECALL)
    sim.press(103, Key.TRANSFER, arg=2)
    events = keys.wait_for(3)
    assert events == [
        KeyEvent(103, Key.NEXT),
        KeyEvent(103, Key.RECALL),
        KeyEvent(103, Key.TRANSFER, 2),
    ]
    assert keys.threads == {"rs485-callbacks"}
    assert sim.wait_until(lambda: sim.keypad(103).pending_events == 0)
    sim.press(103, Key.FINISH)
    assert keys.wait_for(4)[-1] == KeyEvent(103, Key.FINISH)


def test_a_slow_callback_does_not_hold_up_the_line(sim, bus):
    release = threading.Event()
    entered = threading.Event()

    def slow(event: KeyEvent) -> None:
        entered.set()
        release.wait(5)

    bus.keypad(101, slow)
    sim.press(101, Key.NEXT)
    assert entered.wait(3)
    try:
        bus.text_board(1).show("A001").result(2)  # the line still works
    finally:
        release.set()


def test_a_keypad_that_restarts_loses_no_keys(sim, bus):
    keys = Keys()
    bus.keypad(102, keys)
    sim.press(102, Key.NEXT)
    keys.wait_for(1)
    with sim.lock:
        sim.keypad(102).power_cycle()  # numbering starts again at 1
        sim.keypad(102).press(Key.NEXT)
    assert keys.wait_for(2) == [KeyEvent(102, Key.NEXT)] * 2


class StubbornKeypad(SimKeypad):
    """Firmware that never leaves FRESH, so it ignores acks and repeats its first key."""

    def command(self, frame, now):
        refused = super().command(frame, now)
        self.fresh = True
        return refused


def test_a_repeated_event_is_delivered_once(sim, bus):
    stubborn = StubbornKeypad(104)
    with sim.lock:
        sim.devices[104] = stubborn
        stubborn.press(Key.RECALL)
    keys = Keys()
    bus.keypad(104, keys)
    keys.wait_for(1)
    polled = len(stubborn.frames)
    assert sim.wait_until(lambda: len(stubborn.frames) > polled + 5)
    assert stubborn.pending_events == 1  # still repeating it
    assert keys.events == [KeyEvent(104, Key.RECALL)]


# ----------------------------------------------------------------------- rating pads
def test_a_rating_request_resolves_with_the_customers_answer(sim, bus):
    pad = bus.rating_pad(203)
    rating = pad.request_rating(timeout_s=5)
    simulated = sim.rating_pad(203)
    assert sim.wait_until(lambda: simulated.showing is not None)
    sim.answer(203, 4)
    assert rating.result(3) == 4 == Rating.VERY_SATISFIED
    assert rating.result().label_zh == "非常满意"
    assert not pad.awaiting


def test_an_unanswered_request_resolves_none_after_its_timeout(sim, bus):
    pad = bus.rating_pad(202)
    started = time.monotonic()
    rating = pad.request_rating(timeout_s=0.3)
    assert rating.result(3) is None
    assert time.monotonic() - started >= 0.3
    simulated = sim.rating_pad(202)
    request_id = simulated.requests[-1][0]
    assert sim.wait_until(lambda: request_id in simulated.cancels)  # the pad stops asking


def test_cancel_resolves_none_and_a_stray_press_is_not_credited(sim, bus):
    pad = bus.rating_pad(201)
    first = pad.request_rating(timeout_s=5)
    assert sim.wait_until(lambda: sim.rating_pad(201).showing is not None)
    pad.cancel().result(2)
    assert first.result(1) is None
    assert sim.rating_pad(201).showing is None
    sim.answer(201, 1)  # pressed with nothing showing: request id 0
    second = pad.request_rating(timeout_s=5)
    assert sim.wait_until(lambda: sim.rating_pad(201).showing is not None)
    sim.answer(201, 3)
    assert second.result(3) == Rating.SATISFIED


def test_a_new_request_replaces_the_old_one(sim, bus):
    pad = bus.rating_pad(203)
    old = pad.request_rating(timeout_s=5)
    new = pad.request_rating(timeout_s=5)
    assert old.result(1) is None
    sim.rating_pad(203).auto_answer = 2
    assert sim.wait_until(lambda: sim.rating_pad(203).ratings != [])
    assert new.result(3) == Rating.FAIR


# ---------------------------------------------------------------------------- health
def test_a_device_that_stops_answering_goes_offline_and_comes_back(sim, bus):
    log = HealthLog()
    bus.on_health_change(log)
    board = bus.text_board(3)
    board.show("A023").result(2)
    log.wait_for(3, "online")
    sim.set_silent(3)
    offline = log.wait_for(3, "offline")
    assert "no reply" in offline.last_error
    with pytest.raises(DeviceError):
        board.show("A024").result(2)  # one try only: the line is not held up
    log.clear()
    sim.set_silent(3, False)
    online = log.wait_for(3, "online", timeout_s=4)
    assert online.since >= offline.since
    # What was asked while it was away is shown once it is back.
    assert sim.wait_until(lambda: sim.text_board(3).text == "A024", 3)
    assert board.health.online and board.health.last_seen is not None


def test_a_board_that_lost_power_gets_its_text_again(sim, bus):
    board = bus.text_board(1)
    board.show("A007").result(2)
    with sim.lock:
        simulated = sim.text_board(1)
        simulated.power_cycle()
        simulated.text = ""
    assert sim.wait_until(lambda: simulated.text == "A007", 3)


def test_garbage_on_the_line_does_not_stop_the_devices(sim, bus):
    keys = Keys()
    bus.keypad(101, keys)
    sim.noise = True  # random bytes before every reply
    sim.inject_garbage(bytes.fromhex("FA 03 80 FF FB FA 01 02"))
    for n in range(5):
        bus.text_board(3).show(f"A{n:03d}").result(2)
        bus.digit_board(9).show(f"B{n:03d}").result(2)
    sim.press(101, Key.NEXT)
    assert keys.wait_for(1) == [KeyEvent(101, Key.NEXT)]
    assert sim.text_board(3).text == "A004"
    assert sim.digit_board(9).shows == "B004"
    assert bus.stats["garbage_bytes"] > 0


def test_a_corrupted_crc_is_an_error_and_leaves_other_devices_alone(sim, bus):
    sim.set_corrupt(2)
    with pytest.raises(ProtocolError, match="checksum"):
        bus.text_board(2).show("A002").result(3)
    assert "checksum" in bus.text_board(2).health.last_error
    bus.text_board(3).show("A003").result(2)
    sim.set_corrupt(9)
    with pytest.raises(ProtocolError, match="CRC"):
        bus.digit_board(9).show("A009").result(3)


def test_an_unplugged_converter_is_reopened_and_devices_come_back():
    first = TcpBusSimulator()
    populate_counters(first, [1])
    first.start()
    port = first.port
    bus = Bus(first.url + FAST)
    log = HealthLog()
    bus.on_health_change(log)
    second: TcpBusSimulator | None = None
    try:
        bus.text_board(1).show("A001").result(2)
        first.stop()
        log.wait_for(1, "offline")
        second = TcpBusSimulator(port)
        populate_counters(second, [1])
        second.start()
        log.clear()
        log.wait_for(1, "online", timeout_s=5)
        assert second.wait_until(lambda: second.text_board(1).text == "A001", 3)
    finally:
        bus.close()
        for simulator in (first, second):
            if simulator is not None:
                simulator.stop()


def test_an_echoing_adapter_is_handled(sim):
    sim.echo = True
    with Bus(sim.url + FAST + "&echo=1") as bus:
        bus.digit_board(9).show("A023").result(2)
        assert sim.digit_board(9).shows == "A023"
        bus.text_board(3).show("A023").result(2)


# -------------------------------------------------------------------------- lifecycle
def test_close_is_prompt_and_settles_every_future(sim):
    bus = Bus(sim.url + FAST)
    sim.set_silent(3)
    rating = bus.rating_pad(203).request_rating(timeout_s=30)
    pending: list[Future[None]] = [bus.text_board(3).show(f"A{n:03d}") for n in range(5)]
    started = time.monotonic()
    bus.close()
    assert time.monotonic() - started < 1.5
    assert rating.result(1) is None
    for future in pending:
        assert future.done()
    assert any(isinstance(f.exception(), DeviceUnavailable) for f in pending)
    with pytest.raises(DeviceUnavailable):
        bus.text_board(3).show("A000")
    bus.close()  # twice is fine


def test_a_missing_port_makes_devices_offline_not_the_caller_crash():
    with Bus("rs485+serial:///dev/does-not-exist?timeout=0.05&health_s=0.2") as bus:
        log = HealthLog()
        bus.on_health_change(log)
        board = bus.text_board(1)
        with pytest.raises(DeviceUnavailable):
            board.show("A001").result(2)
        assert "does-not-exist" in log.wait_for(1, "offline").last_error


def test_one_address_one_device_kind(bus):
    assert bus.text_board(3) is bus.text_board(3)
    with pytest.raises(ValueError, match="is a text board"):
        bus.keypad(3, print)
    with pytest.raises(ValueError, match=r"1\.\.247"):
        bus.text_board(248)


# ------------------------------------------------------------------------------ probe
def test_probe_reports_who_answers_and_what_kind(sim):
    sim.keypad(102).press(Key.NEXT)
    report = probe(sim.url, [1, 4, 8, 102, 201], reply_timeout_s=0.05)
    lines = report.splitlines()
    assert "5 addresses" in lines[0] and "4 answered" in lines[0]
    assert any("1  text board" in line and "counter 1 board" in line for line in lines)
    assert any("102  keypad" in line and "unread keys" in line for line in lines)
    assert any("201  rating pad" in line and "counter 1 rating pad" in line for line in lines)
    assert any("8  Modbus digit board" in line for line in lines)
    assert not any(line.strip().startswith("4 ") for line in lines)


def test_probe_of_an_empty_line_says_what_to_check():
    empty = BusSimulator().start()
    try:
        report = probe(empty.url, [1, 2], reply_timeout_s=0.02)
    finally:
        empty.stop()
    assert "Nothing answered" in report and "A and B" in report


def test_a_digit_board_is_commissioned_over_modbus(sim):
    report = configure_digit_board(sim.url, 8, new_address=7, baud=19200, decimal_point=1)
    assert report == "digit board: decimal point 1, address 8 → 7, baud 19200 (index 5)"
    board = sim.digit_board(7)
    assert (board.decimal_point, board.baud_index) == (1, 5)
    with pytest.raises(DeviceError, match="no reply"):
        configure_digit_board(sim.url, 8, decimal_point=1)  # nobody at 8 any more


# ------------------------------------------------------------------------------- URLs
def test_bus_urls():
    s = parse_bus_url("rs485+serial:///dev/ttyUSB0?baud=38400&timeout=0.3&retries=1&poll_ms=50")
    assert (s.port, s.baud, s.reply_timeout_s, s.retries, s.poll_s) == (
        "/dev/ttyUSB0",
        38400,
        0.3,
        1,
        0.05,
    )
    assert parse_bus_url("rs485+serial://socket://10.0.0.7:4001").port == "socket://10.0.0.7:4001"
    with pytest.raises(ValueError, match="unknown option"):
        parse_bus_url("rs485+serial:///dev/ttyUSB0?baudrate=9600")
    with pytest.raises(ValueError, match="not an rs485"):
        parse_bus_url("modbus:///dev/ttyUSB0")


# ------------------------------------------------------------- the hub's counter view
def test_counter_devices_do_what_the_hub_asks(sim, bus):
    from devices.bus.counter import CounterDevices

    pressed: list[tuple[int, str]] = []
    got_key = threading.Event()

    def on_key(counter: int, key: str) -> None:
        pressed.append((counter, key))
        got_key.set()

    counter = CounterDevices.for_counter(bus, 3, on_key=on_key)
    counter.show("A023")
    assert sim.wait_until(lambda: sim.text_board(3).text == "A023")
    counter.blink()
    assert sim.wait_until(lambda: sim.text_board(3).blinking)
    counter.clear()
    assert sim.wait_until(lambda: sim.text_board(3).text == "")
    sim.press(103, Key.PAUSE)
    assert got_key.wait(3) and pressed == [(3, "PAUSE")]
    sim.rating_pad(203).auto_answer = 3
    rating = counter.request_rating(5)
    assert rating is not None and rating.result(3) == 3
    health = counter.health()
    assert [(device, kind) for device, kind, _, _ in health] == [
        (f"{sim.path}#3", "text board"),
        (f"{sim.path}#103", "keypad"),
        (f"{sim.path}#203", "rating pad"),
    ]
    assert all(status == "online" for _, _, status, _ in health)
    assert CounterDevices(bus, 1).request_rating(5) is None  # no pad configured
