"""The kiosk's customer flow as a plain-Python state machine (no Qt): the view renders it.

    ATTRACT ─touch / ID card─▶ HOME ─tile─▶ GUIDANCE ─take a ticket─▶ ISSUING ─▶ TICKET ─▶ ATTRACT
       │                       │ ▲          │ ▲                        │ refused: an error
       │                       ▼ │          ▼ │                        ▼ line where it was asked
       │            PRIORITY / IDCARD / APPOINTMENT (side screens: back where they came from)
       └─senior mode─▶ ELDER_HOME ─huge tile─▶ ISSUING;  ELDER_HOME ◀─other businesses / back─▶ HOME
    a QR scanned on ATTRACT, HOME, GUIDANCE or a side screen ─▶ ISSUING ─▶ TICKET or NOTICE
    any screen but ISSUING/TICKET ─server unreachable─▶ OFFLINE ─back─▶ ATTRACT
    the maintenance gesture ─▶ PIN ─right PIN─▶ MAINTENANCE ─leave─▶ ATTRACT

Senior mode (长辈模式) is a session of its own kind: a few huge tiles that take a ticket in
one tap, large high-contrast text, every idle timeout `Timeouts.elder_factor` times longer,
and voice prompts (kiosk/voice.py decides what is said; the flow only says what happened).

An ID card left on the reader holds the ticket screen (up to `card_left_s`): the customer
is reminded on screen until they lift it, and "done" does not send the kiosk away from it.

One customer's session lasts from leaving ATTRACT to coming back to it. What the customer
told the kiosk in it — a declared priority, the ID card they placed, their consent to share
its data with the teller — is kept only for that session, in memory, and forgotten on the
return to ATTRACT.

The outside world comes in through `KioskPorts` (issue a ticket, check in an appointment,
identify a customer, print, report the printer's health), each answering through a
callback, so tests drive the whole flow with fakes and a settable clock. Time only moves
through `tick()`, which the view calls from a QTimer about once a second: it returns idle
screens to ATTRACT and turns a lasting loss of the server into OFFLINE.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from enum import StrEnum
from typing import Any, Protocol

from wire.waits import shown_minutes

log = logging.getLogger(__name__)


class Screen(StrEnum):
    ATTRACT = "attract"
    HOME = "home"
    ELDER_HOME = "elder_home"  # senior mode: a few huge tiles
    GUIDANCE = "guidance"
    PRIORITY = "priority"  # declare care priority
    IDCARD = "idcard"  # "place your ID card on the reader"
    APPOINTMENT = "appointment"  # "hold your QR under the scanner"
    ISSUING = "issuing"
    TICKET = "ticket"
    NOTICE = "notice"  # why a scanned QR did not check the customer in
    OFFLINE = "offline"
    PIN = "pin"  # staff only: the maintenance PIN
    MAINTENANCE = "maintenance"


# Screens a customer opens from HOME or GUIDANCE and leaves back to where they came from.
SIDE_SCREENS = (Screen.PRIORITY, Screen.IDCARD, Screen.APPOINTMENT)
# Where a scanned appointment QR is taken up (not while a ticket is being made or shown).
SCAN_SCREENS = (
    Screen.ATTRACT,
    Screen.HOME,
    Screen.ELDER_HOME,
    Screen.GUIDANCE,
    Screen.NOTICE,
    *SIDE_SCREENS,
)
# Where an ID card placed on the reader is taken up.
CARD_SCREENS = (Screen.ATTRACT, Screen.HOME, Screen.ELDER_HOME, Screen.GUIDANCE, *SIDE_SCREENS)
CARE_KINDS = ("elderly", "disabled", "pregnant")

# A refused check-in's code → the catalog key that explains it to the customer.
CHECKIN_REFUSALS = {
    "not_appointment": "kiosk.qr.foreign",
    "appointment_forged": "kiosk.qr.forged",
    "appointment_wrong_branch": "kiosk.qr.other_branch",
    "appointment_unknown": "kiosk.qr.unknown",
    "appointment_cancelled": "kiosk.qr.cancelled",
    "appointment_used": "kiosk.qr.used",
    "appointment_superseded": "kiosk.qr.superseded",
    "appointment_expired": "kiosk.qr.expired",
    "appointment_too_early": "kiosk.qr.early",
}
# A check-in's outcome → the line the ticket screen adds under the number.
CHECKIN_NOTES = {
    "on_time": "kiosk.qr.checked_in",
    "early": "kiosk.qr.early_checked_in",
    "late": "kiosk.qr.late",
}


class PrintState(StrEnum):
    PRINTING = "printing"
    PRINTED = "printed"
    FAILED = "failed"  # the screen is the ticket now


@dataclass(frozen=True)
class Timeouts:
    """Seconds of no touch before a screen gives up and returns to ATTRACT."""

    home_s: float = 60.0
    guidance_s: float = 60.0
    ticket_s: float = 20.0
    # A printer problem: the customer needs time to note the number or photograph it.
    ticket_on_screen_s: float = 45.0
    # The stream drops for a moment when the server restarts; don't flash OFFLINE for that.
    offline_grace_s: float = 2.0
    side_s: float = 45.0  # PRIORITY, IDCARD, APPOINTMENT
    notice_s: float = 30.0
    pin_s: float = 30.0
    maintenance_s: float = 300.0
    # A card still on the reader keeps the ticket screen (and its reminder) up this long.
    card_left_s: float = 180.0
    # Senior mode: every customer screen waits this many times longer for a touch.
    elder_factor: float = 2.0


@dataclass(frozen=True)
class IssueFailure:
    """Why issuing failed: `offline` means no answer (the server may have made it)."""

    offline: bool
    code: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)  # e.g. an appointment's slot


@dataclass(frozen=True)
class PrintOutcome:
    """What the printer did with one ticket, and its health in the server's words."""

    printed: bool
    health: str  # ok / warning / error / offline
    detail: str = ""  # for the manager; never personal data
    problem_key: str | None = None  # catalog key shown to the customer, e.g. paper out


