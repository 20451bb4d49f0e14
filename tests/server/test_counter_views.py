"""What the teller's counter app reads: today's figures, who is next, a visit's transfers.

Test branch: A (target 10 min) and B (10 min) at counters 1 and 2; C (15 min), B, A at 3.
The clock starts at 10:00 in Shanghai on 2026-11-27.
"""

from __future__ import annotations

from conftest import sign_in

from queue_server.domain.policies import policy_by_name


def _issue(server, service, **body):
    # Only a manager may grant VIP; the kiosk declares care at most.
    role = "manager" if body.get("priority") == "vip" else "kiosk"
    r = server.client(role).post("/tickets", json={"service": service, **body})
    assert r.status_code == 201, r.text
    return r.json()


def _ok(response):
    assert response.status_code == 200, response.text
    return response.json()


# ------------------------------------------------------------------ today


def test_todays_figures_after_a_shift(server, clock):
    c1 = sign_in(server, 1)
    c2 = sign_in(server, 2)
    empty = _ok(c1.get("/counters/1/today"))
    assert empty == {
        "counter": 1,
        "business_day": "2026-11-27",
        "called": 0,
        "served": 0,
        "no_shows": 0,
        "transfers_out": 0,
        "avg_service_s": None,
        "avg_wait_s": None,
        "ratings": {"4": 0, "3": 0, "2": 0, "1": 0},
        "rating_avg": None,
        "by_staff": {},
    }

    first = _issue(server, "A")
    clock.advance(seconds=60)
    assert _ok(c1.post("/counters/1/call-next"))["ticket"]["id"] == first["id"]  # waited 60 s
    clock.advance(seconds=30)
    c1.post("/counters/1/start")
    clock.advance(seconds=240)
    c1.post("/counters/1/finish")
    _ok(c1.post(f"/tickets/{first['id']}/rating", json={"rating": 4}))

    _issue(server, "A")
    clock.advance(seconds=120)
    c1.post("/counters/1/call-next")  # waited 120 s
    _ok(c1.post("/counters/1/no-show"))

    _issue(server, "B")
    clock.advance(seconds=60)
    c1.post("/counters/1/call-next")  # waited 60 s
    c1.post("/counters/1/start")
    _ok(c1.post("/counters/1/transfer", json={"to_service": "C", "note": "开户"}))

    last = _issue(server, "A")
    c1.post("/counters/1/call-next")  # waited 0 s
    c1.post("/counters/1/start")
    clock.advance(seconds=120)
    c1.post("/counters/1/finish")
    _ok(c1.post(f"/tickets/{last['id']}/rating", json={"rating": 1}))

    _issue(server, "A")  # served at counter 2: not counter 1's
    c2.post("/counters/2/call-next")
    c2.post("/counters/2/start")
    c2.post("/counters/2/finish")

    today = _ok(c1.get("/counters/1/today"))
    assert today == {
        "counter": 1,
        "business_day": "2026-11-27",
        "called": 4,
        "served": 2,
        "no_shows": 1,
        "transfers_out": 1,
        "avg_service_s": (240 + 120) / 2,
        "avg_wait_s": (60 + 120 + 60 + 0) / 4,
        "ratings": {"4": 1, "3": 0, "2": 0, "1": 1},
        "rating_avg": 2.5,
        "by_staff": {"t1": {"called": 4, "served": 2, "avg_service_s": 180.0}},
    }
    assert list(today["ratings"]) == ["4", "3", "2", "1"]
    assert _ok(server.client("manager").get("/counters/1/today")) == today
    assert _ok(server.client("admin").get("/counters/2/today"))["served"] == 1


def test_figures_restart_with_the_business_day(server, clock):
    c1 = sign_in(server, 1)
    _issue(server, "A")
    c1.post("/counters/1/call-next")
    c1.post("/counters/1/start")
    c1.post("/counters/1/finish")
    assert _ok(c1.get("/counters/1/today"))["served"] == 1
    clock.advance(days=1)
    today = _ok(c1.get("/counters/1/today"))
    assert (today["business_day"], today["called"], today["served"]) == ("2026-11-28", 0, 0)


# ------------------------------------------------------------------ queue


