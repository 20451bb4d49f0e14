"""SQLite schema, migrations and the mapping between the branch's state and its tables."""

from __future__ import annotations

import json
import secrets
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from queue_server.domain import (
    STANDARD_VOICE_PACK,
    Branch,
    BranchSettings,
    Bundle,
    CallingPolicy,
    Change,
    Event,
    InvalidInput,
    Ticket,
    TicketState,
    business_day,
)
from queue_server.domain.hours import OpeningHours
from queue_server.storage.appointments import (
    appointment_statements,
    create_tables,
    last_appointment_id,
    load_appointments,
    load_rules,
    rules_statement,
)
from queue_server.storage.rows import (
    bundle_from_row,
    bundle_to_row,
    counter_from_row,
    counter_to_row,
    device_from_row,
    device_to_row,
    service_from_row,
    service_to_row,
    ticket_from_row,
    ticket_to_row,
    to_json,
)
from queue_server.wire_encode import dumps, event_wire
from wire.shipping import event_version

TICKET_COLUMNS = [f.name for f in fields(Ticket)]


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection in autocommit mode; callers open transactions explicitly."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a ticket acknowledged to a kiosk must survive a power cut.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


# ---------------------------------------------------------------- migrations
T = TypeVar("T")
Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


@migration
def _m001_initial(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("services").create(
        {
            "code": str, "prefix": str, "names": str, "target_wait_s": int,
            "mean_service_s": int, "guidance": str, "fast_lane": int, "visible": int,
            "enabled": int, "opens": str, "closes": str, "sort": int,
        },
        pk="code",
    )  # fmt: skip
    db.table("counters").create(
        {
            "number": int, "name": str, "location": str, "state": str, "staff_id": str,
            "skills": str, "pause_reason": str,
        },
        pk="number",
    )  # fmt: skip
    ticket_types: dict[str, type] = {c: str for c in TICKET_COLUMNS}
    for c in ("id", "vip_tier", "visit_id", "leg", "previous_id", "counter", "target_counter",
              "recall_count", "rating", "late_count"):  # fmt: skip
        ticket_types[c] = int
    db.table("tickets").create(ticket_types, pk="id")
    db.table("tickets").create_index(["business_day"])
    db.table("tickets").create_index(["state"])
    db.table("tickets").create_index(["token"])
    db.table("tickets").create_index(["idempotency_key"], unique=True)
    db.table("numbering").create(
        {"business_day": str, "prefix": str, "last": int}, pk=("business_day", "prefix")
    )
    db.table("events").create(
        {"seq": int, "branch_id": str, "at": str, "kind": str, "ticket_id": int,
         "counter": int, "body": str},
        pk="seq",
    )  # fmt: skip
    db.table("tokens").create(
        {"id": int, "token_hash": str, "role": str, "name": str, "created_at": str,
         "expires_at": str, "revoked_at": str},
        pk="id",
    )  # fmt: skip
    db.table("tokens").create_index(["token_hash"], unique=True)
    db.table("staff").create(
        {"staff_id": str, "name": str, "pin_hash": str, "active": int, "created_at": str},
        pk="staff_id",
    )


@migration
def _m002_devices(db: sqlite_utils.Database) -> None:
    db.table("devices").create(
        {"device": str, "kind": str, "health": str, "detail": str, "reported_at": str,
         "counter": int},
        pk="device",
    )  # fmt: skip


@migration
def _m003_appointments(db: sqlite_utils.Database) -> None:
    create_tables(db)


@migration
def _m004_customers_bundles(db: sqlite_utils.Database) -> None:
    """The bank's VIP list (keyed hashes only), bundles, and what a ticket's visit is for."""
    db.table("customers").create({"customer_ref": str, "vip_tier": int}, pk="customer_ref")
    db.table("bundles").create(
        {"code": str, "names": str, "service": str, "includes": str, "guidance": str,
         "sort": int},
        pk="code",
    )  # fmt: skip
    # m001 creates `tickets` from the Ticket fields of the code that runs it: a new
    # database already has these columns.
    have = db.table("tickets").columns_dict
    if "bundle" not in have:
        db.table("tickets").add_column("bundle", str)
    if "has_eform" not in have:
        db.table("tickets").add_column("has_eform", int, not_null_default=0)
    db.table("services").add_column("needs_form", int, not_null_default=0)
    # The branch secret behind customer references (`branchq init` writes it too).
    db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('salt', ?)", (secrets.token_hex(32),)
    )


