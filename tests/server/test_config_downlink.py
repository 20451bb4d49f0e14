"""A configuration version from the head office, applied on a serving branch: one
`config.applied` event, no ticket, call or sign-in lost, a dropped business drains, the
manager's own edits stay, and the kiosk's list of businesses changes live."""

from __future__ import annotations

import json
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import Any

from conftest import TEST_CONFIG, LiveServer, sign_in
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shipping_double as sd

from kiosk.flow import service_choices
from ui.model.branch import BranchModel

centre_cert, link, branch = sd.centre_cert, sd.link, sd.branch  # fixtures
WAIT_S = 15.0


def catalogue(*, drop: str | None = None, add: bool = True, **extra: Any) -> dict[str, Any]:
    services = [dict(s) for s in TEST_CONFIG["services"] if s["code"] != drop]
    services[0]["names"] = {"zh": "现金业务", "en": "Cash desk"}
    services[0]["target_wait_min"] = 8
    if add:
        services.append({"code": "D", "names": {"zh": "理财", "en": "Wealth"},
                         "target_wait_min": 20, "mean_min": 15})  # fmt: skip
    return {"services": services, "bundles": [], "appointments": {}, **extra}


def body(cat: dict[str, Any], editable: tuple[str, ...] = ("counters.skills", "notice")) -> Any:
    return {"catalogue": cat, "branch_editable": list(editable),
            "overridden": {"services.A.target_wait_min": "region"},
            "template": {"id": "retail", "version": 3}}  # fmt: skip


def issue(server: LiveServer, service: str) -> Any:
    return server.client("kiosk").post(
        "/tickets", json={"service": service}, headers={"Idempotency-Key": uuid.uuid4().hex}
    )


def reported(link: sd.Link, version: int) -> dict[str, Any]:
    link.centre.wait_for(lambda: bool(link.centre.reports_of("config", version)), WAIT_S)
    return link.centre.reports_of("config", version)[0]


