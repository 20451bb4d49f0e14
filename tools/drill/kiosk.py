"""`python -m tools.drill.kiosk`: the device-fault drill — devices fail under a live kiosk.

The real KioskWindow runs offscreen in this process, on a real queue server (`branchq
server`, subprocess), a PrinterSimulator on loopback TCP, an ID card reader simulator and a
camera that is a looping video file; counter 1's LED board, keypad and rating pad are the
simulated RS-485 bus driven by `branchq devices hub` (subprocess), as in a branch. Each
round injects every fault once, while a customer is taking a ticket where it applies:

* printer paper out / cover open in the middle of the ticket's job, printer unplugged (the
  simulator's socket closed) as the ticket is issued: the kiosk must end on the ticket
  screen as the ticket ("printing failed, this screen is your ticket"), never "printed";
* counter 1's LED board unplugged from the bus and plugged back (it comes back blank): the
  hub must report it offline, then show the current call on it again;
* the ID card reader answering garbage: a card placed is refused, nothing is read, and the
  kiosk still issues tickets;
* the camera gone (its source file removed): the kiosk still issues tickets.

For each fault the manager must get a `device_fault` alert (GET /api/v1/alerts with a
manager token, polled off the GUI thread), and once the fault is undone the alert must be
cleared: the recovery time is from undoing the fault to the alert clearing (and, for the
board, to it showing the call again). A QTimer heartbeat on the GUI thread measures the
longest gap in the Qt loop during every fault; over FREEZE_MS counts as a freeze.

`lost` counts tickets the server acknowledged that the customer neither got on paper nor
was told to keep on screen, plus freezes and faults the kiosk or manager never saw. The
result is one JSON object (`--json`): drill, attempts, faults, lost, recovery_p95_s,
details. `tools.drill.devices` runs this module as a child process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.harness import START_TIMEOUT_S, BranchProcess, branch_process

FREEZE_MS = 250.0
HEARTBEAT_MS = 20
STEP_TIMEOUT_S = 15.0
ALERT_TIMEOUT_S = 20.0  # the hub reports bus health every 5 s; a board goes offline in ~3
COUNTER = 1
STAFF, PIN = "t01", "2468"
SERVICE = "A"
DEVICE_NAME = "drill-kiosk"
FAULTS = (
    "printer_paper_out",
    "printer_cover_open",
    "printer_unplugged",
    "board_unplugged",
    "idcard_garbage",
    "camera_gone",
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.drill.kiosk", description=__doc__)
    parser.add_argument("--short", action="store_true", help="one round of every fault")
    parser.add_argument("--attempts", type=int, help="rounds of every fault (default 1, or 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(short=args.short, attempts=args.attempts)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(format_report(result))
    return 0 if result["lost"] == 0 else 1


def run(short: bool = True, attempts: int | None = None) -> dict[str, Any]:
    rounds = attempts if attempts is not None else (1 if short else 3)
    if rounds < 1:
        raise ValueError("attempts must be at least 1")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from tools.bench.counter import counter_devices

    roles = ["kiosk", "manager", f"counter:{COUNTER}"]
    with (
        branch_process(roles, [(STAFF, PIN)], prefix="branchq-drill-") as server,
        counter_devices(server) as bus,
        Drill(server, bus) as drill,
    ):
        for _ in range(rounds):
            for fault in FAULTS:
                drill.inject(fault)
        return drill.result(rounds)


def format_report(r: dict[str, Any]) -> str:
    lines = [
        f"device-fault drill: {r['attempts']} round(s), {r['faults']} faults injected, "
        f"lost {r['lost']}, recovery p95 {r['recovery_p95_s']} s",
        "",
        f"  {'fault':<22}{'kiosk':>8}{'alert':>8}{'cleared':>9}{'recovery':>10}{'max gap':>10}",
    ]
    for f in r["details"]["faults"]:
        rec = "—" if f["recovery_s"] is None else f"{f['recovery_s']:.1f}s"
        lines.append(
            f"  {f['fault']:<22}{'ok' if f['kiosk_ok'] else 'NO':>8}"
            f"{'yes' if f['alerted'] else 'NO':>8}{'yes' if f['cleared'] else 'NO':>9}"
            f"{rec:>10}{f['max_gap_ms']:>8.0f}ms"
        )
    d = r["details"]
    lines += [
        "",
        f"  tickets issued {d['tickets_issued']}, printed {d['tickets_printed']}, "
        f"on screen as the ticket {d['tickets_on_screen']}, lost {d['tickets_lost']}",
        f"  GUI loop: longest gap {d['max_gap_ms']:.0f} ms, freezes over {FREEZE_MS:.0f} ms: "
        f"{d['freezes']}",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- parts
class Heartbeat:
    """A QTimer on the GUI thread: the longest gap between its beats since `reset()`."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.max_gap_s = 0.0
        self.overall_s = 0.0
        self._last = time.monotonic()
        self._timer = QTimer()
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self._beat)
        self._timer.start()

    def _beat(self) -> None:
        now = time.monotonic()
        gap = now - self._last
        self._last = now
        self.max_gap_s = max(self.max_gap_s, gap)
        self.overall_s = max(self.overall_s, gap)

    def reset(self) -> None:
        self._last = time.monotonic()
        self.max_gap_s = 0.0

    def stop(self) -> None:
        self._timer.stop()


