"""A district of branches with uneven load: where should a customer go?

Each branch is a real simulated branch (`engine.Simulation` around the production Branch
aggregate, its counters, businesses and calling policy); all of them run on one clock. A
customer appears somewhere in the district at a random moment (more often near the crowded
branches), wants one business, and goes either

- `nearest`: to the nearest branch that offers the business (what booking by distance does);
- `network`: to the branch with the lowest predicted wait + travel time, the wait being what
  the centre knows at that moment — the branch's own production prediction (`predict_waits`
  on the branch's live state, as its heartbeat carries it), refreshed at most every
  `refresh_min` minutes: never the future;
- `naive`: the same ranking with the naive estimate (people ahead × mean service / windows
  open) — the baseline a centre without a simulating predictor would have.

Every arm sees the same customers (common random numbers): same place, moment, business,
class and service time; only where they go differs. Customers who booked an appointment
go to their nearest branch in every arm (their slot was booked there before the day).
A customer meets the target when their wait at the branch (from arriving there) is within
their class's target (`[sla]` of the scenario); travel is reported apart.
"""

from __future__ import annotations

import math
import random
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from queue_server.domain import Branch, PriorityClass
from queue_server.domain.eta import (
    ArrivalRates,
    ServiceModel,
    predict_waits,
)
from queue_server.domain.policies.named import default_policy
from queue_server.simulation.arrivals import Arrival, draw_day
from queue_server.simulation.engine import (
    Outcome,
    Simulation,
    day_origin,
    open_branch,
    walk_in_rates,
)
from queue_server.simulation.metrics import within_share
from queue_server.simulation.scenario import (
    STANDARD_DAY,
    Scenario,
    parse_scenario,
    scenario_arrivals,
)

ARMS = ("nearest", "network", "naive")


@dataclass(frozen=True)
class DistrictBranch:
    name: str
    x_km: float
    y_km: float
    demand: float  # customers living around it, in standard branch days (1.0: the standard day)
    small: bool = False  # five windows, cash/other/account opening only


@dataclass(frozen=True)
class District:
    branches: tuple[DistrictBranch, ...]
    spread_km: float = 0.9  # a customer's distance from their neighbourhood's centre (σ per axis)
    min_per_km: float = 3.5  # city travel, door to door, straight-line km × detour
    detour: float = 1.3
    refresh_min: float = 1.0  # how old the centre's view of a branch's wait may be
    runs: int = 12  # forward runs of each prediction (the server runs 30; fewer keeps it quick)
    hours: float = 8.0  # customers set off during the first this many opening hours

    def as_dict(self) -> dict[str, Any]:
        return {
            "branches": [
                {
                    "name": b.name,
                    "x_km": b.x_km,
                    "y_km": b.y_km,
                    "demand_standard_days": b.demand,
                    "windows": "5 (A, B, C)" if b.small else "9 (A, B, C, L, W)",
                }
                for b in self.branches
            ],
            "customer_spread_km": self.spread_km,
            "travel_min_per_km": self.min_per_km,
            "road_detour": self.detour,
            "prediction_refresh_min": self.refresh_min,
            "prediction_runs": self.runs,
            "hours": self.hours,
        }


# Two crowded branches in the centre, two quiet ones at the edge, two small ones.
STANDARD_DISTRICT = District(
    (
        DistrictBranch("中心 Central", 2.0, 2.0, 1.35),
        DistrictBranch("火车站 Station", 4.0, 2.6, 1.25),
        DistrictBranch("东湖 East Lake", 6.6, 1.4, 0.55),
        DistrictBranch("北园 North Park", 3.0, 4.6, 0.6),
        DistrictBranch("老街 Old Street", 0.8, 0.6, 0.5, small=True),
        DistrictBranch("新区 New Town", 5.6, 4.2, 0.35, small=True),
    )
)
SMALL_BUSINESSES = frozenset({"A", "B", "C"})
SMALL_WINDOWS = 5


@dataclass(frozen=True)
class Customer:
    arrival: Arrival  # at_min: the moment they set off; the rest as drawn for the day
    x_km: float
    y_km: float
    home: int  # neighbourhood


@dataclass
class ArmResult:
    outcomes: list[tuple[Customer, int, float, Outcome]]  # customer, branch, travel, outcome

    def within_share(self, scenario: Scenario) -> float:
        return within_share(scenario, [o for _, _, _, o in self.outcomes])


