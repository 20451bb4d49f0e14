"""Scanner URLs: every documented scheme builds its backend; probe reports what it saw."""

from __future__ import annotations

import re
import sys
import threading

import cv2
import pytest

from devices.scanner import SCHEMES, probe, scanner_for_url
from devices.scanner.camera import CameraScanner
from devices.scanner.serial_scanner import SerialScanner
from devices.scanner.sim import SerialScannerSimulator
from tools.fixtures.qrframes import place_on_canvas, render_qr


def example_url(description: str) -> str:
    match = re.search(r"(\S+://\S*)$", description)
    assert match, f"no example URL at the end of {description!r}"
    return match.group(1)


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_every_scheme_is_documented_with_an_example_that_builds(scheme, monkeypatch):
    description = SCHEMES[scheme]
    assert len(description) > 30 and "\n" not in description
    url = example_url(description)
    assert url.startswith(scheme + "://")
    if scheme == "evdev":
        monkeypatch.setitem(sys.modules, "evdev", type(sys)("evdev"))  # not started: no calls
    scanner = scanner_for_url(url, lambda code: None)
    assert scanner.url == url and not scanner.running


def test_every_supported_scheme_is_documented():
    for url in ("camera://0", "file://x.avi", "scanner+serial://loop://"):
        scanner_for_url(url, lambda code: None)
    with pytest.raises(ValueError, match="unknown scanner URL scheme"):
        scanner_for_url("hid://0", lambda code: None)
    assert set(SCHEMES) == {"camera", "file", "scanner+serial", "evdev"}


def test_the_right_backend_for_each_scheme():
    assert isinstance(scanner_for_url("file://a.png", lambda c: None), CameraScanner)
    serial = scanner_for_url("scanner+serial://socket://127.0.0.1:9?baud=115200", lambda c: None)
    assert isinstance(serial, SerialScanner)
    assert (serial.port, serial.baudrate) == ("socket://127.0.0.1:9", 115200)


def test_probe_a_file_camera(tmp_path):
    image = tmp_path / "code.png"
    cv2.imwrite(str(image), place_on_canvas(render_qr("BQ1.cHJvYmU.eA", module_px=5)))
    report = probe(f"file://{image}", seconds=3)
    assert "640×480" in report
    assert "code: QRCODE 'BQ1.cHJvYmU.eA'" in report
    assert "connected: yes" in report


def test_probe_a_serial_scanner_while_someone_scans():
    sim = SerialScannerSimulator().start()
    reports: list[str] = []
    prober = threading.Thread(
        target=lambda: reports.append(probe(f"scanner+serial://{sim.path}", seconds=5))
    )
    try:
        prober.start()
        # Opening a port flushes what was sent before, as with a real scanner: keep
        # pulling the trigger until the probe has seen a scan and returned.
        for _ in range(100):
            sim.scan("6901234567892")
            prober.join(0.05)
            if not prober.is_alive():
                break
    finally:
        prober.join(6)
        sim.stop()
    assert "code: UNKNOWN '6901234567892'" in reports[0]
    assert "connected: yes" in reports[0] and "decoders" not in reports[0]


def test_probe_reports_problems_instead_of_raising():
    assert "cannot open" in probe("scanner+serial:///dev/no-such-scanner", seconds=0.3)
    assert "unknown scanner URL scheme" in probe("nope://x", seconds=0.1)
