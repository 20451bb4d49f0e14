"""Input validation: unknown things are NotFound, bad values InvalidInput; nothing changes."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from queue_server.domain import (
    DomainError,
    InvalidInput,
    InvalidState,
    NotFound,
    PriorityClass,
    Skill,
    Source,
    TicketState,
)


@pytest.fixture
def busy(desk):
    """Ticket 1 called at counter 1, ticket 2 waiting."""
    desk.issue("cash", 0)
    desk.issue("cash", 0)
    desk.call(1, 1)
    return desk.branch


NOT_FOUND = [
    ("issue for an unknown service", lambda b, at: b.issue_ticket("loans", at(2)),
     "unknown_service"),
    ("call next at an unknown counter", lambda b, at: b.call_next(9, at(2)), "unknown_counter"),
    ("call a ticket at an unknown counter", lambda b, at: b.call_ticket(9, 2, at(2)),
     "unknown_counter"),
    ("call an unknown ticket", lambda b, at: b.call_ticket(3, 99, at(2)), "unknown_ticket"),
    ("cancel an unknown ticket", lambda b, at: b.cancel_ticket(99, at(2)), "unknown_ticket"),
    ("rate an unknown ticket", lambda b, at: b.rate_ticket(99, 4, at(2)), "unknown_ticket"),
    ("recall at an unknown counter", lambda b, at: b.recall(9, at(2)), "unknown_counter"),
    ("start at an unknown counter", lambda b, at: b.start_serving(9, at(2)), "unknown_counter"),
    ("finish at an unknown counter", lambda b, at: b.finish(9, at(2)), "unknown_counter"),
    ("no-show at an unknown counter", lambda b, at: b.no_show(9, at(2)), "unknown_counter"),
    ("transfer from an unknown counter", lambda b, at: b.transfer(9, at(2), to_service="cash"),
     "unknown_counter"),
    ("transfer to an unknown service", lambda b, at: b.transfer(1, at(2), to_service="loans"),
     "unknown_service"),
    ("transfer to an unknown counter", lambda b, at: b.transfer(1, at(2), to_counter=9),
     "unknown_counter"),
    ("sign in at an unknown counter", lambda b, at: b.sign_in(9, "s9", at(2)), "unknown_counter"),
    ("sign out an unknown counter", lambda b, at: b.sign_out(9, at(2)), "unknown_counter"),
    ("open an unknown counter", lambda b, at: b.open_counter(9, at(2)), "unknown_counter"),
    ("pause an unknown counter", lambda b, at: b.pause_counter(9, at(2)), "unknown_counter"),
    ("close an unknown counter", lambda b, at: b.close_counter(9, at(2)), "unknown_counter"),
    ("skills of an unknown counter", lambda b, at: b.set_skills(9, [Skill("cash")], at(2)),
     "unknown_counter"),
    ("skill for an unknown service", lambda b, at: b.set_skills(3, [Skill("loans")], at(2)),
     "unknown_service"),
    ("update an unknown service", lambda b, at: b.update_service("loans", at(2), sort=1),
     "unknown_service"),
    ("open ticket by an unknown number", lambda b, at: b.open_ticket_by_number("Z001"),
     "unknown_ticket"),
    ("look up an unknown ticket", lambda b, at: b.ticket(99), "unknown_ticket"),
    ("look up an unknown counter", lambda b, at: b.counter(99), "unknown_counter"),
    ("look up an unknown service", lambda b, at: b.service("loans"), "unknown_service"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "code"), [pytest.param(c, code, id=n) for n, c, code in NOT_FOUND]
)
def test_unknown_things_are_not_found(busy, snap, at, command, code):
    before = snap(busy)
    with pytest.raises(NotFound) as refused:
        command(busy, at)
    assert refused.value.code == code
    assert snap(busy) == before


INVALID = [
    # -- issue
    ("VIP without a tier", lambda b, at: b.issue_ticket("cash", at(2), priority=PriorityClass.VIP),
     InvalidInput, "invalid_vip_tier"),
    ("VIP tier 4", lambda b, at: b.issue_ticket("cash", at(2), priority=PriorityClass.VIP,
                                                  vip_tier=4), InvalidInput, "invalid_vip_tier"),
    ("VIP tier -1", lambda b, at: b.issue_ticket("cash", at(2), priority=PriorityClass.VIP,
                                                   vip_tier=-1), InvalidInput, "invalid_vip_tier"),
    ("regular with a tier", lambda b, at: b.issue_ticket("cash", at(2), vip_tier=1),
     InvalidInput, "invalid_vip_tier"),
    ("care with a tier", lambda b, at: b.issue_ticket("cash", at(2), priority=PriorityClass.CARE,
                                                        vip_tier=2), InvalidInput,
     "invalid_vip_tier"),
    ("appointment with a tier", lambda b, at: b.issue_ticket(
        "cash", at(2), priority=PriorityClass.APPOINTMENT, appointment_slot=at(2), vip_tier=1),
     InvalidInput, "invalid_vip_tier"),
    ("appointment without a slot", lambda b, at: b.issue_ticket(
        "cash", at(2), priority=PriorityClass.APPOINTMENT, appointment_id="AP-1"),
     InvalidInput, "missing_slot"),
    # -- skills
    ("no skills at all", lambda b, at: b.set_skills(3, [], at(2)), InvalidInput, "no_skills"),
    ("skill listed twice", lambda b, at: b.set_skills(
        3, [Skill("cash"), Skill("wealth"), Skill("cash", overflow=True)], at(2)),
     InvalidInput, "duplicate_skill"),
    ("skill weight 0", lambda b, at: b.set_skills(3, [Skill("cash", 0)], at(2)),
     InvalidInput, "invalid_weight"),
    ("negative skill weight", lambda b, at: b.set_skills(3, [Skill("cash", -1)], at(2)),
     InvalidInput, "invalid_weight"),
    ("skill weight over 10", lambda b, at: b.set_skills(3, [Skill("cash", 10.01)], at(2)),
     InvalidInput, "invalid_weight"),
    ("skill weight NaN", lambda b, at: b.set_skills(3, [Skill("cash", math.nan)], at(2)),
     InvalidInput, "invalid_weight"),
    ("skill weight infinite", lambda b, at: b.set_skills(3, [Skill("cash", math.inf)], at(2)),
     InvalidInput, "invalid_weight"),
    # -- services
    ("change a service's prefix", lambda b, at: b.update_service("cash", at(2), prefix="Z"),
     InvalidInput, "invalid_field"),
    ("an unknown service field", lambda b, at: b.update_service("cash", at(2), colour="red"),
     InvalidInput, "invalid_field"),
    ("zero target wait", lambda b, at: b.update_service("cash", at(2), target_wait_s=0),
     InvalidInput, "invalid_field"),
    ("target wait over a day", lambda b, at: b.update_service("cash", at(2), target_wait_s=86_401),
     InvalidInput, "invalid_field"),
    ("negative mean service", lambda b, at: b.update_service("cash", at(2), mean_service_s=-5),
     InvalidInput, "invalid_field"),
    # -- staff and counters
    ("empty staff id", lambda b, at: b.sign_in(3, "", at(2)), InvalidInput, "invalid_staff_id"),
    ("staff id over 64", lambda b, at: b.sign_in(3, "x" * 65, at(2)), InvalidInput,
     "invalid_staff_id"),
    ("staff signed in elsewhere", lambda b, at: b.sign_in(4, "s1", at(2)), InvalidState,
     "staff_elsewhere"),
    ("pause reason over 200", lambda b, at: b.pause_counter(3, at(2), reason="x" * 201),
     InvalidInput, "reason_too_long"),
    ("rating as text", lambda b, at: b.rate_ticket(1, "4", at(2)), InvalidInput,
     "invalid_rating"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "error", "code"), [pytest.param(c, e, code, id=n) for n, c, e, code in INVALID]
)
def test_invalid_input_is_refused_and_changes_nothing(busy, snap, at, command, error, code):
    before = snap(busy)
    with pytest.raises(DomainError) as refused:
        busy.run(lambda: command(busy, at))
    assert type(refused.value) is error
    assert refused.value.code == code
    assert snap(busy) == before


@pytest.mark.parametrize("tier", [1, 2, 3])
def test_vip_tiers_one_to_three(desk, tier):
    t = desk.issue("cash", 0, PriorityClass.VIP, vip_tier=tier)
    assert (t.priority, t.vip_tier) == (PriorityClass.VIP, tier)


def test_an_appointment_ticket_keeps_its_slot_and_reference(desk, at):
    t = desk.issue(
        "cash",
        0,
        PriorityClass.APPOINTMENT,
        appointment_id="AP-7",
        appointment_slot=at(15),
        source=Source.APPOINTMENT,
        customer_ref="sha256:ab12",
    )
    assert (t.appointment_id, t.appointment_slot, t.source) == ("AP-7", at(15), Source.APPOINTMENT)
    assert t.customer_ref == "sha256:ab12"


def test_a_disabled_service_issues_no_tickets_but_keeps_its_queue(branch, desk, snap, at):
    waiting = desk.issue("cash", 0)
    branch.run(lambda: branch.update_service("cash", at(1), enabled=False))
    before = snap(branch)
    with pytest.raises(InvalidState) as refused:
        branch.issue_ticket("cash", at(2))
    assert refused.value.code == "service_disabled"
    assert snap(branch) == before
    assert desk.call(1, 3).id == waiting.id  # who is already queueing is still served
    branch.run(lambda: branch.update_service("cash", at(4), enabled=True))
    assert desk.issue("cash", 5).number == "A002"


def test_valid_skills_are_kept_in_order(branch, at):
    skills = [Skill("wealth", 10), Skill("cash", 0.01), Skill("account", 1, overflow=True)]
    counter = branch.run(lambda: branch.set_skills(3, skills, at(0))).result
    assert counter.skills == tuple(skills)
    assert branch.counters[3].skills == tuple(skills)
    assert branch.counters[3].skill_for("account").overflow


def test_a_valid_service_update(branch, at):
    updated = branch.run(
        lambda: branch.update_service(
            "cash", at(0), target_wait_s=86_400, mean_service_s=1, fast_lane=True, visible=False
        )
    ).result
    assert (updated.target_wait_s, updated.mean_service_s) == (86_400, 1)
    assert updated.fast_lane and not updated.visible
    assert updated.prefix == "A"
    assert branch.services["cash"] == updated


def test_a_finished_number_is_no_longer_open(branch, desk, at):
    desk.issue("cash", 0)
    assert branch.open_ticket_by_number("A001").id == 1
    desk.complete(1, 1)
    with pytest.raises(NotFound) as refused:
        branch.open_ticket_by_number("A001")
    assert refused.value.code == "unknown_ticket"


def test_signing_in_again_at_the_same_counter_is_allowed(branch, at):
    again = branch.run(lambda: branch.sign_in(1, "s1", at(0))).result
    assert again.staff_id == "s1"


def test_a_signed_out_teller_can_sign_in_elsewhere(branch, at):
    branch.run(lambda: branch.sign_out(3, at(0)))
    moved = branch.run(lambda: branch.sign_in(4, "s3", at(1))).result
    assert (moved.number, moved.staff_id, moved.state.value) == (4, "s3", "open")


def test_pause_reason_at_the_limit(branch, at):
    paused = branch.run(lambda: branch.pause_counter(3, at(0), reason="x" * 200)).result
    assert len(paused.pause_reason) == 200


def test_transfer_note_at_the_limit(busy, at):
    leg = busy.run(lambda: busy.transfer(1, at(2), to_service="account", note="n" * 500)).result
    assert len(leg.note) == 500
    assert busy.tickets[1].state is TicketState.TRANSFERRED


def test_times_are_kept_as_given(desk, at):
    t = desk.issue("cash", 0)
    assert t.arrived_at == t.issued_at == at(0)
    assert t.arrived_at.utcoffset() == timedelta(0)
