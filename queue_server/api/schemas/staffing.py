"""The staffing advice: per business and interval, and counter moves."""

from __future__ import annotations

from datetime import datetime

from pydantic import (
    BaseModel,
    Field,
)


class BusinessStaffing(BaseModel):
    forecast_arrivals: float = Field(
        description="customers expected in the interval; the current one adds those waiting now"
    )
    waiting_now: int | None = Field(
        default=None, description="customers waiting now, counted in; current interval only"
    )
    offered_load: float = Field(description="modified offered load, Erlangs")
    recommended_windows: int = Field(description="fewest windows that meet the target")
    service_level: float = Field(description="predicted share within target, recommended")
    open_windows_now: int | None = Field(
        description="open windows with it as a regular skill; current interval only"
    )
    service_level_now: float | None = Field(
        description="predicted share within target with the windows open now; current only"
    )


class StaffingInterval(BaseModel):
    start: datetime
    end: datetime
    current: bool = Field(description="the interval the branch is in now")
    by_service: dict[str, BusinessStaffing]


class ServiceTimes(BaseModel):
    mean_service_s: float
    cv: float = Field(description="coefficient of variation of service time")
    samples: int = Field(description="observed services behind mean and cv; 0: the config's")
    target_wait_s: float
    target_share: float


class CounterMove(BaseModel):
    counter: int
    counter_name: str
    from_service: str = Field(description="the business the counter serves first now")
    to_service: str = Field(description="the business it should serve first instead")
    start: datetime
    end: datetime


class StaffingAdvice(BaseModel):
    day: str = Field(description="business day, YYYY-MM-DD")
    interval_min: int
    forecast_basis: str = Field(description="weekday, all_days, prior or none")
    history_days: int = Field(description="business days of history behind the forecast")
    services: dict[str, ServiceTimes]
    recommended_counter_hours: float
    intervals: list[StaffingInterval]
    moves: list[CounterMove] = Field(description="advice only: nothing is changed")
