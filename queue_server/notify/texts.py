"""The notices' wording, from the shared catalogs (assets/i18n, the `notify.` keys)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from queue_server.notify import Notice

CATALOG_DIR = Path(__file__).resolve().parents[2] / "assets" / "i18n"
FALLBACK = "zh"


@cache
def catalogs() -> dict[str, dict[str, str]]:
    """The `notify.` texts per language: {"zh": {key: text}, "en": {…}}."""
    out = {}
    for path in sorted(CATALOG_DIR.glob("*.json")):
        texts = json.loads(path.read_text(encoding="utf-8"))
        out[path.stem] = {k: v for k, v in texts.items() if k.startswith("notify.")}
    return out


def languages() -> tuple[str, ...]:
    return tuple(catalogs())


def notice_text(notice: Notice) -> str:
    """The message for a notice in its language (Chinese when the language has no text)."""
    if notice.kind == "near":
        ahead = notice.places_ahead or 0
        key = {0: "notify.near_next", 1: "notify.near_one"}.get(ahead, "notify.near")
    else:
        key = f"notify.{notice.kind}"
    texts = catalogs().get(notice.language) or {}
    template = texts.get(key) or catalogs()[FALLBACK][key]
    return template.format(
        number=notice.number,
        business=notice.business,
        ahead=notice.places_ahead,
        counter=notice.counter,
    )
