"""The ticket and counter state machine: every legal transition, and every illegal one refused.

A refused command raises a DomainError subclass with a stable code and changes nothing.
"""

from __future__ import annotations

import pytest

from queue_server.domain import (
    DomainError,
    InvalidInput,
    InvalidState,
    NotFound,
    PriorityClass,
    Skill,
    TicketState,
)

# --------------------------------------------------------------------------- legal


def test_waiting_called_serving_done_and_rated(branch, desk, at):
    t = desk.issue("cash", 0)
    assert t.state is TicketState.WAITING
    assert t.number == "A001"
    assert [w.id for w in branch.waiting] == [t.id]
    assert branch.active_ticket(1) is None

    called = desk.call(1, 1)
    assert called is not None and called.id == t.id
    assert called.state is TicketState.CALLED
    assert called.called_at == at(1)
    assert called.counter == 1
    assert called.staff_id == "s1"
    assert branch.tickets[t.id] == called
    assert branch.active_ticket(1) == called
    assert branch.waiting == []

    serving = desk.serve(1, 2)
    assert serving.state is TicketState.SERVING
    assert serving.serving_at == at(2)
    assert serving.called_at == at(1)
    assert branch.active_ticket(1) == serving

    done = desk.finish(1, 7)
    assert done.state is TicketState.DONE
    assert done.finished_at == at(7)
    assert done.state.is_final
    assert branch.active_ticket(1) is None

    rated = branch.run(lambda: branch.rate_ticket(t.id, 4, at(8))).result
    assert rated.rating == 4
    assert rated.state is TicketState.DONE
    assert branch.tickets[t.id].rating == 4

    kinds = [e.kind for e in desk.events] + ["ticket.rated"]
    assert kinds == [
        "ticket.issued",
        "ticket.called",
        "ticket.serving",
        "ticket.done",
        "ticket.rated",
    ]
    # The counter is free again and calls the next customer.
    nxt = desk.issue("cash", 9)
    assert desk.call(1, 9).id == nxt.id


@pytest.mark.parametrize("max_recalls", [0, 1, 3])
def test_recall_up_to_the_limit_then_refused_then_no_show(make_desk, snap, at, max_recalls):
    desk = make_desk(max_recalls=max_recalls)
    branch = desk.branch
    t = desk.issue("cash", 0)
    desk.call(1, 1)
    for n in range(1, max_recalls + 1):
        again = branch.run(lambda n=n: branch.recall(1, at(1 + n))).result
        assert again.id == t.id
        assert again.state is TicketState.CALLED
        assert again.recall_count == n
        assert again.called_at == at(1 + n)
        assert branch.active_ticket(1) == again

    before = snap(branch)
    with pytest.raises(InvalidState) as refused:
        branch.recall(1, at(50))
    assert refused.value.code == "recall_limit"
    assert snap(branch) == before

    gone = branch.run(lambda: branch.no_show(1, at(51))).result
    assert gone.state is TicketState.NO_SHOW
    assert gone.finished_at == at(51)
    assert gone.recall_count == max_recalls
    assert branch.active_ticket(1) is None


def test_default_settings_allow_three_recalls(branch, desk, at):
    desk.issue("cash", 0)
    desk.call(1, 1)
    for n in range(3):
        branch.run(lambda n=n: branch.recall(1, at(2 + n)))
    with pytest.raises(InvalidState, match="recalled 3 times"):
        branch.recall(1, at(9))


def test_called_to_no_show_frees_the_counter(branch, desk, at):
    t = desk.issue("cash", 0)
    desk.call(1, 1)
    gone = desk.run(lambda: branch.no_show(1, at(3))).result
    assert gone.id == t.id
    assert gone.state is TicketState.NO_SHOW
    assert gone.finished_at == at(3)
    assert branch.active_ticket(1) is None
    assert branch.waiting == []
    assert desk.events[-1].kind == "ticket.no_show"


def test_waiting_to_cancelled(branch, desk, at):
    t = desk.issue("cash", 0)
    gone = branch.run(lambda: branch.cancel_ticket(t.id, at(2))).result
    assert gone.state is TicketState.CANCELLED
    assert gone.finished_at == at(2)
    assert branch.waiting == []
    assert desk.call(1, 3) is None


