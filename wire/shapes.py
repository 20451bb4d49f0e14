"""The JSON shapes the server sends: entities, and the messages of the live streams.

Times are ISO 8601 strings, days `YYYY-MM-DD`, clock times `HH:MM`; durations are seconds.
These describe the protocol, not the database: a column can be renamed without touching them.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class TicketWire(TypedDict):
    """A ticket as every client may see it: no keys, no customer reference, no page token."""

    id: int
    number: str
    service: str
    business_day: str
    arrived_at: str
    issued_at: str
    priority: str
    vip_tier: int
    source: str
    state: str
    visit_id: int
    leg: int
    previous_id: int | None
    called_at: str | None
    serving_at: str | None
    finished_at: str | None
    counter: int | None
    target_counter: int | None
    recall_count: int
    note: str
    appointment_id: str | None
    appointment_slot: str | None
    staff_id: str | None
    rating: int | None
    bundle: str | None
    has_eform: bool
    rating_comment: str
    held_until: str | None
    late_count: int
    care_reason: str
    on_hold: bool
    hold_reason: str
    documents_checked: list[int]
    prereviewed: bool


class TicketView(TicketWire):
    """A ticket with its live place in the queue, as the kiosk and the phone show it.

    `eta_s` is the predicted wait until called (median), `eta_low_s`/`eta_high_s` its 80 %
    interval; None when no open counter serves the business.
    """

    position: int
    eta_s: float | None
    eta_low_s: float | None
    eta_high_s: float | None
    # The wait as every screen and the paper show it (`wire.waits.shown_wait`).
    wait_min: int | None
    wait_low_min: int | None
    wait_high_min: int | None
    wait_capped: bool


class TicketIssued(TicketView):
    """The view its issuer gets: with the token of the customer's live page (for the QR)."""

    token: str


class SkillWire(TypedDict):
    service: str
    weight: float
    overflow: bool


class CounterWire(TypedDict):
    number: int
    name: str
    location: str
    state: str
    staff_id: str | None
    staff_name: NotRequired[str]  # the teller's name; servers before it sent none
    skills: list[SkillWire]
    pause_reason: str


class GuidanceWire(TypedDict):
    """What a customer should know before queueing for a business, in one language."""

    documents: list[str]
    steps: list[str]
    where: str
    alternative: str


class ServiceWire(TypedDict):
    code: str
    prefix: str
    names: dict[str, str]
    target_wait_s: int
    mean_service_s: int
    guidance: dict[str, GuidanceWire]
    fast_lane: bool
    visible: bool
    enabled: bool
    opens: str | None
    closes: str | None
    sort: int
    needs_form: bool


class BundleWire(TypedDict):
    """A one-stop visit: several errands in one business's queue."""

    code: str
    names: dict[str, str]
    service: str
    includes: list[str]
    guidance: dict[str, GuidanceWire]
    sort: int
    needs_form: NotRequired[bool]  # in the snapshot: whether the kiosk must ask for a form


class DeviceWire(TypedDict):
    device: str
    kind: str
    health: str
    detail: str
    reported_at: str
    counter: int | None


class AppointmentWire(TypedDict):
    """What an event says about a booking: no booking number, nonce or customer reference."""

    id: int
    service: str
    slot_start: str
    slot_end: str
    state: str
    ticket_id: int | None
    outcome: str | None


class EventWire(TypedDict):
    """One change in the branch; `kind` is an `EventKind` (or a namespaced record kind)."""

    seq: int
    at: str
    kind: str
    ticket: NotRequired[TicketWire]
    counter: NotRequired[CounterWire]
    service: NotRequired[ServiceWire]
    device: NotRequired[DeviceWire]
    data: NotRequired[dict[str, Any]]


class WaitingSummary(TypedDict):
    """One business's queue as the server counts it; clients show it as sent.

    `eta_new_s` is a newcomer's predicted wait (median), `eta_low_s`/`eta_high_s` its 80 %
    interval (all three equal when the naive rule answers); None: no open counter serves it.
    """

    waiting: int
    longest_wait_s: int
    open_counters: int
    eta_new_s: float | None
    eta_low_s: float | None
    eta_high_s: float | None
    # A newcomer's wait as every screen shows it (`wire.waits.shown_wait`).
    wait_min: int | None
    wait_low_min: int | None
    wait_high_min: int | None
    wait_capped: bool


class CentreNoticeWire(TypedDict):
    text: str
    until: str  # ISO 8601 UTC: screens stop showing it then, with no further event


class BranchWire(TypedDict):
    name: str
    id: str
    timezone: str
    languages: list[str]
    care_age: int
    notice: str  # the branch manager's
    centre_notice: CentreNoticeWire | None  # the head office's, while it runs; shown first
    # The head office's hours by day, {"mon": ["09:00", "17:00"], "sat": [] (closed)}; a day
    # not listed has no branch-wide limit. Updated live by `config.applied`.
    opening_hours: dict[str, list[str]]
    # The head office's kiosk texts ({"zh": {"welcome": …}}; wire.downlink.KIOSK_TEXTS) and
    # the clip pack calls are announced with; `config.applied` carries either when it changes.
    kiosk_texts: dict[str, dict[str, str]]
    voice_pack: str


class Snapshot(TypedDict):
    """The whole live state at one sequence number: what a client rebuilds from."""

    epoch: str
    seq: int
    at: str
    business_day: str
    branch: BranchWire
    services: list[ServiceWire]
    bundles: list[BundleWire]
    counters: list[CounterWire]
    tickets: list[TicketWire]  # every open ticket
    recent_calls: list[TicketWire]  # today's last calls, newest first
    devices: list[DeviceWire]
    waiting: dict[str, WaitingSummary]  # by business code
    # Parts the manager's console adds (present when the alert desk runs).
    alerts: NotRequired[list[dict[str, Any]]]
    followups: NotRequired[list[dict[str, Any]]]
    today: NotRequired[dict[str, Any]]


class SnapshotMessage(Snapshot):
    type: Literal["snapshot"]


class ResumeMessage(TypedDict):
    """The events after `since` follow: the client's snapshot of `epoch` stays good."""

    type: Literal["resume"]
    since: int
    epoch: str


class EventsMessage(TypedDict):
    type: Literal["events"]
    events: list[EventWire]


class WaitsMessage(TypedDict):
    """The newest per-business waiting summary. Not an event: no seq, never replayed."""

    type: Literal["waits"]
    after_seq: int  # the last event the figures include
    epoch: str
    at: str
    waits: dict[str, WaitingSummary]  # by business code


class HeartbeatMessage(TypedDict):
    """Nothing happened; the branch stream says where it is, a ticket's stream only when."""

    type: Literal["heartbeat"]
    at: str
    seq: NotRequired[int]
    epoch: NotRequired[str]


class TicketMessage(TypedDict):
    """One ticket's stream (the phone's live page): its view now."""

    type: Literal["ticket"]
    ticket: TicketView
