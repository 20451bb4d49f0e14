"""The kiosk's customer flow as a plain-Python state machine (no Qt): the view renders it.

    ATTRACT ─touch─▶ HOME ─tile─▶ GUIDANCE ─take a ticket─▶ ISSUING ─▶ TICKET ─done/idle─▶ ATTRACT
                       ▲ idle/back  │                          │ refused
                       └────────────┘◀─────────────────────────┘ (an error line on GUIDANCE)
    any screen but ISSUING/TICKET ─server unreachable─▶ OFFLINE ─back─▶ ATTRACT

The outside world comes in through `KioskPorts` (issue a ticket, print it, report the
printer's health), each answering through a callback, so tests drive the whole flow with
fakes and a settable clock. Time only moves through `tick()`, which the view calls from a
QTimer about once a second: it returns idle screens to ATTRACT and turns a lasting loss of
the server into OFFLINE.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from datetime import time as clock_time
from enum import StrEnum
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Screen(StrEnum):
    ATTRACT = "attract"
    HOME = "home"
    GUIDANCE = "guidance"
    ISSUING = "issuing"
    TICKET = "ticket"
    OFFLINE = "offline"


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


@dataclass(frozen=True)
class IssueFailure:
    """Why issuing failed: `offline` means no answer (the server may have made it)."""

    offline: bool
    code: str = ""


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

    @property
    def eta_minutes(self) -> int | None:
        return None if self.eta_s is None else max(0, math.ceil(self.eta_s / 60))


IssueDone = Callable[[Mapping[str, Any] | None, IssueFailure | None], None]


class KioskPorts(Protocol):
    """What the flow needs from the world; the app wires these to the client and printer."""

    def issue_ticket(self, service: str, idempotency_key: str, done: IssueDone) -> None: ...

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
    ) -> None:
        self.ports = ports
        self.live_page_base = live_page_base.rstrip("/")
        self.timeouts = timeouts or Timeouts()
        self.clock = clock
        self.screen = Screen.ATTRACT
        self.service: str | None = None  # the business chosen on HOME
        self.ticket: IssuedTicket | None = None
        self.error_key: str | None = None  # a line shown on GUIDANCE after a refusal
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
        if screen in (Screen.ATTRACT, Screen.HOME, Screen.OFFLINE):
            self.service = None
            self._issue_key = None
            self.error_key = None
        if screen in (Screen.ATTRACT, Screen.HOME, Screen.GUIDANCE, Screen.OFFLINE):
            self.ticket = None
        self.screen = screen
        self._last_touch = self.clock()
        self._changed()

    # -------------------------------------------------------------- customer
    def touch(self) -> None:
        """Any touch on the screen: it keeps the current screen from timing out."""
        self._last_touch = self.clock()

    def start(self) -> None:
        """A touch on the attract screen."""
        if self.screen is Screen.ATTRACT:
            self._go(Screen.HOME)

    def choose_service(self, code: str) -> None:
        if self.screen is not Screen.HOME:
            return
        self.service = code
        self._issue_key = None
        self.error_key = None
        self._go(Screen.GUIDANCE)

    def back(self) -> None:
        if self.screen is Screen.GUIDANCE:
            self._go(Screen.HOME)
        elif self.screen is Screen.HOME:
            self._go(Screen.ATTRACT)

    def take_ticket(self) -> None:
        """The big button on GUIDANCE: ask the server for a ticket."""
        if self.screen is not Screen.GUIDANCE or self.service is None:
            return
        if self._issue_key is None:
            self._issue_key = self.ports.new_key()
        self._attempt += 1
        attempt = self._waiting_for = self._attempt
        self.error_key = None
        self._go(Screen.ISSUING)
        self.ports.issue_ticket(
            self.service,
            self._issue_key,
            lambda data, failure: self._issued(attempt, data, failure),
        )

    def done(self) -> None:
        """The customer is finished with the ticket screen."""
        if self.screen is Screen.TICKET:
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
            and self.screen in (Screen.ATTRACT, Screen.HOME, Screen.GUIDANCE)
        ):
            self._go(Screen.OFFLINE)
            return
        left = self.seconds_left()
        if left is not None and left <= 0:
            self._go_idle()

    def idle_limit(self) -> float | None:
        """How long the current screen waits for a touch; None: it waits for ever."""
        t = self.timeouts
        if self.screen is Screen.HOME:
            return t.home_s
        if self.screen is Screen.GUIDANCE:
            return t.guidance_s
        if self.screen is Screen.TICKET:
            on_screen = self.ticket is not None and self.ticket.print_state is PrintState.FAILED
            return t.ticket_on_screen_s if on_screen else t.ticket_s
        return None

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
            self.error_key = "kiosk.error.generic"
            if failure is not None and failure.offline and not self.online:
                self._go(Screen.OFFLINE)
                return
            # Back to the button; a second tap reuses the key, so a ticket the server made
            # but could not tell us about is handed back rather than duplicated.
            if failure is not None and not failure.offline:
                self._issue_key = None  # refused outright: nothing was made with it
            self._go(Screen.GUIDANCE)
            return
        self.ticket = IssuedTicket(
            id=int(data["id"]),
            number=str(data["number"]),
            service=str(data["service"]),
            people_ahead=int(data.get("position") or 0),
            eta_s=data.get("eta_s"),
            url=f"{self.live_page_base}/t/{data.get('token', '')}",
            issued_at=str(data.get("issued_at") or ""),
            priority=str(data.get("priority") or "regular"),
        )
        self._issue_key = None
        self._go(Screen.TICKET)
        ticket_id = self.ticket.id
        self.ports.print_ticket(self.ticket, lambda outcome: self._printed(ticket_id, outcome))

    def _printed(self, ticket_id: int, outcome: PrintOutcome) -> None:
        self._printer = (outcome.health, outcome.detail)
        self._report_printer()
        if self.ticket is None or self.ticket.id != ticket_id or self.screen is not Screen.TICKET:
            return
        state = PrintState.PRINTED if outcome.printed else PrintState.FAILED
        self.ticket = replace(self.ticket, print_state=state, problem_key=outcome.problem_key)
        self._last_touch = self.clock()  # the timeout counts from the ticket being ready
        self._changed()

    def printer_checked(self, outcome: PrintOutcome) -> None:
        """A status check while idle: the manager hears of paper out before a customer."""
        self._printer = (outcome.health, outcome.detail)
        self._report_printer()

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


def service_choices(
    services: Mapping[str, Mapping[str, Any]],
    waiting: Mapping[str, Mapping[str, Any]],
    now_local: datetime | None,
) -> list[ServiceChoice]:
    """The businesses shown on HOME, in the server's order (hidden ones left out)."""
    found = []
    for code, svc in services.items():
        if not svc.get("visible", True):
            continue
        summary = waiting.get(code, {})
        eta = summary.get("eta_new_s")
        wait = None if eta is None else max(0, math.ceil(float(eta) / 60))
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
