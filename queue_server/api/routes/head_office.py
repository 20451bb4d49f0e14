"""The link to the head office, as the manager console shows it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from queue_server.api.deps import Manager

router = APIRouter(tags=["manager"])


@router.get("/head-office")
async def head_office_link(request: Request, _: Manager) -> dict[str, Any]:
    """Whether events reach the head office: link state, unreachable since, backlog, last ack."""
    return dict(request.app.state.head_office.status())