def branch_scenarios(base: Scenario | None = None) -> tuple[Scenario, Scenario]:
    """The standard day's branch (nine windows) and a small one (five, A/B/C only)."""
    with STANDARD_DAY.open("rb") as f:
        data = tomllib.load(f)
    full = base or parse_scenario(data)
    small_data = dict(data)
    small_data["services"] = [s for s in data["services"] if s["code"] in SMALL_BUSINESSES]
    small_data["counters"] = data["counters"][:SMALL_WINDOWS]
    small_data["priorities"] = {
        **data["priorities"],
        "vip_services": [],
        "appointment_share": {
            k: v
            for k, v in data["priorities"]["appointment_share"].items()
            if k in SMALL_BUSINESSES
        },
    }
    small = parse_scenario(small_data)
    return full, small


class DistrictDay:
    """One simulated day of the district under one arm."""

    def __init__(self, district: District, seed: int, day: int = 0) -> None:
        self.district = district
        self.seed = seed
        self.day = day
        self.full, self.small = branch_scenarios()
        self.full = replace(self.full, seed=seed)
        self.customers = self._draw_customers()
        self._shares = self._nearest_shares()

    # ---------------------------------------------------------------- drawing
    def scenario_of(self, b: int) -> Scenario:
        return self.small if self.district.branches[b].small else self.full

    def offers(self, b: int, business: str) -> bool:
        return any(s.code == business for s in self.scenario_of(b).branch.services)

    def _draw_customers(self) -> list[Customer]:
        """Each neighbourhood's customers drawn as a standard day scaled to its demand."""
        out: list[Customer] = []
        for i, nb in enumerate(self.district.branches):
            scenario = replace(
                self.full,
                hourly=tuple(r * nb.demand for r in self.full.hourly),
                seed=self.seed * 101 + i,
            )
            places = random.Random(self.seed * 7_919 + i * 31 + self.day)
            s = self.district.spread_km
            for a in draw_day(scenario, self.day):
                if a.at_min >= self.district.hours * 60.0:
                    continue
                x, y = places.gauss(nb.x_km, s), places.gauss(nb.y_km, s)
                out.append(Customer(a, x, y, i))
        out.sort(key=lambda c: (c.arrival.at_min, c.home))
        return out

    def travel_min(self, c: Customer, b: int) -> float:
        nb = self.district.branches[b]
        km = math.hypot(c.x_km - nb.x_km, c.y_km - nb.y_km) * self.district.detour
        return km * self.district.min_per_km

    def nearest(self, c: Customer) -> int:
        offering = [
            b for b in range(len(self.district.branches)) if self.offers(b, c.arrival.service)
        ]
        return min(offering, key=lambda b: (self.travel_min(c, b), b))

    def _nearest_shares(self) -> list[dict[str, float]]:
        """Per branch and business, its load in standard-day units under nearest choice: the
        history a branch's forecast was learnt from before the network existed."""
        rng = random.Random(self.seed * 13 + 5)
        n = len(self.district.branches)
        shares: list[dict[str, float]] = [{} for _ in range(n)]
        samples = 400
        for i, nb in enumerate(self.district.branches):
            for _ in range(samples):
                x = rng.gauss(nb.x_km, self.district.spread_km)
                y = rng.gauss(nb.y_km, self.district.spread_km)
                for m in self.full.mix:
                    probe = Customer(Arrival(0.0, m.code, PriorityClass.REGULAR, 0.0), x, y, i)
                    b = self.nearest(probe)
                    shares[b][m.code] = shares[b].get(m.code, 0.0) + nb.demand / samples
        return shares

    # ---------------------------------------------------------------- branches
    def _forecast(self, b: int) -> tuple[ArrivalRates, tuple[Any, ...]]:
        """What branch `b` expects: its history's rates (per business) and class mix."""
        s = self.full
        load = self._shares[b]
        nominal = scenario_arrivals(s)
        rates = ArrivalRates(
            {c: [r * load[c] for r in hourly] for c, hourly in nominal.hourly.items() if c in load},
            {c: shares for c, shares in nominal.classes.items() if c in load},
        )
        steps = tuple(
            {(code, cls): rate * load.get(code, 0.0) for (code, cls), rate in step.items()}
            for step in walk_in_rates(s)
        )
        return rates, steps

    def run(self, arm: str) -> ArmResult:
        """The day with every customer choosing by `arm` (one of ARMS)."""
        if arm not in ARMS:
            raise ValueError(f"arm is one of {', '.join(ARMS)}")
        n = len(self.district.branches)
        origin = day_origin(self.full, self.day)
        sims: list[Simulation] = []
        forecasts: list[ArrivalRates] = []
        models: list[ServiceModel] = []
        for b in range(n):
            scenario = self.scenario_of(b)
            grace = timedelta(seconds=scenario.branch.settings.appointment_grace_s)
            sim = Simulation(open_branch(scenario, default_policy(grace), origin), origin)
            rates, steps = self._forecast(b)
            sim.forecast_from(steps, scenario.open_minutes / len(scenario.hourly))
            sims.append(sim)
            forecasts.append(rates)
            models.append(ServiceModel.from_services(scenario.branch.services))
        centre = _CentreView(self, sims, forecasts, models, origin)
        placed: list[tuple[Customer, int, float, int]] = []  # customer, branch, travel, index
        added = [0] * n
        for c in self.customers:
            now = c.arrival.at_min
            if c.arrival.priority is PriorityClass.APPOINTMENT or arm == "nearest":
                b = self.nearest(c)
            else:
                for sim in sims:
                    sim.run(until_min=now)
                b = centre.best(c, now, naive=(arm == "naive"))
            travel = self.travel_min(c, b)
            # A booked customer was drawn arriving around their slot: they time the trip.
            booked = c.arrival.priority is PriorityClass.APPOINTMENT
            at = c.arrival if booked else replace(c.arrival, at_min=now + travel)
            sims[b].add_arrivals([at])
            placed.append((c, b, travel, added[b]))
            added[b] += 1
        runs = [sim.run() for sim in sims]
        outcomes = [(c, b, t, runs[b].outcomes[i]) for c, b, t, i in placed]
        return ArmResult(outcomes)


