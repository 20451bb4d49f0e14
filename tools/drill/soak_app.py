"""`python -m tools.drill.soak_app`: a compressed day through the real server, kiosk, counter.

Processes, all on loopback and offscreen: the queue server (`branchq server`, demo branch
in a temporary folder), the kiosk (`python -m tools.bench.kiosk --drive kiosk`: the real
KioskWindow, a customer tapping through "take a ticket" for each "next" line, printing on a
PrinterSimulator in this process) and the counter app (`python -m tools.drill.soak_app
--drive counter`: the real CounterWindow at counter 1, a teller clicking Call next, Start
and Finish whenever
someone is waiting). Arrivals follow the standard day's hourly rates
(queue_server/simulation/scenarios/branch_day.toml) stretched over `--hours` (12) at `--load` (2×),
a Poisson process with a fixed seed, and the day runs `--speed` times faster than real
time. Business A only: counter 1 serves it first, so one counter app serves the whole day.

The resident set (VmRSS), open file descriptors and threads of each of the three
processes are sampled from /proc every couple of seconds. The baseline is taken once
warm-up (the first `WARMUP_SHARE` of the day's tickets) is over: memory is the last
warm-up reading, descriptors and threads the highest seen during warm-up (Qt's thread
pools start and retire threads as they please). Limits: memory growth under 10 %, no more
descriptors or threads at the end than the baseline, no process exits.

`--short` is the CI version (2 simulated hours at 240×: about 30 s); the default is
the whole 12-hour day at 60× (12 minutes); `--speed 1` is a real day, by hand.
The result is one JSON object (`--json`) in the drill's shape: drill, attempts, faults (0:
none injected), lost (tickets the server acknowledged that did not come out of the
printer, and errors), recovery_p95_s (None: nothing to recover from), details — with
`failures` naming each process over a limit or gone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import queue
import random
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from queue_server.simulation.scenario import STANDARD_DAY
from tools.harness import (
    BRANCHQ,
    START_TIMEOUT_S,
    branchq,
    child_env,
    free_port,
    stop_process,
    wait_healthy,
)

SCENARIO = STANDARD_DAY
COUNTER = 1
STAFF, PIN = "t01", "2468"
SERVICE = "A"
SEED = 20261128
WARMUP_SHARE = 0.25
SAMPLE_EVERY_S = 2.0
LIMIT_RSS_GROWTH_PCT = 10.0
STEP_TIMEOUT_S = 15.0
DRAIN_TIMEOUT_S = 60.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.drill.soak_app", description=__doc__)
    parser.add_argument("--short", action="store_true", help="2 simulated hours at 240×")
    parser.add_argument("--hours", type=float, help="simulated hours (12; short: 2)")
    parser.add_argument("--speed", type=float, help="simulated seconds per second (60; 240)")
    parser.add_argument("--load", type=float, default=2.0, help="× the standard day (2)")
    parser.add_argument("--attempts", type=int, help="days in a row (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    # The counter app child; not for people.
    parser.add_argument("--drive", choices=["counter"], help=argparse.SUPPRESS)
    parser.add_argument("--server", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.drive == "counter":
        return drive_counter(args)
    result = run(
        short=args.short,
        attempts=args.attempts,
        hours=args.hours,
        speed=args.speed,
        load=args.load,
    )
    print(json.dumps(result, sort_keys=True) if args.json else format_report(result))
    return 0 if result["lost"] == 0 and not result["details"]["failures"] else 1


# ------------------------------------------------------------------------- the day
def arrivals(hours: float, load: float, seed: int = SEED) -> list[float]:
    """Arrival times in simulated seconds: the standard day's hourly profile stretched over
    12 hours, × `load`, the first `hours` of it; a Poisson process (thinning)."""
    hourly = tomllib.loads(SCENARIO.read_text(encoding="utf-8"))["arrivals"]["hourly"]
    day_hours = 12.0

    def rate(t: float) -> float:  # per second
        index = min(len(hourly) - 1, int(t / 3600 / day_hours * len(hourly)))
        return float(hourly[index]) * load / 3600

    peak = max(hourly) * load / 3600
    rng = random.Random(seed)
    times: list[float] = []
    t, end = 0.0, hours * 3600
    while True:
        t += rng.expovariate(peak)
        if t >= end:
            return times
        if rng.random() < rate(t) / peak:
            times.append(t)


@dataclass
class Sample:
    at: float  # seconds since the day started (real)
    rss_kb: int
    fds: int
    threads: int


def sample(pid: int, at: float) -> Sample | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        threads = len(os.listdir(f"/proc/{pid}/task"))
    except (OSError, StopIteration, ValueError):
        return None
    return Sample(at, rss, fds, threads)


@dataclass
class Watched:
    name: str
    proc: subprocess.Popen[bytes]
    samples: list[Sample] = field(default_factory=list)

    def figures(self, warm_until: float) -> dict[str, Any]:
        warm = [s for s in self.samples if s.at <= warm_until]
        after = [s for s in self.samples if s.at > warm_until]
        if not warm or not after:
            return {"samples": len(self.samples), "ok": False, "why": "too few samples"}
        base, end = warm[-1], after[-1]
        base_fds = max(s.fds for s in warm)
        base_threads = max(s.threads for s in warm)
        # A leak shows in every one of the last samples; a socket or thread that happens to be
        # open at the last instant (a network reply, a pool thread) does not.
        tail = after[-5:]
        end_fds = min(s.fds for s in tail)
        end_threads = min(s.threads for s in tail)
        growth = 100 * (end.rss_kb - base.rss_kb) / base.rss_kb
        figures: dict[str, Any] = {
            "samples": len(self.samples),
            "rss_mb_warm": round(base.rss_kb / 1024, 1),
            "rss_mb_end": round(end.rss_kb / 1024, 1),
            "rss_mb_max": round(max(s.rss_kb for s in self.samples) / 1024, 1),
            "rss_growth_pct": round(growth, 2),
            "fds_warm": base_fds,
            "fds_end": end_fds,
            "threads_warm": base_threads,
            "threads_end": end_threads,
            "exited": self.proc.poll(),
        }
        figures["ok"] = (
            growth < LIMIT_RSS_GROWTH_PCT
            and end_fds <= base_fds
            and end_threads <= base_threads
            and figures["exited"] is None
        )
        return figures


# ------------------------------------------------------------------- the processes
@dataclass
class SoakServer:
    base_url: str
    tokens: dict[str, str]
    folder: Path
    proc: subprocess.Popen[bytes]

    def child(self, module: str, drive: str, role: str, extra: Sequence[str] = ()) -> list[str]:
        """The command line of an app child driven on this server with `role`'s token."""
        return [
            *(sys.executable, "-m", module, "--drive", drive),
            *("--server", self.base_url, "--token", self.tokens[role], *extra),
        ]


