"""A lower bound on a day's total waiting that no calling policy can beat on the same arrivals.

Pooled fluid bound: pool c counters into one server of c times the speed and let it always
work on the customer with the least work left (SRPT, pre-emptive). No schedule on c real
counters finishes more customers by any time t than that server does, and at most c
customers are at a counter at once, so at any t at least
arrived(t) − finished_by_pooled_server(t) − c customers are waiting; integrating that over
the day bounds their total wait. Skills make it sharper: customers of a set S of businesses
can only be served by the c_S counters with a skill in S, so the bound for S's customers on
c_S counters holds too, and the day's bound is the largest over every set S.
Abandonment is ignored (everyone is assumed to stay).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from itertools import combinations

from queue_server.simulation.arrivals import Arrival


def pooled_completions(arrivals: Iterable[Arrival], counters: int) -> list[float]:
    """Completion times of the pooled SRPT server of speed `counters`."""
    speed = float(counters)
    work: list[float] = []  # remaining minutes of work, smallest first
    done: list[float] = []
    t = 0.0
    for a in sorted(arrivals, key=lambda a: a.at_min):
        while work and t + work[0] / speed <= a.at_min:
            t += heapq.heappop(work) / speed
            done.append(t)
        if work:
            # Serve the smallest job until this arrival; the heap order is unchanged.
            work[0] -= (a.at_min - t) * speed
        t = max(t, a.at_min)
        heapq.heappush(work, a.service_min)
    while work:
        t += heapq.heappop(work) / speed
        done.append(t)
    return done


def pooled_fluid_bound(arrivals: Iterable[Arrival], counters: int) -> float:
    """Minutes of waiting, summed over customers, that every policy must at least incur."""
    arrivals = list(arrivals)
    if counters < 1:
        raise ValueError("the bound needs at least one open counter")
    steps = [(a.at_min, 1) for a in arrivals]
    steps += [(t, -1) for t in pooled_completions(arrivals, counters)]
    steps.sort()
    total = 0.0
    present = 0  # arrived and not finished by the pooled server
    last = 0.0
    for t, delta in steps:
        total += max(0, present - counters) * (t - last)
        present += delta
        last = t
    return total


def skill_pooled_bound(arrivals: Iterable[Arrival], skills: Mapping[int, frozenset[str]]) -> float:
    """The pooled bound for every set of businesses on the counters able to serve it: the max.

    `skills`: open counter -> the businesses it may serve (overflow included).
    """
    arrivals = list(arrivals)
    services = sorted({a.service for a in arrivals})
    best = 0.0
    for size in range(1, len(services) + 1):
        for chosen in combinations(services, size):
            group = set(chosen)
            counters = sum(1 for s in skills.values() if s & group)
            if counters == 0:
                continue  # nobody can serve them: no finite bound from this set
            best = max(
                best, pooled_fluid_bound([a for a in arrivals if a.service in group], counters)
            )
    return best
