"""Appointments in the pure domain: signed tokens, slots and capacity, check-in outcomes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.domain import PriorityClass, Source, Ticket
from queue_server.domain.appointments import (
    BOOKING_ALPHABET,
    Appointment,
    AppointmentRefused,
    AppointmentRules,
    AppointmentState,
    CheckInOutcome,
    TokenClaims,
    booking_number_from,
    read_token,
    sign_token,
)

SECRET = bytes(range(32))
OTHER_SECRET = b"x" * 32
BRANCH = "branch"  # BranchSettings' default id
SLOT = datetime(2026, 11, 28, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai, T0 + 270 min
TOKEN_REFUSALS = {"not_appointment", "appointment_forged", "appointment_wrong_branch"}


def book(branch, slot=SLOT, service="wealth", now=None, number="ACDE3467", nonce="n0nce-01"):
    now = now or datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    change = branch.run(
        lambda: branch.book_appointment(service, slot, now, booking_number=number, nonce=nonce)
    )
    assert isinstance(change.result, Appointment)
    return change.result


def claims_of(branch, appointment):
    return read_token(sign_token(appointment, branch.settings.branch_id, SECRET), BRANCH, SECRET)


def check_in(branch, appointment, now, claims=None, **kw):
    change = branch.run(
        lambda: branch.check_in_appointment(appointment.id, now, claims=claims, **kw)
    )
    ticket = change.result
    assert isinstance(ticket, Ticket)
    return change.appointments[-1], ticket


def refusal(fn) -> AppointmentRefused:
    with pytest.raises(AppointmentRefused) as info:
        fn()
    return info.value


# ---------------------------------------------------------------------- tokens


def _appointment(**kw) -> Appointment:
    base = dict(
        id=42,
        booking_number="ACDE3467",
        service="C",
        slot_start=SLOT,
        slot_end=SLOT + timedelta(minutes=30),
        created_at=SLOT - timedelta(days=1),
        nonce="AbCdEfGh",
    )
    return Appointment(**(base | kw))


def test_a_token_round_trips_and_stays_small():
    token = sign_token(_appointment(), BRANCH, SECRET)
    assert token.startswith("BQA1.") and len(token) < 100
    assert read_token(f"  {token}\n", BRANCH, SECRET) == TokenClaims(
        BRANCH, 42, "C", SLOT, "AbCdEfGh"
    )


def test_a_token_binds_every_field_and_the_nonce():
    tokens = {
        sign_token(_appointment(), BRANCH, SECRET),
        sign_token(_appointment(id=43), BRANCH, SECRET),
        sign_token(_appointment(service="L"), BRANCH, SECRET),
        sign_token(_appointment(slot_start=SLOT + timedelta(minutes=30)), BRANCH, SECRET),
        sign_token(_appointment(nonce="ZZZZZZZZ"), BRANCH, SECRET),
        sign_token(_appointment(), "branch-2", SECRET),
    }
    assert len(tokens) == 6


@pytest.mark.parametrize(
    "text",
    [
        "https://bank.example/app?booking=ACDE3467",
        "hello",
        "",
        "   ",
        "C001",
        "BQA2.abcd.efgh",
        "bqa1.abcd.efgh",
        "WIFI:S:branch;T:WPA;P:secret;;",
        "BQA1",
    ],
)
def test_text_that_is_not_ours_is_not_an_appointment(text):
    assert refusal(lambda: read_token(text, BRANCH, SECRET)).code == "not_appointment"


def test_tampering_and_bad_signatures_are_forged():
    token = sign_token(_appointment(), BRANCH, SECRET)
    _, payload, mac = token.split(".")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    moved = raw.replace(b"|42|", b"|43|")
    tampered = base64.urlsafe_b64encode(moved).rstrip(b"=").decode()
    forged = [
        f"BQA1.{tampered}.{mac}",  # another booking under the old signature
        f"BQA1.{payload}.{mac[:-2]}AA",  # a changed signature
        f"BQA1.{payload}",  # truncated
        f"BQA1.{payload}.{mac}.extra",
        f"BQA1.{payload}=.{mac}",
        sign_token(_appointment(), BRANCH, OTHER_SECRET),  # signed with another secret
        "BQA1.!!!!.????????????????",
        "BQA1." + "A" * 600,
    ]
    for text in forged:
        assert refusal(lambda t=text: read_token(t, BRANCH, SECRET)).code == "appointment_forged"


def test_another_branchs_token_is_refused_as_such_before_its_signature():
    token = sign_token(_appointment(), "branch-2", OTHER_SECRET)
    refused = refusal(lambda: read_token(token, BRANCH, SECRET))
    assert refused.code == "appointment_wrong_branch"
    assert refused.details == {}  # nothing from an unverified payload is repeated


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=600), st.binary(max_size=300).map(lambda b: b.decode("latin-1"))))
def test_arbitrary_text_only_ever_yields_domain_refusals(text):
    for candidate in (
        text,
        "BQA1." + text,
        "BQA1." + text.replace(".", "") + ".AAAAAAAAAAAAAAAAAAAAAA",
    ):
        with pytest.raises(AppointmentRefused) as info:
            read_token(candidate, BRANCH, SECRET)
        assert info.value.code in TOKEN_REFUSALS


def test_booking_numbers_use_the_unambiguous_alphabet():
    number = booking_number_from(bytes(range(200, 208)))
    assert len(number) == 8 and set(number) <= set(BOOKING_ALPHABET)
    assert not set("01IOLSZB258") & set(BOOKING_ALPHABET)


# ---------------------------------------------------------------- booking rules


def test_booking_records_an_event_without_personal_data(branch, at):
    change = branch.run(
        lambda: branch.book_appointment(
            "wealth", SLOT, at(0), booking_number="ACDE3467", nonce="n0nce-01",
            customer_ref="ab" * 16,
        )
    )  # fmt: skip
    a = change.result
    assert a.state is AppointmentState.BOOKED and a.slot_end == SLOT + timedelta(minutes=30)
    assert branch.appointments[a.id] == a
    [event] = change.events
    assert event.kind == "appointment.booked"
    text = repr(event)
    assert "ACDE3467" not in text and "n0nce" not in text and "abab" not in text
    assert event.data["appointment"]["slot_start"] == SLOT.isoformat()


def test_a_naive_slot_is_branch_local_time(branch, at):
    a = book(branch, slot=datetime(2026, 11, 28, 14, 30))
    assert a.slot_start == SLOT


@pytest.mark.parametrize(
    ("slot", "code"),
    [
        (SLOT + timedelta(minutes=10), "slot_not_aligned"),
        (SLOT + timedelta(seconds=1), "slot_not_aligned"),
        (datetime(2026, 11, 28, 1, 30, tzinfo=UTC), "slot_in_past"),
        (SLOT + timedelta(days=200), "slot_too_far"),
    ],
)
def test_bad_slots_are_refused(branch, at, slot, code):
    assert refusal(lambda: book(branch, slot=slot)).code == code
    assert branch.appointments == {}


def test_capacity_defaults_to_the_counters_serving_the_business(make_branch):
    branch = make_branch()
    # Counters 1 and 4 (closed today: slots are for any day); counter 2's overflow skill
    # does not count.
    assert branch.slot_capacity("cash") == 2
    assert branch.slot_capacity("account") == 2
    assert branch.slot_capacity("wealth") == 1
    book(branch, service="account", number="AAAAAAAA")
    book(branch, service="account", number="CCCCCCCC")
    refused = refusal(lambda: book(branch, service="account", number="DDDDDDDD"))
    assert refused.code == "slot_full" and refused.details["slot_start"].endswith("+08:00")
    book(branch, service="account", slot=SLOT + timedelta(minutes=30), number="DDDDDDDD")


def test_configured_capacity_wins_and_cancelled_bookings_free_their_place(make_branch, at):
    branch = make_branch()
    branch.appointment_rules = AppointmentRules(capacity={"wealth": 1})
    first = book(branch)
    assert refusal(lambda: book(branch, number="CCCCCCCC")).code == "slot_full"
    branch.run(lambda: branch.cancel_appointment(first.id, at(1)))
    book(branch, number="CCCCCCCC")


def test_a_reschedule_keeps_its_own_place_and_rotates_the_nonce(branch, at):
    branch.appointment_rules = AppointmentRules(capacity={"wealth": 1})
    a = book(branch)
    later = SLOT + timedelta(hours=1)
    moved = branch.run(
        lambda: branch.reschedule_appointment(a.id, later, at(1), nonce="n0nce-02")
    ).result
    assert moved.slot_start == later and moved.nonce == "n0nce-02" and moved.id == a.id
    back = branch.run(lambda: branch.reschedule_appointment(a.id, SLOT, at(2), nonce="n3"))
    assert back.events[0].data["previous_slot"] == later.isoformat()


# ------------------------------------------------------------------- check-in


def test_on_time_check_in_issues_an_appointment_ticket(branch, at):
    a = book(branch)
    claims = claims_of(branch, a)
    checked, ticket = check_in(branch, a, SLOT + timedelta(minutes=5), claims, token="tok")
    assert checked.outcome is CheckInOutcome.ON_TIME
    assert checked.state is AppointmentState.CHECKED_IN and checked.ticket_id == ticket.id
    assert ticket.priority is PriorityClass.APPOINTMENT and ticket.appointment_slot == SLOT
    assert ticket.source is Source.APPOINTMENT and ticket.appointment_id == str(a.id)
    assert ticket.token == "tok"
    assert [e.kind for e in branch.run(lambda: branch.release_no_shows(at(600))).events] == []


def test_early_check_in_waits_as_regular_until_the_slot(branch, desk, at):
    branch.appointment_rules = AppointmentRules(capacity={"wealth": 3})
    regular = desk.issue("wealth", SLOT - timedelta(minutes=15))
    a = book(branch)
    checked, ticket = check_in(branch, a, SLOT - timedelta(minutes=10), claims_of(branch, a))
    assert checked.outcome is CheckInOutcome.EARLY
    assert ticket.priority is PriorityClass.APPOINTMENT and ticket.appointment_slot == SLOT
    before = branch.policy.queue_order(branch.waiting, SLOT - timedelta(minutes=1), {})
    assert [t.id for t in before] == [regular.id, ticket.id]
    after = branch.policy.queue_order(branch.waiting, SLOT + timedelta(minutes=1), {})
    assert [t.id for t in after] == [ticket.id, regular.id]
    assert check_in_window_edge(branch) is CheckInOutcome.EARLY


def check_in_window_edge(branch):
    """Exactly the early window before the slot is still early, not too early."""
    a = book(branch, number="CCCCCCCC")
    return check_in(branch, a, SLOT - timedelta(minutes=120), claims_of(branch, a))[0].outcome


def test_too_early_and_late_and_expired(branch, at):
    a = book(branch)
    claims = claims_of(branch, a)
    refused = refusal(lambda: check_in(branch, a, SLOT - timedelta(minutes=121), claims))
    assert refused.code == "appointment_too_early"
    assert refused.details == {
        "slot_start": "2026-11-28T14:30:00+08:00",
        "opens_at": "2026-11-28T12:30:00+08:00",
    }
    refused = refusal(lambda: check_in(branch, a, SLOT + timedelta(days=1), claims))
    assert refused.code == "appointment_expired"
    checked, ticket = check_in(branch, a, SLOT + timedelta(minutes=11), claims)
    assert checked.outcome is CheckInOutcome.LATE
    assert ticket.priority is PriorityClass.REGULAR


def test_used_cancelled_and_superseded_are_refused(branch, at):
    branch.appointment_rules = AppointmentRules(capacity={"wealth": 3})
    a = book(branch)
    old_claims = claims_of(branch, a)
    branch.run(lambda: branch.reschedule_appointment(a.id, SLOT, at(1), nonce="fresh-01"))
    refused = refusal(lambda: check_in(branch, a, SLOT, old_claims))
    assert refused.code == "appointment_superseded"
    _, ticket = check_in(branch, a, SLOT, claims_of(branch, branch.appointments[a.id]))
    refused = refusal(lambda: check_in(branch, a, SLOT, old_claims))
    assert refused.code == "appointment_used" and refused.details["ticket_number"] == ticket.number
    refused = refusal(lambda: check_in(branch, a, SLOT))  # by booking number as well
    assert refused.code == "appointment_used"
    b = book(branch, number="CCCCCCCC")
    branch.run(lambda: branch.cancel_appointment(b.id, at(2)))
    assert refusal(lambda: check_in(branch, b, SLOT)).code == "appointment_cancelled"
    assert refusal(lambda: branch.cancel_appointment(b.id, at(3))).code == "appointment_cancelled"


def test_unknown_bookings_and_numbers(branch, at):
    a = book(branch)
    assert branch.appointment_by_number("acde-3467") == a
    assert refusal(lambda: branch.appointment_by_number("ZZZZ9999")).code == "appointment_unknown"
    ghost = TokenClaims(BRANCH, 999, "wealth", SLOT, "n0nce-01")
    assert refusal(lambda: branch.check_in_appointment(999, SLOT, claims=ghost)).code == (
        "appointment_unknown"
    )
    old = TokenClaims(BRANCH, 999, "wealth", SLOT - timedelta(days=90), "n0nce-01")
    refused = refusal(lambda: branch.check_in_appointment(999, SLOT, claims=old))
    assert refused.code == "appointment_expired"


def test_no_shows_are_released_after_the_grace_and_may_still_come_late(branch, at):
    branch.appointment_rules = AppointmentRules(capacity={"wealth": 3})
    a = book(branch)
    assert branch.release_no_shows(SLOT + timedelta(minutes=10)).empty
    change = branch.run(lambda: branch.release_no_shows(SLOT + timedelta(minutes=11)))
    assert [e.kind for e in change.events] == ["appointment.released"]
    assert branch.appointments[a.id].state is AppointmentState.RELEASED
    assert branch.release_no_shows(SLOT + timedelta(minutes=12)).empty  # once only
    checked, ticket = check_in(branch, a, SLOT + timedelta(minutes=40), claims_of(branch, a))
    assert checked.outcome is CheckInOutcome.LATE and ticket.priority is PriorityClass.REGULAR
    b = book(branch, number="CCCCCCCC")
    branch.run(lambda: branch.release_no_shows(SLOT + timedelta(minutes=11)))
    refused = refusal(lambda: check_in(branch, b, SLOT + timedelta(days=1)))
    assert refused.code == "appointment_expired"
    assert refusal(lambda: branch.cancel_appointment(b.id, at(1))).code == "appointment_expired"


def test_a_refused_check_in_changes_nothing(branch, at, snap):
    a = book(branch)
    before = snap(branch)
    appointments = dict(branch.appointments)
    refusal(lambda: check_in(branch, a, SLOT - timedelta(hours=5), claims_of(branch, a)))
    assert snap(branch) == before and branch.appointments == appointments


def test_settled_bookings_are_forgotten_from_memory_only_when_old(branch, at):
    branch.appointment_rules = AppointmentRules(capacity={"wealth": 3})
    kept = book(branch)
    done = book(branch, number="CCCCCCCC")
    branch.run(lambda: branch.cancel_appointment(done.id, at(1)))
    branch.forget_old_appointments(SLOT + timedelta(days=41))
    assert set(branch.appointments) == {kept.id}  # still booked: kept to be released
    assert refusal(lambda: branch.appointment_by_number("CCCCCCCC")).code == "appointment_unknown"
    assert book(branch, number="DDDDDDDD").id == done.id + 1
