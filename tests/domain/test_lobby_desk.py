"""The lobby's desk work in the pure domain (issue 21): appointments assigned to a
relationship manager, visits outside the branch, pre-review, sending a customer to a desk,
and the lobby report's figures."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from queue_server.domain import InvalidInput, InvalidState, PriorityClass, TicketState
from queue_server.domain.appointments import (
    Appointment,
    AppointmentKind,
    AppointmentRefused,
    AppointmentState,
)
from queue_server.domain.lobby_reports import Diversion, lobby_report
from queue_server.domain.reports import LegRecord, ReportScope
from wire import EventKind

SLOT = datetime(2026, 11, 28, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai, T0 + 270 min
DAY = date(2026, 11, 28)


def visit(branch, at, **kw):
    args = {
        "staff_id": "rm1",
        "documents_collected": ["收入证明", "房产证复印件"],
        "booking_number": "VVVV3467",
        "nonce": "visit-01",
        "follow_up_number": "FFFF3467",
        "follow_up_nonce": "follow-01",
    } | kw
    return branch.run(lambda: branch.record_visit("wealth", at(-60), at(0), **args))


def test_a_booking_may_be_assigned_to_a_relationship_manager(branch, at):
    change = branch.run(
        lambda: branch.book_appointment(
            "wealth", SLOT, at(0), booking_number="ACDE3467", nonce="n0nce-01", staff_id="rm1"
        )
    )
    booked = change.result
    assert isinstance(booked, Appointment)
    assert (booked.staff_id, booked.kind) == ("rm1", AppointmentKind.BOOKING)
    assert change.events[0].data["appointment"]["staff_id"] == "rm1"


def test_a_visit_is_recorded_with_its_documents_and_a_follow_up_for_the_same_manager(branch, at):
    change = visit(branch, at, follow_up_slot=SLOT)
    made = change.result
    assert isinstance(made, Appointment)
    assert made.kind is AppointmentKind.VISIT and made.state is AppointmentState.VISITED
    assert made.documents_collected == ("收入证明", "房产证复印件")
    follow_up = branch.appointment(made.follow_up_id)
    assert (follow_up.staff_id, follow_up.state, follow_up.slot_start) == (
        "rm1",
        AppointmentState.BOOKED,
        SLOT,
    )
    kinds = [e.kind for e in change.events]
    assert kinds == [EventKind.APPOINTMENT_BOOKED, EventKind.APPOINTMENT_VISIT_RECORDED]
    recorded = change.events[-1].data
    assert recorded["documents"] == 2 and recorded["follow_up"] == follow_up.id
    # The labels stay in the appointment row, not in the event that ships to head office.
    assert "收入证明" not in repr(change.events)
    # A visit takes no slot, and it is neither checked in nor cancelled.
    assert branch.slot_bookings("wealth", made.slot_start) == []
    with pytest.raises(AppointmentRefused) as refused:
        branch.check_in_appointment(made.id, at(0))
    assert refused.value.code == "appointment_is_visit"
    with pytest.raises(AppointmentRefused) as refused:
        branch.cancel_appointment(made.id, at(0))
    assert refused.value.code == "appointment_is_visit"


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"documents_collected": ["身份证 110101199003070011"]}, "personal_data"),
        ({"documents_collected": ["手机13800138000"]}, "personal_data"),
        ({"documents_collected": [""]}, "visit_documents"),
        ({"documents_collected": ["x" * 41]}, "visit_documents"),
        ({"documents_collected": ["a"] * 21}, "visit_documents"),
        ({"follow_up_slot": SLOT + timedelta(minutes=7)}, "slot_not_aligned"),
    ],
)
def test_a_bad_visit_is_refused_and_changes_nothing(branch, at, kw, code):
    before = (dict(branch.appointments), branch.next_appointment_id, branch.last_seq)
    with pytest.raises((AppointmentRefused, InvalidInput)) as refused:
        visit(branch, at, **kw)
    assert refused.value.code == code
    assert (dict(branch.appointments), branch.next_appointment_id, branch.last_seq) == before


def test_a_visit_is_recorded_once_made(branch, at):
    with pytest.raises(InvalidInput) as refused:
        branch.record_visit(
            "wealth", at(60), at(0), staff_id="rm1", documents_collected=[],
            booking_number="VVVV3467", nonce="visit-01",
        )  # fmt: skip
    assert refused.value.code == "invalid_visit_time"


def test_prereview_marks_the_waiting_ticket_and_says_nothing_of_the_form(branch, desk, at):
    branch.run(lambda: branch.update_service("account", at(0), needs_form=True))
    ticket = desk.issue("account", 1)
    change = branch.run(
        lambda: branch.prereview_ticket(
            ticket.id, at(2), staff_id="rm1", with_form=True, materials_reviewed=True
        )
    )
    reviewed = change.result
    assert reviewed.has_eform and reviewed.state is TicketState.WAITING
    (event,) = change.events
    assert event.kind == EventKind.TICKET_PREREVIEWED
    assert dict(event.data) == {"staff_id": "rm1", "materials_reviewed": True, "form": True}


def test_prereview_is_refused_when_it_cannot_apply(branch, desk, at):
    cash = desk.issue("cash", 1)
    for kw, code in [
        ({"with_form": True, "materials_reviewed": False}, "eform_not_needed"),
        ({"with_form": False, "materials_reviewed": False}, "nothing_reviewed"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            branch.prereview_ticket(cash.id, at(2), staff_id="rm1", **kw)
        assert refused.value.code == code
    desk.call(1, 3)
    with pytest.raises(InvalidState) as refused:
        branch.prereview_ticket(cash.id, at(4), staff_id="rm1", with_form=False,
                                materials_reviewed=True)  # fmt: skip
    assert refused.value.code == "ticket_not_waiting"


def test_sent_to_a_desk_the_customer_keeps_their_place_and_only_that_counter_calls(
    branch, desk, at
):
    first = desk.issue("cash", 1, priority=PriorityClass.CARE)
    change = branch.run(
        lambda: branch.send_to_counter(first.id, 4, at(3), staff_id="rm1", reason="房贷咨询")
    )
    leg = change.result
    assert (leg.target_counter, leg.previous_id, leg.leg) == (4, first.id, 1)
    assert (leg.arrived_at, leg.issued_at, leg.priority) == (
        first.arrived_at, first.issued_at, PriorityClass.CARE,
    )  # fmt: skip
    assert branch.ticket(first.id).state is TicketState.TRANSFERRED
    assert change.events[1].data["to_counter"] == 4
    assert desk.call(1, 4) is None  # counter 1 serves cash, but this customer is for 4
    with pytest.raises(InvalidState) as refused:
        branch.send_to_counter(leg.id, 4, at(5), staff_id="rm1")
    assert refused.value.code == "already_there"


def _leg(lid, visit, service, took_s, day=DAY):
    start = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    return LegRecord(
        id=lid, service=service, business_day=day, leg=0, state=TicketState.DONE,
        queued_at=start, first_called_at=start, serving_at=start,
        finished_at=start + timedelta(seconds=took_s), visit_id=visit,
    )  # fmt: skip


def test_the_lobby_report_counts_diversions_and_splits_counter_time_by_prereview():
    scope = ReportScope(DAY, DAY)
    legs = [
        _leg(1, 1, "account", 600),
        _leg(2, 2, "account", 300),
        _leg(3, 3, "account", 360),
        replace(_leg(4, 4, "account", 999), state=TicketState.NO_SHOW),
        _leg(5, 5, "account", 500, day=DAY + timedelta(days=1)),  # outside the range
    ]
    diversions = [
        Diversion("account", "app", DAY),
        Diversion("account", "atm", DAY),
        Diversion("account", "app", DAY),
        Diversion("cash", "self_service", DAY),
        Diversion("cash", "atm", DAY - timedelta(days=1)),
    ]
    report = lobby_report(scope, diversions, legs, [2, 3], {"account": 600, "cash": 120},
                          ["cash", "account"])  # fmt: skip
    cash, account = report["by_business"]
    assert account["by_channel"] == {"atm": 1, "app": 2, "self_service": 0}
    assert account["mean_service_s"] == 420.0  # (600 + 300 + 360) / 3, measured
    assert account["counter_time_saved_s"] == 1260.0
    assert account["prereviewed"] == {"served": 2, "mean_counter_s": 330.0}
    assert account["not_prereviewed"] == {"served": 1, "mean_counter_s": 600.0}
    assert (cash["diverted"], cash["saved_from"], cash["counter_time_saved_s"]) == (
        1, "configured", 120,
    )  # fmt: skip
    assert (report["diverted"], report["counter_time_saved_s"]) == (4, 1380.0)
