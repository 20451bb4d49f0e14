"""Limits: connection limits uvicorn lacks, and the per-client limiters the app applies.

Connection limits: a deadline and a size cap for each request's head.

uvicorn times out only idle keep-alive connections. A client that connects and says
nothing, or sends a request line and then a header a byte a minute (slowloris), holds its
connection for ever, and httptools buffers however large a head it is sent. The protocol
below closes such a connection with 408 / 431. The body has its own deadline and size
limit in the app (`queue_server.api.app.BodyLimit`), so it holds under any server.

App limiters (one of each per app, built in `create_app`): `PinLockout` for staff sign-in,
`RateLimit` for the public ticket page's POSTs, `PublicGate` for the public booking page.
They raise `TooManyRequests`, which the API answers with 429 and a Retry-After.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http import HTTPStatus
from typing import Any

HEAD_TIMEOUT_S = 10.0  # from connecting (or the first byte of a later request) to its last header
MAX_HEAD_BYTES = 16 * 1024  # request line and headers; a browser's stay far below this
WS_MAX_MESSAGE = 64 * 1024  # clients send nothing on the event stream but control frames
KEEP_ALIVE_S = 5

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools missing: uvicorn falls back to h11, without these limits
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


def _refuse(transport: asyncio.Transport, status: HTTPStatus, code: str, message: str) -> None:
    """Answer before the app is reached, in the API's own error shape, and hang up."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    transport.write(
        f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode()
        + b"content-type: application/json\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\nconnection: close\r\n\r\n"
        + body
    )
    transport.close()


if HttpToolsProtocol is not None:

    class GuardedHttpProtocol(HttpToolsProtocol):
        """httptools' protocol with a deadline and a size cap on each request head."""

        head_timeout_s = HEAD_TIMEOUT_S
        max_head_bytes = MAX_HEAD_BYTES

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._in_head = True
            self._head_bytes = 0
            self._head_timer: asyncio.TimerHandle | None = None
            self._head_size = 0  # request line and headers as parsed
            self._refused = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            if self._in_head:
                self._head_bytes += len(data)
                if self._head_timer is None:
                    self._arm()
            super().data_received(data)
            # A head still incomplete after this read: cap what httptools may buffer.
            if self._in_head and self._head_bytes > self.max_head_bytes:
                self._too_large()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_size = 0

        def on_url(self, url: bytes) -> None:
            self._head_size += len(url)
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._head_size += len(name) + len(value) + 4
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._disarm()
            if self._head_size > self.max_head_bytes:  # a whole large head in one read
                self._too_large()
                return
            super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            if not self._refused:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if self._refused:
                return
            super().on_message_complete()
            self._in_head, self._head_bytes = True, 0  # what follows is the next request

        def _too_large(self) -> None:
            self._refused = True
            self._disarm()
            if not self.transport.is_closing():
                _refuse(
                    self.transport,
                    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "headers_too_large",
                    "the request head is too large",
                )

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if not self._in_head or self.transport.is_closing():
                return
            if self._head_bytes:
                _refuse(
                    self.transport,
                    HTTPStatus.REQUEST_TIMEOUT,
                    "request_timeout",
                    "the request head came too slowly",
                )
            else:
                self.transport.close()  # connected and said nothing (or only kept it alive)


def server_options() -> dict[str, Any]:
    """uvicorn options every BranchQ server runs with (the CLI, the hostile drill)."""
    options: dict[str, Any] = {
        "timeout_keep_alive": KEEP_ALIVE_S,
        "ws_max_size": WS_MAX_MESSAGE,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
    }
    if HttpToolsProtocol is not None:
        options["http"] = GuardedHttpProtocol
    return options


# ------------------------------------------------------------------ app limiters
class TooManyRequests(Exception):
    """A client went over a limit; `retry_after_s` says when it may try again (if known)."""

    def __init__(self, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s


class RateLimit:
    """At most `limit` hits per key in a sliding window (monotonic clock)."""

    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> bool:
        now = time.monotonic()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        if len(self._hits) > 10_000:  # forget idle keys now and then
            for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window_s]:
                del self._hits[k]
        return True


