"""The branch manager's presenter: where the branch stands, derived from the live model.

Plain Python with no Qt: it reads a `BranchModel` (duck-typed, so this module does not import
`ui.client`, whose package pulls in Qt) plus `BranchExtras` — what the manager's snapshot
and events add to it (alerts, follow-ups of negative ratings, today's share within target) —
and derives rows for the screen: one per business (coloured against its target), one per
counter, the window counts per business, the staffing advice next to the open windows. The
edits the manager makes (a counter's skills, an advice move) are computed here too, so every
rule is unit-tested without a screen or a server.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ui.model.clock import ServerClock
from ui.model.isotime import parse_time
from wire import EventKind

# A counter is free again once its customer is done, a no-show or sent elsewhere.
_FREES_COUNTER = (EventKind.TICKET_DONE, EventKind.TICKET_NO_SHOW, EventKind.TICKET_TRANSFERRED)
AMBER_SHARE = 0.8  # a business turns amber when its longest wait reaches 80 % of target
ALERT_KINDS = (
    "business_over_target",
    "customer_over_target",
    "negative_rating",
    "device_fault",
    "counter_paused_long",
    "head_office_refused",
)
SEVERITY_RANK = {"critical": 0, "warning": 1}
# Events after which the staffing advice may say something else.
ADVICE_EVENTS = ("counter.", "service.")


class Status(StrEnum):
    """How a business stands against its target wait."""

    OK = "ok"  # green
    NEAR = "near"  # amber: longest wait ≥ 80 % of target
    OVER = "over"  # red: longest wait over target


def status_of(
    longest_wait_s: float, target_wait_s: float, waiting: int, eta_new_s: float | None = None
) -> Status:
    """The worse of the longest wait so far and the wait predicted for a newcomer: a queue
    whose head is still young but will make the next customer wait an hour is not green."""
    if waiting <= 0 or target_wait_s <= 0:
        return Status.OK
    worst = max(longest_wait_s, eta_new_s or 0.0)
    if worst > target_wait_s:
        return Status.OVER
    if worst >= AMBER_SHARE * target_wait_s:
        return Status.NEAR
    return Status.OK


class ModelLike(Protocol):
    """What the presenter reads of `ui.client.BranchModel` (and the console's extras)."""

    at: str | None
    business_day: str | None
    branch: dict[str, Any]
    services: dict[str, dict[str, Any]]
    counters: dict[int, dict[str, Any]]
    tickets: dict[int, dict[str, Any]]
    recent_calls: list[dict[str, Any]]
    waiting_at: str | None  # the server time the waiting summary was counted at

    @property
    def waiting(self) -> Mapping[str, Mapping[str, Any]]: ...  # the server's summary, by code


def seconds_between(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, round((end - start).total_seconds()))


# ---------------------------------------------------------------- alerts and more
def wait_start(ticket: Mapping[str, Any]) -> datetime | None:
    """Where a ticket's wait counts from: arrival, or the slot for an appointment that came
    early."""
    start = parse_time(ticket.get("arrived_at"))
    slot = parse_time(ticket.get("appointment_slot"))
    if start is not None and slot is not None and slot > start:
        return slot
    return start


def within_target(ticket: Mapping[str, Any], target_wait_s: float) -> bool | None:
    """Whether a called ticket was called within its business's target (None: unknown)."""
    called = parse_time(ticket.get("called_at"))
    start = wait_start(ticket)
    if called is None or start is None:
        return None
    return (called - start).total_seconds() <= target_wait_s


def overdue_waiting(
    tickets: Iterable[Mapping[str, Any]], service: str, target_wait_s: float, now: datetime | None
) -> int:
    """Customers of `service` still waiting (their own ticket, not a transfer's leg) who have
    already waited past the target: whenever they are called, they are a miss."""
    if now is None or target_wait_s <= 0:
        return 0
    late = 0
    for t in tickets:
        if t.get("service") != service or t.get("state") != "waiting" or t.get("leg"):
            continue
        start = wait_start(t)
        if start is not None and (now - start).total_seconds() > target_wait_s:
            late += 1
    return late


class BranchExtras:
    """What the manager's snapshot and events carry beyond `BranchModel`.

    Alerts still open or not yet acknowledged, open follow-ups of negative ratings, and
    today's called / within-target counts per business, kept current from events
    (`alert.*`, `followup.*`, and each first call of a ticket).
    """

    def __init__(self) -> None:
        self.alerts: dict[str, dict[str, Any]] = {}
        self.followups: dict[int, dict[str, Any]] = {}
        self.today: dict[str, dict[str, int]] = {}
        self.business_day: str | None = None

    def load_snapshot(self, snap: Mapping[str, Any]) -> None:
        self.business_day = snap.get("business_day")
        self.alerts = {str(a["id"]): dict(a) for a in snap.get("alerts") or []}
        self.followups = {int(f["id"]): dict(f) for f in snap.get("followups") or []}
        self.today = {
            str(code): {"called": int(v.get("called", 0)), "within": int(v.get("within_target", 0))}
            for code, v in (snap.get("today") or {}).items()
        }

    def apply(self, event: Mapping[str, Any], services: Mapping[str, Mapping[str, Any]]) -> None:
        kind = str(event.get("kind", ""))
        data = event.get("data") or {}
        if kind.startswith("alert.") and isinstance(data.get("alert"), Mapping):
            alert = dict(data["alert"])
            if alert.get("cleared_at") and alert.get("acknowledged_at"):
                self.alerts.pop(str(alert["id"]), None)  # over and seen: history only
            else:
                self.alerts[str(alert["id"])] = alert
        elif kind.startswith("followup.") and isinstance(data.get("followup"), Mapping):
            followup = dict(data["followup"])
            if followup.get("resolved_at"):
                self.followups.pop(int(followup["id"]), None)
            else:
                self.followups[int(followup["id"])] = followup
        elif kind == EventKind.TICKET_CALLED and (ticket := event.get("ticket")) is not None:
            if int(ticket.get("recall_count") or 0) > 0:
                return
            if self.business_day and ticket.get("business_day") not in (None, self.business_day):
                return
            code = str(ticket.get("service"))
            target = float((services.get(code) or {}).get("target_wait_s") or 0)
            ok = within_target(ticket, target)
            day = self.today.setdefault(code, {"called": 0, "within": 0})
            day["called"] += 1
            if ok:
                day["within"] += 1

    def open_alerts(self) -> list[dict[str, Any]]:
        """Alerts to show: unacknowledged first, then critical first, newest first."""
        return sorted(
            self.alerts.values(),
            key=lambda a: (
                a.get("acknowledged_at") is not None,
                SEVERITY_RANK.get(str(a.get("severity")), 2),
                _neg_time(a.get("raised_at")),
            ),
        )

    def open_followups(self) -> list[dict[str, Any]]:
        return sorted(self.followups.values(), key=lambda f: _neg_time(f.get("rated_at")))


def _neg_time(text: Any) -> float:
    moment = parse_time(text) if isinstance(text, str) else None
    return -moment.timestamp() if moment is not None else 0.0


# ------------------------------------------------------------------------- rows
@dataclass(frozen=True)
class BusinessRow:
    """One business on the live view."""

    code: str
    names: Mapping[str, str]
    enabled: bool
    waiting: int
    longest_wait_s: int
    eta_new_s: float | None
    target_wait_s: int
    open_windows: int
    called_today: int
    within_today: int
    status: Status
    overdue_waiting: int = 0  # still waiting, already past the target

    @property
    def share_within(self) -> float | None:
        """Today's share within target, counting those still waiting: a customer already
        past the target is a miss now (however soon they are called); one still within it
        is pending and not counted yet. A card cannot read 100 % with its queue over target."""
        decided = self.called_today + self.overdue_waiting
        return self.within_today / decided if decided else None


@dataclass(frozen=True)
class CounterRow:
    """One counter on the live view."""

    number: int
    name: str
    state: str  # open, paused, closed
    pause_reason: str
    staff_id: str | None
    staff_name: str  # "" when the server sends none (nobody, or no name on file)
    customer: str | None  # the number called to / served at it
    customer_service: str | None
    customer_state: str | None  # called or serving
    customer_for_s: int | None  # since the call
    idle_s: int | None  # open with nobody at it: since the last customer left
    skills: tuple[Mapping[str, Any], ...]

    @property
    def teller(self) -> str | None:
        """Who is signed in, by name where the server knows it, else by staff id."""
        return self.staff_name or self.staff_id

    @property
    def skill_text(self) -> str:
        return " ".join(
            f"({s['service']})" if s.get("overflow") else str(s["service"]) for s in self.skills
        )


def window_counts(
    counters: Iterable[Mapping[str, Any]], services: Iterable[str]
) -> list[tuple[str, int]]:
    """Per business: open counters whose regular (non-overflow) skills include it."""
    opened = [c for c in counters if c.get("state") == "open"]
    return [
        (
            code,
            sum(
                1
                for c in opened
                if any(s["service"] == code and not s.get("overflow") for s in c.get("skills", []))
            ),
        )
        for code in services
    ]


# ------------------------------------------------------------------- skills edit
@dataclass
class SkillsDraft:
    """A counter's skills as the manager edits them, before they are saved."""

    counter: int
    skills: list[dict[str, Any]] = field(default_factory=list)
    # What the server holds (as loaded, or as last saved): the draft has changes when it
    # differs, and only then is there anything to save or undo.
    saved: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, counter: int, skills: Iterable[Mapping[str, Any]]) -> SkillsDraft:
        draft = cls(
            counter,
            [
                {
                    "service": str(s["service"]),
                    "weight": float(s.get("weight", 1.0)),
                    "overflow": bool(s.get("overflow")),
                }
                for s in skills
            ],
        )
        draft.saved = draft.payload()
        return draft

    @property
    def changed(self) -> bool:
        return self.skills != self.saved

    def mark_saved(self, payload: list[dict[str, Any]]) -> None:
        """The server accepted `payload` (the draft as it was sent, perhaps edited since)."""
        self.saved = [dict(s) for s in payload]

    def codes(self) -> list[str]:
        return [s["service"] for s in self.skills]

    def move(self, index: int, step: int) -> int:
        """Move the skill at `index` up (-1) or down (+1); returns its new index."""
        to = index + step
        if not (0 <= index < len(self.skills)) or not (0 <= to < len(self.skills)):
            return index
        self.skills[index], self.skills[to] = self.skills[to], self.skills[index]
        return to

    def set_overflow(self, index: int, overflow: bool) -> None:
        if 0 <= index < len(self.skills):
            self.skills[index]["overflow"] = overflow

    def add(self, code: str, overflow: bool = False) -> None:
        if code not in self.codes():
            self.skills.append({"service": code, "weight": 1.0, "overflow": overflow})

    def remove(self, index: int) -> None:
        if 0 <= index < len(self.skills):
            del self.skills[index]

    def payload(self) -> list[dict[str, Any]]:
        return [dict(s) for s in self.skills]


