"""One request, one reply on the RS-485 line: the half-duplex exchange both protocols use.

The host is the only master: it sends one frame, then listens for the addressed device's
reply until the reply timeout, and only then sends the next frame. `BusLink` does exactly
one such exchange per call and knows nothing of devices, retries or threads — `Bus` and
`probe` build on it. All bytes go through `SerialLine`.
"""

from __future__ import annotations

import threading
import time

from devices.bus.frames import Frame, FrameParser
from devices.bus.modbus import Adu, ModbusParser
from devices.errors import DeviceTimeout, DeviceUnavailable, ProtocolError
from devices.serialport import SerialLine

READ_SLICE_S = 0.05  # longest blocking read, so closing the bus is never held up longer


class BusLink:
    def __init__(
        self,
        line: SerialLine,
        *,
        reply_timeout_s: float = 0.2,
        echo: bool = False,
        stop: threading.Event | None = None,
    ) -> None:
        self.line = line
        self.reply_timeout_s = reply_timeout_s
        self.echo = echo
        self._stop = stop or threading.Event()
        self._frames = FrameParser()
        self._modbus = ModbusParser("response")

    @property
    def parser_stats(self) -> dict[str, int]:
        """Damaged input seen so far (for diagnostics): frames rejected and bytes skipped."""
        f = self._frames
        return {
            "garbage_bytes": f.garbage,
            "bad_crc": f.bad_crc + self._modbus.rejected,
            "bad_length": f.bad_length,
            "bad_escape": f.bad_escape,
            "oversized": f.oversized,
            "truncated": f.truncated,
        }

    def exchange_framed(self, request: Frame, timeout_s: float | None = None) -> Frame:
        """Send `request`; return the addressed device's reply frame.

        Raises DeviceTimeout (silence), ProtocolError (only damaged replies arrived) or
        DeviceUnavailable (the port is gone).
        """
        self._frames.reset()
        leftover = self._send(request.encode())
        rejected = self._frames.rejected
        deadline = time.monotonic() + (self.reply_timeout_s if timeout_s is None else timeout_s)
        chunk: bytes | None = leftover
        while chunk is not None:
            for frame in self._frames.feed(chunk):
                # Replies from other addresses are late answers to earlier requests.
                if frame.address == request.address and frame.is_reply:
                    return frame
            chunk = self._receive(deadline)
        if self._frames.rejected > rejected:
            raise ProtocolError(f"address {request.address}: reply failed its checksum")
        raise DeviceTimeout(f"address {request.address}: no reply")

    def exchange_modbus(self, request: bytes, timeout_s: float | None = None) -> Adu:
        """Send a Modbus-RTU request; return the first valid frame from that address."""
        self._modbus.reset()
        leftover = self._send(request)
        rejected = self._modbus.rejected
        deadline = time.monotonic() + (self.reply_timeout_s if timeout_s is None else timeout_s)
        chunk: bytes | None = leftover
        while chunk is not None:
            for adu in self._modbus.feed(chunk):
                if adu.address == request[0] and adu.function & 0x7F == request[1]:
                    return adu
            chunk = self._receive(deadline)
        if self._modbus.rejected > rejected:
            raise ProtocolError(f"Modbus address {request[0]}: reply failed its CRC")
        raise DeviceTimeout(f"Modbus address {request[0]}: no reply")

    # -------------------------------------------------------------------------- bytes
    def _send(self, wire: bytes) -> bytes:
        """Write one request; returns bytes already read that belong to the reply."""
        if self._stop.is_set():
            raise DeviceUnavailable("the bus is closing")
        # Whatever is waiting is stale: a late reply or noise from before this request.
        self.line.reset_input()
        self.line.write(wire)
        if not self.echo:
            return b""
        # Adapters without automatic receiver disable hear their own transmission first.
        heard = self.line.read(len(wire), timeout_s=self.reply_timeout_s)
        return heard[len(wire) :] if heard.startswith(wire) else heard

    def _receive(self, deadline: float) -> bytes | None:
        """Next bytes before `deadline`, b"" when none came this slice, None when time is up."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        if self._stop.is_set():
            raise DeviceUnavailable("the bus is closing")
        first = self.line.read(1, timeout_s=min(remaining, READ_SLICE_S))
        return first + self.line.read_available() if first else b""
