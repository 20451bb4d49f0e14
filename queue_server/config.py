"""Branch configuration from TOML: the branch, its businesses and its counters.

Accepts the project's own format (`assets/demo_branch.toml`) and the benchmark scenario
format (`shared/bench/branch_day.toml`), where names mix Chinese and English and counters
are numbered by their order.
"""

from __future__ import annotations

import re
import sqlite3
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from queue_server.domain import BranchSettings, Bundle, Change, Counter, Event, Service, Skill
from queue_server.domain.appointments import AppointmentRules
from queue_server.domain.policies import policy_by_name
from queue_server.domain.staffing import ArrivalPrior
from queue_server.head_office import DOWNLINK_POLL_S, HeadOffice
from queue_server.notify.settings import (
    NotificationSettings,
    parse_notifications,
    save_notification_settings,
)
from queue_server.storage import (
    in_transaction,
    load_settings,
    migrate,
    save_bundles,
    save_settings,
    write_change,
)
from queue_server.storage.appointments import save_rules
from queue_server.storage.meta import new_branch_secret
from queue_server.storage.prior import save_arrival_prior
from queue_server.wire_encode import guidance_from_wire
from wire import EventKind

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEMO_CONFIG = ASSETS / "demo_branch.toml"
_CJK_THEN_LATIN = re.compile(r"^([^A-Za-z]*[\u3400-\u9fff][^A-Za-z]*?)\s+([A-Za-z].*)$")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class BranchConfig:
    settings: BranchSettings
    services: tuple[Service, ...]
    counters: tuple[Counter, ...]
    bundles: tuple[Bundle, ...] = ()
    appointments: AppointmentRules = field(default_factory=AppointmentRules)
    arrival_prior: ArrivalPrior | None = None  # staffing advice's forecast before any history
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    # The calling policy a new branch starts with, seeded as its first `policy.applied`
    # (None: the default). Later a tournament's choice replaces it, as any applied policy.
    calling_policy: str | None = None


def skill_weight(rank: int) -> float:
    """Default weight of a counter's n-th listed business: its first one wins ties."""
    return round(0.8**rank, 3)


def _names(entry: dict[str, Any]) -> dict[str, str]:
    if isinstance(entry.get("names"), dict):
        return {str(k): str(v) for k, v in entry["names"].items()}
    name = str(entry.get("name", entry["code"]))
    m = _CJK_THEN_LATIN.match(name)
    if m:
        return {"zh": m.group(1).strip(), "en": m.group(2).strip()}
    return {"zh": name, "en": name}


def _minutes(entry: dict[str, Any], key_min: str, key_s: str, default_s: int) -> int:
    if key_s in entry:
        return int(entry[key_s])
    if key_min in entry:
        return round(float(entry[key_min]) * 60)
    return default_s


def _skills(raw: list[Any]) -> tuple[Skill, ...]:
    out = []
    for rank, item in enumerate(raw):
        if isinstance(item, str):
            out.append(Skill(item, skill_weight(rank)))
        else:
            out.append(
                Skill(
                    str(item["service"]),
                    float(item.get("weight", skill_weight(rank))),
                    bool(item.get("overflow", False)),
                )
            )
    return tuple(out)


def parse_config(data: dict[str, Any]) -> BranchConfig:
    try:
        b = data.get("branch", {})
        settings = BranchSettings(
            name=str(b.get("name", "BranchQ")),
            branch_id=str(b.get("id", "branch")),
            timezone=str(b.get("timezone", "Asia/Shanghai")),
            day_starts_at=time.fromisoformat(str(b.get("day_starts_at", "04:00"))),
            max_recalls=int(b.get("max_recalls", 3)),
            appointment_grace_s=round(float(b.get("appointment_grace_min", 10)) * 60),
            languages=tuple(b.get("languages", ("zh", "en"))),
            care_age=int(b.get("care_age", 60)),
        )
        services = []
        for sort, s in enumerate(data.get("services", [])):
            guidance = {
                lang: guidance_from_wire(g) for lang, g in dict(s.get("guidance", {})).items()
            }
            services.append(
                Service(
                    code=str(s["code"]),
                    prefix=str(s.get("prefix", s["code"])),
                    names=_names(s),
                    target_wait_s=_minutes(s, "target_wait_min", "target_wait_s", 600),
                    mean_service_s=_minutes(s, "mean_min", "mean_service_s", 300),
                    guidance=guidance,
                    fast_lane=bool(s.get("fast_lane", False)),
                    visible=bool(s.get("visible", True)),
                    enabled=bool(s.get("enabled", True)),
                    opens=time.fromisoformat(s["opens"]) if s.get("opens") else None,
                    closes=time.fromisoformat(s["closes"]) if s.get("closes") else None,
                    sort=int(s.get("sort", sort)),
                    needs_form=bool(s.get("needs_form", False)),
                )
            )
        counters = [
            Counter(
                number=int(c.get("number", i + 1)),
                name=str(c.get("name", f"{i + 1}号窗口")),
                location=str(c.get("location", "")),
                skills=_skills(list(c.get("skills", []))),
            )
            for i, c in enumerate(data.get("counters", []))
        ]
        bundles = [_bundle(entry, sort) for sort, entry in enumerate(data.get("bundles", []))]
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"bad branch config: {exc}") from exc
    codes = [s.code for s in services]
    prefixes = [s.prefix for s in services]
    numbers = [c.number for c in counters]
    if not services:
        raise ConfigError("bad branch config: no [[services]]")
    if len(set(codes)) != len(codes) or len(set(prefixes)) != len(prefixes):
        raise ConfigError("bad branch config: service codes and prefixes must be unique")
    if len(set(numbers)) != len(numbers):
        raise ConfigError("bad branch config: counter numbers must be unique")
    for c in counters:
        for sk in c.skills:
            if sk.service not in codes:
                raise ConfigError(f"bad branch config: counter {c.number} skill {sk.service!r}")
    _check_bundles(bundles, codes)
    rules = _appointment_rules(dict(data.get("appointments", {})), codes)
    prior = _arrival_prior(data)
    try:
        notifications = parse_notifications(dict(data.get("notifications", {})))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad branch config: {exc}") from exc
    calling_policy = _calling_policy(dict(data.get("branch", {})).get("calling_policy"))
    return BranchConfig(
        settings,
        tuple(services),
        tuple(counters),
        tuple(bundles),
        rules,
        prior,
        notifications,
        calling_policy,
    )


