"""Keyboard-wedge scanners read straight from Linux input devices, grabbed from the desktop.

URL formats::

    evdev:///dev/input/event5
    evdev:///dev/input/by-id/usb-Honeywell_Scanner-event-kbd     (stable across reboots)
    evdev://?name=Honeywell                                        (first device whose name
                                                                    contains the text)

Options:

    grab=0      do not grab the device (default 1: grab it, so its keystrokes never reach
                the focused widget, a terminal or the login screen)
    retry=S     seconds between attempts to reopen an unplugged scanner (default 3)
    dedup=S     report the same code again only after S seconds (default 0)

Reading raw key codes (not characters from the window system) also sidesteps input
methods: a Chinese IME garbles a wedge scanner's keystrokes into candidate words.
Key codes become characters through `key_to_char` — the US layout that scanners emulate by
default, Shift and Caps Lock — and `KeyDecoder` assembles lines, including the Alt +
keypad-digits sequences that scanners in "Alt mode" use for characters outside the layout.

python-evdev is optional: `EvdevScanner` raises MissingDependency without it.
"""

from __future__ import annotations

import contextlib
import logging
import select
from types import ModuleType
from typing import Any

from devices.errors import DeviceUnavailable, MissingDependency
from devices.scanner.base import OnCode, OnError, ThreadedScanner
from devices.scanner.decode import Code
from devices.scanner.dedup import Deduplicator
from devices.url import parse_device_url

log = logging.getLogger(__name__)

# Linux input key codes (linux/input-event-codes.h), US layout: code → (plain, shifted).
_KEYS: dict[int, tuple[str, str]] = {
    2: ("1", "!"), 3: ("2", "@"), 4: ("3", "#"), 5: ("4", "$"), 6: ("5", "%"),
    7: ("6", "^"), 8: ("7", "&"), 9: ("8", "*"), 10: ("9", "("), 11: ("0", ")"),
    12: ("-", "_"), 13: ("=", "+"), 15: ("\t", "\t"),
    26: ("[", "{"), 27: ("]", "}"), 39: (";", ":"), 40: ("'", '"'), 41: ("`", "~"),
    43: ("\\", "|"), 51: (",", "<"), 52: (".", ">"), 53: ("/", "?"), 57: (" ", " "),
    86: ("\\", "|"),  # KEY_102ND, the extra key of ISO keyboards
    # Keypad: scanners set to "numeric keypad" mode send digits from here.
    55: ("*", "*"), 71: ("7", "7"), 72: ("8", "8"), 73: ("9", "9"), 74: ("-", "-"),
    75: ("4", "4"), 76: ("5", "5"), 77: ("6", "6"), 78: ("+", "+"), 79: ("1", "1"),
    80: ("2", "2"), 81: ("3", "3"), 82: ("0", "0"), 83: (".", "."), 98: ("/", "/"),
    117: ("=", "="),
}  # fmt: skip
_LETTERS = {
    16: "q", 17: "w", 18: "e", 19: "r", 20: "t", 21: "y", 22: "u", 23: "i", 24: "o",
    25: "p", 30: "a", 31: "s", 32: "d", 33: "f", 34: "g", 35: "h", 36: "j", 37: "k",
    38: "l", 44: "z", 45: "x", 46: "c", 47: "v", 48: "b", 49: "n", 50: "m",
}  # fmt: skip
KEY_ENTER, KEY_KPENTER = 28, 96
KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 42, 54
KEY_LEFTCTRL, KEY_RIGHTCTRL = 29, 97
KEY_LEFTALT, KEY_RIGHTALT = 56, 100
KEY_CAPSLOCK = 58
_KEYPAD_DIGITS = {82: 0, 79: 1, 80: 2, 81: 3, 75: 4, 76: 5, 77: 6, 71: 7, 72: 8, 73: 9}
EV_KEY = 1
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2


def key_to_char(code: int, shift: bool = False, caps_lock: bool = False) -> str | None:
    """The character a US-layout key types, or None for keys that type nothing."""
    letter = _LETTERS.get(code)
    if letter is not None:
        return letter.upper() if shift != caps_lock else letter
    pair = _KEYS.get(code)
    if pair is None:
        return None
    return pair[1] if shift else pair[0]


