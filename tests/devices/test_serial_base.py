"""The shared serial line and simulator transports, over real ptys and sockets."""

from __future__ import annotations

import pytest

from devices.errors import DeviceUnavailable
from devices.serialport import SerialLine
from devices.sim import PtyDevice, TcpDevice
from devices.url import parse_device_url, serial_target


class Echo(PtyDevice):
    name = "echo"

    def handle(self, data: bytes) -> bytes:
        return data.upper()


class TcpEcho(TcpDevice):
    name = "tcp-echo"

    def handle(self, data: bytes) -> bytes:
        return data[::-1]


def test_a_pty_device_answers_through_a_serial_line():
    sim = Echo().start()
    try:
        with SerialLine(sim.path, timeout_s=1) as line:
            line.write(b"hello")
            assert line.read(5) == b"HELLO"
            sim.send(b"!")
            assert line.read(1) == b"!"
            assert line.read(1, timeout_s=0.05) == b""  # a silent device: empty, not a hang
        assert bytes(sim.received) == b"hello"
    finally:
        sim.stop()


def test_a_lost_device_is_reported_and_reopened_when_it_returns():
    sim = TcpEcho().start()
    port = sim.port
    line = SerialLine(f"socket://127.0.0.1:{port}", timeout_s=1, reopen_after_s=0)
    try:
        line.write(b"abc")
        assert line.read(3) == b"cba"
        sim.stop()
        with pytest.raises(DeviceUnavailable):
            for _ in range(50):  # the first writes may still land in the socket buffer
                line.write(b"x")
                line.read(1, timeout_s=0.02)
        assert not line.connected
        back = TcpEcho(port).start()
        try:
            line.write(b"xyz")
            assert line.read(3) == b"zyx"
        finally:
            back.stop()
    finally:
        line.close()


def test_opening_a_missing_port_is_a_clear_error_and_waits_before_retrying():
    line = SerialLine("/dev/does-not-exist", reopen_after_s=60)
    with pytest.raises(DeviceUnavailable, match="cannot open"):
        line.write(b"x")
    with pytest.raises(DeviceUnavailable, match="not connected"):
        line.write(b"x")  # not retried straight away


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("sdt+serial:///dev/ttyUSB0?baud=115200", "/dev/ttyUSB0"),
        ("led+serial://socket://127.0.0.1:4000", "socket://127.0.0.1:4000"),
        ("led+serial://loop://", "loop://"),
        ("led+serial://COM3", "COM3"),
    ],
)
def test_serial_targets(url, target):
    assert serial_target(parse_device_url(url)) == target


def test_device_url_options_and_errors():
    url = parse_device_url("escpos+tcp://10.0.0.5:9100?timeout=2&paper=58")
    assert (url.scheme, url.target) == ("escpos+tcp", "10.0.0.5:9100")
    assert url.float_option("timeout", 5) == 2.0 and url.int_option("paper", 80) == 58
    with pytest.raises(ValueError, match="whole number"):
        parse_device_url("x://y?n=abc").int_option("n", 1)
    with pytest.raises(ValueError, match="not a device URL"):
        parse_device_url("/dev/ttyUSB0")
