"""The branch engine: decides with the domain, commits through the writer, then publishes.

All domain work runs on the event loop's thread, so commands are naturally serialised
(two counters can never be handed the same customer); only fsyncs happen elsewhere.
A caller is answered after its change is durable; events go out in sequence order.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import logging
import math
import os
import random
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from queue_server.call_advice import ADVICE_TIMEOUT_S, advise_call, advised_policy
from queue_server.customers import CustomerDirectory
from queue_server.domain import (
    Branch,
    CallingPolicy,
    Change,
    CounterState,
    Event,
    InvalidState,
    NotFound,
    PriorityClass,
    Ticket,
    TicketState,
    counter_day,
)
from queue_server.domain.eta import (
    ArrivalRates,
    Booking,
    Prediction,
    ServiceModel,
    WaitEstimate,
    booked_appointments,
    class_mix_of,
    hourly_by_local_hour,
    kind_of,
    naive_wait_s,
    predict_waits,
    todays_volume,
)
from queue_server.domain.figures import CounterDay
from queue_server.domain.policies import Forecast as HallForecast
from queue_server.domain.staffing import (
    ArrivalPrior,
    Forecast,
    Move,
    ServiceDemand,
    StaffingPlan,
    advise_moves,
    branch_hours,
    forecast_arrivals,
    recommend,
    service_demands,
    with_live_queue,
)
from queue_server.hub import EventHub
from queue_server.predictor import run_in_predictor
from queue_server.storage import (
    CommitFailed,
    Writer,
    check_storable,
    connect,
    load_branch,
    load_visit,
    migrate,
    stored_change,
)
from queue_server.storage.db import Statement
from queue_server.storage.history import issue_records, service_samples
from queue_server.storage.lock import ServerLock
from queue_server.storage.prior import load_arrival_prior
from queue_server.storage.reports import first_call_times
from queue_server.storage.tickets import ticket_by_id, ticket_by_idempotency_key
from queue_server.visits import EformStore
from queue_server.wire_encode import (
    counter_wire,
    dumps,
    event_wire,
    service_wire,
    ticket_wire,
)
from wire import WaitingSummary, WaitsMessage
from wire.waits import ShownWait, shown_wait

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
STAFFING_LOOKBACK_DAYS = 56  # eight weeks of history: eight of each weekday
PREDICT_INTERVAL_S = 0.25  # predictions start at most this often (loop seconds)
PREDICT_WORK = 150 * 30  # waiting tickets × runs per prediction: ~18 ms (bench predict)
PREDICT_MAX_WAITING = 400  # beyond this (> ~20 ms a prediction), the naive ETA is shown
WAITS_PUSH_S = 0.25  # per-business waits go to subscribers at most this often (loop seconds)


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
        # Called with every change once it is durable (the alert desk follows ratings).
        self.listeners: list[Callable[[Change], None]] = []
        # Called (on the loop) after each commit; must be cheap and never block (the shipper).
        self.committed: list[Callable[[], None]] = []
        # Extra parts of the snapshot, by name (alerts and follow-ups for the manager).
        self.snapshot_parts: dict[str, Callable[[], Any]] = {}
        # Arrivals to assume while the event log holds too little history (staffing advice).
        self.arrival_prior: ArrivalPrior | None = None
        # The simulation wait predictor: one prediction per event sequence number, at most.
        self.service_model: ServiceModel | None = None
        self.predict_interval_s = PREDICT_INTERVAL_S
        self.predict_max_waiting = PREDICT_MAX_WAITING
        self._prediction: _Cached | None = None  # the latest finished
        self._predict_failed_logged = False
        # Where predictions run: the shared predictor process by default (see predictor.py).
        self.predictor: Executor | None = None
        self.predict = predict_waits  # the function it runs (a test may give its own)
        # A lookahead policy's calls are decided there too (see call_advice.py).
        self.advise = advise_call
        self.advice_timeout_s = ADVICE_TIMEOUT_S
        self._predict_timer: asyncio.TimerHandle | None = None
        self._predict_running: asyncio.Future[Prediction] | None = None
        self._predict_again = False
        self._predict_started_at = -math.inf  # loop time
        self._loop: asyncio.AbstractEventLoop
        self._loop_thread = 0
        # Per-business waits pushed to subscribers after events (see `_push_waits`).
        self.waits_push_s = WAITS_PUSH_S
        self._waits_sent: dict[str, WaitingSummary] | None = None
        self._waits_timer: asyncio.TimerHandle | None = None
        self._waits_pushed_at = -math.inf  # loop time of the last computation

    # --------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        tune_gc()
        self._lock = ServerLock.acquire(self.db_path)  # one server per database
        try:
            migrate(self.db_path)
            self.branch = load_branch(self.read_conn, self.clock(), self._policy)
        except BaseException:
            self._lock.release()
            raise
        if self.arrival_prior is None:  # the branch config's [arrivals], kept at init
            self.arrival_prior = load_arrival_prior(self.read_conn)
        if self.service_model is None:
            self.service_model = self._fit_service_model()
        self.hub = EventHub(self.branch.last_seq, history=self._history)
        self._waits_sent = self.waiting_summary(self.clock())  # what a snapshot would say now
        loop = self._loop
        self.writer = Writer(self.db_path, self.branch.settings.branch_id, loop, self._durable)
        self.writer.start()

    async def stop(self) -> None:
        if self._waits_timer is not None:
            self._waits_timer.cancel()
        if self._predict_timer is not None:
            self._predict_timer.cancel()
        await asyncio.to_thread(self.writer.stop)
        self.read_conn.close()
        self._lock.release()

    def _durable(self, encoded: list[list[tuple[int, str]]]) -> None:
        for events in encoded:
            self.hub.publish(events)
        for wake in self.committed:
            wake()
        self._waits_soon()
        self._predict_soon()

    async def _reload(self, failed_generation: int) -> None:
        if failed_generation != self.generation:
            return  # someone already reloaded after this failure
        self.generation += 1
        self.epoch = secrets.token_hex(6)
        self.branch = load_branch(self.read_conn, self.clock(), self._policy)
        self.eforms.retain(self.branch.tickets)  # a form moved to a leg that never committed
        self.hub.resync_all(self.branch.last_seq)
        log.warning("state reloaded from the database after a failed commit")

    def run_policy(self, policy: CallingPolicy) -> None:
        """From now on the branch calls by `policy` (kept across a reload after a failed
        commit); the waits are predicted again under it."""
        self._policy = policy
        self.branch.policy = policy
        self._predict_soon()

    # ---------------------------------------------------------------- commands
    async def execute(
        self,
        decide: Callable[[Branch, datetime], Change],
        *,
        actor: str | None = None,
        also: Sequence[Statement] = (),
    ) -> Change:
        """Decide on current state, apply, wait until durable. DomainError changes nothing.

        `actor` (who did it, for the audit log) is written into every event of the change,
        with the counter's or business's state before it. `also`: writes outside the branch's
        state that must commit with the change's events or not at all.
        """
        now = self.clock()
        today = self.branch.business_day(now)
        change = decide(self.branch, now)
        if change.empty:
            return change
        if actor is not None:
            change.events[:] = [self._audited(e, actor) for e in change.events]
        encoded = [(e.seq, dumps(event_wire(e))) for e in change.events]  # once, for all
        stored = stored_change(change, self.writer.branch_id, encoded)
        if also:
            stored = replace(stored, statements=[*stored.statements, *also])
        check_storable(stored)  # before applying: one bad text must not fail the group commit
        self.branch.apply(change)
        self.eforms.follow(change, today)
        generation = self.generation
        try:
            await self.writer.submit(stored, generation)
        except CommitFailed:
            await self._reload(generation)
            raise
        if self._day_seen != today:
            self._day_seen = today
            self.branch.forget_closed_days(today)
        for listener in self.listeners:
            listener(change)
        return change

    async def durable(self) -> None:
        """Return once every change applied so far is committed, so that what is read next
        (a snapshot) is no newer than the database: `execute` applies a change before its
        commit, and a kill -9 in between must not leave a client holding a state the
        restarted server never had. Changes commit in order, so the latest one is enough."""
        while (last := self.writer.last) is not None and not last.done():
            with contextlib.suppress(Exception):  # a failed commit reloads; its caller hears
                await asyncio.shield(last)

    async def call_next(self, counter_no: int, call_key: str | None = None) -> Ticket | None:
        """Call-next; a lookahead policy decides off the event loop (see call_advice.py)."""
        policy = await advised_policy(
            self.branch,
            counter_no,
            self.clock(),
            executor=self.predictor,
            advise=self.advise,
            timeout_s=self.advice_timeout_s,
        )
        if call_key is not None:  # the same call, retried while this one was deciding
            earlier = self.branch.call_keys.get((counter_no, call_key))
            if earlier is not None:
                return self.branch.ticket(earlier)
        change = await self.execute(
            lambda b, now: b.call_next(counter_no, now, call_key=call_key, policy=policy)
        )
        return change.result if isinstance(change.result, Ticket) else None

    def _audited(self, event: Event, actor: str) -> Event:
        data: dict[str, Any] = {**event.data, "actor": actor}
        if event.counter is not None:
            old_counter = self.branch.counters.get(event.counter.number)
            data["before"] = counter_wire(old_counter) if old_counter else None
        elif event.service is not None:
            old_service = self.branch.services.get(event.service.code)
            data["before"] = service_wire(old_service) if old_service else None
        elif event.ticket is not None and event.ticket.id in self.branch.tickets:
            # A ticket someone changed (the lobby's triage): the audit log shows it before.
            data["before"] = ticket_wire(self.branch.tickets[event.ticket.id])
        return replace(event, data=data)

    async def issue_ticket(
        self,
        service: str,
        *,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
        actor: str | None = None,
        **kwargs: Any,
    ) -> tuple[Ticket, bool]:
        """Issue a ticket; with a key already used for the same request (`request_hash`),
        return that ticket (replayed=True); for another request, refuse."""
        if idempotency_key is not None:
            earlier = await self._ticket_for_key(idempotency_key)
            if earlier is not None:
                if earlier.service != service or earlier.request_hash != request_hash:
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
                    service,
                    now,
                    idempotency_key=idempotency_key,
                    request_hash=request_hash,
                    token=token,
                    **kwargs,
                ),
                actor=actor,
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
        return ticket_by_idempotency_key(self.read_conn, key)

    def find_ticket(self, ticket_id: int) -> Ticket:
        if ticket_id in self.branch.tickets:
            return self.branch.tickets[ticket_id]
        ticket = ticket_by_id(self.read_conn, ticket_id)
        if ticket is None:
            raise NotFound(f"unknown ticket {ticket_id}", code="unknown_ticket")
        return ticket

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

    # --------------------------------------------------------------- prediction
    def _fit_service_model(self) -> ServiceModel:
        """Service times of the last weeks in the event log, shrunk towards the config."""
        until = self.clock()
        since = until - timedelta(days=STAFFING_LOOKBACK_DAYS)
        samples = service_samples(self.read_conn, since, until)
        return ServiceModel.from_services(
            self.branch.services.values(), [(code, None, s) for code, s in samples]
        )

    def prediction(self) -> Prediction | None:
        """The latest finished simulation prediction (`_Cached` says for which state).

        Never computed here: predictions run in the predictor process (`_predict_soon`),
        after events and whenever the answer served is older than the state. None: none has
        finished yet, the predictor failed (logged once), or more than
        `predict_max_waiting` wait (far beyond any real branch's queue): callers then show
        the naive formula.
        """
        if self.branch.waiting_count > self.predict_max_waiting:
            return None
        cached = self._prediction
        if cached is None or cached.key != (self.epoch, self.branch.last_seq):
            if threading.get_ident() == self._loop_thread:
                self._predict_soon()
            else:  # a test or tool asking from its own thread
                self._loop.call_soon_threadsafe(self._predict_soon)
        return cached.prediction if cached is not None else None

    def _predict_soon(self) -> None:
        """Start a prediction of the current state in the predictor process, at most one at
        a time and one every `predict_interval_s` of loop time; a change during a run asks
        for another."""
        if self._predict_timer is not None or self._predict_running is not None:
            self._predict_again = self._predict_running is not None
            return
        loop = self._loop
        delay = max(0.0, self._predict_started_at + self.predict_interval_s - loop.time())
        self._predict_timer = loop.call_later(delay, self._start_prediction)

    def _start_prediction(self) -> None:
        self._predict_timer = None
        b = self.branch
        if b.waiting_count > self.predict_max_waiting:
            return
        loop = asyncio.get_running_loop()
        self._predict_started_at = loop.time()
        self._predict_again = False
        now = self.clock()
        key = (self.epoch, b.last_seq)
        waiting = b.waiting_count
        model = self.service_model
        if model is None:
            return
        arrivals, bookings = arrival_rates(b, self.arrival_prior, now), booked_appointments(b)
        made = b.forecast.made_at
        if made is None or (now - made).total_seconds() >= FORECAST_REFRESH_S:
            b.forecast = hall_forecast(arrivals, bookings, now, b.settings.timezone)
        # Only what the simulation reads goes to the other process: the open tickets,
        # counters and businesses; today's arrivals and the bookings are summed up here.
        predict = partial(
            self.predict,
            b.frozen_copy(open_only=True),
            now,
            model,
            runs=max(8, min(30, PREDICT_WORK // max(1, waiting))),
            rng=random.Random(key[1]),
            arrivals=arrivals,
            bookings=bookings,
            # One seed all day: each prediction draws the same service times for the same
            # tickets, so an event that puts no one ahead of a customer leaves their wait.
            common_seed=b.business_day(now).toordinal(),
        )
        if self.predictor is not None:
            job = loop.run_in_executor(self.predictor, predict)
        else:
            job = run_in_predictor(loop, predict)
        self._predict_running = job
        queued = _queued(b.waiting)
        job.add_done_callback(lambda done: self._prediction_done(done, key, now, queued))

    def _prediction_done(
        self,
        done: asyncio.Future[Prediction],
        key: tuple[str, int],
        at: datetime,
        queued: dict[str, int],
    ) -> None:
        self._predict_running = None
        if done.cancelled():
            return
        error = done.exception()
        if error is not None:
            self._prediction = None
            if not self._predict_failed_logged:
                self._predict_failed_logged = True
                log.error("wait prediction failed; showing the naive ETA", exc_info=error)
        else:
            self._prediction = _Cached(key, at, queued, done.result())
            self._waits_soon()  # the new answer goes out to the displays
        if self._predict_again or (self.epoch, self.branch.last_seq) != key:
            self._predict_again = False
            self._predict_soon()

    async def prediction_settled(self) -> Prediction | None:
        """Wait until the prediction served is of the current state (tests, `bench`)."""
        while True:
            pred = self.prediction()
            cached = self._prediction
            running = self._predict_running
            if cached is not None and cached.key == (self.epoch, self.branch.last_seq):
                return pred
            if pred is None and self.branch.waiting_count > self.predict_max_waiting:
                return None
            if running is not None:
                await asyncio.wait([running])
                continue
            if cached is None and self._predict_failed_logged:
                return None
            await asyncio.sleep(self.predict_interval_s / 4)

    def _newcomer_shift_s(self, code: str, ahead_now: int, counters: int) -> float:
        """How much later than the served prediction says a newcomer of `code` is called:
        one mean service per counter for each customer queued since it was made (negative
        when the queue shrank). 0 when it is of the current state. A prediction made while
        the counters stood idle must never answer 0 for the queue that formed since."""
        cached = self._prediction
        if cached is None or counters <= 0:
            return 0.0
        if cached.key == (self.epoch, self.branch.last_seq):
            return 0.0
        svc = self.branch.services.get(code)
        if svc is None:
            return 0.0
        grown = ahead_now - cached.queued.get(code, 0)
        return grown * svc.mean_service_s / counters

    def waiting_summary(self, now: datetime) -> dict[str, WaitingSummary]:
        """Per business: how many wait, the longest wait, the open counters serving it, and
        a newcomer's predicted wait (median and 80 % interval, seconds).

        The wait is the simulation's; the naive rule (low = median = high) for a business the
        predictor has no answer for; None for a business no open counter serves. Clients show
        these figures as sent (the snapshot's, then every "waits" message's).
        """
        b = self.branch
        pred = self.prediction()
        queues: dict[str, list[Ticket]] = {code: [] for code in b.services}
        for t in b.waiting:
            queues.setdefault(t.service, []).append(t)
        out: dict[str, WaitingSummary] = {}
        for code, svc in b.services.items():
            queue = queues[code]
            counters = b.serving_counters(code)
            longest = max(((now - t.arrived_at).total_seconds() for t in queue), default=0.0)
            est = pred.newcomers.get(code) if pred is not None and counters else None
            if est is None:
                naive = naive_wait_s(len(queue), svc.mean_service_s, counters)
                eta = low = high = None if naive is None else round(naive, 1)
            else:
                eta, low, high = _rounded(est, self._newcomer_shift_s(code, len(queue), counters))
            out[code] = {
                "waiting": len(queue),
                "longest_wait_s": round(longest),
                "open_counters": counters,
                "eta_new_s": eta,
                "eta_low_s": low,
                "eta_high_s": high,
                **shown_wait(eta, low, high),
            }
        return out

    def shown_waits(self) -> dict[str, ShownWait]:
        """Per business, a new walk-in's wait as the kiosks were last sent it.

        Safe from another thread (the head-office shipper's): the summary is replaced
        whole, never changed in place, so a reader holds one consistent dict."""
        sent = self._waits_sent or {}
        return {
            code: {
                "wait_min": w["wait_min"],
                "wait_low_min": w["wait_low_min"],
                "wait_high_min": w["wait_high_min"],
                "wait_capped": w["wait_capped"],
            }
            for code, w in sent.items()
        }

    def _waits_soon(self) -> None:
        """Events went out: push the waiting summary once they settle (at most every
        `waits_push_s` of loop time, the last state of a burst always included)."""
        if self._waits_timer is not None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._waits_pushed_at + self.waits_push_s - loop.time())
        self._waits_timer = loop.call_later(delay, self._push_waits)

    def _push_waits(self) -> None:
        """Send subscribers the per-business waiting summary when it differs from the last
        sent: counts, longest waits, open counters or predicted waits (clients recount
        nothing, so any change after events must reach them).

        Not an event: no sequence number, not in the resume history (see `EventHub`).
        """
        self._waits_timer = None
        self._waits_pushed_at = asyncio.get_running_loop().time()
        now = self.clock()
        try:
            waits = self.waiting_summary(now)
        except Exception:  # a view must never take the event loop down
            log.exception("the waiting summary could not be computed")
            return
        if waits == self._waits_sent:
            return
        self._waits_sent = waits
        message: WaitsMessage = {
            "type": "waits",
            "after_seq": self.branch.last_seq,
            "epoch": self.epoch,
            "at": now.isoformat(),
            "waits": waits,
        }
        self.hub.publish_waits(dumps(message))

    # ------------------------------------------------------ answers for the views
    def ticket_wait(self, ticket: Ticket) -> TicketWait:
        """The ticket's place in the queue and predicted wait until called (api/views.py).

        The simulation predictor's median and 80 % interval; the naive rule when it has no
        answer; 0 once called, None once final.
        """
        now = self.clock()
        position = 0
        eta: float | None = 0.0 if not ticket.state.is_final else None
        low = high = eta
        if ticket.state is TicketState.WAITING and ticket.id in self.branch.tickets:
            position = self.branch.position(ticket, now)
            pred = self.prediction()
            est = None
            shift = 0.0
            if pred is not None:
                est = pred.tickets.get(ticket.id)
                if est is None and ticket.id >= pred.first_new_id:
                    # Issued since: as a newcomer of its own class (a care or appointment
                    # customer is never told the regular queue's wait), moved by one mean
                    # service per counter for each customer more ahead of it than then.
                    kind = kind_of(ticket, now)
                    est = pred.by_kind.get(kind) or pred.newcomers.get(ticket.service)
                    then = pred.ahead_of_kind.get(kind)
                    counters = self.branch.serving_counters(ticket.service)
                    svc = self.branch.services.get(ticket.service)
                    if then is not None and svc is not None and counters:
                        shift = (position - then) * svc.mean_service_s / counters
                    else:
                        shift = self._newcomer_shift_s(ticket.service, position, counters)
            if est is not None:
                eta, low, high = _rounded(est, shift)
            else:
                eta = low = high = self.branch.naive_eta_s(ticket, now, position)
        return TicketWait(position, eta, low, high)

    def counter_day(self, number: int) -> CounterDay:
        """A counter's figures for the current business day (from the tickets in memory)."""
        b = self.branch
        b.counter(number)
        today = b.business_day(self.clock())
        # A recall moves called_at; the wait counts to the first call (one indexed lookup).
        recalled = [
            t.id
            for t in b.tickets.values()
            if t.counter == number and t.recall_count and t.business_day == today
        ]
        first_calls = first_call_times(self.read_conn, recalled)
        return counter_day(b.tickets.values(), number, today, first_calls=first_calls)

    # --------------------------------------------------------------- staffing
    async def staffing_outlook(self, day: date | None = None) -> StaffingOutlook:
        """Forecast arrivals, windows each business needs per interval, and counter moves.

        Reading eight weeks of history and searching the plan take far longer than any
        callback may hold the event loop: both run on a worker thread, from a frozen copy.
        """
        frozen = self.branch.frozen_copy()
        return await asyncio.to_thread(
            _staffing_outlook, frozen, self.db_path, self.clock(), self.arrival_prior, day
        )


def _staffing_outlook(
    b: Branch, db_path: Path, now: datetime, prior: ArrivalPrior | None, day: date | None
) -> StaffingOutlook:
    today = b.business_day(now)
    day = day or today
    since = datetime.combine(day - timedelta(days=STAFFING_LOOKBACK_DAYS + 1), time(), UTC)
    until = datetime.combine(day + timedelta(days=2), time(), UTC)
    conn = connect(db_path)  # a worker thread reads on its own connection
    try:
        records, samples = issue_records(conn, since, until), service_samples(conn, since, until)
    finally:
        conn.close()
    services = sorted((s for s in b.services.values() if s.enabled), key=_svc_key)
    forecast = forecast_arrivals(
        records,
        day,
        [s.code for s in services],
        timezone=b.settings.timezone,
        day_starts_at=b.settings.day_starts_at,
        hours=branch_hours(services, b.settings.opening_hours, day),
        prior=prior,
        lookback_days=STAFFING_LOOKBACK_DAYS,
    )
    waiting: dict[str, int] = {}
    if day == today:
        waiting = _queued(b.waiting)
        forecast = with_live_queue(forecast, now, waiting)
    demands = service_demands(services, samples)
    plan = recommend(forecast, demands)
    staffed = [c for c in b.counters.values() if c.state is not CounterState.CLOSED]
    if day != today or not staffed:
        staffed = list(b.counters.values())  # planning ahead: every window may open
    moves = advise_moves(plan, sorted(staffed, key=_ctr_key), after=now if day == today else None)
    return StaffingOutlook(day, now, day == today, forecast, demands, plan, moves, waiting)


@dataclass(frozen=True, slots=True)
class TicketWait:
    """A ticket's place in the queue (0 unless waiting) and predicted wait, in seconds."""

    position: int
    eta_s: float | None  # the median; None once final (or no open counter serves it)
    low_s: float | None  # the 80 % interval
    high_s: float | None


@dataclass(frozen=True, slots=True)
class StaffingOutlook:
    """The staffing advice for one day, as the domain computed it."""

    day: date
    now: datetime
    is_today: bool
    forecast: Forecast
    demands: dict[str, ServiceDemand]
    plan: StaffingPlan
    moves: list[Move]
    waiting: dict[str, int] = field(default_factory=dict)  # the live queue, today only


@dataclass(frozen=True, slots=True)
class _Cached:
    """A prediction with the state it was made for: (epoch, seq), engine time, and how many
    waited in each business."""

    key: tuple[str, int]
    at: datetime
    queued: dict[str, int]
    prediction: Prediction


def _rounded(est: WaitEstimate, shift_s: float = 0.0) -> tuple[float, float, float]:
    """An estimate as the API shows it: median, low and high, to a tenth of a second,
    moved by `shift_s` (never below 0)."""

    def at(seconds: float) -> float:
        return round(max(0.0, seconds + shift_s), 1)

    return at(est.median_s), at(est.low_s), at(est.high_s)


def _queued(waiting: Iterable[Ticket]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in waiting:
        out[t.service] = out.get(t.service, 0) + 1
    return out


FORECAST_REFRESH_S = 60.0  # a hall-aware policy's forecast is at most this old


def hall_forecast(
    rates: ArrivalRates | None, bookings: Sequence[Booking], now: datetime, timezone: str
) -> HallForecast:
    """The prediction's arrival forecast as a calling policy sees it: walk-ins per minute by
    business and class in the current local hour, and the bookings not checked in yet."""
    per_min: dict[tuple[str, PriorityClass], float] = {}
    if rates is not None:
        hour = now.astimezone(ZoneInfo(timezone)).hour
        for code in rates.hourly:
            per_hour = rates.per_hour(code, hour)
            mix = rates.classes.get(code) or [(PriorityClass.REGULAR, 0, 1.0)]
            for cls, _tier, share in mix:
                per_min[(code, cls)] = per_min.get((code, cls), 0.0) + per_hour * share / 60.0
    booked = tuple(sorted(((code, slot) for slot, code in bookings), key=lambda b: b[1]))
    return HallForecast(per_min, booked, now)


def arrival_rates(b: Branch, prior: ArrivalPrior | None, now: datetime) -> ArrivalRates | None:
    """Future walk-ins: the branch's arrival prior with today's class mix so far, scaled
    by how busy today has been against it (`todays_volume`)."""
    if prior is None:
        return None
    total = sum(prior.shares.values()) or 1.0
    hourly = {
        code: hourly_by_local_hour(prior.opens.hour, prior.hourly, share / total)
        for code, share in prior.shares.items()
    }
    today = b.business_day(now)
    todays = [t for t in b.tickets.values() if t.business_day == today]
    rates = ArrivalRates(hourly, class_mix_of(todays))
    tz = ZoneInfo(b.settings.timezone)
    opened = datetime.combine(today, prior.opens, tz)
    if opened < now:
        expected = rates.expected_between(opened, now, tz)
        observed = sum(1 for t in todays if t.leg == 0 and t.arrived_at >= opened)
        rates = rates.scaled(todays_volume(observed, expected))
    return rates


def _svc_key(s: Any) -> tuple[int, str]:
    return (s.sort, s.code)


def _dev_key(d: Any) -> str:
    return str(d.device)


def _ctr_key(c: Any) -> int:
    return int(c.number)
