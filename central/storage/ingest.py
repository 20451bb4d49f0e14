"""Ingest of a branch's shipped events: each batch in one transaction with its log's watermark.

A batch is checked whole before anything is stored (every digest recomputed, the sequence
consecutive and starting at or below watermark + 1), then, under a lock on the log's row:
events already stored are compared by digest (the same: a resend, dropped; another:
divergent history, quarantined and alarmed on, never overwritten), the new ones inserted
with ON CONFLICT DO NOTHING, the watermark moved to the last of them, the read models
updated and the network channel notified, all in one commit. A failure anywhere leaves
neither events nor watermark moved.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg

from central.storage import booking, projections
from wire.shipping import (
    MAX_BATCH,
    Ack,
    Batch,
    Digests,
    Hello,
    LogState,
    ShippedEvent,
    canonical_body,
    event_digest,
)

log = logging.getLogger("central.ingest")

NETWORK_CHANNEL = "network"  # NOTIFY payload: the branch id whose figures changed
MAX_DIGESTS = 1000


class Refused(Exception):
    """A request refused whole, nothing stored: an HTTP status, a stable code, and the log's
    state when the branch needs it to resume."""

    def __init__(self, status: int, code: str, message: str, state: LogState | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.state = state


@dataclass(frozen=True, slots=True)
class Incoming:
    """One shipped event, its digest checked and its time parsed."""

    seq: int
    at: datetime
    kind: str
    v: int
    body: dict[str, Any]
    body_text: str  # the body's canonical JSON, as stored
    sha256: bytes

    @property
    def month(self) -> date:
        at = self.at.astimezone(UTC)
        return date(at.year, at.month, 1)


def _log_uuid(log_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(log_id)
    except (ValueError, AttributeError, TypeError):
        raise Refused(422, "invalid_log_id", "a log id is a UUID") from None


def checked(events: list[ShippedEvent]) -> list[Incoming]:
    """The batch's events with their digests recomputed; Refused when any is off."""
    if len(events) > MAX_BATCH:
        raise Refused(413, "batch_too_large", f"at most {MAX_BATCH} events a batch")
    out = []
    for e in events:
        body_text = canonical_body(e["body"])
        try:
            digest = event_digest(
                e["seq"], e["at"], e["kind"], e["v"], e["body"], body_text=body_text
            )
        except UnicodeEncodeError:  # a lone surrogate escaped in the JSON: no text can hold it
            raise Refused(
                422, "invalid_event", f"event {e['seq']}: not valid Unicode text"
            ) from None
        if digest != e["sha256"]:
            raise Refused(
                422, "bad_digest", f"event {e['seq']}: the digest does not match its content"
            )
        try:
            at = datetime.fromisoformat(e["at"])
        except ValueError:
            raise Refused(422, "invalid_event", f"event {e['seq']}: `at` is not a time") from None
        if at.tzinfo is None:
            raise Refused(422, "invalid_event", f"event {e['seq']}: `at` has no UTC offset")
        out.append(
            Incoming(e["seq"], at, e["kind"], e["v"], e["body"], body_text, bytes.fromhex(digest))
        )
    for before, after in itertools.pairwise(out):
        if after.seq != before.seq + 1:
            raise Refused(409, "gap", f"the batch skips from {before.seq} to {after.seq}")
    return out


# ------------------------------------------------------------------------ logs
def hello(conn: psycopg.Connection, branch: str, said: Hello) -> LogState:
    """Register the branch's log when new and keep what it says of itself."""
    log_id = _log_uuid(said["log_id"])
    restored_from = _log_uuid(said["restored_from"]) if said["restored_from"] else None
    if said["first_seq"] < 1:
        raise Refused(422, "invalid_first_seq", "a log's first seq is at least 1")
    with conn.transaction():
        conn.execute(
            "INSERT INTO branch_logs (branch_id, log_id, first_seq, watermark, restored_from) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (branch_id, log_id) DO NOTHING",
            (branch, log_id, said["first_seq"], said["first_seq"] - 1, restored_from),
        )
        profile = said["profile"]
        conn.execute(
            "UPDATE branches SET profile = %s, software_version = %s, backlog = %s, "
            "timezone = COALESCE(%s, timezone), last_contact_at = now() WHERE id = %s",
            (
                psycopg.types.json.Jsonb(profile),
                said["software_version"],
                max(0, said["backlog"]),
                profile.get("timezone") if isinstance(profile.get("timezone"), str) else None,
                branch,
            ),
        )
        projections.save_profile(conn, branch, profile)
        booking.save_reach(conn, branch, said)
        return _state(conn, branch, log_id)


