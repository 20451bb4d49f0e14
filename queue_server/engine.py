"""The branch engine: decides with the domain, commits through the writer, then publishes.

All domain work runs on the event loop's thread, so commands are naturally serialised
(two counters can never be handed the same customer); only fsyncs happen elsewhere.
A caller is answered after its change is durable; events go out in sequence order.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import logging
import os
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from .codec import (
    counter_to_dict,
    device_to_dict,
    dumps,
    event_to_dict,
    service_to_dict,
    ticket_from_dict,
    ticket_public,
)
from .customers import CustomerDirectory
from .domain import (
    Branch,
    CallingPolicy,
    Change,
    CounterState,
    InvalidState,
    NotFound,
    Ticket,
    TicketState,
    counter_day,
    skill_queues,
)
from .domain.staffing import (
    ArrivalPrior,
    advise_moves,
    branch_hours,
    forecast_arrivals,
    recommend,
    service_demands,
    service_level,
)
from .hub import EventHub
from .storage import CommitFailed, Writer, connect, load_branch, load_visit, migrate
from .storage.history import issue_records, service_samples
from .storage.prior import load_arrival_prior
from .visits import EformStore, bundle_views

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
STAFFING_LOOKBACK_DAYS = 56  # eight weeks of history: eight of each weekday


def utc_now() -> datetime:
    return datetime.now(UTC)


def tune_gc() -> None:
    """Keep garbage-collection pauses out of the teller's p99.

    The server holds thousands of long-lived tickets; Python's default thresholds make the
    collector rescan them many times a second under load (p99 doubled in `bench server`).
    Objects alive after start-up are frozen out of collection, and young collections run
    less often. Reference counting still frees everything that is not in a cycle.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


