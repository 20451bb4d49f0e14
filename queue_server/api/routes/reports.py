"""Reports for the branch manager: a range of business days, by business, hour, desk and day."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from queue_server.api.deps import EngineDep, Manager
from queue_server.api.schemas.reports import BranchReport
from queue_server.domain import InvalidInput
from queue_server.domain.reports import MAX_REPORT_DAYS
from queue_server.storage.reports import read_report

router = APIRouter(prefix="/reports", tags=["reports"])
EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)


@router.get("", response_model=BranchReport)
async def branch_report(
    engine: EngineDep,
    _: Manager,
    first_day: Annotated[
        date | None, Query(alias="from", description="first business day; default `to`")
    ] = None,
    last_day: Annotated[
        date | None, Query(alias="to", description="last business day, inclusive; default today")
    ] = None,
) -> dict[str, Any]:
    """Figures per business, hour, counter, teller and day, and appointments, for a range."""
    now = engine.clock()
    last = last_day or engine.branch.business_day(now)
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
    return await asyncio.to_thread(read_report, engine.db_path, first, last, now)