class KeyDecoder:
    """Key-down/up events → complete lines (Enter-terminated); pure, testable without evdev."""

    def __init__(self, max_length: int = 4096) -> None:
        self.max_length = max_length
        self._chars: list[str] = []
        self._shift: set[int] = set()
        self._ctrl: set[int] = set()
        self._alt: set[int] = set()
        self._caps = False
        self._alt_digits: list[int] = []

    def feed(self, code: int, value: int) -> str | None:
        """One EV_KEY event (value 1 down, 0 up, 2 repeat); the line when Enter completes it."""
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            self._toggle(self._shift, code, value)
            return None
        if code in (KEY_LEFTCTRL, KEY_RIGHTCTRL):
            self._toggle(self._ctrl, code, value)
            return None
        if code in (KEY_LEFTALT, KEY_RIGHTALT):
            self._toggle(self._alt, code, value)
            if value == KEY_UP and not self._alt and self._alt_digits:
                # Alt released after keypad digits: the character with that code.
                number = int("".join(str(d) for d in self._alt_digits))
                self._alt_digits.clear()
                self._append(_alt_code_char(number))
            return None
        if value != KEY_DOWN:
            return None  # releases, and auto-repeat (a scanner never holds a key down)
        if code == KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in (KEY_ENTER, KEY_KPENTER):
            line = "".join(self._chars)
            self._chars.clear()
            return line or None
        if self._alt:
            digit = _KEYPAD_DIGITS.get(code)
            if digit is not None:
                self._alt_digits.append(digit)
            return None
        if self._ctrl:
            return None  # Ctrl combinations are control characters, not code text
        char = key_to_char(code, bool(self._shift), self._caps)
        if char is not None:
            self._append(char)
        return None

    def _append(self, char: str | None) -> None:
        if char is None:
            return
        if len(self._chars) >= self.max_length:
            self._chars.clear()  # no terminator for far too long: drop it, start over
        self._chars.append(char)

    @staticmethod
    def _toggle(pressed: set[int], code: int, value: int) -> None:
        if value == KEY_UP:
            pressed.discard(code)
        else:
            pressed.add(code)


def _alt_code_char(number: int) -> str | None:
    if 0 < number < 256:
        # Windows Alt codes below 256 are OEM code page 437; above, Unicode code points.
        return bytes([number]).decode("cp437") if number >= 128 else chr(number)
    try:
        return chr(number)
    except (ValueError, OverflowError):
        return None


def _load_evdev() -> ModuleType:
    try:
        import evdev
    except ImportError as exc:
        raise MissingDependency(
            "evdev:// scanners need python-evdev (pip install evdev; Linux only)"
        ) from exc
    module: ModuleType = evdev
    return module


class EvdevScanner(ThreadedScanner):
    """Reads a grabbed Linux input device as a scanner: one code per Enter."""

    name = "evdev-scanner"

    def __init__(self, url: str, on_code: OnCode, on_error: OnError | None = None) -> None:
        super().__init__(url, on_code, on_error)
        dev = parse_device_url(url)
        if dev.scheme != "evdev":
            raise ValueError(f"not an evdev URL: {url!r}")
        self.evdev = _load_evdev()
        self.path = dev.target
        self.name_match = dev.option("name", "")
        if not self.path and not self.name_match:
            raise ValueError(f"{url!r}: give a device path or ?name=")
        self.grab = dev.int_option("grab", 1) == 1
        self.retry_s = max(0.1, dev.float_option("retry", 3.0))
        self.dedup = Deduplicator(dev.float_option("dedup", 0.0))
        self.device_name = ""

    def _find(self) -> str:
        if self.path:
            return self.path
        for path in self.evdev.list_devices():
            with contextlib.closing(self.evdev.InputDevice(path)) as candidate:
                if self.name_match.lower() in candidate.name.lower():
                    return str(path)
        raise DeviceUnavailable(f"{self.url}: no input device named like {self.name_match!r}")

    def _open(self) -> Any:
        try:
            device = self.evdev.InputDevice(self._find())
            if self.grab:
                device.grab()
        except OSError as exc:
            raise DeviceUnavailable(f"{self.url}: cannot open: {exc}") from exc
        self.device_name = str(device.name)
        return device

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                device = self._open()
            except DeviceUnavailable as exc:
                self._report(exc)
                self._stop.wait(self.retry_s)
                continue
            self._recovered()
            self.ready.set()
            try:
                self._read(device)
            except OSError as exc:  # unplugged: ENODEV
                self._report(DeviceUnavailable(f"{self.url} lost: {exc}"))
                self._stop.wait(self.retry_s)
            finally:
                with contextlib.suppress(OSError):
                    if self.grab:
                        device.ungrab()
                with contextlib.suppress(OSError):
                    device.close()

    def _read(self, device: Any) -> None:
        decoder = KeyDecoder()
        while not self._stop.is_set():
            ready, _, _ = select.select([device.fd], [], [], 0.2)
            if not ready:
                continue
            for event in device.read():
                if event.type != EV_KEY:
                    continue
                line = decoder.feed(int(event.code), int(event.value))
                if line is None:
                    continue
                code = Code(line, "UNKNOWN")
                if self.dedup.window_s == 0 or self.dedup.first_sighting(code):
                    self._emit(code)
