"""`branchq bench network-booking`: "go to the branch with the shortest wait" in a district.

A district of real simulated branches with uneven load (`queue_server.simulation.district`):
the same customers go to the nearest branch offering their business, or to the branch with
the lowest predicted wait + travel time as the centre knows it at that moment (the branches'
own production prediction, at most a minute old). The same-run baseline ranks with the naive
estimate (people waiting × mean service ÷ windows open) instead of the prediction. Several
seeds, each deterministic; the spread is over seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from queue_server.simulation.district import ARMS, STANDARD_DISTRICT, District, DistrictDay


def one_seed(district: District, seed: int) -> dict[str, Any]:
    day = DistrictDay(district, seed)
    out: dict[str, Any] = {"seed": seed, "customers": len(day.customers)}
    nearest_travel: dict[int, float] = {}
    for arm in ARMS:
        result = day.run(arm)
        out[f"within_target_share_{arm}"] = round(result.within_share(day.full), 4)
        travel = {id(c): t for c, _, t, _ in result.outcomes}
        if arm == "nearest":
            nearest_travel = travel
        else:
            extra = [travel[k] - nearest_travel[k] for k in travel]
            out[f"mean_extra_travel_min_{arm}"] = round(statistics.fmean(extra), 3)
            moved = sum(1 for c, b, _, _ in result.outcomes if b != day.nearest(c))
            out[f"sent_elsewhere_share_{arm}"] = round(moved / len(result.outcomes), 4)
        waits = [o.wait_min for _, _, _, o in result.outcomes]
        out[f"mean_wait_min_{arm}"] = round(statistics.fmean(waits), 3)
    return out


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {
        "mean": round(statistics.fmean(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "stdev": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
    }


def run(seeds: Sequence[int], district: District = STANDARD_DISTRICT) -> dict[str, Any]:
    started = time.perf_counter()
    per_seed = [one_seed(district, s) for s in seeds]
    keys = [k for k in per_seed[0] if k not in ("seed", "customers")]
    spread = {k: _spread([p[k] for p in per_seed]) for k in keys}
    return {
        "within_target_share_network": spread["within_target_share_network"]["mean"],
        "within_target_share_nearest": spread["within_target_share_nearest"]["mean"],
        "mean_extra_travel_min": spread["mean_extra_travel_min_network"]["mean"],
        "baseline": {
            "name": "naive: people waiting × mean service ÷ windows open, + travel",
            "within_target_share_naive": spread["within_target_share_naive"]["mean"],
            "mean_extra_travel_min_naive": spread["mean_extra_travel_min_naive"]["mean"],
        },
        "target": "each customer's wait at the branch within their class's [sla] target "
        "(regular 10 min, VIP / care / appointment 5) of the standard branch day",
        "district": district.as_dict(),
        "seeds": list(seeds),
        "spread_over_seeds": spread,
        "per_seed": per_seed,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


def format_report(r: dict[str, Any]) -> str:
    s = r["spread_over_seeds"]

    def row(label: str, key: str, pct: bool = True) -> str:
        v = s[key]

        def f(x: float) -> str:
            return f"{x * 100:.1f} %" if pct else f"{x:.2f} min"

        return f"{label:<34} {f(v['mean'])}  ({f(v['min'])} – {f(v['max'])})"

    return "\n".join(
        [
            f"district of {len(r['district']['branches'])} branches, seeds {r['seeds']}",
            row("within target, nearest branch", "within_target_share_nearest"),
            row("within target, network (predicted)", "within_target_share_network"),
            row("within target, naive estimate", "within_target_share_naive"),
            row("extra travel, network", "mean_extra_travel_min_network", pct=False),
            row("extra travel, naive", "mean_extra_travel_min_naive", pct=False),
            f"({r['elapsed_s']} s)",
        ]
    )


def main(args: argparse.Namespace) -> int:
    seeds = [args.seed + k for k in range(args.seeds)]
    district = replace(STANDARD_DISTRICT, runs=args.runs, refresh_min=args.refresh)
    report = run(seeds, district)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_report(report))
    return 0
