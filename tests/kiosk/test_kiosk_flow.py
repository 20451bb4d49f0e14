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
    CardReading,
    IssueFailure,
    KioskFlow,
    PrintOutcome,
    PrintState,
    Screen,
    TicketRequest,
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
        self.requests: list[TicketRequest] = []
        self.checkins: list[tuple[str, str, Callable[..., None]]] = []
        self.identifies: list[tuple[CardReading, Callable[..., None]]] = []
        self.keys = 0

    def new_key(self) -> str:
        self.keys += 1
        return f"key-{self.keys}"

    def issue_ticket(self, request: TicketRequest, idempotency_key: str, done: Any) -> None:
        self.requests.append(request)
        self.issued.append((request.service, idempotency_key, done))

    def check_in(self, qr: str, idempotency_key: str, done: Any) -> None:
        self.checkins.append((qr, idempotency_key, done))

    def identify(self, card: CardReading, done: Any) -> None:
        self.identifies.append((card, done))

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


def test_a_ticket_refused_because_the_branch_is_closed_says_so(flow, ports):
    to_guidance(flow)
    flow.take_ticket()
    ports.issued[0][2](None, IssueFailure(offline=False, code="branch_closed"))
    assert flow.screen is Screen.GUIDANCE and flow.error_key == "kiosk.error.branch_closed"


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


# ------------------------------------------------ priority, ID card, appointments, staff
CARD = CardReading(
    masked_name="张*三",
    id_number="110101195001011234",
    birth_date="1950-01-01",
    eform={"name": "张小三", "id_number": "110101195001011234"},
)
CHECKED_IN = {
    "outcome": "on_time",
    "slot_start": "2026-11-27T14:30:00+08:00",
    "ticket": {**ISSUED, "number": "C003", "service": "C", "priority": "appointment"},
}


def test_declared_care_priority_goes_with_the_ticket_and_is_forgotten_after(flow, ports):
    flow.start()
    flow.open_side(Screen.PRIORITY)
    assert flow.screen is Screen.PRIORITY
    flow.declare_priority("pregnant")
    assert (flow.screen, flow.declared, flow.priority) == (Screen.HOME, "pregnant", "care")
    flow.choose_service("A")
    flow.take_ticket()
    assert ports.requests[0].priority == "care"
    ports.issued[0][2](ISSUED, None)
    flow.done()
    assert flow.screen is Screen.ATTRACT and flow.declared is None
    flow.start()
    flow.open_side(Screen.PRIORITY)
    flow.declare_priority("royalty")  # not a kind the bank serves first: ignored
    assert flow.screen is Screen.PRIORITY and flow.declared is None


def test_a_side_screen_goes_back_where_it_came_from(flow):
    to_guidance(flow)
    flow.open_side(Screen.APPOINTMENT)
    flow.back()
    assert flow.screen is Screen.GUIDANCE and flow.service == "A"


def test_an_id_card_on_attract_starts_and_is_identified(flow, ports):
    flow.card_placed(CARD)
    assert flow.screen is Screen.HOME and flow.identifying
    card, done = ports.identifies[0]
    assert card is CARD
    done({"priority": "care", "vip_tier": 0, "age": 76}, None)
    assert flow.identified.priority == "care" and not flow.identifying
    assert "110101" not in repr(CARD) and "张小三" not in repr(CARD)


def test_the_form_is_shared_only_with_consent_and_only_where_one_is_needed(flow, ports):
    flow.start()
    flow.card_placed(CARD)
    ports.identifies[0][1]({"priority": "regular", "vip_tier": 0, "age": 30}, None)
    flow.choose_service("C", needs_form=True)
    flow.take_ticket()
    without = ports.requests[-1]
    assert without.identity == {"id_number": CARD.id_number, "birth_date": "1950-01-01"}
    assert without.eform is None
    ports.issued[-1][2](None, IssueFailure(offline=False, code="nope"))
    flow.set_consent(True)
    flow.take_ticket()
    assert ports.requests[-1].eform == dict(CARD.eform)
    ports.issued[-1][2](None, IssueFailure(offline=False, code="nope"))
    flow.back()
    flow.choose_service("A", needs_form=False)  # consent stays, but A has no form
    flow.take_ticket()
    assert ports.requests[-1].eform is None


