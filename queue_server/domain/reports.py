"""The branch manager's reports: figures per business, hour, counter, teller and day.

Computed from plain records of the stored ticket legs and bookings (never a customer's
reference, note or token), so the same code serves the API, an export and the tests.

Definitions every section shares:

* A *leg* is one ticket row: a customer's own ticket (`leg == 0`) or the new leg a transfer
  queued. `issued` counts customers' own tickets; a transfer's leg is a `transfers_in`.
* The *wait* of a leg runs from the moment it joined the queue (the customer's arrival for
  their own ticket, the transfer for a later leg) to its FIRST call: recalls do not lengthen
  it. A later leg is not charged the time the customer spent at the first counter.
* `within_target` is the share of called legs whose wait was at most their business's
  target wait. Means and the 90th percentile (nearest rank) are over called legs.
* `served` legs were called and finished (done); service time runs from start to done.
* Rates are over the legs called: `no_show_rate` = no-shows / called, `transfer_rate` =
  transfers out / called. A rate, share or mean with nothing to divide by is None.
* Ratings are 1 (不满意) … 4 (非常满意); `satisfaction` is the share of 3 and 4 among the
  rated services.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from queue_server.domain.appointments import AppointmentState, CheckInOutcome
from queue_server.domain.branch import RATINGS
from queue_server.domain.day import business_day
from queue_server.domain.model import TicketState

MAX_REPORT_DAYS = 366
DEFAULT_TARGET_WAIT_S = 600  # a business no longer configured: the policy's own default


@dataclass(frozen=True, slots=True)
class LegRecord:
    """What a report needs of one ticket leg."""

    id: int
    service: str
    business_day: date
    leg: int
    state: TicketState
    queued_at: datetime  # arrival (own ticket) or the transfer (a later leg)
    first_called_at: datetime | None = None
    serving_at: datetime | None = None
    finished_at: datetime | None = None
    counter: int | None = None
    staff_id: str | None = None
    rating: int | None = None
    visit_id: int | None = None  # the visit's first leg: pre-review is per visit

    @property
    def wait_s(self) -> float | None:
        if self.first_called_at is None:
            return None
        return max(0.0, (self.first_called_at - self.queued_at).total_seconds())

    @property
    def service_s(self) -> float | None:
        if self.state is not TicketState.DONE or self.serving_at is None:
            return None
        if self.finished_at is None:
            return None
        return max(0.0, (self.finished_at - self.serving_at).total_seconds())


@dataclass(frozen=True, slots=True)
class BookingRecord:
    """What a report needs of one appointment booking."""

    service: str
    slot_start: datetime
    state: AppointmentState
    outcome: CheckInOutcome | None = None


@dataclass(frozen=True, slots=True)
class BusinessInfo:
    code: str
    names: Mapping[str, str] = field(default_factory=dict)
    target_wait_s: int = DEFAULT_TARGET_WAIT_S
    sort: int = 0


@dataclass(frozen=True, slots=True)
class ReportScope:
    """The business days a report covers, in the branch's time zone."""

    first_day: date
    last_day: date  # inclusive
    timezone: str = "Asia/Shanghai"
    day_starts_at: time = time(4, 0)
    appointment_grace_s: int = 600

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise ValueError("the report's last day is before its first")
        if self.days > MAX_REPORT_DAYS:
            raise ValueError(f"a report covers at most {MAX_REPORT_DAYS} days")

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


# ------------------------------------------------------------------- helpers
def mean(values: Sequence[float], digits: int = 1) -> float | None:
    return round(sum(values) / len(values), digits) if values else None