@contextlib.contextmanager
def soak_server(folder: Path) -> Iterator[SoakServer]:
    """`branchq server` on the demo branch, as tools.harness starts it, with its process."""
    db = folder / "soak.db"
    branchq("init", "--db", str(db))
    tokens = {}
    for role in ("kiosk", f"counter:{COUNTER}", "manager"):
        out = branchq("token", "create", "--db", str(db), "--role", role, "--name", "soak")
        tokens[role] = out.split()[-1]
    branchq("staff", "add", "--db", str(db), "--staff-id", STAFF, "--pin", PIN)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*BRANCHQ, "server", "--db", str(db), "--port", str(port), "--log-level", "warning"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env(),
        )
    try:
        wait_healthy(base_url, proc)
        yield SoakServer(base_url, tokens, folder, proc)
    except BaseException:
        print(f"server log (end):\n{_tail(log_path)}", file=sys.stderr)
        raise
    finally:
        stop_process(proc)


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-2000:]
    except OSError:
        return ""


class Child:
    """A driven child process: JSON lines out, command lines in."""

    def __init__(self, name: str, command: list[str], folder: Path) -> None:
        self.name = name
        self.err_path = folder / f"{name}.err"
        with self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=child_env(),
            )
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, name=f"soak-{name}", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with contextlib.suppress(json.JSONDecodeError):
                self.lines.put(json.loads(raw))
        self.lines.put(None)

    def send(self, line: str) -> bool:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            return False
        return True

    def expect(self, key: str, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                message = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"{self.name}: no {key!r} within {timeout_s:.0f} s") from None
            if message is None:
                raise RuntimeError(f"{self.name} exited: {_tail(self.err_path)[-800:]}")
            if "error" in message:
                raise RuntimeError(f"{self.name}: {message['error']}")
            if key in message:
                return message

    def stop(self) -> None:
        self.send("stop")
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        stop_process(self.proc, 10)