@migration
def _m005_visit_index(db: sqlite_utils.Database) -> None:
    """A visit's legs are looked up together (a teller reads a customer's transfers)."""
    db.table("tickets").create_index(["visit_id"], if_not_exists=True)


@migration
def _m006_events_by_ticket(db: sqlite_utils.Database) -> None:
    """A ticket's events are looked up by reports and figures (e.g. its first call)."""
    db.table("events").create_index(["ticket_id", "seq"], if_not_exists=True)
    # The audit log reads the events a manager's action wrote: a partial index keeps it quick.
    db.execute(
        "CREATE INDEX IF NOT EXISTS events_audit ON events(seq)"
        " WHERE json_extract(body, '$.data.actor') IS NOT NULL"
    )


@migration
def _m007_phone_ticket(db: sqlite_utils.Database) -> None:
    """The customer's live ticket page: a rating's comment, and "I'm running late"."""
    have = db.table("tickets").columns_dict  # a new database has them from m001
    if "rating_comment" not in have:
        db.table("tickets").add_column("rating_comment", str, not_null_default="")
    if "held_until" not in have:
        db.table("tickets").add_column("held_until", str)
    if "late_count" not in have:
        db.table("tickets").add_column("late_count", int, not_null_default=0)


class DuplicateNumbers(ValueError):
    """The database already holds a ticket number handed out twice; migration m008 stops."""


@migration
def _m008_unique_numbers(db: sqlite_utils.Database) -> None:
    """A ticket number goes to one customer per business day, enforced by the database too.

    A visit's later legs (transfers) keep its number and day, with the next leg number, so
    the key is (business_day, number, leg). Rows that already break it are never dropped
    or renumbered here: they are named, and the server does not start until someone has
    looked at them.
    """
    duplicates = db.execute(
        "SELECT business_day, number, leg, group_concat(id, ', ') FROM tickets "
        "GROUP BY business_day, number, leg HAVING COUNT(*) > 1 "
        "ORDER BY business_day, number, leg"
    ).fetchall()
    if duplicates:
        shown = "; ".join(
            f"{day} {number} leg {leg}: tickets {ids}" for day, number, leg, ids in duplicates[:20]
        )
        more = f" (and {len(duplicates) - 20} more)" if len(duplicates) > 20 else ""
        raise DuplicateNumbers(
            f"the tickets table holds {len(duplicates)} ticket number(s) handed out more than "
            f"once on the same business day — {shown}{more}. The unique index on "
            "(business_day, number, leg) cannot be created: correct or remove these rows "
            "(a second server on the same database makes them), then start again."
        )
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS tickets_unique_number"
        " ON tickets (business_day, number, leg)"
    )


@migration
def _m009_pin_lockout(db: sqlite_utils.Database) -> None:
    """Wrong PINs and lock-outs by staff id, so a restart hands a guesser no fresh tries."""
    db.table("pin_failures").create({"staff_id": str, "at": str}, if_not_exists=True)
    db.table("pin_failures").create_index(["staff_id"], if_not_exists=True)
    db.table("pin_failures").create_index(["at"], if_not_exists=True)
    db.table("pin_locks").create({"staff_id": str, "until": str}, pk="staff_id", if_not_exists=True)


@migration
def _m010_request_hash(db: sqlite_utils.Database) -> None:
    """What an Idempotency-Key's first request asked for, so a different one is refused."""
    if "request_hash" not in db.table("tickets").columns_dict:  # new databases have it
        db.table("tickets").add_column("request_hash", str)