def test_call_one_named_customer_out_of_turn(branch, desk, at):
    first = desk.issue("cash", 0)
    second = desk.issue("cash", 1)
    change = branch.run(lambda: branch.call_ticket(1, second.id, at(2)))
    assert change.result.id == second.id
    assert change.result.state is TicketState.CALLED
    assert change.events[0].data == {"out_of_turn": True}
    assert [w.id for w in branch.waiting] == [first.id]


@pytest.mark.parametrize("from_state", ["called", "serving"])
@pytest.mark.parametrize(
    ("to_service", "to_counter"),
    [("account", None), (None, 2), ("wealth", 3)],
    ids=["to-service", "to-counter", "to-both"],
)
def test_transfer_ends_the_leg_and_queues_a_new_one(
    branch, desk, at, from_state, to_service, to_counter
):
    t = desk.issue("cash", 0, PriorityClass.VIP, vip_tier=2, customer_ref="h:abc", token="tok")
    desk.call(1, 1)
    if from_state == "serving":
        desk.serve(1, 2)
    old = branch.tickets[t.id]
    change = branch.run(
        lambda: branch.transfer(
            1, at(5), to_service=to_service, to_counter=to_counter, note="needs a card"
        )
    )
    ended = branch.tickets[t.id]
    leg = change.result
    assert ended.state is TicketState.TRANSFERRED
    assert ended.finished_at == at(5)
    assert ended.counter == 1

    assert leg.id != t.id
    assert leg.id == branch.next_ticket_id - 1
    assert branch.tickets[leg.id] == leg
    assert leg.state is TicketState.WAITING
    assert leg.number == t.number
    assert leg.arrived_at == t.arrived_at == at(0)
    assert leg.issued_at == at(5)
    assert leg.priority is PriorityClass.VIP
    assert leg.vip_tier == 2
    assert leg.visit_id == t.id
    assert leg.leg == old.leg + 1 == 1
    assert leg.previous_id == t.id
    assert leg.service == (to_service or "cash")
    assert leg.target_counter == to_counter
    assert leg.note == "needs a card"
    assert leg.business_day == t.business_day
    assert leg.customer_ref == "h:abc"
    assert leg.token == "tok"
    assert (leg.counter, leg.called_at, leg.serving_at, leg.finished_at) == (None,) * 4
    assert (leg.recall_count, leg.call_key, leg.staff_id, leg.rating) == (0, None, None, None)
    assert leg.idempotency_key is None

    assert branch.active_ticket(1) is None
    assert [w.id for w in branch.waiting] == [leg.id]
    kinds = [(e.kind, e.ticket.id, dict(e.data)) for e in change.events]
    assert kinds == [
        ("ticket.transferred", t.id, {"to_ticket": leg.id}),
        ("ticket.requeued", leg.id, {"from_ticket": t.id}),
    ]
    assert branch.open_ticket_by_number(t.number) == leg


def test_transfer_chain_keeps_the_visit(branch, desk, at):
    t = desk.issue("cash", 0)
    desk.call(1, 1)
    leg1 = branch.run(lambda: branch.transfer(1, at(3), to_service="account")).result
    assert desk.call(2, 4).id == leg1.id
    desk.serve(2, 5)
    leg2 = branch.run(lambda: branch.transfer(2, at(9), to_service="wealth")).result
    assert (leg2.leg, leg2.visit_id, leg2.previous_id) == (2, t.id, leg1.id)
    assert leg2.number == "A001"
    assert leg2.arrived_at == at(0)
    assert desk.call(3, 10).id == leg2.id
    desk.serve(3, 10)
    assert desk.finish(3, 20).state is TicketState.DONE


def test_transferred_customer_keeps_their_arrival_in_the_new_queue(branch, desk, at):
    t = desk.issue("cash", 0)
    newcomer = desk.issue("account", 2)
    desk.call(1, 3)
    leg = branch.run(lambda: branch.transfer(1, at(10), to_service="account")).result
    assert desk.call(2, 10).id == leg.id != newcomer.id
    assert leg.visit_id == t.id


def test_transfer_to_a_counter_is_called_only_by_that_counter(branch, desk, at):
    desk.issue("cash", 0)
    desk.call(1, 1)
    leg = branch.run(lambda: branch.transfer(1, at(2), to_counter=3)).result
    # Counter 1 serves cash but the leg is reserved for counter 3 (which has no cash skill).
    assert desk.call(1, 3) is None
    assert desk.call(3, 3).id == leg.id


