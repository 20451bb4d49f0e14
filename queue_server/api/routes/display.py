"""The hall display page (/display): its static files and its text from the shared catalogs.

The page itself holds nothing secret: it takes its display token from its own URL
(`/display?token=…`) and hands it to the event stream and the voice endpoint, which check it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, JSONResponse

from ...config import ASSETS

PAGE_DIR = Path(__file__).resolve().parents[2] / "web" / "display"
CATALOG_DIR = ASSETS / "i18n"
FILES = {"display.css": "text/css", "display.js": "text/javascript"}
# The page's own keys, plus the shared ones it reuses (a counter's and a wait's wording).
TEXT_PREFIXES = ("display.", "voice.")
TEXT_KEYS = ("common.counter", "common.minutes")
NO_CACHE = {"Cache-Control": "no-cache"}  # a TV left on for weeks picks up a new version

router = APIRouter(include_in_schema=False)


@router.get("/display")
async def display_page() -> FileResponse:
    """The hall display; open it as /display?token=<display token>[&layout=portrait][&zone=A,B]."""
    return FileResponse(PAGE_DIR / "index.html", media_type="text/html", headers=NO_CACHE)


@router.get("/display/text.json")
async def display_text() -> JSONResponse:
    """The page's text in every language of the catalogs: {"zh": {key: text}, "en": {…}}."""
    return JSONResponse(display_catalog(), headers=NO_CACHE)


@router.get("/display/{name}")
async def display_file(name: str) -> FileResponse:
    if name not in FILES:
        raise HTTPException(404, f"no such display file: {name}")
    return FileResponse(PAGE_DIR / name, media_type=FILES[name], headers=NO_CACHE)


@cache
def display_catalog() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(CATALOG_DIR.glob("*.json")):
        texts = json.loads(path.read_text(encoding="utf-8"))
        out[path.stem] = {
            k: v for k, v in texts.items() if k.startswith(TEXT_PREFIXES) or k in TEXT_KEYS
        }
    return out