def log_state(conn: psycopg.Connection, branch: str, log_id: str) -> LogState:
    with conn.transaction():
        return _state(conn, branch, _log_uuid(log_id))


def _unknown_log(branch: str, log_id: uuid.UUID) -> Refused:
    return Refused(404, "unknown_log", f"log {log_id} of {branch} is not known: say hello")


def _state(conn: psycopg.Connection, branch: str, log_id: uuid.UUID) -> LogState:
    row = conn.execute(
        "SELECT l.first_seq, l.watermark, e.sha256 FROM branch_logs l "
        "LEFT JOIN events e ON e.branch_id = l.branch_id AND e.log_id = l.log_id "
        "AND e.seq = l.watermark WHERE l.branch_id = %s AND l.log_id = %s",
        (branch, log_id),
    ).fetchone()
    if row is None:
        raise _unknown_log(branch, log_id)
    first_seq, watermark, sha = row
    return {
        "log_id": str(log_id),
        "first_seq": first_seq,
        "watermark": watermark,
        "sha256_at_watermark": None if sha is None else bytes(sha).hex(),
    }


def digests(conn: psycopg.Connection, branch: str, log_id: str, after: int, limit: int) -> Digests:
    """Stored digests after `after` in seq order, to find where a restored copy forked."""
    log_uuid = _log_uuid(log_id)
    with conn.transaction():
        _state(conn, branch, log_uuid)
        rows = conn.execute(
            "SELECT seq, sha256 FROM events WHERE branch_id = %s AND log_id = %s AND seq > %s "
            "ORDER BY seq LIMIT %s",
            (branch, log_uuid, after, max(0, min(limit, MAX_DIGESTS))),
        ).fetchall()
    return {"log_id": str(log_uuid), "digests": [(seq, bytes(sha).hex()) for seq, sha in rows]}


# ---------------------------------------------------------------------- ingest
def ingest(conn: psycopg.Connection, branch: str, batch: Batch) -> Ack:
    """Store one batch (see the module's text); Refused with nothing stored otherwise."""
    log_id = _log_uuid(batch["log_id"])
    events = checked(batch["events"])
    ensure_partitions(conn, {e.month for e in events})
    with conn.transaction():
        row = conn.execute(
            "SELECT first_seq, watermark FROM branch_logs "
            "WHERE branch_id = %s AND log_id = %s FOR UPDATE",
            (branch, log_id),
        ).fetchone()
        if row is None:
            raise _unknown_log(branch, log_id)
        first_seq, watermark = row
        if events and (events[0].seq < first_seq or events[0].seq > watermark + 1):
            raise Refused(
                409,
                "gap",
                f"the batch starts at {events[0].seq}; the centre holds up to {watermark}",
                _state(conn, branch, log_id),
            )
        resent = [e for e in events if e.seq <= watermark]
        fresh = [e for e in events if e.seq > watermark]
        quarantined = _compare_resent(conn, branch, log_id, resent)
        stored = _insert(conn, branch, log_id, fresh)
        if fresh:
            conn.execute(
                "UPDATE branch_logs SET watermark = %s WHERE branch_id = %s AND log_id = %s",
                (fresh[-1].seq, branch, log_id),
            )
            projections.apply(conn, branch, fresh)
        conn.execute(
            "UPDATE branches SET last_contact_at = now(), backlog = COALESCE(%s, backlog) "
            "WHERE id = %s",
            (max(0, batch["backlog"]) if "backlog" in batch else None, branch),
        )
        if fresh or quarantined:
            conn.execute("SELECT pg_notify(%s, %s)", (NETWORK_CHANNEL, branch))
        return {
            "log_id": str(log_id),
            "watermark": fresh[-1].seq if fresh else watermark,
            "stored": stored,
            "duplicates": len(resent) - quarantined,
            "quarantined": quarantined,
        }