def kinds(db: Path, kind: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT body FROM events WHERE kind = ? ORDER BY seq", (kind,))
        return [json.loads(r[0]) for r in rows]
    finally:
        conn.close()


class Kiosk:
    """What a kiosk holds: a snapshot, then the event stream, as its client does."""

    def __init__(self, ws: Any) -> None:
        self.model = BranchModel()
        self.ws = ws
        self.follow_to(0)

    def follow_to(self, seq: int) -> None:
        while not self.model.loaded or self.model.seq < seq:
            message = json.loads(self.ws.recv(timeout=WAIT_S))
            if message["type"] == "snapshot":
                self.model.load_snapshot(message)
            elif message["type"] == "events":
                for event in message["events"]:
                    self.model.apply(event)

    def offered(self) -> list[str]:
        return [c.code for c in service_choices(self.model.services, {}, None) if c.available]


def test_a_version_applied_during_traffic_loses_nothing_and_a_dropped_business_drains(branch, link):
    server = branch
    counter1, counter3 = sign_in(server, 1), sign_in(server, 3)
    for code in ("A", "A", "B", "C", "C"):
        assert issue(server, code).status_code == 201
    called = counter1.post("/counters/1/call-next").json()["ticket"]
    with connect(f"{server.ws_url}?token={server.tokens['kiosk']}", open_timeout=5) as ws:
        _apply_during_traffic(server, link, counter1, counter3, called, Kiosk(ws))


def _apply_during_traffic(
    server: LiveServer, link: sd.Link, counter1: Any, counter3: Any, called: Any, kiosk: Kiosk
) -> None:
    assert kiosk.offered() == ["A", "B", "C"]
    before = {t.id: (t.state, t.counter) for t in server.engine.branch.tickets.values()}
    counters_before = {n: (c.state, c.staff_id) for n, c in server.engine.branch.counters.items()}

    link.centre.publish("config", body(catalogue(drop="C")))
    report = reported(link, 1)
    assert report["outcome"] == "applied", report
    b = server.engine.branch
    assert {t.id: (t.state, t.counter) for t in b.tickets.values()} == before
    assert {n: (c.state, c.staff_id) for n, c in b.counters.items()} == counters_before
    assert b.services["A"].target_wait_s == 480 and b.services["D"].enabled
    assert not b.services["C"].enabled and not b.services["C"].visible  # draining
    assert report["effective"]["services.draining"] == ["C"]
    [applied] = kinds(server.db, "config.applied")
    assert applied["data"]["version"] == 1 and applied["data"]["changed"]["draining"] == ["C"]
    # The kiosk, without a restart, offers the new list; C takes no new customer.
    kiosk.follow_to(b.last_seq)
    assert kiosk.offered() == ["A", "B", "D"]
    assert issue(server, "C").json()["error"]["code"] == "service_disabled"
    assert issue(server, "D").status_code == 201
    # The teller's call carries on, and the next calls work; C's customers are still called.
    assert counter1.post("/counters/1/start").status_code == 200, called
    assert counter1.post("/counters/1/finish").status_code == 200
    assert counter1.post("/counters/1/call-next").json()["ticket"]["service"] == "A"
    for _ in range(2):
        ticket = counter3.post("/counters/3/call-next").json()["ticket"]
        assert ticket["service"] == "C"
        assert counter3.post("/counters/3/start").status_code == 200
        assert counter3.post("/counters/3/finish").status_code == 200
    # Drained: C goes, from the branch and from the kiosk's model.
    # (checked at each of the follower's polls, which come every 50 ms)
    assert server.app.state.head_office.downlink.wait_until(
        lambda: bool(kinds(server.db, "config.business_retired")), WAIT_S
    )
    assert "C" not in server.engine.branch.services
    [retired] = kinds(server.db, "config.business_retired")
    assert retired["data"]["services"] == ["C"]
    kiosk.follow_to(server.engine.branch.last_seq)
    assert "C" not in kiosk.model.services
    assert server.engine.branch.counters[3].skills[0].service == "B"


def test_local_edits_of_what_the_branch_may_edit_survive_a_new_version(branch, link):
    server = branch
    manager = server.client("manager")
    link.centre.publish("config", body(catalogue(notice="总行公告一")))
    assert reported(link, 1)["outcome"] == "applied"
    assert server.engine.branch.settings.notice == "总行公告一"
    assert manager.put("/branch/notice", json={"text": "本网点今日装修"}).status_code == 200
    r = manager.put("/counters/2/skills", json={"skills": [{"service": "B"}]})
    assert r.status_code == 200
    link.centre.publish("config", body(catalogue(notice="总行公告二")))
    report = reported(link, 2)
    assert report["outcome"] == "applied"
    assert report["effective"]["notice"] == "本网点今日装修"
    assert report["effective"]["counters.skills"]["2"] == ["B"]
    assert server.engine.branch.settings.notice == "本网点今日装修"
    version = manager.get("/config/version").json()
    assert version["version"] == 2 and version["template"] == {"id": "retail", "version": 3}
    assert version["overridden"] == {"services.A.target_wait_min": "region"}
    assert sorted(version["edited_here"]) == ["counters.skills", "notice"]
    # A notice the centre does not let the branch edit is the centre's.
    link.centre.publish("config", body(catalogue(notice="总行公告三"), editable=()))
    assert reported(link, 3)["outcome"] == "applied"
    assert server.engine.branch.settings.notice == "总行公告三"


def test_an_invalid_catalogue_is_refused_and_changes_nothing(branch, link):
    server = branch
    seq = server.engine.branch.last_seq
    bad = catalogue(bundles=[{"code": "X", "names": {"zh": "套餐"}, "service": "Z"}])
    link.centre.publish("config", body(bad))
    report = reported(link, 1)
    assert report["outcome"] == "refused" and report["reason"].startswith("invalid_config:")
    assert "D" not in server.engine.branch.services
    assert kinds(server.db, "config.applied") == []
    events = server.client("manager").get("/alerts").json()
    assert [a["subject"]["code"] for a in events if a["kind"] == "head_office_refused"] == [
        "invalid_config"
    ]
    assert server.engine.branch.last_seq == seq + 1  # the alert only