def skills_serving_first(skills: Iterable[Mapping[str, Any]], service: str) -> list[dict[str, Any]]:
    """A counter's skills rewritten so `service` is its first regular business.

    The rest keep their order and overflow flags (an overflow entry of `service` becomes
    the regular first one), so the window still helps with its other businesses.
    """
    rest = [
        {
            "service": str(s["service"]),
            "weight": float(s.get("weight", 1.0)),
            "overflow": bool(s.get("overflow")),
        }
        for s in skills
        if s["service"] != service
    ]
    return [{"service": service, "weight": 1.0, "overflow": False}, *rest]


# ------------------------------------------------------------------------ advice
@dataclass(frozen=True)
class AdviceRow:
    """One business: windows open now, recommended now, and in the coming hours."""

    code: str
    names: Mapping[str, str]
    open_now: int
    recommended_now: int | None
    coming: tuple[int | None, ...]  # the most windows recommended in each coming hour

    @property
    def short(self) -> int:
        """Windows missing now (negative: more open than needed)."""
        return (self.recommended_now or 0) - self.open_now


@dataclass(frozen=True)
class AdviceView:
    rows: tuple[AdviceRow, ...]
    hours: tuple[str, ...]  # "11:00" … the coming hours' labels
    moves: tuple[Mapping[str, Any], ...]
    basis: str
    day: str


