"""The kiosk's screens for `python -m tools.screenshots.qt`, built on the demo branch offline.

No server is needed: the window gets a client that is never started, with the demo
branch's businesses loaded into its model as a snapshot, and ports that answer at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from PySide6.QtWidgets import QWidget

from devices.audio.sim import SimulatedSpeaker
from kiosk.app import KioskWindow, open_kiosk
from kiosk.flow import (
    CardReading,
    IssueDone,
    IssuedTicket,
    IssueFailure,
    PrintOutcome,
    TicketRequest,
)
from kiosk.flow import Screen as KioskScreen
from kiosk.printing import TicketPrinting
from tools.screenshots.qt import KIOSK_PICTURE_SIZES, Screen, demo_config, snapshot_services
from ui.client import BranchClient
from ui.i18n import Translator

DEMO_URL = "http://192.168.1.10:8470"
# Waiting customers and the naive wait for a newcomer, per demo business.
DEMO_WAITING = {
    "A": (6, 480),
    "B": (2, 150),
    "C": (3, 1800),
    "K": (2, 720),
    "L": (0, 0),
    "W": (1, None),
}


# The head office's hours for the closed screens, and two moments the branch is closed:
# Friday after closing (opens Saturday morning) and Sunday (closed all day).
DEMO_HOURS = {
    **{day: ["09:00", "17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
    "sat": ["09:00", "12:00"],
    "sun": [],
}
FRIDAY_EVENING = datetime(2026, 11, 27, 10, 10, tzinfo=UTC)  # 18:10 in Shanghai
SATURDAY_NIGHT = datetime(2026, 11, 29, 1, 30, tzinfo=UTC)  # Sunday 09:30 in Shanghai


def demo_snapshot() -> dict[str, Any]:
    """A snapshot of the demo branch as the server would send it, from its TOML file."""
    config = demo_config()
    services = snapshot_services(config)
    waiting = {
        code: {"waiting": n, "longest_wait_s": 0, "open_counters": 1, "eta_new_s": eta}
        for code, (n, eta) in DEMO_WAITING.items()
    }
    branch = config["branch"]
    return {
        "epoch": "screenshots",
        "seq": 1,
        "at": datetime.now(UTC).isoformat(),
        "business_day": "2026-11-27",
        "branch": {"name": branch["name"], "id": branch["id"], "timezone": branch["timezone"]},
        "services": services,
        "bundles": [
            {**b, "needs_form": b.get("needs_form", True)} for b in config.get("bundles", [])
        ],
        "counters": [],
        "tickets": [],
        "recent_calls": [],
        "devices": [],
        "waiting": waiting,
    }


def _issued(service: str, priority: str) -> dict[str, Any]:
    return {
        "id": 7,
        "number": f"{service}007",
        "service": service,
        "position": 3,
        "eta_s": 1500,
        "token": "Zq81mK2xP4",
        "issued_at": "2026-11-27T10:05:00+08:00",
        "priority": priority,
    }


# A made-up card (the name and number are invented; the check digit is valid).
DEMO_CARD = CardReading(
    masked_name="王*华",
    id_number="11010519550307002X",
    birth_date="1955-03-07",
    eform={"name": "王建华", "id_number": "11010519550307002X"},
)


class InstantPorts:
    """Ports that issue C007 and print (or fail to print) at once, for pictures;
    `refuse`: the server turns the ticket down (the guidance's error banner)."""

    def __init__(self, printed: bool, refuse: bool = False) -> None:
        self.printed = printed
        self.refuse = refuse

    def new_key(self) -> str:
        return "screenshot"

    def issue_ticket(self, request: TicketRequest, idempotency_key: str, done: IssueDone) -> None:
        if self.refuse:
            done(None, IssueFailure(False, "service_closed", {}))
            return
        done(_issued(request.service, request.priority), None)

    def check_in(self, qr: str, idempotency_key: str, done: IssueDone) -> None:
        if qr == "early":
            details = {
                "slot_start": "2026-11-27T15:30:00+08:00",
                "opens_at": "2026-11-27T13:30:00+08:00",
            }
            done(None, IssueFailure(False, "appointment_too_early", details))
            return
        ticket = _issued("L", "appointment")
        done(
            {"outcome": "on_time", "slot_start": "2026-11-27T10:30:00+08:00", "ticket": ticket},
            None,
        )

    def identify(self, card: CardReading, done: IssueDone) -> None:
        done({"priority": "care", "vip_tier": 0, "age": 71}, None)

    def print_ticket(self, ticket: IssuedTicket, done: Callable[[PrintOutcome], None]) -> None:
        if self.printed:
            done(PrintOutcome(True, "ok", "ready"))
        else:
            done(PrintOutcome(False, "error", "paper out", "device.printer.paper_out"))

    def report_printer(self, health: str, detail: str, done: Callable[[bool], None]) -> None:
        done(True)


def demo_window(
    tr: Translator,
    *,
    printed: bool = True,
    audio: SimulatedSpeaker | None = None,
    closed_at: datetime | None = None,
    **options: Any,
) -> KioskWindow:
    """The kiosk on the demo branch, offline; `options` go to the window (`lockdown`).
    `closed_at`: the server's time, with the head office's hours closing the branch then."""
    client = BranchClient(DEMO_URL, "screenshots")  # never started: no network at all
    snap = demo_snapshot()
    if closed_at is not None:
        snap["at"] = closed_at.isoformat()
        snap["branch"]["opening_hours"] = DEMO_HOURS
    client.model.load_snapshot(snap)
    window = open_kiosk(
        client,
        TicketPrinting(None),
        tr=tr,
        printer_check_s=3600,
        maintenance_pin="2468",
        audio=audio,
        **options,
    )
    window.flow.ports = InstantPorts(printed)
    window.flow.set_online(True)
    window._model_changed()
    return window


def attract(tr: Translator) -> QWidget:
    return demo_window(tr)


def attract_centre(tr: Translator) -> QWidget:
    """The attract screen with the head office's welcome and footer line (`kiosk_texts`)."""
    window = demo_window(tr)
    window.client.model.branch["kiosk_texts"] = {
        "zh": {"welcome": "{branch}欢迎您", "footer": "服务热线 95588，大额取现请提前一天预约"},
        "en": {
            "welcome": "Good to see you at {branch}",
            "footer": "Service line 95588 · Book large withdrawals a day ahead",
        },
    }
    window._model_changed()
    return window


def attract_no_paper(tr: Translator) -> QWidget:
    """The fullest attract screen: the head office's texts and the printer out of paper."""
    window = attract_centre(tr)
    assert isinstance(window, KioskWindow)
    window.flow.printer_checked(
        PrintOutcome(False, "error", "paper out", "device.printer.paper_out")
    )
    return window


def home(tr: Translator) -> QWidget:
    window = demo_window(tr)
    window.flow.start()
    return window


def _guidance(tr: Translator, code: str) -> KioskWindow:
    window = home(tr)
    assert isinstance(window, KioskWindow)
    window.flow.choose_service(code)
    return window


def guidance(tr: Translator) -> QWidget:
    """A short wait (8 min): the quicker way is mentioned, not pressed."""
    return _guidance(tr, "A")


def long_wait(tr: Translator) -> QWidget:
    """A 30-minute wait: the quicker way stands out."""
    return _guidance(tr, "C")


def guidance_priority(tr: Translator) -> QWidget:
    """An older customer who asked for priority: the customer banner above the guidance."""
    window = home(tr)
    assert isinstance(window, KioskWindow)
    window.flow.open_side(KioskScreen.PRIORITY)
    window.flow.declare_priority("elderly")
    window.flow.choose_service("K", needs_form=True)
    return window


def guidance_error(tr: Translator) -> QWidget:
    """The server refused the ticket: back on the guidance with the error banner."""
    window = _guidance(tr, "C")
    window.flow.ports = InstantPorts(True, refuse=True)
    window.flow.take_ticket()
    return window


def _ticket(tr: Translator, printed: bool) -> QWidget:
    window = demo_window(tr, printed=printed)
    window.flow.start()
    window.flow.choose_service("C")
    window.flow.take_ticket()
    return window


def ticket(tr: Translator) -> QWidget:
    return _ticket(tr, True)


def ticket_without_printer(tr: Translator) -> QWidget:
    return _ticket(tr, False)


def ticket_identified(tr: Translator) -> QWidget:
    """A priority ticket taken with an ID card whose printer failed: every ticket banner."""
    window = demo_window(tr, printed=False)
    window.flow.start()
    window.flow.card_placed(DEMO_CARD)
    window._choose("C")
    window.flow.take_ticket()
    return window


def offline(tr: Translator) -> QWidget:
    window = demo_window(tr)
    window.flow.timeouts = type(window.flow.timeouts)(offline_grace_s=0)
    window.flow.set_online(False)
    return window


def identified_home(tr: Translator) -> QWidget:
    window = home(tr)
    assert isinstance(window, KioskWindow)
    window.flow.card_placed(DEMO_CARD)
    return window


def consent(tr: Translator) -> QWidget:
    window = identified_home(tr)
    assert isinstance(window, KioskWindow)
    window._choose("C")
    window.flow.set_consent(True)
    return window


def bundle(tr: Translator) -> QWidget:
    window = home(tr)
    assert isinstance(window, KioskWindow)
    codes = list(window.client.model.bundles)
    if codes:
        window._choose(codes[0])
    return window


def _side(tr: Translator, screen: KioskScreen) -> QWidget:
    window = home(tr)
    assert isinstance(window, KioskWindow)
    window.flow.open_side(screen)
    return window


def priority(tr: Translator) -> QWidget:
    return _side(tr, KioskScreen.PRIORITY)


def idcard(tr: Translator) -> QWidget:
    return _side(tr, KioskScreen.IDCARD)


def appointment(tr: Translator) -> QWidget:
    return _side(tr, KioskScreen.APPOINTMENT)


def checked_in(tr: Translator) -> QWidget:
    window = demo_window(tr)
    window.flow.scanned("BQA1.demo")
    return window


def too_early(tr: Translator) -> QWidget:
    window = demo_window(tr)
    window.flow.scanned("early")
    return window


def pin(tr: Translator) -> QWidget:
    window = demo_window(tr)
    window.flow.maintenance_gesture()
    return window


def maintenance(tr: Translator, audio: SimulatedSpeaker | None = None) -> QWidget:
    window = demo_window(tr, audio=audio)
    window.flow.maintenance_gesture()
    window.flow.enter_pin("2468")
    return window


def elder_home(tr: Translator) -> QWidget:
    window = demo_window(tr)
    window.flow.start_elder()
    return window


def elder_ticket_card(tr: Translator) -> QWidget:
    """Senior mode, a ticket taken with the ID card still on the reader."""
    window = demo_window(tr)
    window.flow.start_elder()
    window.flow.card_placed(DEMO_CARD)
    window._choose_elder(window.elder_tiles()[0].code)
    return window


def closed_attract(tr: Translator) -> QWidget:
    return demo_window(tr, closed_at=SATURDAY_NIGHT)


def closed_home(tr: Translator) -> QWidget:
    window = demo_window(tr, closed_at=FRIDAY_EVENING)
    window.flow.start()
    return window


def closed_elder_home(tr: Translator) -> QWidget:
    window = demo_window(tr, closed_at=FRIDAY_EVENING)
    window.flow.start_elder()
    return window


def maintenance_speaker(tr: Translator) -> QWidget:
    """The maintenance screen of a kiosk with a speaker: its health, volume, test sound."""
    speaker = SimulatedSpeaker(volume=70)
    speaker._health = ("ok", "")  # as after its first sound, without playing one here
    window = maintenance(tr, audio=speaker)
    speaker.close()
    return window


def idcard_failed(tr: Translator) -> QWidget:
    window = _side(tr, KioskScreen.IDCARD)
    assert isinstance(window, KioskWindow)
    window.flow.card_failed("kiosk.idcard.failed")
    return window


# Every kiosk screen, and each banner that changes a screen's layout as a screen of its own.
KIOSK_SCREENS: tuple[tuple[str, Callable[[Translator], QWidget]], ...] = (
    ("kiosk-attract", attract),
    ("kiosk-attract-centre", attract_centre),
    ("kiosk-attract-no-paper", attract_no_paper),
    ("kiosk-home", home),
    ("kiosk-home-identified", identified_home),
    ("kiosk-attract-closed", closed_attract),
    ("kiosk-home-closed", closed_home),
    ("kiosk-guidance", guidance),
    ("kiosk-guidance-long-wait", long_wait),
    ("kiosk-guidance-consent", consent),
    ("kiosk-guidance-priority", guidance_priority),
    ("kiosk-guidance-error", guidance_error),
    ("kiosk-guidance-bundle", bundle),
    ("kiosk-ticket", ticket),
    ("kiosk-ticket-without-printer", ticket_without_printer),
    ("kiosk-ticket-identified", ticket_identified),
    ("kiosk-offline", offline),
    ("kiosk-priority", priority),
    ("kiosk-idcard", idcard),
    ("kiosk-idcard-failed", idcard_failed),
    ("kiosk-appointment", appointment),
    ("kiosk-ticket-appointment", checked_in),
    ("kiosk-notice-too-early", too_early),
    ("kiosk-pin", pin),
    ("kiosk-maintenance", maintenance),
    ("kiosk-maintenance-speaker", maintenance_speaker),
)
# Senior mode is always large, high-contrast text.
ELDER_SCREENS: tuple[tuple[str, Callable[[Translator], QWidget]], ...] = (
    ("kiosk-elder-home", elder_home),
    ("kiosk-elder-ticket-idcard", elder_ticket_card),
    ("kiosk-elder-home-closed", closed_elder_home),
)


def screens() -> list[Screen]:
    """Every kiosk screen, for `python -m tools.screenshots.qt --only kiosk`."""
    return [Screen(name, build, sizes=KIOSK_PICTURE_SIZES) for name, build in KIOSK_SCREENS] + [
        Screen(name, build, sizes=KIOSK_PICTURE_SIZES, large_variants=(True,))
        for name, build in ELDER_SCREENS
    ]
