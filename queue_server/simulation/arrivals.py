"""One simulated day's customers, drawn once from the seed and replayed for every policy.

Everything random about a customer (arrival, business, class, slot, service time, patience)
is drawn here, so policies compared on the same day see exactly the same customers
(common random numbers): differences in the figures come from the policies alone.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from queue_server.domain import PriorityClass
from queue_server.simulation.scenario import Scenario

SLOT_MIN = 30.0  # appointments are booked on the half hour (AppointmentRules' default slot)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A customer of a simulated day; times are minutes after opening."""

    at_min: float
    service: str
    priority: PriorityClass
    service_min: float
    slot_min: float | None = None  # an appointment's slot
    patience_min: float = math.inf  # gives up (cancels) after waiting this long


def lognormal(rng: random.Random, mean: float, cv: float) -> float:
    """A lognormal draw with the given mean and coefficient of variation."""
    if cv <= 0:
        return mean
    sigma2 = math.log1p(cv * cv)
    return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))


def day_rng(seed: int, day: int) -> random.Random:
    # One independent, reproducible stream per day, whatever other days were drawn.
    return random.Random(seed * 1_000_003 + day)


def draw_day(scenario: Scenario, day: int) -> list[Arrival]:
    """The customers of day `day` (0-based), sorted by arrival."""
    rng = day_rng(scenario.seed, day)
    cv = scenario.day_multiplier_cv
    multiplier = rng.gammavariate(1 / (cv * cv), cv * cv) if cv > 0 else 1.0
    total_share = sum(m.share for m in scenario.mix)
    codes = [m.code for m in scenario.mix]
    weights = [m.share / total_share for m in scenario.mix]
    hour_min = scenario.open_minutes / len(scenario.hourly)
    out: list[Arrival] = []
    for hour, rate in enumerate(scenario.hourly):
        per_min = rate * multiplier / 60.0
        start, end = hour * hour_min, (hour + 1) * hour_min
        t = start
        while per_min > 0:
            t += rng.expovariate(per_min)
            if t >= end:
                break  # memoryless: the next hour's clock starts again at its boundary
            out.append(_customer(scenario, rng, t, codes, weights))
    out.sort(key=lambda a: a.at_min)
    return out


def _customer(
    scenario: Scenario,
    rng: random.Random,
    t: float,
    codes: list[str],
    weights: list[float],
) -> Arrival:
    code = rng.choices(codes, weights)[0]
    m = scenario.mix[codes.index(code)]
    if m.distribution == "exponential":
        service_min = rng.expovariate(1 / m.mean_min)
    else:
        service_min = lognormal(rng, m.mean_min, m.cv)
    # Draw every number for every customer, used or not, so one customer's class never
    # shifts the random stream of the customers after them.
    u_class, u_care, u_slot = rng.random(), rng.random(), rng.random()
    patience = (
        rng.expovariate(1 / scenario.patience_mean_min)
        if scenario.patience_mean_min > 0
        else math.inf
    )
    slot: float | None = None
    if code in scenario.vip_services:
        priority = PriorityClass.VIP
    elif u_class < scenario.appointment_share.get(code, 0.0):
        priority = PriorityClass.APPOINTMENT
        slot = math.floor(t / SLOT_MIN) * SLOT_MIN
        p = scenario.punctuality_min
        t = max(0.0, slot + (2 * u_slot - 1) * p)
    elif u_class > 1 - scenario.vip_share_other:
        priority = PriorityClass.VIP
    elif u_care < scenario.care_share:
        priority = PriorityClass.CARE
    else:
        priority = PriorityClass.REGULAR
    return Arrival(t, code, priority, service_min, slot, patience)
