"""Idempotency keys on issue and call keys on call_next: a repeated request changes nothing."""

from __future__ import annotations

import pytest

from queue_server.domain import DomainError, InvalidState


def test_issuing_twice_with_the_same_key_is_refused(branch, desk, snap, at):
    first = desk.issue("cash", 0, idempotency_key="kiosk-1:0001")
    assert first.idempotency_key == "kiosk-1:0001"
    before = snap(branch)
    with pytest.raises(InvalidState) as refused:
        branch.run(lambda: branch.issue_ticket("cash", at(1), idempotency_key="kiosk-1:0001"))
    assert refused.value.code == "duplicate_key"
    assert snap(branch) == before
    # The same key is refused for another service too, and after the ticket is cancelled.
    with pytest.raises(InvalidState, match="idempotency"):
        branch.issue_ticket("account", at(1), idempotency_key="kiosk-1:0001")
    branch.run(lambda: branch.cancel_ticket(first.id, at(2)))
    with pytest.raises(InvalidState):
        branch.issue_ticket("cash", at(3), idempotency_key="kiosk-1:0001")


def test_different_keys_and_no_key_are_independent(desk):
    a = desk.issue("cash", 0, idempotency_key="k1")
    b = desk.issue("cash", 0, idempotency_key="k2")
    c = desk.issue("cash", 0)
    d = desk.issue("cash", 0)
    assert [t.number for t in (a, b, c, d)] == ["A001", "A002", "A003", "A004"]


def test_an_undelivered_decision_does_not_burn_the_key(branch, at):
    branch.issue_ticket("cash", at(0), idempotency_key="k")  # decided, never applied
    change = branch.run(lambda: branch.issue_ticket("cash", at(1), idempotency_key="k"))
    assert change.result.number == "A001"


def test_a_transferred_leg_does_not_inherit_the_key(branch, desk, at):
    desk.issue("cash", 0, idempotency_key="k")
    desk.call(1, 1)
    leg = branch.run(lambda: branch.transfer(1, at(2), to_service="account")).result
    assert leg.idempotency_key is None
    assert branch.idempotency == {"k": 1}


def test_a_call_key_is_used_once_per_counter(branch, desk, snap, at):
    desk.issue("cash", 0)
    desk.issue("cash", 1)
    called = desk.call(1, 2, call_key="press-1")
    assert called.call_key == "press-1"
    desk.serve(1, 3)
    desk.finish(1, 4)
    before = snap(branch)
    with pytest.raises(InvalidState) as refused:
        branch.run(lambda: branch.call_next(1, at(5), call_key="press-1"))
    assert refused.value.code == "duplicate_key"
    assert snap(branch) == before
    assert desk.call(1, 5, call_key="press-2") is not None


def test_call_keys_are_per_counter(branch, desk):
    desk.issue("cash", 0)
    desk.issue("account", 0)
    assert desk.call(1, 1, call_key="press-1") is not None
    assert desk.call(2, 1, call_key="press-1") is not None
    assert set(branch.call_keys) == {(1, "press-1"), (2, "press-1")}


def test_a_repeated_call_while_the_counter_is_busy_changes_nothing(branch, desk, snap, at):
    desk.issue("cash", 0)
    desk.issue("cash", 0)
    desk.call(1, 1, call_key="press-1")
    before = snap(branch)
    with pytest.raises(DomainError):
        branch.run(lambda: branch.call_next(1, at(1), call_key="press-1"))
    assert snap(branch) == before


def test_calls_without_a_key_are_never_deduplicated(desk):
    for minute in range(3):
        desk.issue("cash", minute)
    assert [desk.complete(1, 5).number for _ in range(3)] == ["A001", "A002", "A003"]
