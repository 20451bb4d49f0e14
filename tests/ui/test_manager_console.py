"""The manager console's presenter, without Qt: colours, window counts, skills, advice, alerts."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any

from ui.manager.console import (
    BranchConsole,
    BranchExtras,
    SkillsDraft,
    Status,
    advice_view,
    skills_serving_first,
    status_of,
    window_counts,
)

AT = datetime.fromisoformat("2026-11-27T10:00:00+08:00")


def at(minutes_ago: float) -> str:
    return (AT - timedelta(minutes=minutes_ago)).isoformat()


def skill(code: str, overflow: bool = False) -> dict[str, Any]:
    return {"service": code, "weight": 1.0, "overflow": overflow}


class Model:
    """A BranchModel stand-in: the attributes the presenter reads."""

    def __init__(self) -> None:
        self.at = AT.isoformat()
        self.business_day = "2026-11-27"
        self.branch = {"timezone": "Asia/Shanghai"}
        self.services = {
            "A": {"code": "A", "names": {"zh": "现金", "en": "Cash"}, "target_wait_s": 600},
            "C": {"code": "C", "names": {"zh": "开户", "en": "Accounts"}, "target_wait_s": 900},
        }
        self.counters = {
            1: {"number": 1, "name": "", "state": "open", "staff_id": "t1",
                "skills": [skill("A"), skill("C", True)], "pause_reason": ""},
            2: {"number": 2, "name": "", "state": "open", "staff_id": "t2",
                "skills": [skill("C"), skill("A")], "pause_reason": ""},
            3: {"number": 3, "name": "", "state": "closed", "staff_id": None,
                "skills": [skill("A")], "pause_reason": ""},
        }  # fmt: skip
        self.tickets: dict[int, dict[str, Any]] = {}
        self.recent_calls: list[dict[str, Any]] = []
        self.waiting: dict[str, dict[str, Any]] = {"A": {"eta_new_s": 300.0}}
        self.waiting_at = AT.isoformat()

    def add(self, tid: int, service: str, minutes_ago: float, **fields: Any) -> None:
        ticket = {"id": tid, "number": f"{service}{tid:03d}", "service": service,
                  "state": "waiting", "arrived_at": at(minutes_ago), "counter": None}  # fmt: skip
        ticket.update(fields)
        self.tickets[tid] = ticket
        # The server's waiting summary, as it would count it at AT.
        queue = [
            t for t in self.tickets.values() if t["service"] == service and t["state"] == "waiting"
        ]
        longest = (
            max((AT - datetime.fromisoformat(t["arrived_at"])).total_seconds() for t in queue)
            if queue
            else 0
        )
        summary = self.waiting.setdefault(service, {"eta_new_s": None})
        summary.update(waiting=len(queue), longest_wait_s=int(longest))


def console(model: Model) -> BranchConsole:
    c = BranchConsole(model)
    c.snapshot_loaded()
    return c


def test_the_longest_wait_ages_between_the_servers_counts():
    model = Model()
    model.add(1, "A", 7)
    rows = {r.code: r for r in console(model).business_rows(AT + timedelta(minutes=2))}
    assert (rows["A"].waiting, rows["A"].longest_wait_s) == (1, 9 * 60)
    assert rows["A"].status is Status.NEAR  # 9 of 10 minutes, though counted at 7
    assert (rows["C"].waiting, rows["C"].longest_wait_s) == (0, 0)


def test_a_business_is_green_amber_then_red_against_its_target():
    assert status_of(0, 600, 0) is Status.OK
    assert status_of(479, 600, 2) is Status.OK
    assert status_of(480, 600, 2) is Status.NEAR  # 80 % of target
    assert status_of(600, 600, 2) is Status.NEAR
    assert status_of(601, 600, 2) is Status.OVER
    assert status_of(9999, 600, 0) is Status.OK  # nobody waits: nothing to worry about
    # The head of the queue is young but a newcomer is predicted to wait far too long:
    # the card must not be green beside "new ~800 min".
    assert status_of(60, 600, 11, eta_new_s=48_000) is Status.OVER
    assert status_of(60, 600, 2, eta_new_s=500) is Status.NEAR
    assert status_of(60, 600, 2, eta_new_s=100) is Status.OK
    assert status_of(60, 600, 0, eta_new_s=48_000) is Status.OK

    model = Model()
    model.add(1, "A", 9)  # 9 of 10 minutes: amber
    model.add(2, "C", 16)  # 16 of 15: red
    rows = {r.code: r for r in console(model).business_rows(AT)}
    assert rows["A"].status is Status.NEAR and rows["A"].longest_wait_s == 540
    assert rows["A"].eta_new_s == 300.0 and rows["C"].eta_new_s is None
    assert rows["C"].status is Status.OVER
    assert console(model).trouble(AT) == (1, 1, 0)


def test_window_counts_count_open_counters_with_a_regular_skill():
    model = Model()
    assert window_counts(model.counters.values(), ["A", "C"]) == [("A", 2), ("C", 1)]
    model.counters[2]["state"] = "paused"
    assert console(model).window_summary() == [("A", 1), ("C", 0)]


def test_counter_rows_show_the_customer_and_the_idle_time():
    model = Model()
    model.add(5, "A", 12, state="serving", counter=1, called_at=at(4))
    model.recent_calls = [
        {"id": 4, "number": "C004", "counter": 2, "finished_at": at(3), "state": "done"},
        {"id": 3, "number": "C003", "counter": 2, "finished_at": at(8), "state": "done"},
    ]
    rows = {r.number: r for r in console(model).counter_rows(AT)}
    assert rows[1].customer == "A005" and rows[1].customer_for_s == 240 and rows[1].idle_s is None
    assert rows[2].customer is None and rows[2].idle_s == 180  # since the last one left
    assert rows[3].idle_s is None  # closed is not idle
    assert rows[1].skill_text == "A (C)"


def test_events_move_the_idle_clock():
    model = Model()
    c = console(model)
    c.event({"kind": "ticket.done", "at": at(2), "ticket": {"id": 9, "counter": 1}})
    assert c.counter_rows(AT)[0].idle_s == 120
    c.event({"kind": "counter.paused", "at": at(1), "counter": {"number": 1, "state": "paused"}})
    assert 1 not in c.free_since
    c.event({"kind": "counter.opened", "at": at(0.5), "counter": {"number": 1, "state": "open"}})
    assert c.counter_rows(AT)[0].idle_s == 30


def test_skills_draft_reorders_ticks_overflow_adds_and_removes():
    draft = SkillsDraft.of(4, [skill("A"), skill("B"), skill("C", True)])
    assert draft.move(2, -1) == 1
    assert draft.codes() == ["A", "C", "B"]
    assert draft.move(0, -1) == 0  # already first
    draft.set_overflow(1, False)
    draft.add("K", overflow=True)
    draft.add("A")  # already there: no duplicate
    draft.remove(0)
    assert draft.payload() == [skill("C"), skill("B"), skill("K", True)]


def test_an_advice_move_puts_the_business_first_and_keeps_the_rest():
    skills = [skill("A"), skill("B"), skill("C", True)]
    assert skills_serving_first(skills, "C") == [skill("C"), skill("A"), skill("B")]
    assert skills_serving_first(skills, "K")[0] == skill("K")
    model = Model()
    c = console(model)
    move = {"counter": 1, "from_service": "A", "to_service": "C"}
    assert not c.move_done(move)
    model.counters[1]["skills"] = c.move_skills(move)
    assert c.move_done(move)
    assert c.move_skills({"counter": 99, "to_service": "C"}) is None


def advice_dict() -> dict[str, Any]:
    def interval(start: str, end: str, a: int, c: int, current: bool = False) -> dict[str, Any]:
        return {
            "start": start, "end": end, "current": current,
            "by_service": {"A": {"recommended_windows": a}, "C": {"recommended_windows": c}},
        }  # fmt: skip

    day = "2026-11-27T"
    return {
        "day": "2026-11-27",
        "forecast_basis": "weekday",
        "intervals": [
            interval(day + "09:30:00+08:00", day + "10:00:00+08:00", 1, 1),
            interval(day + "10:00:00+08:00", day + "10:30:00+08:00", 3, 1, current=True),
            interval(day + "10:30:00+08:00", day + "11:00:00+08:00", 2, 2),
            interval(day + "11:00:00+08:00", day + "11:30:00+08:00", 2, 3),
            interval(day + "11:30:00+08:00", day + "12:00:00+08:00", 1, 2),
        ],
        "moves": [{"counter": 2, "counter_name": "2", "from_service": "C", "to_service": "A",
                   "start": day + "10:00:00+08:00", "end": day + "11:00:00+08:00"}],
    }  # fmt: skip


def test_advice_shows_now_and_the_coming_hours_next_to_the_open_windows():
    model = Model()
    view = advice_view(advice_dict(), model, AT + timedelta(minutes=10), hours=2)
    assert view.hours == ("10:30", "11:30")
    rows = {r.code: r for r in view.rows}
    assert (rows["A"].open_now, rows["A"].recommended_now, rows["A"].coming) == (2, 3, (2, 1))
    assert rows["A"].short == 1
    assert (rows["C"].open_now, rows["C"].recommended_now, rows["C"].coming) == (1, 1, (3, 2))
    assert view.moves[0]["to_service"] == "A" and view.basis == "weekday"
    assert advice_view(None, model, AT).rows == ()


def test_advice_columns_start_on_the_hour_of_the_branchs_clock():
    model = Model()
    hourly = {**advice_dict(), "interval_min": 60, "intervals": []}
    # A clock read a minute early, and a time the server wrote in UTC (00:59Z is 08:59 here).
    early = datetime.fromisoformat("2026-11-27T00:59:10+00:00")
    assert advice_view(hourly, model, early, hours=2).hours == ("09:00", "10:00")
    assert advice_view(hourly, model, early + timedelta(minutes=2), hours=1).hours == ("09:00",)


ALERT = {
    "id": "a1", "kind": "business_over_target", "severity": "warning", "subject": {"service": "A"},
    "detail": "A over", "raised_at": at(5), "acknowledged_at": None, "acknowledged_by": None,
    "cleared_at": None,
}  # fmt: skip


def test_alerts_and_followups_follow_their_events():
    extras = BranchExtras()
    critical = {**ALERT, "id": "a2", "severity": "critical", "raised_at": at(1)}
    extras.load_snapshot({"business_day": "2026-11-27", "alerts": [ALERT, critical]})
    assert [a["id"] for a in extras.open_alerts()] == ["a2", "a1"]  # critical first
    acked = {**critical, "acknowledged_at": at(0), "acknowledged_by": "manager"}
    extras.apply({"kind": "alert.acknowledged", "data": {"alert": acked}}, {})
    assert [a["id"] for a in extras.open_alerts()] == ["a1", "a2"]  # unacknowledged first
    extras.apply({"kind": "alert.cleared", "data": {"alert": {**acked, "cleared_at": at(0)}}}, {})
    assert list(extras.alerts) == ["a1"]  # cleared and seen: gone from the open list
    raised = {**ALERT, "id": "a3", "kind": "negative_rating"}
    extras.apply({"kind": "alert.raised", "data": {"alert": raised}}, {})
    assert "a3" in extras.alerts

    followup = {"id": 4, "ticket_id": 9, "number": "A009", "service": "A", "counter": 1,
                "staff_id": "t1", "rating": 1, "rated_at": at(2), "note": "",
                "resolved_at": None, "resolved_by": None}  # fmt: skip
    extras.apply({"kind": "followup.opened", "data": {"followup": followup}}, {})
    assert [f["id"] for f in extras.open_followups()] == [4]
    done = {**followup, "note": "已回电", "resolved_at": at(0), "resolved_by": "manager"}
    extras.apply({"kind": "followup.updated", "data": {"followup": done}}, {})
    assert extras.open_followups() == []


def test_todays_share_within_target_counts_first_calls():
    model = Model()
    extras = BranchExtras()
    extras.load_snapshot(
        {"business_day": "2026-11-27", "today": {"A": {"called": 4, "within_target": 3}}}
    )
    c = BranchConsole(model, extras)
    base = {"service": "A", "business_day": "2026-11-27", "recall_count": 0}
    quick = {**base, "arrived_at": at(5), "called_at": at(0)}
    slow = {**base, "arrived_at": at(15), "called_at": at(0)}
    extras.apply({"kind": "ticket.called", "ticket": quick}, model.services)
    extras.apply({"kind": "ticket.called", "ticket": slow}, model.services)
    extras.apply({"kind": "ticket.called", "ticket": {**quick, "recall_count": 1}}, model.services)
    row = next(r for r in c.business_rows(AT) if r.code == "A")
    assert (row.called_today, row.within_today) == (6, 4)
    assert row.share_within == 4 / 6


def test_the_presenter_imports_no_qt():
    code = (
        "import sys, ui.manager.console; "
        "bad = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_skills_draft_knows_when_it_differs_from_what_the_server_holds():
    draft = SkillsDraft.of(4, [skill("A"), skill("B")])
    assert not draft.changed
    draft.move(1, -1)
    assert draft.changed
    draft.move(0, 1)
    assert not draft.changed  # moved back: nothing to save
    draft.add("C")
    sent = draft.payload()
    draft.remove(0)  # edited again while the save was on its way
    draft.mark_saved(sent)
    assert draft.changed
    draft.add("A")
    draft.move(draft.move(2, -1), -1)
    assert draft.payload() == sent and not draft.changed


def test_a_counter_names_its_teller_where_the_server_sends_the_name():
    model = Model()
    model.counters[1]["staff_name"] = "王丽"
    rows = {r.number: r for r in console(model).counter_rows(AT)}
    assert rows[1].teller == "王丽"
    assert rows[2].teller == "t2"  # an older server sends no name: the staff id
    assert rows[3].teller is None


def test_the_days_share_counts_customers_still_waiting_past_target_as_misses():
    model = Model()
    c = console(model)
    c.extras.today = {"A": {"called": 10, "within": 10}}  # every call so far on time
    for tid in range(1, 64):  # 63 waiting, the first 40 already past A's 10 minutes
        model.add(tid, "A", 11 if tid <= 40 else 3)
    model.add(70, "A", 30, leg=1)  # a transfer's leg is not a customer of the day's share
    row = {r.code: r for r in c.business_rows(AT)}["A"]
    assert row.overdue_waiting == 40
    assert row.share_within == 10 / 50  # not 100 %: the 40 are misses, the 23 pending
    assert row.status is Status.OVER
    # An early appointment's wait counts from its slot: 20 minutes here, 5 of them waited.
    model.tickets.clear()
    model.add(80, "A", 20, appointment_slot=at(5))
    assert console(model).business_rows(AT)[0].overdue_waiting == 0
    # With nobody called yet, the first customer past target already makes it 0 %.
    model.add(81, "A", 11)
    fresh = {r.code: r for r in console(model).business_rows(AT)}["A"]
    assert fresh.called_today == 0 and fresh.share_within == 0.0
