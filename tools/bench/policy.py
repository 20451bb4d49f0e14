"""`branchq bench policy` and `branchq simulate`: calling policies on simulated branch days.

Every policy replays the same customers (drawn once per day from the scenario's seed) through
the production Branch aggregate; the pooled fluid bound on the same arrivals is the floor, and
the clairvoyant reference (the best schedule found knowing the whole day in advance) shows
how close any schedule gets. `--plot FILE.png` draws each class's wait distribution per
policy, and the clairvoyant's, as box plots with Pillow.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from queue_server.domain.policies import LOOKAHEAD_NAMES, POLICY_NAMES
from queue_server.simulation.clairvoyant import DEFAULT_ITERATIONS
from queue_server.simulation.compare import Comparison, compare_policies
from queue_server.simulation.metrics import class_waits, percentile
from queue_server.simulation.scenario import CLASSES, load_scenario


def progress_bar(label: str) -> Any:
    """A progress callback drawing on stderr, or None when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // total
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _f(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _share(figures: dict[str, Any]) -> str:
    lo, hi = figures["within_target_ci95"]
    share = figures["within_target_share"]
    return f"{share * 100:.1f} % ({_f(lo and lo * 100)}–{_f(hi and hi * 100)})"


def format_table(report: dict[str, Any]) -> str:
    """The comparison as a Markdown table: one row per policy."""
    head = ["policy"]
    for cls in CLASSES:
        head.append(f"{cls.value} mean/p95 (≤ target)")
    head += [
        "within target",
        "total wait/day",
        "× bound",
        "× clairvoyant",
        "overtakes/cust.",
        "Jain",
        "regular under a VIP / care flood",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, p in report["policies"].items():
        row = [f"**{name}**" if name == report["default"] else name]
        for cls in CLASSES:
            c = p["classes"][cls.value]
            row.append(
                f"{_f(c['mean_wait_min'])} / {_f(c['p95_wait_min'])} (≤{c['target_min']:g})"
                + (" ✗" if cls.value in p["starved_classes"] else "")
            )
        row += [
            _share(p),
            f"{p['total_wait_min']:.0f} min",
            f"{p['bound_ratio']:.0f}×" if p["bound_ratio"] is not None else "—",
            _f(p.get("clairvoyant_ratio"), 2) + ("×" if p.get("clairvoyant_ratio") else ""),
            _f(p["overtakes_per_customer"], 3),
            _f(p["jain_index"], 2),
            " / ".join(
                "never" if w is None else f"{w} min" for w in p.get("flood_wait_min", {}).values()
            ),
        ]
        lines.append("| " + " | ".join(row) + " |")
    best = report.get("clairvoyant")
    if best:
        row = ["*clairvoyant*"]
        for cls in CLASSES:
            c = best["classes"][cls.value]
            row.append(
                f"{_f(c['mean_wait_min'])} / {_f(c['p95_wait_min'])} "
                f"({_f(c['misses_per_day'])} late/day)"
                + (" ✗" if cls.value in best["starved_classes"] else "")
            )
        row += [
            _share(best),
            f"{best['total_wait_min']:.0f} min",
            "",
            "1×",
            "",
            "",
            "",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def describe_clairvoyant(report: dict[str, Any]) -> str:
    """What the clairvoyant row is, and each policy's target misses against it."""
    best = report.get("clairvoyant")
    if not best:
        return "clairvoyant reference left out (--clairvoyant-budget 0)."
    misses = "; ".join(
        f"{name} "
        + ", ".join(
            f"{cls.value} {p['classes'][cls.value]['clairvoyant']['misses_per_day']:.1f}"
            for cls in CLASSES
        )
        for name, p in report["policies"].items()
    )
    return (
        f"clairvoyant: {best['method']} ({best['iterations_per_day']} moves, "
        f"{best['seconds_per_day']:.1f} s a day; seeded from {best['seeded_from']}); objective "
        f"{best['objective']}. It is the best schedule found, not a proven optimum: × "
        f"clairvoyant = total wait ÷ its total wait. Late customers per day (policy): {misses}."
    )


def describe(report: dict[str, Any], seconds: float) -> str:
    rule = (
        "keeps every class's p95 within 1.5× its target"
        if report["default_meets_rule"]
        else "no policy keeps every class's p95 within 1.5× its target"
    )
    return "\n".join(
        [
            f"{report['scenario']}: {report['days']} days × {len(report['policies'])} policies, "
            f"same customers for each ({seconds:.1f} s)",
            "",
            format_table(report),
            "",
            f"mean/p95 wait in minutes; ✗ = p95 over 1.5× target. Lower bound on total wait "
            f"(pooled fluid, same arrivals): {report['lower_bound_total_wait_min']:.1f} min/day.",
            "flood: a regular customer at a counter that a VIP (care) customer reaches every "
            "minute, one-minute services.",
            describe_clairvoyant(report),
            f"default: {report['default']} ({rule}). Rule: {report['default_rule']}.",
        ]
    )


# ------------------------------------------------------------------------ plot
_COLOURS = [
    (52, 101, 164),
    (204, 0, 0),
    (78, 154, 6),
    (245, 121, 0),
    (117, 80, 123),
    (0, 150, 150),
    (196, 160, 0),
    (233, 84, 170),
]
CLAIRVOYANT = "clairvoyant"
_CLAIRVOYANT_COLOUR = (90, 90, 90)  # grey: a reference, not a policy to choose


def plot_waits(comparison: Comparison, path: str | Path) -> None:
    """Box plots (p5, p25, median, p75, p95) of waits per class, one box per policy."""
    from PIL import Image, ImageDraw, ImageFont

    runs = dict(comparison.runs)
    if comparison.clairvoyant:
        runs[CLAIRVOYANT] = [d.run for d in comparison.clairvoyant]
    names = list(runs)
    panel_w, panel_h, top, left, bottom = 260, 360, 60, 50, 40
    width = left + panel_w * len(CLASSES) + 20
    height = top + panel_h + bottom + 30
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    stats: dict[tuple[str, str], list[float]] = {}
    ymax = 1.0
    for cls in CLASSES:
        for name in names:
            waits = sorted(class_waits(runs[name], cls))
            if waits:
                qs = [percentile(waits, q) for q in (5, 25, 50, 75, 95)]
                stats[(cls.value, name)] = qs
                ymax = max(ymax, qs[-1])
    ymax = float(int(ymax / 5) + 1) * 5

    def y(v: float) -> float:
        return top + panel_h - panel_h * v / ymax

    draw.text(
        (left, 10), f"Wait per class and policy, minutes ({comparison.days} days)", "black", font
    )
    for tick in range(0, int(ymax) + 1, 5):
        draw.line([(left - 4, y(tick)), (width - 20, y(tick))], fill=(225, 225, 225))
        draw.text((8, y(tick) - 6), f"{tick:>3}", "black", font)
    for i, cls in enumerate(CLASSES):
        x0 = left + i * panel_w
        target = comparison.scenario.sla[cls].within_min
        draw.line([(x0, y(target)), (x0 + panel_w - 10, y(target))], fill=(150, 150, 150), width=2)
        draw.text((x0 + 10, top + panel_h + 8), f"{cls.value} (target {target:g})", "black", font)
        slot = (panel_w - 20) / len(names)
        for j, name in enumerate(names):
            found = stats.get((cls.value, name))
            if found is None:
                continue
            qs = found
            cx = x0 + 10 + slot * (j + 0.5)
            half = slot * 0.3
            colour = _colour(j, name)
            draw.line([(cx, y(qs[0])), (cx, y(qs[4]))], fill=colour, width=2)
            draw.rectangle([(cx - half, y(qs[3])), (cx + half, y(qs[1]))], outline=colour, width=2)
            draw.line([(cx - half, y(qs[2])), (cx + half, y(qs[2]))], fill=colour, width=3)
            for q in (qs[0], qs[4]):
                draw.line([(cx - half / 2, y(q)), (cx + half / 2, y(q))], fill=colour, width=2)
    lx = left
    for j, name in enumerate(names):
        colour = _colour(j, name)
        draw.rectangle([(lx, 34), (lx + 12, 46)], fill=colour)
        draw.text((lx + 16, 34), name, "black", font)
        lx += 110
    draw.text(
        (left, height - 22),
        "box: 25-75 %, bar: median, whiskers: 5-95 %; grey line: the class's target",
        "black",
        font,
    )
    img.save(str(path))


def _colour(j: int, name: str) -> tuple[int, int, int]:
    return _CLAIRVOYANT_COLOUR if name == CLAIRVOYANT else _COLOURS[j % len(_COLOURS)]


# ------------------------------------------------------------------ commands
def run_comparison(
    args: argparse.Namespace, names: Sequence[str], clairvoyant_iterations: int = 0
) -> tuple[Comparison, float]:
    scenario = load_scenario(args.scenario)
    started = time.perf_counter()
    comparison = compare_policies(
        scenario,
        names,
        args.days,
        progress=progress_bar("simulating"),
        clairvoyant_iterations=clairvoyant_iterations,
    )
    return comparison, time.perf_counter() - started


def policy_names(text: str | None) -> list[str]:
    """`--policies a,b`: the named policies to compare (default: the tournament's own; the
    lookahead ones simulate at every call and are only run when asked for)."""
    if not text:
        return list(POLICY_NAMES)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in (*POLICY_NAMES, *LOOKAHEAD_NAMES)]
    if unknown or not names:
        known = ", ".join((*POLICY_NAMES, *LOOKAHEAD_NAMES))
        raise SystemExit(f"unknown policy {', '.join(unknown) or '(none)'}; choose from {known}")
    return names


def bench_main(args: argparse.Namespace) -> int:
    budget = args.clairvoyant_budget
    if budget is None:
        budget = DEFAULT_ITERATIONS
    if budget < 0:
        print("error: --clairvoyant-budget must be 0 or more", file=sys.stderr)
        return 2
    names = policy_names(getattr(args, "policies", None))
    comparison, seconds = run_comparison(args, names, budget)
    report = comparison.as_json()
    report["seconds"] = round(seconds, 2)
    if args.plot:
        plot_waits(comparison, args.plot)
    print(json.dumps(report, ensure_ascii=False) if args.json else describe(report, seconds))
    return 0


def simulate_main(args: argparse.Namespace) -> int:
    comparison, seconds = run_comparison(args, [args.policy])
    summary = comparison.summaries[args.policy]
    if args.json:
        print(json.dumps({"policy": args.policy, **summary}, ensure_ascii=False))
        return 0
    print(
        f"{comparison.scenario.name}: policy {args.policy}, {comparison.days} days "
        f"({seconds:.1f} s)"
    )
    print("| class | customers | mean | p50 | p90 | p95 | max | target | within | abandoned |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = [*summary["classes"].items(), ("all", summary)]
    for cls, c in rows:
        within = c["within_target_share"]
        abandoned = c["abandonment_share"]
        print(
            f"| {cls} | {c['customers']} | {_f(c['mean_wait_min'])} | {_f(c['p50_wait_min'])} | "
            f"{_f(c['p90_wait_min'])} | {_f(c['p95_wait_min'])} | {_f(c['max_wait_min'])} | "
            f"{c.get('target_min', '—')} | {_f(within and within * 100)} % | "
            f"{_f(abandoned and abandoned * 100)} % |"
        )
    lo, hi = summary["mean_wait_ci95"]
    print(
        f"mean wait per day {summary['mean_wait_min']:.2f} min (95 % {lo}–{hi}); total wait "
        f"{summary['total_wait_min']:.0f} min/day = {summary['bound_ratio']}× the lower bound; "
        f"overtakes/customer {summary['overtakes_per_customer']}; Jain {summary['jain_index']}; "
        f"counter utilisation {summary['utilisation'] * 100:.1f} %"
    )
    return 0
