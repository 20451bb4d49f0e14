"""The branch's vocabulary: services, counters, tickets, events — immutable values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

import wire
from queue_server.domain.hours import OpeningHours


class TicketState(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def is_active(self) -> bool:
        """At a counter: called or being served."""
        return self in (TicketState.CALLED, TicketState.SERVING)


# Which states are final is part of the wire contract, defined there once.
FINAL_STATES = frozenset(TicketState(state) for state in wire.FINAL_STATES)


class PriorityClass(StrEnum):
    REGULAR = "regular"
    CARE = "care"  # elderly, disabled, pregnant
    VIP = "vip"  # with a tier 1..3
    APPOINTMENT = "appointment"


class Source(StrEnum):
    KIOSK = "kiosk"
    MOBILE = "mobile"
    APPOINTMENT = "appointment"
    STAFF = "staff"
    LOBBY = "lobby"  # issued by the lobby manager for a customer at the door


class CounterState(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Guidance:
    """What a customer should know before queueing for a business, in one language."""

    documents: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    where: str = ""
    alternative: str = ""  # e.g. "faster at the self-service machine or in the app"


@dataclass(frozen=True, slots=True)
class Service:
    """A business type with its own queue and ticket prefix."""

    code: str
    prefix: str
    names: Mapping[str, str]  # language -> name
    target_wait_s: int = 600
    mean_service_s: int = 300
    guidance: Mapping[str, Guidance] = field(default_factory=dict)
    fast_lane: bool = False
    visible: bool = True  # shown on the kiosk
    enabled: bool = True
    opens: time | None = None
    closes: time | None = None
    sort: int = 0
    needs_form: bool = False  # the teller fills in a form (account opening, card replacement…)

    def name(self, language: str = "zh") -> str:
        return self.names.get(language) or next(iter(self.names.values()), self.code)


@dataclass(frozen=True, slots=True)
class Bundle:
    """Several businesses done in one visit (一站式): one ticket in one queue for all of them."""

    code: str
    names: Mapping[str, str]  # language -> name
    service: str  # the queue the bundle's ticket joins
    includes: tuple[str, ...]  # the businesses done during the visit, in order
    guidance: Mapping[str, Guidance] = field(default_factory=dict)
    sort: int = 0

    def name(self, language: str = "zh") -> str:
        return self.names.get(language) or next(iter(self.names.values()), self.code)


@dataclass(frozen=True, slots=True)
class Skill:
    """One business a counter serves; overflow skills are taken only when that queue is late."""

    service: str
    weight: float = 1.0
    overflow: bool = False


@dataclass(frozen=True, slots=True)
class Counter:
    """A window where a teller serves customers."""

    number: int
    name: str
    location: str = ""
    state: CounterState = CounterState.CLOSED
    staff_id: str | None = None
    skills: tuple[Skill, ...] = ()
    pause_reason: str = ""
    # The signed-in teller's name as the staff list had it at sign-in, for the screens
    # that greet them ("柜员 王丽"); "" with nobody signed in or no name on file.
    staff_name: str = ""

    def skill_for(self, service: str) -> Skill | None:
        for skill in self.skills:
            if skill.service == service:
                return skill
        return None


@dataclass(frozen=True, slots=True)
class Ticket:
    """One leg of a customer's visit; a transfer ends a leg and starts the next."""

    id: int
    number: str
    service: str
    business_day: date
    arrived_at: datetime  # the customer's arrival: kept across transfers
    issued_at: datetime  # this leg's start
    priority: PriorityClass = PriorityClass.REGULAR
    vip_tier: int = 0
    source: Source = Source.KIOSK
    state: TicketState = TicketState.WAITING
    visit_id: int = 0  # id of the visit's first leg
    leg: int = 0
    previous_id: int | None = None
    called_at: datetime | None = None
    serving_at: datetime | None = None
    finished_at: datetime | None = None
    counter: int | None = None
    target_counter: int | None = None  # a transfer to one named counter
    recall_count: int = 0
    note: str = ""
    appointment_id: str | None = None
    appointment_slot: datetime | None = None
    customer_ref: str | None = None  # salted hash, never a plain ID number
    idempotency_key: str | None = None
    # A keyed hash of the request that issued the ticket: a retry under the same
    # Idempotency-Key is a replay only when it asked for exactly the same thing.
    request_hash: str | None = None
    call_key: str | None = None
    staff_id: str | None = None
    rating: int | None = None
    token: str = ""  # opaque token of the customer's live ticket page
    bundle: str | None = None  # code of the bundle (一站式) the visit is for
    has_eform: bool = False  # the kiosk attached a pre-filled form (held in memory only)
    rating_comment: str = ""  # the customer's words with the rating (plain text, ≤ 200)
    # "I'm running late" from the phone: call-next skips the ticket until then; it keeps
    # its place (arrival time and priority) and is called as usual once the time has come.
    held_until: datetime | None = None
    late_count: int = 0  # how many times the customer asked for more time
    # The lobby's triage (issue 21). Why care priority was granted; a hold while the
    # customer fetches a missing document (call-next skips the ticket until it is released,
    # and it keeps its place); which items of the business's checklist the lobby saw
    # (indexes into its guidance documents); a form pre-reviewed while the customer waited.
    care_reason: str = ""
    on_hold: bool = False
    hold_reason: str = ""
    documents_checked: tuple[int, ...] = ()
    prereviewed: bool = False