def test_an_unidentified_card_is_dropped_with_a_message(flow, ports):
    flow.start()
    flow.card_placed(CARD)
    ports.identifies[0][1](None, IssueFailure(offline=False, code="bad_id_number"))
    assert flow.card is None and flow.card_error_key == "kiosk.idcard.failed"
    flow.choose_service("A")
    flow.take_ticket()
    assert ports.requests[0].identity is None


def test_a_scanned_appointment_checks_in_and_prints(flow, ports):
    flow.start()
    flow.scanned(" BQA1.payload.sig \n")
    assert flow.screen is Screen.ISSUING
    qr, _key, done = ports.checkins[0]
    assert qr == "BQA1.payload.sig"
    done(CHECKED_IN, None)
    assert flow.screen is Screen.TICKET
    assert flow.ticket.number == "C003" and flow.ticket.appointment_note == "kiosk.qr.checked_in"
    assert flow.ticket.appointment_time == "14:30"
    assert ports.prints[0][0].number == "C003"


@pytest.mark.parametrize(
    ("code", "details", "key", "values"),
    [
        ("appointment_used", {"ticket_number": "C001"}, "kiosk.qr.used", {"number": "C001"}),
        (
            "appointment_too_early",
            {"slot_start": "2026-11-27T14:30:00+08:00", "opens_at": "2026-11-27T12:30:00+08:00"},
            "kiosk.qr.early",
            {"time": "14:30", "from": "12:30"},
        ),
        ("appointment_forged", {}, "kiosk.qr.forged", {}),
        ("not_appointment", {}, "kiosk.qr.foreign", {}),
        ("something_new", {}, "kiosk.qr.failed", {}),
    ],
)
def test_a_refused_check_in_says_why(flow, ports, code, details, key, values):
    flow.scanned("whatever")
    ports.checkins[0][2](None, IssueFailure(offline=False, code=code, details=details))
    assert flow.screen is Screen.NOTICE and flow.notice == (key, values)
    flow.back()
    assert flow.screen is Screen.HOME


def test_scanning_the_same_code_again_reuses_its_key(flow, ports):
    flow.scanned("code-1")
    ports.checkins[0][2](None, IssueFailure(offline=True))
    flow.scanned("code-1")
    flow.scanned("code-2")  # ignored: a check-in is under way
    assert [c[:2] for c in ports.checkins] == [("code-1", "key-1"), ("code-1", "key-1")]


def test_scans_are_ignored_while_a_ticket_is_shown(flow, ports):
    to_guidance(flow)
    flow.take_ticket()
    ports.issued[0][2](ISSUED, None)
    flow.scanned("code-1")
    assert flow.screen is Screen.TICKET and ports.checkins == []


def test_maintenance_needs_the_pin_and_locks_after_misses(ports, clock):
    flow = KioskFlow(ports, live_page_base="http://x", clock=clock, maintenance_pin="8642")
    flow.set_online(True)
    flow.maintenance_gesture()
    assert flow.screen is Screen.PIN
    for _ in range(4):
        flow.enter_pin("0000")
    assert flow.pin_error_key == "kiosk.maintenance.wrong_pin"
    flow.enter_pin("1111")  # the fifth miss locks
    assert flow.pin_error_key == "kiosk.maintenance.locked"
    flow.enter_pin("8642")
    assert flow.screen is Screen.PIN  # even the right PIN waits out the lock
    clock.now += 61
    flow.enter_pin("8642")
    assert flow.screen is Screen.MAINTENANCE
    clock.now += 301
    flow.tick()
    assert flow.screen is Screen.ATTRACT


def test_no_pin_configured_means_no_maintenance_screen(flow):
    flow.maintenance_gesture()
    assert flow.screen is Screen.ATTRACT


def test_bundles_show_as_their_own_tiles_after_the_businesses():
    services = {
        "A": {"names": {"en": "Cash"}, "visible": True},
        "C": {"names": {"en": "Accounts"}, "needs_form": True},
    }
    bundles = {
        "NEW": {"names": {"en": "One-stop"}, "service": "C", "includes": ["C", "A"]},
        "GONE": {"names": {"en": "Hidden queue"}, "service": "X"},
    }
    waiting = {"C": {"waiting": 3, "eta_new_s": 600}}
    tiles = service_choices(services, waiting, None, bundles)
    assert [t.code for t in tiles] == ["A", "C", "NEW"]
    new = tiles[2]
    assert (new.bundle, new.queue_code, new.includes) == (True, "C", ("C", "A"))
    assert (new.waiting, new.wait_minutes, new.needs_form) == (3, 10, True)
