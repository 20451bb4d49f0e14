"""The tellers' knowledge base for the counters: search, a business's page, and the "what
changed" each teller has yet to read — all from the branch database, never the centre."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request

from queue_server.api.deps import (
    EngineDep,
    OwnCounterOrManager,
    ServiceCodePath,
    require,
)
from queue_server.auth import Principal
from queue_server.domain import InvalidState, NotFound
from queue_server.knowledge import KnowledgeDesk

router = APIRouter(tags=["knowledge"])
Reader = Annotated[Principal, Depends(require("counter", "manager", "admin"))]


async def get_knowledge(request: Request) -> KnowledgeDesk:
    desk: KnowledgeDesk = request.app.state.knowledge
    return desk


KnowledgeDep = Annotated[KnowledgeDesk, Depends(get_knowledge)]


@router.get("/knowledge")
async def search_knowledge(
    desk: KnowledgeDep,
    _: Reader,
    q: Annotated[str, Query(max_length=100, description="words to find, Chinese or English")] = "",
) -> dict[str, Any]:
    """Pages holding every word of `q` (all pages when empty), in business-code order."""
    return {"pages": desk.search(q)}


@router.get("/knowledge/{service}")
async def knowledge_page(service: ServiceCodePath, desk: KnowledgeDep, _: Reader) -> Any:
    """One business's page."""
    page = desk.page(service)
    if page is None:
        raise NotFound(f"no knowledge page for {service}", code="unknown_page")
    return page


def _teller(engine: EngineDep, number: int) -> str:
    staff = engine.branch.counter(number).staff_id
    if not staff:
        raise InvalidState("nobody is signed in at this counter", code="not_signed_in")
    return staff


@router.get("/counters/{number}/knowledge-changes")
async def knowledge_changes(
    number: int, engine: EngineDep, desk: KnowledgeDep, _: OwnCounterOrManager
) -> dict[str, Any]:
    """What changed in the knowledge base that the teller signed in here has not read."""
    return desk.changes_for(_teller(engine, number))


@router.post("/counters/{number}/knowledge-changes/seen")
async def knowledge_changes_seen(
    number: int,
    engine: EngineDep,
    desk: KnowledgeDep,
    _: OwnCounterOrManager,
    kb_version: Annotated[int, Body(embed=True, ge=1, le=2**31 - 1)],
) -> dict[str, Any]:
    """The teller signed in here has read the changes up to `kb_version`."""
    staff = _teller(engine, number)
    await desk.mark_seen(staff, kb_version)
    return desk.changes_for(staff)
