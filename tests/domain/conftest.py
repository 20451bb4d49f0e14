"""Shared fixtures for the pure domain core: a small branch, a clock and a state snapshot.

The fixture branch (default settings: Asia/Shanghai, day starts 04:00, 3 recalls, 10 min grace):

* services ``cash`` (prefix A), ``account`` (B), ``wealth`` (C);
* counter 1 open (staff s1): cash;
* counter 2 open (staff s2): account, with cash as an *overflow* skill;
* counter 3 open (staff s3): wealth;
* counter 4 closed, nobody signed in: cash and account.

`at(minutes)` is the clock: minutes after T0 = 2026-11-28T02:00Z (10:00 in Shanghai), well
inside business day 2026-11-28, so a test can run for hours without crossing a rollover.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from queue_server.domain import (
    AccumulatingPriority,
    Branch,
    BranchSettings,
    Change,
    Counter,
    CounterState,
    PriorityClass,
    Service,
    Skill,
    Ticket,
)

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def _at(minutes: float = 0.0) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _when(moment: float | datetime) -> datetime:
    """Minutes after T0, or an aware datetime as it is."""
    return moment if isinstance(moment, datetime) else _at(moment)


def services() -> list[Service]:
    return [
        Service("cash", "A", {"zh": "现金", "en": "Cash"}, target_wait_s=600, mean_service_s=300),
        Service(
            "account", "B", {"zh": "开户", "en": "Accounts"}, target_wait_s=900, mean_service_s=600
        ),
        Service(
            "wealth", "C", {"zh": "理财", "en": "Wealth"}, target_wait_s=1200, mean_service_s=900
        ),
    ]


def counters() -> list[Counter]:
    return [
        Counter(1, "Window 1", state=CounterState.OPEN, staff_id="s1", skills=(Skill("cash"),)),
        Counter(
            2,
            "Window 2",
            state=CounterState.OPEN,
            staff_id="s2",
            skills=(Skill("account"), Skill("cash", overflow=True)),
        ),
        Counter(3, "Window 3", state=CounterState.OPEN, staff_id="s3", skills=(Skill("wealth"),)),
        Counter(4, "Window 4", skills=(Skill("cash"), Skill("account"))),
    ]


def _make_branch(**settings: Any) -> Branch:
    # The domain tests' scores and orders are the accumulating policy's (the production
    # default until issue 18): pinned here so they keep testing it whatever the default.
    config = BranchSettings(**settings)
    grace = timedelta(seconds=config.appointment_grace_s)
    policy = AccumulatingPriority(appointment_grace=grace)
    return Branch(config, services=services(), counters=counters(), policy=policy)


@dataclass(frozen=True)
class Snapshot:
    """Everything a refused command must leave exactly as it was."""

    tickets: dict[int, Ticket]
    counters: dict[int, Counter]
    services: dict[str, Service]
    numbering: dict[tuple[date, str], int]
    last_seq: int
    next_ticket_id: int
    idempotency: dict[str, int]
    call_keys: dict[tuple[int, str], int]
    waiting: list[int]
    active: dict[int, int | None]


def _snapshot(branch: Branch) -> Snapshot:
    return Snapshot(
        tickets=dict(branch.tickets),
        counters=dict(branch.counters),
        services=dict(branch.services),
        numbering=dict(branch.numbering),
        last_seq=branch.last_seq,
        next_ticket_id=branch.next_ticket_id,
        idempotency=dict(branch.idempotency),
        call_keys=dict(branch.call_keys),
        waiting=sorted(t.id for t in branch.waiting),
        active={
            n: (t.id if (t := branch.active_ticket(n)) is not None else None)
            for n in branch.counters
        },
    )


class Desk:
    """Drives a branch the way the simulator does: decide and apply at once."""

    def __init__(self, branch: Branch) -> None:
        self.branch = branch
        self.events: list[Any] = []

    def run(self, decide: Callable[[], Change]) -> Change:
        change = self.branch.run(decide)
        self.events.extend(change.events)
        return change

    def issue(
        self,
        service: str = "cash",
        when: float | datetime = 0.0,
        priority: PriorityClass = PriorityClass.REGULAR,
        **kw: Any,
    ) -> Ticket:
        if priority is PriorityClass.VIP:
            kw.setdefault("vip_tier", 1)
        change = self.run(
            lambda: self.branch.issue_ticket(service, _when(when), priority=priority, **kw)
        )
        assert isinstance(change.result, Ticket)
        return change.result

    def call(self, counter: int, when: float | datetime = 0.0, **kw: Any) -> Ticket | None:
        result = self.run(lambda: self.branch.call_next(counter, _when(when), **kw)).result
        assert result is None or isinstance(result, Ticket)
        return result

    def serve(self, counter: int, when: float | datetime = 0.0) -> Ticket:
        result = self.run(lambda: self.branch.start_serving(counter, _when(when))).result
        assert isinstance(result, Ticket)
        return result

    def finish(self, counter: int, when: float | datetime = 0.0) -> Ticket:
        result = self.run(lambda: self.branch.finish(counter, _when(when))).result
        assert isinstance(result, Ticket)
        return result

    def complete(self, counter: int, when: float | datetime = 0.0) -> Ticket | None:
        """Call the next customer at `counter`, serve and finish them at once."""
        called = self.call(counter, when)
        if called is not None:
            self.serve(counter, when)
            self.finish(counter, when)
        return called


@pytest.fixture
def at() -> Callable[[float], datetime]:
    """The test clock: `at(m)` is m minutes after T0 (10:00 Shanghai, 2026-11-28)."""
    return _at


@pytest.fixture
def make_branch() -> Callable[..., Branch]:
    """A fresh fixture branch; keyword arguments override BranchSettings fields."""
    return _make_branch


@pytest.fixture
def snap() -> Callable[[Branch], Snapshot]:
    """Copies of everything a refused command must leave unchanged."""
    return _snapshot


@pytest.fixture
def branch() -> Branch:
    return _make_branch()


@pytest.fixture
def desk(branch: Branch) -> Desk:
    return Desk(branch)


@pytest.fixture
def make_desk() -> Callable[..., Desk]:
    """A desk on a fresh branch with overridden settings (e.g. another time zone)."""
    return lambda **settings: Desk(_make_branch(**settings))
