"""Device health reported to the server: events on change, kept across restarts."""

from __future__ import annotations

from conftest import LiveServer


def test_device_health_is_an_event_only_when_it_changes(server):
    kiosk = server.client("kiosk")
    seq = kiosk.get("/health").json()["seq"]
    report = {"device": "kiosk-1/printer", "kind": "printer", "health": "ok", "detail": ""}
    assert kiosk.post("/devices/status", json=report).status_code == 200
    assert kiosk.post("/devices/status", json=report).status_code == 200  # the same again
    low = {**report, "health": "warning", "detail": "paper near end"}
    assert kiosk.post("/devices/status", json=low).json()["health"] == "warning"
    rows = server.engine.read_conn.execute(  # the manager's alert about it is not counted
        "SELECT kind, body FROM events WHERE seq > ? AND kind NOT LIKE 'alert.%' ORDER BY seq",
        (seq,),
    ).fetchall()
    assert [r[0] for r in rows] == ["device.status", "device.status"]
    assert '"previous":"ok"' in rows[1][1]
    devices = server.client("display").get("/snapshot").json()["devices"]
    assert [(d["device"], d["health"], d["detail"]) for d in devices] == [
        ("kiosk-1/printer", "warning", "paper near end")
    ]


def test_bad_device_reports_are_refused(server):
    kiosk = server.client("kiosk")
    good = {"device": "hub/led:3", "kind": "led", "health": "offline"}
    for bad, status in [
        ({**good, "health": "on fire"}, 422),
        ({**good, "device": "x" * 65}, 422),
        ({**good, "kind": "LED BOARD"}, 422),
        ({**good, "counter": 42}, 404),
        ({**good, "detail": "d" * 301}, 422),
    ]:
        assert kiosk.post("/devices/status", json=bad).status_code == status, bad
    assert server.client("admin").get("/devices").json() == []


def test_device_health_survives_a_restart(branch_db, clock):
    db, tokens = branch_db
    first = LiveServer(db, tokens, clock).start()
    try:
        report = {"device": "hub/pad:1", "kind": "rating_pad", "health": "error", "counter": 1}
        assert first.client("counter:1").post("/devices/status", json=report).status_code == 200
    finally:
        first.stop()
    second = LiveServer(db, tokens, clock).start()
    try:
        listed = second.client("manager").get("/devices").json()
        assert [(d["device"], d["health"], d["counter"]) for d in listed] == [
            ("hub/pad:1", "error", 1)
        ]
    finally:
        second.stop()
