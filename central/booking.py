"""Network booking's ranking: where a customer waits least, counting the way there.

A branch is offered only when its last hello is under a minute old (a branch that has not
spoken for longer may be cut off from the centre, and the branch alone owns its slots) and
it gave a booking address. Travel is estimated from the straight-line distance at an urban
speed plus a fixed overhead (getting out, parking, the door): no map service, and the
customer's position is used for the one answer and never kept.

Now: a walk-in's total is travel + the branch's predicted wait as its kiosk shows it. At a
slot: a booked customer is called near their slot, so what separates branches is whether
the slot has room (asked of each branch) and the travel; more places left breaks ties.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

STALE_AFTER_S = 60.0  # a hello every 15 s: four missed in a row and the wait is unknown
URBAN_KMH = 20.0  # a city's door-to-door pace by bus or car at busy hours
TRAVEL_OVERHEAD_MIN = 5.0
EARTH_RADIUS_KM = 6371.0

# Why a branch that offers the business is not offered for booking now.
Unavailable = Literal["wait_unknown", "no_booking", "no_open_counter", "full", "no_answer"]


@dataclass(frozen=True)
class BranchReach:
    """What the centre holds of a branch for booking (storage fills it)."""

    branch: str
    name: str
    service_names: dict[str, str]
    wait: dict[str, Any] | None  # the business's `wire.waits.ShownWait`, as the hello said
    location: tuple[float, float] | None
    booking_url: str | None
    age_s: float  # since the last hello
    timezone: str = "Asia/Shanghai"  # the branch's, for the day a slot falls on

    @property
    def bookable(self) -> bool:
        return self.age_s < STALE_AFTER_S and self.booking_url is not None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def travel_min(km: float) -> int:
    """Minutes to get there, rounded up like every wait we show."""
    return math.ceil(TRAVEL_OVERHEAD_MIN + km / URBAN_KMH * 60.0 - 1e-9)


def _way(reach: BranchReach, customer: tuple[float, float] | None) -> dict[str, Any]:
    if customer is None or reach.location is None:
        return {"distance_km": None, "travel_min": None}
    km = distance_km(customer, reach.location)
    return {"distance_km": round(km, 1), "travel_min": travel_min(km)}


def _entry(reach: BranchReach) -> dict[str, Any]:
    return {"branch": reach.branch, "name": reach.name, "service_names": reach.service_names}


def unavailable(reach: BranchReach, why: Unavailable) -> dict[str, Any]:
    """A branch listed without any wait figure, and why it cannot be booked now."""
    return {**_entry(reach), "reason": why}


def why_not_now(reach: BranchReach) -> Unavailable | None:
    if reach.age_s >= STALE_AFTER_S:
        return "wait_unknown"
    if reach.booking_url is None:
        return "no_booking"
    if reach.wait is None or reach.wait.get("wait_min") is None:
        return "no_open_counter"
    return None


def rank_now(
    offered: list[BranchReach], customer: tuple[float, float] | None
) -> list[dict[str, Any]]:
    """Offered branches by predicted wait + travel (by wait alone when either is unknown,
    those without a way there after those with one)."""
    ranked = []
    for reach in offered:
        assert reach.wait is not None
        way = _way(reach, customer)
        wait = int(reach.wait["wait_min"])
        total = wait + way["travel_min"] if way["travel_min"] is not None else None
        ranked.append(
            {
                **_entry(reach),
                **way,
                "wait_min": wait,
                "wait_capped": bool(reach.wait.get("wait_capped")),
                "total_min": total,
            }
        )
    ranked.sort(key=lambda e: (e["total_min"] is None, e["total_min"] or 0, e["wait_min"]))
    return ranked


def network_times(offers: list[list[dict[str, Any]]], days_shown: int) -> list[dict[str, Any]]:
    """The times a business can be booked somewhere: each branch's day slot lists (`offers`,
    as the branches gave them, in their local time) merged into the first `days_shown` days
    with at least one slot that has room, each slot with how many branches have room in it.

    A day is the branch's own calendar day (the date in its local slot start), so a slot is
    never moved to another day by the customer's or the centre's time zone.
    """
    days: dict[str, dict[str, dict[str, Any]]] = {}
    for slots in offers:
        for s in slots:
            if not (s["bookable"] and s["free"] > 0):
                continue
            start = str(s["slot_start"])
            at = days.setdefault(start[:10], {}).setdefault(
                start, {"slot_start": start, "slot_end": s["slot_end"], "branches": 0}
            )
            at["branches"] += 1
    return [
        {"day": day, "slots": sorted(days[day].values(), key=_instant)}
        for day in sorted(days)[:days_shown]
    ]


def _instant(slot: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(slot["slot_start"])


def rank_at_slot(
    offered: list[tuple[BranchReach, int]], customer: tuple[float, float] | None
) -> list[dict[str, Any]]:
    """Branches with room at the slot (reach, places left) by travel, then by room."""
    ranked = []
    for reach, free in offered:
        way = _way(reach, customer)
        wait = reach.wait.get("wait_min") if reach.wait else None
        ranked.append(
            {
                **_entry(reach),
                **way,
                "wait_min": wait,  # a walk-in's now, for comparison; not the booked wait
                "wait_capped": bool(reach.wait.get("wait_capped")) if reach.wait else False,
                "slot_free": free,
                "total_min": way["travel_min"],
            }
        )
    ranked.sort(key=lambda e: (e["total_min"] is None, e["total_min"] or 0, -e["slot_free"]))
    return ranked