def _compare_resent(
    conn: psycopg.Connection, branch: str, log_id: uuid.UUID, resent: list[Incoming]
) -> int:
    """Quarantine each resent event whose digest differs from the stored one; how many."""
    if not resent:
        return 0
    kept: dict[int, bytes] = dict(
        conn.execute(
            "SELECT seq, sha256 FROM events WHERE branch_id = %s AND log_id = %s AND seq = ANY(%s)",
            (branch, log_id, [e.seq for e in resent]),
        ).fetchall()
    )
    divergent = [e for e in resent if bytes(kept.get(e.seq, b"")) != e.sha256]
    for e in divergent:
        # The alarm: never the event's content (it is stored), only where it diverged.
        log.warning(
            "divergent history: branch %s log %s seq %s arrived with another digest; "
            "quarantined, the stored event kept",
            branch,
            log_id,
            e.seq,
        )
    if divergent:
        conn.cursor().executemany(
            "INSERT INTO quarantine (branch_id, log_id, seq, reason, event) "
            "VALUES (%s, %s, %s, 'divergent_digest', %s)",
            [(branch, log_id, e.seq, psycopg.types.json.Jsonb(_shipped(e))) for e in divergent],
        )
    return len(divergent)


def _shipped(e: Incoming) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": e.at.isoformat(),
        "kind": e.kind,
        "v": e.v,
        "body": e.body,
        "sha256": e.sha256.hex(),
    }


def _insert(conn: psycopg.Connection, branch: str, log_id: uuid.UUID, fresh: list[Incoming]) -> int:
    """Insert the new events in one statement (arrays unnested: one round trip a batch).

    The arrays go in binary (`%b`): in text format every JSON body in an array is escaped
    character by character, which took most of a 1,000-event batch's time. A body goes in
    as the canonical text its digest was checked over, encoded once."""
    if not fresh:
        return 0
    cur = conn.execute(
        "INSERT INTO events (branch_id, log_id, seq, at, kind, v, body, sha256) "
        "SELECT %s, %s, seq, at, kind, v, body::jsonb, sha256 FROM unnest("
        "%b::bigint[], %b::timestamptz[], %b::text[], %b::smallint[], %b::text[], %b::bytea[]"
        ") AS e (seq, at, kind, v, body, sha256) ON CONFLICT DO NOTHING",
        (
            branch,
            log_id,
            [e.seq for e in fresh],
            [e.at for e in fresh],
            [e.kind for e in fresh],
            [e.v for e in fresh],
            [e.body_text for e in fresh],
            [e.sha256 for e in fresh],
        ),
    )
    return cur.rowcount


# ------------------------------------------------------------------ partitions
_PARTITION_LOCK = 20261207  # advisory lock: one centre process creates a month at a time
# Partitions this process has seen exist, per database (BranchQ never drops one).
_made: set[tuple[str, int, str, str]] = set()


def _known(conn: psycopg.Connection, name: str) -> tuple[str, int, str, str]:
    return (conn.info.host, conn.info.port, conn.info.dbname, name)


def partition_name(month: date) -> str:
    return f"events_y{month.year:04d}m{month.month:02d}"


def ensure_partitions(conn: psycopg.Connection, months: set[date]) -> None:
    """Create the months' partitions of `events` that are missing, each in its own short
    transaction BEFORE the batch's: creating one locks the whole table, which inside a batch
    holding rows of it would deadlock with another ingest doing the same."""
    names = {partition_name(m): m for m in months}
    if all(_known(conn, n) in _made for n in names):
        return  # the common case: every batch of a month asked this again
    with conn.transaction():
        missing = [
            r[0]
            for r in conn.execute(
                "SELECT n FROM unnest(%s::text[]) AS n WHERE to_regclass(n) IS NULL",
                (sorted(names),),
            )
        ]
    _made.update(_known(conn, n) for n in names.keys() - set(missing))
    for name in missing:
        month = names[name]
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PARTITION_LOCK,))
            # Another ingest may have made it while this one waited for the lock.
            exists = conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()
            if exists is None or exists[0] is None:
                conn.execute(
                    psycopg.sql.SQL(
                        "CREATE TABLE {} PARTITION OF events FOR VALUES FROM ({}) TO ({})"
                    ).format(
                        psycopg.sql.Identifier(name),
                        psycopg.sql.Literal(f"{month.isoformat()} 00:00:00+00"),
                        psycopg.sql.Literal(f"{following.isoformat()} 00:00:00+00"),
                    )
                )
        _made.add(_known(conn, name))


def quarantined_by_branch(conn: psycopg.Connection) -> dict[str, int]:
    """The divergent-history alarm's counter: quarantined events per branch."""
    rows = conn.execute("SELECT branch_id, count(*) FROM quarantine GROUP BY branch_id")
    return {branch: n for branch, n in rows}
