"""Times as the server sends them (ISO 8601 text), read without Qt for every app."""

from __future__ import annotations

from datetime import datetime


def parse_time(text: str | None) -> datetime | None:
    """An ISO time from the server; None for none or a malformed one."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
