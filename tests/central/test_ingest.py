"""Ingest on a real PostgreSQL: exactly once, gaps refused, divergence quarantined, atomic."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from branch_day import BRANCH_ID, TZ, event, run_day

from central.branches import enrol
from central.storage import ingest
from central.storage.ingest import Refused
from wire.shipping import Batch, ShippedEvent, event_digest


def open_log(conn: psycopg.Connection, branch: str = BRANCH_ID) -> str:
    enrol(conn, branch, f"支行 {branch}", "east", "华东")
    log_id = str(uuid.uuid4())
    ingest.hello(conn, branch, {
        "branch": branch, "log_id": log_id, "first_seq": 1, "restored_from": None,
        "software_version": "test", "backlog": 0, "profile": {},
    })  # fmt: skip
    return log_id


def batch(log_id: str, events: list[ShippedEvent], branch: str = BRANCH_ID) -> Batch:
    return {"branch": branch, "log_id": log_id, "events": events}


def stored(conn: psycopg.Connection, log_id: str) -> tuple[int, int]:
    n = conn.execute("SELECT count(*) FROM events WHERE log_id = %s", (log_id,)).fetchone()
    w = conn.execute("SELECT watermark FROM branch_logs WHERE log_id = %s", (log_id,)).fetchone()
    assert n is not None and w is not None
    return n[0], w[0]


def test_a_redelivered_batch_is_acknowledged_and_stored_once(central_dsn: str) -> None:
    with psycopg.connect(central_dsn) as conn:
        log_id = open_log(conn)
        first = ingest.ingest(conn, BRANCH_ID, batch(log_id, [event(s) for s in range(1, 6)]))
        again = ingest.ingest(conn, BRANCH_ID, batch(log_id, [event(s) for s in range(3, 9)]))
        assert (first["stored"], first["watermark"]) == (5, 5)
        assert (again["stored"], again["duplicates"], again["watermark"]) == (3, 3, 8)
        assert stored(conn, log_id) == (8, 8)


def test_a_gap_is_refused_with_the_log_state_and_nothing_stored(central_dsn: str) -> None:
    with psycopg.connect(central_dsn) as conn:
        log_id = open_log(conn)
        ingest.ingest(conn, BRANCH_ID, batch(log_id, [event(1), event(2)]))
        with pytest.raises(Refused) as refused:
            ingest.ingest(conn, BRANCH_ID, batch(log_id, [event(4), event(5)]))
        assert (refused.value.status, refused.value.code) == (409, "gap")
        assert refused.value.state is not None and refused.value.state["watermark"] == 2
        with pytest.raises(Refused, match="skips"):
            ingest.ingest(conn, BRANCH_ID, batch(log_id, [event(3), event(5)]))
        assert stored(conn, log_id) == (2, 2)


def test_a_divergent_event_is_quarantined_and_the_original_kept(central_dsn: str) -> None:
    with psycopg.connect(central_dsn) as conn:
        log_id = open_log(conn)
        ingest.ingest(conn, BRANCH_ID, batch(log_id, [event(1), event(2)]))
        ack = ingest.ingest(conn, BRANCH_ID, batch(log_id, [event(2, note="other"), event(3)]))
        assert (ack["quarantined"], ack["stored"], ack["watermark"]) == (1, 1, 3)
        kept = conn.execute(
            "SELECT body->'data'->>'text' FROM events WHERE log_id = %s AND seq = 2", (log_id,)
        ).fetchone()
        assert kept == ("n2",)
        assert ingest.quarantined_by_branch(conn) == {BRANCH_ID: 1}


def test_a_bad_digest_refuses_the_whole_batch(central_dsn: str) -> None:
    with psycopg.connect(central_dsn) as conn:
        log_id = open_log(conn)
        forged = event(2)
        forged["body"] = {"data": {"text": "changed on the way"}}
        with pytest.raises(Refused) as refused:
            ingest.ingest(conn, BRANCH_ID, batch(log_id, [event(1), forged, event(3)]))
        assert (refused.value.status, refused.value.code) == (422, "bad_digest")
        assert stored(conn, log_id) == (0, 0)


def test_a_batch_across_a_month_boundary_lands_in_two_partitions(central_dsn: str) -> None:
    eve = datetime(2026, 3, 31, 23, 59, 59, tzinfo=TZ).astimezone(TZ)  # 15:59 UTC: March
    late = datetime(2026, 4, 1, 8, 0, 1, tzinfo=TZ)  # 00:00:01 UTC: April
    with psycopg.connect(central_dsn) as conn:
        log_id = open_log(conn)
        ingest.ingest(conn, BRANCH_ID, batch(log_id, [event(1, eve), event(2, late)]))
        rows = conn.execute(
            "SELECT seq, tableoid::regclass::text FROM events ORDER BY seq"
        ).fetchall()
    assert rows == [(1, "events_y2026m03"), (2, "events_y2026m04")]


def test_events_and_watermark_commit_together_or_not_at_all(central_dsn: str) -> None:
    """The read models fail after the events were inserted: neither events nor watermark move."""
    with psycopg.connect(central_dsn) as conn:
        log_id = open_log(conn)
        ingest.ingest(conn, BRANCH_ID, batch(log_id, [event(1)]))
        conn.execute("ALTER TABLE live_branch ADD CONSTRAINT refuse CHECK (waiting < 0) NOT VALID")
        conn.commit()
        with pytest.raises(psycopg.errors.CheckViolation):
            ingest.ingest(conn, BRANCH_ID, batch(log_id, [event(2), event(3)]))
        conn.rollback()
        assert stored(conn, log_id) == (1, 1)


def test_two_branches_and_two_months_ingest_concurrently(central_dsn: str) -> None:
    """Each branch's first batch needs a new month partition at the same moment."""
    with psycopg.connect(central_dsn) as conn:
        logs = {b: open_log(conn, b) for b in ("B001", "B002")}
    may = datetime(2026, 5, 2, 12, 0, tzinfo=TZ)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def ship(branch: str) -> None:
        try:
            with psycopg.connect(central_dsn) as conn:
                start.wait(timeout=10)
                for first in range(1, 200, 50):
                    events = [
                        event(s, may + timedelta(seconds=s)) for s in range(first, first + 50)
                    ]
                    ingest.ingest(conn, branch, batch(logs[branch], events, branch))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ship, args=(b,)) for b in logs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    with psycopg.connect(central_dsn) as conn:
        for log_id in logs.values():
            assert stored(conn, log_id) == (200, 200)


