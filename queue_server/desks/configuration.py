"""The configuration the head office publishes for this branch, applied without disruption.

The `config` document's catalogue has the branch TOML's shapes (parsed by config.py as a
branch file would be); it is applied through the engine, between two commands, as one change
ending in a `config.applied` event, so tickets, calls and sign-ins carry on. A business it
drops while people wait for it drains and goes once nobody needs it. What the centre lets the
branch edit (counters' skills, the hall notice) stays as the manager set it. The kiosk
texts, voice pack and location it sets are the branch's settings from that event on (a
section it leaves out: the kiosk's own texts, the standard pack, the TOML's location).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeGuard

from queue_server import voice
from queue_server.config import ConfigError, parse_config
from queue_server.domain import STANDARD_VOICE_PACK, Change, DomainError, KioskLook
from queue_server.domain.alerts import thresholds_from_wire
from queue_server.domain.hours import OpeningHours
from queue_server.downlink import Refusal
from queue_server.engine import Engine
from queue_server.storage.meta import read_meta
from queue_server.wire_encode import bundle_wire
from wire import EventKind
from wire.downlink import KIOSK_TEXT_MAX, KIOSK_TEXTS, Document

log = logging.getLogger(__name__)
IN_FORCE_KEY = "config_in_force"  # the applied version, its provenance, what is draining
ACTOR = "head office"
EDITABLE_SKILLS, EDITABLE_NOTICE = "counters.skills", "notice"


def _checked_body(body: dict[str, Any]) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    catalogue, editable = body.get("catalogue"), body.get("branch_editable", [])
    overridden = body.get("overridden", {})
    if not isinstance(catalogue, dict):
        raise Refusal("invalid_config", "the body has no catalogue")
    if not isinstance(editable, list) or not all(isinstance(p, str) for p in editable):
        raise Refusal("invalid_config", "branch_editable is not a list of paths")
    if not isinstance(overridden, dict) or not all(
        isinstance(v, str) and v in ("network", "region", "branch") for v in overridden.values()
    ):
        raise Refusal("invalid_config", "overridden is not a map of path to network/region/branch")
    if not isinstance(body.get("template", {}), dict):
        raise Refusal("invalid_config", "template is not an object")
    if "notice" in catalogue and not isinstance(catalogue["notice"], str):
        raise Refusal("invalid_config", "notice is not a text")
    return catalogue, editable, overridden


def _opening_hours(catalogue: dict[str, Any]) -> OpeningHours:
    """The branch-wide hours the catalogue sets (none listed: no branch-wide limit)."""
    try:
        return OpeningHours.from_wire(catalogue.get("opening_hours", {}))
    except ValueError as exc:
        raise Refusal("invalid_config", str(exc)) from None


def _alert_thresholds(catalogue: dict[str, Any]) -> dict[str, int | float]:
    """The alert thresholds the catalogue sets (one left out: that rule is off)."""
    try:
        return thresholds_from_wire(catalogue.get("alerts", {}))
    except ValueError as exc:
        raise Refusal("invalid_config", str(exc)) from None


def _kiosk_texts(catalogue: dict[str, Any], languages: Sequence[str]) -> dict[str, dict[str, str]]:
    """`kiosk_texts`, one line each, in the branch's languages (the others have no kiosk to
    be shown on here); an empty text is the kiosk's own."""
    raw = catalogue.get("kiosk_texts", {})
    if not isinstance(raw, dict) or not all(isinstance(t, dict) for t in raw.values()):
        raise Refusal("invalid_config", "kiosk_texts is not {language: {name: text}}")
    texts: dict[str, dict[str, str]] = {}
    for language, given in raw.items():
        unknown = sorted(set(given) - set(KIOSK_TEXTS))
        if unknown:
            raise Refusal("invalid_config", f"kiosk_texts.{language}: no kiosk text {unknown[0]!r}")
        for name, text in given.items():
            if not isinstance(text, str) or len(line := " ".join(text.split())) > KIOSK_TEXT_MAX:
                raise Refusal(
                    "invalid_config",
                    f"kiosk_texts.{language}.{name}: one line, {KIOSK_TEXT_MAX} characters at most",
                )
            if line and language in languages:
                texts.setdefault(language, {})[name] = line
    return texts