@dataclass(frozen=True)
class IssuedTicket:
    """A ticket the server issued, as the kiosk shows and prints it."""

    id: int
    number: str
    service: str
    people_ahead: int
    eta_s: float | None
    url: str  # the customer's live page, shown and printed as a QR code
    issued_at: str  # ISO time from the server
    priority: str = "regular"
    print_state: PrintState = PrintState.PRINTING
    problem_key: str | None = None
    bundle: str | None = None
    # A checked-in appointment: the line under the number (catalog key) and the slot time.
    appointment_note: str | None = None
    appointment_time: str = ""
    wait_min: int | None = None  # as the server shows it everywhere (wire/waits.py)

    @property
    def eta_minutes(self) -> int | None:
        """The minutes the screen and the paper show: the server's, so the phone and the
        display read the same; worded from `eta_s` by the same rule if a server sent none."""
        return self.wait_min if self.wait_min is not None else shown_minutes(self.eta_s)


@dataclass(frozen=True)
class CardReading:
    """What the kiosk read from one ID card, held in memory for one customer's session.

    `eform` holds the fields a teller's form needs; it leaves the kiosk only with the
    customer's consent. `repr` shows the masked name only.
    """

    masked_name: str
    id_number: str = field(repr=False)
    birth_date: str = field(repr=False)  # ISO date
    eform: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Identified:
    """The server's answer about a card's holder: the priority the bank gives them."""

    priority: str  # regular / care / vip
    vip_tier: int = 0
    age: int | None = None


@dataclass(frozen=True)
class TicketRequest:
    """What "take a ticket" asks the server for."""

    service: str
    bundle: str | None = None
    priority: str = "regular"  # what the customer declared
    identity: Mapping[str, str] | None = field(default=None, repr=False)
    eform: Mapping[str, str] | None = field(default=None, repr=False)


class MaintenanceLock:
    """The maintenance PIN, kept only as a salted hash; locks for a while after misses."""

    def __init__(self, pin: str, *, tries: int = 5, lock_s: float = 60.0) -> None:
        self._salt = os.urandom(16)
        self._hash = self._digest(pin)
        self.tries = tries
        self.lock_s = lock_s
        self.misses = 0
        self.locked_until = 0.0

    def _digest(self, pin: str) -> bytes:
        return hashlib.pbkdf2_hmac("sha256", pin.encode(), self._salt, 50_000)

    def check(self, pin: str, now: float) -> bool:
        if now < self.locked_until:
            return False
        if pin and hmac.compare_digest(self._digest(pin), self._hash):
            self.misses = 0
            return True
        self.misses += 1
        if self.misses >= self.tries:
            self.misses = 0
            self.locked_until = now + self.lock_s
        return False


IssueDone = Callable[[Mapping[str, Any] | None, IssueFailure | None], None]


