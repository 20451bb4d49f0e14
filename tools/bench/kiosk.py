"""`branchq bench kiosk`: the kiosk's start-up, ticket and memory figures.

Everything runs offscreen on loopback, each figure next to a baseline from the same run:

1. Cold start: `python -m kiosk --self-test` is spawned `--cold-starts` times (default 5);
   the time is from spawning it to its "self-test ok" line, which it prints once the
   attract screen has painted. Baseline: a bare `python -c` that creates a QApplication
   and shows an empty QWidget, timed to its first paint the same way. One unmeasured run
   of each comes first, so both find their files in the page cache as a booted kiosk does.
2. Tap "take a ticket" → ticket at the printer: a real queue server (`branchq server` as a
   subprocess, on the demo branch in a temporary folder) and a PrinterSimulator on
   loopback TCP in this process. A child process runs the KioskWindow offscreen and, for
   each of `--tickets` customers, walks the flow (`start`, `choose_service`) and times
   from `take_ticket()` to the simulator parsing the ticket's cut (its last byte;
   `PrintedTicket.cut_at`). Both sides read `time.perf_counter()`, which is
   CLOCK_MONOTONIC on Linux, one clock for every process. Baseline: the same ticket
   issued by one HTTP POST and printed by the same printer code (status query, then the
   job; `kiosk.printing.ticket_content`), with no Qt, in a child process of its own.
   Between two customers a teller at counter 1 calls, starts and finishes one ticket, so
   the queue stays as long as it was and the kiosk receives those events as in a branch.
3. Memory: the kiosk child's resident set (VmRSS) is read every 100 tickets while it
   waits for the next customer; `rss_mb` is the last reading, `rss_growth_pct_last_500`
   the growth over the last 500 tickets (over the last half when fewer are run).

`--json` prints one object with at least cold_start_s, ticket_p99_ms, rss_mb and
rss_growth_pct_last_500. The kiosk and baseline children are this module too
(`--drive kiosk|direct`), driven over stdin/stdout one JSON line per ticket.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tools.harness import START_TIMEOUT_S, branch_process, child_env

TARGET_COLD_START_S = 1.5
TARGET_TICKET_P99_MS = 300.0
TARGET_RSS_MB = 250.0
TARGET_GROWTH_PCT = 5.0  # "no growth": what is left is allocator noise
RSS_EVERY = 100
GROWTH_WINDOW = 500
SERVICE = "A"
TELLER_COUNTER = 1
TELLER_PIN = "2468"
TICKET_TIMEOUT_S = 15.0
SELF_TEST_OK = "self-test ok"
BASELINE_WINDOW = """
import sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

app = QApplication(sys.argv[:1])
window = QWidget()


def shown():
    print("shown", flush=True)
    app.quit()


class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and not self.property("seen"):
            self.setProperty("seen", True)
            QTimer.singleShot(0, shown)
        return False


