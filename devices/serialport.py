"""A serial line opened by URL, with timeouts on every call and automatic reopening.

Every serial device in BranchQ talks through this class, so they all get the same
behaviour: `serial.serial_for_url` (so `loop://`, `socket://`, `rfc2217://` and ptys work),
reads and writes that never block longer than their timeout, and a device that was
unplugged is reopened on the next call once `reopen_after_s` has passed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from types import TracebackType

import serial

from devices.errors import DeviceTimeout, DeviceUnavailable

try:  # a hung-up tty fails tcflush/tcsetattr with termios.error, which is no OSError
    from termios import error as _TermiosError
except ImportError:  # Windows

    class _TermiosError(Exception):  # type: ignore[no-redef]
        pass


# Everything a port can raise when the device behind it goes away.
_LOST = (serial.SerialException, OSError, _TermiosError)


class SerialLine:
    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 9600,
        timeout_s: float = 0.5,
        write_timeout_s: float = 1.0,
        reopen_after_s: float = 1.0,
        rtscts: bool = False,
        dsrdtr: bool = False,
    ) -> None:
        self.url = url
        self.rtscts = rtscts  # hardware flow control: serial printers need it for images
        self.dsrdtr = dsrdtr
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.write_timeout_s = write_timeout_s
        self.reopen_after_s = reopen_after_s
        self._port: serial.SerialBase | None = None
        self._failed_at = float("-inf")
        self._lock = threading.RLock()
        self.last_error: str = ""

    # ----------------------------------------------------------------- state
    @property
    def connected(self) -> bool:
        return self._port is not None and self._port.is_open

    def open(self) -> None:
        """Open now (raises DeviceUnavailable); later calls reopen by themselves."""
        with self._lock:
            if self.connected:
                return
            try:
                port = serial.serial_for_url(
                    self.url,
                    baudrate=self.baudrate,
                    timeout=self.timeout_s,
                    write_timeout=self.write_timeout_s,
                    rtscts=self.rtscts,
                    dsrdtr=self.dsrdtr,
                )
            except (*_LOST, ValueError) as exc:
                self._failed_at = time.monotonic()
                self.last_error = str(exc)
                raise DeviceUnavailable(f"cannot open {self.url}: {exc}") from exc
            self._port = port
            self.last_error = ""

    def close(self) -> None:
        with self._lock:
            if self._port is not None:
                with contextlib.suppress(*_LOST):
                    self._port.close()
            self._port = None

    def __enter__(self) -> SerialLine:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _ensure(self) -> serial.SerialBase:
        if self._port is not None and self._port.is_open:
            return self._port
        if time.monotonic() - self._failed_at < self.reopen_after_s:
            raise DeviceUnavailable(f"{self.url} is not connected: {self.last_error}")
        self.open()
        assert self._port is not None
        return self._port

    def _lost(self, exc: BaseException) -> DeviceUnavailable:
        self.last_error = str(exc)
        self._failed_at = time.monotonic()
        self.close()
        return DeviceUnavailable(f"{self.url} lost: {exc}")

    # -------------------------------------------------------------------- I/O
    def write(self, data: bytes, timeout_s: float | None = None) -> None:
        """Write all of `data` within the line's write timeout (or `timeout_s`)."""
        with self._lock:
            port = self._ensure()
            try:
                try:
                    if timeout_s is not None:
                        port.write_timeout = timeout_s
                    port.write(data)
                    port.flush()
                finally:
                    if timeout_s is not None:
                        port.write_timeout = self.write_timeout_s
            except serial.SerialTimeoutException as exc:
                raise DeviceTimeout(f"{self.url}: write timed out") from exc
            except _LOST as exc:
                raise self._lost(exc) from exc

    def read(self, size: int, timeout_s: float | None = None) -> bytes:
        """Up to `size` bytes; fewer (maybe none) when the timeout runs out first."""
        with self._lock:
            port = self._ensure()
            deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
            out = bytearray()
            try:
                try:
                    while len(out) < size:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            break
                        port.timeout = remaining
                        chunk = port.read(size - len(out))
                        if not chunk:
                            break
                        out += chunk
                finally:
                    port.timeout = self.timeout_s  # reconfigures the tty: may fail too
            except _LOST as exc:
                raise self._lost(exc) from exc
            return bytes(out)

    def read_available(self) -> bytes:
        """Whatever has arrived, without waiting."""
        with self._lock:
            port = self._ensure()
            try:
                waiting = port.in_waiting
                return bytes(port.read(waiting)) if waiting else b""
            except _LOST as exc:
                raise self._lost(exc) from exc

    def reset_input(self) -> None:
        with self._lock:
            port = self._ensure()
            try:
                port.reset_input_buffer()
            except _LOST as exc:
                raise self._lost(exc) from exc
