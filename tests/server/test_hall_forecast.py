"""The server gives its branch the forecast a hall-aware calling policy reads (issue 18)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from queue_server.domain import PriorityClass
from queue_server.domain.eta import ArrivalRates
from queue_server.domain.staffing import ArrivalPrior
from queue_server.engine import hall_forecast


def _issue(server, service):
    r = server.client("kiosk").post("/tickets", json={"service": service})
    assert r.status_code == 201, r.text


def test_the_branch_holds_the_predictions_arrival_forecast_refreshed_at_most_each_minute(
    server, clock
):
    server.engine.arrival_prior = ArrivalPrior((24.0,) * 8, {"A": 0.5, "C": 0.1}, time(9, 0))
    clock.advance(hours=1)  # inside opening hours
    _issue(server, "A")
    server.settled_prediction()
    forecast = server.engine.branch.forecast
    assert forecast.made_at == clock.now
    assert forecast.rate("A", PriorityClass.REGULAR) > 0
    assert forecast.rate("B", PriorityClass.REGULAR) == 0.0
    first = forecast.made_at
    _issue(server, "A")
    server.settled_prediction()
    assert server.engine.branch.forecast.made_at == first  # same minute: not rebuilt
    clock.advance(seconds=61)
    _issue(server, "C")
    server.settled_prediction()
    assert server.engine.branch.forecast.made_at == clock.now


def test_the_forecast_is_this_local_hours_rate_split_by_the_class_mix():
    hourly = {"A": [0.0] * 24}
    hourly["A"][10] = 30.0  # 10:00–11:00 local
    mix = {"A": [(PriorityClass.REGULAR, 0, 0.75), (PriorityClass.VIP, 1, 0.25)]}
    now = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
    slot = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    forecast = hall_forecast(ArrivalRates(hourly, mix), [(slot, "C")], now, "Asia/Shanghai")
    assert forecast.rate("A", PriorityClass.REGULAR) == pytest.approx(30.0 * 0.75 / 60)
    assert forecast.rate("A", PriorityClass.VIP) == pytest.approx(30.0 * 0.25 / 60)
    assert forecast.bookings == (("C", slot),)
    assert hall_forecast(None, [], now, "Asia/Shanghai").per_min == {}
