"""The alert desk: raises and clears the manager's alerts, and opens follow-ups for 不满意.

It follows the engine's changes (a rating, a pause, a device report wakes it at once) and
checks the time-based conditions every few seconds. Alerts and follow-ups live only as
events (`alert.*`, `followup.*`): the desk replays them at start-up, so acknowledgements,
notes and history survive a restart, and every console sees them on the event stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from queue_server.desks import stop_following, woken_or_every
from queue_server.desks.configuration import IN_FORCE_KEY
from queue_server.domain import (
    Change,
    CounterState,
    DomainError,
    InvalidInput,
    NotFound,
    TicketState,
)
from queue_server.domain.alerts import (
    NEGATIVE,
    Alert,
    AlertBook,
    AlertRules,
    Followup,
    conditions,
)
from queue_server.domain.day import day_start
from queue_server.engine import Engine
from queue_server.storage import CommitFailed
from queue_server.storage.events import (
    alert_and_followup_events,
    alert_bodies_between,
    last_paused_at,
)
from queue_server.storage.meta import read_meta
from wire import EventKind

log = logging.getLogger(__name__)
CHECK_S = 5.0  # time-based conditions (a wait growing past target) are checked this often
CHECK_GAP_S = 0.25  # a burst of calls is checked once, not once per call (loop seconds)
HISTORY_DAYS = 31  # alerts replayed at start-up; older ones stay in the event log


class AlertDesk:
    def __init__(self, engine: Engine, rules: AlertRules | None = None) -> None:
        self.engine = engine
        self.rules = rules or AlertRules()
        self.book = AlertBook()
        self.paused_since: dict[int, datetime] = {}
        self._ratings: list[tuple[int, int]] = []  # (ticket id, rating) still to follow up
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._day: date | None = None  # the business day whose alerts the book keeps

    # --------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Replay the stored alerts, then follow the engine (call after `engine.start`)."""
        self._load()
        self.engine.listeners.append(self._follow)
        self.engine.snapshot_parts.update(
            alerts=lambda: [a.to_dict() for a in self.book.attention()],
            followups=lambda: [f.to_dict() for f in self.book.open_followups()],
            today=self.today_figures,
        )
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await stop_following(self.engine.listeners, self._follow, self._task)

    def _load(self) -> None:
        conn = self.engine.read_conn
        in_force = json.loads(read_meta(conn, IN_FORCE_KEY) or "{}")
        self._take_thresholds(in_force.get("alerts") or {})
        since = self.engine.clock() - timedelta(days=HISTORY_DAYS)
        rows = alert_and_followup_events(conn, since)
        self.book.apply_all((kind, json.loads(body).get("data", {})) for kind, body in rows)
        for number, counter in self.engine.branch.counters.items():
            if counter.state is not CounterState.PAUSED:
                continue
            self.paused_since[number] = last_paused_at(conn, number) or self.engine.clock()
        self._forget_earlier_days(self.engine.clock())

    def _take_thresholds(self, thresholds: Mapping[str, Any]) -> None:
        """The head office's thresholds in force (checked before they were applied); a rule
        it leaves out is off."""
        count, share = thresholds.get("waiting_over"), thresholds.get("wait_over_target_share")
        self.rules = replace(
            self.rules,
            waiting_over=None if count is None else int(count),
            wait_over_target_share=None if share is None else float(share),
        )

    def _forget_earlier_days(self, now: datetime) -> None:
        """At the day's rollover, drop the alerts cleared on earlier days.

        A branch server runs for months: without this the book would hold every alert it
        ever cleared. They stay in the event log, where `history` reads them.
        """
        today = self.engine.branch.business_day(now)
        if today != self._day:
            self.book.forget_before(self._start_of(today))
            self._day = today

    def _start_of(self, day: date) -> datetime:
        settings = self.engine.branch.settings
        return day_start(day, settings.timezone, settings.day_starts_at)

    # ---------------------------------------------------------------- following
    def _follow(self, change: Change) -> None:
        wake = urgent = False
        for e in change.events:
            if e.kind.startswith(("alert.", "followup.")):
                self.book.apply(e.kind, e.data)
            elif e.kind == EventKind.TICKET_RATED and e.ticket is not None:
                if e.data.get("rating") == NEGATIVE:
                    self._ratings.append((e.ticket.id, NEGATIVE))
                    wake = urgent = True
            elif e.kind == EventKind.COUNTER_PAUSED and e.counter is not None:
                self.paused_since[e.counter.number] = e.at
                wake = urgent = True
            elif e.kind.startswith("counter.") and e.counter is not None:
                if e.counter.state is not CounterState.PAUSED:
                    self.paused_since.pop(e.counter.number, None)
                wake = urgent = True
            elif e.kind == EventKind.DEVICE_STATUS:
                wake = urgent = True
            elif e.kind == EventKind.CONFIG_APPLIED and "alerts" in e.data:
                self._take_thresholds(e.data["alerts"])
                wake = urgent = True
            elif e.kind in (EventKind.TICKET_CALLED, EventKind.TICKET_CANCELLED):
                wake = True  # a queue shrinking: checked with the rest of the burst
        if wake:
            self._wake.set()
        if urgent:
            self._urgent.set()

    async def _run(self) -> None:
        while True:
            await woken_or_every(self._wake, CHECK_S)
            try:
                await self.check()
            except (DomainError, CommitFailed) as exc:
                log.warning("checking alerts failed: %s", exc)
            # Calls in a busy branch are checked once per burst; a device, counter or rating
            # change (a fault that may last a moment) is checked at once.
            await woken_or_every(self._urgent, CHECK_GAP_S)

    async def check(self) -> list[Alert]:
        """Raise, escalate and clear alerts to match the branch now; open rating follow-ups."""
        async with self._lock:
            engine = self.engine
            now = engine.clock()
            self._forget_earlier_days(now)
            waiting = engine.waiting_summary(now)
            etas = {code: w.get("eta_new_s") for code, w in waiting.items()}
            # The scan reads every waiting ticket: on a worker thread, from a frozen copy,
            # so a long queue never holds the event loop.
            holding = await asyncio.to_thread(
                conditions,
                engine.branch.frozen_copy(open_only=True),  # waiting, counters, devices
                now,
                self.rules,
                paused_since=dict(self.paused_since),
                eta_new_s=etas,
            )
            entries: list[tuple[str, Mapping[str, Any]]] = [
                (kind, {"alert": alert.to_dict()})
                for kind, alert in self.book.reconcile(holding, now)
            ]
            ratings, self._ratings = self._ratings, []
            for ticket_id, rating in ratings:
                ticket = engine.branch.tickets.get(ticket_id)
                if ticket is None or ticket.state is not TicketState.DONE:
                    continue
                if any(f.ticket_id == ticket_id for f in self.book.followups.values()):
                    continue
                alert, followup = self.book.negative_rating(ticket, rating, now)
                entries.append((EventKind.ALERT_RAISED, {"alert": alert.to_dict()}))
                entries.append((EventKind.FOLLOWUP_OPENED, {"followup": followup.to_dict()}))
                # Two ratings in one check must not share a follow-up number.
                self.book.followups[followup.id] = followup
            if not entries:
                return []
            await self._record(entries)
            return [Alert.from_dict(d["alert"]) for _, d in entries if "alert" in d]

    async def _record(
        self, entries: Iterable[tuple[str, Mapping[str, Any]]], actor: str | None = None
    ) -> Change:
        listed = list(entries)
        return await self.engine.execute(lambda b, now: b.record(now, listed), actor=actor)

    # ---------------------------------------------------------------- commands
    async def acknowledge(self, alert_id: str, by: str) -> Alert:
        async with self._lock:
            try:
                alert = self.book.acknowledge(alert_id, by, self.engine.clock())
            except KeyError:
                raise NotFound(f"no alert {alert_id}", code="alert_unknown") from None
            await self._record(
                [(EventKind.ALERT_ACKNOWLEDGED, {"alert": alert.to_dict()})], actor=by
            )
            return self.book.alerts[alert_id]

    async def update_followup(
        self, followup_id: int, by: str, *, note: str | None, resolved: bool | None
    ) -> Followup:
        if note is not None and len(note) > 2000:
            raise InvalidInput("a follow-up note is at most 2000 characters", code="bad_note")
        async with self._lock:
            try:
                followup, cleared = self.book.update_followup(
                    followup_id, self.engine.clock(), by, note=note, resolved=resolved
                )
            except KeyError:
                raise NotFound(f"no follow-up {followup_id}", code="followup_unknown") from None
            entries: list[tuple[str, Mapping[str, Any]]] = [
                (EventKind.FOLLOWUP_UPDATED, {"followup": followup.to_dict()})
            ]
            if cleared is not None:
                entries.append((EventKind.ALERT_CLEARED, {"alert": cleared.to_dict()}))
            await self._record(entries, actor=by)
            return self.book.followups[followup_id]

    async def head_office_refused(self, kind: str, version: int, code: str, message: str) -> None:
        async with self._lock:
            if self.book.open_alert(f"head_office:{kind}:{version}") is not None:
                return  # the same document offered again: one alert is enough
            alert = self.book.head_office_refused(kind, version, code, message, self.engine.clock())
            await self._record([(EventKind.ALERT_RAISED, {"alert": alert.to_dict()})])

    async def head_office_applied(self, kind: str) -> None:
        async with self._lock:
            cleared = self.book.head_office_resolved(kind, self.engine.clock())
            if cleared:
                await self._record(
                    [(EventKind.ALERT_CLEARED, {"alert": a.to_dict()}) for a in cleared]
                )

    # ------------------------------------------------------------------ reading
    def followups(self, *, open_only: bool) -> list[Followup]:
        if open_only:
            return self.book.open_followups()
        return sorted(self.book.followups.values(), key=lambda f: f.id, reverse=True)

    def history(self, day: date) -> list[Alert]:
        """Every alert raised on a business day (latest state of each), newest first."""
        start = self._start_of(day)
        end = start + timedelta(days=1)
        latest: dict[str, Alert] = {}
        for body in alert_bodies_between(self.engine.read_conn, start, end):
            data = json.loads(body).get("data", {})
            if "alert" in data:
                alert = Alert.from_dict(data["alert"])
                if start <= alert.raised_at < end or alert.id in latest:
                    latest[alert.id] = alert
        return sorted(latest.values(), key=lambda a: (a.raised_at, a.id), reverse=True)

    def today_figures(self) -> dict[str, dict[str, int]]:
        """Per business, today's customers called so far and how many within the target."""
        b = self.engine.branch
        today = b.business_day(self.engine.clock())
        out = {code: {"called": 0, "within_target": 0} for code in b.services}
        for t in b.tickets.values():
            if t.business_day != today or t.called_at is None or t.leg != 0:
                continue
            figures = out.setdefault(t.service, {"called": 0, "within_target": 0})
            figures["called"] += 1
            service = b.services.get(t.service)
            target = service.target_wait_s if service is not None else 600
            if (t.called_at - t.arrived_at).total_seconds() <= target:
                figures["within_target"] += 1
        return out