# ----------------------------------------------------------------------------- run
def run(
    short: bool = True,
    attempts: int | None = None,
    *,
    hours: float | None = None,
    speed: float | None = None,
    load: float = 2.0,
) -> dict[str, Any]:
    """One or more compressed days; the result in the drill's shape."""
    import tempfile

    from devices.printer.sim import PrinterSimulator

    hours = hours if hours is not None else (2.0 if short else 12.0)
    speed = speed if speed is not None else (240.0 if short else 60.0)
    days = attempts or 1
    plan = arrivals(hours, load)
    with tempfile.TemporaryDirectory(prefix="branchq-soak-") as tmp:
        folder = Path(tmp)
        with soak_server(folder) as server, PrinterSimulator(render=False) as printer:
            kiosk_args = ["--printer", printer.url, "--service", SERVICE]
            kiosk_command = server.child("tools.bench.kiosk", "kiosk", "kiosk", kiosk_args)
            kiosk = Child("kiosk", kiosk_command, folder)
            counter = Child(
                "counter",
                server.child("tools.drill.soak_app", "counter", f"counter:{COUNTER}"),
                folder,
            )
            try:
                kiosk.expect("ready", START_TIMEOUT_S)
                counter.expect("ready", START_TIMEOUT_S)
                watched = [
                    Watched("server", server.proc),
                    Watched("kiosk", kiosk.proc),
                    Watched("counter", counter.proc),
                ]
                day = run_days(plan * days, speed, kiosk, counter, printer, watched, days)
            finally:
                kiosk.stop()
                counter.stop()
    return result(day, hours, speed, load, days, len(plan))


@dataclass
class DayRun:
    issued: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    served: int = 0
    printed: int = 0
    seconds: float = 0.0
    behind_s: float = 0.0  # the most the kiosk fell behind the arrivals
    warm_until: float = 0.0
    watched: list[Watched] = field(default_factory=list)
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)  # per process


