"""One change that cannot be stored fails alone: the rest of its group commits, and with
the engine's check before applying, no client is made to resync (issue 16, finding 1)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FakeClock, LiveServer

from queue_server.domain import Branch, Change, InvalidInput
from queue_server.engine import Engine
from queue_server.storage import (
    ChangeNotStored,
    CommitFailed,
    StoredChange,
    Writer,
    connect,
    load_branch,
    stored_change,
)

LONE_SURROGATE = "\ud800"  # valid in a JSON escape and a Python str; UTF-8 cannot hold it


def rows(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


def decide_issues(branch: Branch, clock: FakeClock, n: int, bad: int) -> list[StoredChange]:
    """n ticket issues decided one after the other, as the engine would; the one at `bad`
    carries a text only the writer finds it cannot store (nothing checked it first)."""
    stored = []
    for i in range(n):
        change = branch.issue_ticket("A", clock(), idempotency_key=f"kiosk-{i}")
        if i == bad:
            change.tickets[0] = replace(change.tickets[0], note="备注" + LONE_SURROGATE)
        branch.apply(change)
        stored.append(stored_change(change, branch.settings.branch_id))
    return stored


def test_the_writer_commits_the_changes_before_a_culprit_and_refuses_the_ones_after(
    branch_db: tuple[Path, dict[str, str]], clock: FakeClock
) -> None:
    db, _ = branch_db
    conn = connect(db)
    branch = load_branch(conn, clock())
    conn.close()
    first_seq = branch.last_seq + 1
    batch = decide_issues(branch, clock, 9, bad=4)
    published: list[list[tuple[int, str]]] = []

    async def run() -> list[BaseException | None]:
        writer = Writer(db, "test-001", asyncio.get_running_loop(), published.extend)
        # Queued before the thread starts: the nine changes are one group commit.
        futures = [writer.submit(s, generation=0) for s in batch]
        writer.start()
        try:
            answers = await asyncio.gather(*futures, return_exceptions=True)
            assert writer.commits == 1
            # The culprit's generation stays refused until the owner reloads …
            decided_on_it = stored_change(branch.issue_ticket("A", clock()), "test-001")
            with pytest.raises(CommitFailed):
                await writer.submit(decided_on_it, generation=0)
            # … and the next generation, decided on what was stored, commits.
            conn = connect(db)
            fresh = load_branch(conn, clock())
            conn.close()
            redecided = stored_change(fresh.issue_ticket("A", clock()), "test-001")
            await writer.submit(redecided, generation=1)
        finally:
            await asyncio.to_thread(writer.stop)
        return [a if isinstance(a, BaseException) else None for a in answers]

    answers = asyncio.run(run())
    assert answers[:4] == [None] * 4
    assert type(answers[4]) is ChangeNotStored
    assert "surrogates not allowed" in str(answers[4])
    assert all(type(a) is CommitFailed for a in answers[5:]), answers[5:]
    # Durable: exactly the four before the culprit, then the redecided one, seqs unbroken.
    stored = rows(db, "SELECT number FROM tickets ORDER BY id")
    assert stored == [("A001",), ("A002",), ("A003",), ("A004",), ("A005",)]
    seqs = [s for (s,) in rows(db, f"SELECT seq FROM events WHERE seq >= {first_seq}")]
    assert seqs == list(range(first_seq, first_seq + 5))
    assert [seq for events in published[:4] for seq, _ in events] == seqs[:4]


def test_an_unstorable_text_fails_its_command_alone_in_a_busy_group(
    branch_db: tuple[Path, dict[str, str]], clock: FakeClock
) -> None:
    db, _ = branch_db

    async def run() -> tuple[list[object], str, str, int]:
        engine = Engine(db, clock=clock)
        await engine.start()
        try:
            epoch = engine.epoch
            issues = [engine.issue_ticket("A", idempotency_key=f"k{i}") for i in range(20)]
            rename = engine.execute(
                lambda b, now: b.update_service("B", now, names={"zh": LONE_SURROGATE})
            )
            answers = await asyncio.gather(
                *issues[:10], rename, *issues[10:], return_exceptions=True
            )
            return answers, epoch, engine.epoch, engine.generation
        finally:
            await engine.stop()

    answers, epoch_before, epoch_after, generation = asyncio.run(run())
    bad = answers[10]
    assert isinstance(bad, InvalidInput) and bad.code == "unstorable_text", bad
    issued = answers[:10] + answers[11:]
    assert all(isinstance(a, tuple) for a in issued), issued
    assert (epoch_after, generation) == (epoch_before, 0)  # no reload: nobody resyncs
    numbers = [n for (n,) in rows(db, "SELECT number FROM tickets ORDER BY id")]
    assert numbers == [f"A{i:03d}" for i in range(1, 21)]
    seqs = [s for (s,) in rows(db, "SELECT seq FROM events ORDER BY seq")]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert rows(db, "SELECT names FROM services WHERE code = 'B'") == [
        (json.dumps({"zh": "其他", "en": "Other"}, ensure_ascii=False, separators=(",", ":")),)
    ]


def test_a_bad_text_beside_concurrent_issues_changes_nothing_else_over_http(
    server: LiveServer,
) -> None:
    """Whichever defence refuses it (the edge or the engine), it is a 4xx for that request
    alone: every ticket issued beside it commits, and the epoch stays."""
    epoch = server.engine.epoch
    barrier = threading.Barrier(21, timeout=30)
    answers: dict[str, httpx.Response] = {}

    def kiosk(i: int) -> None:
        with server.client("kiosk") as c:
            barrier.wait()
            answers[f"issue{i}"] = c.post(
                "/tickets", json={"service": "A"}, headers={"Idempotency-Key": f"kiosk-q{i:03d}"}
            )

    def manager() -> None:
        with server.client("manager") as c:
            body = json.dumps({"names": {"zh": LONE_SURROGATE, "en": "Other"}})
            barrier.wait()
            answers["rename"] = c.patch(
                "/services/B", content=body, headers={"Content-Type": "application/json"}
            )

    threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(20)]
    threads.append(threading.Thread(target=manager))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    rename = answers.pop("rename")
    assert rename.status_code == 422, rename.text
    assert sorted(r.status_code for r in answers.values()) == [201] * 20
    assert server.engine.epoch == epoch
    assert sorted(r.json()["number"] for r in answers.values()) == [
        f"A{i:03d}" for i in range(1, 21)
    ]


def test_a_number_the_database_already_holds_fails_alone_in_the_writer(
    branch_db: tuple[Path, dict[str, str]], clock: FakeClock
) -> None:
    """The unique number index (m008) refuses what no check before applying could see: the
    changes before it commit, it answers unstorable_change, and the engine reloads."""
    db, _ = branch_db

    def issue_a001_again(b: Branch, now: datetime) -> Change:
        change = b.issue_ticket("A", now)
        change.tickets[0] = replace(change.tickets[0], number="A001")
        return change

    async def run() -> tuple[list[Any], bool, str]:
        engine = Engine(db, clock=clock)
        await engine.start()
        try:
            await engine.issue_ticket("A")
            epoch = engine.epoch
            answers = await asyncio.gather(
                *(engine.issue_ticket("A") for _ in range(3)),
                engine.execute(issue_a001_again),
                *(engine.issue_ticket("A") for _ in range(3)),
                return_exceptions=True,
            )
            ticket, _ = await engine.issue_ticket("A")  # decided again on what was stored
            return answers, engine.epoch != epoch, ticket.number
        finally:
            await engine.stop()

    answers, reloaded, next_number = asyncio.run(run())
    assert [a[0].number for a in answers[:3]] == ["A002", "A003", "A004"]
    assert type(answers[3]) is ChangeNotStored and "UNIQUE" in str(answers[3])
    assert all(type(a) is CommitFailed for a in answers[4:]), answers[4:]
    assert reloaded and next_number == "A005"
    stored = rows(db, "SELECT id, number FROM tickets ORDER BY id")
    assert [n for _, n in stored] == ["A001", "A002", "A003", "A004", "A005"]
