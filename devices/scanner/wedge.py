"""Telling a keyboard-wedge scanner from a person by key timing (pure Python, no Qt).

A USB keyboard-wedge scanner is a keyboard to the computer: it "types" the code, a key
every 1-10 ms, and presses Enter. A person types a key every 80-300 ms; even a fast typist
rolling over two keys rarely keeps gaps under 30 ms for more than two or three keys. So a
*burst* — every gap at most `max_gap_s` — of at least `min_length` characters that ends
with Enter is a scan; anything else is typing.

The first keys of a burst arrive before anyone can tell, so a caller that must keep a
scanner's keys out of a focused text field holds every key back until it is decided:

* `feed(char, t)` says, for each key, whether to hold it (it may be part of a scan), how
  many keys held earlier to release now in order (they turned out to be typing), and the
  code when this key completed a scan (the held keys and the Enter are then dropped);
* `expire(t)` releases held keys once no further key came within `max_gap_s` (call it from
  a timer at `deadline`): a person's keystroke is delayed by about 30 ms, which nobody sees.

The Qt event filter in `ui.scan_filter` and the tests drive this class; the evdev backend
does not need it (it grabs a device that is known to be a scanner).
"""

from __future__ import annotations

from dataclasses import dataclass

ENTER = "\r"
TERMINATORS = frozenset({"\r", "\n"})


@dataclass(frozen=True)
class WedgeStep:
    """What to do with one key."""

    release: int = 0  # held keys (oldest first) to pass on now, before this key
    hold: bool = False  # hold this key back: it may be the start or middle of a scan
    scanned: str | None = None  # this key (Enter) completed a scan: the code


class WedgeDetector:
    """Splits a timed stream of typed characters into scans and human typing."""

    def __init__(
        self,
        max_gap_s: float = 0.03,
        min_length: int = 6,
        max_length: int = 4096,
        enter_gap_s: float | None = None,
        end_on_idle: bool = False,
    ) -> None:
        """`enter_gap_s`: the largest gap before the Enter (some scanners pause before
        their suffix; default 2 × max_gap_s). `end_on_idle`: a burst of `min_length` or
        more that stops without Enter is a scan too (for scanners set to send no suffix;
        off by default, so a typist's lucky fast run is never taken for a scan)."""
        if max_gap_s <= 0 or min_length < 1:
            raise ValueError("max_gap_s must be positive and min_length at least 1")
        self.max_gap_s = max_gap_s
        self.min_length = min_length
        self.max_length = max_length
        self.enter_gap_s = 2 * max_gap_s if enter_gap_s is None else enter_gap_s
        self.end_on_idle = end_on_idle
        self._held: list[str] = []
        self._last_t: float | None = None

    @property
    def held(self) -> int:
        """Keys held back and not yet decided."""
        return len(self._held)

    @property
    def deadline(self) -> float | None:
        """When held keys must be released if no key arrives first (None: none held)."""
        if not self._held or self._last_t is None:
            return None
        return self._last_t + max(self.max_gap_s, self.enter_gap_s)

    def feed(self, char: str, t: float) -> WedgeStep:
        """One key typed at time `t` (seconds): a character, or ENTER / "\\n"."""
        gap = None if self._last_t is None else t - self._last_t
        if char in TERMINATORS:
            if (
                self._held
                and gap is not None
                and gap <= self.enter_gap_s
                and len(self._held) >= self.min_length
            ):
                code = "".join(self._held)
                self._reset()
                return WedgeStep(scanned=code)
            return WedgeStep(release=self._release_all())  # Enter typed by a person
        release = 0
        if self._held and (gap is None or gap > self.max_gap_s):
            release = self._release_all()  # too slow for a scanner: that was typing
        elif len(self._held) >= self.max_length:
            release = self._release_all()  # a stuck key or a flood: not a code
        self._held.append(char)
        self._last_t = t
        return WedgeStep(release=release, hold=True)

    def expire(self, t: float) -> tuple[int, str | None]:
        """Time passes with no key: (held keys to release, code if it ended a scan)."""
        deadline = self.deadline
        if deadline is None or t < deadline:
            return 0, None
        if self.end_on_idle and len(self._held) >= self.min_length:
            code = "".join(self._held)
            self._reset()
            return 0, code
        return self._release_all(), None

    def release_all(self) -> int:
        """Give up on the held keys (focus moved, a mouse click): pass them all on."""
        return self._release_all()

    def _release_all(self) -> int:
        count = len(self._held)
        self._reset()
        return count

    def _reset(self) -> None:
        self._held.clear()
        self._last_t = None


def scans_in(keys: list[tuple[str, float]], detector: WedgeDetector | None = None) -> list[str]:
    """The scans in a recorded key stream [(char, t), …] (for tests and diagnostics)."""
    det = detector or WedgeDetector()
    found = []
    for char, t in keys:
        _, code = det.expire(t)
        if code:
            found.append(code)
        step = det.feed(char, t)
        if step.scanned:
            found.append(step.scanned)
    return found
