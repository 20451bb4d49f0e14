"""`branchq bench counter`: "Call next" → the number on the teller's screen and the LED board.

Everything runs on loopback, offscreen, with the real parts: a queue server (`branchq
server` as a subprocess, on the demo branch in a temporary folder), the simulated RS-485
bus on a pty in this process (counter 1's LED board, keypad and a rating pad that answers
by itself), and the bus hub (`branchq devices hub` as a subprocess) driving that bus from
the server's event stream, as in a branch.

1. Baseline, first and without Qt: the counter signs in over HTTP; for each of
   `--baseline-calls` customers a ticket is issued over HTTP, then "call next" is one
   plain HTTP POST, timed from just before the POST until the simulated board shows the
   ticket's number. The customer is then started and finished over HTTP, and the next one
   comes once the pad's rating has reached the server.
2. The counter app: a CounterWindow offscreen (QApplication, staff theme, BranchClient),
   signed in through its sign-in page. For each of `--calls` customers a ticket is issued
   over HTTP; once the window knows it, its "Call next" button is clicked (QTest), timed
   until BOTH the window shows the ticket's number and the board shows it — the later of
   the two. Start and Finish are clicked, and the next customer comes once the window
   shows the pad's rating.

The board's moment is taken on a thread waiting on the simulated bus (it wakes when the
board has parsed the SHOW frame); the window's when the Qt loop, woken by the reply, has
put the number on the customer panel. `time.perf_counter()` everywhere.
`--json` prints call_p99_ms (and the baseline and ratio) with the other figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tools.bench.centre_down import MODES, link_status, side_by_side
from tools.harness import BRANCHQ, BranchProcess, branch_process, child_env, stop_process

TARGET_CALL_P99_MS = 100.0
COUNTER = 1
STAFF = "t01"
PIN = "2468"
SERVICE = "A"  # counter 1's first business in the demo branch
RATING = 4  # what the simulated pad answers
STEP_TIMEOUT_S = 10.0
START_TIMEOUT_S = 30.0


# ------------------------------------------------------------------------ command line
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="branchq bench counter",
        description="Call next → customer on the teller's screen and the LED board.",
    )
    parser.add_argument("--calls", type=int, default=300, help="calls through the app (300)")
    parser.add_argument(
        "--baseline-calls", type=int, help="calls by plain HTTP (default: as many as --calls)"
    )
    parser.add_argument(
        "--head-office-down",
        nargs="?",
        const="blackhole",
        choices=MODES,
        help="run twice, without a head office and shipping to one that is down",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(parse_args(argv))


def bench_main(args: argparse.Namespace) -> int:
    """`branchq bench counter`: run the benchmark and print its figures."""
    if args.calls < 2 or (args.baseline_calls is not None and args.baseline_calls < 2):
        raise SystemExit("need --calls >= 2 (and --baseline-calls >= 2)")
    baseline_calls = args.baseline_calls or args.calls
    down_mode = getattr(args, "head_office_down", None)
    if down_mode is not None:
        without = run(calls=args.calls, baseline_calls=baseline_calls)
        down = run(calls=args.calls, baseline_calls=baseline_calls, head_office_down=down_mode)
        if args.json:
            print(json.dumps({"without": without, "centre_down": down}, sort_keys=True))
        else:
            print(side_by_side("BranchQ counter benchmark", without, down, CENTRE_DOWN_ROWS))
        return 0
    result = run(calls=args.calls, baseline_calls=baseline_calls)
    print(json.dumps(result, sort_keys=True) if args.json else format_report(result))
    return 0


CENTRE_DOWN_ROWS = (
    ("call next → screen+board p50", "call_p50_ms"),
    ("call next → screen+board p99", "call_p99_ms"),
    ("  the screen alone, p99", "screen_p99_ms"),
    ("  the LED board alone, p99", "board_p99_ms"),
    ("plain HTTP call → board p99", "baseline_call_p99_ms"),
)


def run(*, calls: int, baseline_calls: int, head_office_down: str | None = None) -> dict[str, Any]:
    """The whole benchmark; times in milliseconds. `head_office_down`: the branch ships
    to a head office that is down ("blackhole" or "refused"); the link's state is in the
    figures (`head_office`)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    roles = ["kiosk", f"counter:{COUNTER}", "manager"]
    with (
        branch_process(
            roles,
            [(STAFF, PIN)],
            prefix="branchq-bench-counter-",
            head_office_down=head_office_down,
        ) as server,
        counter_devices(server) as bus,
    ):
        baseline = call_by_http(server, bus, baseline_calls)
        app = call_by_window(server, bus, calls)
        link = (
            None
            if head_office_down is None
            else link_status(server.base_url, server.tokens["manager"])
        )
    result = figures(app, baseline)
    if link is not None:
        result["head_office"] = {"mode": head_office_down, **link}
    return result