class PinLockout:
    """Refuses a staff id's sign-in for a while after repeated wrong PINs.

    A PIN is checked only after `reserve` has counted it: the check (argon2) runs in a
    worker thread, so without the reservation every guess fired at once would pass the
    "locked?" test before the first of them was found wrong. Failures and reservations
    together never exceed `max_failures`, so at most that many PINs are ever tried per lock.

    Keyed by staff id whether or not it exists, so a locked answer does not tell which ids
    are real. This is the in-memory truth; the sign-in desk stores failures and locks too,
    and `restore`s them at start, so a restart hands a guesser no fresh tries.
    """

    def __init__(
        self, max_failures: int = 5, window_s: float = 15 * 60, lock_s: float = 15 * 60
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.lock_s = lock_s
        self._failures: dict[str, list[datetime]] = {}
        self._locked_until: dict[str, datetime] = {}
        self._checking: dict[str, int] = {}  # PINs reserved and being checked right now

    def restore(self, failures: dict[str, list[datetime]], locks: dict[str, datetime]) -> None:
        """Take up the failures and locks stored before a restart."""
        self._failures = {k: sorted(v) for k, v in failures.items()}
        self._locked_until = dict(locks)

    def locked_for(self, staff_id: str, now: datetime) -> float:
        """Seconds the staff id stays locked (0: it may try)."""
        until = self._locked_until.get(staff_id)
        if until is None:
            return 0.0
        if now >= until:
            del self._locked_until[staff_id]
            return 0.0
        return (until - now).total_seconds()

    def reserve(self, staff_id: str, now: datetime) -> None:
        """Count a PIN before it is checked; TooManyRequests when none may be tried now."""
        locked_s = self.locked_for(staff_id, now)
        if locked_s:
            raise self.locked(locked_s)
        checking = self._checking.get(staff_id, 0)
        if len(self._recent(staff_id, now)) + checking >= self.max_failures:
            # The tries left are all being checked: one of them may lock the id.
            raise TooManyRequests("sign-in attempts for this staff id are being checked", 1)
        self._checking[staff_id] = checking + 1

    def release(self, staff_id: str) -> None:
        """Give back a reservation whose PIN was never checked."""
        left = self._checking.get(staff_id, 0) - 1
        if left > 0:
            self._checking[staff_id] = left
        else:
            self._checking.pop(staff_id, None)

    def failed(self, staff_id: str, now: datetime) -> datetime | None:
        """Count a reserved PIN found wrong; the time the id is locked until when this one
        locks it, else None."""
        self.release(staff_id)
        recent = self._recent(staff_id, now)
        recent.append(now)
        if len(recent) >= self.max_failures:
            self._failures.pop(staff_id, None)
            until = now + timedelta(seconds=self.lock_s)
            self._locked_until[staff_id] = until
            return until
        self._failures[staff_id] = recent
        if len(self._failures) > 10_000:  # ids typed at random must not grow memory for ever
            self._failures = {k: v for k, v in self._failures.items() if k == staff_id}
        return None

    def succeeded(self, staff_id: str) -> bool:
        """A reserved PIN was right; True when it wiped earlier failures."""
        self.release(staff_id)
        return self._failures.pop(staff_id, None) is not None

    def locked(self, seconds: float) -> TooManyRequests:
        minutes = max(1, math.ceil(seconds / 60))
        return TooManyRequests(
            f"too many wrong PINs for this staff id: try again in {minutes} min",
            math.ceil(seconds),
        )

    def _recent(self, staff_id: str, now: datetime) -> list[datetime]:
        return [
            t for t in self._failures.get(staff_id, []) if (now - t).total_seconds() < self.window_s
        ]


@dataclass(frozen=True)
class PublicLimits:
    """What one client address may do on the public booking endpoints."""

    reads_per_minute: int = 120  # services and slots: a page refreshes them as it is used
    writes_per_window: int = 10  # bookings and cancellations, failed ones included
    write_window_s: int = 600
    bookings_per_day: int = 3  # bookings made per business day (a cancellation gives none back)


@dataclass
class PublicGate:
    """Per-address counters in memory; everything runs on the event loop, so no locks."""

    limits: PublicLimits = field(default_factory=PublicLimits)
    _reads: dict[str, deque[datetime]] = field(default_factory=dict)
    _writes: dict[str, deque[datetime]] = field(default_factory=dict)
    _booked: dict[str, int] = field(default_factory=dict)
    _booked_day: date | None = None

    def read(self, address: str, now: datetime) -> None:
        self._admit(self._reads, address, now, timedelta(minutes=1), self.limits.reads_per_minute)

    def write(self, address: str, now: datetime) -> None:
        window = timedelta(seconds=self.limits.write_window_s)
        self._admit(self._writes, address, now, window, self.limits.writes_per_window)

    def reserve_booking(self, address: str, day: date) -> None:
        """Count a booking before it is made (released if it fails), so racing requests
        from one address cannot all pass the check before any of them is counted."""
        if self._booked_day != day:
            self._booked, self._booked_day = {}, day
        if self._booked.get(address, 0) >= self.limits.bookings_per_day:
            raise TooManyRequests(
                f"at most {self.limits.bookings_per_day} bookings a day from one connection"
            )
        self._booked[address] = self._booked.get(address, 0) + 1

    def release_booking(self, address: str, day: date) -> None:
        if self._booked_day == day and self._booked.get(address, 0) > 0:
            self._booked[address] -= 1

    @staticmethod
    def _admit(
        seen: dict[str, deque[datetime]],
        address: str,
        now: datetime,
        window: timedelta,
        limit: int,
    ) -> None:
        if len(seen) > 10_000:  # forget idle addresses rather than grow without bound
            for key in [k for k, times in seen.items() if not times or times[-1] <= now - window]:
                del seen[key]
        times = seen.setdefault(address, deque())
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) >= limit:
            retry = max(1, math.ceil((times[0] + window - now).total_seconds()))
            raise TooManyRequests("too many requests; please try again shortly", retry)
        times.append(now)