def test_the_preview_is_what_call_next_then_gives(server, clock):
    # A ranked policy (cμ): its preview is exactly its calls. The lookahead default also
    # weighs the other windows and the forecast at the call, which a preview cannot know.
    server.engine.branch.policy = policy_by_name("cmu")
    manager = server.client("manager")
    skills = {"skills": [{"service": "A"}, {"service": "B", "overflow": True}]}
    _ok(manager.put("/counters/1/skills", json=skills))
    c1 = sign_in(server, 1)
    b_late = _issue(server, "B")
    clock.advance(minutes=1)
    a_old = _issue(server, "A")
    clock.advance(minutes=2)
    a_care = _issue(server, "A", priority="care")
    clock.advance(minutes=2)
    a_vip = _issue(server, "A", priority="vip", vip_tier=2)
    clock.advance(minutes=3)
    b_young = _issue(server, "B")
    clock.advance(minutes=1)
    a_new = _issue(server, "A")
    clock.advance(minutes=3)
    # At minute 12, the cμ cost rates: VIP 10 × (1 + 7/5)² before care
    # 4 × (1 + 9/5)², then A at 11 minutes before B at 12 (overflow open: over its 10-minute
    # target) as cash is the shorter service, then A 3. Once the late B is called, B is back
    # on target and its young customer is not counter 1's.
    queue = _ok(c1.get("/counters/1/queue", params={"limit": 10}))
    ids = [t["id"] for t in queue["next"]]
    assert ids == [a_vip["id"], a_care["id"], a_old["id"], b_late["id"], a_new["id"]]
    assert b_young["id"] not in ids
    assert queue["counter"] == 1 and queue["targeted"] == 0
    assert queue["by_service"] == {
        "A": {
            "waiting": 4,
            "longest_wait_s": 660,
            "target_wait_s": 600,
            "overflow": False,
            "over_target": True,
        },
        "B": {
            "waiting": 2,
            "longest_wait_s": 720,
            "target_wait_s": 600,
            "overflow": True,
            "over_target": True,
        },
    }
    assert [t["number"] for t in _ok(c1.get("/counters/1/queue"))["next"]] == [
        t["number"] for t in queue["next"]
    ]  # the default limit of 5
    assert len(_ok(c1.get("/counters/1/queue", params={"limit": 2}))["next"]) == 2
    called = []
    while (ticket := _ok(c1.post("/counters/1/call-next"))["ticket"]) is not None:
        called.append(ticket["id"])
        c1.post("/counters/1/start")
        c1.post("/counters/1/finish")
    assert called == ids
    assert _ok(c1.get("/counters/1/queue"))["next"] == []


def test_the_first_in_the_preview_is_called_next_as_the_queue_changes(server, clock):
    c1 = sign_in(server, 1)
    for i, priority in enumerate(["regular", "care", "regular", "vip", "care", "regular"]):
        body = {"priority": priority, **({"vip_tier": 1} if priority == "vip" else {})}
        _issue(server, "AB"[i % 2], **body)
        clock.advance(minutes=2)
    while True:
        head = _ok(c1.get("/counters/1/queue", params={"limit": 1}))["next"]
        ticket = _ok(c1.post("/counters/1/call-next"))["ticket"]
        assert [t["id"] for t in head] == ([ticket["id"]] if ticket else [])
        if ticket is None:
            break
        c1.post("/counters/1/no-show")
        clock.advance(seconds=45)


def test_limit_is_checked(server):
    c1 = sign_in(server, 1)
    for limit in (0, 51, "x"):
        r = c1.get("/counters/1/queue", params={"limit": limit})
        assert r.status_code == 422, limit
    assert c1.get("/counters/1/queue", params={"limit": 50}).status_code == 200
    assert server.client("manager").get("/counters/99/queue").status_code == 404


def test_a_transfer_to_a_named_counter_shows_only_there(server, clock):
    c1 = sign_in(server, 1)
    sign_in(server, 2)
    c3 = sign_in(server, 3)
    _issue(server, "A")
    c1.post("/counters/1/call-next")
    leg = _ok(c1.post("/counters/1/transfer", json={"to_counter": 2, "note": "授权"}))
    clock.advance(minutes=1)
    manager = server.client("manager")
    at_2 = _ok(manager.get("/counters/2/queue"))
    assert [t["id"] for t in at_2["next"]] == [leg["id"]] and at_2["targeted"] == 1
    assert at_2["next"][0]["note"] == "授权" and at_2["next"][0]["target_counter"] == 2
    assert at_2["by_service"]["A"]["waiting"] == 1
    for number, client in ((1, c1), (3, c3)):
        other = _ok(client.get(f"/counters/{number}/queue"))
        assert other["next"] == [] and other["targeted"] == 0
        assert other["by_service"]["A"]["waiting"] == 0
    assert _ok(c3.post("/counters/3/call-next"))["ticket"] is None


