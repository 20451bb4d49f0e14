"""The branch aggregate: every command decides a `Change` first and applies it second.

Deciding never mutates, so a refused command changes nothing; applying is what the server
does once the change is durable (and what the simulator does straight away).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from queue_server.domain.appointments import (
    Appointment,
    AppointmentKind,
    AppointmentRefused,
    AppointmentRules,
    AppointmentState,
    AppointmentUnknown,
    CheckInOutcome,
    CheckInWindow,
    SlotOffer,
    TokenClaims,
    appointment_summary,
    aware_slot,
    check_in_outcome,
    check_slot,
    day_slots,
    normalise_booking_number,
    release_due,
    slot_is_taken,
    visit_documents,
    within_hours,
)
from queue_server.domain.day import business_day, format_number
from queue_server.domain.errors import InvalidInput, InvalidState, NotFound
from queue_server.domain.hours import OpeningHours
from queue_server.domain.model import (
    BranchSettings,
    Bundle,
    Counter,
    CounterState,
    DeviceHealth,
    DeviceStatus,
    Event,
    Guidance,
    KioskLook,
    PriorityClass,
    Service,
    Skill,
    Source,
    Ticket,
    TicketState,
)
from queue_server.domain.policies import (
    CallingPolicy,
    FixedRanking,
    Forecast,
    Hall,
    HallAwarePolicy,
    RankKey,
    default_policy,
    next_customers,
)
from wire import EventKind

RATINGS = (1, 2, 3, 4)  # 不满意 / 一般 / 满意 / 非常满意
RATING_COMMENT_MAX = 200
LATE_MAX_MINUTES = 30  # one "I'm running late" holds the ticket at most this long
LATE_MAX_TIMES = 2  # and a customer may ask this often per ticket
NOTICE_MAX = 300
# The lobby app (issue 21): a reason for a triage step, a note for the teller, and where a
# customer may be sent instead of queueing.
LOBBY_REASON_MAX = 200
LOBBY_NOTE_MAX = 500
DIVERT_CHANNELS = ("atm", "app", "self_service")


@dataclass
class Change:
    """What one command changes: new versions of entities and the events that say so."""

    tickets: list[Ticket] = field(default_factory=list)
    counters: list[Counter] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    devices: list[DeviceStatus] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    numbering: dict[tuple[date, str], int] = field(default_factory=dict)
    appointments: list[Appointment] = field(default_factory=list)
    settings: BranchSettings | None = None  # the branch's settings, when they change
    # A configuration from the head office: the businesses it removes, its bundles and
    # appointment rules (each None or empty when unchanged).
    removed_services: list[str] = field(default_factory=list)
    bundles: list[Bundle] | None = None
    appointment_rules: AppointmentRules | None = None
    result: Ticket | Counter | Service | Appointment | None = None

    @property
    def empty(self) -> bool:
        parts = (self.tickets, self.counters, self.services, self.devices, self.events)
        return not (any(parts) or self.appointments)


class _Draft:
    """Builds a Change, numbering its events after the branch's last sequence."""

    def __init__(self, branch: Branch, now: datetime, after: Change | None = None) -> None:
        # `after`: extend a change already decided, numbering events after its own.
        self.change = after if after is not None else Change()
        self._seq = self.change.events[-1].seq if self.change.events else branch.last_seq
        self._now = now

    def event(
        self,
        kind: str,
        *,
        ticket: Ticket | None = None,
        counter: Counter | None = None,
        service: Service | None = None,
        device: DeviceStatus | None = None,
        **data: Any,
    ) -> None:
        self._seq += 1
        self.change.events.append(
            Event(self._seq, self._now, kind, ticket, counter, service, device, dict(data))
        )

    def ticket(
        self, ticket: Ticket, kind: str, counter: Counter | None = None, **data: Any
    ) -> None:
        self.change.tickets.append(ticket)
        self.event(kind, ticket=ticket, counter=counter, **data)

    def counter(self, counter: Counter, kind: str, **data: Any) -> None:
        self.change.counters.append(counter)
        self.event(kind, counter=counter, **data)

    def appointment(self, appointment: Appointment, kind: str, **data: Any) -> None:
        # Events say only what reports need: never the booking number, nonce or customer.
        self.change.appointments.append(appointment)
        self.event(kind, appointment=appointment_summary(appointment), **data)


def naive_wait_s(ahead: int, mean_service_s: float, open_counters: int) -> float | None:
    """The naive wait: people ahead × mean service ÷ open counters (None: none open).

    The one statement of this rule: the server falls back on it when the predictor has no
    answer; clients show what the server sent and never apply it themselves.
    """
    if open_counters <= 0:
        return None
    return ahead * mean_service_s / open_counters