@dataclass
class FaultRecord:
    fault: str
    kiosk_ok: bool = False  # the kiosk degraded as designed and stayed usable
    alerted: bool = False
    cleared: bool = False
    recovery_s: float | None = None
    max_gap_ms: float = 0.0
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "kiosk_ok": self.kiosk_ok,
            "alerted": self.alerted,
            "cleared": self.cleared,
            "recovery_s": None if self.recovery_s is None else round(self.recovery_s, 2),
            "max_gap_ms": round(self.max_gap_ms, 1),
            "note": self.note,
        }


@dataclass
class Tally:
    issued: list[str] = field(default_factory=list)
    on_screen: list[str] = field(default_factory=list)  # FAILED: the screen is the ticket
    printed_claimed: list[str] = field(default_factory=list)  # the kiosk said "printed"
    on_paper: list[str] = field(default_factory=list)  # … and the printer cut a ticket


class Drill:
    """The kiosk and its simulators, and the fault injections."""

    def __init__(self, server: BranchProcess, bus: Any) -> None:
        self.server = server
        self.bus = bus
        self.records: list[FaultRecord] = []
        self.tally = Tally()
        self.folder = server.folder
        self.old_printers: list[Any] = []  # replaced after being unplugged

    # --------------------------------------------------------------- lifecycle
    def __enter__(self) -> Drill:
        from PySide6.QtWidgets import QApplication

        from devices.idcard.sim import IdCardReaderSimulator
        from devices.printer.sim import PrinterSimulator
        from kiosk.app import open_kiosk
        from kiosk.flow import Timeouts
        from kiosk.peripherals import KioskPeripherals
        from kiosk.printing import TicketPrinting
        from ui import theme
        from ui.client import BranchClient

        app = QApplication.instance() or QApplication(sys.argv[:1])
        assert isinstance(app, QApplication)
        self.app = app
        theme.apply_theme(app)
        self.printer = PrinterSimulator(render=False).start()
        port = self.printer.port
        assert port is not None  # a TCP printer
        self.printer_port = port
        self.idcard = IdCardReaderSimulator().start()
        self.video = self.folder / "camera.avi"
        self.video_spare = self.folder / "camera-spare.avi"
        write_video(self.video_spare)
        shutil.copy(self.video_spare, self.video)
        self.http_pool = ThreadPoolExecutor(1, thread_name_prefix="drill-http")
        self.manager = self.server.client("manager")
        self.teller = self.server.client(f"counter:{COUNTER}")
        self.teller.post(
            f"/counters/{COUNTER}/sign-in", json={"staff_id": STAFF, "pin": PIN}
        ).raise_for_status()
        self.client = BranchClient(
            self.server.base_url, self.server.tokens["kiosk"], timeout_s=2.0, backoff_s=(0.1, 0.5)
        )
        self.printing = TicketPrinting(self.printer.url)
        self.peripherals = KioskPeripherals(
            self.idcard.url, [f"file://{self.video}?loop=1&fps=20&retry=0.5"]
        )
        never = 24 * 3600.0
        self.window = open_kiosk(
            self.client,
            self.printing,
            device_name=DEVICE_NAME,
            timeouts=Timeouts(
                home_s=never,
                guidance_s=never,
                ticket_s=never,
                ticket_on_screen_s=never,
                side_s=never,
            ),
            tick_ms=250,
            printer_check_s=0.5,  # the manager hears of a fixed printer within a second
            peripherals=self.peripherals,
            wedge_scanner=False,
        )
        self.window.resize(1920, 1080)
        self.window.show()
        self.client.start()
        self.peripherals.start()
        self.beat = Heartbeat()
        self.wait_until(
            lambda: bool(self.client.online) and bool(self.window.home.tiles),
            "the kiosk never connected",
            START_TIMEOUT_S,
        )
        self.wait_until(
            lambda: (
                self.peripherals.health.get("scanner", ("", ""))[0] == "ok"
                and self.peripherals.health.get("idcard", ("", ""))[0] == "ok"
            ),
            "the kiosk's reader and camera did not start",
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.beat.stop()
        self.peripherals.stop()
        self.client.stop()
        self.printing.close()
        self.window._may_close = True
        self.window.close()
        self.window.deleteLater()
        self.app.processEvents()
        self.http_pool.shutdown(wait=True)
        self.manager.close()
        self.teller.close()
        self.printer.stop()
        self.idcard.stop()

    # ---------------------------------------------------------------- waiting
    def wait_until(
        self, done: Callable[[], bool], what: str, timeout_s: float = STEP_TIMEOUT_S
    ) -> None:
        """Run the Qt loop until `done()`; a TimeoutError names `what`."""
        from tools import qtdriver

        qtdriver.wait_until(done, what, timeout_s)

    def pause(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        self.wait_until(lambda: time.monotonic() >= end, "pause", seconds + 5)

    def off_thread(self, work: Callable[[], Any], what: str) -> Any:
        """Run a blocking call (HTTP to the server as the manager) off the GUI thread."""
        future: Future[Any] = self.http_pool.submit(work)
        self.wait_until(future.done, what)
        return future.result()

    def alert_state(self, match: Callable[[dict[str, Any]], bool]) -> str | None:
        """The newest device_fault alert `match` picks: "open", "cleared" or None (none)."""

        def fetch() -> list[dict[str, Any]]:
            r = self.manager.get("/alerts")
            r.raise_for_status()
            alerts: list[dict[str, Any]] = r.json()
            return alerts

        for alert in self.off_thread(fetch, "the alert list"):  # newest first
            if alert["kind"] == "device_fault" and match(alert):
                return "cleared" if alert["cleared_at"] else "open"
        return None

    def wait_alert(self, match: Callable[[dict[str, Any]], bool], state: str) -> bool:
        deadline = time.monotonic() + ALERT_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.alert_state(match) == state:
                return True
            self.pause(0.2)
        return False

    # ----------------------------------------------------------------- tickets
    def take_ticket(self) -> Any:
        """A customer taps through to "take a ticket"; the ticket once printing has ended."""
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        from kiosk.flow import PrintState, Screen

        left = Qt.MouseButton.LeftButton
        window, flow = self.window, self.window.flow
        if flow.screen is not Screen.ATTRACT:
            raise RuntimeError(f"the kiosk is on {flow.screen.value}, not attract")
        QTest.mouseClick(window.attract, left)
        self.wait_until(lambda: window.stack.currentWidget() is window.home, "home screen")
        QTest.mouseClick(window.home.tiles[SERVICE], left)
        self.wait_until(lambda: window.stack.currentWidget() is window.guidance, "guidance")
        cuts_before = self._cuts()
        QTest.mouseClick(window.guidance.take, left)
        # The tap goes to ISSUING at once; the server's answer leaves it.
        self.wait_until(lambda: flow.screen is not Screen.ISSUING, "an answer to take a ticket")
        issued = flow.ticket
        if self.window.stack.currentWidget() is not window.ticket or issued is None:
            raise RuntimeError(f"no ticket: on {flow.screen.value}, error {flow.error_key}")
        self.tally.issued.append(issued.number)
        self.wait_until(
            lambda: flow.ticket is not None and flow.ticket.print_state is not PrintState.PRINTING,
            "the printer's outcome",
        )
        ticket = flow.ticket
        if ticket is None:
            raise RuntimeError(f"{issued.number} left the screen before it was printed")
        if ticket.print_state is PrintState.FAILED:
            self.tally.on_screen.append(ticket.number)
        else:
            self.tally.printed_claimed.append(ticket.number)
            # The ticket is a raster image on paper: one more cut is this ticket.
            with contextlib.suppress(TimeoutError):
                self.wait_until(lambda: self._cuts() > cuts_before, "the cut", 3.0)
            if self._cuts() > cuts_before:
                self.tally.on_paper.append(ticket.number)
        return ticket

    def _cuts(self) -> int:
        return sum(len(p.printed) for p in self._printers())

    def finish_customer(self) -> None:
        from kiosk.flow import Screen

        flow = self.window.flow
        if flow.screen is Screen.TICKET:
            self.window.ticket.done.emit()
        self.wait_until(lambda: flow.screen is Screen.ATTRACT, "back to attract")

    # ------------------------------------------------------------------ faults
    def inject(self, fault: str) -> None:
        record = FaultRecord(fault)
        self.records.append(record)
        self.beat.reset()
        try:
            getattr(self, f"_{fault}")(record)
        except (TimeoutError, RuntimeError) as exc:
            record.note = f"{type(exc).__name__}: {exc}"
            with contextlib.suppress(TimeoutError, RuntimeError):
                self._restore_everything()
        record.max_gap_ms = self.beat.max_gap_s * 1000

    def _restore_everything(self) -> None:
        from devices.idcard.sim import Fault
        from devices.printer.sim import PrinterSimulator

        for attr in ("paper_out", "cover_open"):
            setattr(self.printer, attr, False)
        if self.printer._link._stop.is_set():  # left unplugged by a failed round
            self.printer.stop()
            self.old_printers.append(self.printer)
            self.printer = PrinterSimulator(render=False, port=self.printer_port).start()
        self.idcard.fault = Fault.NONE
        if not self.video.exists():
            shutil.copy(self.video_spare, self.video)
        with contextlib.suppress(Exception):
            self.bus.sim.set_silent(self._board_address(), False)
        self.finish_customer()

    def _printer_alert(self, alert: dict[str, Any]) -> bool:
        return bool(alert["subject"].get("device") == f"{DEVICE_NAME}/printer")

    def _printer_fault_mid_job(self, record: FaultRecord, attr: str) -> None:
        """Paper runs out (or the cover is opened) while the ticket's job is being sent."""
        printer = self.printer
        plain_feed = printer.feed

        def feed(data: bytes) -> bytes:
            # A status query is 3 bytes (DLE EOT n); anything longer is the job itself.
            if len(data) > 3 and not getattr(printer, attr):
                setattr(printer, attr, True)
            return plain_feed(data)

        printer.feed = feed  # type: ignore[method-assign]
        try:
            ticket = self.take_ticket()
        finally:
            printer.feed = plain_feed  # type: ignore[method-assign]
        self._judge_failed_ticket(record, ticket, expect_key=f"device.printer.{attr}")
        record.alerted = self.wait_alert(self._printer_alert, "open")
        self.finish_customer()
        fixed_at = time.monotonic()
        setattr(printer, attr, False)
        self._wait_cleared(record, self._printer_alert, fixed_at)
        self._printer_works_again(record)

    def _printer_paper_out(self, record: FaultRecord) -> None:
        self._printer_fault_mid_job(record, "paper_out")

    def _printer_cover_open(self, record: FaultRecord) -> None:
        self._printer_fault_mid_job(record, "cover_open")

    def _printer_unplugged(self, record: FaultRecord) -> None:
        """The printer's cable pulled while the ticket's job is on its way."""
        from devices.printer.sim import PrinterSimulator

        printer = self.printer
        plain_feed = printer.feed
        pulled: list[bool] = []

        def feed(data: bytes) -> bytes:
            if len(data) > 3 or pulled:  # the job: the line goes dead, nothing is printed
                if not pulled:
                    pulled.append(True)
                    printer._link._stop.set()  # its serving thread closes the socket
                return b""
            return plain_feed(data)

        printer.feed = feed  # type: ignore[method-assign]
        ticket = self.take_ticket()
        self._judge_failed_ticket(record, ticket, expect_key="device.printer.offline")
        record.alerted = self.wait_alert(self._printer_alert, "open")
        self.finish_customer()
        printer.stop()
        fixed_at = time.monotonic()
        self.old_printers.append(printer)
        self.printer = PrinterSimulator(render=False, port=self.printer_port).start()
        self._wait_cleared(record, self._printer_alert, fixed_at)
        self._printer_works_again(record)

    def _judge_failed_ticket(self, record: FaultRecord, ticket: Any, expect_key: str) -> None:
        from kiosk.flow import PrintState

        if ticket.print_state is not PrintState.FAILED:
            record.note = f"{ticket.number}: the kiosk said {ticket.print_state.value}"
            return
        on_screen = self.window.stack.currentWidget() is self.window.ticket
        record.kiosk_ok = on_screen and ticket.problem_key == expect_key
        if not record.kiosk_ok:
            record.note = f"{ticket.number}: shown {on_screen}, problem {ticket.problem_key}"

    def _printer_works_again(self, record: FaultRecord) -> None:
        from kiosk.flow import PrintState

        before = len(self.printer.printed)
        ticket = self.take_ticket()
        printed = ticket.print_state is PrintState.PRINTED and self.printer.wait_for_tickets(
            before + 1, 5
        )
        if not printed:
            record.kiosk_ok = False
            record.note += f" after the fix {ticket.number} was {ticket.print_state.value}"
        self.finish_customer()

    def _wait_cleared(
        self, record: FaultRecord, match: Callable[[dict[str, Any]], bool], since: float
    ) -> None:
        record.cleared = self.wait_alert(match, "cleared")
        if record.cleared:
            record.recovery_s = time.monotonic() - since

    # The LED board
    def _board_address(self) -> int:
        from devices.bus import plan

        return plan.board_address(COUNTER)

    def _board_alert(self, alert: dict[str, Any]) -> bool:
        subject = alert["subject"]
        return bool(
            subject.get("counter") == COUNTER
            and "board" in str(subject.get("kind"))
            and str(subject.get("device", "")).endswith(f":{self._board_address()}")
        )

    def _board_unplugged(self, record: FaultRecord) -> None:
        """Counter 1's LED board off the bus and back, blank, with a customer called."""
        board, sim, address = self.bus.board, self.bus.sim, self._board_address()
        issued = self.off_thread(
            lambda: self.server.client("kiosk").post(
                "/tickets", json={"service": SERVICE}, headers={"Idempotency-Key": uuid.uuid4().hex}
            ),
            "issue over HTTP",
        )
        issued.raise_for_status()
        number = issued.json()["number"]
        self.tally.issued.append(number)
        self.tally.on_screen.append(number)  # an HTTP ticket has no paper to lose

        def call() -> str:
            r = self.teller.post(f"/counters/{COUNTER}/call-next")
            r.raise_for_status()
            return str((r.json().get("ticket") or {}).get("number"))

        called = self.off_thread(call, "call next")
        self.wait_until(lambda: board.text == called, f"the board showing {called}")
        sim.set_silent(address, True)
        record.alerted = self.wait_alert(self._board_alert, "open")
        fixed_at = time.monotonic()
        board.power_cycle()  # plugged back in: blank until the bus restores its text
        sim.set_silent(address, False)
        shown = sim.wait_until(lambda: board.text == called, ALERT_TIMEOUT_S)
        self._wait_cleared(record, self._board_alert, fixed_at)
        record.kiosk_ok = shown
        if not shown:
            record.note = f"the board shows {board.text!r}, not {called}"
        self.off_thread(
            lambda: [
                self.teller.post(f"/counters/{COUNTER}/{step}").raise_for_status()
                for step in ("start", "finish")
            ],
            "finish the customer",
        )

    # The ID card reader
    def _idcard_alert(self, alert: dict[str, Any]) -> bool:
        return bool(alert["subject"].get("device") == f"{DEVICE_NAME}/idcard")

    def _idcard_garbage(self, record: FaultRecord) -> None:
        """The reader answers noise while a card is on it; the kiosk refuses nothing wrongly."""
        from devices.idcard.sim import Fault
        from kiosk.flow import PrintState

        placed: list[Any] = []
        self.peripherals.cardPlaced.connect(placed.append)
        try:
            self.idcard.fault = Fault.GARBAGE
            self.idcard.place("adult")
            record.alerted = self.wait_alert(self._idcard_alert, "open")
            ticket = self.take_ticket()
            usable = ticket.print_state is PrintState.PRINTED
            self.finish_customer()
            self.idcard.lift()
            fixed_at = time.monotonic()
            self.idcard.fault = Fault.NONE
            self._wait_cleared(record, self._idcard_alert, fixed_at)
            record.kiosk_ok = usable and not placed
            if placed:
                record.note = "a card was read from garbage"
            elif not usable:
                record.note = f"{ticket.number} was {ticket.print_state.value}"
        finally:
            self.peripherals.cardPlaced.disconnect(placed.append)

    # The camera
    def _camera_alert(self, alert: dict[str, Any]) -> bool:
        return bool(alert["subject"].get("device") == f"{DEVICE_NAME}/scanner")

    def _camera_gone(self, record: FaultRecord) -> None:
        from kiosk.flow import PrintState

        self.video.unlink()  # read to its end, the camera finds its source gone
        record.alerted = self.wait_alert(self._camera_alert, "open")
        ticket = self.take_ticket()
        usable = ticket.print_state is PrintState.PRINTED
        self.finish_customer()
        fixed_at = time.monotonic()
        shutil.copy(self.video_spare, self.video)
        self._wait_cleared(record, self._camera_alert, fixed_at)
        record.kiosk_ok = usable
        if not usable:
            record.note = f"{ticket.number} was {ticket.print_state.value}"

    # ------------------------------------------------------------------ result
    def result(self, rounds: int) -> dict[str, Any]:
        # Tickets the kiosk said were printed: each must be on some paper. The printer may
        # have been replaced (unplugged); earlier simulators' tickets are in `printed_all`.
        printed_numbers = set(self.tally.on_paper)
        lost_tickets = [
            n
            for n in self.tally.issued
            if n not in self.tally.on_screen and n not in printed_numbers
        ]
        freezes = sum(1 for r in self.records if r.max_gap_ms > FREEZE_MS)
        unseen = sum(1 for r in self.records if not (r.kiosk_ok and r.alerted and r.cleared))
        recoveries = sorted(r.recovery_s for r in self.records if r.recovery_s is not None)
        return {
            "drill": "devices",
            "attempts": rounds,
            "faults": len(self.records),
            "lost": len(lost_tickets) + freezes + unseen,
            "recovery_p95_s": round(percentile(recoveries, 95), 2) if recoveries else None,
            "details": {
                "faults": [r.as_dict() for r in self.records],
                "tickets_issued": len(self.tally.issued),
                "tickets_printed": len(printed_numbers),
                "tickets_on_screen": len(self.tally.on_screen),
                "tickets_lost": len(lost_tickets),
                "lost_numbers": lost_tickets,
                "freezes": freezes,
                "faults_not_handled": unseen,
                "failures": [
                    f"{r.fault}: " + (r.note or "not alerted or not cleared")
                    for r in self.records
                    if not (r.kiosk_ok and r.alerted and r.cleared)
                ]
                + [
                    f"{r.fault}: GUI loop blocked {r.max_gap_ms:.0f} ms"
                    for r in self.records
                    if r.max_gap_ms > FREEZE_MS
                ],
                "max_gap_ms": round(self.beat.overall_s * 1000, 1),
                "printer_lost_jobs": self._lost_jobs(),
            },
        }

    def _lost_jobs(self) -> int:
        return sum(p.lost_jobs for p in self._printers())

    def _printers(self) -> list[Any]:
        return [*self.old_printers, self.printer]


def percentile(values: Sequence[float], q: int) -> float:
    ordered = sorted(values)
    rank = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return ordered[rank]


def write_video(path: Path, frames: int = 20) -> None:
    """A short plain video for the camera to loop over (no code in view)."""
    import cv2
    import numpy as np

    fourcc = cv2.VideoWriter_fourcc(*"MJPG")  # type: ignore[attr-defined]
    writer = cv2.VideoWriter(str(path), fourcc, 20.0, (320, 240))
    try:
        for i in range(frames):
            frame = np.full((240, 320, 3), 40 + 8 * i, dtype=np.uint8)
            writer.write(frame)
    finally:
        writer.release()


if __name__ == "__main__":
    sys.exit(main())
