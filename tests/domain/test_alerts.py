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
