"""Byte transports for ESC/POS printers, one module per URL scheme.

A transport moves bytes and nothing else: the printer layer builds the command bytes and
asks for real-time status through `write` and `read`. Every call has a deadline, so a
kiosk never hangs on a printer that is unplugged, asleep or full.
"""

from __future__ import annotations

from typing import Protocol


class Transport(Protocol):
    """An open link to one printer; reconnects by itself after the device comes back."""

    #: Where the bytes go, for diagnostics (no personal data, no secrets).
    description: str
    #: False when the link is one-way (a spooler queue, a plain file): status stays unknown.
    can_read: bool

    def write(self, data: bytes, timeout_s: float | None = None) -> None:
        """Send all of `data` within `timeout_s` (default: the URL's write timeout), or
        raise DeviceUnavailable / DeviceTimeout."""
        ...

    def read(self, size: int, timeout_s: float) -> bytes:
        """Up to `size` bytes; fewer (maybe none) when `timeout_s` runs out."""
        ...

    def close(self) -> None: ...
