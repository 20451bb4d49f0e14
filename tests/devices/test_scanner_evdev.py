"""evdev key codes → characters, line assembly, and the read loop over a fake evdev."""

from __future__ import annotations

import os
import sys
import threading
import types
from dataclasses import dataclass
from typing import ClassVar

import pytest

from devices.errors import MissingDependency
from devices.scanner import scanner_for_url
from devices.scanner.decode import Code
from devices.scanner.evdev_scanner import (
    KEY_CAPSLOCK,
    KEY_DOWN,
    KEY_ENTER,
    KEY_LEFTALT,
    KEY_LEFTCTRL,
    KEY_LEFTSHIFT,
    KEY_REPEAT,
    KEY_UP,
    EvdevScanner,
    KeyDecoder,
    key_to_char,
)

# Linux key codes used below (linux/input-event-codes.h).
KEY_1, KEY_0, KEY_MINUS, KEY_Q, KEY_A, KEY_B, KEY_DOT, KEY_SLASH, KEY_SPACE = (
    2, 11, 12, 16, 30, 48, 52, 53, 57,
)  # fmt: skip
KEY_KP5, KEY_KP6, KEY_KP7, KEY_F1 = 76, 77, 71, 59


@pytest.mark.parametrize(
    ("code", "shift", "caps", "char"),
    [
        (KEY_A, False, False, "a"),
        (KEY_A, True, False, "A"),
        (KEY_A, False, True, "A"),
        (KEY_A, True, True, "a"),
        (KEY_Q, False, False, "q"),
        (KEY_1, False, False, "1"),
        (KEY_1, True, False, "!"),
        (KEY_0, True, False, ")"),
        (KEY_1, False, True, "1"),  # Caps Lock shifts letters only
        (KEY_MINUS, True, False, "_"),
        (KEY_DOT, False, False, "."),
        (KEY_SLASH, True, False, "?"),
        (KEY_SPACE, False, False, " "),
        (KEY_KP7, False, False, "7"),
        (KEY_F1, False, False, None),
        (KEY_LEFTSHIFT, False, False, None),
        (999, False, False, None),
    ],
)
def test_key_code_to_character(code, shift, caps, char):
    assert key_to_char(code, shift, caps) == char


def tap(code: int, shift: bool = False) -> list[tuple[int, int]]:
    keys = [(code, KEY_DOWN), (code, KEY_UP)]
    return [(KEY_LEFTSHIFT, KEY_DOWN), *keys, (KEY_LEFTSHIFT, KEY_UP)] if shift else keys


def feed_all(decoder: KeyDecoder, events: list[tuple[int, int]]) -> list[str]:
    return [line for code, value in events if (line := decoder.feed(code, value)) is not None]


def test_a_scan_with_shifted_characters_becomes_one_line():
    events = [
        *tap(KEY_B, shift=True), *tap(KEY_Q, shift=True), *tap(KEY_1), *tap(KEY_DOT),
        *tap(KEY_A), *tap(KEY_MINUS, shift=True), *tap(KEY_0), *tap(KEY_ENTER),
    ]  # fmt: skip
    assert feed_all(KeyDecoder(), events) == ["BQ1.a_0"]


def test_caps_lock_repeat_ctrl_and_empty_lines():
    events = [
        *tap(KEY_CAPSLOCK), *tap(KEY_A), *tap(KEY_CAPSLOCK), *tap(KEY_A),
        (KEY_B, KEY_DOWN), (KEY_B, KEY_REPEAT), (KEY_B, KEY_REPEAT), (KEY_B, KEY_UP),
        (KEY_LEFTCTRL, KEY_DOWN), *tap(KEY_A), (KEY_LEFTCTRL, KEY_UP),
        *tap(KEY_ENTER), *tap(KEY_ENTER),
    ]  # fmt: skip
    assert feed_all(KeyDecoder(), events) == ["Aab"]


