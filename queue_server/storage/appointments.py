"""Appointment rows, booking rules and the branch's token secret in SQLite."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlite_utils

from queue_server.domain.appointments import (
    Appointment,
    AppointmentKind,
    AppointmentRules,
    AppointmentState,
    CheckInOutcome,
)

SECRET_KEY = "appointment_secret"
RULES_KEY = "appointment_rules"
MEMORY_DAYS = 40  # bookings kept in memory: recent and future ones
COLUMNS = (
    "id", "booking_number", "service", "slot_start", "slot_end", "created_at", "nonce",
    "state", "ticket_id", "ticket_number", "checked_in_at", "outcome", "customer_ref",
    "changed_at", "staff_id", "kind", "documents_collected", "follow_up_id",
)  # fmt: skip
_UPSERT = (
    f"INSERT OR REPLACE INTO appointments ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in COLUMNS)})"
)


def add_staff_columns(db: sqlite_utils.Database) -> None:
    """The relationship manager's day: who a booking is for, visits and what they collected.

    Idempotent: a database made after m003 learnt these columns already has them."""
    table = db.table("appointments")
    have = table.columns_dict
    for column, kind in (
        ("staff_id", str), ("kind", str), ("documents_collected", str), ("follow_up_id", int)
    ):  # fmt: skip
        if column not in have:
            table.add_column(column, kind)
    table.create_index(["staff_id", "slot_start"], if_not_exists=True)


def staff_appointments(
    conn: sqlite3.Connection, staff_id: str, start: datetime, end: datetime
) -> list[Appointment]:
    """A staff member's bookings and visits with a time in [start, end), by time then id."""
    rows = conn.execute(
        "SELECT * FROM appointments WHERE staff_id = ? AND slot_start >= ? AND slot_start < ?"
        " ORDER BY slot_start, id",
        (staff_id, start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat()),
    )
    return [appointment_from_row(dict(r)) for r in rows]


def create_tables(db: sqlite_utils.Database) -> None:
    """Migration m003: the appointments table and the secret that signs their QR codes."""
    types: dict[str, type] = {c: str for c in COLUMNS}
    types["id"] = int
    types["ticket_id"] = int
    types["follow_up_id"] = int
    db.table("appointments").create(types, pk="id")
    db.table("appointments").create_index(["slot_start"])
    db.table("appointments").create_index(["state"])
    db.table("appointments").create_index(["booking_number"])
    # Created once per database and never shown: only HMACs made with it leave the server.
    db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
        (SECRET_KEY, secrets.token_hex(32)),
    )


