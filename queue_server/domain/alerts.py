"""What the branch manager must look at now: alerts raised from the branch's state, and the
follow-up a 不满意 rating opens.

Pure: `conditions` reads a Branch at a moment and says which alert conditions hold; an
`AlertBook` compares them with the alerts already raised and says what to announce (raised,
escalated, cleared). The server turns those into events; the book is rebuilt from the same
events after a restart, so acknowledgements and history survive it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from queue_server.domain.model import CounterState, DeviceHealth, Ticket
from wire import EventKind


class AlertKind(StrEnum):
    BUSINESS_OVER_TARGET = "business_over_target"  # about to miss, or missing, its wait target
    CUSTOMER_OVER_TARGET = "customer_over_target"  # one customer waiting far past the target
    NEGATIVE_RATING = "negative_rating"  # 不满意: opens a follow-up
    DEVICE_FAULT = "device_fault"  # printer paper low / out, a board or reader offline
    COUNTER_PAUSED_LONG = "counter_paused_long"
    HEAD_OFFICE_REFUSED = "head_office_refused"  # a document from the centre was not applied
    HALL_CROWDED = "hall_crowded"  # more people waiting than the centre's `waiting_over`
    HALL_OVER_TARGET = "hall_over_target"  # too large a share waiting past their target
    # bookings kept on a day or at an hour the head office has since closed
    BOOKINGS_OUTSIDE_HOURS = "bookings_outside_hours"


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


_RANK = {Severity.WARNING: 0, Severity.CRITICAL: 1}
# Raised by something that happened, not by a state of the branch: a 不满意 rating clears
# with its follow-up, a refused head-office document when a later one of its kind applies.
_NOT_CONDITIONS = (AlertKind.NEGATIVE_RATING, AlertKind.HEAD_OFFICE_REFUSED)
NEGATIVE = 1  # the rating pad's 不满意


@dataclass(frozen=True)
class AlertRules:
    """When a condition becomes an alert (the branch may tune them in its config)."""

    business_warn_share: float = 0.8  # longest wait ≥ this share of the target: about to miss
    customer_far_factor: float = 2.0  # one customer waiting ≥ this × the target
    counter_paused_s: float = 15 * 60
    # The head office's (`alerts` in its configuration); None: the rule is off.
    waiting_over: int | None = None  # more people than this waiting in the hall
    wait_over_target_share: float | None = None  # more than this share past their target


ALERT_THRESHOLDS = ("waiting_over", "wait_over_target_share")


def thresholds_from_wire(raw: Any) -> dict[str, int | float]:
    """The centre's `alerts` section, checked: ValueError names the value at fault.

    `waiting_over`: a whole number of people, 1 to 10,000; `wait_over_target_share`: a
    share above 0 and below 1. A threshold left out turns its rule off.
    """
    if not isinstance(raw, Mapping):
        raise ValueError('alerts is an object like {"waiting_over": 30}')
    unknown = sorted(str(k) for k in raw if k not in ALERT_THRESHOLDS)
    if unknown:
        raise ValueError(f"alerts: no rule {', '.join(unknown)} ({', '.join(ALERT_THRESHOLDS)})")
    found: dict[str, int | float] = {}
    count = raw.get("waiting_over")
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10_000:
            raise ValueError(f"alerts.waiting_over: a whole number 1 to 10000, not {count!r}")
        found["waiting_over"] = count
    share = raw.get("wait_over_target_share")
    if share is not None:
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 1:
            raise ValueError(
                f"alerts.wait_over_target_share: a share between 0 and 1, not {share!r}"
            )
        found["wait_over_target_share"] = float(share)
    return found


@dataclass(frozen=True)
class Condition:
    """An alert condition holding now; `key` names what it is about (one alert per key)."""

    key: str
    kind: AlertKind
    severity: Severity
    subject: Mapping[str, Any]
    detail: str


@dataclass(frozen=True)
class Alert:
    id: str
    key: str
    kind: AlertKind
    severity: Severity
    subject: Mapping[str, Any]
    detail: str
    raised_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    cleared_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.cleared_at is None

    @property
    def needs_attention(self) -> bool:
        """Shown on the console: still holding, or cleared before anyone acknowledged it."""
        return self.cleared_at is None or self.acknowledged_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "kind": self.kind.value,
            "severity": self.severity.value,
            "subject": dict(self.subject),
            "detail": self.detail,
            "raised_at": self.raised_at.isoformat(),
            "acknowledged_at": _iso(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "cleared_at": _iso(self.cleared_at),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Alert:
        return cls(
            id=str(d["id"]),
            key=str(d["key"]),
            kind=AlertKind(d["kind"]),
            severity=Severity(d["severity"]),
            subject=dict(d.get("subject") or {}),
            detail=str(d.get("detail", "")),
            raised_at=datetime.fromisoformat(d["raised_at"]),
            acknowledged_at=_parse(d.get("acknowledged_at")),
            acknowledged_by=d.get("acknowledged_by"),
            cleared_at=_parse(d.get("cleared_at")),
        )


@dataclass(frozen=True)
class Followup:
    """A customer who rated 不满意: the manager calls them back or notes what was done."""

    id: int
    ticket_id: int
    number: str
    service: str
    counter: int | None
    staff_id: str | None
    rating: int
    rated_at: datetime
    alert_id: str
    note: str = ""  # the manager's
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    comment: str = ""  # the customer's, with the rating

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ticket_id": self.ticket_id,
            "number": self.number,
            "service": self.service,
            "counter": self.counter,
            "staff_id": self.staff_id,
            "rating": self.rating,
            "rated_at": self.rated_at.isoformat(),
            "alert_id": self.alert_id,
            "note": self.note,
            "resolved_at": _iso(self.resolved_at),
            "resolved_by": self.resolved_by,
            "comment": self.comment,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Followup:
        return cls(
            id=int(d["id"]),
            ticket_id=int(d["ticket_id"]),
            number=str(d["number"]),
            service=str(d["service"]),
            counter=d.get("counter"),
            staff_id=d.get("staff_id"),
            rating=int(d["rating"]),
            rated_at=datetime.fromisoformat(d["rated_at"]),
            alert_id=str(d["alert_id"]),
            note=str(d.get("note", "")),
            resolved_at=_parse(d.get("resolved_at")),
            resolved_by=d.get("resolved_by"),
            comment=str(d.get("comment") or ""),  # follow-ups stored before comments: none
        )


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _parse(text: Any) -> datetime | None:
    return None if not text else datetime.fromisoformat(str(text))


def _alert_id(key: str, now: datetime) -> str:
    """URL-safe and unique: when it was raised and what about (a key may hold a device id)."""
    digest = hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
    return f"{now.strftime('%Y%m%dT%H%M%S')}-{digest}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min"


# ------------------------------------------------------------------ conditions
def conditions(  # noqa: C901 one check per alert rule, read top to bottom
    branch: Any,
    now: datetime,
    rules: AlertRules,
    *,
    paused_since: Mapping[int, datetime],
    eta_new_s: Mapping[str, float | None] | None = None,
) -> dict[str, Condition]:
    """Every alert condition that holds in `branch` (a domain Branch) at `now`, by key.

    `paused_since`: when each paused counter paused; `eta_new_s`: a newcomer's predicted
    wait per business — reaching the target also means the business is about to miss it.
    """
    found: dict[str, Condition] = {}
    longest: dict[str, Ticket] = {}
    for ticket in branch.waiting:
        service = branch.services.get(ticket.service)
        if service is None:
            continue
        waited = (now - ticket.arrived_at).total_seconds()
        target = float(service.target_wait_s)
        first = longest.get(ticket.service)
        if first is None or ticket.arrived_at < first.arrived_at:
            longest[ticket.service] = ticket
        if target > 0 and waited >= rules.customer_far_factor * target:
            key = f"customer:{ticket.id}"
            found[key] = Condition(
                key,
                AlertKind.CUSTOMER_OVER_TARGET,
                Severity.CRITICAL,
                {
                    "ticket_id": ticket.id,
                    "number": ticket.number,
                    "service": ticket.service,
                    "waited_s": round(waited),
                    "target_s": round(target),
                },
                f"{ticket.number} has waited {_minutes(waited)} (target {_minutes(target)})",
            )
    for code, service in branch.services.items():
        if not service.enabled:
            continue
        target = float(service.target_wait_s)
        head = longest.get(code)
        waited = (now - head.arrived_at).total_seconds() if head is not None else 0.0
        eta = (eta_new_s or {}).get(code)
        severity: Severity | None = None
        # What the alert is about: the longest wait so far, or the wait a newcomer is
        # predicted to have while everyone waiting is still within target.
        reason = "longest_wait"
        if head is not None and waited >= target:
            severity = Severity.CRITICAL
            detail = f"longest wait {_minutes(waited)}, over the {_minutes(target)} target"
        elif head is not None and waited >= rules.business_warn_share * target:
            severity = Severity.WARNING
            detail = f"longest wait {_minutes(waited)}, target {_minutes(target)}"
        elif head is not None and eta is not None and eta >= target:
            severity = Severity.WARNING
            reason = "predicted_wait"
            detail = f"a newcomer would wait about {_minutes(eta)}, target {_minutes(target)}"
        if severity is not None:
            key = f"business:{code}"
            subject = {
                "service": code,
                "reason": reason,
                "longest_wait_s": round(waited),
                "target_s": round(target),
                "eta_s": None if eta is None else round(eta),
            }
            found[key] = Condition(key, AlertKind.BUSINESS_OVER_TARGET, severity, subject, detail)
    found.update(_hall_conditions(branch, now, rules))
    found.update(_booking_conditions(branch))
    for device in branch.devices.values():
        if device.health is DeviceHealth.OK:
            continue
        key = f"device:{device.device}"
        severity = Severity.WARNING if device.health is DeviceHealth.WARNING else Severity.CRITICAL
        found[key] = Condition(
            key,
            AlertKind.DEVICE_FAULT,
            severity,
            {
                "device": device.device,
                "kind": device.kind,
                "health": device.health.value,
                "counter": device.counter,
                "detail": device.detail,
            },
            device.detail or device.health.value,
        )
    for number, counter in branch.counters.items():
        since = paused_since.get(number)
        if counter.state is not CounterState.PAUSED or since is None:
            continue
        paused = (now - since).total_seconds()
        if paused >= rules.counter_paused_s:
            key = f"counter:{number}"
            found[key] = Condition(
                key,
                AlertKind.COUNTER_PAUSED_LONG,
                Severity.WARNING,
                {
                    "counter": number,
                    "name": counter.name,
                    "reason": counter.pause_reason,
                    "paused_s": round(paused),
                },
                f"{counter.name} paused for {_minutes(paused)}"
                + (f" ({counter.pause_reason})" if counter.pause_reason else ""),
            )
    return found


def _hall_conditions(branch: Any, now: datetime, rules: AlertRules) -> dict[str, Condition]:
    """The whole hall against the centre's thresholds: how many wait, and how many of them
    have waited past their business's target. Twice over a threshold is critical."""
    found: dict[str, Condition] = {}
    waiting = [t for t in branch.waiting if t.service in branch.services]
    if rules.waiting_over is not None and len(waiting) > rules.waiting_over:
        limit = rules.waiting_over
        severity = Severity.CRITICAL if len(waiting) > 2 * limit else Severity.WARNING
        found["hall:waiting"] = Condition(
            "hall:waiting",
            AlertKind.HALL_CROWDED,
            severity,
            {"waiting": len(waiting), "limit": limit},
            f"{len(waiting)} customers waiting, over the {limit} set by the head office",
        )
    if rules.wait_over_target_share is not None and waiting:
        over = sum(
            1
            for t in waiting
            if (now - t.arrived_at).total_seconds() > branch.services[t.service].target_wait_s
        )
        share, limit_share = over / len(waiting), rules.wait_over_target_share
        if share > limit_share:
            severity = Severity.CRITICAL if share > 2 * limit_share else Severity.WARNING
            found["hall:over_target"] = Condition(
                "hall:over_target",
                AlertKind.HALL_OVER_TARGET,
                severity,
                {
                    "over_target": over,
                    "waiting": len(waiting),
                    "share": round(share, 3),
                    "limit_share": limit_share,
                },
                f"{over} of {len(waiting)} waiting customers are past their target "
                f"({share:.0%}, over the {limit_share:.0%} set by the head office)",
            )
    return found


