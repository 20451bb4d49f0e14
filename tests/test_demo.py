"""`branchq demo --traffic`: a newcomer sees the server up, tokens printed, events flowing,
calls on the simulated LED boards and ratings from the simulated pads. With a display (here
offscreen) the kiosk opens on the simulated devices and the terminal panel acts as them."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import httpx
import pytest
from PIL import Image
from websockets.sync.client import connect

from queue_server.config import load_config
from queue_server.domain.appointments import AppointmentRules
from tools.demo import (
    Booking,
    CounterAppProcess,
    DevicePanel,
    KioskProcess,
    ManagerConsoleProcess,
    demo_slot,
    next_slot,
    parse_screen,
    plan_windows,
)
from tools.demo_traffic import (
    BUSY_MIN,
    BUSY_SERVICE,
    CALL_WALK_S,
    CALM_LOAD,
    CALM_MIN,
    FEW_WINDOWS_LOAD,
    DemoClock,
    arrivals_at,
    busy_spell,
    opening_today,
)
from tools.harness import free_socket

PULSE = re.compile(r"events: (\d+) received over WebSocket, last seq \d+, (\d+) ratings")


def ctrl_c_as_in_a_terminal() -> None:
    # pytest run from a background job (`cmd &`, nohup, some CI runners) ignores SIGINT,
    # and a child inherits that: the demo then shuts down on Ctrl-C but exits 0, not 130.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class DemoProcess:
    """`branchq demo …` as a child process whose output lines are read on a thread."""

    def __init__(self, args: list[str], **popen) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "queue_server.cli", "demo", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            preexec_fn=ctrl_c_as_in_a_terminal, **popen,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    @property
    def text(self) -> str:
        return "".join(self.out)

    def expect(self, pattern: str | re.Pattern[str], timeout: float = 30) -> re.Match[str]:
        """The first line from now on that matches `pattern` (fails after `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no line matching {pattern!r} in:\n{self.text}")
            try:
                line = self.lines.get(timeout=min(remaining, 1))
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    pytest.fail(f"the demo exited ({self.proc.returncode}):\n{self.text}")
                continue
            self.out.append(line)
            found = re.search(pattern, line)
            if found:
                return found

    def seen(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """A line matching `pattern`, among those read so far or still to come."""
        return re.search(pattern, self.text) or self.expect(pattern, timeout)

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        """Ctrl-C, then the rest of the output once the demo has exited."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        self.reader.join(10)
        while not self.lines.empty():
            self.out.append(self.lines.get())


def a_free_port() -> int:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.mark.slow
def test_demo_runs_the_branch_with_live_traffic(tmp_path):
    port = a_free_port()
    demo = DemoProcess(
        ["--traffic", "--speed", "240", "--duration", "120", "--no-kiosk",
         "--port", str(port), "--var", str(tmp_path)],
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while True:  # until a pulse shows events and at least one rating from a pad
            pulse = demo.expect(PULSE, timeout=60)
            if int(pulse.group(1)) > 0 and int(pulse.group(2)) > 0:
                break
        # The lobby app's URL and staff sign-in, as printed, let the lobby manager in.
        lobby = demo.seen(r"lobby app\s+(http://\S+)/lobby\?token=(\S+)")
        staff = demo.seen(r"staff sign-in: (\S+) \(lobby manager\).*PIN (\d+)")
        base, token = lobby.group(1), lobby.group(2)
        assert "/lobby/lobby.js" in httpx.get(f"{base}/lobby", timeout=10).text
        signed = httpx.post(
            f"{base}/api/v1/lobby/sign-in",
            json={"staff_id": staff.group(1), "pin": staff.group(2)},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert signed.status_code == 200, signed.text
        assert signed.json()["staff_id"] == staff.group(1)
    finally:
        demo.stop()
    text = demo.text
    for role in ("kiosk", "display", "manager", "admin", "lobby", "counter:1"):
        assert re.search(rf"^\s+{re.escape(role)}\s+bq_\S+$", text, re.M), text
    assert f"http://127.0.0.1:{port}/api/v1" in text
    assert "rs485+serial://" in text and "hub config" in text
    assert re.search(r"LED boards 1:\S+", text), text
    assert "kiosk        not started" in text and "xvfb-run" in text
    assert "counter app  opens with the kiosk" in text
    assert "device panel" not in text
    assert "sms          the phone page (/t/<token>) offers texts" in text
    conn = sqlite3.connect(tmp_path / "demo.db")
    kinds = {k for (k,) in conn.execute("SELECT kind FROM events")}
    assert {"ticket.issued", "counter.signed_in", "ticket.called", "ticket.rated"} <= kinds
    assert "device.status" in kinds


def wait_for_sign_in(port: int, token: str, counter: int, timeout_s: float = 30) -> None:
    """Follow the event stream until `counter` has a teller signed in."""
    url = f"ws://127.0.0.1:{port}/api/v1/events?token={token}"
    deadline = time.monotonic() + timeout_s
    with connect(url, open_timeout=5) as ws:
        while True:
            message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message["type"] == "snapshot":
                seen = [c for c in message["counters"] if c["number"] == counter]
            else:
                seen = [e["counter"] for e in message.get("events", []) if e.get("counter")]
                seen = [c for c in seen if c["number"] == counter]
            if any(c.get("staff_id") for c in seen):
                return


def process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.slow
def test_demo_opens_the_kiosk_counter_app_and_console_and_the_panel_checks_an_appointment_in(
    tmp_path,
):
    port = a_free_port()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    demo = DemoProcess(
        ["--kiosk", "--traffic", "--port", str(port), "--var", str(tmp_path)],
        stdin=subprocess.PIPE, env=env,
    )  # fmt: skip
    kiosk_pid = counter_pid = console_pid = None
    try:
        booked = demo.expect(r"appointment\s+booking (\S+), business L, slot (\S+)")
        number, slot = booked.group(1), datetime.fromisoformat(booked.group(2))
        assert (tmp_path / "appointment-qr.png").exists()
        demo.expect(r"counter app\s+counter 1 \(process \d+, log \S+counter.log\): sign in as")
        demo.expect(r"t01 with PIN 1234")
        # The two windows come up in either order, maybe before the lines above were read.
        kiosk_pid = int(demo.seen(r"kiosk\s+on the attract screen \(process (\d+)\)").group(1))
        counter_pid = int(
            demo.seen(r"counter app\s+on the sign-in screen \(process (\d+)\)").group(1)
        )
        console_pid = int(demo.seen(r"manager\s+console on screen \(process (\d+)\)").group(1))
        manager = re.search(r"^\s+manager\s+(bq_\S+)$", demo.text, re.M)
        assert manager, demo.text
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{port}/api/v1",
            headers={"Authorization": f"Bearer {manager.group(1)}"},
        )

        def booking() -> dict:
            listed = api.get("/appointments", params={"day": slot.date().isoformat()})
            assert listed.status_code == 200, listed.text
            return next(a for a in listed.json() if a["booking_number"] == number)

        assert booking()["state"] == "booked" and booking()["service"] == "L"
        # The person at the kiosk holds the appointment's QR code under the scanner.
        demo.send("a")
        demo.expect(rf"scanner\s+scanned the QR code of booking {number}")
        png = Path(demo.expect(r"printer\s+printed a ticket → (\S+\.png)").group(1))
        assert png.parent == tmp_path / "sim" / "tickets"
        assert Image.open(png).width == 576
        checked_in = booking()
        assert checked_in["state"] == "checked_in", checked_in
        assert checked_in["ticket_number"].startswith("L"), checked_in

        # The simulated tellers work every counter but the human's: wait on the event
        # stream for counter 2's teller to sign in (the traffic task does it over HTTP).
        display = re.search(r"^\s+display\s+(bq_\S+)$", demo.text, re.M)
        assert display, demo.text
        wait_for_sign_in(port, display.group(1), counter=2)
        counters = {c["number"]: c["staff_id"] for c in api.get("/counters").json()}
        assert counters[1] is None and counters[2] == "t02", counters
        # Counter 1's rating pad answers what the panel says.
        demo.send("r 2")
        demo.expect(r"rating pad\s+counter 1's customers now rate 2")
        # The kiosk said "please take your ticket" after printing it, into a WAV to hear.
        assert list((tmp_path / "sim" / "voice").glob("*.wav")), demo.text
        for name in ("kiosk.log", "counter.log", "manager.log"):
            log = (tmp_path / name).read_text(encoding="utf-8", errors="replace")
            assert "Traceback" not in log, log
    finally:
        demo.stop()
    assert demo.proc.returncode == 130 and "Traceback" not in demo.text, demo.text  # Ctrl-C
    # Stopping the demo stopped both apps too: nothing is left behind.
    assert kiosk_pid is not None and process_is_gone(kiosk_pid)
    assert counter_pid is not None and process_is_gone(counter_pid)
    assert console_pid is not None and process_is_gone(console_pid)


def test_the_counter_app_is_asked_for_unless_no_counter():
    from queue_server.cli import build_parser

    assert build_parser().parse_args(["demo"]).no_counter is False
    assert build_parser().parse_args(["demo", "--no-counter"]).no_counter is True


def test_the_counter_app_command_signs_in_counter_1_placed_beside_the_kiosk(tmp_path):
    cmd = CounterAppProcess.command("http://127.0.0.1:8470", "bq_x", tmp_path / "ready")
    assert cmd[1:3] == ["-m", "ui.counter"]
    args = dict(zip(cmd[3::2], cmd[4::2], strict=True))
    assert args["--counter"] == "1" and args["--staff"] == "t01" and args["--token"] == "bq_x"
    from ui.counter.main import parse_args  # the app accepts exactly these arguments

    parsed = parse_args(cmd[3:])
    width, height, x, y = parsed.geometry
    assert x + width <= 1920 and y + height <= 1080 and (width, height) < (1366, 768)


def test_the_manager_console_command_fits_the_screen(tmp_path):
    cmd = ManagerConsoleProcess.command("http://127.0.0.1:8470", "bq_m", tmp_path / "ready")
    assert cmd[1:3] == ["-m", "ui.manager"]
    from ui.manager.main import parse_args  # the console accepts exactly these arguments

    parsed = parse_args(cmd[3:])
    assert parsed.token == "bq_m" and parsed.ready_file == str(tmp_path / "ready")
    width, height, x, y = parsed.geometry
    assert x + width <= 1920 and y + height <= 1080
    from queue_server.cli import build_parser

    assert build_parser().parse_args(["demo", "--no-manager"]).no_manager is True


def test_the_next_slot_is_aligned_and_in_the_future():
    rules = AppointmentRules(slot_min=30)
    tz = "Asia/Shanghai"
    for now_local in ("2026-03-02T10:05:00", "2026-03-02T10:29:30", "2026-03-02T23:59:59"):
        now = datetime.fromisoformat(now_local).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
        slot = next_slot(now, rules, tz)
        local = slot.astimezone(ZoneInfo(tz))
        assert local.minute % 30 == 0 and local.second == 0 and local.microsecond == 0
        assert timedelta(minutes=1) <= slot - now <= timedelta(minutes=31)


class FakeReader:
    def __init__(self) -> None:
        self.card: str | None = None

    def place(self, card: str) -> None:
        self.card = card

    def lift(self) -> None:
        self.card = None


def test_the_panel_acts_as_the_reader_the_scanner_the_printer_and_the_rating_pad(tmp_path):
    scanned: list[str] = []
    pads = {201: SimpleNamespace(auto_answer=4)}
    sims = SimpleNamespace(
        idcard=FakeReader(),
        scanner=SimpleNamespace(scan=scanned.append),
        printer=SimpleNamespace(paper_out=False),
        bus=SimpleNamespace(rating_pad=pads.__getitem__),
    )
    booking = Booking("AB12CD34", "L", "2026-03-02T10:30:00+08:00", "BQA1.x.y", tmp_path / "q")
    quits: list[bool] = []
    panel = DevicePanel(sims, booking, lambda: quits.append(True))
    assert "placed" in panel.command("c") and sims.idcard.card == "elderly"
    assert "lifted" in panel.command("c ") and sims.idcard.card is None
    assert "AB12CD34" in panel.command("a") and scanned == ["BQA1.x.y"]
    assert "out of paper" in panel.command("p") and sims.printer.paper_out
    assert "paper loaded" in panel.command("P") and not sims.printer.paper_out
    assert "now rate 1" in panel.command("r 1") and pads[201].auto_answer == 1
    assert "from 1" in panel.command("r 5") and pads[201].auto_answer == 1
    assert "from 1" in panel.command("r") and pads[201].auto_answer == 1
    assert "q  stop the demo" in panel.command("h") and "r N" in panel.command("h")
    assert "unknown" in panel.command("x") and panel.command("") == ""
    assert quits == []
    panel.command("q")
    assert quits == [True]
    assert "no appointment" in DevicePanel(sims, None, lambda: None).command("a")


def test_a_kiosk_that_exits_by_itself_is_reported_and_the_demo_goes_on(tmp_path, capsys):
    async def scenario() -> int | None:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "raise SystemExit(3)")
        kiosk = KioskProcess(proc, tmp_path / "ready", tmp_path / "kiosk.log")
        await asyncio.wait_for(kiosk._watching, 10)
        await kiosk.stop()  # nothing left to stop
        return proc.returncode

    assert asyncio.run(scenario()) == 3
    out = capsys.readouterr().out
    assert "exited by itself (code 3" in out and "The demo goes on" in out
    assert "attract screen" not in out


def test_a_kiosk_that_ignores_terminate_is_killed(tmp_path):
    stubborn = (
        "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True)\nwhile True: signal.pause()"
    )

    async def scenario() -> int | None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", stubborn, stdout=asyncio.subprocess.PIPE
        )
        assert proc.stdout is not None
        assert await asyncio.wait_for(proc.stdout.readline(), 10) == b"ready\n"
        kiosk = KioskProcess(proc, tmp_path / "ready", tmp_path / "kiosk.log")
        await kiosk.stop(timeout=0.5)
        return proc.returncode

    assert asyncio.run(scenario()) == -signal.SIGKILL


def rectangle(geometry: str) -> tuple[int, int, int, int]:
    size, x, y = geometry.split("+")
    width, height = size.split("x")
    return int(x), int(y), int(x) + int(width), int(y) + int(height)


def test_a_wide_screen_gets_the_three_windows_side_by_side_a_small_one_is_told():
    kiosk = (0, 0, 1920, 1080)
    wide = plan_windows(parse_screen("3300x1500"))
    assert not wide.overlap
    boxes = [kiosk, rectangle(wide.manager), rectangle(wide.counter)]
    for i, a in enumerate(boxes):
        assert a[2] <= 3300 and a[3] <= 1500, a
        for b in boxes[i + 1 :]:  # no two overlap
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    assert plan_windows((1920, 1080)).overlap and plan_windows((3286, 1200)).overlap
    from ui.counter.main import parse_args as counter_args
    from ui.manager.main import parse_args as manager_args

    cmd = CounterAppProcess.command("http://h", "bq_c", Path("r"), wide.counter)
    assert counter_args(cmd[3:]).geometry == (1024, 720, 1920, 768)
    cmd = ManagerConsoleProcess.command("http://h", "bq_m", Path("r"), wide.manager)
    assert manager_args(cmd[3:]).geometry == (1366, 768, 1920, 0)
    with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
        parse_screen("wide")


def test_demo_traffic_keeps_the_tellers_busy_but_not_swamped_except_in_a_busy_spell():
    cfg = load_config()
    tellers = [c.number for c in cfg.counters if c.number != 1]  # counter 1 is the person's
    means = {s.code: s.mean_service_s for s in cfg.services}

    def teller_minutes(rates: dict[str, float]) -> float:
        """Teller time the arrivals of one branch minute bring, in minutes."""
        return sum(r * (means[code] + CALL_WALK_S) / 60 for code, r in rates.items())

    calm, busy = arrivals_at(cfg, tellers, False), arrivals_at(cfg, tellers, True)
    # Busy but not swamped: at most CALM_LOAD of the tellers' time (a business with a window
    # or less of its own gets FEW_WINDOWS_LOAD of it), more than half of it.
    assert 0.5 * len(tellers) < teller_minutes(calm) <= CALM_LOAD * len(tellers)
    assert FEW_WINDOWS_LOAD < CALM_LOAD
    assert teller_minutes(busy) > len(tellers)  # only in a spell do they outrun the tellers
    assert {c for c in busy if busy[c] != calm[c]} == {BUSY_SERVICE}
    assert not busy_spell(0) and not busy_spell(CALM_MIN - 0.1)
    assert busy_spell(CALM_MIN + 0.1) and not busy_spell(CALM_MIN + BUSY_MIN + 0.1)


def test_the_demo_runs_the_branch_on_branch_time_from_todays_opening():
    cfg = load_config()
    evening = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)  # 20:30 in Shanghai
    opening = opening_today(cfg, evening)
    assert opening == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    ticks = iter([100.0, 100.0, 107.5])
    clock = DemoClock(opening, speed=8, monotonic=lambda: next(ticks))
    assert clock() == opening and clock() == opening + timedelta(minutes=1)
    with pytest.raises(ValueError, match="above zero"):
        DemoClock(opening, speed=0)
    # The booked slot may be checked in at once and stays valid for minutes of the demo.
    rules = cfg.appointments
    slot = demo_slot(opening, rules, cfg.settings.timezone)
    assert timedelta(minutes=30) < slot - opening <= rules.early_window


def test_the_demo_branch_forecasts_arrivals_for_the_staffing_advice():
    prior = load_config().arrival_prior
    assert prior is not None and sum(prior.hourly) > 0
    assert prior.shares["A"] == max(prior.shares.values())