class KioskPorts(Protocol):
    """What the flow needs from the world; the app wires these to the client and printer."""

    def issue_ticket(
        self, request: TicketRequest, idempotency_key: str, done: IssueDone
    ) -> None: ...

    def check_in(self, qr: str, idempotency_key: str, done: IssueDone) -> None: ...

    def identify(self, card: CardReading, done: IssueDone) -> None: ...

    def print_ticket(self, ticket: IssuedTicket, done: Callable[[PrintOutcome], None]) -> None: ...

    def report_printer(self, health: str, detail: str, done: Callable[[bool], None]) -> None: ...

    def new_key(self) -> str: ...


class KioskFlow:
    """Which screen shows what; every change notifies the subscribers (the view)."""

    def __init__(
        self,
        ports: KioskPorts,
        *,
        live_page_base: str,
        timeouts: Timeouts | None = None,
        clock: Callable[[], float] = time.monotonic,
        maintenance_pin: str = "",
        local_time: Callable[[str], str] = lambda iso: iso[11:16],
    ) -> None:
        self.ports = ports
        self.live_page_base = live_page_base.rstrip("/")
        self.timeouts = timeouts or Timeouts()
        self.clock = clock
        self.local_time = local_time  # an ISO time from the server → "14:30" in the branch
        self.lock = MaintenanceLock(maintenance_pin) if maintenance_pin else None
        self.screen = Screen.ATTRACT
        self.service: str | None = None  # the business (or bundle's queue) chosen on HOME
        self.bundle: str | None = None  # the bundle chosen on HOME, if it was one
        self.needs_form = False  # the chosen business has a form the ID card can fill
        self.ticket: IssuedTicket | None = None
        self.error_key: str | None = None  # a line shown on GUIDANCE after a refusal
        # This customer's session (forgotten on the return to ATTRACT):
        self.declared: str | None = None  # elderly / disabled / pregnant
        self.card: CardReading | None = None
        self.identified: Identified | None = None
        self.identifying = False
        self.card_error_key: str | None = None
        self.consent = False  # share the card's data with the teller's form
        self.notice: tuple[str, dict[str, object]] | None = None  # on NOTICE
        self.pin_error_key: str | None = None
        self.elder = False  # senior mode, for this session
        # Whether an ID card lies on the reader now: the reader says, not the session.
        self.card_present = False
        self.card_nudges = 0  # "done" tapped with the card still on the reader
        self._issue_from = Screen.GUIDANCE  # where a refused ticket goes back to
        self._checkin_keys: dict[str, str] = {}  # QR text → its Idempotency-Key
        self._return_to = Screen.HOME  # where a side screen goes back to
        self.online = False
        self.sessions_ended = 0  # counts returns to ATTRACT (the view resets language)
        self._offline_since: float | None = self.clock()
        self._last_touch = self.clock()
        # One key per "take a ticket" decision: a second tap after a lost answer reuses it,
        # so the server hands back the ticket it already made instead of a second one.
        self._issue_key: str | None = None
        self._attempt = 0  # which tap an answer belongs to
        self._waiting_for: int | None = None
        self._printer: tuple[str, str] | None = None  # latest known (health, detail)
        # Why the printer cannot print now (a catalog key), None while it can.
        self._printer_problem: str | None = None
        self._reported: tuple[str, str] | None = None  # as the server last acknowledged
        self._reporting = False
        self._listeners: list[Callable[[], None]] = []

    # ------------------------------------------------------------- observers
    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def _go(self, screen: Screen) -> None:
        if screen is Screen.ATTRACT and self.screen is not Screen.ATTRACT:
            self.sessions_ended += 1
        if screen in (Screen.ATTRACT, Screen.OFFLINE, Screen.MAINTENANCE):
            self._end_session()
        if screen in (Screen.ATTRACT, Screen.HOME, Screen.OFFLINE):
            self.service = self.bundle = None
            self.needs_form = False
            self._issue_key = None
            self.error_key = None
        if screen not in (Screen.ISSUING, Screen.TICKET):
            self.ticket = None
        if screen is not Screen.PIN:
            self.pin_error_key = None
        self.screen = screen
        self._last_touch = self.clock()
        self._changed()

    def _end_session(self) -> None:
        """Forget everything this customer told the kiosk."""
        self.declared = None
        self.card = None
        self.identified = None
        self.identifying = False
        self.card_error_key = None
        self.consent = False
        self.notice = None
        self.elder = False
        self._checkin_keys.clear()

    # -------------------------------------------------------------- customer
    def touch(self) -> None:
        """Any touch on the screen: it keeps the current screen from timing out."""
        self._last_touch = self.clock()

    def start(self) -> None:
        """A touch on the attract screen."""
        if self.screen is Screen.ATTRACT:
            self._go(Screen.HOME)

    def start_elder(self) -> None:
        """The senior-mode button on the attract screen."""
        if self.screen is Screen.ATTRACT:
            self.elder = True
            self._to_elder_home()

    def _to_elder_home(self) -> None:
        self.service = self.bundle = None
        self.needs_form = False
        self._issue_key = None
        self.error_key = None
        self._go(Screen.ELDER_HOME)

    def other_services(self) -> None:
        """ELDER_HOME's "other businesses": the full menu, still in senior mode."""
        if self.screen is Screen.ELDER_HOME:
            self._go(Screen.HOME)

    def take_ticket_for(self, code: str, *, needs_form: bool = False) -> None:
        """A huge tile on ELDER_HOME: a ticket for that business at once, no guidance."""
        if self.screen is not Screen.ELDER_HOME:
            return
        if code != self.service:
            self._issue_key = None  # a key belongs to one decision: this business
        self.service, self.bundle, self.needs_form = code, None, needs_form
        self._issue(Screen.ELDER_HOME)

    def choose_service(
        self, code: str, *, bundle: str | None = None, needs_form: bool = False
    ) -> None:
        """A tile on HOME: a business (or a bundle, which queues for `code`)."""
        if self.screen is not Screen.HOME:
            return
        self.service, self.bundle, self.needs_form = code, bundle, needs_form
        self._issue_key = None
        self.error_key = None
        self._go(Screen.GUIDANCE)

    def back(self) -> None:
        if self.screen is Screen.GUIDANCE:
            self._go(Screen.HOME)
        elif self.screen is Screen.HOME and self.elder:
            self._to_elder_home()
        elif self.screen in (Screen.HOME, Screen.ELDER_HOME):
            self._go(Screen.ATTRACT)
        elif self.screen in SIDE_SCREENS:
            self._go(self._return_to)
        elif self.screen is Screen.NOTICE:
            self._go(Screen.HOME)
        elif self.screen in (Screen.PIN, Screen.MAINTENANCE):
            self._go(Screen.ATTRACT)

    def open_side(self, screen: Screen) -> None:
        """The priority / ID card / appointment buttons on HOME and GUIDANCE."""
        if screen in SIDE_SCREENS and self.screen in (Screen.HOME, Screen.GUIDANCE):
            self._return_to = self.screen
            self._go(screen)

    def declare_priority(self, kind: str | None) -> None:
        """PRIORITY: elderly / disabled / pregnant, or None for a regular ticket."""
        if self.screen is not Screen.PRIORITY or (kind is not None and kind not in CARE_KINDS):
            return
        self.declared = kind
        self._go(self._return_to)

    def set_consent(self, consent: bool) -> None:
        """GUIDANCE: the customer agrees (or not) to share the card's data with the teller."""
        if self.screen is Screen.GUIDANCE:
            self.consent = consent and self.card is not None
            self._last_touch = self.clock()
            self._changed()

    @property
    def priority(self) -> str:
        """The priority this customer's ticket will ask for, as far as the kiosk knows."""
        if self.identified is not None and self.identified.priority != "regular":
            return self.identified.priority
        return "care" if self.declared else "regular"

    @property
    def shares_form(self) -> bool:
        return self.needs_form and self.consent and self.card is not None

    def take_ticket(self) -> None:
        """The big button on GUIDANCE: ask the server for a ticket."""
        if self.screen is not Screen.GUIDANCE or self.service is None:
            return
        self._issue(Screen.GUIDANCE)

    def _issue(self, came_from: Screen) -> None:
        assert self.service is not None
        self._issue_from = came_from
        card = self.card
        request = TicketRequest(
            service=self.service,
            bundle=self.bundle,
            priority="care" if self.declared else "regular",
            identity=(
                {"id_number": card.id_number, "birth_date": card.birth_date} if card else None
            ),
            eform=dict(card.eform) if card is not None and self.shares_form else None,
        )
        if self._issue_key is None:
            self._issue_key = self.ports.new_key()
        self._attempt += 1
        attempt = self._waiting_for = self._attempt
        self.error_key = None
        self._go(Screen.ISSUING)
        self.ports.issue_ticket(
            request,
            self._issue_key,
            lambda data, failure: self._issued(attempt, data, failure),
        )

    # ----------------------------------------------------- ID card and QR codes
    def card_placed(self, card: CardReading) -> None:
        """The reader read a card: ask the server who the holder is to the bank."""
        self.card_present = True
        if self.screen not in CARD_SCREENS:
            self._changed()  # a ticket screen now reminds them to take it back
            return
        self.card, self.identified = card, None
        self.identifying, self.card_error_key, self.consent = True, None, False
        if self.screen is Screen.ATTRACT:
            self._go(Screen.HOME)
        elif self.screen is Screen.IDCARD:
            self._go(self._return_to)
        else:
            self._last_touch = self.clock()
            self._changed()
        self.ports.identify(card, lambda data, failure: self._identified(card, data, failure))

    def _identified(
        self, card: CardReading, data: Mapping[str, Any] | None, failure: IssueFailure | None
    ) -> None:
        if self.card is not card:
            return  # another card, or the session ended meanwhile
        self.identifying = False
        if data is None:
            # Without the server's answer the card cannot be used: a regular ticket works.
            self.card = None
            self.card_error_key = (
                "kiosk.idcard.unavailable" if failure and failure.offline else "kiosk.idcard.failed"
            )
        else:
            age = data.get("age")
            self.identified = Identified(
                priority=str(data.get("priority") or "regular"),
                vip_tier=int(data.get("vip_tier") or 0),
                age=int(age) if age is not None else None,
            )
        self._changed()

    def card_lifted(self) -> None:
        """The card left the reader: the reminder ends, the ticket screen counts down again."""
        if not self.card_present:
            return
        self.card_present = False
        if self.screen is Screen.TICKET:
            self._last_touch = self.clock()
        self._changed()

    def card_failed(self, key: str) -> None:
        """The reader could not use a card (unreadable, expired, a foreigner's card)."""
        self.card_present = True  # refused, but it lies there and must be taken back
        if self.screen in CARD_SCREENS:
            self.card_error_key = key
            if self.screen is Screen.ATTRACT:
                self._go(Screen.HOME)
            else:
                self._changed()

    def scanned(self, text: str) -> None:
        """A QR or barcode from the camera or a scanner: try it as an appointment."""
        text = text.strip()
        if not text or self.screen not in SCAN_SCREENS:
            return
        # The same code scanned again is the same check-in: the server answers it again.
        key = self._checkin_keys.get(text) or self.ports.new_key()
        self._checkin_keys[text] = key
        self._attempt += 1
        attempt = self._waiting_for = self._attempt
        self.service = self.bundle = None
        self._go(Screen.ISSUING)
        self.ports.check_in(
            text, key, lambda data, failure: self._checked_in(attempt, data, failure)
        )

    def _checked_in(
        self, attempt: int, data: Mapping[str, Any] | None, failure: IssueFailure | None
    ) -> None:
        if self.screen is not Screen.ISSUING or attempt != self._waiting_for:
            return
        self._waiting_for = None
        if data is None or not isinstance(data.get("ticket"), Mapping):
            if failure is not None and failure.offline and not self.online:
                self._go(Screen.OFFLINE)
                return
            code = failure.code if failure is not None else ""
            details = failure.details if failure is not None else {}
            key = CHECKIN_REFUSALS.get(code, "kiosk.qr.failed")
            values: dict[str, object] = {}
            if details.get("slot_start"):
                values["time"] = self.local_time(str(details["slot_start"]))
            if details.get("ticket_number"):
                values["number"] = str(details["ticket_number"])
            if details.get("opens_at"):
                values["from"] = self.local_time(str(details["opens_at"]))
            self.notice = (key, values)
            self._go(Screen.NOTICE)
            return
        slot = str(data.get("slot_start") or "")
        self._show_ticket(
            data["ticket"],
            appointment_note=CHECKIN_NOTES.get(str(data.get("outcome")), "kiosk.qr.checked_in"),
            appointment_time=self.local_time(slot) if slot else "",
        )

    # -------------------------------------------------------------- maintenance
    def maintenance_gesture(self) -> None:
        """The hidden staff gesture: ask for the PIN (never while a ticket is being made)."""
        if self.lock is not None and self.screen not in (Screen.ISSUING, Screen.PIN):
            self._go(Screen.PIN)

    def enter_pin(self, pin: str) -> None:
        if self.screen is not Screen.PIN or self.lock is None:
            return
        now = self.clock()
        if self.lock.check(pin, now):
            self._go(Screen.MAINTENANCE)
            return
        locked = now < self.lock.locked_until
        self.pin_error_key = "kiosk.maintenance.locked" if locked else "kiosk.maintenance.wrong_pin"
        self._last_touch = now
        self._changed()

    def done(self) -> None:
        """The customer is finished with the ticket screen (not while their card lies on
        the reader: they are reminded again instead)."""
        if self.screen is not Screen.TICKET:
            return
        if self.card_present:
            self.card_nudges += 1
            self._last_touch = self.clock()
            self._changed()
            return
        self._go_idle()

    # ------------------------------------------------------------- the world
    def set_online(self, online: bool) -> None:
        """The client's link to the server came up or went down."""
        if online == self.online:
            return
        self.online = online
        if online:
            self._offline_since = None
            if self.screen is Screen.OFFLINE:
                self._go(Screen.ATTRACT)
            self._report_printer()
        else:
            self._offline_since = self.clock()
            self.tick()

    def tick(self) -> None:
        """Called by the view about once a second: timeouts and a lasting offline."""
        now = self.clock()
        if (
            not self.online
            and self._offline_since is not None
            and now - self._offline_since >= self.timeouts.offline_grace_s
            and self.screen
            in (Screen.ATTRACT, Screen.HOME, Screen.ELDER_HOME, Screen.GUIDANCE, *SIDE_SCREENS)
        ):
            self._go(Screen.OFFLINE)
            return
        left = self.seconds_left()
        if left is not None and left <= 0:
            self._go_idle()

    def idle_limit(self) -> float | None:
        """How long the current screen waits for a touch; None: it waits for ever."""
        limit = self._customer_limit()
        if limit is not None and self.elder:
            return limit * self.timeouts.elder_factor
        if limit is not None:
            return limit
        t = self.timeouts
        return {Screen.PIN: t.pin_s, Screen.MAINTENANCE: t.maintenance_s}.get(self.screen)

    def _customer_limit(self) -> float | None:
        t = self.timeouts
        if self.screen in (Screen.HOME, Screen.ELDER_HOME):
            return t.home_s
        if self.screen is Screen.GUIDANCE:
            return t.guidance_s
        if self.screen is Screen.TICKET:
            if self.card_present:
                return t.card_left_s
            on_screen = self.ticket is not None and self.ticket.print_state is PrintState.FAILED
            return t.ticket_on_screen_s if on_screen else t.ticket_s
        return {
            Screen.PRIORITY: t.side_s,
            Screen.IDCARD: t.side_s,
            Screen.APPOINTMENT: t.side_s,
            Screen.NOTICE: t.notice_s,
        }.get(self.screen)

    def seconds_left(self) -> float | None:
        limit = self.idle_limit()
        if limit is None:
            return None
        return limit - (self.clock() - self._last_touch)

    def _go_idle(self) -> None:
        since = None if self.online else self._offline_since
        lasting = since is not None and self.clock() - since >= self.timeouts.offline_grace_s
        self._go(Screen.OFFLINE if lasting else Screen.ATTRACT)

    def _issued(
        self, attempt: int, data: Mapping[str, Any] | None, failure: IssueFailure | None
    ) -> None:
        if self.screen is not Screen.ISSUING or attempt != self._waiting_for:
            return  # an answer for a screen the customer has already left
        self._waiting_for = None
        if failure is not None or data is None:
            closed = failure is not None and failure.code == "branch_closed"
            self.error_key = "kiosk.error.branch_closed" if closed else "kiosk.error.generic"
            if failure is not None and failure.offline and not self.online:
                self._go(Screen.OFFLINE)
                return
            # Back to the button; a second tap reuses the key, so a ticket the server made
            # but could not tell us about is handed back rather than duplicated.
            if failure is not None and not failure.offline:
                self._issue_key = None  # refused outright: nothing was made with it
            self._go(self._issue_from)
            return
        self._show_ticket(data)

    def _show_ticket(self, data: Mapping[str, Any], **extra: Any) -> None:
        self.ticket = IssuedTicket(
            id=int(data["id"]),
            number=str(data["number"]),
            service=str(data["service"]),
            people_ahead=int(data.get("position") or 0),
            eta_s=data.get("eta_s"),
            wait_min=data.get("wait_min"),
            url=f"{self.live_page_base}/t/{data.get('token', '')}",
            issued_at=str(data.get("issued_at") or ""),
            priority=str(data.get("priority") or "regular"),
            bundle=data.get("bundle"),
            **extra,
        )
        self._issue_key = None
        self._go(Screen.TICKET)
        ticket_id = self.ticket.id
        self.ports.print_ticket(self.ticket, lambda outcome: self._printed(ticket_id, outcome))

    def _printed(self, ticket_id: int, outcome: PrintOutcome) -> None:
        self._printer = (outcome.health, outcome.detail)
        self._report_printer()
        self._note_printer_problem(outcome)
        if self.ticket is None or self.ticket.id != ticket_id or self.screen is not Screen.TICKET:
            return
        state = PrintState.PRINTED if outcome.printed else PrintState.FAILED
        self.ticket = replace(self.ticket, print_state=state, problem_key=outcome.problem_key)
        self._last_touch = self.clock()  # the timeout counts from the ticket being ready
        self._changed()

    @property
    def printer_health(self) -> tuple[str, str] | None:
        """The printer's latest known (health, detail); None before the first check."""
        return self._printer

    @property
    def printer_problem(self) -> str | None:
        """Why the printer cannot print a ticket now (a catalog key); None while it can."""
        return self._printer_problem

    def printer_checked(self, outcome: PrintOutcome) -> None:
        """A status check while idle: the manager hears of paper out before a customer,
        and the attract screen tells the next customer their number will be on screen."""
        self._printer = (outcome.health, outcome.detail)
        self._report_printer()
        if self._note_printer_problem(outcome):
            self._changed()

    def _note_printer_problem(self, outcome: PrintOutcome) -> bool:
        """Remember whether the printer can print; True when that changed."""
        problem = None if outcome.printed else outcome.problem_key or "kiosk.printer.problem"
        changed = problem != self._printer_problem
        self._printer_problem = problem
        return changed

    def _report_printer(self) -> None:
        if self._printer is None or self._printer == self._reported or self._reporting:
            return
        if not self.online:
            return  # sent when the link is back
        health, detail = sent = self._printer
        self._reporting = True

        def acknowledged(ok: bool) -> None:
            self._reporting = False
            if ok:
                self._reported = sent
            if self._printer != self._reported and ok:
                self._report_printer()  # it changed again meanwhile

        self.ports.report_printer(health, detail, acknowledged)


