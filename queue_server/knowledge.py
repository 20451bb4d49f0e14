"""The tellers' knowledge base at the branch: the `knowledge` applier for the downlink
follower, and the reads the counters make — from the branch database only, so a page opens
with the head office unreachable.

The follower has verified the document's signature, branch and version before `apply`;
the applier checks the body whole and stores nothing of one it refuses.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from queue_server.domain import DomainError
from queue_server.downlink import Refusal
from queue_server.engine import Engine
from queue_server.storage import in_transaction
from queue_server.storage import knowledge as rows
from wire.downlink import Document
from wire.kinds import EventKind
from wire.knowledge import BadPage, Page, check_body

SEARCH_LIMIT = 50
ACTOR = "head office"


class KnowledgeDesk:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def apply(self, document: Document) -> dict[str, Any] | None:
        """Store a verified `knowledge` document's pages and changes (the follower's applier)
        with one `knowledge.applied` event, so the counters hear of it at once."""
        if document.get("kind") != "knowledge":
            raise Refusal("wrong_kind", "not a knowledge document")
        try:
            body = check_body(document.get("body"))
        except BadPage as exc:
            raise Refusal(exc.code, str(exc)) from None
        held = rows.held_version(self.engine.read_conn)
        if body["kb_version"] < held:
            # The document's own version is newer (the follower checked), yet it carries an
            # older knowledge base: a re-enrolled branch, or a mistake at the centre.
            raise Refusal(
                "older_knowledge", f"knowledge base {body['kb_version']} is older than {held}"
            )
        told = {
            "kb_version": body["kb_version"],
            "published_at": body["published_at"],
            "services": sorted({c["service"] for c in body["changes"]}),
        }
        try:
            await self.engine.execute(
                lambda b, now: b.record(now, [(EventKind.KNOWLEDGE_APPLIED, told)]),
                actor=ACTOR,
                also=rows.store_statements(body),
            )
        except DomainError as exc:  # a text SQLite cannot hold: nothing stored
            raise Refusal(exc.code, str(exc)) from None
        return {"kb_version": body["kb_version"], "pages": len(body["pages"])}

    # The reads below are a few small rows each, on the engine's read connection, as the
    # other desks read.
    def search(self, text: str) -> list[Page]:
        return rows.search(self.engine.read_conn, text, SEARCH_LIMIT)

    def page(self, service: str) -> Page | None:
        return rows.page(self.engine.read_conn, service)

    def changes_for(self, staff_id: str) -> dict[str, Any]:
        """What changed that this teller has not read: every version since the one they
        last dismissed — or, for a teller new to the branch, the newest version's only."""
        conn = self.engine.read_conn
        held = rows.held_version(conn)
        seen = rows.seen_version(conn, staff_id)
        since = max(held - 1, 0) if seen is None else seen
        versions = rows.versions_after(conn, since) if held else []
        return {"kb_version": held, "staff_id": staff_id, "unseen": versions}

    async def mark_seen(self, staff_id: str, version: int) -> None:
        at = datetime.now(UTC).isoformat()
        await asyncio.to_thread(
            in_transaction, self.engine.db_path, rows.mark_seen, staff_id, version, at
        )
