"""Network booking's ranking rules, on plain values."""

from __future__ import annotations

from central.booking import (
    STALE_AFTER_S,
    BranchReach,
    distance_km,
    network_times,
    rank_at_slot,
    rank_now,
    travel_min,
    why_not_now,
)

HOME = (31.2300, 121.4737)  # People's Square


def reach(branch: str, wait: int | None, east_km: float, age_s: float = 1.0) -> BranchReach:
    lon = HOME[1] + east_km / 95.2  # about 95.2 km to a degree of longitude at 31.23° N
    return BranchReach(
        branch, branch, {}, {"wait_min": wait, "wait_capped": False}, (HOME[0], lon),
        "https://b.example", age_s,
    )  # fmt: skip


def test_travel_is_the_straight_line_at_town_speed_plus_five_minutes() -> None:
    assert abs(distance_km(HOME, (HOME[0], HOME[1] + 10 / 95.2)) - 10.0) < 0.05
    assert travel_min(0) == 5 and travel_min(10) == 35 and travel_min(1.01) == 9


def test_the_sum_of_wait_and_travel_ranks_not_either_alone() -> None:
    near_busy, far_quiet, middle = reach("near", 40, 1), reach("far", 0, 12), reach("mid", 15, 4)
    ranked = rank_now([near_busy, far_quiet, middle], HOME)
    assert [(r["branch"], r["total_min"]) for r in ranked] == [
        ("mid", 15 + 17), ("far", 0 + 41), ("near", 40 + 8),
    ]  # fmt: skip
    # Without the customer's place: by the wait, and no travel is made up.
    blind = rank_now([near_busy, far_quiet, middle], None)
    assert [r["branch"] for r in blind] == ["far", "mid", "near"]
    assert {r["total_min"] for r in blind} == {None}


def test_at_a_slot_room_and_travel_rank() -> None:
    ranked = rank_at_slot([(reach("far", 0, 12), 3), (reach("near", 50, 1), 1)], HOME)
    assert [r["branch"] for r in ranked] == ["near", "far"]
    assert ranked[0]["total_min"] == travel_min(distance_km(HOME, ranked_place(1)))


def ranked_place(east_km: float) -> tuple[float, float]:
    return (HOME[0], HOME[1] + east_km / 95.2)


def test_a_branch_unheard_for_a_minute_or_without_address_is_not_offered() -> None:
    assert why_not_now(reach("ok", 5, 1)) is None
    assert why_not_now(reach("old", 5, 1, age_s=STALE_AFTER_S)) == "wait_unknown"
    assert why_not_now(reach("shut", None, 1)) == "no_open_counter"
    bare = BranchReach("b", "b", {}, {"wait_min": 3}, None, None, 1.0)
    assert why_not_now(bare) == "no_booking" and not bare.bookable


def test_the_networks_times_merge_branches_by_their_own_day_and_count_room() -> None:
    def slot(start: str, free: int = 1, bookable: bool = True) -> dict[str, object]:
        return {"slot_start": start, "slot_end": start, "free": free, "bookable": bookable}

    east = [slot("2026-12-08T09:00:00+08:00"), slot("2026-12-08T09:30:00+08:00", free=0),
            slot("2026-12-09T00:30:00+08:00"), slot("2026-12-10T09:00:00+08:00")]  # fmt: skip
    west = [slot("2026-12-08T09:00:00+08:00"), slot("2026-12-08T08:30:00+08:00", bookable=False),
            slot("2026-12-11T09:00:00+08:00")]  # fmt: skip
    days = network_times([east, west], days_shown=3)
    assert [d["day"] for d in days] == ["2026-12-08", "2026-12-09", "2026-12-10"]
    assert [(s["slot_start"][11:16], s["branches"]) for s in days[0]["slots"]] == [("09:00", 2)]
    # 00:30 local is the 9th at the branch, though it is still the 8th in UTC.
    assert [s["slot_start"][11:16] for s in days[1]["slots"]] == ["00:30"]
    assert network_times([[slot("x", free=0)], []], days_shown=3) == []