# ------------------------------------------------------------------------ model helpers
@dataclass(frozen=True)
class ServiceChoice:
    """One tile on HOME: a business, whether it can be chosen now, and its wait."""

    code: str
    names: Mapping[str, str]
    available: bool
    wait_minutes: int | None
    waiting: int
    reason: tuple[str, Mapping[str, object]] = ("kiosk.home.closed", {})
    guidance: Mapping[str, Any] = field(default_factory=dict)
    needs_form: bool = False
    queue: str = ""  # the business whose queue a ticket joins: the code, or a bundle's
    bundle: bool = False
    includes: tuple[str, ...] = ()  # a bundle's businesses

    @property
    def queue_code(self) -> str:
        return self.queue or self.code


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order


@dataclass(frozen=True)
class BranchClosed:
    """The branch takes no walk-in now: the banner's text and how each tile says why."""

    key: str  # kiosk.hours.*: what the banner says
    values: Mapping[str, object]
    tile_reason: tuple[str, Mapping[str, object]]


def _day_hours(opening_hours: Mapping[str, Any], day: date) -> tuple[bool, list[str]]:
    """(listed, ["HH:MM", "HH:MM"] or [] closed) as the server's snapshot says for a day."""
    name = WEEKDAYS[day.weekday()]
    if name not in opening_hours:
        return False, []
    hours = opening_hours[name]
    return True, [str(h) for h in hours] if isinstance(hours, list) else []