def test_alt_keypad_codes_type_characters_outside_the_layout():
    # Alt + 5, 6 on the keypad → chr(56) "8"; Alt + 7, 6, 5 (765 → "˽"), then Enter.
    events = [
        (KEY_LEFTALT, KEY_DOWN), *tap(KEY_KP5), *tap(KEY_KP6), (KEY_LEFTALT, KEY_UP),
        (KEY_LEFTALT, KEY_DOWN), *tap(KEY_KP7), *tap(KEY_KP6), *tap(KEY_KP5),
        (KEY_LEFTALT, KEY_UP), *tap(KEY_ENTER),
    ]  # fmt: skip
    assert feed_all(KeyDecoder(), events) == ["8" + chr(765)]


def test_an_endless_line_is_dropped():
    decoder = KeyDecoder(max_length=5)
    assert feed_all(decoder, [*tap(KEY_A)] * 7 + tap(KEY_ENTER)) == ["aa"]


def test_without_python_evdev_the_backend_says_what_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "evdev", None)
    with pytest.raises(MissingDependency, match="python-evdev"):
        scanner_for_url("evdev:///dev/input/event3", lambda code: None)


# ------------------------------------------------------------- fake python-evdev
@dataclass
class InputEvent:
    type: int
    code: int
    value: int


class FakeDevice:
    """An input device backed by a pipe, so the scanner's select() works as on the real fd."""

    instances: ClassVar[list[FakeDevice]] = []

    def __init__(self, path: str) -> None:
        if path != "/dev/input/event7":
            raise OSError(2, "No such file or directory")
        self.path = path
        self.name = "Fake Honeywell Scanner"
        self.fd, self._w = os.pipe()
        self.grabbed = False
        self.closed = False
        self._pending: list[InputEvent] = []
        self._lock = threading.Lock()
        FakeDevice.instances.append(self)

    def type_keys(self, events: list[tuple[int, int]]) -> None:
        with self._lock:
            self._pending += [InputEvent(1, code, value) for code, value in events]
        os.write(self._w, b"x")

    def read(self) -> list[InputEvent]:
        os.read(self.fd, 4096)
        with self._lock:
            out, self._pending = self._pending, []
        return out

    def grab(self) -> None:
        self.grabbed = True

    def ungrab(self) -> None:
        self.grabbed = False

    def close(self) -> None:
        self.closed = True
        os.close(self.fd)
        os.close(self._w)


@pytest.fixture
def fake_evdev(monkeypatch):
    module = types.ModuleType("evdev")
    module.InputDevice = FakeDevice  # type: ignore[attr-defined]
    module.list_devices = lambda: ["/dev/input/event7"]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "evdev", module)
    FakeDevice.instances.clear()
    return module


@pytest.mark.parametrize("url", ["evdev:///dev/input/event7", "evdev://?name=honeywell"])
def test_the_scanner_grabs_the_device_and_reports_lines(fake_evdev, url):
    got: list[Code] = []
    done = threading.Event()

    def on_code(code: Code) -> None:
        got.append(code)
        done.set()

    scanner = scanner_for_url(url, on_code)
    assert isinstance(scanner, EvdevScanner)
    scanner.start()
    try:
        assert scanner.ready.wait(5)  # opened and grabbed by the worker thread
        device = next(d for d in FakeDevice.instances if d.grabbed)
        device.type_keys([*tap(KEY_B, shift=True), *tap(KEY_1), *tap(KEY_ENTER)])
        assert done.wait(5)
    finally:
        scanner.stop()
    assert got == [Code("B1", "UNKNOWN")]
    assert device.closed and not device.grabbed


def test_a_missing_device_is_reported(fake_evdev):
    errors = []
    failed = threading.Event()
    scanner = EvdevScanner(
        "evdev:///dev/input/event9?retry=0.05",
        lambda code: None,
        lambda error: (errors.append(error), failed.set()),
    )
    scanner.start()
    try:
        assert failed.wait(5)
    finally:
        scanner.stop()
    assert "cannot open" in str(errors[0]) and len(errors) == 1