watcher = FirstPaint()
window.installEventFilter(watcher)
window.resize(1920, 1080)
window.show()
app.exec()
"""


# ------------------------------------------------------------------------ command line
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="branchq bench kiosk", description=__doc__.split("\n", 1)[0] if __doc__ else None
    )
    parser.add_argument("--cold-starts", type=int, default=5, help="kiosk starts (default 5)")
    parser.add_argument(
        "--tickets", type=int, default=1000, help="tickets through the kiosk (default 1000)"
    )
    parser.add_argument(
        "--baseline-tickets",
        type=int,
        help="tickets by direct HTTP + printer code (default: as many as --tickets)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    # The children this module starts; not for people.
    parser.add_argument("--drive", choices=["kiosk", "direct"], help=argparse.SUPPRESS)
    parser.add_argument("--server", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--printer", help=argparse.SUPPRESS)
    parser.add_argument("--service", default=SERVICE, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.drive == "kiosk":
        return drive_kiosk(args)
    if args.drive == "direct":
        return drive_direct(args)
    return bench_main(args)


def bench_main(args: argparse.Namespace) -> int:
    """`branchq bench kiosk`: run the benchmark and print its figures."""
    if args.cold_starts < 1 or args.tickets < 2:
        raise SystemExit("need --cold-starts >= 1 and --tickets >= 2")
    result = run(
        cold_starts=args.cold_starts,
        tickets=args.tickets,
        baseline_tickets=args.baseline_tickets or args.tickets,
    )
    print(json.dumps(result, sort_keys=True) if args.json else format_report(result))
    return 0


def run(*, cold_starts: int, tickets: int, baseline_tickets: int) -> dict[str, Any]:
    """The whole benchmark; times in seconds (start) and milliseconds (tickets)."""
    result: dict[str, Any] = {"cores": os.cpu_count()}
    result |= measure_cold_start(cold_starts)
    with BenchBranch.start() as branch:
        kiosk = branch.drive("kiosk", tickets)
        direct = branch.drive("direct", baseline_tickets)
    result |= ticket_figures(kiosk, direct)
    result |= memory_figures(kiosk.rss_kb, tickets)
    targets = {
        "cold_start_s": TARGET_COLD_START_S,
        "ticket_p99_ms": TARGET_TICKET_P99_MS,
        "rss_mb": TARGET_RSS_MB,
        "rss_growth_pct_last_500": TARGET_GROWTH_PCT,
    }
    result["targets"] = targets
    result["targets_met"] = {
        key: result[key] is not None and result[key] <= limit for key, limit in targets.items()
    }
    result["all_targets_met"] = all(result["targets_met"].values())
    return result


# ------------------------------------------------------------------------- cold start
def time_to_line(cmd: list[str], marker: str, timeout_s: float = START_TIMEOUT_S) -> float:
    """Seconds from spawning `cmd` to it printing a line that starts with `marker`."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=child_env()
        )
        assert proc.stdout is not None
        lines = _line_reader(proc.stdout)
        try:
            while True:
                line = lines.get(timeout=max(0.0, started + timeout_s - time.perf_counter()))
                if line is None:
                    break
                if line.startswith(marker):
                    return time.perf_counter() - started
        except queue.Empty:
            pass
        finally:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout_s)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err.seek(0)
        tail = err.read().decode(errors="replace")[-1500:]
    raise RuntimeError(f"{' '.join(cmd[:4])} … printed no {marker!r} line:\n{tail}")


