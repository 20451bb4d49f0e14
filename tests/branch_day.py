"""A realistic day of one branch, made by the branch's own code, for the centre's tests.

The production `Branch` aggregate decides every step (issue, call, recall, serve, finish,
no-show, transfer, rate, cancel, device reports) and each change is written through the
branch's storage, so the events are exactly what a branch logs and its report is the
manager's own.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from conftest import TEST_CONFIG, make_db

from queue_server.domain import Change, DeviceHealth, TicketState
from queue_server.domain.errors import DomainError
from queue_server.storage import connect
from queue_server.storage.db import load_branch, write_change
from queue_server.storage.reports import read_report
from wire.shipping import ShippedEvent, event_digest, event_version

BRANCH_ID = TEST_CONFIG["branch"]["id"]
TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 10, 9, 0, tzinfo=TZ)


def event(seq: int, at: datetime | None = None, note: str = "") -> ShippedEvent:
    when = (at or START + timedelta(seconds=seq)).isoformat()
    body: dict[str, Any] = {"data": {"text": note or f"n{seq}"}}
    return {"seq": seq, "at": when, "kind": "branch.notice", "v": 1, "body": body,
            "sha256": event_digest(seq, when, "branch.notice", 1, body)}  # fmt: skip


@dataclass
class BranchDay:
    day: date
    events: list[ShippedEvent]
    report: dict[str, Any]


def shipped(row_body: str) -> ShippedEvent:
    """A stored branch event as the contract ships it (the shipper's own mapping)."""
    doc = json.loads(row_body)
    seq, at, kind = doc.pop("seq"), doc.pop("at"), doc.pop("kind")
    v = event_version(kind)
    return {"seq": seq, "at": at, "kind": kind, "v": v, "body": doc,
            "sha256": event_digest(seq, at, kind, v, doc)}  # fmt: skip


def run_day(folder: Path, seed: int, minutes: int = 180) -> BranchDay:  # noqa: C901
    path = folder / "branch.db"
    make_db(path)
    rng = random.Random(seed)
    now = datetime(2026, 3, 10, 9, 0, tzinfo=TZ)
    conn = connect(path)
    branch = load_branch(conn, now)

    def do(command: Callable[..., Change], *args: Any, **kwargs: Any) -> Change | None:
        try:
            change = branch.run(partial(command, *args, **kwargs))
        except DomainError:
            return None
        conn.execute("BEGIN IMMEDIATE")
        write_change(conn, change, BRANCH_ID)
        conn.execute("COMMIT")
        return change

    for n in (1, 2, 3):
        do(branch.sign_in, n, f"t{n}", now)
        do(branch.open_counter, n, now)
    do(branch.report_device, "kiosk-1/printer", "printer", DeviceHealth.OK, "", now)
    for minute in range(minutes):
        now += timedelta(seconds=rng.randint(30, 90))
        if minute == minutes // 2:
            do(branch.report_device, "kiosk-1/printer", "printer", DeviceHealth.WARNING, "low", now)
        for _ in range(rng.choice((0, 1, 1, 2))):
            do(branch.issue_ticket, rng.choice("AABC"), now)
        waiting = branch.waiting
        if waiting and rng.random() < 0.05:
            do(branch.cancel_ticket, rng.choice(waiting).id, now)
        for n in (1, 2, 3):
            active = branch.active_ticket(n)
            roll = rng.random()
            if active is None:
                do(branch.call_next, n, now)
            elif active.state is TicketState.CALLED:
                if roll < 0.08:
                    do(branch.no_show, n, now)
                elif roll < 0.15:
                    do(branch.recall, n, now)
                else:
                    do(branch.start_serving, n, now)
            elif roll < 0.05:
                do(branch.transfer, n, now, to_service="C")
            elif roll < 0.6:
                done = do(branch.finish, n, now)
                if done is not None and rng.random() < 0.5:
                    do(branch.rate_ticket, done.tickets[0].id, rng.randint(1, 4), now)
    conn.close()
    day = branch.business_day(now)
    report = read_report(path, day, day, now)
    reader = sqlite3.connect(path)
    events = [shipped(b) for (b,) in reader.execute("SELECT body FROM events ORDER BY seq")]
    reader.close()
    return BranchDay(day, events, report)