class _CentreView:
    """What the centre knows of each branch's wait: its last prediction, at most
    `refresh_min` old, computed from the branch's state at that moment."""

    def __init__(
        self,
        day: DistrictDay,
        sims: Sequence[Simulation],
        forecasts: Sequence[ArrivalRates],
        models: Sequence[ServiceModel],
        origin: Any,
    ) -> None:
        self.day, self.sims, self.forecasts, self.models = day, sims, forecasts, models
        self.origin = origin
        self._known: dict[int, tuple[float, Callable[[str, PriorityClass, int], float]]] = {}
        self._rng = random.Random(day.seed)

    def _wait(
        self, b: int, now_min: float, naive: bool
    ) -> Callable[[str, PriorityClass, int], float]:
        known = self._known.get(b)
        if known is not None and now_min - known[0] < self.day.district.refresh_min:
            return known[1]
        branch = self.sims[b].branch
        now = self.origin + timedelta(minutes=now_min)
        estimate = _naive_estimate(branch) if naive else self._predicted(b, branch, now)
        self._known[b] = (now_min, estimate)
        return estimate

    def _predicted(
        self, b: int, branch: Branch, now: Any
    ) -> Callable[[str, PriorityClass, int], float]:
        prediction = predict_waits(
            branch,
            now,
            self.models[b],
            runs=self.day.district.runs,
            rng=self._rng,
            arrivals=self.forecasts[b],
            bookings=[],
            common_seed=self.day.seed + b,
        )

        def wait(service: str, cls: PriorityClass, tier: int) -> float:
            est = prediction.by_kind.get((service, cls, tier))
            return math.inf if est is None else est.median_s / 60.0

        return wait

    def best(self, c: Customer, now_min: float, *, naive: bool) -> int:
        a = c.arrival
        tier = 1 if a.priority is PriorityClass.VIP else 0
        ranked = []
        for b in range(len(self.day.district.branches)):
            if not self.day.offers(b, a.service):
                continue
            wait = self._wait(b, now_min, naive)(a.service, a.priority, tier)
            ranked.append((wait + self.day.travel_min(c, b), self.day.travel_min(c, b), b))
        return min(ranked)[2]


def _naive_estimate(branch: Branch) -> Callable[[str, PriorityClass, int], float]:
    """People of the business waiting × its mean service ÷ its open windows."""
    waiting: dict[str, int] = {}
    for t in branch.waiting:
        waiting[t.service] = waiting.get(t.service, 0) + 1
    snapshot = {
        code: (waiting.get(code, 0), svc.mean_service_s, branch.serving_counters(code))
        for code, svc in branch.services.items()
    }

    def wait(service: str, cls: PriorityClass, tier: int) -> float:
        ahead, mean_s, windows = snapshot.get(service, (0, 0.0, 0))
        return math.inf if windows == 0 else ahead * mean_s / windows / 60.0

    return wait
