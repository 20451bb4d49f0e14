"""The head office's opening hours and alert thresholds applied at a branch: walk-ins are
refused outside the day's hours, the thresholds raise and clear alerts, both survive a
restart, the centre sees them in force, and bad values are refused with nothing changed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from conftest import LiveServer, sign_in
from test_config_downlink import body, catalogue, issue, kinds, reported

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shipping_double as sd

centre_cert, link = sd.centre_cert, sd.link  # fixtures
WAIT_S = 15.0
# The test clock is 10:00 in Shanghai on Friday 2026-11-27.
HOURS = {"mon": ["09:00", "17:00"], "fri": ["09:00", "11:00"], "sat": [], "sun": []}
ALERTS = {"waiting_over": 2, "wait_over_target_share": 0.5}


def open_kinds(server: LiveServer) -> set[str]:
    # The desk's own book, not an HTTP call: the predicate runs under the follower's lock.
    book = server.app.state.alerts.book
    return {a.kind.value for a in list(book.alerts.values()) if a.open}


def wait_for_kinds(server: LiveServer, wanted: set[str], absent: set[str] = frozenset()) -> None:
    office = server.app.state.head_office.downlink
    assert office.wait_until(
        lambda: wanted <= open_kinds(server) and not (absent & open_kinds(server)), WAIT_S
    ), open_kinds(server)


def follower(branch_db: Any, clock: Any, link: sd.Link) -> LiveServer:
    office = link.office(verify_key=link.verify_key, poll_s=0.05)
    return LiveServer(branch_db[0], branch_db[1], clock, head_office=office).start()


def test_hours_and_thresholds_apply_fire_and_survive_a_restart(branch_db, clock, link):
    server = follower(branch_db, clock, link)
    try:
        link.centre.publish("config", body(catalogue(opening_hours=HOURS, alerts=ALERTS)))
        report = reported(link, 1)
        assert report["outcome"] == "applied", report
        assert report["effective"]["opening_hours"] == HOURS
        assert report["effective"]["alerts"] == ALERTS
        [applied] = kinds(server.db, "config.applied")
        assert applied["data"]["opening_hours"] == HOURS
        assert applied["data"]["alerts"] == ALERTS
        assert server.client("kiosk").get("/snapshot").json()["branch"]["opening_hours"] == HOURS
        # 10:00 Friday, open till 11:00: three walk-ins, more than the two the centre allows.
        for _ in range(3):
            assert issue(server, "A").status_code == 201
        wait_for_kinds(server, {"hall_crowded"})
        clock.advance(minutes=11)  # 10:11: all three past A's 10 min target
        wait_for_kinds(server, {"hall_over_target"})
    finally:
        server.stop()
    clock.advance(minutes=50)  # 11:01, the branch restarts after closing
    server = follower(branch_db, clock, link)
    try:
        assert server.engine.branch.settings.opening_hours.to_wire() == HOURS
        refused = issue(server, "A")
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "branch_closed"
        # The thresholds are back in force; those already waiting are still served, and
        # as the hall empties each alert clears.
        rules = server.app.state.alerts.rules
        assert (rules.waiting_over, rules.wait_over_target_share) == (2, 0.5)
        counter = sign_in(server, 1)
        assert counter.post("/counters/1/call-next").json()["ticket"]["service"] == "A"
        wait_for_kinds(server, {"hall_over_target"}, absent={"hall_crowded"})
        for _ in range(2):
            assert counter.post("/counters/1/start").status_code == 200
            assert counter.post("/counters/1/finish").status_code == 200
            assert counter.post("/counters/1/call-next").json()["ticket"]["service"] == "A"
        wait_for_kinds(server, set(), absent={"hall_crowded", "hall_over_target"})
    finally:
        server.stop()


def test_bad_hours_or_thresholds_are_refused_and_change_nothing(branch_db, clock, link):
    server = follower(branch_db, clock, link)
    try:
        link.centre.publish("config", body(catalogue(opening_hours=HOURS, alerts=ALERTS)))
        assert reported(link, 1)["outcome"] == "applied"
        settings, rules = server.engine.branch.settings, server.app.state.alerts.rules
        bad = [
            {"opening_hours": {**HOURS, "mon": ["17:00", "09:00"]}, "alerts": ALERTS},
            {"opening_hours": {"someday": []}, "alerts": ALERTS},
            {"opening_hours": HOURS, "alerts": {"waiting_over": 0}},
            {"opening_hours": HOURS, "alerts": {"wait_over_target_share": 1.5}},
        ]
        for version, extra in enumerate(bad, start=2):
            link.centre.publish("config", body(catalogue(**extra)))
            report = reported(link, version)
            assert report["outcome"] == "refused", report
            assert report["reason"].startswith("invalid_config:"), report
        assert len(kinds(server.db, "config.applied")) == 1
        assert server.engine.branch.settings == settings
        assert server.app.state.alerts.rules == rules
        assert issue(server, "A").status_code == 201  # still open as version 1 says
    finally:
        server.stop()