def branch_closed(
    opening_hours: Mapping[str, Any] | None, now_local: datetime | None
) -> BranchClosed | None:
    """Whether the head office's hours close the branch to walk-ins now (None: open, or no
    branch-wide hours today). The same rule as the server's `branch_closed` refusal, so the
    kiosk says it before the customer taps rather than after."""
    if not opening_hours or now_local is None:
        return None
    today = now_local.date()
    listed, hours = _day_hours(opening_hours, today)
    if not listed:
        return None
    now = now_local.strftime("%H:%M")
    if len(hours) == 2 and hours[0] <= now < hours[1]:
        return None
    if len(hours) == 2 and now < hours[0]:
        today_hours = {"opens": hours[0], "closes": hours[1]}
        tile = ("kiosk.home.opens_at", {"time": hours[0]})
        return BranchClosed("hours.before", today_hours, tile)
    state = "after" if len(hours) == 2 else "closed"
    values: dict[str, object] = {"opens": hours[0], "closes": hours[1]} if hours else {}
    when = "none"
    for ahead in range(1, 8):
        day = today + timedelta(days=ahead)
        listed, next_hours = _day_hours(opening_hours, day)
        if not listed:
            break  # no branch-wide hours that day: nothing certain to promise
        if len(next_hours) == 2:
            when = "tomorrow" if ahead == 1 else "later"
            values |= {"next": next_hours[0], "month": day.month, "day": day.day}
            break
    return BranchClosed(f"hours.{state}_{when}", values, ("kiosk.home.closed", {}))