# ---------------------------------------------------------------- history


def test_history_of_a_visit_with_two_transfers(server, clock):
    c1 = sign_in(server, 1)
    c2 = sign_in(server, 2)
    c3 = sign_in(server, 3)
    first = _issue(server, "B")
    c1.post("/counters/1/call-next")
    c1.post("/counters/1/start")
    clock.advance(minutes=3)
    second = _ok(
        c1.post("/counters/1/transfer", json={"to_service": "C", "note": "needs a new card"})
    )
    _ok(c3.post("/counters/3/call-next"))
    c3.post("/counters/3/start")
    clock.advance(minutes=5)
    note = "sign at window 2"
    third = _ok(c3.post("/counters/3/transfer", json={"to_counter": 2, "note": note}))
    assert _ok(c2.post("/counters/2/call-next"))["ticket"]["id"] == third["id"]

    history = _ok(c2.get(f"/tickets/{third['id']}/history"))
    assert history["visit_id"] == first["id"]
    legs = history["legs"]
    assert [t["id"] for t in legs] == [first["id"], second["id"], third["id"]]
    assert [t["leg"] for t in legs] == [0, 1, 2]
    assert [(t["service"], t["counter"], t["staff_id"], t["state"]) for t in legs] == [
        ("B", 1, "t1", "transferred"),
        ("C", 3, "t3", "transferred"),
        ("C", 2, "t2", "called"),  # sent to window 2 by name, in the same business
    ]
    assert [t["note"] for t in legs] == ["", "needs a new card", note]
    assert legs[2]["target_counter"] == 2 and legs[1]["previous_id"] == first["id"]
    assert all(t["number"] == first["number"] for t in legs)
    assert all(t["arrived_at"] == first["arrived_at"] for t in legs)
    assert legs[0]["serving_at"] is not None and legs[0]["finished_at"] is not None
    assert legs[2]["called_at"] is not None and legs[2]["finished_at"] is None
    for asker in ("counter:1", "manager", "admin"):
        assert _ok(server.client(asker).get(f"/tickets/{first['id']}/history")) == history


def test_history_of_a_visit_open_across_the_day_reads_the_stored_legs(server, clock):
    c1 = sign_in(server, 1)
    first = _issue(server, "A")
    c1.post("/counters/1/call-next")
    leg = _ok(c1.post("/counters/1/transfer", json={"to_service": "B", "note": "overnight"}))
    clock.advance(days=1)
    _issue(server, "A")  # the first command of the new day forgets yesterday's closed legs
    assert first["id"] not in server.engine.branch.tickets
    legs = _ok(c1.get(f"/tickets/{leg['id']}/history"))["legs"]
    assert [(t["id"], t["state"], t["note"]) for t in legs] == [
        (first["id"], "transferred", ""),
        (leg["id"], "waiting", "overnight"),
    ]


def test_history_refusals(server):
    t = _issue(server, "A")
    for role in ("kiosk", "display", "booking"):
        assert server.client(role).get(f"/tickets/{t['id']}/history").status_code == 403, role
    r = server.client("counter:2").get("/tickets/9999/history")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_ticket")


# ------------------------------------------------------------------ roles


def test_another_counter_may_not_read_a_counters_views(server):
    sign_in(server, 1)
    c2 = sign_in(server, 2)
    for path in ("/counters/1/today", "/counters/1/queue"):
        assert c2.get(path).status_code == 403, path
        assert server.client("kiosk").get(path).status_code == 403, path
        assert server.client("display").get(path).status_code == 403, path
        assert server.client("manager").get(path).status_code == 200, path


def test_a_recalled_customers_wait_counts_to_the_first_call(server, clock):
    c1 = sign_in(server, 1)
    _issue(server, "A")
    clock.advance(seconds=90)
    _ok(c1.post("/counters/1/call-next"))  # waited 90 s
    clock.advance(seconds=120)
    _ok(c1.post("/counters/1/recall"))  # not seen: called again, 210 s after arriving
    _ok(c1.post("/counters/1/start"))
    assert _ok(c1.get("/counters/1/today"))["avg_wait_s"] == 90.0