def _booking_conditions(branch: Any) -> dict[str, Condition]:
    """One alert per local day holding bookings the hours no longer cover: the branch keeps
    them (each customer was promised the slot), so staff must move or confirm each one."""
    tz = ZoneInfo(branch.settings.timezone)
    by_day: dict[date, list[Any]] = {}
    for appointment in branch.bookings_outside_hours():
        by_day.setdefault(appointment.slot_start.astimezone(tz).date(), []).append(appointment)
    found: dict[str, Condition] = {}
    for day, kept in by_day.items():
        key = f"bookings:{day.isoformat()}"
        _, hours = branch.settings.opening_hours.on(day)
        subject = {
            "day": day.isoformat(),
            "count": len(kept),
            "appointment_ids": [a.id for a in kept],
            "services": sorted({a.service for a in kept}),
            "first_slot": kept[0].slot_start.astimezone(tz).strftime("%H:%M"),
            "hours": [] if hours is None else [f"{h:%H:%M}" for h in hours],
        }
        when = (
            "the branch is closed" if hours is None else f"open {hours[0]:%H:%M}-{hours[1]:%H:%M}"
        )
        found[key] = Condition(
            key,
            AlertKind.BOOKINGS_OUTSIDE_HOURS,
            Severity.WARNING,
            subject,
            f"{len(kept)} booking(s) on {day.isoformat()} are outside the hours ({when}); "
            "they are kept: move them with the customers or confirm the visit",
        )
    return found


