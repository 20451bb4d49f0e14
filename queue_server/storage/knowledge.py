"""The knowledge base's rows in the branch database: pages, each version's changes, and the
version each teller last read."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from queue_server.storage.db import Statement
from wire.knowledge import KnowledgeBody, Page, VersionChanges, search_text


def held_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'knowledge_version'").fetchone()
    return int(row[0]) if row else 0


def store_statements(body: KnowledgeBody) -> list[Statement]:
    """Replace the pages with the body's, keep its and the earlier versions' changes: as
    statements, to commit with the event that tells the counters (one transaction)."""
    statements: list[Statement] = [("DELETE FROM knowledge_pages", ())]
    statements += [
        (
            "INSERT INTO knowledge_pages (service, page, search) VALUES (?, ?, ?)",
            (p["service"], json.dumps(p, ensure_ascii=False), search_text(p)),
        )
        for p in body["pages"]
    ]
    versions: list[VersionChanges] = [
        {
            "kb_version": body["kb_version"],
            "published_at": body["published_at"],
            "changes": body["changes"],
        },
        *body["earlier"],
    ]
    statements += [
        (
            "INSERT OR IGNORE INTO knowledge_versions (kb_version, published_at, changes) "
            "VALUES (?, ?, ?)",
            (v["kb_version"], v["published_at"], json.dumps(v["changes"], ensure_ascii=False)),
        )
        for v in versions
    ]
    statements.append(
        (
            "INSERT INTO meta (key, value) VALUES ('knowledge_version', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(body["kb_version"]),),
        )
    )
    return statements


def search(conn: sqlite3.Connection, text: str, limit: int) -> list[Page]:
    """Pages whose texts hold every word of `text` (any language), in business-code order."""
    words = text.casefold().split()
    sql = "SELECT page FROM knowledge_pages"
    if words:
        # instr, not LIKE: a teller's "%" or "_" is a character to find, not a wildcard.
        sql += " WHERE " + " AND ".join("instr(search, ?) > 0" for _ in words)
    rows = conn.execute(sql + " ORDER BY service LIMIT ?", (*words, limit)).fetchall()
    return [json.loads(r[0]) for r in rows]


def page(conn: sqlite3.Connection, service: str) -> Page | None:
    row = conn.execute("SELECT page FROM knowledge_pages WHERE service = ?", (service,)).fetchone()
    return None if row is None else json.loads(row[0])


def seen_version(conn: sqlite3.Connection, staff_id: str) -> int | None:
    row = conn.execute(
        "SELECT kb_version FROM knowledge_seen WHERE staff_id = ?", (staff_id,)
    ).fetchone()
    return None if row is None else int(row[0])


def versions_after(conn: sqlite3.Connection, version: int) -> list[dict[str, Any]]:
    """The changes of every version after `version`, newest first."""
    rows = conn.execute(
        "SELECT kb_version, published_at, changes FROM knowledge_versions "
        "WHERE kb_version > ? ORDER BY kb_version DESC",
        (version,),
    ).fetchall()
    return [{"kb_version": v, "published_at": at, "changes": json.loads(c)} for v, at, c in rows]


def mark_seen(conn: sqlite3.Connection, staff_id: str, version: int, at: str) -> None:
    """The teller has read up to `version` (never moved back by a late, older request)."""
    conn.execute(
        "INSERT INTO knowledge_seen (staff_id, kb_version, seen_at) VALUES (?, ?, ?) "
        "ON CONFLICT (staff_id) DO UPDATE SET kb_version = max(kb_version, excluded.kb_version),"
        " seen_at = excluded.seen_at",
        (staff_id, version, at),
    )
