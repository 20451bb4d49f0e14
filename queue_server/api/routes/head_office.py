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


@router.get("/config/version")
async def config_version(request: Request, _: Manager) -> dict[str, Any]:
    """The head office's configuration in force: its version, when it was applied, where
    each overridden value came from, and what the manager edited here since."""
    desk = request.app.state.configuration
    record = desk.in_force()
    if not record:
        return {"version": None}
    return {
        "version": record["version"],
        "issued_at": record.get("issued_at"),
        "applied_at": record.get("applied_at"),
        "template": record.get("template", {}),
        "overridden": record.get("overridden", {}),
        "branch_editable": record.get("branch_editable", []),
        "edited_here": desk.local_edits(record),
        "draining": record.get("draining", []),
        "effective": desk.effective(record),
    }
