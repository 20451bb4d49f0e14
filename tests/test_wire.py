"""The wire contract: one list of final states, and event kinds the server really emits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

import wire
from queue_server.domain import (
    Branch,
    BranchSettings,
    Counter,
    CounterState,
    Service,
    Skill,
    TicketState,
)
from queue_server.domain.model import FINAL_STATES
from wire import shipping

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 10:00 in the branch's time zone


def test_the_domain_final_states_are_the_wire_ones():
    assert {s.value for s in FINAL_STATES} == wire.FINAL_STATES
    assert all(TicketState(s).is_final for s in wire.FINAL_STATES)
    assert not TicketState.WAITING.is_final and not TicketState.SERVING.is_final


def test_a_served_customer_emits_only_known_kinds():
    branch = Branch(
        BranchSettings(),
        services=[Service("A", "A", {"en": "Cash"})],
        counters=[Counter(1, "Window 1", state=CounterState.CLOSED, skills=(Skill("A"),))],
    )
    kinds: list[str] = []
    for decide in (
        lambda: branch.sign_in(1, "s1", NOW),
        lambda: branch.issue_ticket("A", NOW),
        lambda: branch.call_next(1, NOW),
        lambda: branch.start_serving(1, NOW),
        lambda: branch.finish(1, NOW),
    ):
        change = decide()
        branch.apply(change)
        kinds += [e.kind for e in change.events]
    assert kinds == [
        wire.EventKind.COUNTER_SIGNED_IN,
        wire.EventKind.TICKET_ISSUED,
        wire.EventKind.TICKET_CALLED,
        wire.EventKind.TICKET_SERVING,
        wire.EventKind.TICKET_DONE,
    ]
    assert all(isinstance(k, wire.EventKind) for k in kinds)


def test_the_wire_ticket_is_the_row_without_its_private_columns():
    from queue_server.storage.db import TICKET_COLUMNS
    from queue_server.storage.rows import ticket_from_row, ticket_to_row
    from queue_server.wire_encode import ticket_wire

    branch = Branch(BranchSettings(), services=[Service("A", "A", {"en": "Cash"})])
    change = branch.issue_ticket("A", NOW, idempotency_key="k1", token="secret")
    ticket = change.tickets[0]
    row, sent = ticket_to_row(ticket), ticket_wire(ticket)
    assert list(row) == TICKET_COLUMNS and ticket_from_row(row) == ticket
    private = {"customer_ref", "idempotency_key", "request_hash", "call_key", "token"}
    assert set(sent) == set(row) - private == set(wire.TicketWire.__annotations__)
    assert "secret" not in str(sent) and "k1" not in str(sent)


def test_the_wait_shown_rounds_up_to_ten_minutes_past_an_hour_and_caps_at_two_hours():
    from wire.waits import shown_wait

    assert shown_wait(None)["wait_min"] is None
    assert shown_wait(0.0)["wait_min"] == 0
    assert shown_wait(61.0, 30.0, 400.0) == {
        "wait_min": 2,
        "wait_low_min": 0,
        "wait_high_min": 7,
        "wait_capped": False,
    }
    assert shown_wait(120.0, 120.0, 120.0)["wait_low_min"] is None  # no range to tell
    assert shown_wait(64 * 60.0)["wait_min"] == 70
    # Far waits: "over two hours", never "约 1063 分钟"; a range reaching past two hours
    # is left out rather than promised.
    assert shown_wait(1063 * 60.0) == {
        "wait_min": 120,
        "wait_low_min": None,
        "wait_high_min": None,
        "wait_capped": True,
    }
    assert shown_wait(115 * 60.0)["wait_capped"]  # shown as 120: over two hours
    ranged = shown_wait(50 * 60.0, 30 * 60.0, 150 * 60.0)
    assert ranged["wait_min"] == 50 and ranged["wait_high_min"] is None


def test_an_endless_wait_or_range_is_shown_capped_not_an_error():
    """Some simulated futures never reach a customer (a counter closing, a business nobody
    serves later): the prediction's p90, or even its median, is then infinite. The counter
    app's queue view answered 422 on it (OverflowError in the rounding)."""
    from wire.waits import shown_wait

    inf = float("inf")
    assert shown_wait(300.0, 60.0, inf) == {
        "wait_min": 5,
        "wait_low_min": None,
        "wait_high_min": None,
        "wait_capped": False,
    }
    assert shown_wait(inf, inf, inf) == {
        "wait_min": 120,
        "wait_low_min": None,
        "wait_high_min": None,
        "wait_capped": True,
    }


# Any JSON a body can hold (text without lone surrogates, which no UTF-8 holds): the digest is
# written out key by key around the body's own text, and must be the one the whole
# document's sorted JSON gives.
_text = st.text(st.characters(exclude_categories=("Cs",)))
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@given(
    seq=st.integers(min_value=1, max_value=2**62),
    at=_text,
    kind=_text,
    v=st.integers(min_value=1, max_value=99),
    body=st.dictionaries(_text, _json, max_size=5),
)
def test_the_canonical_form_is_the_whole_documents_sorted_json(seq, at, kind, v, body):
    whole = json.dumps(
        {"seq": seq, "at": at, "kind": kind, "v": v, "body": body},
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    ).encode()  # fmt: skip
    assert shipping.canonical(seq, at, kind, v, body) == whole
    text = shipping.canonical_body(body)
    assert shipping.canonical(seq, at, kind, v, body, body_text=text) == whole
