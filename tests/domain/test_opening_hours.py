"""The head office's opening hours at the branch: walk-ins outside the day's hours are
refused, people already waiting are still served, a day listed empty is closed."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

import pytest

from queue_server.domain import InvalidState, Source
from queue_server.domain.hours import OpeningHours
from queue_server.domain.staffing import DayHours, branch_hours

# The fixture clock's T0 is 10:00 in Shanghai on Saturday 2026-11-28.
WEEK = {"fri": ["09:00", "17:00"], "sat": ["09:30", "12:00"], "sun": []}


def with_hours(desk, hours=WEEK):
    desk.branch.settings = replace(
        desk.branch.settings, opening_hours=OpeningHours.from_wire(hours)
    )


def test_a_walk_in_is_taken_inside_the_days_hours_and_refused_after(desk, at, snap):
    with_hours(desk)
    waiting = desk.issue("cash", when=0)  # 10:00, inside 09:30–12:00
    before = snap(desk.branch)
    with pytest.raises(InvalidState) as refused:
        desk.issue("cash", when=120)  # 12:00: closed
    assert refused.value.code == "branch_closed" and "12:00" in refused.value.message
    assert refused.value.details["hours"] == ["09:30", "12:00"]
    assert snap(desk.branch) == before
    # Whoever is already waiting is still called; staff may still issue at the door.
    assert desk.call(1, when=121).id == waiting.id
    assert desk.issue("cash", when=122, source=Source.STAFF).service == "cash"


def test_before_opening_the_refusal_says_when_it_opens(desk, at):
    with_hours(desk)
    with pytest.raises(InvalidState) as refused:
        desk.issue("cash", when=-40)  # 09:20
    assert refused.value.details["opens_at"] == "2026-11-28T09:30:00+08:00"


def test_a_closed_day_takes_no_walk_in_and_an_unlisted_day_has_no_limit(desk, at):
    with_hours(desk)
    with pytest.raises(InvalidState) as refused:
        desk.issue("cash", when=24 * 60)  # Sunday 10:00, listed []
    assert refused.value.code == "branch_closed" and "closed today" in refused.value.message
    assert desk.issue("cash", when=2 * 24 * 60 + 13 * 60).service == "cash"  # Mon 23:00


def test_the_staffing_day_follows_the_centres_hours(branch, at):
    hours = OpeningHours.from_wire(WEEK)
    saturday = at(0).date()
    assert branch_hours(branch.services.values(), hours, saturday) == DayHours(
        time(9, 30), time(12)
    )
    # A closed or unlisted day keeps the businesses' own hours.
    sunday = at(24 * 60).date()
    assert branch_hours(branch.services.values(), hours, sunday) == branch_hours(
        branch.services.values()
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"mon": ["17:00", "09:00"]},
        {"mon": ["9:00", "17:00"]},
        {"mon": ["09:00"]},
        {"mon": ["25:00", "26:00"]},
        {"holiday": []},
        ["09:00", "17:00"],
    ],
)
def test_hours_the_branch_cannot_take_are_refused(bad):
    with pytest.raises(ValueError):
        OpeningHours.from_wire(bad)