def service_choices(
    services: Mapping[str, Mapping[str, Any]],
    waiting: Mapping[str, Mapping[str, Any]],
    now_local: datetime | None,
    bundles: Mapping[str, Mapping[str, Any]] | None = None,
    closed: BranchClosed | None = None,
) -> list[ServiceChoice]:
    """The tiles on HOME: businesses in the server's order (hidden ones left out), then the
    one-stop bundles, each as available and as long a wait as the queue it joins. While the
    branch is `closed`, every tile is greyed as a business outside its own hours is."""
    singles = _single_choices(services, waiting, now_local)
    if closed is not None:
        singles = [
            replace(c, available=False, reason=closed.tile_reason) if c.available else c
            for c in singles
        ]
    by_code = {c.code: c for c in singles}
    found = list(singles)
    for code, bundle in (bundles or {}).items():
        queue = by_code.get(str(bundle.get("service", "")))
        if queue is None:
            continue  # its queue is hidden from the kiosk
        found.append(
            replace(
                queue,
                code=str(code),
                names=dict(bundle.get("names", {})),
                guidance=dict(bundle.get("guidance", {})),
                needs_form=bool(bundle.get("needs_form", queue.needs_form)),
                queue=queue.code,
                bundle=True,
                includes=tuple(str(c) for c in bundle.get("includes", ())),
            )
        )
    return found