def _calling_policy(name: Any) -> str | None:
    if name is None:
        return None
    try:
        policy_by_name(str(name))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad branch config: [branch] calling_policy: {exc}") from exc
    return str(name)


def _arrival_prior(data: dict[str, Any]) -> ArrivalPrior | None:
    """[arrivals] hourly × the services' `share` (the bench scenario's format), if both given."""
    hourly = dict(data.get("arrivals", {})).get("hourly")
    shares = {str(s["code"]): float(s["share"]) for s in data.get("services", []) if "share" in s}
    if not hourly or not shares:
        return None
    total = sum(shares.values())
    try:
        rates = tuple(float(x) for x in hourly)
        opens = time.fromisoformat(str(dict(data.get("branch", {})).get("open", "09:00")))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad branch config: [arrivals] {exc}") from exc
    if total <= 0 or any(r < 0 for r in rates) or any(v < 0 for v in shares.values()):
        raise ConfigError("bad branch config: [arrivals] rates and service shares must be ≥ 0")
    return ArrivalPrior(rates, {code: v / total for code, v in shares.items()}, opens)


def _appointment_rules(raw: dict[str, Any], services: list[str]) -> AppointmentRules:
    """`[appointments]`: slot length, early check-in window, capacity per business."""
    try:
        rules = AppointmentRules(
            slot_min=int(raw.get("slot_min", 30)),
            early_min=int(raw.get("early_min", 120)),
            book_ahead_days=int(raw.get("book_ahead_days", 90)),
            capacity={str(k): int(v) for k, v in dict(raw.get("capacity", {})).items()},
            # Bookable hours for a business without its own opening hours.
            opens=time.fromisoformat(str(raw.get("opens", "09:00"))),
            closes=time.fromisoformat(str(raw.get("closes", "17:00"))),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad branch config: [appointments] {exc}") from exc
    if rules.opens >= rules.closes:
        raise ConfigError("bad branch config: [appointments] opens must be before closes")
    if not 1 <= rules.slot_min <= 1440 or 1440 % rules.slot_min:
        raise ConfigError("bad branch config: [appointments] slot_min must divide a day")
    if rules.early_min < 0 or not 1 <= rules.book_ahead_days <= 3660:
        raise ConfigError("bad branch config: [appointments] early_min or book_ahead_days")
    for code, capacity in rules.capacity.items():
        if code not in services or capacity < 0:
            raise ConfigError(f"bad branch config: [appointments] capacity {code} = {capacity}")
    return rules


def _bundle(entry: dict[str, Any], sort: int) -> Bundle:
    guidance = {lang: guidance_from_wire(g) for lang, g in dict(entry.get("guidance", {})).items()}
    return Bundle(
        code=str(entry["code"]),
        names=_names(entry),
        service=str(entry["service"]),
        includes=tuple(str(c) for c in entry.get("includes", [entry["service"]])),
        guidance=guidance,
        sort=int(entry.get("sort", sort)),
    )


def _check_bundles(bundles: list[Bundle], services: list[str]) -> None:
    codes = [b.code for b in bundles]
    if len(set(codes)) != len(codes):
        raise ConfigError("bad branch config: bundle codes must be unique")
    for b in bundles:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,16}", b.code):
            raise ConfigError(f"bad branch config: bundle code {b.code!r}")
        if b.service not in services:
            raise ConfigError(f"bad branch config: bundle {b.code} service {b.service!r}")
        if not b.includes:
            raise ConfigError(f"bad branch config: bundle {b.code} includes nothing")
        for code in b.includes:
            if code not in services:
                raise ConfigError(f"bad branch config: bundle {b.code} includes {code!r}")


