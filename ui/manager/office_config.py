"""The head office's configuration as the branch manager reads it — Qt-free, so every rule of
who set which value is tested without a screen.

`config_view` joins the branch's `GET /config/version` (the version in force, where each
overridden value came from, what the branch may edit and has edited here, what drains) and
`GET /head-office` (whether there is a head office at all, and how its downlink is doing)
with the live model's businesses. The centre lists only the values a region or branch
override set (`overridden`, dotted paths such as `services.A.target_wait_min`); every other
value of the catalogue is the network template's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# Sections of the catalogue the branch applies whole from the centre (besides businesses),
# shown even when nothing overrides them: the manager should know they are the centre's.
CENTRE_SECTIONS = ("bundles", "appointments")
SERVICE_PREFIX = "services."
# What the centre never sets (wire.downlink.ConfigBody: counters and their skills stay the
# branch's own): shown as the branch's, not as the template's.
BRANCH_OWN = ("counters.skills",)


class Link(StrEnum):
    """What the panel can say about the branch's head office."""

    UNKNOWN = "unknown"  # not read yet
    NONE = "none"  # no head office: the branch keeps its own configuration
    NO_KEY = "no_key"  # ships to a head office but takes no configuration from it
    WAITING = "waiting"  # takes configuration, none applied yet
    IN_FORCE = "in_force"


class Origin(StrEnum):
    """Who set a value in force."""

    NETWORK = "network"  # the network's template
    REGION = "region"  # the centre's override for the branch's region
    BRANCH = "branch"  # the centre's override for this branch
    EDITED_HERE = "edited_here"  # the manager, here, where the centre lets them
    BRANCH_OWN = "branch_own"  # never the centre's: the branch sets it (counters' skills)


@dataclass(frozen=True)
class BusinessLine:
    code: str
    names: Mapping[str, str]
    target_wait_s: int
    enabled: bool
    # (field, origin) of each value a region or branch override set, e.g. ("target_wait_min",
    # REGION); the whole business when the field is "".
    overridden: tuple[tuple[str, Origin], ...]
    draining: bool  # closed to new tickets, still called until nobody waits
    waiting: int
    editable: tuple[str, ...] = ()  # fields the centre lets the branch change here

    def origin_of(self, field: str) -> Origin:
        for name, origin in self.overridden:
            if name in ("", field):
                return origin
        return Origin.NETWORK


@dataclass(frozen=True)
class SettingLine:
    path: str  # the centre's dotted path: "notice", "counters.skills", "opening_hours" …
    origin: Origin
    editable: bool  # the branch may change it here


@dataclass(frozen=True)
class ConfigView:
    link: Link
    version: int | None = None
    issued_at: str | None = None
    applied_at: str | None = None
    template: str = ""
    template_version: int | None = None
    businesses: tuple[BusinessLine, ...] = ()
    settings: tuple[SettingLine, ...] = ()
    last_poll_at: str | None = None
    downlink_error: str | None = None  # the last poll's failure, None when it got through


def _origin(value: Any) -> Origin:
    try:
        return Origin(str(value))
    except ValueError:
        return Origin.NETWORK  # a source this console does not know: not the branch's


def _service_field(path: str, code: str) -> str | None:
    """The field of business `code` a dotted path names ("" for all of it), else None."""
    whole = f"{SERVICE_PREFIX}{code}"
    if path == whole:
        return ""
    return path[len(whole) + 1 :] if path.startswith(f"{whole}.") else None


def _setting_origin(path: str, overridden: Mapping[str, Origin]) -> Origin:
    if path in overridden:
        return overridden[path]
    return Origin.BRANCH_OWN if path in BRANCH_OWN else Origin.NETWORK


def config_view(
    version: Mapping[str, Any] | None,
    link: Mapping[str, Any] | None,
    services: Mapping[str, Mapping[str, Any]],
    tickets: Iterable[Mapping[str, Any]],
) -> ConfigView:
    """What the panel shows; None for a read that has not come back yet. `tickets`: the
    open ones of the live model (who still waits for a draining business)."""
    downlink = (link or {}).get("downlink") or {}
    poll: dict[str, Any] = {
        "last_poll_at": downlink.get("last_poll_at"),
        "downlink_error": downlink.get("last_error"),
    }
    if version is None or link is None:
        return ConfigView(Link.UNKNOWN)
    if version.get("version") is None:
        if not link.get("configured"):
            return ConfigView(Link.NONE)
        if not downlink.get("configured"):
            return ConfigView(Link.NO_KEY)
        return ConfigView(Link.WAITING, **poll)

    overridden = {str(k): _origin(v) for k, v in (version.get("overridden") or {}).items()}
    editable = [str(p) for p in version.get("branch_editable") or []]
    edited = {str(p) for p in version.get("edited_here") or []}
    draining = {str(c) for c in version.get("draining") or []}
    template = version.get("template") or {}
    waiting = Counter(str(t.get("service")) for t in tickets if t.get("state") == "waiting")

    businesses = []
    for code, svc in services.items():
        mine = [(field, origin) for path, origin in overridden.items()
                if (field := _service_field(path, code)) is not None]  # fmt: skip
        businesses.append(
            BusinessLine(
                code=code,
                names=svc.get("names") or {},
                target_wait_s=int(svc.get("target_wait_s") or 0),
                enabled=bool(svc.get("enabled", True)),
                overridden=tuple(sorted(mine)),
                draining=code in draining,
                waiting=waiting[code],
                editable=tuple(f for p in editable if (f := _service_field(p, code)) is not None),
            )
        )

    paths = list(CENTRE_SECTIONS)
    for path in [*editable, *sorted(overridden), *sorted(edited)]:
        if not path.startswith(SERVICE_PREFIX) and path not in paths:
            paths.append(path)
    settings = tuple(
        SettingLine(
            path,
            Origin.EDITED_HERE if path in edited else _setting_origin(path, overridden),
            path in editable,
        )
        for path in paths
    )
    return ConfigView(
        Link.IN_FORCE,
        version=int(version["version"]),
        issued_at=version.get("issued_at"),
        applied_at=version.get("applied_at"),
        template=str(template.get("name") or template.get("id") or ""),
        template_version=template.get("version"),
        businesses=tuple(businesses),
        settings=settings,
        **poll,
    )
