"""Serial scanners over a real pty, driven by their simulator."""

from __future__ import annotations

import threading
import time

import pytest

from devices.errors import DeviceError, DeviceUnavailable
from devices.scanner import scanner_for_url
from devices.scanner.decode import Code
from devices.scanner.serial_scanner import LineAssembler, SerialScanner, parse_line
from devices.scanner.sim import SerialScannerSimulator


class Recorder:
    def __init__(self) -> None:
        self.codes: list[Code] = []
        self.errors: list[DeviceError] = []
        self.changed = threading.Condition()

    def on_code(self, code: Code) -> None:
        with self.changed:
            self.codes.append(code)
            self.changed.notify_all()

    def on_error(self, error: DeviceError) -> None:
        with self.changed:
            self.errors.append(error)
            self.changed.notify_all()

    def wait_for(self, predicate, timeout_s: float = 5.0) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout_s)


def wait_until(predicate, timeout_s: float = 5.0) -> bool:
    """Poll a condition that has no event to wait on (the scanner's internal state)."""
    done = threading.Event()
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        done.wait(0.01)
    return True


@pytest.fixture
def sim():
    device = SerialScannerSimulator().start()
    yield device
    device.stop()


def test_scans_arrive_as_codes(sim):
    rec = Recorder()
    scanner = scanner_for_url(f"scanner+serial://{sim.path}?baud=9600", rec.on_code)
    assert isinstance(scanner, SerialScanner)
    scanner.start()
    assert scanner.ready.wait(5)  # opening a port flushes what arrived before, as for real
    try:
        sim.scan("BQ1.YWJj.ZGVm")
        sim.scan("6901234567892")
        sim.send(b"LF-only\n")
        assert rec.wait_for(lambda: len(rec.codes) == 3)
    finally:
        scanner.stop()
    assert [c.text for c in rec.codes] == ["BQ1.YWJj.ZGVm", "6901234567892", "LF-only"]
    assert all(c.symbology == "UNKNOWN" for c in rec.codes)


def test_garbage_and_an_endless_line_are_skipped_and_later_scans_still_work(sim):
    rec = Recorder()
    scanner = SerialScanner(f"scanner+serial://{sim.path}?idle=0.1", rec.on_code)
    scanner.start()
    assert scanner.ready.wait(5)  # opening a port flushes what arrived before, as for real
    try:
        sim.send(b"\xff\xfe\x80\r\n")  # not UTF-8: line noise at power-up
        sim.send(b"ab\x01\x02cd\r\n")  # control characters
        sim.scan("first")
        assert rec.wait_for(lambda: len(rec.codes) == 1)
        sim.send(b"A" * 10_000)  # 10 kB and no line end
        assert wait_until(lambda: scanner.assembler.overlong == 1)
        assert wait_until(lambda: not scanner.assembler.pending)  # dropped after silence
        sim.scan("second")
        assert rec.wait_for(lambda: len(rec.codes) == 2)
    finally:
        scanner.stop()
    assert [c.text for c in rec.codes] == ["first", "second"]
    assert scanner.skipped == 3


def test_aim_identifiers_name_the_symbology(sim):
    rec = Recorder()
    scanner = SerialScanner(f"scanner+serial://{sim.path}?aim=1", rec.on_code)
    scanner.start()
    assert scanner.ready.wait(5)  # opening a port flushes what arrived before, as for real
    try:
        sim.scan("BQ1.x.y", aim="]Q1")
        sim.scan("6901234567892", aim="]E0")
        assert rec.wait_for(lambda: len(rec.codes) == 2)
    finally:
        scanner.stop()
    assert rec.codes == [Code("BQ1.x.y", "QRCODE"), Code("6901234567892", "EAN13")]


def test_an_unplugged_scanner_is_reported_once():
    sim = SerialScannerSimulator().start()
    rec = Recorder()
    scanner = SerialScanner(f"scanner+serial://{sim.path}?retry=0.1", rec.on_code, rec.on_error)
    scanner.start()
    assert scanner.ready.wait(5)  # opening a port flushes what arrived before, as for real
    try:
        sim.scan("before")
        assert rec.wait_for(lambda: len(rec.codes) == 1)
        sim.stop()  # the pty's far end goes away, like a USB-serial scanner unplugged
        assert rec.wait_for(lambda: len(rec.errors) >= 1)
        assert not scanner.connected
    finally:
        started = time.monotonic()
        scanner.stop()
        assert time.monotonic() - started < 1.0
    assert isinstance(rec.errors[0], DeviceUnavailable)
    assert len(rec.errors) == 1


@pytest.mark.parametrize(
    ("chunks", "lines"),
    [
        ([b"abc\r\n"], [b"abc"]),
        ([b"ab", b"c\r", b"\ndef\n"], [b"abc", b"def"]),
        ([b"\r\n\r\nx\r\r\n"], [b"x"]),
        ([b"x" * 9, b"\r\nok\r\n"], [b"ok"]),  # max 8: the long line is dropped whole
    ],
)
def test_line_assembly(chunks, lines):
    assembler = LineAssembler(max_length=8)
    got = [line for chunk in chunks for line in assembler.feed(chunk)]
    assert got == lines


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"  BQ1.a.b  ", Code("BQ1.a.b", "UNKNOWN")),
        ("张三-预约".encode(), Code("张三-预约", "UNKNOWN")),
        (b"\xff\xfe", None),
        (b"a\x1bb", None),
        (b"   ", None),
    ],
)
def test_line_parsing(raw, code):
    assert parse_line(raw) == code


def test_chinese_code_page_scanners():
    assert parse_line("预约".encode("gb18030"), encoding="gb18030") == Code("预约", "UNKNOWN")
