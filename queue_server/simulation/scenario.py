"""Simulation scenarios in the standard branch day's TOML format (`shared/bench/branch_day.toml`).

The branch part (services, counters, settings) is read by the project's own config parser, so
a scenario simulates exactly the branch the server would run; this module adds what only a
simulation needs: opening hours, arrival rates, service-time spread, customer mix, SLA.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from queue_server.config import BranchConfig, ConfigError, parse_config
from queue_server.domain import PriorityClass
from queue_server.domain.eta import ArrivalRates, ClassShare, hourly_by_local_hour

# The standard simulated branch day (the public benchmark scenario), kept with the project
# as published so the benches and tests run wherever the project is cloned.
STANDARD_DAY = Path(__file__).resolve().parent / "scenarios" / "branch_day.toml"
CLASSES = (
    PriorityClass.REGULAR,
    PriorityClass.VIP,
    PriorityClass.CARE,
    PriorityClass.APPOINTMENT,
)


@dataclass(frozen=True)
class ServiceMix:
    """One business's share of arrivals and its service-time distribution (lognormal)."""

    code: str
    share: float
    mean_min: float
    cv: float
    distribution: str = "lognormal"  # or "exponential" (cv 1), for checks against M/M/c


@dataclass(frozen=True)
class ClassTarget:
    """A class meets its target when `share` of its customers wait at most `within_min`."""

    within_min: float
    share: float


def _default_sla() -> dict[PriorityClass, ClassTarget]:
    return {
        PriorityClass.REGULAR: ClassTarget(10.0, 0.8),
        PriorityClass.VIP: ClassTarget(5.0, 0.8),
        PriorityClass.CARE: ClassTarget(5.0, 0.8),
        PriorityClass.APPOINTMENT: ClassTarget(5.0, 0.9),
    }


@dataclass(frozen=True)
class Closure:
    """A window out of service for a while (a teller called away at peak): from `from_min`
    to `to_min` after opening it takes no new customer (the one it serves is finished)."""

    counter: int
    from_min: float
    to_min: float


@dataclass(frozen=True)
class Scenario:
    branch: BranchConfig
    name: str = "scenario"
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    days: int = 30
    seed: int = 1
    hourly: tuple[float, ...] = (30.0,) * 8  # arrivals per opening hour
    day_multiplier_cv: float = 0.0
    mix: tuple[ServiceMix, ...] = ()
    vip_services: frozenset[str] = frozenset()
    vip_share_other: float = 0.0
    care_share: float = 0.0
    appointment_share: Mapping[str, float] = field(default_factory=dict)
    punctuality_min: float = 0.0
    patience_mean_min: float = 0.0  # 0: nobody abandons
    sla: Mapping[PriorityClass, ClassTarget] = field(default_factory=_default_sla)
    closures: tuple[Closure, ...] = ()

    @property
    def open_minutes(self) -> float:
        return (self.closes.hour - self.opens.hour) * 60.0 + self.closes.minute - self.opens.minute

    @property
    def class_targets_min(self) -> dict[PriorityClass, float]:
        return {cls: t.within_min for cls, t in self.sla.items()}


def _float(section: Mapping[str, Any], key: str, default: float) -> float:
    return float(section.get(key, default))


def parse_scenario(data: Mapping[str, Any]) -> Scenario:
    """A scenario from parsed TOML; ConfigError says what is wrong."""
    branch = parse_config(dict(data))
    try:
        b = dict(data.get("branch", {}))
        arrivals = dict(data.get("arrivals", {}))
        prio = dict(data.get("priorities", {}))
        mix = tuple(
            ServiceMix(
                str(s["code"]),
                float(s.get("share", 0.0)),
                float(s.get("mean_min", s.get("mean_service_s", 300) / 60)),
                float(s.get("cv", 1.0)),
                str(s.get("distribution", "lognormal")),
            )
            for s in data.get("services", [])
        )
        sla = _default_sla()
        for cls_name, entry in dict(data.get("sla", {})).items():
            sla[PriorityClass(cls_name)] = ClassTarget(
                float(entry["within_min"]), float(entry.get("share", 0.8))
            )
        hourly = tuple(float(x) for x in arrivals.get("hourly", (30.0,) * 8))
        opens = time.fromisoformat(str(b.get("open", "09:00")))
        closures = tuple(_closure(entry, opens) for entry in data.get("closures", []))
        scenario = Scenario(
            branch=branch,
            name=str(b.get("name", "scenario")),
            opens=opens,
            closes=time.fromisoformat(str(b.get("close", "17:00"))),
            days=int(b.get("days", 30)),
            seed=int(b.get("seed", 1)),
            hourly=hourly,
            day_multiplier_cv=_float(arrivals, "day_multiplier_cv", 0.0),
            mix=mix,
            vip_services=frozenset(str(c) for c in prio.get("vip_services", ())),
            vip_share_other=_float(prio, "vip_share_other", 0.0),
            care_share=_float(prio, "care_share", 0.0),
            appointment_share={
                str(k): float(v) for k, v in dict(prio.get("appointment_share", {})).items()
            },
            punctuality_min=_float(prio, "appointment_punctuality_min", 0.0),
            patience_mean_min=_float(prio, "patience_mean_min", 0.0),
            sla=sla,
            closures=closures,
        )
    except ConfigError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"bad scenario: {exc}") from exc
    _check(scenario)
    return scenario