def _dt(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def appointment_to_row(a: Appointment) -> dict[str, Any]:
    return {
        "id": a.id,
        "booking_number": a.booking_number,
        "service": a.service,
        "slot_start": a.slot_start.isoformat(),
        "slot_end": a.slot_end.isoformat(),
        "created_at": a.created_at.isoformat(),
        "nonce": a.nonce,
        "state": a.state.value,
        "ticket_id": a.ticket_id,
        "ticket_number": a.ticket_number,
        "checked_in_at": _dt(a.checked_in_at),
        "outcome": a.outcome.value if a.outcome else None,
        "customer_ref": a.customer_ref,
        "changed_at": _dt(a.changed_at),
        "staff_id": a.staff_id,
        "kind": a.kind.value,
        "documents_collected": json.dumps(list(a.documents_collected), ensure_ascii=False),
        "follow_up_id": a.follow_up_id,
    }


def appointment_from_row(r: dict[str, Any]) -> Appointment:
    return Appointment(
        id=r["id"],
        booking_number=r["booking_number"],
        service=r["service"],
        slot_start=datetime.fromisoformat(r["slot_start"]),
        slot_end=datetime.fromisoformat(r["slot_end"]),
        created_at=datetime.fromisoformat(r["created_at"]),
        nonce=r["nonce"],
        state=AppointmentState(r["state"]),
        ticket_id=r["ticket_id"],
        ticket_number=r["ticket_number"],
        checked_in_at=_parse_dt(r["checked_in_at"]),
        outcome=CheckInOutcome(r["outcome"]) if r["outcome"] else None,
        customer_ref=r["customer_ref"],
        changed_at=_parse_dt(r["changed_at"]),
        staff_id=r.get("staff_id"),
        # Rows written before the relationship manager's day: bookings, nothing collected.
        kind=AppointmentKind(r.get("kind") or AppointmentKind.BOOKING),
        documents_collected=tuple(json.loads(r.get("documents_collected") or "[]")),
        follow_up_id=r.get("follow_up_id"),
    )


def appointment_statements(appointments: Iterable[Appointment]) -> list[tuple[str, list[Any]]]:
    """The statements that store these appointments (the writer checks them first)."""
    rows = (appointment_to_row(a) for a in appointments)
    return [(_UPSERT, [row[c] for c in COLUMNS]) for row in rows]


def write_appointments(conn: sqlite3.Connection, appointments: Iterable[Appointment]) -> None:
    for sql, params in appointment_statements(appointments):
        conn.execute(sql, params)


def load_appointments(conn: sqlite3.Connection, now: datetime) -> list[Appointment]:
    """Bookings with a slot in the last few weeks or later, and any still to be used.

    Older ones stay in the database only: a QR code that old is refused as expired from its
    own signed slot time, without the booking.
    """
    since = now.astimezone(UTC) - timedelta(days=MEMORY_DAYS)
    rows = conn.execute(
        "SELECT * FROM appointments WHERE slot_start >= ? OR state = ?",
        (since.isoformat(), AppointmentState.BOOKED.value),
    )
    return [appointment_from_row(dict(r)) for r in rows]


def appointment_by_id(conn: sqlite3.Connection, appointment_id: int) -> Appointment | None:
    row = conn.execute("SELECT * FROM appointments WHERE id = ?", (appointment_id,)).fetchone()
    return appointment_from_row(dict(row)) if row is not None else None


def last_appointment_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM appointments").fetchone()[0])


def list_appointments(
    conn: sqlite3.Connection, start: datetime, end: datetime, service: str | None = None
) -> list[Appointment]:
    """Bookings with a slot in [start, end), by slot then id (slot times are stored in UTC)."""
    sql = "SELECT * FROM appointments WHERE slot_start >= ? AND slot_start < ?"
    # Compare like with like: the stored text is UTC, so the bounds must be too.
    args: list[Any] = [start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat()]
    if service is not None:
        sql += " AND service = ?"
        args.append(service)
    rows = conn.execute(sql + " ORDER BY slot_start, id", args)
    return [appointment_from_row(dict(r)) for r in rows]


def save_rules(conn: sqlite3.Connection, rules: AppointmentRules) -> None:
    conn.execute(*rules_statement(rules))


def rules_statement(rules: AppointmentRules) -> tuple[str, tuple[str, str]]:
    """The write that stores the appointment rules (with a change, or on its own)."""
    value = {
        "slot_min": rules.slot_min,
        "early_min": rules.early_min,
        "book_ahead_days": rules.book_ahead_days,
        "capacity": dict(rules.capacity),
        "opens": rules.opens.isoformat("minutes"),
        "closes": rules.closes.isoformat("minutes"),
    }
    return "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (RULES_KEY, json.dumps(value))


def load_rules(conn: sqlite3.Connection) -> AppointmentRules:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (RULES_KEY,)).fetchone()
    if row is None:
        return AppointmentRules()
    v = json.loads(row[0])
    return AppointmentRules(
        slot_min=int(v["slot_min"]),
        early_min=int(v["early_min"]),
        book_ahead_days=int(v["book_ahead_days"]),
        capacity={str(k): int(n) for k, n in v["capacity"].items()},
        # Databases made before the offered hours existed keep the defaults.
        opens=time.fromisoformat(v.get("opens", "09:00")),
        closes=time.fromisoformat(v.get("closes", "17:00")),
    )


def branch_secret(conn: sqlite3.Connection) -> bytes:
    """The key that signs appointment QR codes (made by migration m003)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (SECRET_KEY,)).fetchone()
    if row is None:
        raise LookupError("the database has no appointment secret: run the migrations")
    return bytes.fromhex(row[0])
