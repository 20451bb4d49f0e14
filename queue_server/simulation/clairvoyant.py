"""The clairvoyant reference: the best schedule found for a day whose every customer is known.

Offline, each customer's arrival, business, class, slot, service time and patience are known
in advance, and a schedule is one sequence of customers per counter. It is *decoded* the way
a counter works through a list: each customer is served at the earliest moment at or after
both the counter being free and the customer having arrived, when the counter is open (a
service may run past a closing, as in the simulation, where a window closing mid-service
finishes its customer). So a counter may stay idle for a customer about to arrive: the
advantage only foresight has. Among schedules with given sequences, these left-shifted ones
are the best, because no customer's cost falls by starting later.

Objective (what the policies are judged by, made one number):

    cost = Σ minutes queued (from arrival: what `total_wait_min` sums)
         + MISS_COST_MIN × Σ w(class) over customers who miss their class's target,

a miss being a wait over the class's target (for an appointment counted from the later of
arrival and slot, as in `metrics`) or giving up. w(class) = the longest class target ÷ the
class's target: a miss of a 5-minute class (VIP, care, appointment on the standard day)
weighs twice a 10-minute regular one's, because the tight targets are the promises the bank
made. MISS_COST_MIN = 1000 outweighs any waiting one move can save on a branch day, so target
misses come first and waiting breaks the ties: practically lexicographic, yet a single number
a local search can compare and take differences of.

Method: late-acceptance hill climbing (LAHC; Burke & Bykov) over the counter sequences,
seeded with the best schedule an online policy actually ran that day (its counters' call
orders, decoded the same way, so the seed is never worse than what was simulated). Moves:
move a customer to another place on an eligible counter (near the moment they arrive), or swap
two customers whose counters may serve both; half of the picks go to customers who wait.
A move is priced incrementally: only the changed counters are replayed, from the changed
position until a counter is free again at the same moment as before (an idle gap absorbs the
change), which keeps a move at a few microseconds of replay on a 300-customer day. LAHC rather
than simulated annealing because it accepts by comparison only: no temperature to tune
against a cost that jumps by 1000 at a miss, one parameter (the history length). Not CP-SAT
or a MILP: neither solver is a project dependency, and a disjunctive model with 300 customers
× 9 counters and a late indicator per customer is far from proven optimal within seconds on
two shared cores, while this search needs no solver and is deterministic (seeded). It gives
the best schedule *found*, an upper bound on the best possible waiting; the pooled fluid
bound (`bound.py`) stays the proven lower bound beside it.

Simplifications, stated: a counter may serve a business when it has the skill, with skill
weights and overflow rules ignored (an overflow skill counts as a plain one); calling and
walking up take no time, as in the simulation. Patience is known too: a customer whom their
counter reaches after their patience ran out has left at arrival + patience (a miss, waiting
their patience, taking no counter time), the simulation's own rule, so foresight may also
choose whom to serve before they go.

Counters' opening hours: `Problem.open_hours` lists each counter's open intervals (minutes
after opening, end exclusive for starting a service); a counter not listed is open all day.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from queue_server.domain import PriorityClass
from queue_server.simulation.arrivals import Arrival
from queue_server.simulation.engine import DayRun, Outcome

MISS_COST_MIN = 1000.0
DEFAULT_ITERATIONS = 60_000
_HISTORY = 100  # LAHC history length: how far back a worse schedule may be compared
# Most moves land near the customer's arrival, where they help; a few go anywhere, so that
# every relocation and swap stays reachable (a long service may be best last of all).
_ANYWHERE = 0.1
_UNSERVED_COST = 1e9  # a customer whose counter never opens again (only if sequenced there)
_EPS = 1e-9

# One customer's new decoded state: (customer, counter, free before, free after, called or
# left at, cost).
_State = tuple[int, int, float, float, float, float]
# A priced neighbour: (cost change, the counters' new sequences, the customers' new states).
_Move = tuple[float, list[tuple[int, list[int]]], list[_State]]

OpenHours = Mapping[int, Sequence[tuple[float, float]]]  # counter -> open intervals


@dataclass(frozen=True)
class Problem:
    """One day to schedule: customers in arrival order, counters' businesses and hours."""

    arrivals: tuple[Arrival, ...]
    skills: Mapping[int, frozenset[str]]  # counter -> businesses it may serve
    targets: Mapping[PriorityClass, float]  # class -> target wait, minutes
    open_hours: OpenHours = field(default_factory=dict)  # missing counter: open all day

    def origin(self, i: int) -> float:
        """When customer i's wait starts counting against the target."""
        a = self.arrivals[i]
        if a.priority is PriorityClass.APPOINTMENT and a.slot_min is not None:
            return max(a.at_min, a.slot_min)
        return a.at_min

    def miss_weight(self, cls: PriorityClass) -> float:
        return max(self.targets.values()) / self.targets[cls]

    def eligible(self, i: int) -> list[int]:
        service = self.arrivals[i].service
        return sorted(c for c, s in self.skills.items() if service in s)

    def earliest_start(self, counter: int, t: float) -> float:
        """The first moment at or after t when `counter` is open (inf: never again)."""
        hours = self.open_hours.get(counter)
        if hours is None:
            return t
        for start, end in hours:
            if t < end:
                return max(t, start)
        return math.inf