def _closure(entry: Any, opens: time) -> Closure:
    """`{ counter = 2, from = "11:00", to = "13:00" }`: times of day, local to the branch."""
    if not isinstance(entry, Mapping):
        raise ConfigError("bad scenario: each [[closures]] needs counter, from and to")
    missing = [k for k in ("counter", "from", "to") if k not in entry]
    if missing:
        raise ConfigError(f"bad scenario: a [[closures]] entry lacks {', '.join(missing)}")
    counter = entry["counter"]
    if not isinstance(counter, int) or isinstance(counter, bool):
        raise ConfigError(f"bad scenario: [[closures]] counter must be a number, not {counter!r}")

    def minutes(key: str) -> float:
        value = entry[key]
        try:
            t = time.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(
                f'bad scenario: [[closures]] {key} = {value!r} is not a time like "11:00"'
            ) from None
        return (t.hour - opens.hour) * 60.0 + t.minute - opens.minute

    return Closure(counter, minutes("from"), minutes("to"))


def _check(s: Scenario) -> None:
    if s.days < 1:
        raise ConfigError("bad scenario: [branch] days must be at least 1")
    if s.open_minutes <= 0:
        raise ConfigError("bad scenario: [branch] close must be after open")
    if any(r < 0 for r in s.hourly) or not s.hourly:
        raise ConfigError("bad scenario: [arrivals] hourly rates must be ≥ 0")
    if sum(m.share for m in s.mix) <= 0:
        raise ConfigError("bad scenario: the services' shares must add up to more than 0")
    for m in s.mix:
        if m.mean_min <= 0 or m.cv < 0 or m.share < 0:
            raise ConfigError(f"bad scenario: service {m.code} mean, cv or share")
        if m.distribution not in ("lognormal", "exponential"):
            raise ConfigError(f"bad scenario: service {m.code} distribution {m.distribution!r}")
    codes = {m.code for m in s.mix}
    for code in (*s.vip_services, *s.appointment_share):
        if code not in codes:
            raise ConfigError(f"bad scenario: [priorities] names unknown service {code!r}")
    if not s.branch.counters:
        raise ConfigError("bad scenario: no [[counters]]")
    numbers = {c.number for c in s.branch.counters}
    for c in s.closures:
        if c.counter not in numbers:
            raise ConfigError(f"bad scenario: [[closures]] names unknown counter {c.counter}")
        if c.to_min <= c.from_min:
            raise ConfigError(
                f"bad scenario: [[closures]] of counter {c.counter} ends before it starts"
            )
        if c.from_min < 0 or c.from_min >= s.open_minutes:
            raise ConfigError(
                f"bad scenario: [[closures]] of counter {c.counter} starts outside opening hours"
            )


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read a scenario file (default: the standard branch day)."""
    p = Path(path) if path else STANDARD_DAY
    try:
        with p.open("rb") as f:
            return parse_scenario(tomllib.load(f))
    except OSError as exc:
        raise ConfigError(f"cannot read scenario {p}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"bad TOML in {p}: {exc}") from exc


def scenario_arrivals(scenario: Scenario) -> ArrivalRates:
    """The forecast a server would hold for this branch: the scenario's rates and class mix."""
    total = sum(m.share for m in scenario.mix) or 1.0
    hourly: dict[str, list[float]] = {}
    classes: dict[str, list[ClassShare]] = {}
    for m in scenario.mix:
        hourly[m.code] = hourly_by_local_hour(scenario.opens.hour, scenario.hourly, m.share / total)
        if m.code in scenario.vip_services:
            classes[m.code] = [(PriorityClass.VIP, 1, 1.0)]
            continue
        # As `sim.arrivals` draws them: appointment, else VIP, else care, else regular.
        booked = scenario.appointment_share.get(m.code, 0.0)
        vip = min(scenario.vip_share_other, 1.0 - booked)
        rest = 1.0 - booked - vip
        classes[m.code] = [
            (PriorityClass.APPOINTMENT, 0, booked),
            (PriorityClass.VIP, 1, vip),
            (PriorityClass.CARE, 0, rest * scenario.care_share),
            (PriorityClass.REGULAR, 0, rest * (1.0 - scenario.care_share)),
        ]
    # The forecast knows how long customers wait before giving up, as a server learns it from
    # its cancellations.
    return ArrivalRates(hourly, classes, patience_mean_min=scenario.patience_mean_min)