ELDER_TILES = 4  # more would no longer be huge


def elder_choices(
    choices: Sequence[ServiceChoice], codes: Sequence[str] = (), limit: int = ELDER_TILES
) -> list[ServiceChoice]:
    """The senior-mode tiles: the businesses named in `codes` (this kiosk's setting) in that
    order, else the first businesses of the branch's own order; never a bundle, at most
    `limit`. A named business the kiosk does not offer is left out."""
    singles = [c for c in choices if not c.bundle]
    if codes:
        by_code = {c.code: c for c in singles}
        singles = [by_code[code] for code in codes if code in by_code]
    return singles[:limit]


def _single_choices(
    services: Mapping[str, Mapping[str, Any]],
    waiting: Mapping[str, Mapping[str, Any]],
    now_local: datetime | None,
) -> list[ServiceChoice]:
    found = []
    for code, svc in services.items():
        if not svc.get("visible", True):
            continue
        summary = waiting.get(code, {})
        eta = summary.get("eta_new_s")
        wait = summary.get("wait_min")
        if wait is None and eta is not None:
            wait = shown_minutes(float(eta))
        available = bool(svc.get("enabled", True))
        reason: tuple[str, Mapping[str, object]] = ("kiosk.home.closed", {})
        opens, closes = _hhmm(svc.get("opens")), _hhmm(svc.get("closes"))
        if available and now_local is not None:
            t = now_local.time()
            if opens is not None and t < opens:
                available, reason = False, ("kiosk.home.opens_at", {"time": svc["opens"]})
            elif closes is not None and t >= closes:
                available = False
        found.append(
            ServiceChoice(
                code=code,
                names=dict(svc.get("names", {})),
                available=available,
                wait_minutes=wait,
                waiting=int(summary.get("waiting", 0)),
                reason=reason,
                guidance=dict(svc.get("guidance", {})),
                needs_form=bool(svc.get("needs_form", False)),
            )
        )
    return found


def guidance_for(service: Mapping[str, Any], language: str) -> dict[str, Any]:
    """A service's guidance in `language`, falling back to Chinese, then to nothing."""
    per_lang = service.get("guidance") or {}
    found = per_lang.get(language) or per_lang.get("zh") or {}
    return {
        "documents": [str(d) for d in found.get("documents", [])],
        "steps": [str(s) for s in found.get("steps", [])],
        "where": str(found.get("where", "")),
        "alternative": str(found.get("alternative", "")),
    }


def _hhmm(value: object) -> clock_time | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return clock_time.fromisoformat(value)
    except ValueError:
        return None
