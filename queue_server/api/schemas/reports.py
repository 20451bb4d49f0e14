"""Response models of the manager's reports (GET /api/v1/reports): they document the figures.

Every wait runs from joining the queue (arrival, or a transfer) to the FIRST call; shares
and rates are fractions from 0 to 1; a figure with nothing to count is null.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

Ratings = Field(description='count per rating: "1" 不满意, "2" 一般, "3" 满意, "4" 非常满意')
Satisfaction = Field(description="share of ratings 3 and 4 among the rated services")
MeanWait = Field(description="seconds from joining the queue to the first call, mean")
WithinTarget = Field(description="share of called legs that waited at most the target")


class RatingFigures(BaseModel):
    ratings: dict[str, int] = Ratings
    rated: int
    satisfaction: float | None = Satisfaction


class FlowFigures(RatingFigures):
    issued: int = Field(description="customers' own tickets (transfers not included)")
    transfers_in: int = Field(description="legs queued here by a transfer")
    called: int = Field(description="legs called (a recall is not a new call)")
    served: int = Field(description="legs called and finished")
    no_show: int
    transfers_out: int = Field(description="legs sent on to another business or counter")
    cancelled: int = Field(description="customers who left before being called")
    open: int = Field(description="legs still waiting, called or being served")
    mean_wait_s: float | None = MeanWait
    p90_wait_s: float | None = Field(description="90th percentile of the wait (nearest rank)")
    within_target: float | None = WithinTarget
    mean_service_s: float | None = Field(description="start of service → done, mean")
    no_show_rate: float | None = Field(description="no-shows / legs called")
    transfer_rate: float | None = Field(description="transfers out / legs called")


class BusinessReport(FlowFigures):
    service: str
    names: dict[str, str] = Field(description="the business's name per language")
    target_wait_s: int


class HourReport(RatingFigures):
    hour: int = Field(ge=0, le=23, description="local hour the legs joined the queue")
    issued: int
    transfers_in: int
    called: int
    mean_wait_s: float | None = MeanWait
    p90_wait_s: float | None
    within_target: float | None = WithinTarget
    by_business: dict[str, int] = Field(description="customers' own tickets per business")


class DeskFigures(RatingFigures):
    called: int = Field(description="legs called here (or by this teller)")
    served: int
    no_show: int
    transfers_out: int
    mean_service_s: float | None
    mean_wait_s: float | None = Field(description="mean wait of the customers called here")
    no_show_rate: float | None
    transfer_rate: float | None


class CounterReport(DeskFigures):
    counter: int
    name: str | None


class StaffReport(DeskFigures):
    staff_id: str = Field(description="the teller signed in when the leg was called")


class DayReport(BaseModel):
    day: str = Field(description="YYYY-MM-DD, business day in the branch's time zone")
    issued: int
    called: int
    served: int
    no_show: int
    cancelled: int
    mean_wait_s: float | None = MeanWait
    p90_wait_s: float | None
    within_target: float | None = WithinTarget


class BookingCounts(BaseModel):
    booked: int = Field(description="bookings with a slot on the report's days")
    cancelled: int
    checked_in: int
    on_time: int
    early: int
    late: int
    no_shows: int = Field(description="not checked in by the end of the grace (released)")
    pending: int = Field(description="still to come")
    no_show_rate: float | None = Field(description="no-shows / (checked in + no-shows)")


class BusinessBookings(BookingCounts):
    service: str


class AppointmentsReport(BookingCounts):
    by_business: list[BusinessBookings]


class ReportDays(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    first_day: str = Field(alias="from", description="first business day, YYYY-MM-DD")
    last_day: str = Field(alias="to", description="last business day (inclusive)")


class BranchReport(ReportDays):
    days: int
    timezone: str
    generated_at: str
    totals: FlowFigures
    by_business: list[BusinessReport]
    by_hour: list[HourReport] = Field(description="by local hour of arrival, over every day")
    by_counter: list[CounterReport]
    by_staff: list[StaffReport]
    by_day: list[DayReport]
    appointments: AppointmentsReport


class CounterTime(BaseModel):
    served: int = Field(description="legs served (start of service → done)")
    mean_counter_s: float | None = Field(description="start of service → done, mean seconds")


class LobbyBusinessReport(BaseModel):
    service: str
    diverted: int = Field(description="customers sent to self-service instead of queueing")
    by_channel: dict[str, int] = Field(description="diverted per channel: atm, app, self_service")
    mean_service_s: float | None = Field(description="the counter time one diversion saves")
    saved_from: str = Field(
        description="measured: mean counter time of the range; configured: none was served"
    )
    counter_time_saved_s: float | None = Field(description="diverted × mean_service_s")
    prereviewed: CounterTime = Field(description="legs of visits the lobby pre-reviewed")
    not_prereviewed: CounterTime


class LobbyReport(ReportDays):
    diverted: int
    counter_time_saved_s: float
    by_business: list[LobbyBusinessReport]