def _line_reader(stream: IO[bytes]) -> queue.Queue[str | None]:
    """The lines of a child's stdout, read on a thread; None once it is closed."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for raw in stream:
            lines.put(raw.decode(errors="replace").strip())
        lines.put(None)

    threading.Thread(target=read, name="bench-child-stdout", daemon=True).start()
    return lines


def measure_cold_start(runs: int) -> dict[str, Any]:
    kiosk_cmd = [sys.executable, "-m", "kiosk", "--self-test"]
    baseline_cmd = [sys.executable, "-c", BASELINE_WINDOW]
    time_to_line(kiosk_cmd, SELF_TEST_OK)  # warm the page cache, unmeasured
    time_to_line(baseline_cmd, "shown")
    kiosk, baseline = [], []
    for _ in range(runs):  # interleaved, so both see the same machine
        kiosk.append(time_to_line(kiosk_cmd, SELF_TEST_OK))
        baseline.append(time_to_line(baseline_cmd, "shown"))
    median, base = statistics.median(kiosk), statistics.median(baseline)
    return {
        "cold_start_runs": runs,
        "cold_start_s": round(median, 3),
        "cold_start_max_s": round(max(kiosk), 3),
        "baseline_cold_start_s": round(base, 3),
        "baseline_cold_start_max_s": round(max(baseline), 3),
        "cold_start_ratio": round(median / base, 2) if base else None,
    }


# ---------------------------------------------------------------- server and printer
@dataclass
class DriveResult:
    mode: str
    latencies_ms: list[float]
    rss_kb: dict[int, int]  # tickets done → the child's VmRSS


@dataclass
class BenchBranch:
    """The queue server (subprocess), a teller at one counter and the printer simulator."""

    base_url: str
    tokens: dict[str, str]
    printer: Any  # PrinterSimulator
    teller: Any  # httpx.Client with the counter's token

    @classmethod
    @contextlib.contextmanager
    def start(cls) -> Iterator[BenchBranch]:
        from devices.printer.sim import PrinterSimulator

        # Through the `branchq` command, as an installer would: the kiosk never imports
        # the server's code (tests/kiosk/test_kiosk_flow.py checks).
        teller_role = f"counter:{TELLER_COUNTER}"
        staff = f"t{TELLER_COUNTER:02d}"
        with branch_process(
            ["kiosk", teller_role], [(staff, TELLER_PIN)], prefix="branchq-bench-kiosk-"
        ) as server:
            printer = PrinterSimulator(render=False).start()
            teller = server.client(teller_role)
            try:
                r = teller.post(
                    f"/counters/{TELLER_COUNTER}/sign-in",
                    json={"staff_id": staff, "pin": TELLER_PIN},
                )
                r.raise_for_status()
                yield cls(server.base_url, server.tokens, printer, teller)
            finally:
                teller.close()
                printer.stop()

    def serve_one(self) -> None:
        """The teller calls the next customer, serves and finishes them."""
        path = f"/counters/{TELLER_COUNTER}"
        called = self.teller.post(f"{path}/call-next")
        called.raise_for_status()
        if called.json().get("ticket") is None:
            return
        self.teller.post(f"{path}/start").raise_for_status()
        self.teller.post(f"{path}/finish").raise_for_status()

    def drive(self, mode: str, tickets: int) -> DriveResult:
        """Run `tickets` customers through a child (`kiosk` or `direct`) and time each."""
        cmd = [
            sys.executable,
            "-m",
            "tools.bench.kiosk",
            "--drive",
            mode,
            "--server",
            self.base_url,
        ]
        cmd += ["--token", self.tokens["kiosk"], "--printer", self.printer.url]
        cmd += ["--service", SERVICE]
        every = rss_interval(tickets)
        latencies: list[float] = []
        rss: dict[int, int] = {}
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=child_env()
            )
            assert proc.stdin is not None and proc.stdout is not None
            lines = _line_reader(proc.stdout)

            def receive(timeout_s: float) -> dict[str, Any]:
                try:
                    line = lines.get(timeout=timeout_s)
                except queue.Empty:
                    line = None
                message: dict[str, Any] = json.loads(line) if line else {"error": "no answer"}
                if "error" in message:
                    err.seek(0)
                    tail = err.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"{mode} driver: {message['error']}\n{tail}")
                return message

            def send(command: str) -> None:
                assert proc.stdin is not None
                proc.stdin.write(command.encode() + b"\n")
                proc.stdin.flush()

            try:
                receive(START_TIMEOUT_S)  # ready
                first = len(self.printer.printed)
                for i in range(tickets):
                    send("next")
                    message = receive(TICKET_TIMEOUT_S)
                    if not self.printer.wait_for_tickets(first + i + 1, timeout=TICKET_TIMEOUT_S):
                        raise RuntimeError(f"{mode}: ticket {i + 1} never reached the printer")
                    cut_at = self.printer.printed[first + i].cut_at
                    latencies.append((cut_at - float(message["t0"])) * 1000)
                    self.serve_one()
                    done = i + 1
                    if done % every == 0 or done == tickets:
                        kb = rss_kb(proc.pid)
                        if kb is not None:
                            rss[done] = kb
                send("stop")
                proc.wait(TICKET_TIMEOUT_S)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        return DriveResult(mode, latencies, rss)


def rss_kb(pid: int) -> int | None:
    """A process's resident set in KiB (Linux /proc); None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_interval(tickets: int) -> int:
    """Read the RSS every 100 tickets; every tenth of the run when it is shorter."""
    return min(RSS_EVERY, max(1, tickets // 10))


# ----------------------------------------------------------------------------- figures
def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ticket_figures(kiosk: DriveResult, direct: DriveResult) -> dict[str, Any]:
    k, d = kiosk.latencies_ms, direct.latencies_ms
    p99, base_p99 = percentile(k, 99), percentile(d, 99)
    return {
        "tickets": len(k),
        "ticket_p50_ms": round(percentile(k, 50), 1),
        "ticket_p99_ms": round(p99, 1),
        "ticket_max_ms": round(max(k), 1),
        "baseline_tickets": len(d),
        "baseline_ticket_p50_ms": round(percentile(d, 50), 1),
        "baseline_ticket_p99_ms": round(base_p99, 1),
        "ticket_p99_ratio": round(p99 / base_p99, 2) if base_p99 else None,
    }


def memory_figures(rss: dict[int, int], tickets: int) -> dict[str, Any]:
    every = rss_interval(tickets)
    window = min(GROWTH_WINDOW, (tickets // 2) // every * every)
    end = rss.get(tickets)
    start = rss.get(tickets - window) if window else None
    growth = None
    if end is not None and start:
        growth = round(100 * (end - start) / start, 2)
    return {
        "rss_mb": round(end / 1024, 1) if end is not None else None,
        "rss_growth_pct_last_500": growth,
        "rss_growth_window": window,
        "rss_mb_by_tickets": {str(n): round(kb / 1024, 1) for n, kb in sorted(rss.items())},
    }


def format_report(r: dict[str, Any]) -> str:
    def verdict(key: str) -> str:
        return "met" if r["targets_met"][key] else "NOT met"

    growth = r["rss_growth_pct_last_500"]
    by_tickets = "  ".join(f"{n}: {mb:.0f}" for n, mb in r["rss_mb_by_tickets"].items())
    lines = [
        f"BranchQ kiosk benchmark: offscreen, loopback, {r['cores']} cores",
        "",
        f"  {'':<34}{'kiosk':>10}{'baseline':>10}{'ratio':>8}   target",
        f"  {'cold start to attract, median':<34}{r['cold_start_s']:>9.2f}s"
        f"{r['baseline_cold_start_s']:>9.2f}s{r['cold_start_ratio']:>7.1f}×"
        f"   ≤ {TARGET_COLD_START_S} s  {verdict('cold_start_s')}",
        f"  {'cold start, max of ' + str(r['cold_start_runs']):<34}{r['cold_start_max_s']:>9.2f}s"
        f"{r['baseline_cold_start_max_s']:>9.2f}s",
        f"  {'take ticket → printer, p50':<34}{r['ticket_p50_ms']:>8.1f}ms"
        f"{r['baseline_ticket_p50_ms']:>8.1f}ms",
        f"  {'take ticket → printer, p99':<34}{r['ticket_p99_ms']:>8.1f}ms"
        f"{r['baseline_ticket_p99_ms']:>8.1f}ms{r['ticket_p99_ratio']:>7.1f}×"
        f"   ≤ {TARGET_TICKET_P99_MS:.0f} ms  {verdict('ticket_p99_ms')}",
        f"  {'take ticket → printer, max':<34}{r['ticket_max_ms']:>8.1f}ms",
        f"  {'tickets':<34}{r['tickets']:>10}{r['baseline_tickets']:>10}",
        "",
        f"  resident memory after {r['tickets']} tickets  {r['rss_mb']} MiB"
        f"   target ≤ {TARGET_RSS_MB:.0f} MiB  {verdict('rss_mb')}",
        f"  growth over the last {r['rss_growth_window']} tickets  "
        + ("—" if growth is None else f"{growth:+.1f} %")
        + f"   target < {TARGET_GROWTH_PCT:.0f} %  {verdict('rss_growth_pct_last_500')}",
        f"  MiB by tickets done  {by_tickets}",
        "",
        "  baselines: a bare QApplication showing an empty QWidget; the same ticket by one HTTP",
        "  POST and the same printer code without Qt",
        "",
        "  all targets met" if r["all_targets_met"] else "  targets NOT all met",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- children
def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def drive_kiosk(args: argparse.Namespace) -> int:
    """Child: the KioskWindow offscreen, one customer per "next" line on stdin."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from kiosk.app import open_kiosk
    from kiosk.flow import PrintState, Screen, Timeouts
    from kiosk.printing import TicketPrinting
    from tools import qtdriver
    from ui import theme
    from ui.client import BranchClient

    app = QApplication(sys.argv[:1])
    theme.apply_theme(app)
    client = BranchClient(args.server, args.token)
    printing = TicketPrinting(args.printer)
    never = 24 * 3600.0  # no screen may time out under the benchmark
    window = open_kiosk(
        client,
        printing,
        device_name="bench-kiosk",
        timeouts=Timeouts(home_s=never, guidance_s=never, ticket_s=never, ticket_on_screen_s=never),
        printer_check_s=never,
    )
    window.resize(1920, 1080)
    window.show()
    client.start()

    commands = qtdriver.stdin_commands("bench-commands")

    def wait_until(done: Callable[[], bool], timeout_s: float, what: str) -> None:
        qtdriver.wait_until(done, what, timeout_s)

    flow = window.flow
    try:
        wait_until(
            lambda: bool(client.online) and args.service in client.model.services,
            START_TIMEOUT_S,
            "no connection to the queue server",
        )
        _emit({"ready": True})
        while True:
            wait_until(lambda: bool(commands), never, "no command")
            if commands.pop(0) != "next":
                break
            flow.start()
            flow.choose_service(args.service)
            app.processEvents()  # the guidance screen is drawn before the tap
            app.processEvents()
            if flow.screen is not Screen.GUIDANCE:
                raise RuntimeError(f"on {flow.screen.value} instead of guidance")
            t0 = time.perf_counter()
            flow.take_ticket()
            wait_until(
                lambda: (
                    flow.screen not in (Screen.ISSUING, Screen.TICKET)
                    or (
                        flow.ticket is not None
                        and flow.ticket.print_state is not PrintState.PRINTING
                    )
                ),
                TICKET_TIMEOUT_S,
                "no printed ticket",
            )
            ticket = flow.ticket
            if ticket is None or ticket.print_state is not PrintState.PRINTED:
                state = "no ticket" if ticket is None else ticket.print_state.value
                raise RuntimeError(f"ticket not printed ({state}, error {flow.error_key})")
            _emit({"t0": t0, "number": ticket.number})
            flow.done()
    except Exception as exc:
        _emit({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    finally:
        client.stop()
        printing.close()
        window.close()
    return 0


def drive_direct(args: argparse.Namespace) -> int:
    """Child: the baseline, one HTTP POST and the printer code per "next", no Qt loop."""
    import httpx

    from devices.printer import printer_for_url
    from kiosk.flow import IssuedTicket
    from kiosk.printing import ticket_content

    http = httpx.Client(
        base_url=args.server + "/api/v1",
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=10,
    )
    try:
        snapshot = http.get("/snapshot").json()
        branch = snapshot.get("branch", {})
        service = next(s for s in snapshot.get("services", []) if s["code"] == args.service)
        with printer_for_url(args.printer) as printer:
            _emit({"ready": True})
            for line in sys.stdin:
                if line.strip() != "next":
                    break
                t0 = time.perf_counter()
                reply = http.post(
                    "/tickets",
                    json={"service": args.service, "priority": "regular", "vip_tier": 0},
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                )
                reply.raise_for_status()
                data = reply.json()
                ticket = IssuedTicket(
                    id=int(data["id"]),
                    number=str(data["number"]),
                    service=str(data["service"]),
                    people_ahead=int(data.get("position") or 0),
                    eta_s=data.get("eta_s"),
                    url=f"{args.server}/t/{data.get('token', '')}",
                    issued_at=str(data.get("issued_at") or ""),
                    priority=str(data.get("priority") or "regular"),
                )
                status = printer.status()
                if not (status.ready or status.one_way):
                    raise RuntimeError(f"printer not ready: {status.summary()}")
                printer.print_ticket(ticket_content(ticket, branch, service))
                _emit({"t0": t0, "number": ticket.number})
    except Exception as exc:
        _emit({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    finally:
        http.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