async def _voice_pack(
    catalogue: dict[str, Any], languages: Sequence[str], root: Any, in_force: str
) -> str:
    """The pack named, once it is whole here (its clips are read off the event loop). The
    pack in force is not checked again: a clip of it gone bad is the display's 503 to
    report, not a reason to refuse the rest of a configuration."""
    name = catalogue.get("voice_pack", STANDARD_VOICE_PACK)
    if not isinstance(name, str):
        raise Refusal("invalid_config", "voice_pack is not a pack name")
    if name == in_force:
        return name
    try:
        await asyncio.to_thread(voice.check_pack, name, languages, root)
    except voice.VoicePackError as exc:
        raise Refusal("invalid_config", str(exc)) from None
    return name


def _location(catalogue: dict[str, Any]) -> tuple[float, float] | None:
    """Where the branch stands, as the centre says; None when it says nothing (the TOML's)."""
    raw = catalogue.get("location")
    if raw is None:
        return None
    ok = isinstance(raw, dict) and set(raw) == {"lat", "lon"}
    lat, lon = (raw["lat"], raw["lon"]) if ok else (None, None)
    if not (_degrees(lat, 90.0) and _degrees(lon, 180.0)):
        raise Refusal("invalid_config", "location is {lat: -90…90, lon: -180…180}")
    return float(lat), float(lon)


def _degrees(value: Any, limit: float) -> TypeGuard[float]:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and -limit <= value <= limit
    )