def test_pause_and_reopen_a_counter(branch, at):
    paused = branch.run(lambda: branch.pause_counter(1, at(0), reason="lunch")).result
    assert paused.pause_reason == "lunch"
    reopened = branch.run(lambda: branch.open_counter(1, at(1))).result
    assert reopened.pause_reason == ""
    assert reopened.state.value == "open"


def test_pause_while_serving_lets_the_teller_finish(branch, desk, at):
    desk.issue("cash", 0)
    desk.call(1, 1)
    desk.serve(1, 2)
    branch.run(lambda: branch.pause_counter(1, at(3), reason="break after this one"))
    assert desk.finish(1, 4).state is TicketState.DONE
    with pytest.raises(InvalidState) as refused:
        branch.call_next(1, at(5))
    assert refused.value.code == "counter_not_open"


def test_sign_in_and_out(branch, at):
    opened = branch.run(lambda: branch.sign_in(4, "s4", at(0))).result
    assert (opened.state.value, opened.staff_id) == ("open", "s4")
    closed = branch.run(lambda: branch.sign_out(4, at(1))).result
    assert (closed.state.value, closed.staff_id) == ("closed", None)


def test_set_skills_applies_from_the_next_call(branch, desk, at):
    b = desk.issue("account", 0)
    assert desk.call(1, 1) is None
    branch.run(lambda: branch.set_skills(1, [Skill("cash"), Skill("account", 0.5)], at(2)))
    assert desk.call(1, 3).id == b.id


# ------------------------------------------------------------------------- illegal
# Each setup brings the branch to a state and returns the ticket ids by name:
# "t" is the ticket under test (issued first), "u" a second cash customer still waiting.


def _waiting(desk):
    t = desk.issue("cash", 0)
    u = desk.issue("cash", 0.5)
    return {"t": t.id, "u": u.id}


def _called(desk):
    ids = _waiting(desk)
    assert desk.call(1, 1).id == ids["t"]
    return ids


def _serving(desk):
    ids = _called(desk)
    desk.serve(1, 2)
    return ids


def _done(desk):
    ids = _serving(desk)
    desk.finish(1, 3)
    return ids


def _rated(desk):
    ids = _done(desk)
    desk.run(
        lambda: desk.branch.rate_ticket(ids["t"], 3, desk.branch.tickets[ids["t"]].finished_at)
    )
    return ids


def _no_show(desk):
    ids = _called(desk)
    desk.run(lambda: desk.branch.no_show(1, desk.branch.tickets[ids["t"]].called_at))
    return ids


def _cancelled(desk):
    ids = _waiting(desk)
    desk.run(lambda: desk.branch.cancel_ticket(ids["t"], desk.branch.tickets[ids["t"]].issued_at))
    return ids


def _transferred(desk):
    ids = _called(desk)
    leg = desk.run(
        lambda: desk.branch.transfer(
            1, desk.branch.tickets[ids["t"]].called_at, to_service="account"
        )
    ).result
    return {**ids, "leg": leg.id}


def _paused(desk):
    ids = _waiting(desk)
    desk.run(lambda: desk.branch.pause_counter(1, desk.branch.tickets[ids["t"]].issued_at))
    return ids


def _closed(desk):
    ids = _waiting(desk)
    desk.run(lambda: desk.branch.close_counter(1, desk.branch.tickets[ids["t"]].issued_at))
    return ids