def hhmm(moment: datetime | None, timezone: str | None = None) -> str:
    if moment is None:
        return "—"
    if timezone:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            moment = moment.astimezone(ZoneInfo(timezone))
    return moment.strftime("%H:%M")


def on_the_step(moment: datetime, step_min: int = 60, timezone: str | None = None) -> datetime:
    """The nearest boundary of the advice's intervals on the branch's clock (whole hours for
    hourly advice): columns read "09:00 起", not "08:59 起" from a clock read a moment early."""
    if timezone:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            moment = moment.astimezone(ZoneInfo(timezone))
    step = timedelta(minutes=max(1, step_min))
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    steps = round((moment - day) / step)
    return day + steps * step


def _interval_min(advice: Mapping[str, Any], intervals: Sequence[Mapping[str, Any]]) -> int:
    """The advice's interval length: as it says, else as its first interval spans."""
    if advice.get("interval_min"):
        return int(advice["interval_min"])
    if intervals:
        a, b = parse_time(intervals[0].get("start")), parse_time(intervals[0].get("end"))
        if a is not None and b is not None and b > a:
            return round((b - a).total_seconds() / 60)
    return 60


def advice_view(
    advice: Mapping[str, Any] | None,
    model: ModelLike,
    now: datetime | None,
    *,
    hours: int = 3,
) -> AdviceView:
    """The advice as the Advice tab shows it: per business now and per coming hour."""
    if not advice:
        return AdviceView((), (), (), "", "")
    tz = str(model.branch.get("timezone") or "") or None
    intervals = list(advice.get("intervals") or [])
    current = next((i for i in intervals if i.get("current")), None)
    if current is None and now is not None:
        current = next(
            (
                i
                for i in intervals
                if (s := parse_time(i.get("start"))) is not None
                and (e := parse_time(i.get("end"))) is not None
                and s <= now < e
            ),
            None,
        )
    start = parse_time(current.get("end")) if current else None
    if start is None:
        start = now or (parse_time(intervals[0]["start"]) if intervals else None)
    slots: list[tuple[datetime, datetime]] = []
    if start is not None:
        start = on_the_step(start, _interval_min(advice, intervals), tz)
        for h in range(hours):
            slots.append((start + timedelta(hours=h), start + timedelta(hours=h + 1)))
    counts = dict(window_counts(model.counters.values(), model.services))
    codes = [c for c in model.services if model.services[c].get("enabled", True)]
    for i in intervals:
        for code in i.get("by_service", {}):
            if code not in codes:
                codes.append(code)
    rows = []
    for code in codes:
        now_rec = None
        if current is not None and code in current.get("by_service", {}):
            now_rec = int(current["by_service"][code]["recommended_windows"])
        coming: list[int | None] = []
        for s, e in slots:
            found = [
                int(i["by_service"][code]["recommended_windows"])
                for i in intervals
                if code in i.get("by_service", {})
                and (a := parse_time(i.get("start"))) is not None
                and s <= a < e
            ]
            coming.append(max(found) if found else None)
        rows.append(
            AdviceRow(
                code=code,
                names=model.services.get(code, {}).get("names", {}),
                open_now=counts.get(code, 0),
                recommended_now=now_rec,
                coming=tuple(coming),
            )
        )
    return AdviceView(
        rows=tuple(rows),
        hours=tuple(hhmm(s, tz) for s, _ in slots),
        moves=tuple(dict(m) for m in advice.get("moves") or []),
        basis=str(advice.get("forecast_basis") or ""),
        day=str(advice.get("day") or ""),
    )


