"""Repeat suppression with a settable clock."""

from __future__ import annotations

import pytest

from devices.scanner.dedup import Deduplicator


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_code_held_in_front_of_the_camera_is_reported_once():
    clock = Clock()
    dedup = Deduplicator(2.0, clock=clock)
    reported = 0
    for _ in range(300):  # 10 s at 30 fps
        reported += dedup.first_sighting("BQ1.a.b")
        clock.now += 1 / 30
    assert reported == 1


def test_it_is_reported_again_only_after_being_absent_for_the_window():
    clock = Clock()
    dedup = Deduplicator(2.0, clock=clock)
    assert dedup.first_sighting("A")
    clock.now += 1.9
    assert not dedup.first_sighting("A")  # a missed frame or two is not an absence
    clock.now += 1.9
    assert not dedup.first_sighting("A")  # still renewed by the last sighting
    clock.now += 2.1
    assert dedup.first_sighting("A")


def test_codes_are_independent_and_a_frame_can_hold_several():
    clock = Clock()
    dedup = Deduplicator(2.0, clock=clock)
    assert dedup.new_codes(["A", "B"]) == ["A", "B"]
    assert dedup.new_codes(["A", "C"]) == ["C"]
    dedup.reset()
    assert dedup.new_codes(["A"]) == ["A"]


def test_a_zero_window_lets_every_sighting_through_and_memory_stays_bounded():
    clock = Clock()
    every = Deduplicator(0.0, clock=clock)
    clock.now += 0.001
    assert every.first_sighting("A")
    clock.now += 0.001
    assert every.first_sighting("A")
    dedup = Deduplicator(1.0, clock=clock)
    for i in range(1000):
        dedup.first_sighting(f"code-{i}")
        clock.now += 0.1
    assert len(dedup._last_seen) < 100
    with pytest.raises(ValueError):
        Deduplicator(-1)