@migration
def _m011_counter_staff_name(db: sqlite_utils.Database) -> None:
    """The signed-in teller's name on the counter, kept across a restart as the id is."""
    if "staff_name" not in db.table("counters").columns_dict:
        db.table("counters").add_column("staff_name", str)


@migration
def _m012_policy_tournaments(db: sqlite_utils.Database) -> None:
    """The branch's nightly policy tournaments: what ran, for which day, what it chose and why."""
    db.table("policy_tournaments").create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "for_day": str,  # the business day the choice is for
            "trigger": str,  # nightly, start or manager
            "actor": str,
            "state": str,  # done or failed
            "chosen": str,  # the candidate as JSON: name, params, label
            "result": str,  # the verdict as JSON: table, reason, days, scenario
            "error": str,
            "applied_at": str,  # when it became the running policy; null: not yet
        },
        pk="id",
        if_not_exists=True,
    )
    db.table("policy_tournaments").create_index(["for_day"], if_not_exists=True)


@migration
def _m013_log_identity(db: sqlite_utils.Database) -> None:
    """The log's permanent id and each event's schema version, for shipping to the head office.

    A new database and an existing one both get their id here; an existing one's history
    starts at its first event (seq 1 for every database made by `branchq init`).
    """
    if "v" not in db.table("events").columns_dict:
        db.table("events").add_column("v", int, not_null_default=1)
    first = db.execute("SELECT COALESCE(MIN(seq), 1) FROM events").fetchone()[0]
    db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('log_id', ?)", (str(uuid.uuid4()),))
    db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('log_first_seq', ?)", (str(first),))


@migration
def _m014_knowledge(db: sqlite_utils.Database) -> None:
    """The tellers' knowledge base as the head office last sent it (readable with the centre
    unreachable), what each version changed, and which version each teller has read."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS knowledge_pages (service TEXT PRIMARY KEY,"
        " page TEXT NOT NULL, search TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS knowledge_versions (kb_version INTEGER PRIMARY KEY,"
        " published_at TEXT NOT NULL, changes TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS knowledge_seen (staff_id TEXT PRIMARY KEY,"
        " kb_version INTEGER NOT NULL, seen_at TEXT NOT NULL)"
    )


@migration
def _m015_central_vip_list(db: sqlite_utils.Database) -> None:
    """The head office's VIP list (`wire.vip`): its keys by generation and the keyed hashes
    under each; two generations while the centre rotates this branch's key."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS vip_keys (generation INTEGER PRIMARY KEY, key BLOB NOT NULL)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS vip_entries (generation INTEGER NOT NULL "
        "REFERENCES vip_keys (generation), entry TEXT NOT NULL, vip_tier INTEGER NOT NULL "
        "CHECK (vip_tier BETWEEN 1 AND 3), PRIMARY KEY (generation, entry)) WITHOUT ROWID"
    )


@migration
def _m016_lobby(db: sqlite_utils.Database) -> None:
    """The lobby app (issue 21): a ticket's triage by the lobby manager, and staff sessions
    on lobby tablets (kept as hashes, like device tokens)."""
    have = db.table("tickets").columns_dict  # a new database has them from m001
    for column, kind, default in (
        ("care_reason", str, ""),
        ("on_hold", int, 0),
        ("hold_reason", str, ""),
        ("documents_checked", str, "[]"),
        ("prereviewed", int, 0),
    ):
        if column not in have:
            db.table("tickets").add_column(column, kind, not_null_default=default)
    db.execute(
        "CREATE TABLE IF NOT EXISTS lobby_sessions (session_hash TEXT PRIMARY KEY,"
        " staff_id TEXT NOT NULL, token_id INTEGER NOT NULL, started_at TEXT NOT NULL,"
        " expires_at TEXT NOT NULL, ended_at TEXT)"
    )


