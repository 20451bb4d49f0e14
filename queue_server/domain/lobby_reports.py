"""What the lobby did, for the manager's reports (issue 21): customers diverted to
self-service and the counter time that saved, and pre-review's effect on counter time.

Definitions:

* A *diversion* is one `lobby.diverted` event (its business in `data.business`): a
  customer sent to an ATM, the app or a self-service machine instead of queueing. It counts
  for the business day it happened on.
* *Counter time* is a served leg's time from the start of service to done (`service_s`).
* *Counter time saved* by a business's diversions = diverted × that business's mean counter
  time over the report's days; a business served by nobody in those days falls back to its
  configured mean service time (`saved_from` says which was used).
* A leg is *pre-reviewed* when its visit had a `ticket.prereviewed` event (on any leg: a
  pre-reviewed customer sent to a desk is still pre-reviewed there).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from queue_server.domain.reports import LegRecord, ReportScope, mean

CHANNELS = ("atm", "app", "self_service")


@dataclass(frozen=True, slots=True)
class Diversion:
    service: str
    channel: str
    business_day: date


def lobby_report(
    scope: ReportScope,
    diversions: Iterable[Diversion],
    legs: Iterable[LegRecord],
    prereviewed_visits: Iterable[int],
    configured_mean_s: Mapping[str, int],
    order: Sequence[str],
) -> dict[str, Any]:
    """Diversions and counter time per business over `scope`.

    `legs` need `visit_id`; `configured_mean_s` is each business's configured mean service
    time (the fallback for time saved); `order` is the businesses' display order.
    """
    reviewed = set(prereviewed_visits)
    with_review: dict[str, list[float]] = {}
    without_review: dict[str, list[float]] = {}
    for leg in legs:
        took = leg.service_s
        if took is None or not scope.covers(leg.business_day):
            continue
        bucket = with_review if leg.visit_id in reviewed else without_review
        bucket.setdefault(leg.service, []).append(took)
    diverted: dict[str, dict[str, int]] = {}
    for d in diversions:
        if scope.covers(d.business_day):
            per = diverted.setdefault(d.service, dict.fromkeys(CHANNELS, 0))
            per[d.channel] = per.get(d.channel, 0) + 1
    seen = set(diverted) | set(with_review) | set(without_review)
    codes = [c for c in order if c in seen] + sorted(seen - set(order))
    rows = []
    total_saved = 0.0
    for code in codes:
        served = with_review.get(code, []) + without_review.get(code, [])
        measured = mean(served)
        per_channel = diverted.get(code, dict.fromkeys(CHANNELS, 0))
        count = sum(per_channel.values())
        basis = measured if measured is not None else configured_mean_s.get(code)
        saved = round(count * basis, 1) if basis is not None else None
        total_saved += saved or 0.0
        rows.append(
            {
                "service": code,
                "diverted": count,
                "by_channel": per_channel,
                "mean_service_s": basis,
                "saved_from": "measured" if measured is not None else "configured",
                "counter_time_saved_s": saved,
                "prereviewed": _counter_time(with_review.get(code, [])),
                "not_prereviewed": _counter_time(without_review.get(code, [])),
            }
        )
    return {
        "from": scope.first_day.isoformat(),
        "to": scope.last_day.isoformat(),
        "diverted": sum(r["diverted"] for r in rows),
        "counter_time_saved_s": round(total_saved, 1),
        "by_business": rows,
    }


def _counter_time(samples: Sequence[float]) -> dict[str, Any]:
    return {"served": len(samples), "mean_counter_s": mean(samples)}
