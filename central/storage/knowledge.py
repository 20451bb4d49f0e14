"""The knowledge base at the centre: pages edited by head office, versions published to
every branch as a `knowledge` downlink document.

Everything here runs in the caller's transaction: a publication writes its version and
one document per branch, all or nothing.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from central.knowledge_changes import changes as compute_changes
from central.signing import Signer
from central.storage import downlink
from wire.downlink import Document
from wire.knowledge import (
    MAX_EARLIER,
    MAX_PAGES,
    Change,
    KnowledgeBody,
    Page,
    VersionChanges,
    check_page,
)

# Taken for the length of a publication: two at once would both read version N as the
# last and both try to write N + 1.
_PUBLISH_LOCK = 20261220


class KnowledgeError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def pages(conn: psycopg.Connection) -> list[Page]:
    """The working copy, every page, in business-code order."""
    return [r[0] for r in conn.execute("SELECT page FROM knowledge_pages ORDER BY service")]


def save_page(conn: psycopg.Connection, raw: Any, by: str) -> Page:
    """Add or replace a page of the working copy (checked first: `BadPage` if malformed)."""
    page = check_page(raw)
    count = conn.execute(
        "SELECT count(*) FROM knowledge_pages WHERE service <> %s", (page["service"],)
    )
    row = count.fetchone()
    if row is not None and row[0] >= MAX_PAGES:
        raise KnowledgeError("too_many_pages", f"at most {MAX_PAGES} pages")
    conn.execute(
        "INSERT INTO knowledge_pages (service, page, updated_by) VALUES (%s, %s, %s) "
        "ON CONFLICT (service) DO UPDATE SET page = EXCLUDED.page, "
        "updated_by = EXCLUDED.updated_by, updated_at = now()",
        (page["service"], Jsonb(page), by),
    )
    return page


def remove_page(conn: psycopg.Connection, service: str) -> bool:
    """Take a page out of the working copy; whether there was one."""
    gone = conn.execute("DELETE FROM knowledge_pages WHERE service = %s", (service,))
    return gone.rowcount > 0


def latest(conn: psycopg.Connection) -> dict[str, Any] | None:
    """The newest published version: number, time, by whom, pages, changes."""
    row = conn.execute(
        "SELECT version, published_at, published_by, pages, changes FROM knowledge_versions "
        "ORDER BY version DESC LIMIT 1"
    ).fetchone()
    return None if row is None else _version_row(row)


def version(conn: psycopg.Connection, number: int) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT version, published_at, published_by, pages, changes FROM knowledge_versions "
        "WHERE version = %s",
        (number,),
    ).fetchone()
    return None if row is None else _version_row(row)


def _version_row(row: tuple[Any, ...]) -> dict[str, Any]:
    number, at, by, version_pages, version_changes = row
    return {
        "version": number,
        "published_at": at.isoformat(),
        "published_by": by,
        "pages": version_pages,
        "changes": version_changes,
    }


def history(conn: psycopg.Connection, limit: int = 50) -> list[dict[str, Any]]:
    """Published versions, newest first, each with what it changed (not its pages)."""
    rows = conn.execute(
        "SELECT version, published_at, published_by, changes FROM knowledge_versions "
        "ORDER BY version DESC LIMIT %s",
        (limit,),
    ).fetchall()
    return [
        {"version": v, "published_at": at.isoformat(), "published_by": by, "changes": c}
        for v, at, by, c in rows
    ]


def unpublished(conn: psycopg.Connection) -> list[Change]:
    """What publishing the working copy now would change."""
    last = latest(conn)
    return compute_changes(last["pages"] if last else [], pages(conn))


def publish(conn: psycopg.Connection, signer: Signer, by: str) -> dict[str, Any]:
    """Freeze the working copy as the next version and send it to every branch.

    Refused (`nothing_to_publish`) when it changes nothing: a teller should never be told
    "the knowledge base changed" and find nothing new."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PUBLISH_LOCK,))
    last = latest(conn)
    current = pages(conn)
    what = compute_changes(last["pages"] if last else [], current)
    if not what:
        raise KnowledgeError("nothing_to_publish", "the pages are as last published")
    number = (last["version"] if last else 0) + 1
    row = conn.execute(
        "INSERT INTO knowledge_versions (version, published_by, pages, changes) "
        "VALUES (%s, %s, %s, %s) RETURNING published_at",
        (number, by, Jsonb(current), Jsonb(what)),
    ).fetchone()
    assert row is not None
    body = _body(conn, number, row[0].isoformat(), current, what)
    branches = [r[0] for r in conn.execute("SELECT id FROM branches ORDER BY id")]
    for branch in branches:
        downlink.publish(conn, signer, branch, "knowledge", dict(body))
    return {"version": number, "changes": what, "branches": len(branches)}


def _body(
    conn: psycopg.Connection,
    number: int,
    published_at: str,
    version_pages: list[Page],
    what: list[Change],
) -> KnowledgeBody:
    """Version `number` as branches receive it, with the changes of the versions before it
    (a branch that missed some shows its tellers all of them)."""
    earlier: list[VersionChanges] = [
        {"kb_version": v["version"], "published_at": v["published_at"], "changes": v["changes"]}
        for v in history(conn, MAX_EARLIER + 1)
        if v["version"] < number
    ]
    return {
        "kb_version": number,
        "published_at": published_at,
        "pages": version_pages,
        "changes": what,
        "earlier": earlier[:MAX_EARLIER],
    }


def _behind(conn: psycopg.Connection, branch: str) -> bool:
    row = conn.execute(
        "SELECT (SELECT max(version) FROM knowledge_versions), "
        "(SELECT (document -> 'body' ->> 'kb_version')::int FROM downlink_documents "
        " WHERE branch_id = %s AND kind = 'knowledge' ORDER BY version DESC LIMIT 1)",
        (branch,),
    ).fetchone()
    return row is not None and row[0] is not None and (row[1] is None or row[1] < row[0])


def catch_up(conn: psycopg.Connection, signer: Signer | None, branch: str) -> Document | None:
    """Send the branch the newest version when it was sent an older one or none — a branch
    enrolled after the last publication — as the branch's next `knowledge` document; None
    when it is up to date, or when the centre has no signing key (it publishes nothing then).
    Asked at each of the branch's polls: one indexed read when there is nothing to send."""
    if signer is None or not _behind(conn, branch):
        return None
    # Under the publication's lock, then asked again: a publication (or the branch's other
    # poll) may have sent it meanwhile, and the branch must not get the version twice.
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PUBLISH_LOCK,))
    if not _behind(conn, branch):
        return None
    newest = latest(conn)
    assert newest is not None
    body = _body(
        conn, newest["version"], newest["published_at"], newest["pages"], newest["changes"]
    )
    return downlink.publish(conn, signer, branch, "knowledge", dict(body))