ILLEGAL = [
    # name, setup, command(branch, ids, at), exception type, code
    # -- nothing at the counter
    ("start serving with nobody called", _waiting, lambda b, i, at: b.start_serving(1, at(9)),
     InvalidState, "no_customer"),
    ("finish with nobody at the counter", _waiting, lambda b, i, at: b.finish(1, at(9)),
     InvalidState, "no_customer"),
    ("recall with nobody called", _waiting, lambda b, i, at: b.recall(1, at(9)),
     InvalidState, "no_customer"),
    ("no-show with nobody called", _waiting, lambda b, i, at: b.no_show(1, at(9)),
     InvalidState, "no_customer"),
    ("transfer with nobody at the counter", _waiting,
     lambda b, i, at: b.transfer(1, at(9), to_service="account"), InvalidState, "no_customer"),
    ("rate a waiting ticket", _waiting, lambda b, i, at: b.rate_ticket(i["t"], 4, at(9)),
     InvalidState, "invalid_state"),
    # -- called
    ("finish while called", _called, lambda b, i, at: b.finish(1, at(9)),
     InvalidState, "invalid_state"),
    ("cancel a called ticket", _called, lambda b, i, at: b.cancel_ticket(i["t"], at(9)),
     InvalidState, "invalid_state"),
    ("rate a called ticket", _called, lambda b, i, at: b.rate_ticket(i["t"], 4, at(9)),
     InvalidState, "invalid_state"),
    ("call next while the counter has a called ticket", _called,
     lambda b, i, at: b.call_next(1, at(9)), InvalidState, "counter_busy"),
    ("call a named customer while busy", _called,
     lambda b, i, at: b.call_ticket(1, i["u"], at(9)), InvalidState, "counter_busy"),
    ("call an already called ticket at another counter", _called,
     lambda b, i, at: b.call_ticket(2, i["t"], at(9)), InvalidState, "invalid_state"),
    ("close a counter with a called ticket", _called, lambda b, i, at: b.close_counter(1, at(9)),
     InvalidState, "counter_busy"),
    ("sign out a counter with a called ticket", _called, lambda b, i, at: b.sign_out(1, at(9)),
     InvalidState, "counter_busy"),
    ("start serving a stale ticket id", _called,
     lambda b, i, at: b.start_serving(1, at(9), ticket_id=i["u"]), InvalidState, "stale_ticket"),
    ("no-show a stale ticket id", _called,
     lambda b, i, at: b.no_show(1, at(9), ticket_id=i["u"]), InvalidState, "stale_ticket"),
    ("start serving at a counter that did not call", _called,
     lambda b, i, at: b.start_serving(2, at(9)), InvalidState, "no_customer"),
    ("transfer without a target", _called, lambda b, i, at: b.transfer(1, at(9)),
     InvalidInput, "transfer_target"),
    ("transfer to the same counter", _called, lambda b, i, at: b.transfer(1, at(9), to_counter=1),
     InvalidInput, "transfer_target"),
    ("transfer with a note over 500 characters", _called,
     lambda b, i, at: b.transfer(1, at(9), to_service="account", note="x" * 501),
     InvalidInput, "note_too_long"),
    # -- serving
    ("start serving while serving", _serving, lambda b, i, at: b.start_serving(1, at(9)),
     InvalidState, "invalid_state"),
    ("recall a serving ticket", _serving, lambda b, i, at: b.recall(1, at(9)),
     InvalidState, "invalid_state"),
    ("no-show a serving ticket", _serving, lambda b, i, at: b.no_show(1, at(9)),
     InvalidState, "invalid_state"),
    ("cancel a serving ticket", _serving, lambda b, i, at: b.cancel_ticket(i["t"], at(9)),
     InvalidState, "invalid_state"),
    ("rate a serving ticket", _serving, lambda b, i, at: b.rate_ticket(i["t"], 4, at(9)),
     InvalidState, "invalid_state"),
    ("call next while serving", _serving, lambda b, i, at: b.call_next(1, at(9)),
     InvalidState, "counter_busy"),
    ("close a counter while serving", _serving, lambda b, i, at: b.close_counter(1, at(9)),
     InvalidState, "counter_busy"),
    ("sign out while serving", _serving, lambda b, i, at: b.sign_out(1, at(9)),
     InvalidState, "counter_busy"),
    ("finish a stale ticket id", _serving, lambda b, i, at: b.finish(1, at(9), ticket_id=i["u"]),
     InvalidState, "stale_ticket"),
    # -- done
    ("finish a done ticket again", _done, lambda b, i, at: b.finish(1, at(9)),
     InvalidState, "no_customer"),
    ("recall a done ticket", _done, lambda b, i, at: b.recall(1, at(9)),
     InvalidState, "no_customer"),
    ("cancel a done ticket", _done, lambda b, i, at: b.cancel_ticket(i["t"], at(9)),
     InvalidState, "invalid_state"),
    ("call a done ticket", _done, lambda b, i, at: b.call_ticket(1, i["t"], at(9)),
     InvalidState, "invalid_state"),
    ("rate below the scale", _done, lambda b, i, at: b.rate_ticket(i["t"], 0, at(9)),
     InvalidInput, "invalid_rating"),
    ("rate above the scale", _done, lambda b, i, at: b.rate_ticket(i["t"], 5, at(9)),
     InvalidInput, "invalid_rating"),
    ("rate twice", _rated, lambda b, i, at: b.rate_ticket(i["t"], 4, at(9)),
     InvalidState, "already_rated"),
    # -- no-show, cancelled, transferred
    ("cancel a no-show", _no_show, lambda b, i, at: b.cancel_ticket(i["t"], at(9)),
     InvalidState, "invalid_state"),
    ("rate a no-show", _no_show, lambda b, i, at: b.rate_ticket(i["t"], 4, at(9)),
     InvalidState, "invalid_state"),
    ("call a no-show", _no_show, lambda b, i, at: b.call_ticket(1, i["t"], at(9)),
     InvalidState, "invalid_state"),
    ("cancel twice", _cancelled, lambda b, i, at: b.cancel_ticket(i["t"], at(9)),
     InvalidState, "invalid_state"),
    ("call a cancelled ticket", _cancelled, lambda b, i, at: b.call_ticket(1, i["t"], at(9)),
     InvalidState, "invalid_state"),
    ("rate a cancelled ticket", _cancelled, lambda b, i, at: b.rate_ticket(i["t"], 4, at(9)),
     InvalidState, "invalid_state"),
    ("cancel the ended leg of a transfer", _transferred,
     lambda b, i, at: b.cancel_ticket(i["t"], at(9)), InvalidState, "invalid_state"),
    ("call the ended leg of a transfer", _transferred,
     lambda b, i, at: b.call_ticket(2, i["t"], at(9)), InvalidState, "invalid_state"),
    ("rate the ended leg of a transfer", _transferred,
     lambda b, i, at: b.rate_ticket(i["t"], 4, at(9)), InvalidState, "invalid_state"),
    ("rate the new waiting leg", _transferred,
     lambda b, i, at: b.rate_ticket(i["leg"], 4, at(9)), InvalidState, "invalid_state"),
    ("transfer again from the freed counter", _transferred,
     lambda b, i, at: b.transfer(1, at(9), to_service="wealth"), InvalidState, "no_customer"),
    # -- counter not open
    ("call next at a paused counter", _paused, lambda b, i, at: b.call_next(1, at(9)),
     InvalidState, "counter_not_open"),
    ("call a named customer at a paused counter", _paused,
     lambda b, i, at: b.call_ticket(1, i["t"], at(9)), InvalidState, "counter_not_open"),
    ("call next at a closed counter", _closed, lambda b, i, at: b.call_next(1, at(9)),
     InvalidState, "counter_not_open"),
    ("call a named customer at a closed counter", _closed,
     lambda b, i, at: b.call_ticket(1, i["t"], at(9)), InvalidState, "counter_not_open"),
    ("call next at a never-opened counter", _waiting, lambda b, i, at: b.call_next(4, at(9)),
     InvalidState, "counter_not_open"),
    ("pause a closed counter", _closed, lambda b, i, at: b.pause_counter(1, at(9)),
     InvalidState, "counter_closed"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("setup", "command", "error", "code"),
    [pytest.param(*row[1:], id=row[0]) for row in ILLEGAL],
)
def test_illegal_command_is_refused_and_changes_nothing(
    branch, desk, snap, at, setup, command, error, code
):
    ids = setup(desk)
    before = snap(branch)
    with pytest.raises(DomainError) as refused:
        branch.run(lambda: command(branch, ids, at))
    assert type(refused.value) is error
    assert refused.value.code == code
    assert refused.value.message
    assert snap(branch) == before


def test_every_state_has_an_illegal_row():
    setups = {row[1] for row in ILLEGAL}
    assert {_waiting, _called, _serving, _done, _rated, _no_show, _cancelled, _transferred} <= (
        setups
    )


def test_errors_carry_codes_not_http_statuses():
    # The API's table maps classes to statuses (tests/server/test_errors.py).
    assert not any(hasattr(cls, "status") for cls in (DomainError, InvalidState, NotFound))
    assert (InvalidState.code, InvalidInput.code, NotFound.code) == (
        "invalid_state",
        "invalid_input",
        "not_found",
    )
    assert issubclass(InvalidState, DomainError) and issubclass(NotFound, DomainError)
    assert DomainError("x", code="custom").code == "custom"
    assert InvalidState("x").code == "invalid_state"
