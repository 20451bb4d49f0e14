"""Printers reached through a device file, such as the Linux usblp driver's node.

URL: `escpos+file:///dev/usb/lp0[?timeout=S]`

* The path must exist: a missing `/dev/usb/lp0` means the printer is unplugged or off,
  and is reported as unavailable rather than silently creating a file.
* `timeout` (seconds, default 5): the longest one job may wait for the device.

Character devices are opened read-write and non-blocking, so status replies can be read
from printers whose driver passes them back (usblp does) and a stalled printer cannot
block a write past the timeout. Any other path (a plain file, useful to capture a job) is
appended to and has no status. POSIX only: on Windows use `escpos+win32://`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import stat
import time

from devices.errors import DeviceTimeout, DeviceUnavailable
from devices.url import DeviceURL


class FileTransport:
    def __init__(self, path: str, *, timeout_s: float = 5.0) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self.description = f"device file {path}"
        self.can_read = False
        self._fd: int | None = None

    def open(self) -> None:
        if self._fd is not None:
            return
        try:
            is_device = stat.S_ISCHR(os.stat(self.path).st_mode)
            extra = getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
            if is_device:
                flags = os.O_NONBLOCK | extra
                try:
                    self._fd = os.open(self.path, os.O_RDWR | flags)
                    self.can_read = True
                except PermissionError:
                    # Some setups grant write access to the printer node only.
                    self._fd = os.open(self.path, os.O_WRONLY | flags)
                    self.can_read = False
            else:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | extra)
                self.can_read = False
        except OSError as exc:
            raise DeviceUnavailable(f"cannot open {self.path}: {exc.strerror or exc}") from exc

    def _ensure(self) -> int:
        if self._fd is None:
            self.open()
        assert self._fd is not None
        return self._fd

    def _lost(self, exc: OSError) -> DeviceUnavailable:
        self.close()
        return DeviceUnavailable(f"{self.path} lost: {exc.strerror or exc}")

    def write(self, data: bytes, timeout_s: float | None = None) -> None:
        limit = self.timeout_s if timeout_s is None else timeout_s
        fd = self._ensure()
        view = memoryview(data)
        deadline = time.monotonic() + limit
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeout(
                    f"{self.path}: printer did not take the data within {limit:g} s"
                )
            try:
                _, writable, _ = select.select([], [fd], [], remaining)
                if not writable:
                    continue
                written = os.write(fd, view)
            except BlockingIOError:
                continue
            except OSError as exc:
                raise self._lost(exc) from exc
            view = view[written:]

    def read(self, size: int, timeout_s: float) -> bytes:
        if not self.can_read:
            return b""
        fd = self._ensure()
        deadline = time.monotonic() + timeout_s
        out = bytearray()
        while len(out) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                readable, _, _ = select.select([fd], [], [], remaining)
                if not readable:
                    break
                chunk = os.read(fd, size - len(out))
            except BlockingIOError:
                continue
            except OSError as exc:
                if exc.errno in (errno.EINVAL, errno.EOPNOTSUPP):
                    self.can_read = False  # a one-way driver: no status from this device
                    break
                raise self._lost(exc) from exc
            if not chunk:
                break
            out += chunk
        return bytes(out)

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def open_file(url: DeviceURL) -> FileTransport:
    if not url.target:
        raise ValueError(f"{url}: no path (expected escpos+file:///dev/usb/lp0)")
    transport = FileTransport(url.target, timeout_s=url.float_option("timeout", 5.0))
    transport.open()
    return transport