def migrate(path: str | Path) -> int:
    """Bring the schema up to date; returns the schema version. Safe to run at every start."""
    conn = connect(path)
    try:
        db = sqlite_utils.Database(conn)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, step in enumerate(MIGRATIONS, start=1):
            if number <= version:
                continue
            conn.execute("BEGIN IMMEDIATE")
            try:
                step(db)
                conn.execute(f"PRAGMA user_version={number}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return len(MIGRATIONS)
    finally:
        conn.close()


# ------------------------------------------------------------------- writing
# An upsert on the id, not INSERT OR REPLACE: a ticket that breaks another unique index
# (a number handed out twice, a reused idempotency key) must fail, not delete the other row.
_TICKET_SQL = (
    f"INSERT INTO tickets ({', '.join(TICKET_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in TICKET_COLUMNS)}) ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in TICKET_COLUMNS if c != "id")
)
_COUNTER_SQL = (
    "INSERT OR REPLACE INTO counters (number, name, location, state, staff_id, skills, "
    "pause_reason, staff_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SERVICE_SQL = (
    "INSERT OR REPLACE INTO services (code, prefix, names, target_wait_s, mean_service_s, "
    "guidance, fast_lane, visible, enabled, opens, closes, sort, needs_form) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_EVENT_SQL = (
    "INSERT INTO events (seq, branch_id, at, kind, ticket_id, counter, body, v) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_DEVICE_SQL = (
    "INSERT OR REPLACE INTO devices (device, kind, health, detail, reported_at, counter) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_BUNDLE_SQL = (
    "INSERT INTO bundles (code, names, service, includes, guidance, sort) VALUES (?, ?, ?, ?, ?, ?)"
)
_NUMBERING_SQL = "INSERT OR REPLACE INTO numbering (business_day, prefix, last) VALUES (?, ?, ?)"
_SETTINGS_SQL = "INSERT OR REPLACE INTO meta (key, value) VALUES ('settings', ?)"
_INT64 = range(-(2**63), 2**63)

Statement = tuple[str, Sequence[Any]]


@dataclass(frozen=True, slots=True)
class StoredChange:
    """A change as the writer stores it: its SQL statements with their values, and its
    events' JSON texts (as stored, and as streamed once durable)."""

    statements: list[Statement]
    encoded: list[tuple[int, str]]


class UnstorableChange(Exception):
    """One change of a group was refused (by SQLite or by the text encoding) while the
    others were sound; the group's transaction was rolled back."""

    def __init__(self, index: int, cause: BaseException) -> None:
        super().__init__(f"change {index} of the group could not be stored: {cause}")
        self.index = index
        self.cause = cause


# What one change's values can break, as opposed to the database itself failing
# (sqlite3.OperationalError: disk full, I/O error, locked), which fails every change.
_CHANGE_FAULTS = (
    sqlite3.IntegrityError,  # a unique index or constraint
    sqlite3.InterfaceError,
    sqlite3.ProgrammingError,  # a value of a type SQLite does not take
    sqlite3.DataError,  # a text or blob beyond SQLite's limit
    ValueError,  # a text that is not valid Unicode (UnicodeEncodeError)
    OverflowError,  # an integer beyond 64 bits
    TypeError,
)


def stored_change(
    change: Change, branch_id: str, encoded: list[tuple[int, str]] | None = None
) -> StoredChange:
    """Everything the writer will store for a change (its events as `encoded`, when given)."""
    if encoded is None:
        encoded = [(e.seq, dumps(event_wire(e))) for e in change.events]
    bodies = dict(encoded)
    statements: list[Statement] = []
    for t in change.tickets:
        d = ticket_to_row(t)
        statements.append((_TICKET_SQL, [d[c] for c in TICKET_COLUMNS]))
    statements += [(_COUNTER_SQL, counter_to_row(c)) for c in change.counters]
    statements += [(_SERVICE_SQL, service_to_row(s)) for s in change.services]
    statements += [(_DEVICE_SQL, device_to_row(dev)) for dev in change.devices]
    statements += [("DELETE FROM services WHERE code = ?", (c,)) for c in change.removed_services]
    if change.bundles is not None:
        statements.append(("DELETE FROM bundles", ()))
        statements += [(_BUNDLE_SQL, bundle_to_row(b)) for b in change.bundles]
    if change.appointment_rules is not None:
        statements.append(rules_statement(change.appointment_rules))
    statements += [
        (_NUMBERING_SQL, (day.isoformat(), prefix, last))
        for (day, prefix), last in change.numbering.items()
    ]
    statements += appointment_statements(change.appointments)
    if change.settings is not None:
        statements.append((_SETTINGS_SQL, (_settings_json(change.settings),)))
    for e in change.events:
        statements.append(
            (_EVENT_SQL,
             (e.seq, branch_id, e.at.isoformat(), e.kind,
              e.ticket.id if e.ticket else None,
              _event_counter(e),
              bodies[e.seq],
              event_version(e.kind))),
        )  # fmt: skip
    return StoredChange(statements, encoded)


def check_storable(stored: StoredChange) -> None:
    """Refuse, before it touches the branch, a change SQLite cannot hold: a text that is not
    valid Unicode (a lone surrogate such as a JSON "\\ud800") or an integer beyond 64 bits.

    Such a value would fail the writer's whole group commit, everyone's changes in it, and
    make the server reload. InvalidInput: the value can only have come with the request.
    """
    for sql, values in stored.statements:
        for value in values:
            if type(value) is str:
                if value.isascii():
                    continue
                try:
                    value.encode()
                except UnicodeEncodeError:
                    raise InvalidInput(
                        f"a text for {_table(sql)} is not valid Unicode (a lone surrogate?) "
                        "and cannot be stored",
                        code="unstorable_text",
                    ) from None
            elif type(value) is int and value not in _INT64:
                raise InvalidInput(
                    f"a number for {_table(sql)} is beyond 64 bits and cannot be stored",
                    code="unstorable_number",
                )


def _table(sql: str) -> str:
    return sql.split(" INTO ", 1)[1].split(" ", 1)[0]


def _event_counter(e: Event) -> int | None:
    if e.counter is not None:
        return e.counter.number
    if e.ticket is not None:
        return e.ticket.counter
    return e.device.counter if e.device is not None else None


def write_change(
    conn: sqlite3.Connection,
    change: Change,
    branch_id: str,
    encoded: list[tuple[int, str]] | None = None,
) -> None:
    """Write one change inside the caller's transaction (events as encoded, when given)."""
    for sql, values in stored_change(change, branch_id, encoded).statements:
        conn.execute(sql, values)


def in_transaction(path: str | Path, fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(conn, *args)` in one write transaction on its own connection."""
    conn = connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        return commit_or_roll_back(conn, fn, *args)
    finally:
        conn.close()


def commit_or_roll_back(conn: sqlite3.Connection, fn: Callable[..., T], *args: Any) -> T:
    """Finish the transaction the caller began: `fn(conn, *args)`, then commit, or roll
    back if it raised."""
    try:
        result = fn(conn, *args)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return result


def write_changes(conn: sqlite3.Connection, changes: Sequence[StoredChange]) -> None:
    """Write changes in one durable transaction: all or nothing.

    UnstorableChange names the first change whose own values were refused, so the caller
    can commit the ones before it; any other failure is the database's and fails them all.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        for index, change in enumerate(changes):
            try:
                for sql, values in change.statements:
                    conn.execute(sql, values)
            except _CHANGE_FAULTS as exc:
                raise UnstorableChange(index, exc) from exc
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# ------------------------------------------------------------------- loading
def save_settings(conn: sqlite3.Connection, settings: BranchSettings) -> None:
    conn.execute(_SETTINGS_SQL, (_settings_json(settings),))


def _settings_json(settings: BranchSettings) -> str:
    value = {
        "name": settings.name,
        "branch_id": settings.branch_id,
        "timezone": settings.timezone,
        "day_starts_at": settings.day_starts_at.strftime("%H:%M"),
        "max_recalls": settings.max_recalls,
        "appointment_grace_s": settings.appointment_grace_s,
        "languages": list(settings.languages),
        "care_age": settings.care_age,
        "notice": settings.notice,
        "centre_notice": settings.centre_notice,
        "centre_notice_until": None
        if settings.centre_notice_until is None
        else settings.centre_notice_until.isoformat(),
        "opening_hours": settings.opening_hours.to_wire(),
        "kiosk_texts": {lang: dict(texts) for lang, texts in settings.kiosk_texts.items()},
        "voice_pack": settings.voice_pack,
        "location": None if settings.location is None else list(settings.location),
    }
    return to_json(value)


def save_bundles(conn: sqlite3.Connection, bundles: Iterable[Bundle]) -> None:
    """Replace the branch's bundles (they come from the branch config)."""
    conn.execute("DELETE FROM bundles")
    for b in bundles:
        conn.execute(_BUNDLE_SQL, bundle_to_row(b))


def load_settings(conn: sqlite3.Connection) -> BranchSettings | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'settings'").fetchone()
    if row is None:
        return None
    v = json.loads(row[0])
    return BranchSettings(
        name=v["name"],
        branch_id=v["branch_id"],
        timezone=v["timezone"],
        day_starts_at=time.fromisoformat(v["day_starts_at"]),
        max_recalls=v["max_recalls"],
        appointment_grace_s=v["appointment_grace_s"],
        languages=tuple(v["languages"]),
        care_age=int(v.get("care_age", 60)),
        notice=str(v.get("notice", "")),
        centre_notice=str(v.get("centre_notice", "")),
        centre_notice_until=None
        if v.get("centre_notice_until") is None
        else datetime.fromisoformat(v["centre_notice_until"]),
        opening_hours=OpeningHours.from_wire(v.get("opening_hours") or {}),
        kiosk_texts=dict(v.get("kiosk_texts") or {}),
        voice_pack=str(v.get("voice_pack") or STANDARD_VOICE_PACK),
        location=None if v.get("location") is None else (v["location"][0], v["location"][1]),
    )


def load_visit(conn: sqlite3.Connection, visit_id: int) -> list[Ticket]:
    """Every stored leg of one visit, first leg first."""
    rows = conn.execute("SELECT * FROM tickets WHERE visit_id = ? ORDER BY leg, id", (visit_id,))
    return [ticket_from_row(dict(r)) for r in rows]


def load_branch(
    conn: sqlite3.Connection, now: datetime, policy: CallingPolicy | None = None
) -> Branch:
    """Rebuild the in-memory branch: today's tickets, every still-open ticket, the numbering."""
    settings = load_settings(conn)
    if settings is None:
        raise LookupError("the database has no branch yet: run `branchq init` first")
    today = business_day(now, settings.timezone, settings.day_starts_at)
    services = [service_from_row(dict(r)) for r in conn.execute("SELECT * FROM services")]
    counters = [counter_from_row(dict(r)) for r in conn.execute("SELECT * FROM counters")]
    open_states = [s.value for s in TicketState if not s.is_final]
    rows = conn.execute(
        "SELECT * FROM tickets WHERE business_day >= ? "
        f"OR state IN ({', '.join('?' for _ in open_states)})",
        (today.isoformat(), *open_states),
    )
    tickets = [ticket_from_row(dict(r)) for r in rows]
    numbering = {
        (date.fromisoformat(r["business_day"]), r["prefix"]): r["last"]
        for r in conn.execute(
            "SELECT * FROM numbering WHERE business_day >= ?", (today.isoformat(),)
        )
    }
    last_seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
    devices = [device_from_row(dict(r)) for r in conn.execute("SELECT * FROM devices")]
    bundles = [bundle_from_row(dict(r)) for r in conn.execute("SELECT * FROM bundles")]
    branch = Branch(
        settings,
        services,
        counters,
        tickets,
        devices=devices,
        numbering=numbering,
        last_seq=last_seq,
        policy=policy,
        bundles=bundles,
        appointments=load_appointments(conn, now),
        appointment_rules=load_rules(conn),
    )
    max_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM tickets").fetchone()[0]
    branch.next_ticket_id = max(branch.next_ticket_id, max_id + 1)
    branch.next_appointment_id = max(branch.next_appointment_id, last_appointment_id(conn) + 1)
    return branch