def test_the_figures_match_the_branch_report_for_a_simulated_day(
    central_dsn: str, tmp_path: Path
) -> None:
    day = run_day(tmp_path, seed=7)
    with psycopg.connect(central_dsn) as conn:
        enrol(conn, BRANCH_ID, "测试支行", "east")
        log_id = str(uuid.uuid4())
        services = [{"code": "A", "target_wait_s": 600}, {"code": "B", "target_wait_s": 600},
                    {"code": "C", "target_wait_s": 900}]  # fmt: skip
        ingest.hello(conn, BRANCH_ID, {
            "branch": BRANCH_ID, "log_id": log_id, "first_seq": 1, "restored_from": None,
            "software_version": "test", "backlog": 0, "profile": {"services": services},
        })  # fmt: skip
        for i in range(0, len(day.events), 37):  # odd batches: legs span batch edges
            ingest.ingest(conn, BRANCH_ID, batch(log_id, day.events[i : i + 37]))
        rows = conn.execute(
            "SELECT service, issued, called, served, no_show, cancelled, within_target, "
            "wait_sum_s, rating_count, rating_sum FROM daily_business "
            "WHERE business_day = %s ORDER BY service",
            (day.day,),
        ).fetchall()
        live = conn.execute("SELECT waiting FROM live_branch").fetchone()
        health = conn.execute("SELECT health, since FROM device_health").fetchall()
    centre = {r[0]: r[1:] for r in rows}
    for b in day.report["by_business"]:
        issued, called, served, no_show, cancelled, within, wait_sum, rated, rating_sum = centre[
            b["service"]
        ]
        assert (issued, called, served, no_show, cancelled) == (
            b["issued"], b["called"], b["served"], b["no_show"], b["cancelled"]
        )  # fmt: skip
        assert rated == b["rated"]
        assert rating_sum == sum(int(r) * n for r, n in b["ratings"].items())
        if called:
            assert round(within / called, 4) == b["within_target"]
            assert round(wait_sum / called, 1) == b["mean_wait_s"]
    assert sum(r[1] for r in rows) == day.report["totals"]["issued"] > 100
    waiting = sum(1 for e in day.events if e["kind"] == "ticket.issued")  # bound, not the figure
    assert live is not None and 0 <= live[0] < waiting
    assert [h[0] for h in health] == ["warning"]


def test_ten_full_batches_store_every_event_once(central_dsn: str) -> None:
    """Batches at the size limit, back to back, as a backfill sends them (the rate is
    `branchq bench central`'s business, not a test's)."""
    with psycopg.connect(central_dsn) as conn:
        log_id = open_log(conn)
        events = [event(s) for s in range(1, 10_001)]
        for i in range(0, len(events), 1000):
            ingest.ingest(conn, BRANCH_ID, batch(log_id, events[i : i + 1000]))
        assert stored(conn, log_id) == (10_000, 10_000)


def _issued(seq: int, ticket_id: int, at: datetime) -> ShippedEvent:
    stamp = at.isoformat()
    ticket = {
        "id": ticket_id, "number": f"A{ticket_id:03d}", "service": "A",
        "business_day": at.date().isoformat(), "arrived_at": stamp, "issued_at": stamp,
        "priority": "regular", "state": "waiting", "leg": 0, "counter": None,
    }  # fmt: skip
    body: dict[str, object] = {"ticket": ticket}
    return {"seq": seq, "at": stamp, "kind": "ticket.issued", "v": 1, "body": body,
            "sha256": event_digest(seq, stamp, "ticket.issued", 1, body)}  # fmt: skip


def test_a_restored_branchs_reused_ticket_ids_are_new_customers_not_replacements(
    central_dsn: str,
) -> None:
    """A copy restored at seq 1 gives ticket 2's id to a new customer: the centre was told
    of the first ticket 2 before the restore, and keeps counting both."""
    t0 = datetime.fromisoformat("2026-12-07T09:00:00+08:00")
    with psycopg.connect(central_dsn) as conn:
        old = open_log(conn)
        ingest.ingest(conn, BRANCH_ID, batch(old, [_issued(1, 1, t0), _issued(2, 2, t0)]))
        new = str(uuid.uuid4())
        ingest.hello(conn, BRANCH_ID, {
            "branch": BRANCH_ID, "log_id": new, "first_seq": 2, "restored_from": old,
            "software_version": "test", "backlog": 0, "profile": {},
        })  # fmt: skip
        later = t0 + timedelta(minutes=30)
        ingest.ingest(conn, BRANCH_ID, batch(new, [_issued(2, 2, later)]))
        issued = conn.execute(
            "SELECT issued FROM daily_business WHERE branch_id = %s", (BRANCH_ID,)
        ).fetchone()
        waiting = conn.execute(
            "SELECT count(*) FROM live_tickets WHERE branch_id = %s", (BRANCH_ID,)
        ).fetchone()
    assert issued == (3,) and waiting == (3,)
