"""The customer's live ticket page (/t/<token>): its static files and its text.

The page holds nothing secret: the token in its own URL (from the ticket's QR code) is what
the public ticket API and its WebSocket check (see `public_tickets`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, JSONResponse

from ...config import ASSETS
from . import public_tickets

PAGE_DIR = Path(__file__).resolve().parents[2] / "web" / "ticket"
CATALOG_DIR = ASSETS / "i18n"
FILES = {"ticket.css": "text/css", "ticket.js": "text/javascript"}
TEXT_PREFIXES = ("phone.",)
NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter()
# The page's API, included with the page so the application adds one router for both.
router.include_router(public_tickets.router, prefix="/api/v1")


@router.get("/t/{token}", include_in_schema=False)
async def ticket_page(token: str) -> FileResponse:
    """The live ticket page; the QR code on a printed ticket opens it."""
    return FileResponse(PAGE_DIR / "index.html", media_type="text/html", headers=NO_CACHE)


@router.get("/ticket/text.json", include_in_schema=False)
async def ticket_text() -> JSONResponse:
    """The page's text in every language of the catalogs: {"zh": {key: text}, "en": {…}}."""
    return JSONResponse(ticket_catalog(), headers=NO_CACHE)


@router.get("/ticket/{name}", include_in_schema=False)
async def ticket_file(name: str) -> FileResponse:
    if name not in FILES:
        raise HTTPException(404, f"no such file: {name}")
    return FileResponse(PAGE_DIR / name, media_type=FILES[name], headers=NO_CACHE)


@cache
def ticket_catalog() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(CATALOG_DIR.glob("*.json")):
        texts = json.loads(path.read_text(encoding="utf-8"))
        out[path.stem] = {k: v for k, v in texts.items() if k.startswith(TEXT_PREFIXES)}
    return out
