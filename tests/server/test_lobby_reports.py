"""The lobby's figures in the manager's report (issue 21), computed from a real event log on
a live server: customers diverted per business and channel, the counter time that saved, and
counter time with and without pre-review. Plus bookings assigned to a relationship manager
through the booking API, and the branch migration that added them."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from conftest import FakeClock, LiveServer, sign_in
from lobby_helpers import signed_in_lobby

from queue_server.storage import migrate
from queue_server.storage.db import MIGRATIONS


def on_loop(server: LiveServer, coro: Any) -> Any:
    engine = server.engine
    return asyncio.run_coroutine_threadsafe(coro, engine._loop).result(timeout=15)


def divert(lobby: httpx.Client, service: str, channel: str) -> None:
    r = lobby.post("/lobby/divert", json={"service": service, "channel": channel})
    assert r.status_code in (200, 204), r.text


def prereview(lobby: httpx.Client, ticket_id: int) -> None:
    r = lobby.post(f"/lobby/tickets/{ticket_id}/prereview", json={"materials_reviewed": True})
    assert r.status_code == 200, r.text


def serve(server: LiveServer, counter: Any, number: int, clock: FakeClock, minutes: float) -> int:
    called = counter.post(f"/counters/{number}/call-next").json()
    tid = called["ticket"]["id"]
    assert counter.post(f"/counters/{number}/start").status_code == 200
    clock.advance(minutes=minutes)
    assert counter.post(f"/counters/{number}/finish").status_code == 200
    return tid


def test_the_report_counts_diversions_and_pre_reviews_effect_from_the_log(
    server: LiveServer, clock: FakeClock
) -> None:
    kiosk = server.client("kiosk")
    counter = sign_in(server, 1)
    lobby = signed_in_lobby(server)
    # Two customers for business A; the first is pre-reviewed and served in 2 min, the
    # second is not and takes 6 min: A's mean counter time is 4 min.
    first = kiosk.post("/tickets", json={"service": "A"}).json()
    kiosk.post("/tickets", json={"service": "A"})
    prereview(lobby, first["id"])
    assert serve(server, counter, 1, clock, 2) == first["id"]
    serve(server, counter, 1, clock, 6)
    for service, channel in [("A", "atm"), ("A", "app"), ("A", "app"), ("C", "self_service")]:
        divert(lobby, service, channel)

    r = server.client("manager").get("/reports/lobby")
    assert r.status_code == 200, r.text
    report = r.json()
    rows = {row["service"]: row for row in report["by_business"]}
    assert rows["A"]["by_channel"] == {"atm": 1, "app": 2, "self_service": 0}
    assert rows["A"]["mean_service_s"] == 240.0 and rows["A"]["saved_from"] == "measured"
    assert rows["A"]["counter_time_saved_s"] == 720.0
    assert rows["A"]["prereviewed"] == {"served": 1, "mean_counter_s": 120.0}
    assert rows["A"]["not_prereviewed"] == {"served": 1, "mean_counter_s": 360.0}
    # C served nobody today: its configured 20 min stands in.
    assert (rows["C"]["saved_from"], rows["C"]["counter_time_saved_s"]) == ("configured", 1200)
    assert (report["diverted"], report["counter_time_saved_s"]) == (4, 1920.0)
    assert server.client("counter:1").get("/reports/lobby").status_code == 403
    bad = server.client("manager").get("/reports/lobby", params={"from": "2026-12-01",
                                                                   "to": "2026-11-01"})  # fmt: skip
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_report_range")


def test_a_visit_outside_the_branch_is_not_a_booking_in_the_report(
    server: LiveServer, clock: FakeClock
) -> None:
    from queue_server.desks.lobby_desk import RelationshipDesk

    desk = RelationshipDesk(server.engine)
    made = clock() - timedelta(hours=1)
    on_loop(server, desk.record_visit(staff_id="rm1", service="C", at=made,
                                      documents_collected=["收入证明"]))  # fmt: skip
    clock.advance(hours=3)  # long past the visit's time and any grace
    appointments = server.client("manager").get("/reports").json()["appointments"]
    assert (appointments["booked"], appointments["no_shows"]) == (0, 0)


def test_a_booking_is_assigned_to_a_relationship_manager(server: LiveServer) -> None:
    booking = server.client("booking")
    slot = "2026-11-27T14:30:00+08:00"
    r = booking.post("/appointments", json={"service": "C", "slot_start": slot,
                                            "staff_id": "rm1"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["staff_id"] == "rm1"
    assert booking.get(f"/appointments/{r.json()['id']}").json()["staff_id"] == "rm1"
    bad = booking.post("/appointments", json={"service": "C", "slot_start": slot,
                                              "staff_id": "rm 1; drop"})  # fmt: skip
    assert bad.status_code == 422
    assert len(booking.get("/appointments").json()) == 1


def test_the_staff_migration_upgrades_an_older_database_and_runs_twice(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    migrate(db)
    conn = sqlite3.connect(db)
    at = datetime(2026, 11, 27, 6, 30, tzinfo=UTC).isoformat()
    conn.execute("DROP INDEX IF EXISTS idx_appointments_staff_id_slot_start")
    for column in ("staff_id", "kind", "documents_collected", "follow_up_id"):
        conn.execute(f"ALTER TABLE appointments DROP COLUMN {column}")
    conn.execute(
        "INSERT INTO appointments (id, booking_number, service, slot_start, slot_end,"
        " created_at, nonce, state) VALUES (1, 'ACDE3467', 'C', ?, ?, ?, 'n0nce-01', 'booked')",
        (at, at, at),
    )
    number = [m.__name__ for m in MIGRATIONS].index("_m017_appointment_staff")
    conn.execute(f"PRAGMA user_version = {number}")
    conn.commit()
    conn.close()
    assert migrate(db) == len(MIGRATIONS)
    MIGRATIONS[number](__import__("sqlite_utils").Database(db))  # idempotent: no error
    from queue_server.storage.appointments import appointment_from_row

    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    row = dict(conn.execute("SELECT * FROM appointments").fetchone())
    conn.close()
    old = appointment_from_row(row)
    assert (old.kind.value, old.staff_id, old.documents_collected) == ("booking", None, ())
