"""Identification rules, bundles and the e-form flag in the pure domain core."""

from __future__ import annotations

from datetime import date

import pytest

from queue_server.domain import (
    Branch,
    BranchSettings,
    Bundle,
    Counter,
    CounterState,
    InvalidInput,
    PriorityClass,
    Service,
    Skill,
    Ticket,
    customer_ref,
    identify,
    is_valid_id_number,
    normalise_id_number,
    stronger_priority,
)
from queue_server.domain.customer import age_on, id_check_char

KEY = b"k" * 32
REG, CARE, VIP, APPT = (
    PriorityClass.REGULAR,
    PriorityClass.CARE,
    PriorityClass.VIP,
    PriorityClass.APPOINTMENT,
)


def make_id(birth: date, region: str = "110101", seq: str = "123") -> str:
    first17 = f"{region}{birth:%Y%m%d}{seq}"
    return first17 + id_check_char(first17)


def test_check_character_of_a_published_example():
    # The example number of GB 11643-1999's annex.
    assert is_valid_id_number("11010519491231002X")
    assert normalise_id_number("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "check digit"),
        ("11010519491231002", "18 characters"),
        ("01010519491231002X", "18 characters"),  # region digit 0
        ("91010519491231002X", "18 characters"),  # a foreigner's number
        ("11010519491331002X", "birth date"),  # month 13
        ("１10105194912310021", "18 characters"),  # a full-width digit
        ("", "18 characters"),
    ],
)
def test_bad_numbers_are_refused_without_quoting_them(number, reason):
    with pytest.raises(InvalidInput) as err:
        normalise_id_number(number)
    assert err.value.code == "bad_id_number" and reason in err.value.message
    if number:
        assert number not in err.value.message


def test_the_birth_date_must_match_the_number():
    number = make_id(date(1960, 2, 29))
    assert normalise_id_number(number, date(1960, 2, 29)) == number
    with pytest.raises(InvalidInput, match="birth date"):
        normalise_id_number(number, date(1960, 3, 1))


def test_customer_ref_is_keyed():
    number = make_id(date(1980, 1, 1))
    ref = customer_ref(KEY, number)
    assert len(ref) == 64 and number not in ref
    assert customer_ref(KEY, number) == ref
    assert customer_ref(b"j" * 32, number) != ref
    with pytest.raises(ValueError, match="key"):
        customer_ref(b"short", number)


def test_age_counts_completed_years():
    assert age_on(date(1966, 11, 27), date(2026, 11, 26)) == 59
    assert age_on(date(1966, 11, 27), date(2026, 11, 27)) == 60
    assert age_on(date(1964, 2, 29), date(2024, 2, 28)) == 59
    assert age_on(date(1964, 2, 29), date(2024, 2, 29)) == 60
    assert age_on(date(1964, 2, 29), date(2025, 3, 1)) == 61


@pytest.mark.parametrize(
    ("birth", "tier", "priority", "age"),
    [
        (date(1950, 1, 1), 0, CARE, 76),
        (date(1966, 11, 27), 0, CARE, 60),
        (date(1966, 11, 28), 0, REG, 59),
        (date(2000, 6, 30), 0, REG, 26),
        (date(1990, 1, 1), 2, VIP, 36),
        (date(1940, 1, 1), 1, VIP, 86),  # VIP and elderly: VIP's head start is no smaller
    ],
)
def test_identify_gives_care_by_age_and_vip_by_the_list(birth, tier, priority, age):
    found = identify("ref", birth, date(2026, 11, 27), tier, care_age=60)
    assert (found.priority, found.vip_tier, found.age) == (priority, tier, age)


def test_identify_uses_the_branch_care_age_and_refuses_unborn_customers():
    assert identify("r", date(1962, 1, 1), date(2026, 11, 27), 0, care_age=65).priority is REG
    with pytest.raises(InvalidInput) as err:
        identify("r", date(2027, 1, 1), date(2026, 11, 27), 0, care_age=60)
    assert err.value.code == "bad_birth_date"


@pytest.mark.parametrize(
    ("declared", "identified", "expected"),
    [
        ((REG, 0), (CARE, 0), (CARE, 0)),
        ((CARE, 0), (REG, 0), (CARE, 0)),
        ((CARE, 0), (VIP, 1), (VIP, 1)),
        ((VIP, 3), (VIP, 1), (VIP, 3)),
        ((VIP, 1), (VIP, 2), (VIP, 2)),
        ((VIP, 2), (CARE, 0), (VIP, 2)),
        ((APPT, 0), (VIP, 3), (APPT, 0)),
    ],
)
def test_the_stronger_priority_wins(declared, identified, expected):
    assert stronger_priority(*declared, *identified) == expected


def bundle_branch() -> Branch:
    services = [
        Service("A", "A", {"zh": "现金"}),
        Service("C", "C", {"zh": "开户"}, needs_form=True),
        Service("K", "K", {"zh": "银行卡"}, needs_form=True),
        Service("M", "M", {"zh": "手机银行"}),
    ]
    bundles = [
        Bundle("NEW", {"zh": "一站式开户", "en": "One-stop"}, "C", ("C", "K", "M")),
        Bundle("APP", {"zh": "手机银行"}, "A", ("M",)),
    ]
    counter = Counter(1, "1", state=CounterState.OPEN, staff_id="s1", skills=(Skill("C"),))
    return Branch(BranchSettings(), services, [counter], bundles=bundles)


def test_bundles_and_needs_form(at):
    branch = bundle_branch()
    assert branch.bundle("NEW").name("en") == "One-stop" and branch.bundle("APP").name("en")
    assert branch.needs_form("C") and not branch.needs_form("A")
    assert branch.needs_form("C", "NEW") and not branch.needs_form("A", "APP")
    with pytest.raises(InvalidInput) as err:
        branch.bundle("NOPE")
    assert err.value.code == "unknown_bundle"


def test_a_bundle_ticket_records_its_bundle_and_form_flag(at):
    branch = bundle_branch()
    ticket = branch.run(lambda: branch.issue_ticket("C", at(0), bundle="NEW", has_eform=True))
    assert ticket.result is not None
    issued = branch.tickets[ticket.result.id]
    assert (issued.service, issued.bundle, issued.has_eform) == ("C", "NEW", True)
    assert issued.number == "C001"


@pytest.mark.parametrize(
    ("service", "kwargs", "code"),
    [
        ("A", {"has_eform": True}, "eform_not_needed"),
        ("A", {"bundle": "APP", "has_eform": True}, "eform_not_needed"),
        ("A", {"bundle": "NEW"}, "bundle_service"),
        ("C", {"bundle": "NOPE"}, "unknown_bundle"),
    ],
)
def test_refused_bundle_and_form_requests_change_nothing(at, snap, service, kwargs, code):
    branch = bundle_branch()
    before = snap(branch)
    with pytest.raises(InvalidInput) as err:
        branch.issue_ticket(service, at(0), **kwargs)
    assert err.value.code == code
    assert snap(branch) == before


def test_a_transfer_keeps_the_bundle_and_the_form_flag(at):
    branch = bundle_branch()
    issued = branch.run(lambda: branch.issue_ticket("C", at(0), bundle="NEW", has_eform=True))
    assert issued.result is not None
    branch.run(lambda: branch.call_next(1, at(1)))
    leg = branch.run(lambda: branch.transfer(1, at(2), to_service="K")).result
    assert isinstance(leg, Ticket)
    assert (leg.service, leg.bundle, leg.has_eform) == ("K", "NEW", True)
