"""The soak, short: a compressed 2× branch day through the real server, kiosk and counter app."""

from __future__ import annotations

import pytest

from tools.drill import soak as drill_soak
from tools.drill.devices import RESULT_KEYS
from tools.drill.soak_app import arrivals


def test_the_day_is_the_standard_profile_at_twice_the_load():
    standard = 24 + 36 + 44 + 48 + 40 + 36 + 32 + 24  # branch_day.toml, customers per day
    day = arrivals(12, 2.0)
    # 12 hours of the 8-hour profile, stretched: 1.5 × 2 × the standard day (Poisson).
    assert abs(len(day) - 3 * standard) < 0.1 * 3 * standard
    assert day == sorted(day) and day[0] > 0 and day[-1] < 12 * 3600
    assert arrivals(12, 2.0) == day  # a fixed seed: the same day every run


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_short_soak_grows_nothing_and_loses_nothing():
    result = drill_soak.run(short=True, attempts=None)
    assert tuple(result) == RESULT_KEYS
    details = result["details"]
    assert "error" not in details, details
    assert details["errors"] == []
    assert details["tickets_issued"] == details["planned_tickets"] > 100
    assert details["tickets_printed"] == details["tickets_issued"]
    assert details["tickets_served"] == details["tickets_issued"]
    for name, figures in details["processes"].items():
        assert figures["ok"], (name, figures)
    assert details["failures"] == []
    assert (result["faults"], result["lost"]) == (0, 0)