def p90(values: Sequence[float]) -> float | None:
    """The 90th percentile by nearest rank: the smallest value ≥ 90 % of the values."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[math.ceil(0.9 * len(ordered)) - 1], 1)


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class _Tally:
    """Counts and samples of a group of legs (a business, a counter, an hour…)."""

    __slots__ = (
        "called",
        "cancelled",
        "issued",
        "no_show",
        "open",
        "ratings",
        "served",
        "service_s",
        "transfers_in",
        "transfers_out",
        "waits",
        "within",
    )

    def __init__(self) -> None:
        self.issued = self.transfers_in = self.called = self.served = 0
        self.no_show = self.transfers_out = self.cancelled = self.open = self.within = 0
        self.waits: list[float] = []
        self.service_s: list[float] = []
        self.ratings = dict.fromkeys(RATINGS, 0)

    def add(self, leg: LegRecord, wait: float | None, within: bool, took: float | None) -> None:
        """Count one leg (its wait, whether within target and service time worked out once)."""
        if leg.leg == 0:
            self.issued += 1
        else:
            self.transfers_in += 1
        if wait is not None:
            self.called += 1
            self.waits.append(wait)
            self.within += within
        state = leg.state
        if state is TicketState.DONE:
            self.served += 1
            if took is not None:
                self.service_s.append(took)
            if leg.rating in self.ratings:
                self.ratings[leg.rating] += 1
        elif state is TicketState.NO_SHOW:
            self.no_show += 1
        elif state is TicketState.TRANSFERRED:
            self.transfers_out += 1
        elif state is TicketState.CANCELLED:
            self.cancelled += 1
        else:
            self.open += 1

    def wait_figures(self) -> dict[str, Any]:
        return {
            "mean_wait_s": mean(self.waits),
            "p90_wait_s": p90(self.waits),
            "within_target": share(self.within, self.called),
        }

    def rating_figures(self) -> dict[str, Any]:
        rated = sum(self.ratings.values())
        return {
            "ratings": {str(r): n for r, n in self.ratings.items()},
            "rated": rated,
            "satisfaction": share(self.ratings[3] + self.ratings[4], rated),
        }

    def flow(self) -> dict[str, Any]:
        """A business's (or the branch's) whole picture."""
        return {
            "issued": self.issued,
            "transfers_in": self.transfers_in,
            "called": self.called,
            "served": self.served,
            "no_show": self.no_show,
            "transfers_out": self.transfers_out,
            "cancelled": self.cancelled,
            "open": self.open,
            **self.wait_figures(),
            "mean_service_s": mean(self.service_s),
            "no_show_rate": share(self.no_show, self.called),
            "transfer_rate": share(self.transfers_out, self.called),
            **self.rating_figures(),
        }

    def desk(self) -> dict[str, Any]:
        """A counter's or a teller's picture: the legs they called."""
        return {
            "called": self.called,
            "served": self.served,
            "no_show": self.no_show,
            "transfers_out": self.transfers_out,
            "mean_service_s": mean(self.service_s),
            "mean_wait_s": mean(self.waits),
            "no_show_rate": share(self.no_show, self.called),
            "transfer_rate": share(self.transfers_out, self.called),
            **self.rating_figures(),
        }


# -------------------------------------------------------------------- report
def branch_report(
    scope: ReportScope,
    legs: Iterable[LegRecord],
    bookings: Iterable[BookingRecord],
    businesses: Sequence[BusinessInfo],
    counters: Mapping[int, str],
    now: datetime,
) -> dict[str, Any]:
    """The manager's report over `scope` (legs count for their ticket's business day).

    `counters` names every counter (number -> name): each gets a row, busy or not.
    """
    tz = ZoneInfo(scope.timezone)
    info = {b.code: b for b in businesses}
    order = [b.code for b in sorted(businesses, key=lambda b: (b.sort, b.code))]
    totals = _Tally()
    by_business: dict[str, _Tally] = {code: _Tally() for code in order}
    by_hour: dict[int, _Tally] = {}
    hour_issued: dict[int, dict[str, int]] = {}
    by_counter: dict[int, _Tally] = {n: _Tally() for n in sorted(counters)}
    by_staff: dict[str, _Tally] = {}
    by_day: dict[date, _Tally] = {
        scope.first_day + timedelta(days=i): _Tally() for i in range(scope.days)
    }
    for leg in legs:
        if not scope.covers(leg.business_day):
            continue
        target = info[leg.service].target_wait_s if leg.service in info else DEFAULT_TARGET_WAIT_S
        if leg.service not in by_business:  # a business removed from the config since
            order.append(leg.service)
            by_business[leg.service] = _Tally()
        wait, took = leg.wait_s, leg.service_s
        figures = (leg, wait, wait is not None and wait <= target, took)
        groups = [totals, by_business[leg.service], by_day[leg.business_day]]
        hour = leg.queued_at.astimezone(tz).hour
        if hour not in by_hour:
            by_hour[hour] = _Tally()
            hour_issued[hour] = {}
        groups.append(by_hour[hour])
        if leg.leg == 0:
            counts = hour_issued[hour]
            counts[leg.service] = counts.get(leg.service, 0) + 1
        if wait is not None and leg.counter is not None:
            if leg.counter not in by_counter:
                by_counter[leg.counter] = _Tally()
            groups.append(by_counter[leg.counter])
            if leg.staff_id is not None:
                if leg.staff_id not in by_staff:
                    by_staff[leg.staff_id] = _Tally()
                groups.append(by_staff[leg.staff_id])
        for tally in groups:
            tally.add(*figures)
    return {
        "from": scope.first_day.isoformat(),
        "to": scope.last_day.isoformat(),
        "days": scope.days,
        "timezone": scope.timezone,
        "generated_at": now.isoformat(),
        "totals": totals.flow(),
        "by_business": [
            {
                "service": code,
                "names": dict(info[code].names) if code in info else {},
                "target_wait_s": info[code].target_wait_s
                if code in info
                else DEFAULT_TARGET_WAIT_S,
                **by_business[code].flow(),
            }
            for code in order
        ],
        "by_hour": [
            {
                "hour": hour,
                "issued": t.issued,
                "transfers_in": t.transfers_in,
                "called": t.called,
                **t.wait_figures(),
                "by_business": {code: hour_issued[hour].get(code, 0) for code in order},
                **t.rating_figures(),  # satisfaction by hour of arrival
            }
            for hour, t in sorted(by_hour.items())
        ],
        "by_counter": [
            {"counter": n, "name": counters.get(n), **t.desk()}
            for n, t in sorted(by_counter.items())
        ],
        "by_staff": [{"staff_id": s, **t.desk()} for s, t in sorted(by_staff.items())],
        "by_day": [
            {
                "day": day.isoformat(),
                "issued": t.issued,
                "called": t.called,
                "served": t.served,
                "no_show": t.no_show,
                "cancelled": t.cancelled,
                **t.wait_figures(),
            }
            for day, t in sorted(by_day.items())
        ],
        "appointments": appointment_figures(scope, bookings, order, now),
    }


def appointment_figures(
    scope: ReportScope, bookings: Iterable[BookingRecord], order: Sequence[str], now: datetime
) -> dict[str, Any]:
    """Bookings whose slot falls on the report's days, by what became of them.

    A booking still open after its slot and grace is a no-show even when the server has not
    released it yet; one released and checked in later counts as checked in (late).
    `no_show_rate` is over the bookings that came due: checked in + no-shows.
    """
    grace = timedelta(seconds=scope.appointment_grace_s)
    per: dict[str, dict[str, int]] = {}
    for b in bookings:
        day = business_day(b.slot_start, scope.timezone, scope.day_starts_at)
        if not scope.covers(day):
            continue
        c = per.setdefault(b.service, dict.fromkeys(_BOOKING_COUNTS, 0))
        c["booked"] += 1
        if b.state is AppointmentState.CANCELLED:
            c["cancelled"] += 1
        elif b.state is AppointmentState.CHECKED_IN:
            c["checked_in"] += 1
            if b.outcome is not None:
                c[b.outcome.value] += 1
        elif b.state is AppointmentState.RELEASED or now > b.slot_start + grace:
            c["no_shows"] += 1
        else:
            c["pending"] += 1
    codes = [code for code in order if code in per] + sorted(set(per) - set(order))
    all_counts = {k: sum(per[code][k] for code in codes) for k in _BOOKING_COUNTS}
    return {
        **_with_rate(all_counts),
        "by_business": [{"service": code, **_with_rate(per[code])} for code in codes],
    }


_BOOKING_COUNTS = (
    "booked", "cancelled", "checked_in", "on_time", "early", "late", "no_shows", "pending",
)  # fmt: skip


def _with_rate(counts: Mapping[str, int]) -> dict[str, Any]:
    due = counts["checked_in"] + counts["no_shows"]
    return {**counts, "no_show_rate": share(counts["no_shows"], due)}