class DeviceHealth(StrEnum):
    OK = "ok"
    WARNING = "warning"  # works, needs attention soon (paper near end)
    ERROR = "error"  # cannot do its job (paper out, cover open, bad answers)
    OFFLINE = "offline"  # not answering or unplugged


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """The last reported health of one device in the branch (printer, reader, LED board…)."""

    device: str  # reporter-chosen id, e.g. "kiosk-1/printer" or "hub/led:3"
    kind: str
    health: DeviceHealth
    detail: str
    reported_at: datetime
    counter: int | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A change in the branch, numbered by a gap-free, increasing sequence."""

    seq: int
    at: datetime
    kind: str
    ticket: Ticket | None = None
    counter: Counter | None = None
    service: Service | None = None
    device: DeviceStatus | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


STANDARD_VOICE_PACK = "standard"  # the pack the branch ships with (assets/voice/)


@dataclass(frozen=True, slots=True)
class KioskLook:
    """What a head-office configuration sets for the kiosks, the hall's voice and the
    branch's place on the map (BranchSettings' fields of the same names)."""

    texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    voice_pack: str = STANDARD_VOICE_PACK
    location: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class BranchSettings:
    name: str = "BranchQ"
    branch_id: str = "branch"
    timezone: str = "Asia/Shanghai"
    day_starts_at: time = time(4, 0)  # local time at which numbering restarts
    max_recalls: int = 3
    appointment_grace_s: int = 600
    languages: tuple[str, ...] = ("zh", "en")
    care_age: int = 60  # identified customers this old get care priority (elderly in PRC law)
    notice: str = ""  # the line the hall display scrolls; the manager sets it
    # The head office's hall notice (a `notice` document), shown before the manager's and
    # never mixed with it: each is set, cleared and ends on its own.
    centre_notice: str = ""
    centre_notice_until: datetime | None = None  # shown until then (UTC); "" text: none
    # The head office's hours by day; none listed: no branch-wide limit.
    opening_hours: OpeningHours = field(default_factory=OpeningHours)
    # Set by the head office's configuration (`config` documents), kept across restarts.
    # The kiosk's own texts per language ({"zh": {"welcome": …, "footer": …}}); a text not
    # given here is the kiosk catalog's.
    kiosk_texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    voice_pack: str = STANDARD_VOICE_PACK  # the clip pack calls are announced with
    # Where the branch stands (latitude, longitude), as the centre says; None: the TOML's.
    location: tuple[float, float] | None = None