class Branch:
    """In-memory state of one branch: services, counters, and the tickets still of interest."""

    def __init__(
        self,
        settings: BranchSettings,
        services: Iterable[Service] = (),
        counters: Iterable[Counter] = (),
        tickets: Iterable[Ticket] = (),
        *,
        devices: Iterable[DeviceStatus] = (),
        numbering: Mapping[tuple[date, str], int] | None = None,
        last_seq: int = 0,
        policy: CallingPolicy | None = None,
        bundles: Iterable[Bundle] = (),
        appointments: Iterable[Appointment] = (),
        appointment_rules: AppointmentRules | None = None,
    ) -> None:
        self.settings = settings
        self.services: dict[str, Service] = {s.code: s for s in services}
        self.bundles: dict[str, Bundle] = {b.code: b for b in bundles}
        self.counters: dict[int, Counter] = {c.number: c for c in counters}
        self.tickets: dict[int, Ticket] = {t.id: t for t in tickets}
        self.devices: dict[str, DeviceStatus] = {d.device: d for d in devices}
        self.numbering: dict[tuple[date, str], int] = dict(numbering or {})
        self.last_seq = last_seq
        self.next_ticket_id = max(self.tickets, default=0) + 1
        self._policy: CallingPolicy = policy or default_policy(
            timedelta(seconds=settings.appointment_grace_s)
        )
        # What the branch expects to arrive (set by the server or a simulation; not an event).
        self.forecast = Forecast()
        self.idempotency: dict[str, int] = {}
        self.call_keys: dict[tuple[int, str], int] = {}
        self._waiting: dict[int, Ticket] = {}
        self._places = _Places(self._policy)
        self._active_by_counter: dict[int, Ticket] = {}
        self._held: dict[str, int] = {}  # numbers on open tickets -> how many
        for t in self.tickets.values():
            self._index(None, t)
        self.appointment_rules = appointment_rules or AppointmentRules()
        self.appointments: dict[int, Appointment] = {}
        self._booking_numbers: dict[str, int] = {}
        self.next_appointment_id = 1
        for a in appointments:
            self._remember_appointment(a)

    @property
    def policy(self) -> CallingPolicy:
        return self._policy

    @policy.setter
    def policy(self, policy: CallingPolicy) -> None:
        self._policy = policy
        self._places = _Places(policy)
        self._places.rebuild(self._waiting.values(), self.services)

    def frozen_copy(self, *, open_only: bool = False) -> Branch:
        """A copy that later changes to this branch leave alone: its own dicts of the same
        immutable tickets, counters and services, so another thread may read it while this
        one goes on. Positions in the copy are counted by sorting.

        `open_only`: only the waiting and active tickets, and no appointments or keys — the
        small part a wait prediction reads, cheap to send to another process.
        """
        copy = object.__new__(Branch)
        shared = (
            "settings",
            "last_seq",
            "next_ticket_id",
            "_policy",
            "forecast",
            "appointment_rules",
            "next_appointment_id",
        )
        for name in shared:
            setattr(copy, name, getattr(self, name))
        copied = ["services", "bundles", "counters", "devices", "numbering"]
        copied += ["_waiting", "_active_by_counter"]
        for name in copied:
            setattr(copy, name, dict(getattr(self, name)))
        if open_only:
            copy.tickets = {**self._waiting, **{t.id: t for t in self._active_by_counter.values()}}
            for name in ("idempotency", "call_keys", "_held", "appointments", "_booking_numbers"):
                setattr(copy, name, {})
        else:
            copy.tickets = dict(self.tickets)
            for name in ("idempotency", "call_keys", "_held", "appointments", "_booking_numbers"):
                setattr(copy, name, dict(getattr(self, name)))
        copy._places = _Places(None)
        return copy

    # ----------------------------------------------------------------- reading
    def business_day(self, now: datetime) -> date:
        return business_day(now, self.settings.timezone, self.settings.day_starts_at)

    @property
    def waiting(self) -> list[Ticket]:
        return list(self._waiting.values())

    @property
    def waiting_count(self) -> int:
        return len(self._waiting)

    def callable_waiting(self, now: datetime) -> list[Ticket]:
        """Waiting tickets call-next may choose now: not held by "I'm running late", nor
        on hold in the lobby while the customer fetches a document."""
        return [
            t
            for t in self._waiting.values()
            if not t.on_hold and (t.held_until is None or t.held_until <= now)
        ]

    def active_ticket(self, counter: int) -> Ticket | None:
        return self._active_by_counter.get(counter)

    def service(self, code: str) -> Service:
        try:
            return self.services[code]
        except KeyError:
            raise NotFound(f"unknown service {code!r}", code="unknown_service") from None

    def bundle(self, code: str) -> Bundle:
        try:
            return self.bundles[code]
        except KeyError:
            raise InvalidInput(f"unknown bundle {code!r}", code="unknown_bundle") from None

    def needs_form(self, service: str, bundle: str | None = None) -> bool:
        """Whether a visit for this business (or bundle) has the teller fill in a form."""
        codes = {service}
        if bundle is not None:
            b = self.bundle(bundle)
            codes |= {b.service, *b.includes}
        return any(s.needs_form for c in codes if (s := self.services.get(c)) is not None)

    def counter(self, number: int) -> Counter:
        try:
            return self.counters[number]
        except KeyError:
            raise NotFound(f"unknown counter {number}", code="unknown_counter") from None

    def ticket(self, ticket_id: int) -> Ticket:
        try:
            return self.tickets[ticket_id]
        except KeyError:
            raise NotFound(f"unknown ticket {ticket_id}", code="unknown_ticket") from None

    def open_ticket_by_number(self, number: str) -> Ticket:
        """The ticket currently open under a printed number (the latest leg)."""
        found = [t for t in self.tickets.values() if t.number == number and not t.state.is_final]
        if not found:
            raise NotFound(f"no open ticket numbered {number}", code="unknown_ticket")
        return max(found, key=lambda t: t.id)

    def position(self, ticket: Ticket, now: datetime) -> int:
        """How many customers of the same business the policy would serve before this one."""
        if ticket.state is not TicketState.WAITING:
            return 0
        ahead = self._places.ahead(ticket, now, self.services)
        if ahead is not None:
            return ahead
        same = [t for t in self._waiting.values() if t.service == ticket.service]
        order = self.policy.queue_order(same, now, self.services)
        return next((i for i, t in enumerate(order) if t.id == ticket.id), len(order))

    def next_customers(self, counter_no: int, now: datetime, limit: int) -> list[Ticket]:
        """The next `limit` customers call-next would give this counter, calling now."""
        counter = self.counter(counter_no)
        waiting = self.callable_waiting(now)
        return next_customers(self.policy, counter, waiting, now, self.services, limit)

    def serving_counters(self, service: str) -> int:
        """Open counters that serve this business as a regular (non-overflow) skill."""
        return sum(
            1
            for c in self.counters.values()
            if c.state is CounterState.OPEN
            and (s := c.skill_for(service)) is not None
            and not s.overflow
        )

    def naive_eta_s(
        self, ticket: Ticket, now: datetime, position: int | None = None
    ) -> float | None:
        """The naive baseline for a ticket (`naive_wait_s`); 0 once called."""
        if ticket.state is not TicketState.WAITING:
            return 0.0
        counters = self.serving_counters(ticket.service)
        if counters == 0:
            return None
        ahead = self.position(ticket, now) if position is None else position
        return naive_wait_s(ahead, self.service(ticket.service).mean_service_s, counters)

    # ---------------------------------------------------------------- applying
    def apply(self, change: Change) -> None:
        if change.settings is not None:
            self.settings = change.settings
        for service in change.services:
            self.services[service.code] = service
        for code in change.removed_services:
            self.services.pop(code, None)
        if change.bundles is not None:
            self.bundles = {b.code: b for b in change.bundles}
        if change.appointment_rules is not None:
            self.appointment_rules = change.appointment_rules
        if change.services:  # a target is part of some policies' order
            self._places.rebuild(self._waiting.values(), self.services)
        for counter in change.counters:
            self.counters[counter.number] = counter
        for device in change.devices:
            self.devices[device.device] = device
        for ticket in change.tickets:
            old = self.tickets.get(ticket.id)
            self.tickets[ticket.id] = ticket
            self._index(old, ticket)
            self.next_ticket_id = max(self.next_ticket_id, ticket.id + 1)
        self.numbering.update(change.numbering)
        for appointment in change.appointments:
            self._remember_appointment(appointment)
        if change.events:
            self.last_seq = change.events[-1].seq

    def _index(self, old: Ticket | None, new: Ticket) -> None:
        if old is not None and not old.state.is_final:
            left = self._held.get(old.number, 1) - 1
            if left > 0:
                self._held[old.number] = left
            else:
                self._held.pop(old.number, None)
        if not new.state.is_final:
            self._held[new.number] = self._held.get(new.number, 0) + 1
        if (
            old is not None
            and old.counter is not None
            and old.state.is_active
            and self._active_by_counter.get(old.counter, old).id == old.id
        ):
            self._active_by_counter.pop(old.counter, None)
        was_waiting = self._waiting.pop(new.id, None)
        if was_waiting is not None:
            self._places.remove(was_waiting)
        if new.state is TicketState.WAITING:
            self._waiting[new.id] = new
            self._places.add(new, self.services)
        if new.state.is_active and new.counter is not None:
            self._active_by_counter[new.counter] = new
        if new.idempotency_key:
            self.idempotency[new.idempotency_key] = new.id
        if new.call_key and new.counter is not None:
            self.call_keys[(new.counter, new.call_key)] = new.id

    def forget_closed_days(self, today: date) -> None:
        """Drop finished tickets of earlier business days from memory (the log keeps them)."""
        for tid in [
            t.id for t in self.tickets.values() if t.business_day < today and t.state.is_final
        ]:
            del self.tickets[tid]

    def run(self, decide: Callable[[], Change]) -> Change:
        """Decide and apply at once (the simulator's and tests' way; the server commits between)."""
        change = decide()
        self.apply(change)
        return change

    # ------------------------------------------------------------ ticket issue
    def issue_ticket(
        self,
        service: str,
        now: datetime,
        *,
        priority: PriorityClass = PriorityClass.REGULAR,
        vip_tier: int = 0,
        source: Source = Source.KIOSK,
        appointment_id: str | None = None,
        appointment_slot: datetime | None = None,
        customer_ref: str | None = None,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
        token: str = "",
        bundle: str | None = None,
        has_eform: bool = False,
        care_reason: str = "",  # the lobby's why, when it issues a care ticket at the door
    ) -> Change:
        svc = self.service(service)
        if not svc.enabled:
            raise InvalidState(f"service {service} is not offered now", code="service_disabled")
        if source in (Source.KIOSK, Source.MOBILE):
            # Walk-ins only: a booking's check-in follows its slot, and staff may still
            # issue for someone let in at closing; nobody already waiting is turned away.
            self._require_open(now)
        if bundle is not None and self.bundle(bundle).service != svc.code:
            raise InvalidInput(
                f"bundle {bundle} queues for {self.bundle(bundle).service}, not {svc.code}",
                code="bundle_service",
            )
        if has_eform and not self.needs_form(svc.code, bundle):
            raise InvalidInput(
                f"{bundle or svc.code} needs no form: nothing may be attached",
                code="eform_not_needed",
            )
        if priority is PriorityClass.VIP and not 1 <= vip_tier <= 3:
            raise InvalidInput("a VIP ticket needs a tier from 1 to 3", code="invalid_vip_tier")
        if priority is not PriorityClass.VIP and vip_tier:
            raise InvalidInput("only VIP tickets have a tier", code="invalid_vip_tier")
        if priority is PriorityClass.APPOINTMENT and appointment_slot is None:
            raise InvalidInput("an appointment ticket needs its slot", code="missing_slot")
        if idempotency_key is not None and idempotency_key in self.idempotency:
            raise InvalidState("idempotency key already used", code="duplicate_key")
        day = self.business_day(now)
        key = (day, svc.prefix)
        seq = self.numbering.get(key, 0) + 1
        # A ticket still open from an earlier day keeps its number: never hand it out twice.
        while format_number(svc.prefix, seq) in self._held:
            seq += 1
        tid = self.next_ticket_id
        ticket = Ticket(
            id=tid,
            number=format_number(svc.prefix, seq),
            service=svc.code,
            business_day=day,
            arrived_at=now,
            issued_at=now,
            priority=priority,
            vip_tier=vip_tier,
            source=source,
            visit_id=tid,
            appointment_id=appointment_id,
            appointment_slot=appointment_slot,
            customer_ref=customer_ref,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            token=token,
            bundle=bundle,
            has_eform=has_eform,
            care_reason=care_reason if priority is PriorityClass.CARE else "",
        )
        draft = _Draft(self, now)
        draft.change.numbering[key] = seq
        draft.ticket(ticket, EventKind.TICKET_ISSUED)
        draft.change.result = ticket
        return draft.change

    def hours_on(self, now: datetime) -> tuple[bool, tuple[time, time] | None]:
        """The head office's hours for the local day of `now`: (listed, hours or closed)."""
        return self.settings.opening_hours.on(self._local(now).date())

    def _local(self, now: datetime) -> datetime:
        return now.astimezone(ZoneInfo(self.settings.timezone))

    def _require_open(self, now: datetime) -> None:
        local = self._local(now)
        if self.settings.opening_hours.open_at(local):
            return
        _, hours = self.settings.opening_hours.on(local.date())
        if hours is None:
            refused = InvalidState("the branch is closed today", code="branch_closed")
        elif local.time() < hours[0]:
            refused = InvalidState(f"the branch opens at {hours[0]:%H:%M}", code="branch_closed")
            refused.details["opens_at"] = local.replace(
                hour=hours[0].hour, minute=hours[0].minute, second=0, microsecond=0
            ).isoformat()
        else:
            refused = InvalidState(f"the branch closed at {hours[1]:%H:%M}", code="branch_closed")
        refused.details["hours"] = [] if hours is None else [f"{h:%H:%M}" for h in hours]
        raise refused

    def cancel_ticket(self, ticket_id: int, now: datetime) -> Change:
        ticket = self.ticket(ticket_id)
        self._require(ticket, TicketState.WAITING, "cancel")
        done = replace(ticket, state=TicketState.CANCELLED, finished_at=now)
        draft = _Draft(self, now)
        draft.ticket(done, EventKind.TICKET_CANCELLED)
        draft.change.result = done
        return draft.change

    def late_ticket(self, ticket_id: int, minutes: int, now: datetime) -> Change:
        """The customer is running late: call-next skips the ticket for `minutes`.

        The ticket keeps its place (arrival time and priority); once the time is up it is
        called as usual, so others are served meanwhile and the customer loses no turn.
        At most LATE_MAX_TIMES per ticket, each at most LATE_MAX_MINUTES from now.
        """
        ticket = self.ticket(ticket_id)
        if not 1 <= minutes <= LATE_MAX_MINUTES:
            raise InvalidInput(
                f"minutes must be 1 to {LATE_MAX_MINUTES}", code="invalid_late_minutes"
            )
        self._require(ticket, TicketState.WAITING, "hold")
        if ticket.late_count >= LATE_MAX_TIMES:
            raise InvalidState(
                f"ticket {ticket.number} was already held {LATE_MAX_TIMES} times",
                code="late_limit",
            )
        held = replace(
            ticket, held_until=now + timedelta(minutes=minutes), late_count=ticket.late_count + 1
        )
        draft = _Draft(self, now)
        draft.ticket(held, EventKind.TICKET_LATE, minutes=minutes, held_until=_iso(held.held_until))
        draft.change.result = held
        return draft.change

    def rate_ticket(
        self, ticket_id: int, rating: int, now: datetime, *, comment: str = ""
    ) -> Change:
        ticket = self.ticket(ticket_id)
        if rating not in RATINGS:
            raise InvalidInput("rating must be 1 (不满意) to 4 (非常满意)", code="invalid_rating")
        comment = _plain_text(comment)
        if len(comment) > RATING_COMMENT_MAX:
            raise InvalidInput(
                f"the comment is longer than {RATING_COMMENT_MAX} characters",
                code="comment_too_long",
            )
        self._require(ticket, TicketState.DONE, "rate")
        if ticket.rating is not None:
            raise InvalidState(f"ticket {ticket.number} is already rated", code="already_rated")
        rated = replace(ticket, rating=rating, rating_comment=comment)
        draft = _Draft(self, now)
        data: dict[str, Any] = {"rating": rating}
        if comment:
            data["comment"] = comment
        draft.ticket(rated, EventKind.TICKET_RATED, **data)
        draft.change.result = rated
        return draft.change

    # ------------------------------------------- the lobby's triage (issue 21, lobby-core)
    # The lobby manager acts on waiting customers only: once called, the teller has them.
    # Every command carries the lobby's `reason` in its event (blanked before shipping).
    def checklist(self, ticket: Ticket) -> dict[str, tuple[str, ...]]:
        """The documents the customer should have brought, by language: the bundle's
        guidance for a bundle visit, else the business's (the kiosk shows the same)."""
        guidance: Mapping[str, Guidance] = self.service(ticket.service).guidance
        if ticket.bundle is not None and ticket.bundle in self.bundles:
            guidance = self.bundles[ticket.bundle].guidance or guidance
        return {language: g.documents for language, g in guidance.items()}

    def change_business(
        self, ticket_id: int, service: str, now: datetime, *, reason: str = ""
    ) -> Change:
        """The customer is in the wrong queue: end this leg and queue them for `service`,
        keeping arrival time and priority, as a transfer does (the checklist starts over)."""
        ticket = self._lobby_waiting(ticket_id)
        reason = lobby_reason(reason, required=False)
        svc = self.service(service)
        if not svc.enabled:
            raise InvalidState(f"service {service} is not offered now", code="service_disabled")
        if svc.code == ticket.service:
            raise InvalidInput(f"{ticket.number} already waits for {service}", code="same_service")
        ended, leg = self._next_leg(
            ticket, now, service=svc.code, issued_at=now, documents_checked=()
        )
        draft = _Draft(self, now)
        draft.ticket(
            ended, EventKind.TICKET_BUSINESS_CHANGED, to_ticket=leg.id, to_service=svc.code,
            reason=reason,
        )  # fmt: skip
        draft.ticket(leg, EventKind.TICKET_REQUEUED, from_ticket=ticket.id)
        draft.change.result = leg
        return draft.change

    def grant_care(self, ticket_id: int, reason: str, now: datetime) -> Change:
        """Care priority (elderly, disabled, pregnant…) granted in the hall, with the reason.
        A VIP or appointment ticket is already ahead of care and keeps its class."""
        ticket = self._lobby_waiting(ticket_id)
        reason = lobby_reason(reason, required=True)
        if ticket.priority is not PriorityClass.REGULAR:
            raise InvalidState(
                f"{ticket.number} already has {ticket.priority} priority",
                code="priority_already_granted",
            )
        cared = replace(ticket, priority=PriorityClass.CARE, care_reason=reason)
        return self._lobby_ticket(cared, EventKind.TICKET_CARE_GRANTED, now, reason=reason)

    def check_documents(
        self, ticket_id: int, checked: Sequence[int], now: datetime, *, reason: str = ""
    ) -> Change:
        """The lobby saw these items of the checklist (indexes); the teller sees which."""
        ticket = self._lobby_waiting(ticket_id)
        reason = lobby_reason(reason, required=False)
        size = max((len(d) for d in self.checklist(ticket).values()), default=0)
        if any(not 0 <= i < size for i in checked):
            raise InvalidInput(
                f"the checklist of {ticket.number} has {size} items", code="invalid_checklist_item"
            )
        seen = tuple(sorted(set(checked)))
        updated = replace(ticket, documents_checked=seen)
        return self._lobby_ticket(
            updated, EventKind.TICKET_DOCUMENTS_CHECKED, now, checked=list(seen), reason=reason
        )

    def note_ticket(self, ticket_id: int, text: str, now: datetime) -> Change:
        """A note for the teller, shown with the ticket when it is called."""
        ticket = self._lobby_waiting(ticket_id)
        text = _plain_text(text)
        if len(text) > LOBBY_NOTE_MAX:
            raise InvalidInput(
                f"the note is longer than {LOBBY_NOTE_MAX} characters", code="note_too_long"
            )
        return self._lobby_ticket(replace(ticket, note=text), EventKind.TICKET_NOTED, now)

    def hold_ticket(self, ticket_id: int, reason: str, now: datetime) -> Change:
        """The customer went to fetch a missing document: call-next skips the ticket until
        it is released; it keeps its place (arrival time and priority) meanwhile."""
        ticket = self._lobby_waiting(ticket_id)
        reason = lobby_reason(reason, required=True)
        if ticket.on_hold:
            raise InvalidState(f"{ticket.number} is already on hold", code="already_on_hold")
        held = replace(ticket, on_hold=True, hold_reason=reason)
        return self._lobby_ticket(held, EventKind.TICKET_HELD, now, reason=reason)

    def release_ticket(self, ticket_id: int, now: datetime, *, reason: str = "") -> Change:
        """The customer is back: call-next may choose the ticket again, in its old place."""
        ticket = self._lobby_waiting(ticket_id)
        reason = lobby_reason(reason, required=False)
        if not ticket.on_hold:
            raise InvalidState(f"{ticket.number} is not on hold", code="not_on_hold")
        released = replace(ticket, on_hold=False, hold_reason="")
        return self._lobby_ticket(released, EventKind.TICKET_RELEASED, now, reason=reason)

    def cancel_with_reason(self, ticket_id: int, reason: str, now: datetime) -> Change:
        """The lobby cancels a waiting ticket (the customer left, or needs no counter)."""
        ticket = self._lobby_waiting(ticket_id)
        reason = lobby_reason(reason, required=True)
        done = replace(ticket, state=TicketState.CANCELLED, finished_at=now)
        return self._lobby_ticket(done, EventKind.TICKET_CANCELLED, now, reason=reason)

    def divert(self, service: str, channel: str, now: datetime, *, reason: str = "") -> Change:
        """A customer sent to self-service instead of queueing: counted by business and
        channel, with no ticket and nothing about the customer."""
        svc = self.service(service)
        if channel not in DIVERT_CHANNELS:
            raise InvalidInput(
                f"channel must be one of {', '.join(DIVERT_CHANNELS)}", code="invalid_channel"
            )
        reason = lobby_reason(reason, required=False)
        draft = _Draft(self, now)
        # `business`, not `service`: an event's `service` is a business's whole entity.
        draft.event(EventKind.LOBBY_DIVERTED, business=svc.code, channel=channel, reason=reason)
        return draft.change

    def _lobby_waiting(self, ticket_id: int) -> Ticket:
        ticket = self.ticket(ticket_id)
        if ticket.state is not TicketState.WAITING:
            raise InvalidState(
                f"{ticket.number} is {ticket.state}, no longer waiting", code="ticket_not_waiting"
            )
        return ticket

    def _next_leg(self, ticket: Ticket, now: datetime, **changes: Any) -> tuple[Ticket, Ticket]:
        """This leg ended as transferred, and the customer's next one (the same arrival and
        priority, a fresh id), with `changes` applied to it."""
        ended = replace(ticket, state=TicketState.TRANSFERRED, finished_at=now)
        leg = replace(
            ticket,
            id=self.next_ticket_id,
            leg=ticket.leg + 1,
            previous_id=ticket.id,
            idempotency_key=None,
            request_hash=None,
            **changes,
        )
        return ended, leg

    def _lobby_ticket(self, ticket: Ticket, kind: str, now: datetime, **data: Any) -> Change:
        draft = _Draft(self, now)
        draft.ticket(ticket, kind, **data)
        draft.change.result = ticket
        return draft.change

    # --------------------------------------------------------- counter actions
    def call_next(
        self,
        counter_no: int,
        now: datetime,
        *,
        call_key: str | None = None,
        policy: CallingPolicy | None = None,
    ) -> Change:
        """Call the policy's choice for this counter; an empty change when nobody is eligible.

        `policy`: this call's own, instead of the branch's (a choice made off the event loop,
        `policies.rollout.Advised`)."""
        if call_key is not None and (counter_no, call_key) in self.call_keys:
            raise InvalidState("this call was already made", code="duplicate_key")
        counter = self._ready_counter(counter_no)
        waiting = self.callable_waiting(now)
        policy = policy or self.policy
        if isinstance(policy, HallAwarePolicy):
            chosen = policy.choose_in_hall(self.hall(now), counter, waiting)
        else:
            chosen = policy.choose_next(counter, waiting, now, self.services)
        if chosen is None:
            return Change()
        return self._call(counter, chosen, now, call_key, EventKind.TICKET_CALLED)

    def hall(self, now: datetime) -> Hall:
        """The hall as a hall-aware policy sees it now (see `policies.hall`)."""
        return Hall(
            now, dict(self.counters), dict(self._active_by_counter), self.services, self.forecast
        )

    def call_ticket(self, counter_no: int, ticket_id: int, now: datetime) -> Change:
        """Call one named customer out of turn (a teller's override)."""
        counter = self._ready_counter(counter_no)
        ticket = self.ticket(ticket_id)
        self._require(ticket, TicketState.WAITING, "call")
        return self._call(counter, ticket, now, None, EventKind.TICKET_CALLED, out_of_turn=True)

    def _call(
        self,
        counter: Counter,
        ticket: Ticket,
        now: datetime,
        call_key: str | None,
        kind: str,
        **data: Any,
    ) -> Change:
        called = replace(
            ticket,
            state=TicketState.CALLED,
            called_at=now,
            counter=counter.number,
            staff_id=counter.staff_id,
            call_key=call_key,
        )
        draft = _Draft(self, now)
        draft.ticket(called, kind, counter=counter, **data)
        draft.change.result = called
        return draft.change

    def recall(self, counter_no: int, now: datetime, *, ticket_id: int | None = None) -> Change:
        counter = self.counter(counter_no)
        ticket = self._active(counter_no, ticket_id, TicketState.CALLED, "recall")
        if ticket.recall_count >= self.settings.max_recalls:
            raise InvalidState(
                f"{ticket.number} was recalled {ticket.recall_count} times: mark a no-show",
                code="recall_limit",
            )
        again = replace(ticket, recall_count=ticket.recall_count + 1, called_at=now)
        draft = _Draft(self, now)
        draft.ticket(again, EventKind.TICKET_RECALLED, counter=counter, recall=again.recall_count)
        draft.change.result = again
        return draft.change

    def start_serving(
        self, counter_no: int, now: datetime, *, ticket_id: int | None = None
    ) -> Change:
        return self._advance(
            counter_no, now, ticket_id, TicketState.CALLED, "start serving",
            EventKind.TICKET_SERVING,
            state=TicketState.SERVING, serving_at=now,
        )  # fmt: skip

    def finish(self, counter_no: int, now: datetime, *, ticket_id: int | None = None) -> Change:
        return self._advance(
            counter_no, now, ticket_id, TicketState.SERVING, "finish", EventKind.TICKET_DONE,
            state=TicketState.DONE, finished_at=now,
        )  # fmt: skip

    def no_show(self, counter_no: int, now: datetime, *, ticket_id: int | None = None) -> Change:
        return self._advance(
            counter_no, now, ticket_id, TicketState.CALLED, "mark a no-show",
            EventKind.TICKET_NO_SHOW,
            state=TicketState.NO_SHOW, finished_at=now,
        )  # fmt: skip

    def _advance(
        self,
        counter_no: int,
        now: datetime,
        ticket_id: int | None,
        required: TicketState,
        action: str,
        kind: str,
        **fields: Any,
    ) -> Change:
        """Move the counter's current customer on from `required`, recording `kind`."""
        counter = self.counter(counter_no)
        ticket = self._active(counter_no, ticket_id, required, action)
        updated = replace(ticket, **fields)
        draft = _Draft(self, now)
        draft.ticket(updated, kind, counter=counter)
        draft.change.result = updated
        return draft.change

    def transfer(
        self,
        counter_no: int,
        now: datetime,
        *,
        to_service: str | None = None,
        to_counter: int | None = None,
        note: str = "",
        ticket_id: int | None = None,
    ) -> Change:
        """End this leg and queue the customer again, keeping arrival time and priority."""
        counter = self.counter(counter_no)
        ticket = self._active(counter_no, ticket_id, None, "transfer")
        if to_service is None and to_counter is None:
            raise InvalidInput("transfer needs a service or a counter", code="transfer_target")
        service = (
            self.service(to_service) if to_service is not None else self.service(ticket.service)
        )
        if to_counter is not None:
            self.counter(to_counter)
            if to_counter == counter_no:
                raise InvalidInput("cannot transfer to the same counter", code="transfer_target")
        if len(note) > 500:
            raise InvalidInput("transfer note is longer than 500 characters", code="note_too_long")
        ended, leg = self._next_leg(
            ticket,
            now,
            service=service.code,
            state=TicketState.WAITING,
            issued_at=now,
            called_at=None,
            serving_at=None,
            finished_at=None,
            counter=None,
            target_counter=to_counter,
            recall_count=0,
            note=note,
            call_key=None,
            staff_id=None,
            rating=None,
            rating_comment="",
            held_until=None,
        )
        draft = _Draft(self, now)
        draft.ticket(ended, EventKind.TICKET_TRANSFERRED, counter=counter, to_ticket=leg.id)
        draft.ticket(leg, EventKind.TICKET_REQUEUED, from_ticket=ticket.id)
        draft.change.result = leg
        return draft.change

    # ------------------------------------------------------- counter management
    def sign_in(
        self, counter_no: int, staff_id: str, now: datetime, staff_name: str = ""
    ) -> Change:
        counter = self.counter(counter_no)
        if not staff_id or len(staff_id) > 64:
            raise InvalidInput("staff id must be 1 to 64 characters", code="invalid_staff_id")
        for other in self.counters.values():
            if other.staff_id == staff_id and other.number != counter_no:
                raise InvalidState(
                    f"staff {staff_id} is signed in at counter {other.number}",
                    code="staff_elsewhere",
                )
        updated = replace(
            counter,
            staff_id=staff_id,
            staff_name=staff_name[:100],
            state=CounterState.OPEN,
            pause_reason="",
        )
        return self._counter_change(updated, EventKind.COUNTER_SIGNED_IN, now, staff_id=staff_id)

    def sign_out(self, counter_no: int, now: datetime) -> Change:
        counter = self.counter(counter_no)
        self._require_idle(counter_no, "sign out")
        updated = replace(
            counter, staff_id=None, staff_name="", state=CounterState.CLOSED, pause_reason=""
        )
        return self._counter_change(updated, EventKind.COUNTER_SIGNED_OUT, now)

    def open_counter(self, counter_no: int, now: datetime) -> Change:
        counter = self.counter(counter_no)
        if counter.state is CounterState.OPEN:
            return Change(result=counter)  # already open: nothing to record
        updated = replace(counter, state=CounterState.OPEN, pause_reason="")
        return self._counter_change(updated, EventKind.COUNTER_OPENED, now)

    def pause_counter(self, counter_no: int, now: datetime, reason: str = "") -> Change:
        counter = self.counter(counter_no)
        if counter.state is CounterState.CLOSED:
            raise InvalidState(f"counter {counter_no} is closed", code="counter_closed")
        if len(reason) > 200:
            raise InvalidInput("pause reason is longer than 200 characters", code="reason_too_long")
        updated = replace(counter, state=CounterState.PAUSED, pause_reason=reason)
        return self._counter_change(updated, EventKind.COUNTER_PAUSED, now, reason=reason)

    def close_counter(self, counter_no: int, now: datetime) -> Change:
        counter = self.counter(counter_no)
        self._require_idle(counter_no, "close")
        if counter.state is CounterState.CLOSED and counter.staff_id is None:
            return Change(result=counter)
        # A closed window has nobody signed in: the teller may sign in elsewhere.
        updated = replace(
            counter, state=CounterState.CLOSED, staff_id=None, staff_name="", pause_reason=""
        )
        return self._counter_change(updated, EventKind.COUNTER_CLOSED, now)

    def set_skills(self, counter_no: int, skills: Sequence[Skill], now: datetime) -> Change:
        """Change which businesses a counter serves; applies from its next call."""
        counter = self.counter(counter_no)
        if not skills:
            # Calling would skip the window for ever while it shows as open: the manager
            # closes a window that is to serve nothing.
            raise InvalidInput(
                f"counter {counter_no} must serve at least one business; close it instead",
                code="no_skills",
            )
        seen: set[str] = set()
        for skill in skills:
            self.service(skill.service)
            if skill.service in seen:
                raise InvalidInput(f"service {skill.service} listed twice", code="duplicate_skill")
            if not 0 < skill.weight <= 10:
                raise InvalidInput("skill weight must be in (0, 10]", code="invalid_weight")
            seen.add(skill.service)
        updated = replace(counter, skills=tuple(skills))
        return self._counter_change(updated, EventKind.COUNTER_SKILLS, now)

    def update_service(self, code: str, now: datetime, **fields: Any) -> Change:
        service = self.service(code)
        allowed = {
            "names", "target_wait_s", "mean_service_s", "guidance", "fast_lane",
            "visible", "enabled", "opens", "closes", "sort", "needs_form",
        }  # fmt: skip
        unknown = set(fields) - allowed
        if unknown:
            raise InvalidInput(f"cannot change {sorted(unknown)}", code="invalid_field")
        for name in ("target_wait_s", "mean_service_s"):
            if name in fields and not 0 < fields[name] <= 86_400:
                raise InvalidInput(f"{name} must be 1 to 86400 seconds", code="invalid_field")
        languages = self.settings.languages
        for name in ("names", "guidance"):
            # The key is not quoted back: it is whatever the client sent.
            if name in fields and not set(fields[name]) <= set(languages):
                raise InvalidInput(
                    f"{name}: each language must be one of the branch's: {', '.join(languages)}",
                    code="unknown_language",
                )
        updated = replace(service, **fields)
        draft = _Draft(self, now)
        draft.change.services.append(updated)
        draft.event(EventKind.SERVICE_UPDATED, service=updated)
        draft.change.result = updated
        return draft.change

    # ------------------------------------------------------------ configuration
    def in_use(self, code: str) -> bool:
        """Someone waits for, is at a counter for, or has a booking for a business."""
        if any(t.service == code for t in self._waiting.values()):
            return True
        if any(t.service == code for t in self._active_by_counter.values()):
            return True
        return any(
            a.service == code and a.state is AppointmentState.BOOKED
            for a in self.appointments.values()
        )

    def apply_configuration(
        self,
        now: datetime,
        services: Sequence[Service],
        bundles: Sequence[Bundle],
        rules: AppointmentRules,
        *,
        version: int,
        template: Mapping[str, Any],
        notice: str | None = None,
        bundles_wire: Sequence[Mapping[str, Any]] = (),
        opening_hours: OpeningHours | None = None,
        alerts: Mapping[str, Any] | None = None,
        kiosk: KioskLook | None = None,
    ) -> Change:
        """A configuration version from the head office, as one change at this safe point.

        Businesses it lists are added or updated; one it drops is removed when nobody needs
        it, otherwise closed to new tickets and hidden from the kiosk while its customers are
        still called (it drains; see `retire_businesses`). Counters keep their skills (the
        branch's own), less the businesses removed. `notice`: the hall notice to show, when
        the centre sets it and the branch has not edited it; `bundles_wire`: the bundles as
        clients read them, sent with the event when they change; `opening_hours` (None:
        unchanged) and `alerts` (the thresholds in force, checked by the caller) go with the
        event, so kiosks, displays and the alert desk take them live; `kiosk`: the kiosk texts,
        voice pack and location the centre sets (None: none of them). Tickets, calls,
        counters and sign-ins are left as they are.
        """
        listed = {s.code for s in services}
        draft = _Draft(self, now)
        changed: dict[str, Any] = {"added": [], "updated": [], "draining": [], "removed": []}
        for service in services:
            old = self.services.get(service.code)
            if old == service:
                continue
            changed["added" if old is None else "updated"].append(service.code)
            draft.change.services.append(service)
            draft.event(EventKind.SERVICE_UPDATED, service=service)
        for code, old in sorted(self.services.items()):
            if code in listed:
                continue
            if not self.in_use(code):
                changed["removed"].append(code)
            elif old.enabled or old.visible:
                closed = replace(old, enabled=False, visible=False)
                changed["draining"].append(code)
                draft.change.services.append(closed)
                draft.event(EventKind.SERVICE_UPDATED, service=closed)
        draining = {s.prefix: s.code for s in self.services.values() if s.code not in listed}
        for service in services:
            if draining.get(service.prefix, service.code) != service.code:
                raise InvalidInput(
                    f"prefix {service.prefix} of {service.code} is still in use by a business "
                    f"that is draining ({draining[service.prefix]})",
                    code="prefix_in_use",
                )
        self._drop_skills(draft, set(changed["removed"]))
        draft.change.removed_services = list(changed["removed"])
        bundles_changed = list(bundles) != sorted(self.bundles.values(), key=lambda b: b.sort)
        if bundles_changed:
            draft.change.bundles = list(bundles)
        if rules != self.appointment_rules:
            draft.change.appointment_rules = rules
        changed["bundles"] = bundles_changed
        changed["appointments"] = rules != self.appointment_rules
        hours = self._apply_notice_and_hours(draft, notice, opening_hours, changed)
        data: dict[str, Any] = {"version": version, "template": dict(template),
                                "changed": changed, "removed": changed["removed"]}  # fmt: skip
        data["opening_hours"] = hours.to_wire()
        if alerts is not None:
            data["alerts"] = dict(alerts)
        if bundles_changed:
            data["bundles"] = [dict(b) for b in bundles_wire]
        if kiosk is not None:
            self._apply_kiosk_look(draft, kiosk, changed, data)
        draft.event(EventKind.CONFIG_APPLIED, **data)
        return draft.change

    def _apply_notice_and_hours(
        self,
        draft: _Draft,
        notice: str | None,
        opening_hours: OpeningHours | None,
        changed: dict[str, Any],
    ) -> OpeningHours:
        """The centre's hall notice and opening hours into the draft's settings; the hours
        in force after it."""
        notice = None if notice is None else " ".join(notice.split())
        changed["notice"] = notice is not None and notice != self.settings.notice
        if notice is not None and changed["notice"]:
            draft.change.settings = replace(self.settings, notice=notice)
            draft.event(EventKind.BRANCH_NOTICE, text=notice)
        hours = self.settings.opening_hours if opening_hours is None else opening_hours
        changed["opening_hours"] = hours != self.settings.opening_hours
        if changed["opening_hours"]:
            draft.change.settings = replace(
                draft.change.settings or self.settings, opening_hours=hours
            )
        return hours

    def _apply_kiosk_look(
        self, draft: _Draft, look: KioskLook, changed: dict[str, Any], data: dict[str, Any]
    ) -> None:
        """What the kiosks show and the hall hears, in force from this event on; each one
        that changes goes with the event, for the clients to follow without a restart."""
        settings = draft.change.settings or self.settings
        new = replace(
            settings, kiosk_texts=look.texts, voice_pack=look.voice_pack, location=look.location
        )
        changed["kiosk_texts"] = new.kiosk_texts != settings.kiosk_texts
        changed["voice_pack"] = new.voice_pack != settings.voice_pack
        changed["location"] = new.location != settings.location
        if changed["kiosk_texts"]:
            data["kiosk_texts"] = {lang: dict(t) for lang, t in new.kiosk_texts.items()}
        if changed["voice_pack"]:
            data["voice_pack"] = new.voice_pack
        if changed["location"] and new.location is not None:
            data["location"] = {"lat": new.location[0], "lon": new.location[1]}
        if new != settings:
            draft.change.settings = new

    def retire_businesses(self, now: datetime, codes: Iterable[str]) -> Change:
        """Remove drained businesses (dropped by a configuration) nobody needs any more."""
        gone = sorted(c for c in codes if c in self.services and not self.in_use(c))
        if not gone:
            return Change()
        draft = _Draft(self, now)
        self._drop_skills(draft, set(gone))
        draft.change.removed_services = gone
        draft.event(EventKind.CONFIG_BUSINESS_RETIRED, services=gone)
        return draft.change

    def _drop_skills(self, draft: _Draft, gone: set[str]) -> None:
        for counter in self.counters.values():
            kept = tuple(sk for sk in counter.skills if sk.service not in gone)
            if gone and kept != counter.skills and kept:
                draft.counter(replace(counter, skills=kept), EventKind.COUNTER_SKILLS)

    # ------------------------------------------------------------------- notice
    def set_notice(self, text: str, now: datetime) -> Change:
        """The line the hall display scrolls ("" clears it); the same text changes nothing."""
        text = " ".join(text.split())  # one line: a TV ticker has no room for newlines
        if len(text) > NOTICE_MAX:
            raise InvalidInput(f"notice over {NOTICE_MAX} characters", code="bad_notice")
        if text == self.settings.notice:
            return Change()
        draft = _Draft(self, now)
        draft.change.settings = replace(self.settings, notice=text)
        draft.event(EventKind.BRANCH_NOTICE, text=text)
        return draft.change

    def set_centre_notice(self, text: str, until: datetime | None, now: datetime) -> Change:
        """The head office's hall notice, shown until `until` ("" clears it); the manager's
        own notice is left as it is. The same text and end change nothing."""
        text = " ".join(text.split())
        if len(text) > NOTICE_MAX:
            raise InvalidInput(f"notice over {NOTICE_MAX} characters", code="bad_notice")
        if text and until is None:
            raise InvalidInput("a head office notice needs an end", code="bad_notice")
        if until is not None and until.tzinfo is None:
            raise InvalidInput("the notice's end needs a time zone", code="bad_notice")
        until = None if not text or until is None else until.astimezone(UTC)
        s = self.settings
        if (text, until) == (s.centre_notice, s.centre_notice_until):
            return Change()
        draft = _Draft(self, now)
        draft.change.settings = replace(s, centre_notice=text, centre_notice_until=until)
        draft.event(EventKind.BRANCH_CENTRE_NOTICE, text=text,
                    until=None if until is None else until.isoformat())  # fmt: skip
        return draft.change

    def record(self, now: datetime, entries: Iterable[tuple[str, Mapping[str, Any]]]) -> Change:
        """Events that change no queue entity — alerts, follow-ups, provisioning for the audit.

        Kinds must be namespaced (`alert.raised`); the data must be plain JSON values.
        """
        draft = _Draft(self, now)
        for kind, data in entries:
            if "." not in kind or kind.startswith(("ticket.", "counter.", "service.")):
                raise InvalidInput(f"not a record kind: {kind!r}", code="bad_record")
            draft.event(kind, **dict(data))
        return draft.change

    # ------------------------------------------------------------------ devices
    def report_device(
        self,
        device: str,
        kind: str,
        health: DeviceHealth,
        detail: str,
        now: datetime,
        *,
        counter: int | None = None,
    ) -> Change:
        """Record a device's health; only a change of health or detail makes an event."""
        if not device or len(device) > 64 or not kind or len(kind) > 32:
            raise InvalidInput("device id (≤ 64) and kind (≤ 32) are required", code="bad_device")
        if len(detail) > 300:
            raise InvalidInput("device detail is longer than 300 characters", code="bad_device")
        if counter is not None:
            self.counter(counter)
        status = DeviceStatus(device, kind, health, detail, now, counter)
        before = self.devices.get(device)
        if before is not None and (before.health, before.detail, before.kind, before.counter) == (
            health,
            detail,
            kind,
            counter,
        ):
            return Change(result=None)
        draft = _Draft(self, now)
        draft.change.devices.append(status)
        draft.event(
            EventKind.DEVICE_STATUS, device=status, previous=before.health if before else None
        )
        return draft.change

    # ------------------------------------------------------------ appointments
    def appointment(self, appointment_id: int) -> Appointment:
        try:
            return self.appointments[appointment_id]
        except KeyError:
            raise AppointmentUnknown(
                "appointment_unknown", f"no booking {appointment_id}"
            ) from None

    def appointment_by_number(self, booking_number: str) -> Appointment:
        found = self._booking_numbers.get(normalise_booking_number(booking_number))
        if found is None:
            raise AppointmentUnknown("appointment_unknown", "no booking with this number")
        return self.appointments[found]

    def slot_capacity(self, service: str) -> int:
        """Bookings one slot of a business takes: configured, or its regular counters."""
        configured = self.appointment_rules.capacity.get(service)
        if configured is not None:
            return configured
        counters = sum(
            1
            for c in self.counters.values()
            if (s := c.skill_for(service)) is not None and not s.overflow
        )
        return max(1, counters)

    def slot_bookings(self, service: str, slot_start: datetime) -> list[Appointment]:
        """The bookings that hold a place in this slot (booked or checked in)."""
        return [
            a
            for a in self.appointments.values()
            if a.service == service and a.slot_start == slot_start and slot_is_taken(a.state)
        ]

    def offered_hours(self, service: str, day: date) -> tuple[time | None, time | None] | None:
        """The hours the free-slot lists offer a business in on a local day: its own (or else
        the appointment rules'), within the head office's hours that day; None: none."""
        svc = self.service(service)
        own = (svc.opens, svc.closes)
        if own == (None, None):
            own = (self.appointment_rules.opens, self.appointment_rules.closes)
        return self.settings.opening_hours.narrow(day, own)

    def booking_hours(self, service: str, day: date) -> tuple[time | None, time | None] | None:
        """The hours a booking may take on a local day: the business's own within the head
        office's hours that day (None: none). The bank's channel and staff may book outside
        the rules' offered hours, as before, but never when the branch is closed."""
        svc = self.service(service)
        return self.settings.opening_hours.narrow(day, (svc.opens, svc.closes))

    def slot_in_hours(self, service: str, slot_start: datetime) -> bool:
        """Whether a slot (aware) lies wholly in the hours its business may be booked in."""
        local = slot_start.astimezone(ZoneInfo(self.settings.timezone))
        hours = self.booking_hours(service, local.date())
        return hours is not None and within_hours(local, self.appointment_rules, *hours)

    def bookings_outside_hours(self) -> list[Appointment]:
        """Bookings still to come whose slot the hours no longer cover (the head office
        closed the day or shortened it after they were made). They are kept: the customer
        was promised the slot, and only staff can move it with them."""
        return sorted(
            (
                a
                for a in self.appointments.values()
                if a.state is AppointmentState.BOOKED
                and a.service in self.services
                and not self.slot_in_hours(a.service, a.slot_start)
            ),
            key=lambda a: (a.slot_start, a.id),
        )

    def slots_of_day(self, service: str, day: date, now: datetime) -> list[SlotOffer]:
        """Every slot of a business on a local calendar day, with its bookings and room.

        Days from a year back to the end of the booking horizon: nothing else has slots.
        """
        today = self.business_day(now)
        last = today + timedelta(days=self.appointment_rules.book_ahead_days + 1)
        if not today - timedelta(days=366) <= day <= last:
            raise InvalidInput(
                f"slots are listed from a year back to {last}", code="day_out_of_range"
            )
        hours = self.offered_hours(service, day)
        if hours is None:
            return []  # the branch is closed that day: no slot to offer
        booked: dict[datetime, int] = {}
        for a in self.appointments.values():
            if a.service == service and slot_is_taken(a.state):
                booked[a.slot_start] = booked.get(a.slot_start, 0) + 1
        return day_slots(
            day,
            now,
            self.appointment_rules,
            self.settings.timezone,
            hours=hours,
            capacity=self.slot_capacity(service),
            booked=booked,
        )

    def book_appointment(
        self,
        service: str,
        slot_start: datetime,
        now: datetime,
        *,
        booking_number: str,
        nonce: str,
        customer_ref: str | None = None,
        staff_id: str | None = None,
    ) -> Change:
        """Book a slot; the engine supplies the random booking number and token nonce.

        `staff_id`: the relationship manager the customer is to see (their day lists it)."""
        _check_staff_id(staff_id)
        slot = self._bookable_slot(service, slot_start, now)
        if booking_number in self._booking_numbers:
            raise InvalidState("booking number already in use", code="booking_number_taken")
        appointment = Appointment(
            id=self.next_appointment_id,
            booking_number=booking_number,
            service=service,
            slot_start=slot,
            slot_end=slot + self.appointment_rules.slot,
            created_at=now,
            nonce=nonce,
            customer_ref=customer_ref,
            staff_id=staff_id,
        )
        return self._appointment_change(appointment, EventKind.APPOINTMENT_BOOKED, now)

    def reschedule_appointment(
        self, appointment_id: int, slot_start: datetime, now: datetime, *, nonce: str
    ) -> Change:
        """Move a booking to another slot; the new nonce makes its old QR code invalid."""
        appointment = self._booked(appointment_id)
        slot = self._bookable_slot(appointment.service, slot_start, now, moving=appointment)
        moved = replace(
            appointment,
            slot_start=slot,
            slot_end=slot + self.appointment_rules.slot,
            nonce=nonce,
            changed_at=now,
        )
        return self._appointment_change(
            moved,
            EventKind.APPOINTMENT_CHANGED,
            now,
            previous_slot=appointment.slot_start.isoformat(),
        )

    def cancel_appointment(self, appointment_id: int, now: datetime) -> Change:
        appointment = self._booked(appointment_id)
        cancelled = replace(appointment, state=AppointmentState.CANCELLED, changed_at=now)
        return self._appointment_change(cancelled, EventKind.APPOINTMENT_CANCELLED, now)

    def check_in_appointment(
        self,
        appointment_id: int,
        now: datetime,
        *,
        claims: TokenClaims | None = None,
        token: str = "",
        idempotency_key: str | None = None,
    ) -> Change:
        """Check a booking in and issue its ticket, in one change; `result` is the ticket.

        `claims` come from a verified QR code; None when staff typed the booking number.
        """
        window = CheckInWindow(
            grace=timedelta(seconds=self.settings.appointment_grace_s),
            early=self.appointment_rules.early_window,
            timezone=self.settings.timezone,
            day_starts_at=self.settings.day_starts_at,
        )
        if (
            appointment_id not in self.appointments
            and claims is not None
            and window.day(claims.slot_start) < window.day(now)
        ):
            # Too old to be kept in memory: the signed slot alone says it has expired.
            raise AppointmentRefused(
                "appointment_expired",
                "this appointment's day has passed",
                slot_start=claims.slot_start,
                timezone=self.settings.timezone,
            )
        appointment = self.appointment(appointment_id)
        outcome = check_in_outcome(
            appointment,
            now,
            window,
            nonce=claims.nonce if claims is not None else None,
            ticket_number=appointment.ticket_number,
        )
        late = outcome is CheckInOutcome.LATE
        change = self.issue_ticket(
            appointment.service,
            now,
            priority=PriorityClass.REGULAR if late else PriorityClass.APPOINTMENT,
            source=Source.APPOINTMENT,
            appointment_id=str(appointment.id),
            appointment_slot=appointment.slot_start,
            customer_ref=appointment.customer_ref,
            idempotency_key=idempotency_key,
            token=token,
        )
        ticket = change.result
        assert isinstance(ticket, Ticket)
        checked_in = replace(
            appointment,
            state=AppointmentState.CHECKED_IN,
            ticket_id=ticket.id,
            ticket_number=ticket.number,
            checked_in_at=now,
            outcome=outcome,
        )
        draft = _Draft(self, now, after=change)
        draft.appointment(
            checked_in,
            EventKind.APPOINTMENT_CHECKED_IN,
            via="qr" if claims is not None else "booking_number",
            released_before=appointment.state is AppointmentState.RELEASED,
        )
        return draft.change  # its result stays the ticket

    def release_no_shows(self, now: datetime) -> Change:
        """Release every booking whose grace has run out without a check-in (no-shows)."""
        grace = timedelta(seconds=self.settings.appointment_grace_s)
        due = [a for a in self.appointments.values() if release_due(a, now, grace)]
        draft = _Draft(self, now)
        for appointment in sorted(due, key=lambda a: (a.slot_start, a.id)):
            released = replace(appointment, state=AppointmentState.RELEASED, changed_at=now)
            draft.appointment(released, EventKind.APPOINTMENT_RELEASED)
        return draft.change

    def forget_old_appointments(self, before: datetime) -> None:
        """Drop settled bookings whose slot is long past from memory (the database keeps them)."""
        for a in [
            a
            for a in self.appointments.values()
            if a.slot_start < before and a.state is not AppointmentState.BOOKED
        ]:
            del self.appointments[a.id]
            self._booking_numbers.pop(a.booking_number, None)

    def _remember_appointment(self, appointment: Appointment) -> None:
        self.appointments[appointment.id] = appointment
        self._booking_numbers[appointment.booking_number] = appointment.id
        self.next_appointment_id = max(self.next_appointment_id, appointment.id + 1)

    def _booked(self, appointment_id: int) -> Appointment:
        """A booking that may still be changed or cancelled."""
        appointment = self.appointment(appointment_id)
        refusals = {
            AppointmentState.CANCELLED: ("appointment_cancelled", "was cancelled"),
            AppointmentState.CHECKED_IN: ("appointment_used", "is already checked in"),
            AppointmentState.RELEASED: ("appointment_expired", "was released as a no-show"),
            AppointmentState.VISITED: ("appointment_is_visit", "is a visit already made"),
        }
        if appointment.state in refusals:
            code, why = refusals[appointment.state]
            raise AppointmentRefused(
                code,
                f"this appointment {why}",
                slot_start=appointment.slot_start,
                timezone=self.settings.timezone,
                ticket_number=appointment.ticket_number,
            )
        return appointment

    def _bookable_slot(
        self,
        service: str,
        slot_start: datetime,
        now: datetime,
        moving: Appointment | None = None,
    ) -> datetime:
        """The slot in UTC, refused when misaligned, past, out of hours or full."""
        tz = self.settings.timezone
        slot = aware_slot(slot_start, tz)
        hours = self.booking_hours(service, slot.astimezone(ZoneInfo(tz)).date())
        if hours is None:
            raise AppointmentRefused(
                "day_closed",
                "the branch is closed that day",
                slot_start=slot,
                timezone=tz,
            )
        check_slot(slot, now, self.appointment_rules, tz, *hours)
        skip = moving.id if moving is not None else None
        taken = [a for a in self.slot_bookings(service, slot) if a.id != skip]
        capacity = self.slot_capacity(service)
        if len(taken) >= capacity:
            raise AppointmentRefused(
                "slot_full",
                f"all {capacity} bookings of this slot are taken",
                slot_start=slot,
                timezone=self.settings.timezone,
            )
        return slot

    # ------------------------------------- the relationship manager's visits (issue 21)
    def record_visit(
        self,
        service: str,
        at: datetime,
        now: datetime,
        *,
        staff_id: str,
        documents_collected: Sequence[str],
        booking_number: str,
        nonce: str,
        follow_up_slot: datetime | None = None,
        follow_up_number: str = "",
        follow_up_nonce: str = "",
    ) -> Change:
        """Record a visit made outside the branch, with a follow-up booking when one is given.

        The visit is an appointment of its own kind, already `visited`: it takes no slot,
        is never checked in or released, and holds only labels of what was collected. The
        follow-up is an ordinary booking at the branch, assigned to the same staff member.
        """
        _check_staff_id(staff_id)
        if staff_id is None:
            raise InvalidInput("a visit is made by a staff member", code="invalid_staff_id")
        svc = self.service(service)
        documents = visit_documents(documents_collected)
        when = aware_slot(at, self.settings.timezone)
        if when > now + timedelta(minutes=5) or when < now - timedelta(days=7):
            raise InvalidInput(
                "a visit is recorded once made: within the last 7 days", code="invalid_visit_time"
            )
        change = Change()
        follow_up_id = None
        if follow_up_slot is not None:
            change = self.book_appointment(
                svc.code,
                follow_up_slot,
                now,
                booking_number=follow_up_number,
                nonce=follow_up_nonce,
                staff_id=staff_id,
            )
            assert isinstance(change.result, Appointment)
            follow_up_id = change.result.id
        if booking_number in self._booking_numbers or booking_number == follow_up_number:
            raise InvalidState("booking number already in use", code="booking_number_taken")
        visit = Appointment(
            id=self.next_appointment_id + (1 if follow_up_id is not None else 0),
            booking_number=booking_number,
            service=svc.code,
            slot_start=when,
            slot_end=when,
            created_at=now,
            nonce=nonce,
            state=AppointmentState.VISITED,
            staff_id=staff_id,
            kind=AppointmentKind.VISIT,
            documents_collected=documents,
            follow_up_id=follow_up_id,
        )
        draft = _Draft(self, now, after=change)
        draft.appointment(
            visit,
            EventKind.APPOINTMENT_VISIT_RECORDED,
            documents=len(documents),
            follow_up=follow_up_id,
        )
        draft.change.result = visit
        return draft.change

    # ------------------------------------------- pre-review and to-desk (issue 21)
    def prereview_ticket(
        self,
        ticket_id: int,
        now: datetime,
        *,
        staff_id: str,
        with_form: bool,
        materials_reviewed: bool,
    ) -> Change:
        """The lobby reviewed a waiting customer's form and/or materials before the counter.

        The form itself is held by the server's memory (`visits.EformStore`), never here:
        the ticket says only that one is held and that it was pre-reviewed.
        """
        _check_staff_id(staff_id)
        ticket = self._lobby_waiting(ticket_id)
        if not with_form and not materials_reviewed:
            raise InvalidInput(
                "attach the form or mark the materials reviewed", code="nothing_reviewed"
            )
        if with_form and not self.needs_form(ticket.service, ticket.bundle):
            raise InvalidInput(
                f"{ticket.bundle or ticket.service} needs no form: nothing may be attached",
                code="eform_not_needed",
            )
        reviewed = replace(ticket, has_eform=ticket.has_eform or with_form, prereviewed=True)
        return self._lobby_ticket(
            reviewed,
            EventKind.TICKET_PREREVIEWED,
            now,
            staff_id=staff_id,
            materials_reviewed=materials_reviewed,
            form=with_form,
        )

    def send_to_counter(
        self, ticket_id: int, counter_no: int, now: datetime, *, staff_id: str, reason: str = ""
    ) -> Change:
        """Send a waiting customer to one counter (a relationship manager's desk), keeping
        their place: a new leg as a transfer makes, so every screen follows it as one."""
        _check_staff_id(staff_id)
        ticket = self._lobby_waiting(ticket_id)
        reason = lobby_reason(reason, required=False)
        self.counter(counter_no)
        if ticket.target_counter == counter_no:
            raise InvalidState(
                f"{ticket.number} is already sent to counter {counter_no}", code="already_there"
            )
        # Still the same wait (never called): the report charges it whole to this leg.
        ended, leg = self._next_leg(ticket, now, target_counter=counter_no)
        draft = _Draft(self, now)
        data: dict[str, Any] = {"staff_id": staff_id, "to_counter": counter_no}
        if reason:
            data["reason"] = reason
        draft.ticket(ended, EventKind.TICKET_TRANSFERRED, to_ticket=leg.id, **data)
        draft.ticket(leg, EventKind.TICKET_REQUEUED, from_ticket=ticket.id, **data)
        draft.change.result = leg
        return draft.change

    def _appointment_change(
        self, appointment: Appointment, kind: str, now: datetime, **data: Any
    ) -> Change:
        draft = _Draft(self, now)
        draft.appointment(appointment, kind, **data)
        draft.change.result = appointment
        return draft.change

    # ---------------------------------------------------------------- helpers
    def _counter_change(self, counter: Counter, kind: str, now: datetime, **data: Any) -> Change:
        draft = _Draft(self, now)
        draft.counter(counter, kind, **data)
        draft.change.result = counter
        return draft.change

    def _ready_counter(self, counter_no: int) -> Counter:
        counter = self.counter(counter_no)
        if counter.state is not CounterState.OPEN:
            raise InvalidState(f"counter {counter_no} is {counter.state}", code="counter_not_open")
        busy = self._active_by_counter.get(counter_no)
        if busy is not None:
            raise InvalidState(
                f"counter {counter_no} still has {busy.number} ({busy.state})", code="counter_busy"
            )
        return counter

    def _require_idle(self, counter_no: int, action: str) -> None:
        busy = self._active_by_counter.get(counter_no)
        if busy is not None:
            raise InvalidState(
                f"cannot {action} counter {counter_no} while {busy.number} is {busy.state}",
                code="counter_busy",
            )

    def _active(
        self, counter_no: int, ticket_id: int | None, state: TicketState | None, action: str
    ) -> Ticket:
        self.counter(counter_no)
        ticket = self._active_by_counter.get(counter_no)
        if ticket is None:
            raise InvalidState(
                f"counter {counter_no} has no customer to {action}", code="no_customer"
            )
        if ticket_id is not None and ticket.id != ticket_id:
            raise InvalidState(
                f"counter {counter_no} is now with {ticket.number}, not ticket {ticket_id}",
                code="stale_ticket",
            )
        if state is not None:
            self._require(ticket, state, action)
        return ticket

    @staticmethod
    def _require(ticket: Ticket, state: TicketState, action: str) -> None:
        if ticket.state is not state:
            raise InvalidState(
                f"cannot {action} {ticket.number}: it is {ticket.state}", code="invalid_state"
            )


