"""What each kind of head-office document may change at a branch — and proof that none of
them reaches into the queue: applied on a serving branch, one document of every kind the
branch takes writes only its own kinds of event, and every ticket, call, counter, sign-in
and booking is as it was."""

from __future__ import annotations

import json
import sqlite3
import sys
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from conftest import TEST_CONFIG, LiveServer, sign_in

from central.vip import seal
from wire.vip import seal_context

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shipping_double as sd
from test_knowledge import document as knowledge_document

centre_cert, link, branch = sd.centre_cert, sd.link, sd.branch  # fixtures
WAIT_S = 15.0


def config_body() -> dict[str, Any]:
    services = [dict(s) for s in TEST_CONFIG["services"]]
    services[0]["names"] = {"zh": "现金业务", "en": "Cash desk"}
    services.append({"code": "D", "names": {"zh": "理财", "en": "Wealth"},
                     "target_wait_min": 20, "mean_min": 15})  # fmt: skip
    catalogue = {"services": services, "bundles": [], "appointments": {},
                 "notice": "欢迎光临"}  # fmt: skip
    return {"catalogue": catalogue, "branch_editable": ["counters.skills", "notice"],
            "overridden": {}, "template": {"id": "retail", "version": 1}}  # fmt: skip


def vip_body(server: LiveServer) -> dict[str, Any]:
    """A list of one, its key and pepper sealed to the branch's own key as the centre does."""
    entry = "ab" * 32  # a keyed hash, as the centre sends it: never an ID number
    branch_name = server.app.state.head_office.office.branch
    secrets = json.dumps({"pepper": "00" * 32, "keys": {"1": "11" * 32}}).encode()
    recipient = server.app.state.head_office.vip_key.public_raw()
    return {"hash": {"algorithm": "scrypt", "n": 2, "r": 1, "p": 1},
            "list_id": 1, "keys": [{"generation": 1, "entries": {entry: 1}}],
            "sealed": seal(recipient, secrets, seal_context(branch_name, "vip", 1))}  # fmt: skip


def centre_notice(server: LiveServer) -> Any:
    return server.client("display").get("/snapshot").json()["branch"]["centre_notice"]


# Every kind of document the branch takes: a sample, the only kinds of event it may write,
# and how to see it took effect (so the test cannot pass on a document that did nothing).
# A kind registered without an entry here fails the test: whoever adds one says what it
# may touch.
Effect = tuple[Callable[[datetime, LiveServer], dict[str, Any]], set[str],
               Callable[[LiveServer, dict[str, Any]], bool]]  # fmt: skip
EFFECTS: dict[str, Effect] = {
    "config": (
        lambda now, server: config_body(),
        {"config.applied", "service.updated", "branch.notice"},
        lambda server, report: "D" in server.engine.branch.services,
    ),
    "notice": (
        lambda now, server: {
            "text": "总行通知：系统升级",
            "from": "hq",
            "until": (now + timedelta(hours=2)).isoformat(),
        },
        {"branch.centre_notice"},
        lambda server, report: centre_notice(server) is not None,
    ),
    # The VIP list is a table of its own: no event at all.
    "vip": (
        lambda now, server: vip_body(server),
        set(),
        lambda server, report: report["effective"]["customers"] == 1,
    ),
    "knowledge": (
        lambda now, server: knowledge_document(1, ["居民身份证"])["body"],
        {"knowledge.applied"},  # tables of its own; the event only tells the counters
        lambda server, report: report["effective"]["pages"] == 2,
    ),
}
QUEUE_EVENTS = ("ticket.", "counter.", "appointment.", "staff.")
# The branch's own watch on its hall may raise or clear an alert at any moment (a business
# over its target): not the document's doing, and no change to the queue.
WATCHING = {"alert.raised", "alert.cleared"}


def queue_state(server: LiveServer) -> Any:
    b = server.engine.branch
    tickets = {i: (t.number, t.state, t.counter, t.called_at, t.recall_count, t.service)
               for i, t in b.tickets.items()}  # fmt: skip
    counters = {n: (c.state, c.staff_id, c.skills) for n, c in b.counters.items()}
    bookings = {i: (a.state, a.service, a.slot_start) for i, a in b.appointments.items()}
    return tickets, counters, bookings


def events_after(db: Path, seq: int) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [k for (k,) in conn.execute("SELECT kind FROM events WHERE seq > ?", (seq,))]
    finally:
        conn.close()


def test_no_kind_of_head_office_document_reaches_the_queue(branch, link, clock):
    server = branch
    counter1 = sign_in(server, 1)
    sign_in(server, 3)
    kiosk = server.client("kiosk")
    for code in ("A", "A", "B", "C"):
        r = kiosk.post("/tickets", json={"service": code},
                       headers={"Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
        assert r.status_code == 201, r.text
    assert counter1.post("/counters/1/call-next").status_code == 200
    taken = server.app.state.head_office.appliers.kinds()
    assert set(taken) >= {"config", "notice", "vip", "knowledge"}
    assert set(taken) <= set(EFFECTS), f"say what these may touch: {set(taken) - set(EFFECTS)}"

    for kind in taken:
        sample, allowed, took_effect = EFFECTS[kind]
        before, seq = queue_state(server), server.engine.branch.last_seq
        link.centre.publish(kind, sample(clock(), server))
        link.centre.wait_for(lambda k=kind: bool(link.centre.reports_of(k, 1)), WAIT_S)
        report = link.centre.reports_of(kind, 1)[0]
        assert report["outcome"] == "applied", report
        assert took_effect(server, report), f"{kind}: the sample did nothing, so proves nothing"
        written = events_after(server.db, seq)
        assert set(written) <= allowed | WATCHING, (kind, written)
        assert not [k for k in written if k.startswith(QUEUE_EVENTS)], (kind, written)
        assert queue_state(server) == before, kind

    # And the queue works on: the teller finishes the call and calls a customer who waited.
    waiting = {t.number for t in server.engine.branch.tickets.values() if t.state == "waiting"}
    assert counter1.post("/counters/1/start").status_code == 200
    assert counter1.post("/counters/1/finish").status_code == 200
    assert counter1.post("/counters/1/call-next").json()["ticket"]["number"] in waiting