# ------------------------------------------------------------------------ book
@dataclass
class AlertBook:
    """The alerts and follow-ups so far, kept by replaying their events."""

    alerts: dict[str, Alert] = field(default_factory=dict)  # by id
    followups: dict[int, Followup] = field(default_factory=dict)  # by id
    _open: dict[str, str] = field(default_factory=dict)  # key -> id of its open alert

    # -- reading
    def open_alert(self, key: str) -> Alert | None:
        found = self._open.get(key)
        return self.alerts.get(found) if found is not None else None

    def attention(self) -> list[Alert]:
        """What the console shows: open, or cleared but never acknowledged; newest first."""
        live = [a for a in self.alerts.values() if a.needs_attention]
        return sorted(live, key=lambda a: (a.raised_at, a.id), reverse=True)

    def open_followups(self) -> list[Followup]:
        return sorted(
            (f for f in self.followups.values() if f.resolved_at is None), key=lambda f: f.id
        )

    # -- deciding (nothing changes until the events are applied)
    def reconcile(self, holding: Mapping[str, Condition], now: datetime) -> list[tuple[str, Alert]]:
        """The events that bring the book in line with the conditions holding now."""
        out: list[tuple[str, Alert]] = []
        for key, cond in sorted(holding.items()):
            current = self.open_alert(key)
            if current is None:
                alert = Alert(
                    _alert_id(key, now),
                    key,
                    cond.kind,
                    cond.severity,
                    dict(cond.subject),
                    cond.detail,
                    now,
                )
                if alert.id in self.alerts:  # raised, cleared and raised again within a second
                    alert = replace(alert, id=f"{alert.id}.{len(self.alerts)}")
                out.append((EventKind.ALERT_RAISED, alert))
            elif _RANK[cond.severity] > _RANK[current.severity]:
                # Worse than when it was acknowledged: it needs a look again.
                escalated = replace(
                    current,
                    severity=cond.severity,
                    detail=cond.detail,
                    subject=dict(cond.subject),
                    acknowledged_at=None,
                    acknowledged_by=None,
                )
                out.append((EventKind.ALERT_RAISED, escalated))
        for key, alert_id in sorted(self._open.items()):
            alert = self.alerts[alert_id]
            if alert.kind in _NOT_CONDITIONS:
                continue  # cleared by what raised it, not by a condition of the branch
            if key not in holding:
                out.append((EventKind.ALERT_CLEARED, replace(alert, cleared_at=now)))
        return out

    def head_office_refused(
        self, kind: str, version: int, code: str, message: str, now: datetime
    ) -> Alert:
        """The alert for a document from the centre that was not applied."""
        key = f"head_office:{kind}:{version}"
        return Alert(
            _alert_id(key, now),
            key,
            AlertKind.HEAD_OFFICE_REFUSED,
            Severity.CRITICAL,
            {"document": kind, "version": version, "code": code},
            f"head office {kind} v{version} refused ({code}): {message}",
            now,
        )

    def head_office_resolved(self, kind: str, now: datetime) -> list[Alert]:
        """Open refusals of a kind, cleared: a later document of that kind was applied."""
        prefix = f"head_office:{kind}:"
        return [
            replace(self.alerts[alert_id], cleared_at=now)
            for key, alert_id in sorted(self._open.items())
            if key.startswith(prefix)
        ]

    def acknowledge(self, alert_id: str, by: str, now: datetime) -> Alert:
        alert = self.alerts.get(alert_id)
        if alert is None:
            raise KeyError(alert_id)
        return replace(alert, acknowledged_at=now, acknowledged_by=by)

    def negative_rating(self, ticket: Ticket, rating: int, now: datetime) -> tuple[Alert, Followup]:
        """The alert and follow-up a 不满意 rating opens (the caller checks the rating)."""
        key = f"rating:{ticket.id}"
        followup_id = max(self.followups, default=0) + 1
        alert = Alert(
            _alert_id(key, now),
            key,
            AlertKind.NEGATIVE_RATING,
            Severity.WARNING,
            {
                "ticket_id": ticket.id,
                "number": ticket.number,
                "service": ticket.service,
                "counter": ticket.counter,
                "staff_id": ticket.staff_id,
                "followup_id": followup_id,
            },
            f"{ticket.number} rated 不满意"
            + (f" at counter {ticket.counter}" if ticket.counter is not None else ""),
            now,
        )
        followup = Followup(
            followup_id,
            ticket.id,
            ticket.number,
            ticket.service,
            ticket.counter,
            ticket.staff_id,
            rating,
            now,
            alert.id,
            comment=ticket.rating_comment,
        )
        return alert, followup

    def update_followup(
        self,
        followup_id: int,
        now: datetime,
        by: str,
        *,
        note: str | None = None,
        resolved: bool | None = None,
    ) -> tuple[Followup, Alert | None]:
        """The follow-up after the manager's change, and its alert if resolving clears it."""
        followup = self.followups.get(followup_id)
        if followup is None:
            raise KeyError(followup_id)
        changed = followup
        if note is not None:
            changed = replace(changed, note=note)
        if resolved is True and followup.resolved_at is None:
            changed = replace(changed, resolved_at=now, resolved_by=by)
        elif resolved is False:
            changed = replace(changed, resolved_at=None, resolved_by=None)
        alert = self.alerts.get(followup.alert_id)
        cleared = None
        if alert is not None and changed.resolved_at is not None and alert.cleared_at is None:
            ack = alert.acknowledged_at or now
            cleared = replace(
                alert,
                cleared_at=now,
                acknowledged_at=ack,
                acknowledged_by=alert.acknowledged_by or by,
            )
        return changed, cleared

    # -- applying events (live, and replaying the log at start-up)
    def apply(self, kind: str, data: Mapping[str, Any]) -> None:
        if kind.startswith("alert.") and "alert" in data:
            alert = Alert.from_dict(data["alert"])
            self.alerts[alert.id] = alert
            if alert.open:
                self._open[alert.key] = alert.id
            elif self._open.get(alert.key) == alert.id:
                del self._open[alert.key]
        elif kind.startswith("followup.") and "followup" in data:
            followup = Followup.from_dict(data["followup"])
            self.followups[followup.id] = followup

    def apply_all(self, events: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        for kind, data in events:
            self.apply(kind, data)

    def forget_before(self, day_start: datetime) -> None:
        """Drop alerts cleared before `day_start` (history stays in the event log).

        Acknowledged or not: an earlier day's cleared alert is that day's history, read
        through the history view, not something today's console still has to answer.
        """
        for alert_id, alert in list(self.alerts.items()):
            if alert.cleared_at is not None and alert.cleared_at < day_start:
                del self.alerts[alert_id]
