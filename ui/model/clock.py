"""ServerClock: the branch server's time now, as the presenters measure waits by it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from ui.model.isotime import parse_time


class ServerClock:
    """The server's time now, from the last `at` it sent plus the time since, locally.

    Waits are measured on the server's clock (a counter PC's clock may be off, and tests
    run the server on a fake one); between events the local monotonic clock moves it on.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._text: str | None = None
        self._at: datetime | None = None
        self._local = 0.0

    def observe(self, at: str | None) -> None:
        if at is None or at == self._text:
            return  # the same reading again: keep counting from when it first came
        parsed = parse_time(at)
        if parsed is not None:
            self._text, self._at, self._local = at, parsed, self._monotonic()

    def now(self) -> datetime | None:
        if self._at is None:
            return None
        return self._at + timedelta(seconds=self._monotonic() - self._local)
