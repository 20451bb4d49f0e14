"""Business day and ticket numbering: numbers restart at a configured local time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def business_day(now: datetime, timezone: str, day_starts_at: time) -> date:
    """The business day `now` belongs to, in the branch's own time zone."""
    if now.tzinfo is None:
        raise ValueError("business_day needs an aware datetime")
    local = now.astimezone(ZoneInfo(timezone))
    start = timedelta(hours=day_starts_at.hour, minutes=day_starts_at.minute)
    return (local - start).date()


def day_start(day: date, timezone: str, day_starts_at: time) -> datetime:
    """The instant (in UTC) business day `day` begins: its local `day_starts_at`."""
    return datetime.combine(day, day_starts_at, ZoneInfo(timezone)).astimezone(UTC)


def format_number(prefix: str, sequence: int) -> str:
    """`A001` … `A999`, then `A1000`: short numbers customers can read and hear."""
    return f"{prefix}{sequence:03d}"