Sequences = dict[int, list[int]]  # counter -> customer indices in service order


@dataclass
class ClairvoyantDay:
    """The best schedule found for one day, with what it started from."""

    run: DayRun
    cost: float
    seed_policy: str
    seed_cost: float
    iterations: int
    seconds: float


def decode(problem: Problem, sequences: Mapping[int, Sequence[int]]) -> DayRun:
    """The schedule the counters' sequences give (see the module doc), as the simulation's
    outcomes; a customer in no sequence is left unserved (an error `check_schedule` names)."""
    outcomes: dict[int, Outcome] = {}
    busy: dict[int, float] = {c: 0.0 for c in problem.skills}
    end_min = 0.0
    for counter, order in sequences.items():
        free = 0.0
        for i in order:
            a = problem.arrivals[i]
            start = problem.earliest_start(counter, max(free, a.at_min))
            if start > a.at_min + a.patience_min:
                outcomes[i] = Outcome(a, i + 1, left_min=a.at_min + a.patience_min)
                continue
            if start == math.inf:
                continue  # the counter never opens again: unserved
            outcomes[i] = Outcome(a, i + 1, called_min=start, counter=counter)
            free = start + a.service_min
            busy[counter] = busy.get(counter, 0.0) + a.service_min
            end_min = max(end_min, free)
    ordered = [outcomes.get(i, Outcome(a, i + 1)) for i, a in enumerate(problem.arrivals)]
    return DayRun(ordered, busy, end_min)


def missed(problem: Problem, o: Outcome) -> bool:
    """Did this customer miss their class's target (or give up, or never get served)?"""
    if o.called_min is None:
        return True
    return o.wait_min > problem.targets[o.arrival.priority] + _EPS


def schedule_cost(problem: Problem, run: DayRun) -> float:
    """The objective of the module doc, computed plainly from a day's outcomes."""
    total = 0.0
    for o in run.outcomes:
        if o.called_min is None and o.left_min is None:
            total += _UNSERVED_COST
            continue
        total += o.queue_min
        if missed(problem, o):
            total += MISS_COST_MIN * problem.miss_weight(o.arrival.priority)
    return total


def check_schedule(problem: Problem, run: DayRun) -> list[str]:
    """What makes a schedule impossible; empty when it is a valid day.

    Everyone is served once or left after exactly their patience; a customer is served at an
    open counter with their business's skill, not before arriving or after giving up; a
    counter serves one customer at a time.
    """
    errors: list[str] = []
    if len(run.outcomes) != len(problem.arrivals):
        return [f"{len(run.outcomes)} outcomes for {len(problem.arrivals)} customers"]
    per_counter: dict[int, list[tuple[float, float, int]]] = {}
    for i, (o, a) in enumerate(zip(run.outcomes, problem.arrivals, strict=True)):
        if o.arrival != a:
            errors.append(f"customer {i}: outcome for another customer")
            continue
        if o.called_min is None:
            if o.left_min is None:
                errors.append(f"customer {i}: never served")
            elif abs(o.left_min - (a.at_min + a.patience_min)) > _EPS:
                errors.append(f"customer {i}: left at {o.left_min}, not after their patience")
            continue
        if o.left_min is not None:
            errors.append(f"customer {i}: both served and left")
        if o.counter is None or a.service not in problem.skills.get(o.counter, frozenset()):
            errors.append(f"customer {i}: counter {o.counter} cannot serve {a.service}")
            continue
        if o.called_min < a.at_min - _EPS:
            errors.append(f"customer {i}: served at {o.called_min} before arriving {a.at_min}")
        if o.called_min > a.at_min + a.patience_min + _EPS:
            errors.append(f"customer {i}: served after giving up")
        start = o.called_min
        if abs(problem.earliest_start(o.counter, start) - start) > _EPS:
            errors.append(f"customer {i}: counter {o.counter} is closed at {start}")
        per_counter.setdefault(o.counter, []).append((start, start + a.service_min, i))
    for counter, services in per_counter.items():
        services.sort()
        for (_, end, i), (start, _, j) in pairwise(services):
            if start < end - _EPS:
                errors.append(f"counter {counter}: customers {i} and {j} overlap")
    return errors