class Engine:
    def __init__(
        self,
        db_path: str | Path,
        *,
        clock: Clock = utc_now,
        policy: CallingPolicy | None = None,
        history: int = 10_000,
    ) -> None:
        self.db_path = Path(db_path)
        self.clock = clock
        self._policy = policy
        self._history = history
        self.generation = 0
        self.epoch = secrets.token_hex(6)  # changes at every start and reload
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self._day_seen: date | None = None
        self._entropy = bytearray()
        self.branch: Branch
        self.hub: EventHub
        self.writer: Writer
        self.read_conn = connect(self.db_path)
        self.customers = CustomerDirectory(self.read_conn)
        self.eforms = EformStore()  # memory only, never stored: see visits.py
        # Arrivals to assume while the event log holds too little history (staffing advice).
        self.arrival_prior: ArrivalPrior | None = None

    # --------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        tune_gc()
        migrate(self.db_path)
        self.branch = load_branch(self.read_conn, self.clock(), self._policy)
        if self.arrival_prior is None:  # the branch config's [arrivals], kept at init
            self.arrival_prior = load_arrival_prior(self.read_conn)
        self.hub = EventHub(self.branch.last_seq, history=self._history)
        loop = asyncio.get_running_loop()
        self.writer = Writer(self.db_path, self.branch.settings.branch_id, loop, self._durable)
        self.writer.start()

    async def stop(self) -> None:
        await asyncio.to_thread(self.writer.stop)
        self.read_conn.close()

    def _durable(self, encoded: list[list[tuple[int, str]]]) -> None:
        for events in encoded:
            self.hub.publish(events)

    async def _reload(self, failed_generation: int) -> None:
        if failed_generation != self.generation:
            return  # someone already reloaded after this failure
        self.generation += 1
        self.epoch = secrets.token_hex(6)
        self.branch = load_branch(self.read_conn, self.clock(), self._policy)
        self.eforms.retain(self.branch.tickets)  # a form moved to a leg that never committed
        self.hub.resync_all(self.branch.last_seq)
        log.warning("state reloaded from the database after a failed commit")

    # ---------------------------------------------------------------- commands
    async def execute(self, decide: Callable[[Branch, datetime], Change]) -> Change:
        """Decide on current state, apply, wait until durable. DomainError changes nothing."""
        now = self.clock()
        today = self.branch.business_day(now)
        change = decide(self.branch, now)
        if change.empty:
            return change
        self.branch.apply(change)
        self.eforms.follow(change, today)
        generation = self.generation
        encoded = [(e.seq, dumps(event_to_dict(e))) for e in change.events]  # once, for all
        try:
            await self.writer.submit(change, encoded, generation)
        except CommitFailed:
            await self._reload(generation)
            raise
        if self._day_seen != today:
            self._day_seen = today
            self.branch.forget_closed_days(today)
        return change

    async def issue_ticket(
        self, service: str, *, idempotency_key: str | None = None, **kwargs: Any
    ) -> tuple[Ticket, bool]:
        """Issue a ticket; with a key already used, return that ticket (replayed=True)."""
        if idempotency_key is not None:
            earlier = await self._ticket_for_key(idempotency_key)
            if earlier is not None:
                if earlier.service != service:
                    raise InvalidState(
                        "this Idempotency-Key was used for another request",
                        code="idempotency_key_reused",
                    )
                return earlier, True
        token = self._new_token()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if idempotency_key is not None:
            self._inflight[idempotency_key] = future
        try:
            change = await self.execute(
                lambda b, now: b.issue_ticket(
                    service, now, idempotency_key=idempotency_key, token=token, **kwargs
                )
            )
        finally:
            if idempotency_key is not None:
                self._inflight.pop(idempotency_key, None)
            future.set_result(None)
        assert isinstance(change.result, Ticket)
        return change.result, False

    def _new_token(self) -> str:
        """128 random bits for a live-ticket link, from a buffer of os.urandom bytes
        (the system call is slow on some machines and a ticket needs only 16 bytes)."""
        if len(self._entropy) < 16:
            self._entropy += os.urandom(4096)
        raw = bytes(self._entropy[:16])
        del self._entropy[:16]
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    async def _ticket_for_key(self, key: str) -> Ticket | None:
        pending = self._inflight.get(key)
        if pending is not None:
            await asyncio.shield(pending)  # the first request decides; the retry reports it
        tid = self.branch.idempotency.get(key)
        if tid is not None and tid in self.branch.tickets:
            return self.branch.tickets[tid]
        row = self.read_conn.execute(
            "SELECT * FROM tickets WHERE idempotency_key = ?", (key,)
        ).fetchone()
        return ticket_from_dict(dict(row)) if row is not None else None

    def find_ticket(self, ticket_id: int) -> Ticket:
        if ticket_id in self.branch.tickets:
            return self.branch.tickets[ticket_id]
        row = self.read_conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise NotFound(f"unknown ticket {ticket_id}", code="unknown_ticket")
        return ticket_from_dict(dict(row))

    def visit_legs(self, ticket_id: int) -> list[Ticket]:
        """Every leg of the ticket's visit, first leg first (memory, else the database)."""
        visit_id = self.find_ticket(ticket_id).visit_id
        legs = {t.id: t for t in self.branch.tickets.values() if t.visit_id == visit_id}
        if len(legs) != max((t.leg for t in legs.values()), default=-1) + 1:
            # Earlier legs of a visit open across the day's rollover (or an old visit) are
            # only stored; legs in memory are newer than any stored copy of them.
            stored = {t.id: t for t in load_visit(self.read_conn, visit_id)}
            legs = stored | legs
        return sorted(legs.values(), key=lambda t: (t.leg, t.id))

    # ------------------------------------------------------------------ views
    def ticket_view(self, ticket: Ticket, *, with_token: bool = False) -> dict[str, Any]:
        """A ticket with its live position and naive ETA, as the kiosk and phone show it.

        The live-page token goes only to whoever issued the ticket (to print its QR code).
        """
        out = ticket_public(ticket)
        if with_token:
            out["token"] = ticket.token
        now = self.clock()
        if ticket.state is TicketState.WAITING and ticket.id in self.branch.tickets:
            position = self.branch.position(ticket, now)
            out["position"] = position
            out["eta_s"] = self.branch.naive_eta_s(ticket, now, position)
        else:
            out["position"] = 0
            out["eta_s"] = 0.0 if not ticket.state.is_final else None
        return out

    def snapshot(self) -> dict[str, Any]:
        """The whole live state at one sequence number: what a client rebuilds from."""
        b = self.branch
        now = self.clock()
        today = b.business_day(now)
        open_tickets = [t for t in b.tickets.values() if not t.state.is_final]
        called_today = sorted(
            (t for t in b.tickets.values() if t.called_at is not None and t.business_day == today),
            key=lambda t: t.called_at or now,
            reverse=True,
        )[:20]
        return {
            "epoch": self.epoch,
            "seq": b.last_seq,
            "at": now.isoformat(),
            "business_day": today.isoformat(),
            "branch": {
                "name": b.settings.name,
                "id": b.settings.branch_id,
                "timezone": b.settings.timezone,
                "languages": list(b.settings.languages),
                "care_age": b.settings.care_age,
                "notice": b.settings.notice,
            },
            "services": [service_to_dict(s) for s in sorted(b.services.values(), key=_svc_key)],
            "bundles": bundle_views(b),
            "counters": [counter_to_dict(c) for c in sorted(b.counters.values(), key=_ctr_key)],
            "tickets": [ticket_public(t) for t in sorted(open_tickets, key=lambda t: t.id)],
            "recent_calls": [ticket_public(t) for t in called_today],
            "devices": [device_to_dict(d) for d in sorted(b.devices.values(), key=_dev_key)],
            "waiting": self.waiting_summary(now),
        }

    def counter_today(self, number: int) -> dict[str, Any]:
        """A counter's figures for the current business day (from the tickets in memory)."""
        b = self.branch
        b.counter(number)
        day = counter_day(b.tickets.values(), number, b.business_day(self.clock()))
        return {
            "counter": day.counter,
            "business_day": day.business_day.isoformat(),
            "called": day.called,
            "served": day.served,
            "no_shows": day.no_shows,
            "transfers_out": day.transfers_out,
            "avg_service_s": day.avg_service_s,
            "avg_wait_s": day.avg_wait_s,
            "ratings": {str(r): n for r, n in day.ratings.items()},
            "rating_avg": day.rating_avg,
            "by_staff": {
                staff: {"called": s.called, "served": s.served, "avg_service_s": s.avg_service_s}
                for staff, s in day.by_staff.items()
            },
        }

    def counter_queue(self, number: int, limit: int) -> dict[str, Any]:
        """Who call-next would give this counter next, and the queues of its businesses."""
        b = self.branch
        now = self.clock()
        counter = b.counter(number)
        waiting = b.waiting
        return {
            "counter": number,
            "at": now.isoformat(),
            "next": [self.ticket_view(t) for t in b.next_customers(number, now, limit)],
            "by_service": {
                q.service: {
                    "waiting": q.waiting,
                    "longest_wait_s": round(q.longest_wait_s),
                    "target_wait_s": q.target_wait_s,
                    "overflow": q.overflow,
                    "over_target": q.over_target,
                }
                for q in skill_queues(counter, waiting, now, b.services)
            },
            "targeted": sum(1 for t in waiting if t.target_counter == number),
        }

    def visit_history(self, ticket_id: int) -> dict[str, Any]:
        """The ticket's whole visit: every leg with its counter, staff, times and note."""
        legs = self.visit_legs(ticket_id)
        return {"visit_id": legs[0].visit_id, "legs": [self.ticket_view(t) for t in legs]}

    def waiting_summary(self, now: datetime) -> dict[str, dict[str, Any]]:
        """Per business: how many wait, the longest wait, the naive wait for a newcomer."""
        b = self.branch
        out: dict[str, dict[str, Any]] = {}
        for code, svc in b.services.items():
            queue = [t for t in b.waiting if t.service == code]
            counters = b.serving_counters(code)
            longest = max(((now - t.arrived_at).total_seconds() for t in queue), default=0.0)
            out[code] = {
                "waiting": len(queue),
                "longest_wait_s": round(longest),
                "open_counters": counters,
                "eta_new_s": (len(queue) * svc.mean_service_s / counters) if counters else None,
            }
        return out

    # --------------------------------------------------------------- staffing
    async def staffing_advice(self, day: date | None = None) -> dict[str, Any]:
        """Forecast arrivals, windows each business needs per interval, and counter moves."""
        b = self.branch
        now = self.clock()
        today = b.business_day(now)
        day = day or today
        since = datetime.combine(day - timedelta(days=STAFFING_LOOKBACK_DAYS + 1), time(), UTC)
        until = datetime.combine(day + timedelta(days=2), time(), UTC)
        records, samples = await asyncio.to_thread(self._staffing_history, since, until)
        services = sorted((s for s in b.services.values() if s.enabled), key=_svc_key)
        forecast = forecast_arrivals(
            records,
            day,
            [s.code for s in services],
            timezone=b.settings.timezone,
            day_starts_at=b.settings.day_starts_at,
            hours=branch_hours(services),
            prior=self.arrival_prior,
            lookback_days=STAFFING_LOOKBACK_DAYS,
        )
        demands = service_demands(services, samples)
        plan = recommend(forecast, demands)
        staffed = [c for c in b.counters.values() if c.state is not CounterState.CLOSED]
        if day != today or not staffed:
            staffed = list(b.counters.values())  # planning ahead: every window may open
        moves = advise_moves(
            plan, sorted(staffed, key=_ctr_key), after=now if day == today else None
        )
        intervals = []
        for interval in plan.intervals:
            current = day == today and interval.start <= now < interval.end
            by_service: dict[str, Any] = {}
            for code, a in interval.by_service.items():
                d = demands[code]
                open_now = b.serving_counters(code) if current else None
                by_service[code] = {
                    "forecast_arrivals": round(a.forecast_arrivals, 2),
                    "offered_load": round(a.offered_load, 3),
                    "recommended_windows": a.recommended_windows,
                    "service_level": round(a.service_level, 4),
                    "open_windows_now": open_now,
                    "service_level_now": None
                    if open_now is None
                    else round(
                        service_level(
                            a.offered_load, open_now, d.mean_service_s, d.target_wait_s, d.cv
                        ),
                        4,
                    ),
                }
            intervals.append(
                {
                    "start": interval.start.isoformat(),
                    "end": interval.end.isoformat(),
                    "current": current,
                    "by_service": by_service,
                }
            )
        return {
            "day": day.isoformat(),
            "interval_min": forecast.interval_min,
            "forecast_basis": forecast.basis,
            "history_days": forecast.days_used,
            "services": {
                code: {
                    "mean_service_s": round(d.mean_service_s, 1),
                    "cv": round(d.cv, 3),
                    "samples": d.samples,
                    "target_wait_s": d.target_wait_s,
                    "target_share": d.target_share,
                }
                for code, d in demands.items()
            },
            "recommended_counter_hours": round(plan.counter_hours(), 2),
            "intervals": intervals,
            "moves": [
                {
                    "counter": m.counter,
                    "counter_name": b.counters[m.counter].name,
                    "from_service": m.from_service,
                    "to_service": m.to_service,
                    "start": m.start.isoformat(),
                    "end": m.end.isoformat(),
                }
                for m in moves
            ],
        }

    def _staffing_history(
        self, since: datetime, until: datetime
    ) -> tuple[list[tuple[datetime, str]], list[tuple[str, float]]]:
        conn = connect(self.db_path)  # a worker thread reads on its own connection
        try:
            return issue_records(conn, since, until), service_samples(conn, since, until)
        finally:
            conn.close()


def _svc_key(s: Any) -> tuple[int, str]:
    return (s.sort, s.code)


def _dev_key(d: Any) -> str:
    return str(d.device)


def _ctr_key(c: Any) -> int:
    return int(c.number)
