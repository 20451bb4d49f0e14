"""Reports for the branch manager: a range of business days, by business, hour, desk and day."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from queue_server.api.deps import EngineDep, Manager
from queue_server.api.schemas.reports import BranchReport, LobbyReport
from queue_server.domain import InvalidInput
from queue_server.domain.reports import MAX_REPORT_DAYS
from queue_server.storage.reports import read_lobby_report, read_report

router = APIRouter(prefix="/reports", tags=["reports"])
EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)


FirstDay = Annotated[
    date | None, Query(alias="from", description="first business day; default `to`")
]
LastDay = Annotated[
    date | None, Query(alias="to", description="last business day, inclusive; default today")
]


@router.get("", response_model=BranchReport)
async def branch_report(
    engine: EngineDep, _: Manager, first_day: FirstDay = None, last_day: LastDay = None
) -> dict[str, Any]:
    """Figures per business, hour, counter, teller and day, and appointments, for a range."""
    now = engine.clock()
    first, last = report_range(engine.branch.business_day(now), first_day, last_day)
    return await asyncio.to_thread(read_report, engine.db_path, first, last, now)


@router.get("/lobby", response_model=LobbyReport)
async def lobby_report(
    engine: EngineDep, _: Manager, first_day: FirstDay = None, last_day: LastDay = None
) -> dict[str, Any]:
    """Customers the lobby diverted to self-service, the counter time that saved, and
    counter time with and without pre-review, per business, for a range."""
    first, last = report_range(engine.branch.business_day(engine.clock()), first_day, last_day)
    return await asyncio.to_thread(read_lobby_report, engine.db_path, first, last)


def report_range(today: date, first_day: date | None, last_day: date | None) -> tuple[date, date]:
    """The business days asked for (default today), refused when out of bounds or too long."""
    last = last_day or today
    first = first_day or last
    for day in (first, last):
        if not EARLIEST <= day <= LATEST:
            raise InvalidInput(
                f"{day} is outside {EARLIEST} … {LATEST}", code="invalid_report_range"
            )
    if first > last:
        raise InvalidInput(f"from {first} is after to {last}", code="invalid_report_range")
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise InvalidInput(
            f"a report covers at most {MAX_REPORT_DAYS} days", code="invalid_report_range"
        )
    return first, last
