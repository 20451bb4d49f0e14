"""The wait a customer reads: one rule for the kiosk, the paper, the phone and the display.

The server computes it once (`shown_wait`) and sends it with the prediction; every client
shows what it was sent, so the same ticket reads the same number everywhere at one moment.
Minutes are rounded up (a wait shown shorter than it turns out is a broken promise), to ten
minutes from an hour on (as people plan), and from two hours on only "over two hours" with
the advice to book: a four-digit minute count is noise.
"""

from __future__ import annotations

import math
from typing import TypedDict

LONG_WAIT_MIN = 60  # from here the wait is shown to ten minutes
WAIT_HORIZON_MIN = 120  # from here only "over two hours": the figure is no longer a promise


class ShownWait(TypedDict):
    """`wait_min`: the minutes to show (0: now, `WAIT_HORIZON_MIN` when capped); None: no
    open counter serves the business. `wait_low_min`–`wait_high_min`: the usual range (the
    80 % interval), None when it says no more than the figure or reaches past the horizon.
    `wait_capped`: show "over two hours" (and the advice to book), not a figure."""

    wait_min: int | None
    wait_low_min: int | None
    wait_high_min: int | None
    wait_capped: bool


def shown_minutes(seconds: float | None) -> int | None:
    """A predicted wait in seconds as the minutes every screen and the paper show."""
    if seconds is None or math.isnan(seconds):
        return None
    if math.isinf(seconds):  # some simulated futures never reach the customer: beyond any horizon
        return WAIT_HORIZON_MIN if seconds > 0 else 0
    minutes = max(0, math.ceil(seconds / 60.0 - 1e-9))
    if minutes >= LONG_WAIT_MIN:
        minutes = math.ceil(minutes / 10.0) * 10
    return min(minutes, WAIT_HORIZON_MIN)


def shown_wait(
    eta_s: float | None, low_s: float | None = None, high_s: float | None = None
) -> ShownWait:
    """The wait to show for a median and 80 % interval (seconds), as the wire carries it."""
    minutes = shown_minutes(eta_s)
    capped = minutes is not None and minutes >= WAIT_HORIZON_MIN
    low = high = None
    bounded = low_s is not None and high_s is not None and math.isfinite(low_s + high_s)
    if minutes is not None and not capped and bounded:
        assert low_s is not None and high_s is not None
        low = min(minutes, max(0, math.floor(low_s / 60.0)))
        high = max(minutes, math.ceil(high_s / 60.0 - 1e-9))
        if high >= WAIT_HORIZON_MIN or low == high:
            low = high = None
    return {"wait_min": minutes, "wait_low_min": low, "wait_high_min": high, "wait_capped": capped}
