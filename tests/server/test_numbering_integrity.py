"""Numbering holds without trusting that one process runs (issue 16, finding 11): the
database refuses a number handed out twice, and a second server on the same database is
refused at start-up."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

import pytest
from conftest import FakeClock, LiveServer, sign_in

from queue_server.cli import main
from queue_server.engine import Engine
from queue_server.storage import migrate
from queue_server.storage.db import MIGRATIONS, DuplicateNumbers
from queue_server.storage.lock import DatabaseInUse
from tools.harness import (
    branch_process,
    client,
    free_port,
    start_server,
    stop_process,
    wait_healthy,
)

INDEX = "tickets_unique_number"


def execute(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db)
    try:
        for sql in statements:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def schema(db: Path) -> tuple[int, list[str]]:
    conn = sqlite3.connect(db)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")]
        return version, names
    finally:
        conn.close()


def copy_ticket(db: Path, of: int, new_id: int, **changes: object) -> None:
    """Store a copy of ticket `of` as `new_id`, with some columns changed."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        row = dict(conn.execute("SELECT * FROM tickets WHERE id = ?", (of,)).fetchone())
        row.update(id=new_id, **changes)
        marks = ", ".join("?" for _ in row)
        conn.execute(f"INSERT INTO tickets ({', '.join(row)}) VALUES ({marks})", list(row.values()))
        conn.commit()
    finally:
        conn.close()


def test_m008_is_the_eighth_migration() -> None:
    assert MIGRATIONS[7].__name__ == "_m008_unique_numbers"


def test_a_database_with_a_number_given_twice_is_refused_and_named(
    server: LiveServer, branch_db: tuple[Path, dict[str, str]]
) -> None:
    db, _ = branch_db
    kiosk = server.client("kiosk")
    first, second = (kiosk.post("/tickets", json={"service": "A"}).json() for _ in range(2))
    server.stop()
    # A database from before m008, where a second server handed out A001 again as ticket 90,
    # and (same visit, leg 1) a transfer's leg that is fine: it keeps its number.
    execute(db, f"DROP INDEX {INDEX}", "PRAGMA user_version = 7")
    copy_ticket(db, first["id"], 90)
    copy_ticket(db, second["id"], 91, leg=1)

    with pytest.raises(DuplicateNumbers) as refused:
        migrate(db)
    message = str(refused.value)
    assert f"{first['business_day']} A001 leg 0: tickets {first['id']}, 90" in message
    assert "A002" not in message
    version, indexes = schema(db)
    assert version == 7 and INDEX not in indexes  # nothing changed
    assert len(execute_rows(db, "SELECT id FROM tickets WHERE id IN (90, 91)")) == 2


def test_the_server_command_says_so_in_one_line(
    branch_db: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = branch_db
    execute(db, f"DROP INDEX {INDEX}", "PRAGMA user_version = 7")
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO tickets (id, number, service, business_day, arrived_at, issued_at, "
        "priority, source, state, visit_id, leg) VALUES "
        "(1, 'A001', 'A', '2026-11-27', 't', 't', 'regular', 'kiosk', 'waiting', 1, 0), "
        "(2, 'A001', 'A', '2026-11-27', 't', 't', 'regular', 'kiosk', 'waiting', 2, 0)"
    )
    conn.commit()
    conn.close()
    assert main(["server", "--db", str(db), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the tickets table holds 1 ticket number(s) handed out")
    assert "2026-11-27 A001 leg 0: tickets 1, 2" in err


def execute_rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


def test_a_clean_database_gets_the_index_and_refuses_a_second_copy_of_a_number(
    server: LiveServer, branch_db: tuple[Path, dict[str, str]]
) -> None:
    db, _ = branch_db
    version, indexes = schema(db)
    assert version == len(MIGRATIONS) and INDEX in indexes
    kiosk = server.client("kiosk")
    issued = kiosk.post("/tickets", json={"service": "A"}).json()
    counter = sign_in(server, 1)
    # Transfers keep the number on the next leg: the index allows exactly that.
    assert counter.post("/counters/1/call-next").is_success
    moved = counter.post("/counters/1/transfer", json={"to_service": "B"})
    assert moved.status_code == 200, moved.text
    legs = execute_rows(db, f"SELECT number, leg FROM tickets WHERE visit_id = {issued['id']}")
    assert sorted(legs) == [("A001", 0), ("A001", 1)]
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        copy_ticket(db, issued["id"], 500)


def test_a_second_engine_in_the_same_process_is_refused(
    server: LiveServer, branch_db: tuple[Path, dict[str, str]], clock: FakeClock
) -> None:
    db, _ = branch_db

    async def start_another() -> None:
        engine = Engine(db, clock=clock)
        try:
            await engine.start()
        finally:
            engine.read_conn.close()

    with pytest.raises(DatabaseInUse, match=r"another BranchQ server is using .*branch\.db: pid"):
        asyncio.run(start_another())
    assert server.client("kiosk").post("/tickets", json={"service": "A"}).status_code == 201
    server.stop()
    restarted = LiveServer(db, server.tokens, clock).start()  # released on a clean stop
    try:
        assert restarted.client("kiosk").post("/tickets", json={"service": "A"}).is_success
    finally:
        restarted.stop()


@pytest.mark.slow
def test_a_second_server_process_exits_and_the_first_keeps_serving() -> None:
    with branch_process(["kiosk"]) as first:
        log_path = first.folder / "second.log"
        with log_path.open("wb") as log:
            second = start_server(first.db, free_port(), log)
        try:
            assert second.wait(60) != 0
        finally:
            stop_process(second)
        said = log_path.read_text()
        assert f"error: another BranchQ server is using {first.db}: pid {first.proc.pid}" in said
        assert "Traceback" not in said
        with first.client("kiosk") as kiosk:
            assert kiosk.post("/tickets", json={"service": "A"}).json()["number"] == "A001"

        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(30)
        port = free_port()
        with (first.folder / "third.log").open("wb") as log:
            third = start_server(first.db, port, log)
        try:
            wait_healthy(f"http://127.0.0.1:{port}", third)
            with client(f"http://127.0.0.1:{port}", first.tokens["kiosk"]) as kiosk:
                assert kiosk.post("/tickets", json={"service": "A"}).json()["number"] == "A002"
        finally:
            stop_process(third)
