"""What a policy may know beyond the queue: the other windows, who they serve, the forecast.

FIFO and the ranked policies need only the counter and the waiting tickets. A policy that
decides *when* to start a long service, or which window keeps room for a customer promised
a short wait, must also see the hall: every window's state and the customer it is serving
(with since when), each business's expected service length, the customers the forecast
expects in the next minutes by business and class, and the booked appointments not yet
checked in. `Hall` is that view, a plain immutable value; `HallAwarePolicy` is a policy
that asks for it. The branch builds the hall only for such a policy (`Branch.call_next`),
from its own state and the `Forecast` the server or the simulation gave it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from queue_server.domain.model import Counter, CounterState, PriorityClass, Service, Ticket


@dataclass(frozen=True, slots=True)
class Forecast:
    """The arrivals expected from now on: walk-ins per minute by (business, class), and the
    booked appointments not checked in yet as (business, slot). Set on the branch by whoever
    runs it (the server from its arrival forecast, the simulation from its scenario) and
    refreshed as the day goes on; policies treat it as a best guess, never as a promise."""

    per_min: Mapping[tuple[str, PriorityClass], float] = field(default_factory=dict)
    bookings: Sequence[tuple[str, datetime]] = ()
    made_at: datetime | None = None

    def rate(self, service: str, cls: PriorityClass) -> float:
        return self.per_min.get((service, cls), 0.0)


@dataclass(frozen=True, slots=True)
class Hall:
    """The branch as a policy may see it at one moment (see the module's doc)."""

    now: datetime
    counters: Mapping[int, Counter]
    serving: Mapping[int, Ticket]  # counter -> the customer it has called or is serving
    services: Mapping[str, Service]
    forecast: Forecast = field(default_factory=Forecast)

    def open_counters(self) -> list[Counter]:
        return [c for c in self.counters.values() if c.state is CounterState.OPEN]

    def expected_free_in_s(self, counter: int) -> float | None:
        """Seconds until this window is expected to be free: 0 when idle, the rest of its
        business's mean service when busy (at least a tenth of it: an overrunning service
        is not about to end just because the mean has passed), None when not open."""
        c = self.counters.get(counter)
        if c is None or c.state is not CounterState.OPEN:
            return None
        ticket = self.serving.get(counter)
        if ticket is None:
            return 0.0
        service = self.services.get(ticket.service)
        mean = float(service.mean_service_s) if service is not None else 300.0
        started = ticket.serving_at or ticket.called_at or self.now
        elapsed = max(0.0, (self.now - started).total_seconds())
        return max(mean - elapsed, mean * 0.1)


@runtime_checkable
class HallAwarePolicy(Protocol):
    """A calling policy that chooses with the whole hall in view.

    `choose_in_hall` must honour the same eligibility as `choose_next` (use `eligible`) and may
    return None while someone eligible waits — deliberately keeping the window free for a
    customer about to arrive — but only for a bounded time that the policy documents, so no
    customer can wait for ever behind a reservation. `choose_next` (without the hall) stays
    a complete policy on its own: it is what runs when no hall can be built.
    """

    def choose_in_hall(
        self, hall: Hall, counter: Counter, waiting: Sequence[Ticket]
    ) -> Ticket | None: ...
