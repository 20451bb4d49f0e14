"""Staffing advice for the manager: windows each business needs per half hour, and moves."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from queue_server.api import views
from queue_server.api.deps import BusinessDay, EngineDep, Manager
from queue_server.api.schemas.staffing import StaffingAdvice

router = APIRouter(prefix="/staffing", tags=["staffing"])


@router.get("/advice", response_model=StaffingAdvice)
async def staffing_advice(
    engine: EngineDep,
    _: Manager,
    day: Annotated[BusinessDay | None, Query(description="business day; default today")] = None,
) -> dict[str, Any]:
    """Forecast, recommended windows per business per interval (Erlang C), counter moves."""
    return views.staffing_advice(engine, await engine.staffing_outlook(day))