class ConfigurationDesk:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._retiring: asyncio.Task[None] | None = None
        # Where the voice packs are (None: assets/voice/); the app's, read at each apply.
        self.voice_root: Callable[[], Any] = lambda: None

    def start(self) -> None:
        self.engine.listeners.append(self._follow)

    async def stop(self) -> None:
        if self._follow in self.engine.listeners:
            self.engine.listeners.remove(self._follow)
        if self._retiring is not None:
            await asyncio.gather(self._retiring, return_exceptions=True)

    def in_force(self) -> dict[str, Any]:
        raw = read_meta(self.engine.read_conn, IN_FORCE_KEY)
        return json.loads(raw) if raw else {}

    # ------------------------------------------------------------------ applying
    async def apply(self, document: Document) -> dict[str, Any]:
        """The `config` applier (queue_server.downlink): raises Refusal for a catalogue this
        branch cannot take; returns the values in force for the centre."""
        body = document["body"]
        catalogue, editable, overridden = _checked_body(body)
        hours, thresholds = _opening_hours(catalogue), _alert_thresholds(catalogue)
        b = self.engine.branch
        try:
            parsed = parse_config(
                {
                    "branch": {"languages": list(b.settings.languages)},
                    "services": catalogue.get("services", []),
                    "bundles": catalogue.get("bundles", []),
                    "appointments": catalogue.get("appointments", {}),
                }
            )
        except ConfigError as exc:
            raise Refusal("invalid_config", str(exc)) from None
        for service in parsed.services:
            for part in (service.names, service.guidance):
                if not set(part) <= set(b.settings.languages):
                    raise Refusal("invalid_config", f"{service.code}: a language of no use here")
        languages = list(b.settings.languages)
        look = KioskLook(
            texts=_kiosk_texts(catalogue, languages),
            voice_pack=await _voice_pack(
                catalogue, languages, self.voice_root(), b.settings.voice_pack
            ),
            location=_location(catalogue),
        )
        before = self.in_force()
        if before.get("version") == document["version"]:
            return self.effective(before)  # applied before a restart: never twice
        centre_notice = catalogue.get("notice")
        notice = None
        if isinstance(centre_notice, str):
            # Once the manager edits a notice the centre lets them edit, it stays theirs.
            edited = b.settings.notice != before.get("centre_notice", b.settings.notice)
            if not (EDITABLE_NOTICE in editable and edited):
                notice = centre_notice
        record: dict[str, Any] = {
            "version": document["version"],
            "issued_at": document.get("issued_at"),
            "applied_at": self.engine.clock().isoformat(),
            "template": body.get("template", {}),
            "overridden": overridden,
            "branch_editable": editable,
            "centre_notice": centre_notice if isinstance(centre_notice, str) else None,
            "skills_as_set": before.get("skills_as_set") or self._skills(),
            "alerts": thresholds,  # the alert desk reads them back at start-up
        }
        bundles_wire = [dict(bundle_wire(x)) for x in parsed.bundles]

        # Decided here and handed to the engine with no await between, so the state it was
        # decided on is the one it applies to, and the record stored with it says what it did.
        try:
            change = b.apply_configuration(
                self.engine.clock(),
                parsed.services,
                parsed.bundles,
                parsed.appointments,
                version=document["version"],
                template=body.get("template", {}),
                notice=notice,
                bundles_wire=bundles_wire,
                opening_hours=hours,
                alerts=thresholds,
                kiosk=look,
            )
            changed = change.events[-1].data["changed"]
            listed = {s.code for s in parsed.services}
            still = {*before.get("draining", []), *changed["draining"]} - listed
            record["draining"] = sorted(still - set(changed["removed"]))
            record["changed"] = changed
            await self.engine.execute(
                lambda _b, _now: change, actor=ACTOR, also=[self._record_statement(record)]
            )
        except DomainError as exc:
            raise Refusal(exc.code, str(exc)) from None
        return self.effective(self.in_force())

    def effective(self, record: dict[str, Any]) -> dict[str, Any]:
        """The values in force of what the branch may edit, and what is still draining."""
        b = self.engine.branch
        return {
            EDITABLE_NOTICE: b.settings.notice,
            EDITABLE_SKILLS: self._skills(),
            "services.draining": list(record.get("draining", [])),
            "opening_hours": b.settings.opening_hours.to_wire(),
            "alerts": dict(record.get("alerts") or {}),
        }

    def local_edits(self, record: dict[str, Any]) -> list[str]:
        """Which editable values the manager changed here since the centre's version."""
        edits = []
        if record.get("centre_notice") is not None and (
            self.engine.branch.settings.notice != record["centre_notice"]
        ):
            edits.append(EDITABLE_NOTICE)
        if record.get("skills_as_set") and record["skills_as_set"] != self._skills():
            edits.append(EDITABLE_SKILLS)
        return edits

    def _skills(self) -> dict[str, list[str]]:
        return {
            str(n): [sk.service for sk in c.skills]
            for n, c in sorted(self.engine.branch.counters.items())
        }

    @staticmethod
    def _record_statement(record: dict[str, Any]) -> tuple[str, tuple[str, str]]:
        text = json.dumps(record, ensure_ascii=False, sort_keys=True)
        return "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (IN_FORCE_KEY, text)

    # ------------------------------------------------------------------ draining
    def _follow(self, change: Change) -> None:
        """After a queue shrinks: retire drained businesses (never on this call's stack)."""
        if not any(
            e.kind.startswith("ticket.") or e.kind == EventKind.CONFIG_APPLIED
            for e in change.events
        ):
            return
        draining = self.in_force().get("draining") or []
        if not draining or any(self.engine.branch.in_use(c) for c in draining):
            return
        if self._retiring is None or self._retiring.done():
            self._retiring = asyncio.get_running_loop().create_task(self._retire())

    async def _retire(self) -> None:
        record = self.in_force()
        draining = [c for c in record.get("draining", []) if c in self.engine.branch.services]
        gone = [c for c in draining if not self.engine.branch.in_use(c)]
        if not gone:
            return
        record["draining"] = sorted(set(record.get("draining", [])) - set(gone))
        try:
            await self.engine.execute(
                lambda b, now: b.retire_businesses(now, gone),
                actor=ACTOR,
                also=[self._record_statement(record)],
            )
        except Exception:  # retried at the next ticket event
            log.exception("retiring drained businesses %s failed", gone)
