"""The alert book on its own: raising, escalating, clearing, and replaying its events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from queue_server.domain.alerts import AlertBook, AlertKind, Condition, Severity

T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def cond(key: str, severity: Severity = Severity.WARNING) -> Condition:
    return Condition(key, AlertKind.BUSINESS_OVER_TARGET, severity, {"service": "A"}, "late")


def settle(book: AlertBook, holding: dict, now: datetime) -> list:
    events = book.reconcile(holding, now)
    for kind, alert in events:
        book.apply(kind, {"alert": alert.to_dict()})
    return events


def test_raised_once_while_it_holds_then_cleared():
    book = AlertBook()
    c = cond("business:A")
    (raised,) = settle(book, {c.key: c}, T0)
    assert raised[0] == "alert.raised"
    assert settle(book, {c.key: c}, T0 + timedelta(seconds=5)) == []
    (cleared,) = settle(book, {}, T0 + timedelta(minutes=1))
    assert cleared[0] == "alert.cleared" and cleared[1].id == raised[1].id
    # Back again later: a new alert with its own id, the old one stays in the history.
    (again,) = settle(book, {c.key: c}, T0 + timedelta(minutes=2))
    assert again[1].id != raised[1].id and len(book.alerts) == 2


def test_escalation_asks_for_a_new_acknowledgement():
    book = AlertBook()
    (raised,) = settle(book, {"business:A": cond("business:A")}, T0)
    acked = book.acknowledge(raised[1].id, "manager", T0)
    book.apply("alert.acknowledged", {"alert": acked.to_dict()})
    worse = cond("business:A", Severity.CRITICAL)
    (escalated,) = settle(book, {"business:A": worse}, T0 + timedelta(minutes=2))
    assert escalated[1].severity is Severity.CRITICAL and escalated[1].acknowledged_at is None
    # Getting better again does not announce anything until it clears.
    assert settle(book, {"business:A": cond("business:A")}, T0 + timedelta(minutes=3)) == []


def test_a_cleared_alert_nobody_acknowledged_still_asks_for_attention():
    book = AlertBook()
    (raised,) = settle(book, {"device:p": cond("device:p")}, T0)
    settle(book, {}, T0 + timedelta(minutes=1))
    assert [a.id for a in book.attention()] == [raised[1].id]
    acked = book.acknowledge(raised[1].id, "manager", T0 + timedelta(minutes=2))
    book.apply("alert.acknowledged", {"alert": acked.to_dict()})
    assert book.attention() == []


def test_a_business_alert_says_whether_the_longest_or_the_predicted_wait_fired_it(desk, at):
    from queue_server.domain.alerts import AlertRules, conditions

    desk.issue("cash", when=0)
    rules = AlertRules()
    # One minute in: nobody has waited long, but a newcomer is predicted at 15 min (> 10).
    found = conditions(desk.branch, at(1), rules, paused_since={}, eta_new_s={"cash": 900})
    assert found["business:cash"].subject["reason"] == "predicted_wait"
    assert found["business:cash"].subject["eta_s"] == 900
    # Nine minutes in, the longest wait itself is near the target: that is the reason now.
    found = conditions(desk.branch, at(9), rules, paused_since={}, eta_new_s={"cash": 900})
    assert found["business:cash"].subject["reason"] == "longest_wait"


def test_the_hall_crowded_rule_fires_above_the_centres_count_and_clears(desk, at):
    from queue_server.domain.alerts import AlertRules, conditions

    rules = AlertRules(waiting_over=2)
    tickets = [desk.issue("cash", when=0) for _ in range(3)]
    found = conditions(desk.branch, at(1), rules, paused_since={})
    hall = found["hall:waiting"]
    assert hall.kind is AlertKind.HALL_CROWDED and hall.severity is Severity.WARNING
    assert hall.subject == {"waiting": 3, "limit": 2}
    for _ in range(2):
        desk.issue("account", when=1)
    assert conditions(desk.branch, at(1), rules, paused_since={})["hall:waiting"].severity is (
        Severity.CRITICAL  # 5 is more than twice the limit
    )
    # Off by default (a branch the centre set no threshold for) and at exactly the count.
    assert "hall:waiting" not in conditions(desk.branch, at(1), AlertRules(), paused_since={})
    assert "hall:waiting" not in conditions(
        desk.branch, at(1), AlertRules(waiting_over=5), paused_since={}
    )
    for ticket in tickets:  # three leave: two wait, not more than two
        desk.run(lambda t=ticket: desk.branch.cancel_ticket(t.id, at(2)))
    assert "hall:waiting" not in conditions(desk.branch, at(2), rules, paused_since={})


def test_the_over_target_share_rule_counts_customers_past_their_own_business_target(desk, at):
    from queue_server.domain.alerts import AlertRules, conditions

    rules = AlertRules(wait_over_target_share=0.3)
    desk.issue("cash", when=0)  # target 10 min
    desk.issue("account", when=0)  # target 15 min
    desk.issue("cash", when=9)
    # At 11 min only the first cash customer is past target: 1 of 3 (33 %) > 30 %.
    found = conditions(desk.branch, at(11), rules, paused_since={})
    hall = found["hall:over_target"]
    assert hall.kind is AlertKind.HALL_OVER_TARGET and hall.severity is Severity.WARNING
    assert hall.subject == {"over_target": 1, "waiting": 3, "share": 0.333, "limit_share": 0.3}
    # At 16 min the account customer is past its 15 min too: 2 of 3 is over twice 30 %.
    found = conditions(desk.branch, at(16), rules, paused_since={})
    assert found["hall:over_target"].severity is Severity.CRITICAL
    # Within target everyone: nothing; and the two served first leave a hall within target.
    assert "hall:over_target" not in conditions(desk.branch, at(5), rules, paused_since={})
    desk.call(1, when=16)
    desk.call(2, when=16)
    assert "hall:over_target" not in conditions(desk.branch, at(16), rules, paused_since={})


def test_the_centres_thresholds_are_checked():
    import pytest

    from queue_server.domain.alerts import thresholds_from_wire

    assert thresholds_from_wire({"waiting_over": 30, "wait_over_target_share": 0.2}) == {
        "waiting_over": 30,
        "wait_over_target_share": 0.2,
    }
    assert thresholds_from_wire({}) == {}
    for bad in (
        {"waiting_over": 0},
        {"waiting_over": 2.5},
        {"waiting_over": True},
        {"waiting_over": "30"},
        {"wait_over_target_share": 1},
        {"wait_over_target_share": 0},
        {"wait_over_target_share": -0.1},
        {"queue_over": 3},
        [30],
    ):
        with pytest.raises(ValueError):
            thresholds_from_wire(bad)
