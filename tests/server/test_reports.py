"""The manager's reports on a live server, checked against a scripted branch day.

Test branch: A and B (10-minute targets) at counters 1 (t1) and 2 (t2); C (15 minutes),
B, A at counter 3 (t3). Every expected figure below is worked out by hand from the
timeline in `_seed_day`, in minutes after 10:00 in Shanghai on Friday 2026-11-27.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import PIN, sign_in

from queue_server.domain import counter_day

START = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # the clock fixture: 10:00 in Shanghai
DAY1, DAY2 = "2026-11-27", "2026-11-28"


class Branch:
    """Drives the live server through the API as the kiosk, the tellers and the bank would."""

    def __init__(self, server, clock):
        self.server, self.clock = server, clock
        self.kiosk = server.client("kiosk")
        self.booking = server.client("booking")
        self.desks = {}
        self.ids: dict[str, int] = {}

    def at(self, minute: float) -> None:
        moment = START + timedelta(minutes=minute)
        assert moment >= self.clock(), "the timeline runs forwards"
        self.clock.now = moment

    def issue(self, name, service, minute):
        self.at(minute)
        r = self.kiosk.post("/tickets", json={"service": service})
        assert r.status_code == 201, r.text
        self.ids[name] = r.json()["id"]

    def sign_in(self, counter, staff, minute):
        self.at(minute)
        c = self.desks[counter] = self.server.client(f"counter:{counter}")
        r = c.post(f"/counters/{counter}/sign-in", json={"staff_id": staff, "pin": PIN})
        assert r.status_code == 200, r.text

    def do(self, counter, action, minute, **body):
        self.at(minute)
        r = self.desks[counter].post(f"/counters/{counter}/{action}", json=body or None)
        assert r.status_code == 200, r.text
        return r.json()

    def call(self, counter, name, minute):
        assert self.do(counter, "call", minute, ticket_id=self.ids[name])["state"] == "called"

    def rate(self, counter, name, rating):
        r = self.desks[counter].post(f"/tickets/{self.ids[name]}/rating", json={"rating": rating})
        assert r.status_code == 200, r.text

    def book(self, service, slot):
        r = self.booking.post("/appointments", json={"service": service, "slot_start": slot})
        assert r.status_code == 201, r.text
        return r.json()


def _seed_day(server, clock) -> Branch:
    """Friday from 10:00, step by step (waits and service times in minutes)."""
    b = Branch(server, clock)
    b.at(0)
    for counter in (1, 2, 3):
        b.sign_in(counter, f"t{counter}", 0)
    ap_a = b.book("A", "2026-11-27T10:30:00+08:00")  # checked in early at 10:28
    b.book("C", "2026-11-27T10:30:00+08:00")  # never comes: a no-show
    ap_b = b.book("B", "2026-11-27T11:00:00+08:00")  # cancelled
    b.book("A", "2026-11-27T12:00:00+08:00")  # still to come when the report is read
    assert b.booking.post(f"/appointments/{ap_b['id']}/cancel").status_code == 200
    b.issue("A1", "A", 0)
    b.issue("A2", "A", 1)
    b.issue("B1", "B", 2)
    b.call(1, "A1", 2)  # A1 waits 2
    b.issue("C1", "C", 3)
    b.do(1, "start", 3)
    b.call(2, "A2", 4)  # A2 waits 3 to its first call …
    b.issue("A3", "A", 5)
    b.call(3, "C1", 5)  # C1 waits 2
    b.do(3, "start", 5)
    b.issue("B2", "B", 6)
    b.do(2, "recall", 6)
    b.do(2, "recall", 7)  # … however often it is recalled
    b.do(1, "finish", 8)  # A1 served 5
    b.rate(1, "A1", 4)
    b.do(2, "start", 8)
    b.call(1, "B1", 9)  # B1 waits 7
    b.do(1, "recall", 10)
    b.do(1, "no-show", 12)
    b.do(2, "finish", 12)  # A2 served 4
    b.rate(2, "A2", 3)
    b.call(1, "A3", 13)  # A3 waits 8
    b.do(1, "start", 14)
    moved = b.do(3, "transfer", 15, to_service="B", note="needs a card")  # C1 → B
    b.ids["C1>B"] = moved["id"]
    b.call(2, "C1>B", 16)  # waits 1 from the transfer (13 from the customer's arrival)
    b.do(2, "start", 16)
    b.call(3, "B2", 17)  # B2 waits 11: over B's 10-minute target
    b.do(3, "start", 18)
    b.do(1, "finish", 20)  # A3 served 6
    b.rate(1, "A3", 2)
    b.do(3, "finish", 21)  # B2 served 3, not rated
    b.do(3, "sign-out", 22)
    b.do(1, "sign-out", 22)
    b.sign_in(1, "t3", 22)  # t3 moves to counter 1
    b.do(2, "finish", 26)  # C1>B served 10
    b.rate(2, "C1>B", 1)
    b.at(28)
    r = b.kiosk.post("/appointments/check-in", json={"qr": ap_a["qr"]})
    assert r.status_code == 201 and r.json()["outcome"] == "early", r.text
    b.ids["A6"] = r.json()["ticket"]["id"]
    b.call(2, "A6", 30)  # A6 waits 2
    b.do(2, "start", 30)
    b.do(2, "finish", 33)  # A6 served 3, not rated
    b.issue("A4", "A", 50)
    b.call(1, "A4", 55)  # t3 at counter 1: A4 waits 5
    b.do(1, "start", 56)
    b.do(1, "finish", 64)  # A4 served 8
    b.rate(1, "A4", 4)
    b.issue("A5", "A", 65)
    b.at(70)
    assert b.kiosk.post(f"/tickets/{b.ids['A5']}/cancel").status_code == 200
    b.issue("C2", "C", 70)  # counter 3 is closed: still waiting at the end of the day
    return b


def _report(server, role="manager", **params):
    r = server.client(role).get("/reports", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _row(rows, key, value):
    found = [r for r in rows if r[key] == value]
    assert len(found) == 1, (key, value, rows)
    return found[0]


MIN = 60.0


def _ratings(one=0, two=0, three=0, four=0):
    return {"1": one, "2": two, "3": three, "4": four}


def test_a_seeded_day(server, clock):
    _seed_day(server, clock)
    report = _report(server, **{"from": DAY1, "to": DAY1})
    assert (report["from"], report["to"], report["days"]) == (DAY1, DAY1, 1)
    assert report["timezone"] == "Asia/Shanghai"
    assert "needs a card" not in json.dumps(report, ensure_ascii=False)  # no notes, no people

    # Waits of the called legs, in minutes: A 2 3 8 2 5 · B 7 11 1 · C 2.
    # Service times: A 5 4 6 3 8 · B 3 10.
    a = _row(report["by_business"], "service", "A")
    assert a["names"] == {"zh": "现金", "en": "Cash"} and a["target_wait_s"] == 600
    assert a == a | {
        "issued": 6, "transfers_in": 0, "called": 5, "served": 5, "no_show": 0,
        "transfers_out": 0, "cancelled": 1, "open": 0,
        "mean_wait_s": 4 * MIN, "p90_wait_s": 8 * MIN, "within_target": 1.0,
        "mean_service_s": 5.2 * MIN, "no_show_rate": 0.0, "transfer_rate": 0.0,
        "ratings": _ratings(two=1, three=1, four=2), "rated": 4, "satisfaction": 0.75,
    }  # fmt: skip
    b = _row(report["by_business"], "service", "B")
    assert b == b | {
        "issued": 2, "transfers_in": 1, "called": 3, "served": 2, "no_show": 1,
        "transfers_out": 0, "cancelled": 0, "open": 0,
        "mean_wait_s": 380.0, "p90_wait_s": 11 * MIN, "within_target": 0.6667,
        "mean_service_s": 6.5 * MIN, "no_show_rate": 0.3333, "transfer_rate": 0.0,
        "ratings": _ratings(one=1), "rated": 1, "satisfaction": 0.0,
    }  # fmt: skip
    c = _row(report["by_business"], "service", "C")
    assert c == c | {
        "issued": 2, "transfers_in": 0, "called": 1, "served": 0, "no_show": 0,
        "transfers_out": 1, "cancelled": 0, "open": 1, "target_wait_s": 900,
        "mean_wait_s": 2 * MIN, "p90_wait_s": 2 * MIN, "within_target": 1.0,
        "mean_service_s": None, "no_show_rate": 0.0, "transfer_rate": 1.0,
        "ratings": _ratings(), "rated": 0, "satisfaction": None,
    }  # fmt: skip
    assert [r["service"] for r in report["by_business"]] == ["A", "B", "C"]

    # Nine called legs waiting 41 minutes in all; the longest 11 (also the p90 of nine).
    assert report["totals"] == {
        "issued": 10, "transfers_in": 1, "called": 9, "served": 7, "no_show": 1,
        "transfers_out": 1, "cancelled": 1, "open": 1,
        "mean_wait_s": round(41 * MIN / 9, 1), "p90_wait_s": 11 * MIN, "within_target": 0.8889,
        "mean_service_s": round(39 * MIN / 7, 1), "no_show_rate": 0.1111,
        "transfer_rate": 0.1111,
        "ratings": _ratings(one=1, two=1, three=1, four=2), "rated": 5, "satisfaction": 0.6,
    }  # fmt: skip

    assert report["by_hour"] == [
        {
            "hour": 10, "issued": 8, "transfers_in": 1, "called": 9,
            "mean_wait_s": round(41 * MIN / 9, 1), "p90_wait_s": 11 * MIN,
            "within_target": 0.8889, "by_business": {"A": 5, "B": 2, "C": 1},
            # satisfaction by hour (of arrival)
            "ratings": _ratings(one=1, two=1, three=1, four=2), "rated": 5, "satisfaction": 0.6,
        },
        {
            "hour": 11, "issued": 2, "transfers_in": 0, "called": 0, "mean_wait_s": None,
            "p90_wait_s": None, "within_target": None, "by_business": {"A": 1, "B": 0, "C": 1},
            "ratings": _ratings(), "rated": 0, "satisfaction": None,
        },
    ]  # fmt: skip

    # Counter 1: A1, B1 (no-show), A3 by t1; A4 by t3. Counter 2: A2, C1>B, A6 by t2.
    # Counter 3: C1 (transferred), B2 by t3.
    assert report["by_counter"] == [
        {
            "counter": 1, "name": "1号窗口", "called": 4, "served": 3, "no_show": 1,
            "transfers_out": 0, "mean_service_s": 380.0, "mean_wait_s": 5.5 * MIN,
            "no_show_rate": 0.25, "transfer_rate": 0.0,
            "ratings": _ratings(two=1, four=2), "rated": 3, "satisfaction": 0.6667,
        },
        {
            "counter": 2, "name": "2号窗口", "called": 3, "served": 3, "no_show": 0,
            "transfers_out": 0, "mean_service_s": 340.0, "mean_wait_s": 2 * MIN,
            "no_show_rate": 0.0, "transfer_rate": 0.0,
            "ratings": _ratings(one=1, three=1), "rated": 2, "satisfaction": 0.5,
        },
        {
            "counter": 3, "name": "3号窗口", "called": 2, "served": 1, "no_show": 0,
            "transfers_out": 1, "mean_service_s": 3 * MIN, "mean_wait_s": 6.5 * MIN,
            "no_show_rate": 0.0, "transfer_rate": 0.5,
            "ratings": _ratings(), "rated": 0, "satisfaction": None,
        },
    ]  # fmt: skip
    assert report["by_staff"] == [
        {
            "staff_id": "t1", "called": 3, "served": 2, "no_show": 1, "transfers_out": 0,
            "mean_service_s": 5.5 * MIN, "mean_wait_s": 340.0, "no_show_rate": 0.3333,
            "transfer_rate": 0.0, "ratings": _ratings(two=1, four=1), "rated": 2,
            "satisfaction": 0.5,
        },
        {
            "staff_id": "t2", "called": 3, "served": 3, "no_show": 0, "transfers_out": 0,
            "mean_service_s": 340.0, "mean_wait_s": 2 * MIN, "no_show_rate": 0.0,
            "transfer_rate": 0.0, "ratings": _ratings(one=1, three=1), "rated": 2,
            "satisfaction": 0.5,
        },
        {
            "staff_id": "t3", "called": 3, "served": 2, "no_show": 0, "transfers_out": 1,
            "mean_service_s": 5.5 * MIN, "mean_wait_s": 6 * MIN, "no_show_rate": 0.0,
            "transfer_rate": 0.3333, "ratings": _ratings(four=1), "rated": 1,
            "satisfaction": 1.0,
        },
    ]  # fmt: skip
    assert report["by_day"] == [
        {
            "day": DAY1, "issued": 10, "called": 9, "served": 7, "no_show": 1, "cancelled": 1,
            "mean_wait_s": round(41 * MIN / 9, 1), "p90_wait_s": 11 * MIN,
            "within_target": 0.8889,
        }
    ]  # fmt: skip

    # Four bookings: A early (checked in), C never came, B cancelled, A at 12:00 to come.
    counts = dict.fromkeys(
        ("booked", "cancelled", "checked_in", "on_time", "early", "late", "no_shows", "pending"),
        0,
    )
    assert report["appointments"] == {
        **counts, "booked": 4, "cancelled": 1, "checked_in": 1, "early": 1, "no_shows": 1,
        "pending": 1, "no_show_rate": 0.5,
        "by_business": [
            {**counts, "service": "A", "booked": 2, "checked_in": 1, "early": 1, "pending": 1,
             "no_show_rate": 0.0},
            {**counts, "service": "B", "booked": 1, "cancelled": 1, "no_show_rate": None},
            {**counts, "service": "C", "booked": 1, "no_shows": 1, "no_show_rate": 1.0},
        ],
    }  # fmt: skip


def test_a_range_of_days_and_the_default_of_today(server, clock):
    b = _seed_day(server, clock)
    day2 = 24 * 60  # 10:00 on Saturday
    b.issue("D1", "B", day2)
    b.call(1, "D1", day2 + 4)  # t3 is still at counter 1
    b.do(1, "start", day2 + 4)
    b.do(1, "finish", day2 + 9)
    b.rate(1, "D1", 3)

    today = _report(server)
    assert (today["from"], today["to"]) == (DAY2, DAY2)
    assert today["totals"]["issued"] == 1 and today["totals"]["open"] == 0
    assert today["by_staff"] == [_row(today["by_staff"], "staff_id", "t3")]
    assert today["by_day"] == [
        {
            "day": DAY2, "issued": 1, "called": 1, "served": 1, "no_show": 0, "cancelled": 0,
            "mean_wait_s": 4 * MIN, "p90_wait_s": 4 * MIN, "within_target": 1.0,
        }
    ]  # fmt: skip
    assert today["appointments"]["booked"] == 0

    both = _report(server, **{"from": DAY1, "to": DAY2})
    assert both["days"] == 2
    assert [(d["day"], d["issued"], d["served"]) for d in both["by_day"]] == [
        (DAY1, 10, 7),
        (DAY2, 1, 1),
    ]
    # C2, issued on Friday and still waiting, stays Friday's open leg.
    assert both["totals"]["issued"] == 11 and both["totals"]["open"] == 1
    assert both["totals"]["mean_wait_s"] == round(45 * MIN / 10, 1)
    assert _row(both["by_staff"], "staff_id", "t3")["called"] == 4
    assert _report(server, **{"from": DAY1})["days"] == 2  # `to` defaults to today
    assert _report(server, to=DAY1)["days"] == 1  # `from` defaults to `to`


def test_the_report_reads_the_first_call_where_the_counter_figures_read_the_last(server, clock):
    b = _seed_day(server, clock)
    tickets = list(server.engine.branch.tickets.values())
    a2 = server.engine.branch.tickets[b.ids["A2"]]
    assert a2.recall_count == 2
    plain = counter_day(tickets, 2, a2.business_day)
    first = counter_day(tickets, 2, a2.business_day, first_calls={a2.id: START.replace(minute=4)})
    # Counter 2 called A2 (first after 3 minutes, last after 6), then C1>B 13 minutes after
    # the customer arrived (the teller's figures count from arrival) and A6 after 2.
    assert first.avg_wait_s == 6 * MIN
    assert plain.avg_wait_s == 7 * MIN


def test_an_empty_range_has_every_day_and_business(server, clock):
    report = _report(server, **{"from": "2026-11-20", "to": "2026-11-26"})
    assert [d["day"] for d in report["by_day"]] == [f"2026-11-{d}" for d in range(20, 27)]
    assert all(d["issued"] == 0 and d["mean_wait_s"] is None for d in report["by_day"])
    assert [r["service"] for r in report["by_business"]] == ["A", "B", "C"]
    assert [r["counter"] for r in report["by_counter"]] == [1, 2, 3]
    assert report["by_hour"] == [] and report["by_staff"] == []
    assert report["totals"]["satisfaction"] is None


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (None, 401), ("kiosk", 403), ("display", 403), ("booking", 403), ("counter:1", 403),
        ("manager", 200), ("admin", 200),
    ],
)  # fmt: skip
def test_only_the_manager_and_admin_read_reports(server, role, status):
    r = server.client(role).get("/reports")
    assert r.status_code == status, r.text
    if status != 200:
        assert r.json()["error"]["code"] in ("unauthorized", "forbidden")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "2026-13-01"}, "invalid_request"),
        ({"to": "yesterday"}, "invalid_request"),
        ({"from": "2026-11-27", "to": "2026-11-26"}, "invalid_report_range"),
        ({"from": "2025-11-26", "to": "2026-11-27"}, "invalid_report_range"),  # 367 days
        ({"from": "0001-01-01", "to": "0001-01-02"}, "invalid_report_range"),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "invalid_report_range"),
    ],
)
def test_bad_ranges_are_refused_in_json(server, params, code):
    r = server.client("manager").get("/reports", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code


def test_a_year_is_allowed(server):
    report = _report(server, **{"from": "2025-11-27", "to": "2026-11-27"})
    assert report["days"] == 366 and len(report["by_day"]) == 366


def test_the_branch_keeps_working_while_a_report_is_read(server):
    # The report opens its own read-only connection: the branch keeps working meanwhile.
    c1 = sign_in(server, 1)
    _report(server)
    assert c1.post("/counters/1/call-next").status_code == 200
