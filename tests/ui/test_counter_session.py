"""The counter caller's presenter, without Qt: state, customer, allowed actions, queues.

The model here is a plain object with the fields of `ui.client.BranchModel`, filled the way
a snapshot fills it, so nothing in this file needs a screen, a server or PySide6.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from ui.counter.session import (
    SHORTCUTS,
    Action,
    CounterSession,
    CounterState,
    error_key,
    newer,
    transfer_targets,
    transfers,
)
from ui.model.clock import ServerClock

NOW = datetime.fromisoformat("2026-11-27T10:20:00+08:00")


@dataclass
class FakeModel:
    at: str | None = NOW.isoformat()
    branch: dict[str, Any] = field(default_factory=lambda: {"timezone": "Asia/Shanghai"})
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    bundles: dict[str, dict[str, Any]] = field(default_factory=dict)
    counters: dict[int, dict[str, Any]] = field(default_factory=dict)
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    recent_calls: list[dict[str, Any]] = field(default_factory=list)


def ticket(tid: int, number: str, service: str, waited_min: float, **fields: Any) -> dict:
    t = {
        "id": tid,
        "number": number,
        "service": service,
        "arrived_at": (NOW - timedelta(minutes=waited_min)).isoformat(),
        "state": "waiting",
        "priority": "regular",
        "vip_tier": 0,
        "counter": None,
        "target_counter": None,
        "recall_count": 0,
        "leg": 1,
        "note": "",
        "bundle": None,
        "has_eform": False,
        "appointment_slot": None,
        "serving_at": None,
    }
    t.update(fields)
    return t


def skill(code: str, overflow: bool = False) -> dict[str, Any]:
    return {"service": code, "weight": 1.0, "overflow": overflow}


@pytest.fixture
def model() -> FakeModel:
    m = FakeModel()
    m.services = {
        "A": {"code": "A", "names": {"zh": "现金", "en": "Cash"}, "target_wait_s": 600},
        "B": {"code": "B", "names": {"zh": "其他", "en": "Other"}, "target_wait_s": 600},
        "C": {"code": "C", "names": {"zh": "开户", "en": "Accounts"}, "target_wait_s": 900},
    }
    m.bundles = {
        "NEW": {
            "code": "NEW",
            "names": {"zh": "一站式开户", "en": "One stop"},
            "includes": ["C", "A"],
        }
    }
    m.counters = {
        1: {"number": 1, "name": "1号窗口", "state": "open", "staff_id": "t1",
            "skills": [skill("A"), skill("B"), skill("C", overflow=True)], "pause_reason": ""},
        2: {"number": 2, "name": "2号窗口", "state": "closed", "staff_id": None,
            "skills": [skill("A")], "pause_reason": ""},
    }  # fmt: skip
    m.tickets = {
        1: ticket(1, "A001", "A", 12),
        2: ticket(2, "A002", "A", 3),
        3: ticket(3, "C001", "C", 20),
        4: ticket(4, "B001", "B", 1, target_counter=2),  # sent to counter 2 by name
        5: ticket(5, "C002", "C", 2, target_counter=1),
    }
    return m


@pytest.fixture
def session(model: FakeModel) -> CounterSession:
    s = CounterSession(model, 1)
    s.online = True
    return s


def call(model: FakeModel, tid: int, state: str = "called", **fields: Any) -> dict:
    model.tickets[tid] = {**model.tickets[tid], "state": state, "counter": 1, **fields}
    return model.tickets[tid]


def test_importing_the_presenter_loads_no_qt():
    code = "import sys, ui.counter.session; print('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_an_open_idle_counter_may_call_pause_and_sign_out(session):
    view = session.view(NOW)
    assert view.state is CounterState.OPEN and view.signed_in and view.staff_id == "t1"
    assert view.customer is None
    assert view.allowed == {Action.CALL_NEXT, Action.CALL_NUMBER, Action.PAUSE, Action.SIGN_OUT}
    assert view.pause_action is Action.PAUSE


def test_a_called_customer_is_shown_with_everything_the_teller_needs(session, model):
    call(
        model, 3, priority="care", recall_count=1, bundle="NEW", has_eform=True,
        appointment_slot="2026-11-27T10:30:00+08:00",
    )  # fmt: skip
    view = session.view(NOW)
    c = view.customer
    assert c is not None
    assert (c.number, c.service, c.state, c.priority, c.recall_count) == (
        "C001", "C", "called", "care", 1,
    )  # fmt: skip
    assert c.service_names["zh"] == "开户" and c.bundle_names["en"] == "One stop"
    # What the bundle covers, in its order: the teller does all of it in this visit.
    assert [names["zh"] for names in c.bundle_includes] == ["开户", "现金"]
    assert c.waited_s == 20 * 60 and c.has_eform and c.appointment_slot is not None
    assert view.allowed == {Action.RECALL, Action.START, Action.NO_SHOW, Action.TRANSFER}


def test_serving_allows_finish_and_transfer_and_the_wait_stops_at_the_start(session, model):
    start = NOW - timedelta(minutes=4)
    call(model, 1, "serving", serving_at=start.isoformat())
    view = session.view(NOW)
    assert view.allowed == {Action.FINISH, Action.TRANSFER}
    assert view.customer is not None
    assert view.customer.waited_s == 8 * 60  # arrived 12 min ago, served from 4 min ago
    assert view.customer.serving_s == 4 * 60


def test_recall_stops_at_the_branch_limit_and_says_to_mark_a_no_show(session, model):
    call(model, 1, recall_count=3)
    view = session.view(NOW)
    assert not view.can(Action.RECALL) and view.can(Action.NO_SHOW)
    assert session.refusal(Action.RECALL, view) == "counter.error.recall_limit"
    model.branch["max_recalls"] = 5
    assert session.view(NOW).can(Action.RECALL)


def test_paused_counter_resumes_and_explains_why_it_cannot_call(session, model):
    model.counters[1].update(state="paused", pause_reason="lunch")
    view = session.view(NOW)
    assert view.state is CounterState.PAUSED and view.pause_action is Action.RESUME
    assert view.allowed == {Action.RESUME, Action.SIGN_OUT}
    assert view.pause_reason_key == "counter.pause_reason.lunch"
    assert session.refusal(Action.CALL_NEXT, view) == "counter.error.paused"
    model.counters[1]["pause_reason"] = "培训"
    assert session.view(NOW).pause_reason_key is None  # typed by hand: shown as it is


def test_signed_out_allows_nothing_and_offline_refuses_everything(session, model):
    model.counters[1].update(state="closed", staff_id=None)
    assert session.view(NOW).allowed == frozenset()
    model.counters[1].update(state="open", staff_id="t1")
    session.online = False
    view = session.view(NOW)
    assert view.can(Action.CALL_NEXT)  # the state allows it …
    for action in Action:
        assert session.refusal(action, view) == "counter.error.offline"  # … the link does not


def test_busy_counter_refuses_a_second_call_and_sign_out(session, model):
    call(model, 1)
    view = session.view(NOW)
    assert session.refusal(Action.CALL_NEXT, view) == "counter.busy"
    assert session.refusal(Action.SIGN_OUT, view) == "counter.busy"


def test_waiting_rows_are_the_servers_counts_aged_until_the_next_answer(session, model):
    assert session.view(NOW).waiting == ()  # no queue answer yet: nothing invented
    session.queue = {
        "at": (NOW - timedelta(minutes=1)).isoformat(),
        "next": [],
        "targeted": 0,
        "by_service": {
            "A": {"waiting": 2, "longest_wait_s": 11 * 60, "target_wait_s": 600, "overflow": False},
            "C": {"waiting": 0, "longest_wait_s": 0, "target_wait_s": 900, "overflow": True},
            "B": {"waiting": 1, "longest_wait_s": 60, "target_wait_s": 600, "overflow": False},
        },
    }
    rows = session.view(NOW).waiting
    assert [r.service for r in rows] == ["A", "C", "B"]  # the server's order
    a, c, b = rows
    assert (a.waiting, a.longest_wait_s, a.names["en"]) == (2, 12 * 60, "Cash")  # aged 1 min
    assert a.over_target and not b.over_target
    assert c.overflow and (c.waiting, c.longest_wait_s) == (0, 0) and not c.over_target


def test_the_servers_preview_drops_customers_no_longer_waiting(session, model):
    session.queue = {"next": [model.tickets[3], model.tickets[1]], "targeted": 1}
    assert [t["number"] for t in session.view(NOW).next_up] == ["C001", "A001"]
    model.tickets[3] = {**model.tickets[3], "state": "called", "counter": 2}
    view = session.view(NOW)
    assert [t["number"] for t in view.next_up] == ["A001"] and view.targeted == 1


def test_a_reply_is_shown_before_its_event_and_the_model_wins_once_it_catches_up(session, model):
    called = {**model.tickets[1], "state": "called", "counter": 1}
    session.action_answered(called)  # the reply came first: the model still says waiting
    assert session.view(NOW).customer.number == "A001"
    call(model, 1)  # the event arrives
    assert session.view(NOW).customer.number == "A001" and session.echo is None
    # Finish answered before its event: nobody is shown at once, and the rating is awaited.
    session.action_answered({**model.tickets[1], "state": "done"})
    assert session.view(NOW).customer is None
    assert session.view(NOW).rating.number == "A001" and session.rating.rating is None
    del model.tickets[1]  # the event: done tickets leave the open list
    model.recent_calls = [{**called, "state": "done"}]
    assert session.view(NOW).customer is None


def test_a_stale_echo_never_hides_a_newer_state():
    a = {"id": 1, "state": "serving", "recall_count": 0}
    assert newer(a, {**a, "state": "called"}) is a
    assert (
        newer({**a, "state": "called"}, {**a, "state": "called", "recall_count": 2})["recall_count"]
        == 2
    )
    assert newer(a, {**a, "state": "done"})["state"] == "done"


def test_the_rating_for_the_finished_customer_arrives_by_event_or_snapshot(session, model):
    session.action_answered({"id": 9, "number": "A009", "state": "done", "counter": 1})
    session.event({"kind": "ticket.rated", "ticket": {"id": 8}, "rating": 1})  # not ours
    assert session.rating.rating is None
    session.event({"kind": "ticket.rated", "ticket": {"id": 9, "rating": 4}, "rating": 4})
    assert session.view(NOW).rating.rating == 4
    # Rated while this app was offline: the snapshot's recent calls carry it.
    session.action_answered({"id": 10, "number": "A010", "state": "done", "counter": 1})
    model.recent_calls = [{"id": 10, "number": "A010", "state": "done", "rating": 3}]
    session.snapshot_loaded()
    assert session.rating.rating == 3


def test_which_events_are_worth_a_refetch(session):
    assert session.affects_queue({"kind": "ticket.issued", "ticket": {"service": "C"}})
    assert not session.affects_queue({"kind": "ticket.issued", "ticket": {"service": "Z"}})
    assert session.affects_queue({"kind": "counter.skills", "counter": {"number": 1}})
    assert not session.affects_queue({"kind": "counter.paused", "counter": {"number": 2}})
    assert session.affects_today({"kind": "ticket.done", "ticket": {"counter": 1}})
    assert not session.affects_today({"kind": "ticket.done", "ticket": {"counter": 2}})
    assert not session.affects_today({"kind": "ticket.serving", "ticket": {"counter": 1}})


def test_server_clock_counts_on_from_the_last_reading():
    local = [100.0]
    clock = ServerClock(lambda: local[0])
    assert clock.now() is None
    clock.observe(NOW.isoformat())
    local[0] = 130.0
    assert clock.now() == NOW + timedelta(seconds=30)
    clock.observe(NOW.isoformat())  # the same reading again does not restart the count
    assert clock.now() == NOW + timedelta(seconds=30)


def test_function_keys_only_and_error_words():
    assert set(SHORTCUTS.values()) == {f"F{n}" for n in range(1, 9)}
    assert error_key("unauthorized") == "counter.sign_in.failed"
    assert error_key("offline") == "counter.error.offline"
    assert error_key("offline", sent_online=True) == "counter.error.no_answer"
    assert error_key("something_new") == "counter.error.other"


def test_transfer_targets_and_history(model):
    services, counters = transfer_targets(model, 1, "A")
    assert services == ["B", "C"] and counters == [(2, "2号窗口")]
    legs = [
        {"id": 1, "number": "B008", "service": "B", "counter": 2, "note": ""},
        {"id": 7, "number": "B008", "service": "C", "counter": 1, "note": "开二类户",
         "target_counter": None},
    ]  # fmt: skip
    assert transfers(legs, 7) == [
        {"number": "B008", "from_service": "B", "from_counter": 2, "to_service": "C",
         "to_counter": None, "note": "开二类户"},
    ]  # fmt: skip


def test_the_last_customers_rating_goes_when_the_next_customer_is_called(session, model):
    session.action_answered({"id": 9, "number": "A009", "state": "done", "counter": 1})
    session.event({"kind": "ticket.rated", "ticket": {"id": 9}, "rating": 4})
    assert session.view(NOW).rating is not None  # shown while nobody is at the counter
    call(model, 1)
    view = session.view(NOW)
    assert view.customer is not None and view.customer.number == "A001"
    assert view.rating is None
    assert session.view(NOW).rating is None  # and it does not come back
