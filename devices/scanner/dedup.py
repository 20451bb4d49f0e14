"""Repeat suppression: a code held in front of the camera is reported once, not per frame."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


class Deduplicator:
    """Lets each code through once, then again only after it was absent for `window_s`.

    "Absent" means not sighted: a camera misses a code in some frames (a hand moves, the
    screen glares), so each sighting renews the code's window. A code shown for 10 s is
    reported once; taken away and shown again 2 s later, it is reported again (a customer
    who scans twice on purpose). `window_s=0` lets every sighting through.
    """

    def __init__(self, window_s: float = 2.0, clock: Callable[[], float] = time.monotonic):
        if window_s < 0:
            raise ValueError("window_s must not be negative")
        self.window_s = window_s
        self.clock = clock
        self._last_seen: dict[Hashable, float] = {}

    def first_sighting(self, code: Hashable) -> bool:
        """Record a sighting of `code` now; True when it should be reported."""
        now = self.clock()
        self._forget_before(now - self.window_s)
        last = self._last_seen.get(code)
        self._last_seen[code] = now
        return last is None or now - last > self.window_s

    def new_codes(self, codes: Iterable[K]) -> list[K]:
        """The codes of one frame that should be reported (each sighting recorded)."""
        return [c for c in codes if self.first_sighting(c)]

    def reset(self) -> None:
        """Forget every code (a new customer session starts)."""
        self._last_seen.clear()

    def _forget_before(self, cutoff: float) -> None:
        # Bounded memory: codes not seen within the window can be dropped, since a new
        # sighting of them is reported either way.
        if len(self._last_seen) > 64:
            self._last_seen = {c: t for c, t in self._last_seen.items() if t >= cutoff}
