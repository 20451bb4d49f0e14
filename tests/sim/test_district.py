"""The district simulation behind `branchq bench network-booking`, on a short district."""

from __future__ import annotations

from typing import Any

import pytest

from queue_server.simulation.district import District, DistrictBranch, DistrictDay
from tools.bench.network_booking import run

# One overwhelmed branch with an idle one 2 km away, and a small one: a few seconds.
SHORT = District(
    (
        DistrictBranch("crowded", 0.0, 0.0, 1.6),
        DistrictBranch("idle", 2.0, 0.0, 0.3),
        DistrictBranch("small", 0.0, 2.0, 0.3, small=True),
    ),
    runs=3,
    refresh_min=5.0,
    hours=3.0,
)


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return run([3], SHORT)


def test_the_short_district_is_deterministic_for_a_seed_and_moves_with_it(
    report: dict[str, Any],
) -> None:
    again = run([3], SHORT)
    assert again["per_seed"] == report["per_seed"]
    assert again["spread_over_seeds"] == report["spread_over_seeds"]
    other = DistrictDay(SHORT, 4)
    assert [c.arrival for c in other.customers] != [
        c.arrival for c in DistrictDay(SHORT, 3).customers
    ]


def test_going_where_the_wait_is_shortest_beats_the_nearest_branch_when_one_is_crowded(
    report: dict[str, Any],
) -> None:
    seed = report["per_seed"][0]
    assert seed["within_target_share_network"] > seed["within_target_share_nearest"] + 0.02
    assert seed["mean_wait_min_network"] < seed["mean_wait_min_nearest"]
    assert 0 < seed["sent_elsewhere_share_network"] < 1
    assert report["mean_extra_travel_min"] > 0  # nobody is moved closer than the nearest
    assert report["district"]["branches"][0]["name"] == "crowded"


def test_every_customer_goes_to_a_branch_offering_their_business() -> None:
    day = DistrictDay(SHORT, 5)
    for arm in ("nearest", "naive"):
        result = day.run(arm)
        assert len(result.outcomes) == len(day.customers)
        for customer, branch, travel, outcome in result.outcomes:
            assert day.offers(branch, customer.arrival.service)
            assert outcome.called_min is not None  # everyone is served by the end of the day
            assert travel == day.travel_min(customer, branch)
