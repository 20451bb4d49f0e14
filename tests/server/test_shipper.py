"""The branch ships its event log to the head office: in order, exactly once, across cuts,
gaps and a restore from an old copy, with no personal data, and never slowing a teller."""

from __future__ import annotations

import shutil
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LiveServer, sign_in

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shipping_double as sd

from queue_server.shipper import shipped_event

Link = sd.Link
centre_cert, link = sd.centre_cert, sd.link  # fixtures


def local_events(db: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT seq, at, kind, v, body FROM events ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [(s, shipped_event(s, a, k, v, b)["sha256"]) for s, a, k, v, b in rows]


def centre_events(link: Link, log_id: str) -> list[tuple[int, str]]:
    with link.centre.changed:
        events = link.centre.logs[log_id].events
        return [(s, events[s]["sha256"]) for s in sorted(events)]


def log_id_of(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("SELECT value FROM meta WHERE key = 'log_id'").fetchone()[0])
    finally:
        conn.close()


def shipped_up_to(link: Link, log_id: str, seq: int) -> None:
    def there() -> bool:
        log = link.centre.logs.get(log_id)
        return log is not None and log.watermark >= seq

    link.centre.wait_for(there)


@pytest.fixture
def shipping(branch_db, clock, link) -> Iterator[LiveServer]:
    """The branch serving with the head office set, its first tickets already shipped."""
    server = LiveServer(branch_db[0], branch_db[1], clock, head_office=link.office()).start()
    try:
        issue(server, 3)
        shipped_up_to(link, log_id_of(server.db), server.engine.branch.last_seq)
        yield server
    finally:
        server.stop()


def issue(server: LiveServer, count: int) -> None:
    kiosk = server.client("kiosk")
    for _ in range(count):
        r = kiosk.post("/tickets", json={"service": "A"},
                       headers={"Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
        assert r.status_code == 201, r.text


def test_events_arrive_in_order_exactly_once_across_a_cut_and_a_lost_ack(shipping, link):
    server = shipping
    log_id = log_id_of(server.db)
    issue(server, 3)
    shipped_up_to(link, log_id, server.engine.branch.last_seq)
    link.proxy.set_mode("reset")  # the WAN goes: open connections reset, new ones refused
    issue(server, 5)  # the branch carries on
    link.centre.lose_next_ack = True  # the first batch after the cut is stored, ack lost
    link.centre.stale_next_hello = True  # and the centre answers as of seq 1: a resend
    link.proxy.set_mode("pass")
    shipped_up_to(link, log_id, server.engine.branch.last_seq)
    link.centre.wait_for(lambda: link.centre.duplicates > 0)  # the resend came
    issue(server, 2)
    shipped_up_to(link, log_id, server.engine.branch.last_seq)
    assert centre_events(link, log_id) == local_events(server.db)
    assert link.centre.stored == len(local_events(server.db))  # each stored once
    # The shipper takes in the centre's acknowledgement just after the centre stored the
    # batch: wait for it to say so.
    shipper = server.app.state.head_office.shipper
    assert shipper.wait_until(
        lambda: (
            shipper.status(server.engine.branch.last_seq)["backlog"] == 0
            and shipper.status(server.engine.branch.last_seq)["link"] == "connected"
        ),
        timeout=15,
    )
    status = server.client("manager").get("/head-office").json()
    assert status["link"] == "connected" and status["backlog"] == 0
    assert status["last_ack_at"] and status["log_id"] == log_id


def test_a_gap_at_the_centre_resumes_from_its_watermark(shipping, link):
    server = shipping
    log_id = log_id_of(server.db)
    issue(server, 4)
    shipped_up_to(link, log_id, server.engine.branch.last_seq)
    link.centre.forget_after(log_id, 2)  # the centre lost everything after seq 2
    issue(server, 1)  # the next batch starts beyond the centre's watermark: 409 gap
    link.centre.wait_for(lambda: link.centre.gaps > 0)
    shipped_up_to(link, log_id, server.engine.branch.last_seq)
    assert centre_events(link, log_id) == local_events(server.db)


def test_a_restored_database_ships_under_a_new_log_from_the_fork(branch_db, clock, link):
    db, tokens = branch_db
    backup = db.with_name("backup.db")
    server = LiveServer(db, tokens, clock, head_office=link.office()).start()
    try:
        old_log = log_id_of(db)
        issue(server, 2)
        shipped_up_to(link, old_log, server.engine.branch.last_seq)
        source, copy = sqlite3.connect(db), sqlite3.connect(backup)
        source.backup(copy)  # the nightly copy
        source.close(), copy.close()
        fork = max(s for s, _ in local_events(backup))
        issue(server, 3)  # the day goes on, and reaches the centre
        shipped_up_to(link, old_log, server.engine.branch.last_seq)
    finally:
        server.stop()
    held = centre_events(link, old_log)
    for suffix in ("", "-wal", "-shm"):  # the disk dies; the old copy is put back
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    shutil.copyfile(backup, db)
    server = LiveServer(db, tokens, clock, head_office=link.office()).start()
    try:
        link.centre.wait_for(lambda: any(h["restored_from"] for h in link.centre.hellos))
        issue(server, 1)
        new_log = log_id_of(db)
        assert new_log != old_log
        shipped_up_to(link, new_log, server.engine.branch.last_seq)
        new = link.centre.logs[new_log]
        assert (new.first_seq, new.restored_from) == (fork + 1, old_log)
        assert centre_events(link, new_log) == [e for e in local_events(db) if e[0] > fork]
        assert centre_events(link, old_log) == held  # nothing the centre held overwritten
        audit = server.client("manager").get("/audit").json()
        restored = [a for a in audit if a["action"] == "log.restored"]
        assert restored and restored[0]["after"]["restored_from"] == old_log
        status = server.client("manager").get("/head-office").json()
        assert status["restored_from"] == old_log and status["first_seq"] == fork + 1
    finally:
        server.stop()


def test_calls_stay_prompt_while_the_centre_is_blackholed_or_down(branch_db, clock, link):
    # The shipper waits up to 30 s on the hole; a call waiting on it would show.
    office = link.office(timeout_s=30.0)
    server = LiveServer(branch_db[0], branch_db[1], clock, head_office=office).start()
    try:
        _prompt_while_stuck(server, link)
    finally:
        server.stop()


def _prompt_while_stuck(server: LiveServer, link: sd.Link) -> None:
    log_id = log_id_of(server.db)
    issue(server, 1)
    shipped_up_to(link, log_id, server.engine.branch.last_seq)
    link.proxy.set_mode("blackhole")
    swallowed = link.proxy.swallowed
    issue(server, 1)  # wakes the shipper, which sends into the hole and waits there
    assert link.proxy.wait_for(lambda: link.proxy.swallowed > swallowed)
    teller = sign_in(server, 1)
    manager = server.client("manager")
    for _ in range(3):
        started = time.monotonic()
        issue(server, 1)
        for step in ("call-next", "start", "finish"):
            assert teller.post(f"/counters/1/{step}").status_code == 200, step
        assert manager.get("/head-office").status_code == 200
        assert time.monotonic() - started < 3.0
    link.proxy.set_mode("reset")  # let go of the held connections, then
    link.server.stop()  # the centre goes down altogether
    link.proxy.set_mode("pass")
    started = time.monotonic()
    issue(server, 2)
    assert time.monotonic() - started < 3.0
    assert manager.get("/head-office").json()["backlog"] >= 2