def sequences_from_run(problem: Problem, run: DayRun) -> Sequences:
    """Each counter's call order in a simulated day; whoever gave up goes last on an eligible
    counter (reached after their patience there, they leave as they did, or are served at the
    end of the day without delaying anyone), so the decoded seed is never worse than the run."""
    sequences: Sequences = {c: [] for c in problem.skills}
    called = sorted(
        (o.called_min, i, o.counter)
        for i, o in enumerate(run.outcomes)
        if o.called_min is not None and o.counter is not None
    )
    for _, i, counter in called:
        sequences[counter].append(i)
    for i, o in enumerate(run.outcomes):
        if o.called_min is None:
            counters = problem.eligible(i)
            if not counters:
                raise ValueError(f"no counter can serve business {o.arrival.service!r}")
            sequences[counters[i % len(counters)]].append(i)
    return sequences


class _Search:
    """Counter sequences with each customer's decoded state, priced move by move."""

    def __init__(self, problem: Problem, sequences: Mapping[int, Sequence[int]]) -> None:
        self.problem = problem
        arrivals = problem.arrivals
        n = len(arrivals)
        self.ready = [a.at_min for a in arrivals]
        self.origin = [problem.origin(i) for i in range(n)]
        self.service = [a.service_min for a in arrivals]
        self.deadline = [a.at_min + a.patience_min for a in arrivals]
        self.target = [problem.targets[a.priority] for a in arrivals]
        self.miss_cost = [MISS_COST_MIN * problem.miss_weight(a.priority) for a in arrivals]
        self.eligible = [problem.eligible(i) for i in range(n)]
        self.eligible_set = [frozenset(e) for e in self.eligible]
        self.all_day = {c: c not in problem.open_hours for c in problem.skills}
        self.seq: Sequences = {c: list(sequences.get(c, ())) for c in problem.skills}
        self.counter_of = [0] * n
        self.free_before = [0.0] * n
        self.free_after = [0.0] * n
        self.start = [0.0] * n  # served: called at; otherwise left at
        self.cost = [0.0] * n
        self.total = 0.0
        for c, order in self.seq.items():
            for i in order:
                self.counter_of[i] = c
            _, updates = self.replay(c, order, 0, len(order) + 1)
            self.commit(updates)
        self.total = sum(self.cost)

    def price(self, i: int, at: float) -> tuple[float, bool, float]:
        """(called or left at, served, cost) for customer i whose counter reaches them at `at`."""
        if at > self.deadline[i]:
            left = self.deadline[i]
            return left, False, left - self.ready[i] + self.miss_cost[i]
        if at == math.inf:
            return at, False, _UNSERVED_COST  # takes no counter time, as in `decode`
        cost = at - self.ready[i]
        if at - self.origin[i] > self.target[i] + _EPS:
            cost += self.miss_cost[i]
        return at, True, cost

    def replay(
        self, counter: int, order: Sequence[int], first: int, stable_from: int
    ) -> tuple[float, list[_State]]:
        """Cost change and new states of `order` on `counter` from position `first`.

        From `stable_from` on, `order` holds the same customers in the same order as before,
        so once one of them finds the counter free when it did before, nothing after changes.
        """
        free = 0.0 if first == 0 else self.free_after[order[first - 1]]
        all_day = self.all_day[counter]
        problem = self.problem
        delta = 0.0
        updates: list[_State] = []
        for k in range(first, len(order)):
            i = order[k]
            if k >= stable_from and free == self.free_before[i]:
                break
            ready = self.ready[i]
            at = free if free > ready else ready
            if not all_day:
                at = problem.earliest_start(counter, at)
            started, served, cost = self.price(i, at)
            after = at + self.service[i] if served else free  # who gave up takes no time
            delta += cost - self.cost[i]
            updates.append((i, counter, free, after, started, cost))
            free = after
        return delta, updates

    def commit(self, updates: Iterable[_State]) -> None:
        for i, counter, before, after, started, cost in updates:
            self.counter_of[i] = counter
            self.free_before[i] = before
            self.free_after[i] = after
            self.start[i] = started
            self.cost[i] = cost

    def propose(self, rng: random.Random) -> _Move | None:
        """A random neighbour: (cost change, new sequences, new states), or None."""
        n = len(self.ready)
        x = rng.randrange(n)
        if rng.random() < 0.5:
            for _ in range(8):  # prefer someone who waits: that is where a move helps
                if self.cost[x] > 0:
                    break
                x = rng.randrange(n)
        a = self.counter_of[x]
        seq_a = self.seq[a]
        i = seq_a.index(x)
        b = rng.choice(self.eligible[x])
        free_before = self.free_before
        if rng.random() < 0.6:  # move x
            base = seq_a[:i] + seq_a[i + 1 :] if a == b else self.seq[b]
            if rng.random() < _ANYWHERE:
                p = rng.randint(0, len(base))
            else:
                p0 = _bisect_free(base, free_before, self.ready[x])
                p = min(max(p0 + rng.randint(-3, 1), 0), len(base))
            if a == b:
                if p == i:
                    return None
                new = [*base[:p], x, *base[p:]]
                delta, updates = self.replay(a, new, min(i, p), max(i, p) + 1)
                return delta, [(a, new)], updates
            new_a = seq_a[:i] + seq_a[i + 1 :]
            new_b = [*base[:p], x, *base[p:]]
            delta_a, up_a = self.replay(a, new_a, i, i)
            delta_b, up_b = self.replay(b, new_b, p, p + 1)
            return delta_a + delta_b, [(a, new_a), (b, new_b)], up_a + up_b
        seq_b = self.seq[b]
        if not seq_b:
            return None
        if rng.random() < _ANYWHERE:
            j = rng.randrange(len(seq_b))
        else:
            j0 = _bisect_free(seq_b, free_before, self.start[x])
            j = min(max(j0 + rng.randint(-2, 2), 0), len(seq_b) - 1)
        y = seq_b[j]
        if y == x or a not in self.eligible_set[y]:
            return None
        if a == b:
            new = list(seq_a)
            new[i], new[j] = y, x
            delta, updates = self.replay(a, new, min(i, j), max(i, j) + 1)
            return delta, [(a, new)], updates
        new_a, new_b = list(seq_a), list(seq_b)
        new_a[i], new_b[j] = y, x
        delta_a, up_a = self.replay(a, new_a, i, i + 1)
        delta_b, up_b = self.replay(b, new_b, j, j + 1)
        return delta_a + delta_b, [(a, new_a), (b, new_b)], up_a + up_b

    def snapshot(self) -> Sequences:
        return {c: list(order) for c, order in self.seq.items()}