# --------------------------------------------------------------------- presenter
@dataclass
class BranchConsole:
    """The manager console's presenter over a live branch model."""

    model: ModelLike
    extras: BranchExtras = field(default_factory=BranchExtras)
    clock: ServerClock = field(default_factory=ServerClock)
    online: bool = False
    advice: Mapping[str, Any] | None = None
    # When each counter last became free (a customer left it, or it opened), by number.
    free_since: dict[int, datetime] = field(default_factory=dict)

    # ---- what comes in
    def snapshot_loaded(self) -> None:
        self.clock.observe(self.model.at)
        self.free_since = {}
        for t in self.model.recent_calls:
            done = parse_time(t.get("finished_at"))
            n = t.get("counter")
            if done is not None and isinstance(n, int) and done > self.free_since.get(n, done):
                self.free_since[n] = done
            elif done is not None and isinstance(n, int):
                self.free_since.setdefault(n, done)

    def event(self, event: Mapping[str, Any]) -> None:
        """An event from the stream, after the model applied it."""
        self.clock.observe(self.model.at)
        at = parse_time(event.get("at"))
        kind = str(event.get("kind", ""))
        ticket = event.get("ticket")
        counter = event.get("counter")
        if at is None:
            return
        if (
            ticket is not None
            and isinstance(ticket.get("counter"), int)
            and kind
            in (EventKind.TICKET_DONE, EventKind.TICKET_NO_SHOW, EventKind.TICKET_TRANSFERRED)
        ):
            self.free_since[int(ticket["counter"])] = at
        if counter is not None:
            n = int(counter["number"])
            if kind == EventKind.COUNTER_OPENED:
                self.free_since[n] = at  # free from the moment it opens (or resumes)
            elif counter.get("state") != "open":
                self.free_since.pop(n, None)

    @staticmethod
    def affects_advice(event: Mapping[str, Any]) -> bool:
        kind = str(event.get("kind", ""))
        return kind.startswith(ADVICE_EVENTS)

    # ---- what goes out
    def now(self) -> datetime | None:
        return self.clock.now()

    def business_rows(self, now: datetime | None = None) -> list[BusinessRow]:
        now = now or self.now()
        counts = dict(window_counts(self.model.counters.values(), self.model.services))
        rows = []
        counted_at = parse_time(self.model.waiting_at)
        # The server counts the queue; between its pushes the longest wait only ages.
        since = max(0, seconds_between(counted_at, now) or 0)
        for code, svc in self.model.services.items():
            summary = self.model.waiting.get(code) or {}
            waiting = int(summary.get("waiting") or 0)
            longest = int(summary.get("longest_wait_s") or 0) + since if waiting else 0
            target = int(svc.get("target_wait_s") or 0)
            eta = summary.get("eta_new_s")
            day = self.extras.today.get(code, {"called": 0, "within": 0})
            rows.append(
                BusinessRow(
                    code=code,
                    names=svc.get("names", {}),
                    enabled=bool(svc.get("enabled", True)),
                    waiting=waiting,
                    longest_wait_s=longest,
                    eta_new_s=float(eta) if eta is not None else None,
                    target_wait_s=target,
                    open_windows=counts.get(code, 0),
                    called_today=day["called"],
                    within_today=day["within"],
                    status=status_of(
                        longest, target, waiting, float(eta) if eta is not None else None
                    ),
                    overdue_waiting=overdue_waiting(self.model.tickets.values(), code, target, now),
                )
            )
        return rows

    def counter_rows(self, now: datetime | None = None) -> list[CounterRow]:
        now = now or self.now()
        at_counter: dict[int, dict[str, Any]] = {}
        for ticket in self.model.tickets.values():
            n = ticket.get("counter")
            if isinstance(n, int) and ticket["state"] in ("called", "serving"):
                at_counter[n] = ticket
        rows = []
        for n in sorted(self.model.counters):
            c = self.model.counters[n]
            t = at_counter.get(n)
            idle = None
            if t is None and c.get("state") == "open" and n in self.free_since:
                idle = seconds_between(self.free_since[n], now)
            rows.append(
                CounterRow(
                    number=n,
                    name=str(c.get("name") or ""),
                    state=str(c.get("state") or "closed"),
                    pause_reason=str(c.get("pause_reason") or ""),
                    staff_id=c.get("staff_id"),
                    staff_name=str(c.get("staff_name") or ""),
                    customer=str(t["number"]) if t else None,
                    customer_service=str(t["service"]) if t else None,
                    customer_state=str(t["state"]) if t else None,
                    customer_for_s=seconds_between(parse_time(t.get("called_at")), now)
                    if t
                    else None,
                    idle_s=idle,
                    skills=tuple(c.get("skills", [])),
                )
            )
        return rows

    def window_summary(self) -> list[tuple[str, int]]:
        codes = [c for c, s in self.model.services.items() if s.get("enabled", True)]
        return window_counts(self.model.counters.values(), codes)

    def trouble(self, now: datetime | None = None) -> tuple[int, int, int]:
        """(businesses over target, businesses near it, unacknowledged alerts)."""
        rows = self.business_rows(now)
        unacked = sum(1 for a in self.extras.alerts.values() if not a.get("acknowledged_at"))
        return (
            sum(1 for r in rows if r.status is Status.OVER),
            sum(1 for r in rows if r.status is Status.NEAR),
            unacked,
        )

    def advice_view(self, hours: int = 3) -> AdviceView:
        return advice_view(self.advice, self.model, self.now(), hours=hours)

    def move_skills(self, move: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        """The skills that carry out an advice move on its counter (None: no such counter)."""
        c = self.model.counters.get(int(move["counter"]))
        if c is None:
            return None
        return skills_serving_first(c.get("skills", []), str(move["to_service"]))

    def move_done(self, move: Mapping[str, Any]) -> bool:
        """Whether the counter already serves `to_service` first."""
        c = self.model.counters.get(int(move["counter"]))
        if c is None:
            return False
        regular = [s for s in c.get("skills", []) if not s.get("overflow")]
        return bool(regular) and regular[0]["service"] == move["to_service"]


# ---------------------------------------------------------------- calling policy
# Events after which the calling-policy tab reads `GET /policy` again.
POLICY_EVENTS = (EventKind.POLICY_APPLIED, EventKind.POLICY_TOURNAMENT)
POLICY_CLASSES = ("regular", "vip", "care", "appointment")
# A policy's name inside a reason or a label: `accumulating` or `accumulating[vip=10,…]`,
# touching Chinese on either side in a zh reason (no word boundary there, so no \b).
_POLICY_TOKEN = re.compile(r"(?<![A-Za-z_])([a-z][a-z_]*)(\[[^\]\s]*\])?")


class Catalog(Protocol):
    """What the presenter needs of a translator: a text by key, and whether a key exists."""

    def tr(self, key: str, /, **values: object) -> str: ...

    def has(self, key: str) -> bool: ...


def _head_starts(params: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The head starts (minutes per class) a policy's parameters give, or None when they are
    something else. A stored candidate nests them (`head_starts`); a label flattens them."""
    heads = params.get("head_starts")
    if set(params) == {"head_starts"} and isinstance(heads, Mapping):
        return heads
    if params and all(k in POLICY_CLASSES for k in params):
        return params
    return None


def policy_name(name: str, params: Mapping[str, Any], label: str, catalog: Catalog) -> str:
    """A policy as a manager reads it ("累积优先（贵宾、优先服务提前 10 分钟…）"); its raw
    label when the catalog does not know the policy or cannot word its parameters."""
    key = f"policy.name.{name}"
    if not catalog.has(key):
        return label or name
    base = catalog.tr(key)
    if not params:
        return base
    heads = _head_starts(params)
    if heads is None:
        return label or name
    by_minutes: dict[float, list[str]] = {}
    for cls in POLICY_CLASSES:
        minutes = float(heads.get(cls) or 0.0)
        if minutes > 0:
            by_minutes.setdefault(minutes, []).append(catalog.tr(f"priority.{cls}"))
    if not by_minutes:
        return catalog.tr("policy.head_start.none", policy=base)
    parts = [
        catalog.tr(
            "policy.head_start.part",
            classes=catalog.tr("policy.head_start.and").join(classes),
            minutes=f"{minutes:g}",
        )
        for minutes, classes in sorted(by_minutes.items())
    ]
    return catalog.tr(
        "policy.head_start.with", policy=base, starts=catalog.tr("policy.list_sep").join(parts)
    )


def label_name(label: str, catalog: Catalog) -> str:
    """`policy_name` of a label as the server writes it: `name` or `name[k=v,…]`."""
    match = _POLICY_TOKEN.fullmatch(label)
    if match is None:
        return label
    params: dict[str, Any] = {}
    for pair in (match.group(2) or "[]")[1:-1].split(","):
        key, _, value = pair.partition("=")
        if key:
            try:
                params[key] = float(value)
            except ValueError:
                return label
    return policy_name(match.group(1), params, label, catalog)


def readable_reason(text: str, catalog: Catalog) -> str:
    """The server's reason with every policy it names in the manager's words."""

    def named(match: re.Match[str]) -> str:
        if not catalog.has(f"policy.name.{match.group(1)}"):
            return match.group(0)
        return label_name(match.group(0), catalog)

    return _POLICY_TOKEN.sub(named, text)


@dataclass(frozen=True)
class ClassWait:
    """One class's p95 wait in a tournament row, against its target (minutes)."""

    cls: str
    p95_min: float | None  # None: the class had no customers in the simulated days
    target_min: float | None
    over: bool  # the server counts the class over its target (the rule's own test)

    @property
    def state(self) -> str:
        if self.p95_min is None or self.target_min is None:
            return ""
        if self.over:
            return "over"
        return "near" if self.p95_min > self.target_min else "ok"


@dataclass(frozen=True)
class TournamentRow:
    """One candidate of the last tournament."""

    name: str
    share: float | None
    interval: tuple[float, float] | None
    waits: tuple[ClassWait, ...]
    total_wait_min: float | None
    chosen: bool
    excluded: bool  # it would let a class wait without end: never chosen


@dataclass(frozen=True)
class PolicyView:
    """The calling-policy tab: what runs today and why, the last tournament, the job."""

    running: str
    reason: str
    since: str | None  # when it was applied; None: the server's default since start
    actor: str | None
    last_state: str | None  # done or failed; None: no tournament yet
    last_finished: str | None
    last_for_day: str | None
    last_trigger: str | None
    last_error: str | None
    days: int
    basis: str  # the forecast the days were drawn from: weekday, all_days, prior, …
    chosen: str | None
    rows: tuple[TournamentRow, ...]
    job_state: str | None  # running, done or failed
    job_done: int
    job_steps: int
    can_apply: bool  # the last choice differs from what runs

    @property
    def running_job(self) -> bool:
        return self.job_state == "running"


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _tournament_row(row: Mapping[str, Any], catalog: Catalog) -> TournamentRow:
    p95 = row.get("p95_wait_min") or {}
    targets = row.get("target_min") or {}
    over = set(row.get("classes_over_target") or ())
    ci = row.get("within_target_ci95")
    low, high = (
        (_float(ci[0]), _float(ci[1])) if isinstance(ci, list) and len(ci) == 2 else (None, None)
    )
    return TournamentRow(
        name=policy_name(
            str(row.get("policy") or ""),
            row.get("params") or {},
            str(row.get("label") or ""),
            catalog,
        ),
        share=_float(row.get("within_target_share")),
        interval=(low, high) if low is not None and high is not None else None,
        waits=tuple(
            ClassWait(cls, _float(p95.get(cls)), _float(targets.get(cls)), cls in over)
            for cls in POLICY_CLASSES
        ),
        total_wait_min=_float(row.get("total_wait_min")),
        chosen=bool(row.get("chosen")),
        excluded=bool(row.get("starves_under_flood")),
    )


def policy_view(overview: Mapping[str, Any] | None, language: str, catalog: Catalog) -> PolicyView:
    """`GET /policy` as the tab shows it, in `language` (reasons come in zh and en)."""
    overview = overview or {}
    running = overview.get("running") or {}
    last = overview.get("last") or {}
    job = overview.get("job") or {}
    result = last.get("result") or {}
    chosen = last.get("chosen") or {}
    reasons = running.get("reason") or {}
    reason = str(reasons.get(language) or reasons.get("zh") or "")
    name = str(running.get("name") or "")
    running_name = policy_name(
        name, running.get("params") or {}, str(running.get("label") or name), catalog
    )
    basis = re.search(r"\((\w+)\)\s*$", str(result.get("scenario") or ""))
    return PolicyView(
        running=running_name if name else "—",
        reason=readable_reason(reason, catalog)
        if reason
        else catalog.tr("manager.policy.default_reason", policy=running_name),
        since=running.get("since"),
        actor=running.get("actor"),
        last_state=last.get("state"),
        last_finished=last.get("finished_at"),
        last_for_day=last.get("for_day"),
        last_trigger=last.get("trigger"),
        last_error=last.get("error"),
        days=int(result.get("days") or 0),
        basis=basis.group(1) if basis else "",
        chosen=policy_name(
            str(chosen.get("name") or ""),
            chosen.get("params") or {},
            str(chosen.get("label") or ""),
            catalog,
        )
        if chosen
        else None,
        rows=tuple(_tournament_row(r, catalog) for r in result.get("table") or ()),
        job_state=job.get("state"),
        job_done=int(job.get("steps_done") or 0),
        job_steps=int(job.get("steps") or 0),
        can_apply=last.get("state") == "done"
        and bool(chosen)
        and (
            running.get("tournament") != last.get("id")
            or running.get("label") != chosen.get("label")
        ),
    )
