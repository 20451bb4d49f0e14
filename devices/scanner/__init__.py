"""QR / barcode scanners: camera, video file, serial and evdev backends chosen by URL.

    scanner = scanner_for_url("camera://0", on_code=lambda code: print(code.text))
    scanner.start()
    ...
    scanner.stop()

Every backend calls `on_code(Code)` once per scan and `on_error(DeviceError)` once per
outage, from its own thread. Keyboard-wedge scanners that type into the window system are
caught in the Qt app by `ui.scan_filter.KeyboardWedgeFilter` (timing, `wedge.py`); on Linux
they can instead be read and grabbed directly with `evdev://`.

Backends are imported when their URL is used, so this package imports without OpenCV's
camera support, libzbar or python-evdev; `available_decoders()` reports which frame
decoders this machine has.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from devices.errors import DeviceError
from devices.scanner.base import OnCode, OnError, OnRecovered
from devices.scanner.decode import Code, available_decoders, decode_frame, zbar_available
from devices.scanner.dedup import Deduplicator
from devices.scanner.wedge import WedgeDetector, WedgeStep
from devices.url import parse_device_url

__all__ = [
    "SCHEMES",
    "Code",
    "Deduplicator",
    "Scanner",
    "WedgeDetector",
    "WedgeStep",
    "available_decoders",
    "decode_frame",
    "probe",
    "scanner_for_url",
    "zbar_available",
]

SCHEMES: dict[str, str] = {
    "camera": "a camera by V4L index or device path, decoded with zbar/OpenCV: "
    "camera://0?width=1280&height=720",
    "file": "a video or image file played as the camera (loop=1 repeats, fps=0 decodes "
    "every frame): file://tests/data/qr.avi?loop=1",
    "scanner+serial": "a serial (RS-232/USB-CDC) scanner sending one line per scan: "
    "scanner+serial:///dev/ttyACM0?baud=9600",
    "evdev": "a USB keyboard-wedge scanner read and grabbed from a Linux input device: "
    "evdev:///dev/input/by-id/usb-Scanner-event-kbd",
}


class Scanner(Protocol):
    """What every backend offers."""

    url: str
    scans: int
    last_error: str
    on_recovered: OnRecovered | None

    @property
    def running(self) -> bool: ...

    @property
    def connected(self) -> bool: ...

    def start(self) -> object: ...

    def stop(self, timeout_s: float = 1.0) -> None: ...


def scanner_for_url(url: str, on_code: OnCode, on_error: OnError | None = None) -> Scanner:
    """The scanner backend for `url` (not started). Raises ValueError for an unknown or
    malformed URL, MissingDependency when the backend's optional library is missing."""
    scheme = parse_device_url(url).scheme
    if scheme in ("camera", "file"):
        from devices.scanner.camera import CameraScanner

        return CameraScanner(url, on_code, on_error)
    if scheme == "scanner+serial":
        from devices.scanner.serial_scanner import SerialScanner

        return SerialScanner(url, on_code, on_error)
    if scheme == "evdev":
        from devices.scanner.evdev_scanner import EvdevScanner

        return EvdevScanner(url, on_code, on_error)
    raise ValueError(f"unknown scanner URL scheme {scheme!r} in {url!r}; known: {sorted(SCHEMES)}")


def probe(url: str, seconds: float = 3.0) -> str:
    """A field diagnostic: open the scanner for up to `seconds`, report what it saw.

    For a camera: resolution, the rate frames arrived at, decode time and codes seen; for a
    serial or evdev scanner: whether it opened and any codes scanned meanwhile. Never
    raises for a device problem — the problem is the report.
    """
    codes: list[Code] = []
    errors: list[str] = []
    got_code = threading.Event()

    def on_code(code: Code) -> None:
        codes.append(code)
        got_code.set()

    def on_error(error: DeviceError) -> None:
        errors.append(str(error))

    try:
        scanner = scanner_for_url(url, on_code, on_error)
    except (ValueError, DeviceError) as exc:
        return f"{url}: {exc}"
    from devices.scanner.camera import CameraScanner

    is_camera = isinstance(scanner, CameraScanner)
    lines = [f"{url}: decoders {', '.join(available_decoders())}" if is_camera else f"{url}:"]
    started = time.monotonic()
    scanner.start()
    try:
        if isinstance(scanner, CameraScanner):
            # A camera: take frames for the whole time (measuring the rate), unless a
            # play-once file runs out first.
            first_frame_at: float | None = None
            while time.monotonic() - started < seconds and not scanner.finished.is_set():
                if first_frame_at is None and scanner.ready.wait(0.05):
                    first_frame_at = time.monotonic()
                    first_count = scanner.frames_read
                else:
                    scanner.finished.wait(0.05)
            elapsed = time.monotonic() - (first_frame_at or started)
            if first_frame_at is not None and elapsed > 0:
                rate = (scanner.frames_read - first_count) / elapsed
                lines.append(f"  frames arrive at {rate:.1f} fps")
            lines.append("  " + scanner.describe())
        else:
            got_code.wait(seconds)  # a serial/evdev scanner: the operator may scan one
    finally:
        scanner.stop()
    lines.append(f"  connected: {'yes' if not errors else 'no'}")
    lines += [f"  error: {e}" for e in errors]
    if codes:
        lines += [f"  code: {c.symbology} {c.text!r}" for c in codes]
    else:
        lines.append("  no codes seen")
    return "\n".join(lines)