def _bisect_free(order: Sequence[int], free_before: Sequence[float], t: float) -> int:
    """The first position in `order` whose customer finds the counter free at or after t."""
    lo, hi = 0, len(order)
    while lo < hi:
        mid = (lo + hi) // 2
        if free_before[order[mid]] < t:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _climb(search: _Search, rng: random.Random, steps: int, history_len: int) -> Sequences:
    """Late-acceptance hill climbing for `steps` moves; the best sequences seen."""
    current = best = search.total
    best_seq = search.snapshot()
    history = [current] * history_len
    for step in range(steps):
        move = search.propose(rng)
        slot = step % history_len
        if move is not None:
            delta, sequences, updates = move
            candidate = current + delta
            if delta <= 0 or candidate <= history[slot]:
                for counter, order in sequences:
                    search.seq[counter] = order
                search.commit(updates)
                current = candidate
                if current < best - 1e-6:
                    best, best_seq = current, search.snapshot()
        history[slot] = current
    return best_seq


def optimise(
    problem: Problem,
    seed: Mapping[int, Sequence[int]],
    iterations: int = DEFAULT_ITERATIONS,
    rng_seed: int = 0,
) -> Sequences:
    """The best counter sequences LAHC finds from `seed` in `iterations` moves (never worse
    than the seed: the best schedule seen is kept)."""
    rng = random.Random(rng_seed)
    # Explore with late acceptance, then polish the best found with plain descent (a history
    # of one): exploring leaves minutes of waiting that downhill moves alone take back.
    explore = iterations * 3 // 4
    best_seq = _climb(_Search(problem, seed), rng, explore, _HISTORY)
    best_seq = _climb(_Search(problem, best_seq), rng, iterations - explore, 1)
    # The running total is a sum of differences: price the best plainly before trusting it.
    if schedule_cost(problem, decode(problem, best_seq)) > schedule_cost(
        problem, decode(problem, seed)
    ):
        return {c: list(order) for c, order in seed.items()}
    return best_seq


def clairvoyant_day(
    problem: Problem,
    runs: Mapping[str, DayRun],
    iterations: int = DEFAULT_ITERATIONS,
    rng_seed: int = 0,
) -> ClairvoyantDay:
    """The best schedule found for the day, seeded with the best of the policies' runs."""
    started = time.perf_counter()
    seeds = {name: sequences_from_run(problem, run) for name, run in runs.items()}
    priced = {name: schedule_cost(problem, decode(problem, s)) for name, s in seeds.items()}
    seed_policy = min(priced, key=lambda name: (priced[name], name))
    best = optimise(problem, seeds[seed_policy], iterations, rng_seed)
    run = decode(problem, best)
    return ClairvoyantDay(
        run,
        schedule_cost(problem, run),
        seed_policy,
        priced[seed_policy],
        iterations,
        time.perf_counter() - started,
    )