def _check_staff_id(staff_id: str | None) -> None:
    if staff_id is not None and not 1 <= len(staff_id) <= 64:
        raise InvalidInput("staff id must be 1 to 64 characters", code="invalid_staff_id")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def lobby_reason(text: str, *, required: bool) -> str:
    """The lobby's reason for a triage step as plain text; refused when missing (where the
    step needs one) or too long."""
    reason = _plain_text(text)
    if required and not reason:
        raise InvalidInput("give a reason for this", code="reason_required")
    if len(reason) > LOBBY_REASON_MAX:
        raise InvalidInput(
            f"the reason is longer than {LOBBY_REASON_MAX} characters", code="reason_too_long"
        )
    return reason


def _plain_text(text: str) -> str:
    """A customer's free text as plain text: control characters become spaces, trimmed."""
    kept = (" " if (ch < " " and ch != "\n") or ch == "\x7f" else ch for ch in text)
    return "".join(kept).strip()


class _Places:
    """Each business's waiting tickets in the policy's order, kept sorted as tickets come
    and go, so a position costs a binary search instead of sorting the queue (the issue
    path asks for the newcomer's place; 4,000 waiting made that most of the server's CPU).

    Tickets whose place moves with the time (`FixedRanking.fixed_key` is None) are kept
    aside and ranked at the moment asked; a policy without fixed keys is not indexed at all
    and `ahead` answers None (the caller sorts).
    """

    def __init__(self, policy: CallingPolicy | None) -> None:
        self._policy = policy if isinstance(policy, FixedRanking) else None
        self._sorted: dict[str, list[tuple[RankKey, datetime, int]]] = {}
        self._keys: dict[int, tuple[RankKey, datetime, int]] = {}
        self._moving: dict[str, dict[int, Ticket]] = {}

    def rebuild(self, waiting: Iterable[Ticket], services: Mapping[str, Service]) -> None:
        self._sorted.clear()
        self._keys.clear()
        self._moving.clear()
        for ticket in waiting:
            self.add(ticket, services)

    def add(self, ticket: Ticket, services: Mapping[str, Service]) -> None:
        if self._policy is None:
            return
        fixed = self._policy.fixed_key(ticket, services)
        if fixed is None:
            self._moving.setdefault(ticket.service, {})[ticket.id] = ticket
            return
        key = (fixed, ticket.arrived_at, ticket.id)
        self._keys[ticket.id] = key
        bisect.insort(self._sorted.setdefault(ticket.service, []), key)

    def remove(self, ticket: Ticket) -> None:
        if self._policy is None:
            return
        key = self._keys.pop(ticket.id, None)
        if key is None:
            self._moving.get(ticket.service, {}).pop(ticket.id, None)
            return
        ranked = self._sorted[ticket.service]
        del ranked[bisect.bisect_left(ranked, key)]

    def ahead(self, ticket: Ticket, now: datetime, services: Mapping[str, Service]) -> int | None:
        """How many of the ticket's business the policy would call first; None: not indexed."""
        key = self._keys.get(ticket.id)
        if self._policy is None or key is None:
            return None  # not indexed, or its own place moves with the time (rare): sort
        ahead = bisect.bisect_left(self._sorted.get(ticket.service, []), key)
        moving = self._moving.get(ticket.service)
        if moving:
            full = self._policy.rank_key(now, services)
            mine = full(ticket)
            ahead += sum(1 for t in moving.values() if full(t) < mine)
        return ahead
