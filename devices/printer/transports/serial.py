"""Serial and USB-serial printers, opened through the shared SerialLine.

URL: `escpos+serial://PORT[?baud=9600&timeout=S]`

* PORT is a device path (`/dev/ttyUSB0`, `/dev/pts/3`, `COM3`) or a pyserial URL
  (`socket://host:4000`, `rfc2217://host:4000`, `loop://`):
  `escpos+serial:///dev/ttyUSB0?baud=115200`, `escpos+serial://COM3`.
* `baud` (default 9600, the factory setting of most Chinese-market printers).
* `timeout` (seconds, default 1): the longest one chunk of the job may wait for the port.

A serial line is slow next to a ticket image (about 80 kB at 80 mm: 7 s at 115200 baud,
over a minute at 9600), so the job is written in chunks of about half a second of line
time, each with its own short write timeout: a stuck port is reported within a second
while a long, healthy job still goes through. Use `mode=text` on slow lines.
"""

from __future__ import annotations

from devices.errors import DeviceUnavailable
from devices.serialport import SerialLine
from devices.url import DeviceURL, serial_target


class SerialTransport:
    can_read = True

    def __init__(self, target: str, *, baudrate: int = 9600, timeout_s: float = 1.0) -> None:
        self.description = f"serial {target} at {baudrate} baud"
        self.line = SerialLine(
            target,
            baudrate=baudrate,
            timeout_s=timeout_s,
            write_timeout_s=timeout_s,
            reopen_after_s=1.0,
        )
        # 10 bits per byte on the wire (start + 8 data + stop): half a second's worth.
        self.chunk_bytes = max(256, baudrate // 20)

    def open(self) -> None:
        self.line.open()

    def write(self, data: bytes, timeout_s: float | None = None) -> None:
        # SerialLine's write timeout is fixed when the port opens (`timeout`, default 1 s)
        # and applies to each chunk; `timeout_s` cannot shorten it.
        for start in range(0, len(data), self.chunk_bytes):
            self.line.write(data[start : start + self.chunk_bytes])

    def read(self, size: int, timeout_s: float) -> bytes:
        return self.line.read(size, timeout_s=timeout_s)

    def close(self) -> None:
        self.line.close()


def open_serial(url: DeviceURL) -> SerialTransport:
    target = serial_target(url)
    if not target:
        raise ValueError(f"{url}: no serial port (expected escpos+serial:///dev/ttyUSB0)")
    baud = url.int_option("baud", 9600)
    if baud <= 0:
        raise ValueError(f"{url}: baud must be positive")
    transport = SerialTransport(target, baudrate=baud, timeout_s=url.float_option("timeout", 1.0))
    try:
        transport.open()
    except DeviceUnavailable:
        transport.close()
        raise
    return transport