def run_days(
    plan: list[float],
    speed: float,
    kiosk: Child,
    counter: Child,
    printer: Any,
    watched: list[Watched],
    days: int,
) -> DayRun:
    run_ = DayRun(watched=watched)
    per_day = len(plan) // days
    day_s = max(plan[:per_day]) if per_day else 0.0
    # Day k's arrivals follow day k-1's: real times, ticket by ticket.
    due = [t / speed + (i // per_day) * (day_s / speed + 1.0) for i, t in enumerate(plan)]
    warm_index = max(1, int(len(due) * WARMUP_SHARE))
    started = time.monotonic()
    next_sample = 0.0

    def keep_sampling(now: float) -> None:
        nonlocal next_sample
        if now >= next_sample:
            for w in watched:
                s = sample(w.proc.pid, now)
                if s is not None:
                    w.samples.append(s)
            next_sample = now + SAMPLE_EVERY_S

    keep_sampling(0.0)
    for i, at in enumerate(due):
        while (now := time.monotonic() - started) < at:
            keep_sampling(now)
            time.sleep(min(0.2, at - now))  # pacing the arrivals: nothing to wait on
        run_.behind_s = max(run_.behind_s, time.monotonic() - started - at)
        kiosk.send("next")
        try:
            done = kiosk.expect("number", STEP_TIMEOUT_S)
        except (TimeoutError, RuntimeError) as exc:
            run_.errors.append(str(exc)[:300])
            break
        run_.issued.append(str(done["number"]))
        keep_sampling(time.monotonic() - started)
        if i + 1 == warm_index:
            run_.warm_until = time.monotonic() - started
            # Warm-up ends on two fresh samples, so the baseline is not a stale one.
            next_sample = 0.0
            keep_sampling(run_.warm_until)
    # The tellers finish the day's queue; the readings go on until they have.
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            keep_sampling(time.monotonic() - started)
            counter.send("count")
            reply = counter.expect("served", STEP_TIMEOUT_S)
            run_.served = int(reply["served"])
            if run_.served >= len(run_.issued):
                break
            time.sleep(0.5)
    except (TimeoutError, RuntimeError) as exc:
        run_.errors.append(str(exc)[:300])
    next_sample = 0.0
    keep_sampling(time.monotonic() - started)
    run_.figures = {w.name: w.figures(run_.warm_until) for w in watched}
    run_.printed = len(printer.printed)
    run_.seconds = time.monotonic() - started
    return run_


def result(
    day: DayRun, hours: float, speed: float, load: float, days: int, per_day: int
) -> dict[str, Any]:
    processes = day.figures
    broken = [name for name, f in processes.items() if not f.get("ok")]
    lost = max(0, len(day.issued) - day.printed) + len(day.errors)
    failures = [f"{name}: over a limit or exited" for name in broken] + day.errors
    return {
        "drill": "soak",
        "attempts": days,
        "faults": 0,  # none injected: the day itself is the test
        "lost": lost,
        "recovery_p95_s": None,
        "details": {
            "simulated_hours": hours,
            "speed": speed,
            "load": load,
            "planned_tickets": per_day * days,
            "tickets_issued": len(day.issued),
            "tickets_printed": day.printed,
            "tickets_served": day.served,
            "errors": day.errors,
            "real_seconds": round(day.seconds, 1),
            "kiosk_behind_s": round(day.behind_s, 1),
            "warm_until_s": round(day.warm_until, 1),
            "processes": processes,
            "limits_broken": broken,
            "failures": failures,
            "limits": {
                "rss_growth_pct": LIMIT_RSS_GROWTH_PCT,
                "fds": "no more than during warm-up",
                "threads": "no more than during warm-up",
            },
        },
    }


def format_report(r: dict[str, Any]) -> str:
    d = r["details"]
    lines = [
        f"soak: {d['simulated_hours']} simulated hours at {d['load']}× load, {d['speed']}× "
        f"speed, {d['real_seconds']} s real; lost {r['lost']}, "
        f"limits broken: {', '.join(d['limits_broken']) or 'none'}",
        f"  tickets planned {d['planned_tickets']}, issued {d['tickets_issued']}, printed "
        f"{d['tickets_printed']}, served {d['tickets_served']}; kiosk at most "
        f"{d['kiosk_behind_s']} s behind the arrivals",
        "",
        f"  {'process':<10}{'RSS warm':>10}{'RSS end':>10}{'growth':>9}"
        f"{'fds':>10}{'threads':>10}   ok",
    ]
    for name, f in d["processes"].items():
        if "rss_mb_warm" not in f:
            lines.append(f"  {name:<10}{f.get('why', '')}")
            continue
        lines.append(
            f"  {name:<10}{f['rss_mb_warm']:>8.1f}MB{f['rss_mb_end']:>8.1f}MB"
            f"{f['rss_growth_pct']:>+8.1f}%{f['fds_warm']:>5}→{f['fds_end']:<4}"
            f"{f['threads_warm']:>5}→{f['threads_end']:<4}  {'yes' if f['ok'] else 'NO'}"
        )
    for error in d["errors"]:
        lines.append(f"  error: {error}")
    return "\n".join(lines)


# -------------------------------------------------------------- the counter app child
def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def drive_counter(args: argparse.Namespace) -> int:
    """Child: the CounterWindow offscreen at counter 1; serves whoever waits for business A.

    stdin: "count" → {"served": n}; "stop" ends. Each customer: Call next, Start, Finish,
    clicked as a teller would once the window allows it.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt, qInstallMessageHandler
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from tools import qtdriver
    from tools.qtdriver import sign_in_counter, stdin_commands
    from ui import theme
    from ui.client import BranchClient
    from ui.counter.session import Action
    from ui.counter.window import open_counter

    qInstallMessageHandler(lambda *_: None)  # the offscreen platform's size-hint noise
    app = QApplication(sys.argv[:1])
    theme.apply_theme(app, variant="staff")
    client = BranchClient(args.server, args.token)
    window = open_counter(client, COUNTER, staff_id=STAFF)
    window.resize(1366, 768)
    window.show()
    client.start()

    commands = stdin_commands("soak-commands")

    def wait_until(done: Callable[[], bool], what: str, timeout_s: float = STEP_TIMEOUT_S) -> None:
        qtdriver.wait_until(done, what, timeout_s)

    def click(action: Action) -> None:
        button = window.buttons[action]
        wait_until(lambda: window.busy is None and button.isEnabled(), action.value)
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        wait_until(lambda: window.busy is None, f"{action.value} answered")

    def customer() -> Any:
        return window.session.view().customer

    def work() -> bool:
        return customer() is not None or bool(client.model.waiting_tickets(SERVICE))

    served = 0
    try:
        wait_until(
            lambda: bool(client.online) and window.session.view().known,
            "no connection to the queue server",
            START_TIMEOUT_S,
        )
        sign_in_counter(window, STAFF, PIN, STEP_TIMEOUT_S)
        _emit({"ready": True})
        while True:
            wait_until(lambda: bool(commands) or work(), "work", math.inf)
            if commands:
                command = commands.pop(0)
                if command == "stop":
                    break
                if command == "count":
                    _emit({"served": served})
                continue
            # The screen follows the event stream: act on what it shows, as a teller does.
            now = customer()
            if now is None:
                click(Action.CALL_NEXT)
                with contextlib.suppress(TimeoutError):  # nobody after all: look again
                    wait_until(lambda: customer() is not None, "the called customer", 3)
            elif not now.serving:
                click(Action.START)
                wait_until(lambda: (c := customer()) is None or c.serving, "serving")
            else:
                click(Action.FINISH)
                wait_until(lambda: customer() is None, "finished")
                served += 1
    except Exception as exc:
        _emit({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    finally:
        client.stop()
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
