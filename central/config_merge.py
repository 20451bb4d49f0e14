"""A branch's effective configuration: the network template ⊕ its region's ⊕ its own overrides.

Plain Python, no SQL. An override is a dotted path → a JSON value. Businesses and bundles
are addressed by their code (`services.A.target_wait_min`), never by their place in the
list, so a reordered template does not move an override onto another business. A later
layer wins (branch over region over template); within a layer a deeper path is applied after
the shallower one that holds it, so `services.A.guidance.zh.where` refines a whole
`services.A.guidance` set in the same layer.

`services.<code>.offered = false` (or a bundle's) takes that entry out of the branch's
catalogue (the branch drains its queue rather than dropping it); a deeper layer's `true`
brings it back. `offered` itself is not in the merged catalogue.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from wire.downlink import KIOSK_TEXT_MAX, KIOSK_TEXTS, VOICE_PACK_NAME

# The sections a template holds (the branch TOML's, plus those the centre manages).
SECTIONS = (
    "services",
    "bundles",
    "appointments",
    "opening_hours",
    "alerts",
    "kiosk_texts",
    "voice_pack",
    "location",
)
KEYED = ("services", "bundles")  # lists of entries with a `code`, addressed by it
SERVICE_FIELDS = frozenset(
    {
        "names",
        "target_wait_min",
        "mean_min",
        "share",
        "guidance",
        "visible",
        "needs_form",
        "offered",
    }
)
BUNDLE_FIELDS = frozenset({"names", "service", "includes", "guidance", "offered"})
# Fields a template entry may leave out, and the kind an override of one must have.
OPTIONAL_KINDS = {
    "visible": "a true/false",
    "needs_form": "a true/false",
    "offered": "a true/false",
    "share": "a number",
    "guidance": "an object",
}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_BRANCH_EDITABLE = ("counters.skills", "notice")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ConfigError(ValueError):
    """A template or override the centre refuses, with a stable code and the path at fault."""

    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.path = path


# -------------------------------------------------------------------- the template
def check_template(catalogue: dict[str, Any]) -> None:
    """Refuse a catalogue the branches could not use (ConfigError `bad_template`)."""
    if not isinstance(catalogue, dict):
        raise ConfigError("bad_template", "the catalogue is a JSON object")
    unknown = sorted(set(catalogue) - set(SECTIONS))
    if unknown:
        raise ConfigError("bad_template", f"unknown sections: {', '.join(unknown)}", unknown[0])
    for section in KEYED:
        entries = catalogue.get(section, [])
        if not isinstance(entries, list):
            raise ConfigError("bad_template", f"{section} is a list", section)
        codes = [e.get("code") if isinstance(e, dict) else None for e in entries]
        for code in codes:
            if not isinstance(code, str) or not _SEGMENT.match(code):
                raise ConfigError("bad_template", f"every entry of {section} needs a code", section)
        if len(set(codes)) != len(codes):
            raise ConfigError("bad_template", f"two entries of {section} share a code", section)
    for entry in catalogue.get("services", []):
        where = f"services.{entry['code']}"
        names = entry.get("names")
        if not (isinstance(names, dict) and names.get("zh") and names.get("en")):
            raise ConfigError("bad_template", f"{where}: names in zh and en", f"{where}.names")
        for field in ("target_wait_min", "mean_min"):
            if not _positive(entry.get(field)):
                raise ConfigError("bad_template", f"{where}.{field}: a number above 0", where)
    service_codes = {e["code"] for e in catalogue.get("services", [])}
    for bundle in catalogue.get("bundles", []):
        named = [bundle.get("service"), *bundle.get("includes", [])]
        missing = [c for c in named if c not in service_codes]
        if missing:
            raise ConfigError(
                "bad_template",
                f"bundles.{bundle['code']} names businesses the template lacks: {missing}",
                f"bundles.{bundle['code']}",
            )
    for day, hours in catalogue.get("opening_hours", {}).items():
        _check_hours(f"opening_hours.{day}", day, hours)
    _check_template_kiosk(catalogue)


def _check_template_kiosk(catalogue: dict[str, Any]) -> None:
    for section in ("kiosk_texts", "voice_pack"):
        if section in catalogue:
            try:
                _check_kiosk(section, [section], catalogue[section])
            except ConfigError as exc:
                raise ConfigError("bad_template", str(exc), exc.path) from None


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _check_hours(path: str, day: str, hours: Any) -> None:
    if day not in DAYS:
        raise ConfigError("unknown_path", f"{path}: a day is one of {', '.join(DAYS)}", path)
    closed = hours == []
    if not closed and not (
        isinstance(hours, list)
        and len(hours) == 2
        and all(isinstance(h, str) and _CLOCK.match(h) for h in hours)
        and hours[0] < hours[1]
    ):
        raise ConfigError(
            "bad_value", f'{path}: ["HH:MM", "HH:MM"] with the opening first, or [] closed', path
        )


# -------------------------------------------------------------------- paths
def _keyed(catalogue: dict[str, Any]) -> dict[str, Any]:
    """A deep copy with services and bundles as {code: entry}: paths address them by code."""
    out = copy.deepcopy(catalogue)
    for section in KEYED:
        if section in out:
            out[section] = {e["code"]: e for e in out[section]}
    return out


def _listed(keyed: dict[str, Any], order: dict[str, list[str]]) -> dict[str, Any]:
    """Back to the TOML's lists, in the template's order (a code it lacks cannot occur)."""
    out = dict(keyed)
    for section in KEYED:
        if section in out:
            entries = out[section]
            out[section] = [
                {k: v for k, v in entries[c].items() if k != "offered"}
                for c in order[section]
                if entries[c].get("offered", True) is not False
            ]
    # A bundle needs every business it takes: with one withdrawn, the bundle is too.
    offered = {s["code"] for s in out.get("services", [])}
    if "bundles" in out:
        out["bundles"] = [
            b for b in out["bundles"] if {b.get("service"), *b.get("includes", [])} <= offered
        ]
    return out


def _lookup(tree: Any, parts: list[str]) -> tuple[bool, Any]:
    for part in parts:
        if not isinstance(tree, dict) or part not in tree:
            return False, None
        tree = tree[part]
    return True, tree


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null"


def check_override(catalogue: dict[str, Any], path: str, value: Any) -> None:
    """Refuse an override whose path the template does not have (`unknown_path`) or whose
    value is not of the kind the template's is (`bad_value`)."""
    parts = path.split(".") if isinstance(path, str) else []
    if not parts or not all(_SEGMENT.match(p) for p in parts):
        raise ConfigError("unknown_path", f"{path!r}: dotted names like services.A.mean_min", path)
    section = parts[0]
    if section not in SECTIONS:
        raise ConfigError(
            "unknown_path", f"{path}: no section {section!r} (one of {', '.join(SECTIONS)})", path
        )
    keyed = _keyed(catalogue)
    if section in KEYED:
        _check_keyed(keyed, parts, path)
    elif section == "location":
        _check_location(parts, path, value)
        return
    elif section in ("kiosk_texts", "voice_pack"):
        _check_kiosk(path, parts, value)
    elif section == "opening_hours" and len(parts) == 2:
        _check_hours(path, parts[1], value)
        return
    found, current = _lookup(keyed, parts)
    if not found and section in KEYED and len(parts) == 3 and parts[2] in OPTIONAL_KINDS:
        expected = OPTIONAL_KINDS[parts[2]]
        if _kind(value) != expected:
            raise ConfigError("bad_value", f"{path}: {expected}, not {_kind(value)}", path)
        return
    if not found:
        raise ConfigError("unknown_path", f"{path}: the template has no such value", path)
    if _kind(value) != _kind(current):
        raise ConfigError(
            "bad_value", f"{path}: {_kind(current)}, as in the template, not {_kind(value)}", path
        )


