"""The branch chooses its calling policy: nightly tournaments on its own forecast, and applying
the choice from the next business day (or at once, when a manager says so).

A tournament runs in its own worker process (`predictor.run_in_tournament`), one candidate
per job so the manager sees progress and the event loop only ever waits on a future. Every
run is stored (`policy_tournaments`); the policy the branch runs is the last
`policy.applied` event, restored at start.

When: at start, if no tournament chose today's policy yet (the result applies as soon as it
is known); and each evening `NIGHTLY_AFTER_CLOSE_MIN` after the last business closes, for the
next business day. A manager may run one at any time (for the next day) and apply the last
result at once; both are audited.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from queue_server.desks import woken_or_every
from queue_server.domain import (
    BranchSettings,
    CallingPolicy,
    Counter,
    DomainError,
    InvalidState,
    NotFound,
    PriorityClass,
    Service,
)
from queue_server.domain.eta import ServiceModel
from queue_server.domain.staffing import ArrivalPrior, branch_hours, forecast_arrivals
from queue_server.engine import STAFFING_LOOKBACK_DAYS, Engine
from queue_server.predictor import run_in_tournament, warm_tournament
from queue_server.simulation.scenario import Scenario
from queue_server.simulation.tournament import (
    TOURNAMENT_DAYS,
    Candidate,
    Played,
    candidate_policy,
    candidates,
    forecast_scenario,
    pick,
    play_candidate,
    priority_targets,
)
from queue_server.storage import CommitFailed, connect, in_transaction
from queue_server.storage.history import class_counts, issue_records, service_samples
from queue_server.storage.tournaments import (
    TournamentRecord,
    choice_for,
    latest_tournament,
    mark_applied,
    running_policy,
    save_tournament,
    tournament_by_id,
)
from wire import EventKind

log = logging.getLogger(__name__)
T = TypeVar("T")
CHECK_S = 60.0  # how often the schedule is looked at
NIGHTLY_AFTER_CLOSE_MIN = 30  # the last customers are served by then
SYSTEM_ACTOR = "system"


@dataclass
class TournamentJob:
    """A tournament in progress (or the last one this server ran)."""

    id: int
    trigger: str  # start, nightly or manager
    actor: str
    for_day: date
    started_at: datetime
    total: int
    done: int = 0
    state: str = "running"  # running, done or failed
    tournament_id: int | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "trigger": self.trigger,
            "actor": self.actor,
            "for_day": self.for_day.isoformat(),
            "started_at": self.started_at.isoformat(),
            "steps_done": self.done,
            "steps": self.total,
            "state": self.state,
            "tournament_id": self.tournament_id,
            "error": self.error,
        }


def tournament_scenario(
    db_path: Path,
    settings: BranchSettings,
    services: Sequence[Service],
    counters: Sequence[Counter],
    prior: ArrivalPrior | None,
    day: date,
) -> Scenario:
    """In the worker: the day `day` as the branch's history (or its config prior) expects it."""
    since = datetime.combine(day - timedelta(days=STAFFING_LOOKBACK_DAYS + 1), time(), UTC)
    until = datetime.combine(day, time(), UTC) + timedelta(days=1)
    conn = connect(db_path)
    try:
        records = issue_records(conn, since, until)
        samples = service_samples(conn, since, until)
        counts = class_counts(conn, since, until)
    finally:
        conn.close()
    enabled = sorted((s for s in services if s.enabled), key=lambda s: (s.sort, s.code))
    forecast = forecast_arrivals(
        records,
        day,
        [s.code for s in enabled],
        timezone=settings.timezone,
        day_starts_at=settings.day_starts_at,
        hours=branch_hours(enabled, settings.opening_hours, day),
        prior=prior,
        lookback_days=STAFFING_LOOKBACK_DAYS,
    )
    model = ServiceModel.from_services(enabled, [(code, None, s) for code, s in samples])
    by_class = {
        code: {PriorityClass(cls): n for cls, n in per.items() if cls in _CLASS_NAMES}
        for code, per in counts.items()
    }
    return forecast_scenario(settings, enabled, counters, forecast, model, by_class)


_CLASS_NAMES = frozenset(c.value for c in PriorityClass)


