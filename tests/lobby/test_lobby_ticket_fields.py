"""The lobby's new ticket fields: stored (an older database gains them), read back, on the
wire, and blanked where they are free text before anything ships."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime

import wire
from queue_server.domain import Branch, BranchSettings, Service
from queue_server.shipper import without_free_text
from queue_server.storage.rows import ticket_from_row, ticket_to_row
from queue_server.wire_encode import ticket_wire

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def _triaged():
    branch = Branch(BranchSettings(), services=[Service("A", "A", {"en": "Cash"})])
    ticket = branch.issue_ticket("A", NOW).tickets[0]
    return replace(
        ticket,
        care_reason="拄拐杖的老人",
        on_hold=True,
        hold_reason="回家取户口本",
        documents_checked=(0, 2),
        prereviewed=True,
    )


def test_the_new_fields_survive_a_row_and_reach_the_wire():
    ticket = _triaged()
    assert ticket_from_row(ticket_to_row(ticket)) == ticket
    sent = ticket_wire(ticket)
    assert (sent["on_hold"], sent["documents_checked"], sent["prereviewed"]) == (True, [0, 2], True)
    assert set(sent) == set(wire.TicketWire.__annotations__)


def test_a_flag_read_back_as_text_is_still_false():
    # m001 makes a new database's columns from the Ticket's fields, as text.
    row = {**ticket_to_row(_triaged()), "on_hold": "0", "prereviewed": "0"}
    back = ticket_from_row(row)
    assert back.on_hold is False and back.prereviewed is False


def test_free_text_reasons_are_blanked_before_shipping():
    body = {
        "ticket": ticket_wire(_triaged()),
        "data": {"reason": "拄拐杖的老人", "actor": "lobby:L01", "checked": [0, 2]},
    }
    shipped = without_free_text(wire.EventKind.TICKET_CARE_GRANTED, body)
    assert shipped["ticket"]["care_reason"] == "" and shipped["ticket"]["hold_reason"] == ""
    assert shipped["data"] == {"reason": "", "actor": "lobby:L01", "checked": [0, 2]}
    assert "拄拐杖" not in str(shipped) and "户口本" not in str(shipped)


def test_an_older_database_gains_the_lobby_columns_and_sessions(branch_db, clock):
    from queue_server.storage import connect, load_branch, migrate
    from queue_server.storage.db import MIGRATIONS, _m016_lobby

    db, _ = branch_db
    conn = sqlite3.connect(db)
    try:
        for column in ("care_reason", "on_hold", "hold_reason", "documents_checked", "prereviewed"):
            conn.execute(f"ALTER TABLE tickets DROP COLUMN {column}")
        conn.execute("DROP TABLE lobby_sessions")
        before = MIGRATIONS.index(_m016_lobby)  # the lobby's migration is the next one
        conn.execute(f"PRAGMA user_version = {before}")
        conn.commit()
    finally:
        conn.close()
    migrate(db)
    migrate(db)  # and again: nothing left to do
    conn = connect(db)
    try:
        columns = {r["name"] for r in conn.execute("PRAGMA table_info(tickets)")}
        assert {"care_reason", "on_hold", "hold_reason", "documents_checked"} <= columns
        assert conn.execute("SELECT count(*) FROM lobby_sessions").fetchone()[0] == 0
        load_branch(conn, clock())
    finally:
        conn.close()


def test_a_ticket_without_a_form_reads_back_without_one_from_a_new_database(branch_db):
    # A new database's `has_eform` column has text affinity: False is stored as "0", and a
    # plain bool() of it said every ticket reloaded after a restart had a form to fetch.
    from queue_server.storage import connect
    from queue_server.storage.tickets import ticket_by_id

    db, _ = branch_db
    ticket = replace(_triaged(), id=9001, has_eform=False, on_hold=False, prereviewed=False)
    row = ticket_to_row(ticket)
    conn = connect(db)
    try:
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with conn:
            conn.execute(f"INSERT INTO tickets ({columns}) VALUES ({marks})", list(row.values()))
        stored = conn.execute("SELECT has_eform FROM tickets WHERE id = 9001").fetchone()[0]
        back = ticket_by_id(conn, 9001)
    finally:
        conn.close()
    assert stored == "0"  # what the bug met
    assert back is not None and back.has_eform is False