def _check_keyed(keyed: dict[str, Any], parts: list[str], path: str) -> None:
    section = parts[0]
    if len(parts) < 2 or parts[1] not in keyed.get(section, {}):
        raise ConfigError(
            "unknown_path",
            f"{path}: the template has no {section[:-1]} with that code"
            if len(parts) >= 2
            else f"{path}: name a {section[:-1]} by its code, e.g. {section}.A.names",
            path,
        )
    if len(parts) == 2:
        raise ConfigError(
            "unknown_path",
            f"{path}: set its fields one by one (…{parts[1]}.offered = false to withdraw it)",
            path,
        )
    fields = SERVICE_FIELDS if section == "services" else BUNDLE_FIELDS
    if len(parts) >= 3 and parts[2] not in fields:
        raise ConfigError(
            "unknown_path", f"{path}: a {section[:-1]} has no field {parts[2]!r}", path
        )


def _check_location(parts: list[str], path: str, value: Any) -> None:
    def coordinate(v: Any, limit: float) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and -limit <= v <= limit

    if parts == ["location"]:
        if not (
            isinstance(value, dict)
            and set(value) == {"lat", "lon"}
            and coordinate(value["lat"], 90)
            and coordinate(value["lon"], 180)
        ):
            raise ConfigError("bad_value", "location: {lat: -90…90, lon: -180…180}", path)
        return
    limits = {"lat": 90.0, "lon": 180.0}
    if len(parts) != 2 or parts[1] not in limits:
        raise ConfigError("unknown_path", f"{path}: location has lat and lon only", path)
    if not coordinate(value, limits[parts[1]]):
        raise ConfigError("bad_value", f"{path}: a number within ±{limits[parts[1]]:g}", path)


