"""The developer commands of `branchq`: bench, drill, demo, simulate, screenshots.

Each `register_*` is an entry point of the `branchq.commands` group (pyproject.toml): the
product's `branchq` calls it with its sub-parser collection, and the command's module is
imported only when the command runs (the benches pull in the simulator, Playwright and Qt,
which `branchq --help` does not need).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

Handler = Callable[[argparse.Namespace], int]
SCENARIO_HELP = "scenario TOML (default: queue_server/simulation/scenarios/branch_day.toml)"


def deferred(module: str, function: str) -> Handler:
    """A command run by `module.function(args)`, imported only when the command runs."""

    def run(args: argparse.Namespace) -> int:
        result: int = getattr(importlib.import_module(module), function)(args)
        return result

    return run


def _head_office_down_opt(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--head-office-down",
        nargs="?",
        const="blackhole",
        choices=("blackhole", "refused"),
        help="run twice: without a head office, then shipping to one that is down "
        "(blackhole, the default: it takes connections and never answers; refused: "
        "nothing listens), and print the figures side by side",
    )


def _command(sub: Any, name: str, fn: Handler | None, help: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help)
    if fn is not None:
        p.set_defaults(func=fn)
    return p


def _json_opt(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")


# ------------------------------------------------------------------------ bench
def _bench_print(args: argparse.Namespace) -> int:
    from tools.bench.printer import format_report, run

    result = run(samples=args.samples)
    print(json.dumps(result, sort_keys=True) if args.json else format_report(result))
    return 0


def _bench_qr(args: argparse.Namespace) -> int:
    from tools.bench.qr import format_report, run

    result = run(frames=args.frames)
    print(json.dumps(result, sort_keys=True) if args.json else format_report(result))
    return 0


def register_bench(sub: Any) -> None:
    """`branchq bench …`: figures against a baseline measured in the same run."""
    p = _command(sub, "bench", None, "Benchmarks that print figures against a same-run baseline.")
    bsub = p.add_subparsers(dest="bench_command", required=True, metavar="BENCHMARK")
    b = _command(
        bsub,
        "server",
        deferred("tools.bench.server", "main"),
        "Mixed load on loopback with WebSocket subscribers.",
    )
    b.add_argument("--seconds", type=float, default=10.0, help="measured load duration")
    b.add_argument("--subscribers", type=int, default=50, help="WebSocket subscribers")
    b.add_argument("--clients", type=int, default=32, help="concurrent HTTP clients")
    b.add_argument(
        "--counters", type=int, default=12, help="counters serving every business (default 12)"
    )
    b.add_argument(
        "--watch-callbacks",
        action="store_true",
        help="also time every event-loop callback (the server then runs on asyncio, not uvloop)",
    )
    _head_office_down_opt(b)
    _json_opt(b)
    b = _command(
        bsub, "print", _bench_print, "Issue-to-last-byte time of tickets to a simulated printer."
    )
    b.add_argument("--samples", type=int, default=200, help="tickets to print")
    _json_opt(b)
    b = _command(bsub, "qr", _bench_qr, "QR decode time and success rate on generated hard frames.")
    b.add_argument("--frames", type=int, default=240, help="hard 640x480 frames (>= 200)")
    _json_opt(b)
    b = _command(
        bsub,
        "kiosk",
        deferred("tools.bench.kiosk", "bench_main"),
        "Kiosk cold start, take-ticket-to-printer time and memory, offscreen.",
    )
    b.add_argument("--cold-starts", type=int, default=5, help="kiosk starts timed (default 5)")
    b.add_argument("--tickets", type=int, default=1000, help="tickets through the kiosk (1000)")
    b.add_argument(
        "--baseline-tickets", type=int, help="tickets by direct HTTP (default: --tickets)"
    )
    _json_opt(b)
    b = _command(
        bsub,
        "counter",
        deferred("tools.bench.counter", "bench_main"),
        "Counter app: Call next → number on the teller's screen and LED board.",
    )
    b.add_argument("--calls", type=int, default=300, help="calls through the app (300)")
    b.add_argument("--baseline-calls", type=int, help="calls by plain HTTP (default: --calls)")
    _head_office_down_opt(b)
    _json_opt(b)
    b = _command(
        bsub,
        "display",
        deferred("tools.bench.display", "main"),
        "Call acknowledged → number in the hall display page (headless Chromium).",
    )
    b.add_argument("--calls", type=int, default=200, help="calls shown on the page (200)")
    _json_opt(b)
    b = _command(
        bsub,
        "voice",
        deferred("tools.bench.voice", "main"),
        "Time to compose a call's announcement WAV (≤ 20 ms).",
    )
    b.add_argument("--samples", type=int, default=200, help="calls composed (default 200)")
    b.add_argument("--languages", default="zh,en", help="languages of the call (zh,en)")
    b.add_argument("--pack", help="clip pack folder (default assets/voice)")
    _json_opt(b)
    b = _command(
        bsub,
        "policy",
        deferred("tools.bench.policy", "bench_main"),
        "Calling policies on simulated branch days, against a lower bound.",
    )
    b.add_argument("--scenario", help=SCENARIO_HELP)
    b.add_argument("--days", type=int, help="simulated days (default: the scenario's)")
    b.add_argument("--plot", help="also draw wait box plots per class and policy to this PNG")
    b.add_argument(
        "--clairvoyant-budget",
        type=int,
        default=None,
        metavar="MOVES",
        help="local-search moves per day for the clairvoyant reference (default 60000, "
        "about 1.5 s a day; 0 leaves it out)",
    )
    b.add_argument(
        "--policies",
        help="comma-separated policies (default fifo,strict,accumulating,sla; add rollout: "
        "it simulates at every call, about 0.7 s a simulated day)",
    )
    _json_opt(b)
    b = _command(
        bsub,
        "rollout",
        deferred("tools.bench.rollout", "main"),
        "Lookahead (rollout) decision time at 150 waiting × 10 windows (p99 ≤ 50 ms).",
    )
    b.add_argument("--scenario", help=SCENARIO_HELP)
    b.add_argument("--decisions", type=int, default=200, help="states decided (default 200)")
    b.add_argument("--base", default="sla", help="the rollout's base policy (default sla)")
    b.add_argument("--samples", type=int, default=8, help="futures per candidate")
    b.add_argument("--candidates", type=int, default=4, help="candidates at most")
    b.add_argument("--horizon", type=float, default=60.0, help="lookahead, minutes")
    _json_opt(b)
    b = _command(
        bsub,
        "staffing",
        deferred("tools.bench.staffing", "bench_main"),
        "Recommended windows checked in the simulator, against the fewest found.",
    )
    b.add_argument("--scenario", help=SCENARIO_HELP)
    b.add_argument("--days", type=int, help="simulated days (default: the scenario's)")
    _json_opt(b)
    b = _command(
        bsub,
        "issue",
        deferred("tools.bench.issue", "main"),
        "Per-issue work as the queue grows from 10 to 5,000 waiting, against sorting.",
    )
    b.add_argument("--seed", type=int, default=7, help="the customers' random seed")
    b.add_argument("--levels", default="10,100,1000,5000", help="queue lengths, comma-separated")
    _json_opt(b)
    b = _command(
        bsub,
        "predict",
        deferred("tools.bench.predict", "bench_main"),
        "Simulation wait predictor against the naive one, at ticket issue.",
    )
    b.add_argument(
        "--scenario",
        action="append",
        help=SCENARIO_HELP + "; repeat for several, or 'all' for every shipped scenario day",
    )
    b.add_argument("--days", type=int, help="simulated days (default: the scenario's)")
    b.add_argument("--runs", type=int, default=30, help="forward runs per prediction")
    b.add_argument(
        "--policy",
        help="run the days under this calling policy instead of the production default "
        "(one the predictor replays exactly, e.g. strict, measures its floor)",
    )
    _json_opt(b)
    b = _command(
        bsub,
        "network-booking",
        deferred("tools.bench.network_booking", "main"),
        "A district of simulated branches: shortest predicted wait + travel vs nearest branch.",
    )
    b.add_argument("--seed", type=int, default=1, help="the first seed")
    b.add_argument("--seeds", type=int, default=5, help="how many seeds (consecutive)")
    b.add_argument("--runs", type=int, default=12, help="forward runs per prediction")
    b.add_argument("--refresh", type=float, default=1.0, help="minutes a prediction stays")
    _json_opt(b)
    b = _command(
        bsub,
        "central",
        deferred("tools.bench.central", "main"),
        "Branches shipping to a real head office on PostgreSQL: latency, backfill, oracle.",
    )
    b.add_argument("--branches", type=int, default=200, help="compact branch emitters")
    b.add_argument("--real", type=int, default=3, help="real branch servers among them")
    b.add_argument("--seconds", type=float, default=20.0, help="measured live window")
    b.add_argument("--speed", type=float, default=10.0, help="x the standard day's event rate")
    b.add_argument("--day-events", type=int, default=1500, help="a branch's day of events")
    b.add_argument("--seed", type=int, default=7, help="the traffic's random seed")
    _json_opt(b)


# ------------------------------------------------------------------------ simulate
def register_simulate(sub: Any) -> None:
    """`branchq simulate`: branch days under one calling policy."""
    p = _command(
        sub,
        "simulate",
        deferred("tools.bench.policy", "simulate_main"),
        "Simulate branch days under one calling policy; print metrics.",
    )
    p.add_argument("--scenario", help=SCENARIO_HELP)
    p.add_argument(
        "--policy",
        default="accumulating",
        choices=("fifo", "strict", "accumulating", "sla"),
        help="calling policy (default accumulating, the server's)",
    )
    p.add_argument("--days", type=int, help="simulated days (default: the scenario's)")
    _json_opt(p)


# ------------------------------------------------------------------------ drill
def register_drill(sub: Any) -> None:
    """`branchq drill NAME|all`: fault drills."""
    p = _command(
        sub,
        "drill",
        deferred("tools.drill.cli", "main"),
        "Fault drills (kill -9, network cuts): what was tried, what was lost, recovery time.",
    )
    p.add_argument("name", metavar="NAME", help="a drill (crash, network, …) or all")
    p.add_argument("--attempts", type=int, help="rounds to run (default: the drill's long run)")
    p.add_argument("--short", action="store_true", help="CI's short version of each drill")
    p.add_argument(
        "--branches", type=int, help="real branch servers in a network drill (config-rollout: 50)"
    )
    p.add_argument("--seed", type=int, default=1, help="random seed for fault timing (1)")
    p.add_argument("--json", action="store_true", help="print a JSON list of results")


# ------------------------------------------------------------------------ demo
def _demo(args: argparse.Namespace) -> int:
    from tools.demo import run_demo

    if args.network is not None:
        from tools.network_demo import NetworkDemoError, NetworkOptions, run_network_demo

        options = NetworkOptions(
            branches=args.network,
            central_port=args.central_port,
            first_port=args.port,
            var=Path(args.var),
            speed=args.speed,
            duration=args.duration,
        )
        try:
            return run_network_demo(options)
        except NetworkDemoError as exc:
            raise SystemExit(f"error: {exc}") from None

    return run_demo(
        host=args.host,
        port=args.port,
        var=Path(args.var),
        traffic=args.traffic,
        duration=args.duration,
        config=args.config,
        devices=not args.no_devices,
        speed=args.speed,
        kiosk=args.kiosk,
        counter_app=not args.no_counter,
        manager_console=not args.no_manager,
        screen=args.screen,
    )


def register_demo(sub: Any) -> None:
    """`branchq demo`: the demo branch with simulated devices and traffic."""
    p = _command(
        sub, "demo", _demo, "Run the demo branch: server, tokens, and optional live traffic."
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8470, help="port to listen on (default 8470)")
    p.add_argument("--var", default="var", help="folder for the demo database (wiped)")
    p.add_argument("--traffic", action="store_true", help="simulate customers and tellers")
    p.add_argument(
        "--no-devices", action="store_true", help="without simulated devices and the bus hub"
    )
    p.add_argument(
        "--speed",
        type=float,
        default=8.0,
        help="branch time, this many times faster than real time (8: an hour is about a day)",
    )
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--config", help="branch config TOML (default: the demo branch)")
    p.add_argument(
        "--kiosk",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="open the customer kiosk (default: when DISPLAY or WAYLAND_DISPLAY is set)",
    )
    p.add_argument(
        "--no-counter",
        action="store_true",
        help="with the kiosk, do not open the counter app for counter 1",
    )
    p.add_argument(
        "--no-manager",
        action="store_true",
        help="with the kiosk, do not open the branch manager's console",
    )
    p.add_argument(
        "--screen",
        type=_screen_size,
        help="the screen's size, WIDTHxHEIGHT (default: asked of the X server with xdpyinfo); "
        "from 3286x1488 the kiosk, console and counter app open side by side",
    )
    p.add_argument(
        "--network",
        type=int,
        nargs="?",
        const=3,
        metavar="N",
        help="a head office and N branches shipping to it (default 3), with simulated "
        "traffic; the console's URL and sign-in are printed (branch k on --port + k)",
    )
    p.add_argument(
        "--central-port",
        type=int,
        default=8800,
        help="with --network: the head office's HTTPS port (default 8800; 0: any free port)",
    )


def _screen_size(text: str) -> tuple[int, int]:
    from tools.demo import parse_screen

    try:
        return parse_screen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# ------------------------------------------------------------------------ screenshots
def _screenshots(args: argparse.Namespace) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if not args.web_only:
        from tools.screenshots.qt import main as qt_main

        argv = ["--out", str(args.out)] + (["--only", args.only] if args.only else [])
        if qt_main(argv) != 0:
            return 1
    if not args.qt_only:
        from tools.screenshots.web import main as web_main

        return web_main(["--out", str(args.out)])
    return 0


def register_screenshots(sub: Any) -> None:
    """`branchq screenshots`: every screen rendered at the sizes it runs on."""
    p = _command(
        sub,
        "screenshots",
        _screenshots,
        "Render every app screen (offscreen Qt) and web page (headless Chromium) to PNGs.",
    )
    p.add_argument("--out", type=Path, default=Path("docs/screenshots"), help="folder for the PNGs")
    p.add_argument("--only", help="Qt screens whose name contains this only")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--qt-only", action="store_true", help="the Qt apps' screens only")
    which.add_argument("--web-only", action="store_true", help="the web pages only")
