"""The kiosk's flow without Qt: fake ports that answer when told, a clock the test moves."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kiosk.flow import (
    IssueFailure,
    KioskFlow,
    PrintOutcome,
    PrintState,
    Screen,
    Timeouts,
    guidance_for,
    service_choices,
)

ROOT = Path(__file__).resolve().parents[2]
ISSUED = {
    "id": 12,
    "number": "A012",
    "service": "A",
    "position": 4,
    "eta_s": 610.0,
    "token": "tok123",
    "issued_at": "2026-11-27T10:05:00+08:00",
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakePorts:
    """Records what the flow asked for; the test answers through the kept callbacks."""

    def __init__(self) -> None:
        self.issued: list[tuple[str, str, Callable[..., None]]] = []
        self.prints: list[Any] = []
        self.reports: list[tuple[str, str, Callable[[bool], None]]] = []
        self.keys = 0

    def new_key(self) -> str:
        self.keys += 1
        return f"key-{self.keys}"

    def issue_ticket(self, service: str, idempotency_key: str, done: Any) -> None:
        self.issued.append((service, idempotency_key, done))

    def print_ticket(self, ticket: Any, done: Any) -> None:
        self.prints.append((ticket, done))

    def report_printer(self, health: str, detail: str, done: Callable[[bool], None]) -> None:
        self.reports.append((health, detail, done))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ports() -> FakePorts:
    return FakePorts()


@pytest.fixture
def flow(ports: FakePorts, clock: Clock) -> KioskFlow:
    f = KioskFlow(ports, live_page_base="http://10.0.0.2:8470/", clock=clock)
    f.set_online(True)
    return f


def to_guidance(flow: KioskFlow, code: str = "A") -> None:
    flow.start()
    flow.choose_service(code)
    assert flow.screen is Screen.GUIDANCE


def test_two_taps_issue_a_ticket_and_print_it(flow, ports):
    seen: list[Screen] = []
    flow.subscribe(lambda: seen.append(flow.screen))
    to_guidance(flow)
    flow.take_ticket()
    assert flow.screen is Screen.ISSUING
    service, key, done = ports.issued[0]
    assert (service, key) == ("A", "key-1")
    done(ISSUED, None)
    assert flow.screen is Screen.TICKET
    ticket = flow.ticket
    assert (ticket.number, ticket.people_ahead, ticket.eta_minutes) == ("A012", 4, 11)
    assert ticket.url == "http://10.0.0.2:8470/t/tok123"
    assert ticket.print_state is PrintState.PRINTING
    printed_ticket, print_done = ports.prints[0]
    assert printed_ticket.id == 12
    print_done(PrintOutcome(True, "ok", "ready"))
    assert flow.ticket.print_state is PrintState.PRINTED
    assert seen == [Screen.HOME, Screen.GUIDANCE, Screen.ISSUING, Screen.TICKET, Screen.TICKET]
    assert [r[:2] for r in ports.reports] == [("ok", "ready")]  # the first health is reported


def test_a_second_tap_after_a_lost_answer_reuses_the_key(flow, ports):
    to_guidance(flow)
    flow.take_ticket()
    ports.issued[0][2](None, IssueFailure(offline=True, code="offline"))
    assert flow.screen is Screen.GUIDANCE and flow.error_key == "kiosk.error.generic"
    flow.take_ticket()
    assert ports.issued[1][1] == ports.issued[0][1] == "key-1"
    # A refusal made nothing with that key: the next tap is a new decision.
    ports.issued[1][2](None, IssueFailure(offline=False, code="service_disabled"))
    flow.take_ticket()
    assert ports.issued[2][1] == "key-2"


def test_leaving_the_guidance_forgets_the_key(flow, ports):
    to_guidance(flow)
    flow.take_ticket()
    ports.issued[0][2](None, IssueFailure(offline=True))
    flow.back()
    assert flow.screen is Screen.HOME and flow.error_key is None
    flow.choose_service("A")
    flow.take_ticket()
    assert ports.issued[1][1] == "key-2"


def test_an_answer_for_a_screen_already_left_is_ignored(flow, ports, clock):
    to_guidance(flow)
    flow.take_ticket()
    first_done = ports.issued[0][2]
    first_done(None, IssueFailure(offline=True))
    flow.take_ticket()
    first_done(ISSUED, None)  # the first attempt's late answer: not this screen's
    assert flow.screen is Screen.ISSUING
    ports.issued[1][2](ISSUED, None)
    assert flow.screen is Screen.TICKET
    _, print_done = ports.prints[0]
    flow.done()
    print_done(PrintOutcome(False, "error", "paper out", "device.printer.paper_out"))
    assert flow.screen is Screen.ATTRACT and flow.ticket is None
    assert ports.reports[0][:2] == ("error", "paper out")  # still reported


def test_a_printer_problem_makes_the_screen_the_ticket_for_longer(flow, ports, clock):
    to_guidance(flow)
    flow.take_ticket()
    ports.issued[0][2](ISSUED, None)
    ports.prints[0][1](PrintOutcome(False, "error", "paper out", "device.printer.paper_out"))
    assert flow.ticket.print_state is PrintState.FAILED
    assert flow.ticket.problem_key == "device.printer.paper_out"
    assert flow.idle_limit() == Timeouts().ticket_on_screen_s
    clock.now += Timeouts().ticket_s + 1
    flow.tick()
    assert flow.screen is Screen.TICKET
    clock.now += Timeouts().ticket_on_screen_s
    flow.tick()
    assert flow.screen is Screen.ATTRACT


@pytest.mark.parametrize("screen", [Screen.HOME, Screen.GUIDANCE, Screen.TICKET])
def test_idle_screens_return_to_attract_and_a_touch_keeps_them(flow, ports, clock, screen):
    flow.start()
    if screen is not Screen.HOME:
        flow.choose_service("A")
    if screen is Screen.TICKET:
        flow.take_ticket()
        ports.issued[0][2](ISSUED, None)
        ports.prints[0][1](PrintOutcome(True, "ok"))
    assert flow.screen is screen
    limit = flow.idle_limit()
    clock.now += limit - 1
    flow.touch()
    clock.now += limit - 1
    flow.tick()
    assert flow.screen is screen and flow.seconds_left() == pytest.approx(1)
    ended = flow.sessions_ended
    clock.now += 1
    flow.tick()
    assert flow.screen is Screen.ATTRACT and flow.sessions_ended == ended + 1


def test_attract_and_issuing_never_time_out(flow, ports, clock):
    clock.now += 10_000
    flow.tick()
    assert flow.screen is Screen.ATTRACT
    to_guidance(flow)
    flow.take_ticket()
    clock.now += 10_000
    flow.tick()
    assert flow.screen is Screen.ISSUING


def test_offline_after_a_grace_period_and_back_by_itself(flow, clock):
    flow.start()
    flow.set_online(False)
    clock.now += 1
    flow.tick()
    assert flow.screen is Screen.HOME  # a blip: the customer is not disturbed
    clock.now += 1
    flow.tick()
    assert flow.screen is Screen.OFFLINE
    flow.start()  # a touch does nothing while offline
    assert flow.screen is Screen.OFFLINE
    flow.set_online(True)
    assert flow.screen is Screen.ATTRACT


def test_going_offline_leaves_an_issued_ticket_on_screen(flow, ports, clock):
    to_guidance(flow)
    flow.take_ticket()
    ports.issued[0][2](ISSUED, None)
    flow.set_online(False)
    clock.now += 5
    flow.tick()
    assert flow.screen is Screen.TICKET
    clock.now += flow.timeouts.ticket_s
    flow.tick()
    assert flow.screen is Screen.OFFLINE


def test_a_failed_issue_while_offline_goes_to_offline(flow, ports):
    to_guidance(flow)
    flow.take_ticket()
    flow.set_online(False)
    assert flow.screen is Screen.ISSUING  # waits for the answer
    ports.issued[0][2](None, IssueFailure(offline=True, code="offline"))
    assert flow.screen is Screen.OFFLINE


def test_printer_health_is_reported_on_change_and_again_after_a_failed_report(flow, ports):
    flow.printer_checked(PrintOutcome(True, "ok", "ready"))
    ports.reports[-1][2](True)
    flow.printer_checked(PrintOutcome(True, "ok", "ready"))
    assert len(ports.reports) == 1  # unchanged: nothing to say
    flow.printer_checked(PrintOutcome(False, "error", "paper out"))
    ports.reports[-1][2](False)  # lost
    flow.set_online(False)
    flow.printer_checked(PrintOutcome(False, "error", "paper out"))
    assert len(ports.reports) == 2  # offline: kept for later
    flow.set_online(True)
    assert ports.reports[-1][:2] == ("error", "paper out")


def test_service_choices_follow_visibility_hours_and_waits():
    services = {
        "A": {"names": {"zh": "现金"}, "visible": True, "enabled": True},
        "H": {"names": {"zh": "隐藏"}, "visible": False},
        "X": {"names": {"zh": "外汇"}, "enabled": True, "opens": "13:30"},
        "D": {"names": {"zh": "停办"}, "enabled": False},
    }
    waiting = {"A": {"waiting": 3, "eta_new_s": 61}, "X": {"waiting": 0, "eta_new_s": None}}
    found = service_choices(services, waiting, datetime(2026, 11, 27, 10, 0))
    assert [c.code for c in found] == ["A", "X", "D"]
    a, x, d = found
    assert (a.available, a.wait_minutes, a.waiting) == (True, 2, 3)
    assert (x.available, x.reason) == (False, ("kiosk.home.opens_at", {"time": "13:30"}))
    assert (d.available, d.reason[0]) == (False, "kiosk.home.closed")


def test_guidance_falls_back_to_chinese():
    svc = {"guidance": {"zh": {"documents": ["身份证"], "where": "1号窗口"}}}
    assert guidance_for(svc, "en") == {
        "documents": ["身份证"],
        "steps": [],
        "where": "1号窗口",
        "alternative": "",
    }
    assert guidance_for({}, "en")["documents"] == []


def test_the_flow_is_plain_python_and_the_kiosk_never_imports_the_server():
    code = "import sys, kiosk.flow; assert 'PySide6' not in sys.modules, 'Qt imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    offenders = []
    for path in (ROOT / "kiosk").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "queue_server"]
    assert offenders == []
