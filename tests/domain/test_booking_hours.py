"""Bookings within the head office's opening hours: a slot is offered and booked only where
the business's own hours (or the booking rules') and the branch's hours that day overlap; a
closed day offers nothing; a booking made before the day closed is kept and raises an alert."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest

from queue_server.domain.alerts import AlertKind, AlertRules, conditions
from queue_server.domain.appointments import Appointment, AppointmentRefused
from queue_server.domain.hours import OpeningHours

# The fixture clock's T0 is 10:00 in Shanghai on Saturday 2026-11-28.
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
MONDAY, TUESDAY, SUNDAY = date(2026, 11, 30), date(2026, 12, 1), date(2026, 11, 29)
WEEK = {"mon": ["10:00", "15:00"], "sat": ["09:30", "12:00"], "sun": []}


def with_hours(branch, hours=WEEK):
    branch.settings = replace(branch.settings, opening_hours=OpeningHours.from_wire(hours))


def with_own_hours(branch, code, opens, closes):
    branch.services[code] = replace(branch.services[code], opens=opens, closes=closes)


def starts(branch, day, service="wealth"):
    return [
        f"{o.start.astimezone(_tz(branch)):%H:%M}" for o in branch.slots_of_day(service, day, NOW)
    ]


def _tz(branch):
    from zoneinfo import ZoneInfo

    return ZoneInfo(branch.settings.timezone)


def book(branch, local: datetime, service="wealth", number="ACDE3467"):
    change = branch.run(
        lambda: branch.book_appointment(
            service, local, NOW, booking_number=number, nonce="n0nce-01"
        )
    )
    assert isinstance(change.result, Appointment)
    return change.result


def refused(branch, local: datetime, service="wealth") -> str:
    before = dict(branch.appointments), branch.last_seq
    with pytest.raises(AppointmentRefused) as info:
        book(branch, local, service)
    assert (dict(branch.appointments), branch.last_seq) == before  # nothing changed
    return info.value.code


def test_narrowing_a_business_to_the_branchs_day():
    hours = OpeningHours.from_wire(WEEK)
    assert hours.narrow(MONDAY, (time(9), time(17))) == (time(10), time(15))
    assert hours.narrow(MONDAY, (time(13), None)) == (time(13), time(15))
    assert hours.narrow(MONDAY, (None, None)) == (time(10), time(15))
    assert hours.narrow(MONDAY, (time(15), time(18))) is None  # no overlap
    assert hours.narrow(SUNDAY, (time(9), time(17))) is None  # closed
    assert hours.narrow(TUESDAY, (time(9), time(17))) == (time(9), time(17))  # not listed


def test_slots_offered_are_the_business_hours_within_the_branchs(branch):
    assert starts(branch, MONDAY)[0] == "09:00"  # no head office hours: the rules' 09–17
    with_hours(branch)
    assert starts(branch, MONDAY) == [f"{h:02}:{m:02}" for h in range(10, 15) for m in (0, 30)]
    assert starts(branch, TUESDAY) == [f"{h:02}:{m:02}" for h in range(9, 17) for m in (0, 30)]
    with_own_hours(branch, "wealth", time(13), time(18))
    assert starts(branch, MONDAY) == ["13:00", "13:30", "14:00", "14:30"]
    assert starts(branch, date(2026, 11, 28)) == []  # Saturday 09:30–12:00: no overlap


def test_a_closed_day_offers_no_slot_and_takes_no_booking(branch):
    with_hours(branch)
    assert starts(branch, SUNDAY) == []
    assert refused(branch, datetime(2026, 11, 29, 11, 0)) == "day_closed"


def test_a_booking_must_lie_wholly_within_the_days_hours(branch):
    with_hours(branch)
    assert refused(branch, datetime(2026, 11, 30, 9, 30)) == "slot_outside_hours"
    assert refused(branch, datetime(2026, 11, 30, 15, 0)) == "slot_outside_hours"
    assert book(branch, datetime(2026, 11, 30, 14, 30)).slot_end.astimezone(_tz(branch)).time() == (
        time(15)
    )
    # The bank's own channel may still book outside the rules' offered hours on a day the
    # head office leaves open (as before it set hours), never outside the branch's.
    assert book(branch, datetime(2026, 12, 1, 17, 0), number="ACDE3468").service == "wealth"
    assert refused(branch, datetime(2026, 11, 30, 7, 30)) == "slot_outside_hours"


def test_a_booking_on_a_day_that_closed_is_kept_and_raises_an_alert(branch):
    kept = book(branch, datetime(2026, 11, 29, 11, 0))  # Sunday, before the centre's hours
    inside = book(branch, datetime(2026, 11, 30, 10, 0), number="ACDE3468")
    assert branch.bookings_outside_hours() == []
    with_hours(branch)
    assert branch.bookings_outside_hours() == [kept]
    assert branch.appointments[kept.id].state == kept.state  # not dropped, not cancelled
    found = conditions(branch, NOW, AlertRules(), paused_since={})
    alert = found["bookings:2026-11-29"]
    assert alert.kind is AlertKind.BOOKINGS_OUTSIDE_HOURS
    assert alert.subject["count"] == 1 and alert.subject["appointment_ids"] == [kept.id]
    assert alert.subject["hours"] == [] and alert.subject["first_slot"] == "11:00"
    assert inside.id not in alert.subject["appointment_ids"]
    # Staff move it with the customer: the alert's condition is gone.
    branch.run(
        lambda: branch.reschedule_appointment(
            kept.id, datetime(2026, 11, 30, 11, 0), NOW, nonce="n0nce-02"
        )
    )
    assert "bookings:2026-11-29" not in conditions(branch, NOW, AlertRules(), paused_since={})


def test_a_kept_booking_can_still_be_checked_in_on_its_closed_day(branch):
    kept = book(branch, datetime(2026, 11, 29, 11, 0))
    with_hours(branch)
    on_time = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # Sunday 11:00
    change = branch.run(lambda: branch.check_in_appointment(kept.id, on_time))
    assert change.result.service == "wealth"
    assert branch.bookings_outside_hours() == []  # checked in: nothing left to move
