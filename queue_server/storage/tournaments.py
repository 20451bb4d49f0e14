"""The policy tournaments the branch ran, and which calling policy it runs (from the event log)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

POLICY_APPLIED = "policy.applied"  # wire.EventKind.POLICY_APPLIED: storage reads the text


@dataclass(frozen=True)
class TournamentRecord:
    """One stored run: `chosen` and `result` are the verdict's JSON (None when it failed)."""

    id: int
    started_at: datetime
    finished_at: datetime
    for_day: date
    trigger: str
    actor: str
    state: str
    chosen: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    applied_at: datetime | None


def save_tournament(
    conn: sqlite3.Connection,
    *,
    started_at: datetime,
    finished_at: datetime,
    for_day: date,
    trigger: str,
    actor: str,
    chosen: dict[str, Any] | None,
    result: dict[str, Any] | None,
    error: str | None = None,
) -> int:
    """Store a finished run (inside the caller's transaction); its id."""
    cur = conn.execute(
        "INSERT INTO policy_tournaments (started_at, finished_at, for_day, trigger, actor, "
        "state, chosen, result, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            started_at.isoformat(),
            finished_at.isoformat(),
            for_day.isoformat(),
            trigger,
            actor,
            "failed" if error else "done",
            json.dumps(chosen, ensure_ascii=False) if chosen is not None else None,
            json.dumps(result, ensure_ascii=False) if result is not None else None,
            error,
        ),
    )
    return int(cur.lastrowid or 0)


def mark_applied(conn: sqlite3.Connection, tournament_id: int, at: datetime) -> None:
    conn.execute(
        "UPDATE policy_tournaments SET applied_at = ? WHERE id = ? AND applied_at IS NULL",
        (at.isoformat(), tournament_id),
    )


def _record(row: sqlite3.Row) -> TournamentRecord:
    def when(text: str | None) -> datetime | None:
        return datetime.fromisoformat(text) if text else None

    started, finished = when(row["started_at"]), when(row["finished_at"])
    assert started is not None and finished is not None
    return TournamentRecord(
        id=int(row["id"]),
        started_at=started,
        finished_at=finished,
        for_day=date.fromisoformat(row["for_day"]),
        trigger=str(row["trigger"]),
        actor=str(row["actor"]),
        state=str(row["state"]),
        chosen=json.loads(row["chosen"]) if row["chosen"] else None,
        result=json.loads(row["result"]) if row["result"] else None,
        error=row["error"],
        applied_at=when(row["applied_at"]),
    )


def latest_tournament(conn: sqlite3.Connection, done_only: bool = False) -> TournamentRecord | None:
    """The last run (only successful ones with `done_only`)."""
    where = "WHERE state = 'done' " if done_only else ""
    row = conn.execute(
        f"SELECT * FROM policy_tournaments {where}ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return _record(row) if row is not None else None


def tournament_by_id(conn: sqlite3.Connection, tournament_id: int) -> TournamentRecord | None:
    row = conn.execute("SELECT * FROM policy_tournaments WHERE id = ?", (tournament_id,)).fetchone()
    return _record(row) if row is not None else None


def choice_for(conn: sqlite3.Connection, day: date) -> TournamentRecord | None:
    """The newest successful run choosing for a day up to `day`: the one that should run then."""
    row = conn.execute(
        "SELECT * FROM policy_tournaments WHERE state = 'done' AND for_day <= ? "
        "ORDER BY for_day DESC, id DESC LIMIT 1",
        (day.isoformat(),),
    ).fetchone()
    return _record(row) if row is not None else None


def running_policy(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """The data of the last `policy.applied` event: the policy the branch runs, or None."""
    row = conn.execute(
        "SELECT body FROM events WHERE kind = ? ORDER BY seq DESC LIMIT 1", (POLICY_APPLIED,)
    ).fetchone()
    if row is None:
        return None
    body = json.loads(row[0])
    data = body.get("data")
    return {**data, "at": body.get("at")} if isinstance(data, dict) else None