def load_head_office(
    path: str | Path | None,
    *,
    url: str | None = None,
    branch: str | None = None,
    token_file: str | Path | None = None,
    ca_file: str | Path | None = None,
    verify_key: str | Path | None = None,
    poll_s: float | None = None,
) -> HeadOffice | None:
    """The head office to ship to: the config's `[head_office]` table (url, branch, token_file,
    ca_file, verify_key, poll_s; files relative to the config), each part overridden by the
    `branchq server` flag given. None: no head office, nothing leaves the branch. The branch id
    defaults to `[branch] id`; the token file holds the `bq1.<branch>.<secret>` token issued
    at enrolment.
    """
    raw: dict[str, Any] = {}
    here = Path.cwd()
    default_branch = "branch"
    location: Any = None
    if path:
        p = Path(path)
        try:
            with p.open("rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read branch config {p}: {exc}") from exc
        raw = dict(data.get("head_office", {}))
        here = p.resolve().parent
        default_branch = str(dict(data.get("branch", {})).get("id", default_branch))
        location = dict(data.get("branch", {})).get("location")
    url = url or raw.get("url")
    if not url:
        return None
    token_path = Path(token_file) if token_file else _beside(here, raw.get("token_file"))
    ca = Path(ca_file) if ca_file else _beside(here, raw.get("ca_file"))
    verify = Path(verify_key) if verify_key else _beside(here, raw.get("verify_key"))
    if token_path is None:
        raise ConfigError("bad branch config: [head_office] needs token_file")
    try:
        token = token_path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the head office token file {token_path}: {exc}") from exc
    try:
        return HeadOffice(
            url=str(url),
            branch=str(branch or raw.get("branch") or default_branch),
            token=token,
            ca_file=ca,
            verify_key=verify,
            poll_s=float(poll_s if poll_s is not None else raw.get("poll_s", DOWNLINK_POLL_S)),
            public_url=str(raw["public_url"]) if raw.get("public_url") else None,
            location=_location(location),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad branch config: [head_office] {exc}") from exc


def _location(raw: Any) -> tuple[float, float] | None:
    """`[branch] location = {lat = …, lon = …}` (degrees), or None when not given."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"lat", "lon"}:
        raise ValueError("[branch] location is {lat = …, lon = …}")
    lat, lon = raw["lat"], raw["lon"]
    if isinstance(lat, bool) or isinstance(lon, bool):
        raise ValueError("[branch] location holds numbers")
    return float(lat), float(lon)


def _beside(folder: Path, name: Any) -> Path | None:
    return None if not name else folder / str(name)


def load_config(path: str | Path | None = None) -> BranchConfig:
    p = Path(path) if path else DEMO_CONFIG
    try:
        with p.open("rb") as f:
            return parse_config(tomllib.load(f))
    except OSError as exc:
        raise ConfigError(f"cannot read branch config {p}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"bad TOML in {p}: {exc}") from exc


def init_db(db_path: str | Path, config: BranchConfig) -> None:
    """Create the database and seed the branch; refuses a database that already has one."""
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    migrate(db_path)
    in_transaction(db_path, _seed, str(db_path), config)


def _policy_from_config(config: BranchConfig) -> dict[str, Any]:
    """A `policy.applied` event's data, as a tournament's apply writes it, for the policy
    the configuration names (restored at every start like any applied policy)."""
    return {
        "name": config.calling_policy,
        "params": {},
        "label": config.calling_policy,
        "reason": {"zh": "分行配置指定", "en": "named in the branch configuration"},
    }


def _seed(conn: sqlite3.Connection, db_path: str, config: BranchConfig) -> None:
    if load_settings(conn) is not None:
        raise ConfigError(f"{db_path} already holds a branch; use a new file")
    now = datetime.now(UTC)
    change = Change(services=list(config.services), counters=list(config.counters))
    change.events.append(
        Event(1, now, EventKind.BRANCH_INITIALISED, data={"name": config.settings.name})
    )
    if config.calling_policy is not None:
        change.events.append(
            Event(2, now, EventKind.POLICY_APPLIED, data=_policy_from_config(config))
        )
    save_settings(conn, config.settings)
    save_bundles(conn, config.bundles)
    save_rules(conn, config.appointments)
    if config.arrival_prior is not None:
        save_arrival_prior(conn, config.arrival_prior)
    save_notification_settings(conn, config.notifications)
    new_branch_secret(conn)
    write_change(conn, change, config.settings.branch_id)
