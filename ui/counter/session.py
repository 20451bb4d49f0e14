"""The counter caller's presenter: what one counter's screen shows and allows, from the model.

Plain Python with no Qt: it reads a `BranchModel` (duck-typed, so this module does not even
import `ui.client`, whose package pulls in Qt) and the counter's number, and derives a
`CounterView` — the counter's state, the customer at it, the actions allowed now, and the
queues of the businesses it serves. Everything the window shows comes from here, and every
rule here is unit-tested without a screen.

The server stays the single source of truth. The only things held here are what the model
cannot know yet or at all: the answer to this counter's own last action (shown at once,
even if its event is a few milliseconds behind — see `newer`), the server's preview of who
comes next, today's figures, the finished customer whose rating is awaited, and the server
clock's current reading.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from ui.model.clock import ServerClock
from ui.model.isotime import parse_time
from wire import EventKind

DEFAULT_MAX_RECALLS = 3  # the server's default; a snapshot's branch may say otherwise
# How far along its life a ticket is; for one ticket id the later version wins.
_STATE_RANK = {"waiting": 0, "called": 1, "serving": 2}


class CounterState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    PAUSED = "paused"


class Action(StrEnum):
    CALL_NEXT = "call_next"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no_show"
    TRANSFER = "transfer"
    PAUSE = "pause"
    RESUME = "resume"
    CALL_NUMBER = "call_number"
    SIGN_OUT = "sign_out"


# Function keys only: a keyboard-wedge scanner types letters and digits (and Enter), so a
# plain-letter shortcut would fire when a customer's QR code is scanned. F7 toggles.
SHORTCUTS: dict[Action, str] = {
    Action.CALL_NEXT: "F1",
    Action.RECALL: "F2",
    Action.START: "F3",
    Action.FINISH: "F4",
    Action.NO_SHOW: "F5",
    Action.TRANSFER: "F6",
    Action.PAUSE: "F7",
    Action.RESUME: "F7",
    Action.CALL_NUMBER: "F8",
}
ACTION_KEYS: dict[Action, str] = {a: f"counter.action.{a.value}" for a in Action}
PAUSE_REASONS = ("lunch", "break", "meeting", "cash", "other")
RATING_KEYS = {
    4: "rating.very_satisfied",
    3: "rating.satisfied",
    2: "rating.average",
    1: "rating.dissatisfied",
}
# A refusal's stable code from the server → the catalog key that tells the teller why.
ERROR_KEYS = {
    "offline": "counter.error.offline",
    "unauthorized": "counter.sign_in.failed",
    "invalid_request": "counter.error.invalid_request",
    "forbidden": "counter.error.forbidden",
    "staff_elsewhere": "counter.error.staff_elsewhere",
    "counter_busy": "counter.busy",
    "counter_not_open": "counter.error.counter_not_open",
    "counter_closed": "counter.error.counter_not_open",
    "no_customer": "counter.error.stale",
    "stale_ticket": "counter.error.stale",
    "invalid_state": "counter.error.stale",
    "recall_limit": "counter.error.recall_limit",
    "unknown_ticket": "counter.error.unknown_ticket",
    "transfer_target": "counter.error.transfer_target",
    "unknown_service": "counter.error.transfer_target",
    "unknown_counter": "counter.error.transfer_target",
    "duplicate_key": "counter.error.stale",
}


class ModelLike(Protocol):
    """What the presenter reads of `ui.client.BranchModel`."""

    at: str | None
    branch: dict[str, Any]
    services: dict[str, dict[str, Any]]
    bundles: dict[str, dict[str, Any]]
    counters: dict[int, dict[str, Any]]
    tickets: dict[int, dict[str, Any]]
    recent_calls: list[dict[str, Any]]


def newer(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Of two versions of one ticket, the later one: a ticket only moves forward
    (waiting → called → serving → final) and a recall only adds to its count."""

    def progress(t: dict[str, Any]) -> tuple[int, int]:
        return (_STATE_RANK.get(t["state"], 3), int(t.get("recall_count") or 0))

    return b if progress(b) > progress(a) else a