# --------------------------------------------------------------------- bus and hub
@dataclass
class CounterBus:
    """Counter 1's simulated devices, driven by the hub subprocess."""

    sim: Any  # BusSimulator
    board: Any  # SimTextBoard
    pad: Any  # SimRatingPad

    def watch_board(self, number: str) -> Callable[[], float]:
        """Start waiting for the board to show `number`; the returned function gives the
        moment it did (perf_counter), waiting for it if need be."""
        shown: list[float] = []
        board = self.board

        def wait() -> None:
            if self.sim.wait_until(lambda: board.text == number, STEP_TIMEOUT_S):
                shown.append(time.perf_counter())

        thread = threading.Thread(target=wait, name="bench-board", daemon=True)
        thread.start()

        def when() -> float:
            thread.join(STEP_TIMEOUT_S + 1)
            if not shown:
                raise RuntimeError(f"the LED board never showed {number} (shows {board.text!r})")
            return shown[0]

        return when


@contextmanager
def counter_devices(server: BranchProcess) -> Iterator[CounterBus]:
    """The simulated bus for counter 1 and `branchq devices hub` driving it."""
    from devices.bus import plan
    from devices.bus.sim import start_counter_bus

    sim = start_counter_bus([COUNTER])
    board = sim.text_board(plan.board_address(COUNTER))
    pad = sim.rating_pad(plan.rating_pad_address(COUNTER))
    pad.auto_answer = RATING
    config = server.folder / "hub.toml"
    token = server.tokens[f"counter:{COUNTER}"]
    config.write_text(
        f'server = "{server.base_url}"\n[[buses]]\nname = "main"\nurl = "{sim.url}"\n'
        f'[[counters]]\nnumber = {COUNTER}\ntoken = "{token}"\n',
        encoding="utf-8",
    )
    log_path = server.folder / "hub.log"
    with log_path.open("wb") as log:
        hub = subprocess.Popen(
            [*BRANCHQ, "devices", "hub", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env(),
        )
    try:
        # The hub clears every board once it has the server's snapshot: it is following.
        if not sim.wait_until(lambda: "clear" in board.history, START_TIMEOUT_S):
            raise RuntimeError("the bus hub did not start: " + _tail(log_path))
        yield CounterBus(sim, board, pad)
    except BaseException:
        print(f"hub log (end):\n{_tail(log_path)}", file=sys.stderr)
        raise
    finally:
        stop_process(hub)
        sim.stop()


def _tail(path: Any) -> str:
    try:
        return str(path.read_text(errors="replace")[-2000:])
    except OSError:
        return ""


# --------------------------------------------------------------------- baseline
def call_by_http(server: BranchProcess, bus: CounterBus, calls: int) -> list[float]:
    """Call next by one HTTP POST each; ms from the POST to the board showing the number."""
    path = f"/counters/{COUNTER}"
    kiosk = server.client("kiosk")
    teller = server.client(f"counter:{COUNTER}")
    latencies = []
    try:
        teller.post(f"{path}/sign-in", json={"staff_id": STAFF, "pin": PIN}).raise_for_status()
        for _ in range(calls):
            ticket = _issue(kiosk)
            board_shown = bus.watch_board(ticket["number"])
            t0 = time.perf_counter()
            r = teller.post(f"{path}/call-next", headers={"Idempotency-Key": uuid.uuid4().hex})
            r.raise_for_status()
            called = r.json().get("ticket") or {}
            if called.get("id") != ticket["id"]:
                raise RuntimeError(f"called {called.get('number')} instead of {ticket['number']}")
            latencies.append((board_shown() - t0) * 1000)
            teller.post(f"{path}/start").raise_for_status()
            teller.post(f"{path}/finish").raise_for_status()
            _wait_rated(teller, ticket["id"])
        # The app signs in through its own screen.
        teller.post(f"{path}/sign-out").raise_for_status()
    finally:
        kiosk.close()
        teller.close()
    return latencies


def _issue(kiosk: Any) -> dict[str, Any]:
    r = kiosk.post(
        "/tickets", json={"service": SERVICE}, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    r.raise_for_status()
    ticket: dict[str, Any] = r.json()
    return ticket


def _wait_rated(http: Any, ticket_id: int) -> None:
    """Until the pad's rating has reached the server (the hub posts it after a poll)."""
    deadline = time.perf_counter() + STEP_TIMEOUT_S
    while http.get(f"/tickets/{ticket_id}").json().get("rating") is None:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"ticket {ticket_id} was never rated through the pad")
        time.sleep(0.005)  # a plain HTTP client has nothing to wait on but the server


# -------------------------------------------------------------------- the app
def call_by_window(server: BranchProcess, bus: CounterBus, calls: int) -> dict[str, list[float]]:
    """Click "Call next" in a CounterWindow; ms until both the window and the board show
    the number (also each side alone)."""
    from PySide6.QtCore import Qt, qInstallMessageHandler
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from tools import qtdriver
    from ui import theme
    from ui.client import BranchClient
    from ui.counter.session import Action
    from ui.counter.window import open_counter

    qInstallMessageHandler(_quiet_offscreen_noise)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    theme.apply_theme(app, variant="staff")
    client = BranchClient(server.base_url, server.tokens[f"counter:{COUNTER}"])
    window = open_counter(client, COUNTER, staff_id=STAFF)
    window.resize(1366, 768)
    window.show()
    client.start()
    kiosk = server.client("kiosk")

    def wait_until(done: Callable[[], bool], what: str, timeout_s: float = STEP_TIMEOUT_S) -> None:
        qtdriver.wait_until(done, what, timeout_s)

    def shown() -> str | None:
        panel = window.customer
        if panel.pages.currentWidget() is not panel.present:
            return None
        return panel.number.text()

    def click(action: Action) -> None:
        wait_until(lambda: window.busy is None and window.buttons[action].isEnabled(), action)
        QTest.mouseClick(window.buttons[action], Qt.MouseButton.LeftButton)

    both: list[float] = []
    screen: list[float] = []
    board: list[float] = []
    try:
        wait_until(
            lambda: bool(client.online) and window.session.view().known,
            "no connection to the queue server",
            START_TIMEOUT_S,
        )
        qtdriver.sign_in_counter(window, STAFF, PIN, STEP_TIMEOUT_S)
        for _ in range(calls):
            ticket = _issue(kiosk)
            number = ticket["number"]
            tid: int = ticket["id"]
            wait_until(lambda: tid in client.model.tickets, "ticket not in the model")  # noqa: B023
            board_shown = bus.watch_board(number)
            button = window.buttons[Action.CALL_NEXT]
            wait_until(lambda: window.busy is None and button.isEnabled(), "call next")  # noqa: B023
            t0 = time.perf_counter()
            QTest.mouseClick(button, Qt.MouseButton.LeftButton)
            wait_until(lambda: shown() == number, f"{number} not on the screen")  # noqa: B023
            t_screen = time.perf_counter()
            t_board = board_shown()
            screen.append((t_screen - t0) * 1000)
            board.append((t_board - t0) * 1000)
            both.append((max(t_screen, t_board) - t0) * 1000)
            click(Action.START)
            click(Action.FINISH)

            def rated(tid: int = ticket["id"]) -> bool:
                rating = window.session.view().rating
                return rating is not None and rating.ticket_id == tid and rating.rating is not None

            wait_until(rated, f"no rating shown for {number}")
    finally:
        kiosk.close()
        client.stop()
        window.close()
        window.deleteLater()
        app.processEvents()
    return {"both": both, "screen": screen, "board": board}


def _quiet_offscreen_noise(mode: Any, context: Any, message: str) -> None:
    # The offscreen platform warns about size hints at every layout change of a shown
    # window; anything else Qt says is still printed.
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


# ----------------------------------------------------------------------------- figures
def percentile(values: Sequence[float], q: int) -> float:
    """The q-th percentile, interpolated between the closest ranks."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def figures(app: dict[str, list[float]], baseline: list[float]) -> dict[str, Any]:
    both = app["both"]
    p99, base_p99 = percentile(both, 99), percentile(baseline, 99)
    result: dict[str, Any] = {
        "cores": os.cpu_count(),
        "calls": len(both),
        "call_p50_ms": round(percentile(both, 50), 1),
        "call_p99_ms": round(p99, 1),
        "call_max_ms": round(max(both), 1),
        "screen_p50_ms": round(percentile(app["screen"], 50), 1),
        "screen_p99_ms": round(percentile(app["screen"], 99), 1),
        "board_p50_ms": round(percentile(app["board"], 50), 1),
        "board_p99_ms": round(percentile(app["board"], 99), 1),
        "baseline_calls": len(baseline),
        "baseline_call_p50_ms": round(percentile(baseline, 50), 1),
        "baseline_call_p99_ms": round(base_p99, 1),
        "baseline_call_max_ms": round(max(baseline), 1),
        "call_p99_ratio": round(p99 / base_p99, 2) if base_p99 else None,
        "target_call_p99_ms": TARGET_CALL_P99_MS,
    }
    result["target_met"] = p99 <= TARGET_CALL_P99_MS
    return result


def format_report(r: dict[str, Any]) -> str:
    verdict = "met" if r["target_met"] else "NOT met"
    lines = [
        f"BranchQ counter benchmark: offscreen, loopback, {r['cores']} cores",
        "",
        f"  {'':<38}{'app':>10}{'baseline':>10}{'ratio':>8}   target",
        f"  {'call next → screen and board, p50':<38}{r['call_p50_ms']:>8.1f}ms"
        f"{r['baseline_call_p50_ms']:>8.1f}ms",
        f"  {'call next → screen and board, p99':<38}{r['call_p99_ms']:>8.1f}ms"
        f"{r['baseline_call_p99_ms']:>8.1f}ms{r['call_p99_ratio']:>7.1f}×"
        f"   ≤ {TARGET_CALL_P99_MS:.0f} ms  {verdict}",
        f"  {'call next → screen and board, max':<38}{r['call_max_ms']:>8.1f}ms"
        f"{r['baseline_call_max_ms']:>8.1f}ms",
        f"  {'  the screen alone, p50 / p99':<38}"
        f"{r['screen_p50_ms']:>8.1f}ms / {r['screen_p99_ms']:.1f} ms",
        f"  {'  the LED board alone, p50 / p99':<38}"
        f"{r['board_p50_ms']:>8.1f}ms / {r['board_p99_ms']:.1f} ms",
        f"  {'calls':<38}{r['calls']:>10}{r['baseline_calls']:>10}",
        "",
        "  app: the real CounterWindow's Call next button clicked, until both the window and",
        "  the simulated LED board (driven by the bus hub) show the number; baseline: one",
        "  plain HTTP POST call-next until the board shows it, no Qt",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
