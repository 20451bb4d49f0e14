"""Keyboard-wedge detection by key timing: a timing table and the hold/release protocol."""

from __future__ import annotations

import pytest

from devices.scanner.wedge import ENTER, WedgeDetector, scans_in

CODE = "BQ1.eyJhIjoxfQ.c2ln"


def typed(text: str, gap_s: float, start: float = 0.0, enter_gap_s: float | None = None):
    """(char, time) pairs for `text` typed with a fixed gap, then Enter."""
    keys = [(ch, start + i * gap_s) for i, ch in enumerate(text)]
    last = keys[-1][1] if keys else start
    keys.append((ENTER, last + (gap_s if enter_gap_s is None else enter_gap_s)))
    return keys


@pytest.mark.parametrize(
    ("keys", "detector", "expected"),
    [
        pytest.param(typed(CODE, 0.004), WedgeDetector(), [CODE], id="scanner-4ms"),
        pytest.param(typed(CODE, 0.025), WedgeDetector(), [CODE], id="slow-scanner-25ms"),
        pytest.param(typed(CODE, 0.040), WedgeDetector(), [], id="40ms-is-too-slow"),
        pytest.param(
            typed(CODE, 0.040), WedgeDetector(max_gap_s=0.05), [CODE], id="threshold-raised"
        ),
        pytest.param(typed("hello world", 0.15), WedgeDetector(), [], id="person-typing"),
        pytest.param(typed("abc", 0.004), WedgeDetector(), [], id="shorter-than-min-length"),
        pytest.param(typed("abc", 0.004), WedgeDetector(min_length=3), ["abc"], id="min-3"),
        pytest.param(
            typed(CODE, 0.004, enter_gap_s=0.05), WedgeDetector(), [CODE], id="enter-after-pause"
        ),
        pytest.param(
            typed(CODE, 0.004, enter_gap_s=0.2), WedgeDetector(), [], id="enter-much-later"
        ),
        pytest.param(
            typed("12", 0.2) + typed(CODE, 0.004, start=1.0),
            WedgeDetector(),
            [CODE],
            id="typing-then-scan",
        ),
        pytest.param(
            [("a", 0.0), ("b", 0.01), ("c", 0.02), *typed(CODE, 0.003, start=0.3)],
            WedgeDetector(),
            [CODE],
            id="rollover-burst-then-scan",
        ),
        pytest.param(
            [*typed(CODE, 0.004), *typed(CODE, 0.004, start=0.5)],
            WedgeDetector(),
            [CODE, CODE],
            id="two-scans",
        ),
    ],
)
def test_timing_table(keys, detector, expected):
    assert scans_in(keys, detector) == expected


def test_a_person_s_keys_are_held_then_released_in_order():
    det = WedgeDetector()
    first = det.feed("h", 0.0)
    assert first.hold and first.release == 0
    second = det.feed("i", 0.2)  # too late to be a scanner: release "h", hold "i"
    assert second.hold and second.release == 1
    assert det.deadline == pytest.approx(0.2 + 0.06)
    assert det.expire(0.21) == (0, None)  # not yet
    assert det.expire(0.3) == (1, None)  # nothing followed: release "i"
    assert det.held == 0
    enter = det.feed(ENTER, 1.0)  # Enter with nothing held: passes straight on
    assert enter.release == 0 and not enter.hold and enter.scanned is None


def test_a_scan_is_held_until_enter_and_nothing_is_released():
    det = WedgeDetector()
    released = 0
    for i, ch in enumerate(CODE):
        step = det.feed(ch, i * 0.005)
        assert step.hold
        released += step.release
    step = det.feed(ENTER, len(CODE) * 0.005)
    assert step.scanned == CODE and step.release == 0 and released == 0


def test_without_a_suffix_an_idle_burst_is_a_scan_only_when_asked_for():
    keys = [(ch, i * 0.005) for i, ch in enumerate(CODE)]
    plain, idle = WedgeDetector(), WedgeDetector(end_on_idle=True)
    for ch, t in keys:
        plain.feed(ch, t)
        idle.feed(ch, t)
    assert plain.expire(1.0) == (len(CODE), None)
    assert idle.expire(1.0) == (0, CODE)


def test_a_flood_longer_than_max_length_is_not_a_code():
    det = WedgeDetector(max_length=10)
    releases = sum(det.feed("x", i * 0.001).release for i in range(25))
    assert releases == 20 and det.held == 5


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError):
        WedgeDetector(max_gap_s=0)
    with pytest.raises(ValueError):
        WedgeDetector(min_length=0)