def error_key(code: str, *, sent_online: bool = False) -> str:
    """The catalog key that explains a refusal (`sent_online`: no answer to a request that
    went out, so the server may have acted — different words from "nothing was sent")."""
    if code == "offline" and sent_online:
        return "counter.error.no_answer"
    return ERROR_KEYS.get(code, "counter.error.other")


def _documents(business: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The documents a business's guidance lists, per language: the lobby's checklist."""
    guidance = business.get("guidance") or {}
    return {lang: tuple(g.get("documents") or ()) for lang, g in guidance.items()}


def seconds_between(start: datetime | None, end: datetime | None) -> int:
    if start is None or end is None:
        return 0
    return max(0, round((end - start).total_seconds()))


@dataclass(frozen=True)
class Customer:
    """The customer called to or being served at this counter."""

    ticket_id: int
    number: str
    service: str
    service_names: Mapping[str, str]
    state: str  # "called" or "serving"
    priority: str
    vip_tier: int
    waited_s: int  # arrival → now while called; arrival → start once serving
    serving_s: int  # how long the service has taken so far (0 while called)
    recall_count: int
    appointment_slot: datetime | None
    bundle: str | None
    bundle_names: Mapping[str, str]
    # The names of the businesses the bundle covers, in its order: what the teller does.
    bundle_includes: tuple[Mapping[str, str], ...]
    has_eform: bool
    leg: int
    note: str
    # What the lobby did while the customer waited (issue 21).
    care_reason: str = ""
    # The business's (or bundle's) documents per language, and which of them the lobby
    # checked (indexes into each language's list, the same for every language).
    checklist: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    documents_checked: frozenset[int] = frozenset()
    prereviewed: bool = False

    @property
    def serving(self) -> bool:
        return self.state == "serving"

    @property
    def transferred(self) -> bool:
        return self.leg > 1

    @property
    def priority_key(self) -> str:
        return f"priority.{self.priority}"


@dataclass(frozen=True)
class WaitingRow:
    """One business this counter serves: how many wait for it and for how long."""

    service: str
    names: Mapping[str, str]
    waiting: int
    longest_wait_s: int
    target_wait_s: int
    overflow: bool  # served here only when its queue is over target

    @property
    def over_target(self) -> bool:
        return self.waiting > 0 and self.longest_wait_s > self.target_wait_s


@dataclass(frozen=True)
class RatingWait:
    """The last customer finished here, and their rating once the pad has sent it."""

    ticket_id: int
    number: str
    rating: int | None = None


@dataclass(frozen=True)
class CounterView:
    """Everything the teller's screen shows, derived at one moment."""

    number: int
    name: str
    known: bool  # the model has this counter (False until the first snapshot)
    state: CounterState
    pause_reason: str
    staff_id: str | None
    customer: Customer | None
    allowed: frozenset[Action]
    waiting: tuple[WaitingRow, ...]
    next_up: tuple[dict[str, Any], ...]  # the server's preview, still waiting
    targeted: int  # customers transferred to this counter by name
    online: bool
    rating: RatingWait | None
    today: Mapping[str, Any] | None

    @property
    def signed_in(self) -> bool:
        return self.staff_id is not None

    def can(self, action: Action) -> bool:
        return action in self.allowed

    @property
    def pause_action(self) -> Action:
        """What the Pause / Resume button (F7) does now."""
        return Action.RESUME if self.state is CounterState.PAUSED else Action.PAUSE

    @property
    def pause_reason_key(self) -> str | None:
        """The catalog key of a standard pause reason; None for a reason typed by hand."""
        if self.pause_reason in PAUSE_REASONS:
            return f"counter.pause_reason.{self.pause_reason}"
        return None


def allowed_actions(
    state: CounterState, signed_in: bool, customer: Customer | None, max_recalls: int
) -> frozenset[Action]:
    """The counter's buttons that do something now (the server enforces the same rules)."""
    if not signed_in:
        return frozenset()
    allowed: set[Action] = set()
    if customer is None:
        allowed.add(Action.SIGN_OUT)
        if state is CounterState.OPEN:
            allowed |= {Action.CALL_NEXT, Action.CALL_NUMBER, Action.PAUSE}
    elif customer.serving:
        allowed |= {Action.FINISH, Action.TRANSFER}
    else:
        allowed |= {Action.START, Action.NO_SHOW, Action.TRANSFER}
        if customer.recall_count < max_recalls:
            allowed.add(Action.RECALL)
    if state is CounterState.PAUSED:
        allowed.add(Action.RESUME)
    return frozenset(allowed)


@dataclass
class CounterSession:
    """One counter's presenter over a live branch model."""

    model: ModelLike
    counter: int
    clock: ServerClock = field(default_factory=ServerClock)
    online: bool = False
    # The answer to this counter's own last ticket action, until the model has caught up.
    echo: dict[str, Any] | None = None
    rating: RatingWait | None = None
    queue: Mapping[str, Any] | None = None  # GET /counters/{n}/queue
    today: Mapping[str, Any] | None = None  # GET /counters/{n}/today

    # ------------------------------------------------------------ what comes in
    def model_changed(self) -> None:
        """Call after the model applied events: moves the server clock on."""
        self.clock.observe(self.model.at)

    def snapshot_loaded(self) -> None:
        """A fresh snapshot is the truth: forget what was shown from replies."""
        self.echo = None
        self.clock.observe(self.model.at)
        if self.rating is not None and self.rating.rating is None:
            for t in self.model.recent_calls:
                if t["id"] == self.rating.ticket_id and t.get("rating"):
                    self.rating = RatingWait(t["id"], t["number"], int(t["rating"]))

    def action_answered(self, ticket: Mapping[str, Any] | None) -> None:
        """A ticket action's reply: show its result now, whatever the stream's timing."""
        if ticket is None:
            return
        self.echo = dict(ticket)
        if ticket.get("state") == "done" and ticket.get("counter") == self.counter:
            self.rating = RatingWait(int(ticket["id"]), str(ticket["number"]), ticket.get("rating"))

    def event(self, event: Mapping[str, Any]) -> None:
        """An event from the stream (after the model applied it)."""
        ticket = event.get("ticket")
        if (
            event.get("kind") == EventKind.TICKET_DONE
            and ticket is not None
            and ticket.get("counter") == self.counter
            and (self.rating is None or self.rating.ticket_id != ticket["id"])
        ):
            # Finished here by other means (the keypad): the pad is asked all the same.
            self.rating = RatingWait(int(ticket["id"]), str(ticket["number"]), ticket.get("rating"))
            return
        if (
            event.get("kind") == EventKind.TICKET_RATED
            and ticket is not None
            and self.rating is not None
            and ticket["id"] == self.rating.ticket_id
        ):
            rating = event.get("rating", ticket.get("rating"))
            self.rating = RatingWait(self.rating.ticket_id, self.rating.number, int(rating))

    def affects_queue(self, event: Mapping[str, Any]) -> bool:
        """Whether an event may change who comes next here (worth refetching the preview)."""
        if event.get("service") is not None:
            return True
        counter = event.get("counter")
        if counter is not None and counter.get("number") == self.counter:
            return True
        ticket = event.get("ticket")
        if ticket is None:
            return False
        return (
            ticket.get("service") in self.skill_codes()
            or ticket.get("target_counter") == self.counter
            or ticket.get("counter") == self.counter
        )

    def affects_today(self, event: Mapping[str, Any]) -> bool:
        """Whether an event changes this counter's figures for today."""
        ticket = event.get("ticket")
        return (
            ticket is not None
            and ticket.get("counter") == self.counter
            and event.get("kind")
            in (
                EventKind.TICKET_CALLED,
                EventKind.TICKET_DONE,
                EventKind.TICKET_NO_SHOW,
                EventKind.TICKET_TRANSFERRED,
                EventKind.TICKET_RATED,
            )
        )

    # ------------------------------------------------------------- what goes out
    def counter_dict(self) -> dict[str, Any]:
        return self.model.counters.get(self.counter) or {}

    def skill_codes(self) -> list[str]:
        return [s["service"] for s in self.counter_dict().get("skills", [])]

    def max_recalls(self) -> int:
        return int(self.model.branch.get("max_recalls", DEFAULT_MAX_RECALLS))

    def current_ticket(self) -> dict[str, Any] | None:
        """The ticket at this counter: the model's, or this counter's own newer answer."""
        found = None
        for t in self.model.tickets.values():
            if t.get("counter") == self.counter and t["state"] in ("called", "serving"):
                found = t
                break
        echo = self.echo
        if echo is None:
            return found
        if found is not None and found["id"] != echo["id"]:
            # The model has moved on to another customer: it is ahead of the echo.
            self.echo = None
            return found
        known = self.model.tickets.get(echo["id"])
        if known is None:
            known = next((t for t in self.model.recent_calls if t["id"] == echo["id"]), None)
        latest = echo if known is None else newer(known, echo)
        if known is not None and latest is known:
            self.echo = None  # caught up
        if latest.get("counter") == self.counter and latest["state"] in ("called", "serving"):
            return latest
        return None

    def customer(self, now: datetime | None) -> Customer | None:
        t = self.current_ticket()
        if t is None:
            return None
        service = self.model.services.get(t["service"], {})
        bundle = t.get("bundle")
        bundle_info = self.model.bundles.get(bundle, {}) if bundle else {}
        arrived = parse_time(t.get("arrived_at"))
        serving_at = parse_time(t.get("serving_at"))
        waited_until = serving_at if t["state"] == "serving" else now
        return Customer(
            ticket_id=int(t["id"]),
            number=str(t["number"]),
            service=str(t["service"]),
            service_names=service.get("names", {}),
            state=str(t["state"]),
            priority=str(t.get("priority") or "regular"),
            vip_tier=int(t.get("vip_tier") or 0),
            waited_s=seconds_between(arrived, waited_until),
            serving_s=seconds_between(serving_at, now) if t["state"] == "serving" else 0,
            recall_count=int(t.get("recall_count") or 0),
            appointment_slot=parse_time(t.get("appointment_slot")),
            bundle=bundle,
            bundle_names=bundle_info.get("names", {}),
            bundle_includes=tuple(
                self.model.services.get(code, {}).get("names", {"zh": code, "en": code})
                for code in bundle_info.get("includes", [])
            ),
            has_eform=bool(t.get("has_eform")),
            leg=int(t.get("leg") or 1),
            note=str(t.get("note") or ""),
            care_reason=str(t.get("care_reason") or ""),
            # The server's rule (Branch.checklist): the bundle's guidance, else the business's.
            checklist=_documents(bundle_info) or _documents(service),
            documents_checked=frozenset(int(i) for i in t.get("documents_checked") or ()),
            prereviewed=bool(t.get("prereviewed")),
        )

    def waiting_rows(self, now: datetime | None) -> tuple[WaitingRow, ...]:
        """Per business this counter serves, in its order (then businesses whose customers
        were sent here by name): waiting count and longest wait, as the server counted them
        in its queue answer (refetched on every event that can change them); between two
        answers the longest wait only ages."""
        if not self.queue:
            return ()
        since = max(0, seconds_between(parse_time(self.queue.get("at")), now) or 0)
        rows = []
        for code, q in dict(self.queue.get("by_service") or {}).items():
            waiting = int(q.get("waiting") or 0)
            rows.append(
                WaitingRow(
                    service=code,
                    names=self.model.services.get(code, {}).get("names", {}),
                    waiting=waiting,
                    longest_wait_s=int(q.get("longest_wait_s") or 0) + since if waiting else 0,
                    target_wait_s=int(q.get("target_wait_s") or 0),
                    overflow=bool(q.get("overflow")),
                )
            )
        return tuple(rows)

    def next_up(self) -> tuple[dict[str, Any], ...]:
        """The server's preview of who comes next, minus anyone no longer waiting."""
        if not self.queue:
            return ()
        out = []
        for t in self.queue.get("next", []):
            live = self.model.tickets.get(t["id"])
            if live is not None and live["state"] == "waiting":
                out.append(live)
        return tuple(out)

    def view(self, now: datetime | None = None) -> CounterView:
        """The screen at `now` (default: the server clock's reading)."""
        if now is None:
            now = self.clock.now()
        c = self.counter_dict()
        try:
            state = CounterState(c.get("state", "closed"))
        except ValueError:
            state = CounterState.CLOSED
        staff = c.get("staff_id")
        customer = self.customer(now)
        if customer is not None and self.rating is not None:
            # The next customer is here: the last one's rating is no longer news.
            self.rating = None
        return CounterView(
            number=self.counter,
            name=str(c.get("name") or ""),
            known=bool(c),
            state=state,
            pause_reason=str(c.get("pause_reason") or ""),
            staff_id=staff,
            customer=customer,
            allowed=allowed_actions(state, staff is not None, customer, self.max_recalls()),
            waiting=self.waiting_rows(now),
            next_up=self.next_up(),
            targeted=int(self.queue.get("targeted", 0)) if self.queue else 0,
            online=self.online,
            rating=self.rating,
            today=self.today,
        )

    def refusal(self, action: Action, view: CounterView) -> str | None:
        """Why `action` cannot be done now (a catalog key), or None to go ahead.

        Offline is checked first and refuses everything: an action is never queued to be
        sent later, when the customer may be gone or it would be done twice.
        """
        if not self.online:
            return "counter.error.offline"
        if view.can(action):
            return None
        if action in (Action.CALL_NEXT, Action.CALL_NUMBER) and view.customer is not None:
            return "counter.busy"
        if action is Action.SIGN_OUT and view.customer is not None:
            return "counter.busy"
        if action is Action.RECALL and view.customer is not None and not view.customer.serving:
            return "counter.error.recall_limit"
        if action in (Action.CALL_NEXT, Action.CALL_NUMBER) and view.state is CounterState.PAUSED:
            return "counter.error.paused"
        return "counter.error.not_now"


def transfer_targets(
    model: ModelLike, counter: int, current_service: str | None
) -> tuple[list[str], list[tuple[int, str]]]:
    """Where a customer may be sent: every other enabled business, every other counter."""
    services = [
        code
        for code, s in model.services.items()
        if s.get("enabled", True) and code != current_service
    ]
    counters = sorted(
        (n, str(c.get("name") or n)) for n, c in model.counters.items() if n != counter
    )
    return services, counters


def transfers(legs: Iterable[Mapping[str, Any]], current_id: int) -> list[dict[str, Any]]:
    """The transfers that brought the customer to the current leg, oldest first.

    A leg's note is the note it was transferred *in* with, so each transfer pairs a leg
    (where the customer was: number, business, counter) with the next one (where they were
    sent, and why).
    """
    ordered = list(legs)
    out = []
    for before, after in itertools.pairwise(ordered):
        out.append(
            {
                "number": before["number"],
                "from_service": before["service"],
                "from_counter": before.get("counter"),
                "to_service": after["service"],
                "to_counter": after.get("target_counter"),
                "note": str(after.get("note") or ""),
            }
        )
        if after["id"] == current_id:
            break
    return out
