"""The static web pages (hall display, live ticket, booking): one router shape for all three.

Each page is an `index.html` with its own CSS and JS under `queue_server/web/<name>/`, and
its text from the shared catalogs (`assets/i18n/*.json`): the keys with the page's prefixes,
in every language. Nothing on these routes is secret or needs a token; a page that must
authorise (the display, the live ticket) takes its token from its own URL and hands it to
the API, which checks it. Responses say no-cache, so a TV or phone left open picks up a new
version.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, JSONResponse

from queue_server.config import ASSETS

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
CATALOG_DIR = ASSETS / "i18n"
NO_CACHE = {"Cache-Control": "no-cache"}


def web_page(
    name: str,
    *,
    files: dict[str, str],
    text_prefixes: Iterable[str],
    text_keys: Iterable[str] = (),
    page_path: str | None = None,
    missing: str = "no such file",
) -> APIRouter:
    """A router serving page `name`: the page at `page_path` (default /<name>), its text at
    /<name>/text.json and its `files` (name -> media type) at /<name>/<file>."""
    page_dir = WEB_DIR / name
    prefixes, keys = tuple(text_prefixes), frozenset(text_keys)
    router = APIRouter(include_in_schema=False)

    @cache
    def catalog() -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for path in sorted(CATALOG_DIR.glob("*.json")):
            texts = json.loads(path.read_text(encoding="utf-8"))
            out[path.stem] = {k: v for k, v in texts.items() if k.startswith(prefixes) or k in keys}
        return out

    @router.get(page_path or f"/{name}")
    async def page() -> FileResponse:
        return FileResponse(page_dir / "index.html", media_type="text/html", headers=NO_CACHE)

    @router.get(f"/{name}/text.json")
    async def text() -> JSONResponse:
        """The page's text in every language of the catalogs: {"zh": {key: text}, "en": {…}}."""
        return JSONResponse(catalog(), headers=NO_CACHE)

    @router.get(f"/{name}/{{file}}")
    async def static_file(file: str) -> FileResponse:
        if file not in files:
            raise HTTPException(404, f"{missing}: {file}")
        return FileResponse(page_dir / file, media_type=files[file], headers=NO_CACHE)

    page.__name__ = f"{name}_page"
    text.__name__ = f"{name}_text"
    static_file.__name__ = f"{name}_file"
    return router


# The hall display: open it as /display?token=<display token>[&layout=portrait][&zone=A,B].
# Its own keys, plus the shared ones it reuses (a counter's and a wait's wording).
display = web_page(
    "display",
    files={"display.css": "text/css", "display.js": "text/javascript"},
    text_prefixes=("display.", "voice.", "hours."),  # hours: the kiosk's wording
    text_keys=("common.counter", "common.minutes"),
    missing="no such display file",
)

# The customer's live ticket: the QR code on a printed ticket opens /t/<token>.
ticket = web_page(
    "ticket",
    files={"ticket.css": "text/css", "ticket.js": "text/javascript"},
    text_prefixes=("phone.",),
    page_path="/t/{token}",
)

# The public booking page, for banks without their own online channel.
book = web_page(
    "book",
    files={"book.css": "text/css", "book.js": "text/javascript"},
    text_prefixes=("book.",),
    missing="no such booking page file",
)

# The lobby manager's app on a phone or tablet: /lobby?token=<lobby device token>. The
# e-form's field names are the counter's and the alerts' names the manager's, so the lobby,
# the teller and the manager say the same.
lobby = web_page(
    "lobby",
    files={"lobby.css": "text/css", "lobby.js": "text/javascript"},
    text_prefixes=("lobby.", "counter.eform.field.", "manager.alert_kind."),
    missing="no such lobby file",
)