@dataclass
class PolicyDesk:
    """Runs the tournaments, stores them, and switches the branch's calling policy."""

    engine: Engine
    schedule: bool = False  # nightly and at-start runs (the server CLI turns them on)
    days: int = TOURNAMENT_DAYS
    entrants: Callable[[], list[Candidate]] = candidates
    run_job: Callable[[asyncio.AbstractEventLoop, Callable[[], Any]], asyncio.Future[Any]] = (
        run_in_tournament
    )
    warm: Callable[[], None] = warm_tournament  # runs on a worker thread before each run
    job: TournamentJob | None = None
    running: dict[str, Any] | None = None  # the last policy.applied event's data
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _task: asyncio.Task[None] | None = None
    _play: asyncio.Task[None] | None = None
    _tried: set[tuple[date, str]] = field(default_factory=set)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # --------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Restore the stored choice (call after `engine.start`), then follow the schedule."""
        self.restore()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        for task in (self._task, self._play):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def restore(self) -> None:
        """The branch runs the policy of its last `policy.applied` event, as before a restart."""
        data = running_policy(self.engine.read_conn)
        if data is None:
            return
        try:
            policy = self._policy_of(Candidate.from_json(data))
        except (KeyError, ValueError) as exc:  # a policy this version no longer has
            log.warning(
                "the stored calling policy cannot be restored (%s): keeping the default", exc
            )
            return
        self.running = data
        self.engine.run_policy(policy)

    def _policy_of(self, candidate: Candidate) -> CallingPolicy:
        settings = self.engine.branch.settings
        return candidate_policy(
            candidate,
            appointment_grace=timedelta(seconds=settings.appointment_grace_s),
            class_targets=priority_targets(),
        )

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except (DomainError, CommitFailed, OSError) as exc:
                log.warning("the policy schedule failed: %s", exc)
            await woken_or_every(self._wake, CHECK_S)

    async def tick(self) -> None:
        """Apply a choice due today; start the tournament the schedule asks for, if any."""
        await self.apply_due()
        if not self.schedule or self.busy:
            return
        now = self.engine.clock()
        today = self.engine.branch.business_day(now)
        stored = await asyncio.to_thread(self._read, choice_for, today)
        if (stored is None or stored.for_day != today) and (today, "start") not in self._tried:
            self._tried.add((today, "start"))
            self.request(SYSTEM_ACTOR, trigger="start", for_day=today)
            return
        tomorrow = today + timedelta(days=1)
        if now >= self._nightly_at(today) and (tomorrow, "nightly") not in self._tried:
            ahead = await asyncio.to_thread(self._read, choice_for, tomorrow)
            if ahead is None or ahead.for_day != tomorrow:
                self._tried.add((tomorrow, "nightly"))
                self.request(SYSTEM_ACTOR, trigger="nightly", for_day=tomorrow)

    def _nightly_at(self, today: date) -> datetime:
        b = self.engine.branch
        closes = branch_hours(b.services.values(), b.settings.opening_hours, today).closes
        local = datetime.combine(today, closes, ZoneInfo(b.settings.timezone))
        return local + timedelta(minutes=NIGHTLY_AFTER_CLOSE_MIN)

    def _read(self, fn: Callable[..., T], *args: Any) -> T:
        conn = connect(self.engine.db_path)  # a worker thread reads on its own connection
        try:
            return fn(conn, *args)
        finally:
            conn.close()

    # --------------------------------------------------------------- running
    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.state == "running"

    def request(
        self, actor: str, *, trigger: str = "manager", for_day: date | None = None
    ) -> TournamentJob:
        """Start a tournament in the worker process; returns at once. One at a time."""
        if self.busy:
            raise InvalidState("a policy tournament is already running", code="tournament_running")
        now = self.engine.clock()
        day = for_day or self.engine.branch.business_day(now) + timedelta(days=1)
        entrants = self.entrants()
        job = TournamentJob(next(self._ids), trigger, actor, day, now, total=len(entrants) + 1)
        self.job = job
        self._play = asyncio.get_running_loop().create_task(self._play_job(job, entrants))
        return job

    async def _play_job(self, job: TournamentJob, entrants: list[Candidate]) -> None:
        loop = asyncio.get_running_loop()
        b = self.engine.branch
        result: dict[str, Any] | None = None
        chosen: dict[str, Any] | None = None
        try:
            if job.trigger == "manager":
                await self.engine.execute(
                    lambda br, now: br.record(
                        now,
                        [
                            (
                                EventKind.POLICY_TOURNAMENT,
                                {"job": job.id, "for_day": str(job.for_day)},
                            )
                        ],
                    ),
                    actor=job.actor,
                )
            await asyncio.to_thread(self.warm)
            build = partial(
                tournament_scenario,
                self.engine.db_path,
                b.settings,
                tuple(b.services.values()),
                tuple(sorted(b.counters.values(), key=lambda c: c.number)),
                self.engine.arrival_prior,
                job.for_day,
            )
            scenario: Scenario = await self.run_job(loop, build)
            job.done += 1
            played: list[Played] = []
            for candidate in entrants:
                played.append(
                    await self.run_job(
                        loop, partial(play_candidate, scenario, candidate, self.days)
                    )
                )
                job.done += 1
            verdict = pick(played, scenario.name)
            result, chosen = verdict.to_json(), verdict.chosen.to_json()
        except asyncio.CancelledError:
            job.state, job.error = "failed", "stopped"
            raise
        except Exception as exc:  # a failed run is stored and shown, never raised into the loop
            log.warning("policy tournament %d failed: %s", job.id, exc)
            job.error = f"{type(exc).__name__}: {exc}"[:300]
        finished = self.engine.clock()
        job.tournament_id = await asyncio.to_thread(
            in_transaction,
            self.engine.db_path,
            partial(
                save_tournament,
                started_at=job.started_at,
                finished_at=finished,
                for_day=job.for_day,
                trigger=job.trigger,
                actor=job.actor,
                chosen=chosen,
                result=result,
                error=job.error,
            ),
        )
        job.state = "failed" if job.error else "done"
        self._wake.set()  # a run for today applies at once (see `apply_due`)

    async def settled(self) -> TournamentJob | None:
        """Wait until the tournament in progress (if any) has finished (tests, tools)."""
        play = self._play
        if play is not None:
            await asyncio.wait([play])
        return self.job

    # --------------------------------------------------------------- applying
    async def apply_due(self) -> None:
        """The stored choice for today, if the branch does not run it yet."""
        today = self.engine.branch.business_day(self.engine.clock())
        record = await asyncio.to_thread(self._read, choice_for, today)
        if record is None or record.applied_at is not None:
            return
        if self.running is not None and self.running.get("tournament") == record.id:
            return
        await self.apply(record, SYSTEM_ACTOR)

    async def apply_now(self, actor: str, tournament_id: int | None = None) -> dict[str, Any]:
        """A manager's "apply now": the given (or the last successful) tournament's choice."""
        if tournament_id is None:
            record = await asyncio.to_thread(self._read, latest_tournament, True)
        else:
            record = await asyncio.to_thread(self._read, tournament_by_id, tournament_id)
        if record is None:
            raise NotFound("no policy tournament has chosen a policy yet", code="no_tournament")
        if record.state != "done":
            raise InvalidState("that tournament failed: nothing to apply", code="tournament_failed")
        return await self.apply(record, actor)

    async def apply(self, record: TournamentRecord, actor: str) -> dict[str, Any]:
        """Switch the branch to the record's choice, as an audited `policy.applied` event."""
        async with self._lock:
            assert record.chosen is not None and record.result is not None
            candidate = Candidate.from_json(record.chosen)
            policy = self._policy_of(candidate)
            data = {
                **candidate.to_json(),
                "tournament": record.id,
                "for_day": record.for_day.isoformat(),
                "reason": dict(record.result.get("reason", {})),
            }
            change = await self.engine.execute(
                lambda b, now: b.record(now, [(EventKind.POLICY_APPLIED, data)]), actor=actor
            )
            self.engine.run_policy(policy)
            applied = {**data, "actor": actor, "at": change.events[-1].at.isoformat()}
            self.running = applied
            await asyncio.to_thread(
                in_transaction, self.engine.db_path, mark_applied, record.id, change.events[-1].at
            )
            return applied

    # --------------------------------------------------------------- reading
    def overview(self) -> dict[str, Any]:
        """What the manager sees: the policy running and why, the job, the last result."""
        last = latest_tournament(self.engine.read_conn)
        policy = self.engine.branch.policy
        running = self.running or {"name": getattr(policy, "name", "accumulating"), "params": {}}
        return {
            "running": {
                "name": running.get("name"),
                "label": running.get("label", running.get("name")),
                "params": running.get("params", {}),
                "since": running.get("at"),
                "actor": running.get("actor"),
                "reason": running.get("reason"),
                "tournament": running.get("tournament"),
            },
            "job": self.job.to_dict() if self.job is not None else None,
            "last": _record_dict(last) if last is not None else None,
        }


def _record_dict(r: TournamentRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "started_at": r.started_at.isoformat(),
        "finished_at": r.finished_at.isoformat(),
        "for_day": r.for_day.isoformat(),
        "trigger": r.trigger,
        "actor": r.actor,
        "state": r.state,
        "chosen": r.chosen,
        "result": r.result,
        "error": r.error,
        "applied_at": r.applied_at.isoformat() if r.applied_at else None,
    }