def _check_kiosk(path: str, parts: list[str], value: Any) -> None:
    """What every branch would refuse (wire.downlink): a pack named by other than a plain
    name, a kiosk text the kiosk has no place for, or longer than it shows."""
    if parts == ["voice_pack"]:
        if not (isinstance(value, str) and re.fullmatch(VOICE_PACK_NAME, value)):
            raise ConfigError("bad_value", f"{path}: a pack name such as standard", path)
        return
    # kiosk_texts, kiosk_texts.<language>, kiosk_texts.<language>.<name>: down to the texts.
    below = {".".join(parts): value}
    for _ in range(3 - len(parts)):
        below = {
            f"{p}.{k}": v
            for p, tree in below.items()
            if isinstance(tree, dict)
            for k, v in tree.items()
        }
    for leaf, text in below.items():
        name = leaf.split(".")[-1]
        if name not in KIOSK_TEXTS:
            raise ConfigError("unknown_path", f"{leaf}: a kiosk text is one of {KIOSK_TEXTS}", path)
        if not isinstance(text, str) or len(text) > KIOSK_TEXT_MAX:
            raise ConfigError(
                "bad_value", f"{leaf}: a text, {KIOSK_TEXT_MAX} characters at most", path
            )


def _depth_order(overrides: dict[str, Any]) -> list[tuple[str, Any]]:
    return sorted(overrides.items(), key=lambda item: (item[0].count("."), item[0]))


def _set(tree: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        child = tree.get(part)
        if not isinstance(child, dict):
            child = tree[part] = {}
        tree = child
    tree[parts[-1]] = copy.deepcopy(value)


# -------------------------------------------------------------------- the merge
def effective(
    template: dict[str, Any],
    region: dict[str, Any] | None = None,
    branch: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The merged catalogue and `overridden` (path → "region" | "branch": where the value
    at that path came from; paths not listed are the template's).

    Raises ConfigError for an override the template cannot take (a path it does not have,
    a value of another kind). The template and the overrides are left as they were.
    """
    keyed = _keyed(template)
    order = {s: [e["code"] for e in template.get(s, [])] for s in KEYED}
    overridden: dict[str, str] = {}
    for layer, overrides in (("region", region or {}), ("branch", branch or {})):
        for path, value in _depth_order(overrides):
            check_override(template, path, value)
            _set(keyed, path.split("."), value)
            # What this path replaced came from here now, down to its last leaf.
            for older in [p for p in overridden if p == path or p.startswith(path + ".")]:
                del overridden[older]
            overridden[path] = layer
    merged = _listed(keyed, order)
    return merged, overridden


def lookup(catalogue: dict[str, Any], path: str) -> tuple[bool, Any]:
    """The value at a dotted path of a catalogue in the TOML's shape (businesses by code)."""
    return _lookup(_keyed(catalogue), path.split("."))


def catalogue_from_branch(branch_config: dict[str, Any]) -> dict[str, Any]:
    """A template catalogue from a branch's TOML (as loaded): its businesses, bundles and
    appointment rules, and the sections the centre adds, empty or at their defaults."""
    services = [
        {k: v for k, v in s.items() if k in SERVICE_FIELDS or k == "code"}
        for s in branch_config.get("services", [])
    ]
    return {
        "services": services,
        "bundles": copy.deepcopy(branch_config.get("bundles", [])),
        "appointments": copy.deepcopy(branch_config.get("appointments", {})),
        "opening_hours": {d: ["09:00", "17:00"] for d in DAYS[:5]} | {"sat": [], "sun": []},
        "alerts": {"waiting_over": 30, "wait_over_target_share": 0.2},
        # The kiosks' own welcome ({branch}: the branch's name), a footer to fill in.
        "kiosk_texts": {
            "zh": {"welcome": "欢迎光临{branch}", "footer": ""},
            "en": {"welcome": "Welcome to {branch}", "footer": ""},
        },
        "voice_pack": "standard",
    }
