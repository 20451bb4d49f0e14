"""Text in Chinese and English for every BranchQ screen, from the shared catalogs.

The catalogs are flat JSON files in `assets/i18n/` (`zh.json`, `en.json`): a dotted key
(`kiosk.ticket.people_ahead`) maps to a text with named placeholders (`{count}`). They are
plain files on purpose, so the hall display's web page, the voice composer and the ticket
layout can read the very same texts without Qt or this module.

Two layers:

* `Catalog` is plain Python (it uses no Qt): it loads the files, looks a key up in the
  current language, falls back to Chinese and then to the key itself, and lists missing
  keys. This module still imports QtCore for `Translator`; code outside `ui/` (the server
  may not import `ui`) reads the JSON files itself.
* `Translator` is the Qt face of one catalog: `set_language()` emits `languageChanged`, to
  which widgets connect and re-translate themselves live. `translator()` is the process-wide
  instance the apps use; tests build their own so they never share a language.

Texts are plural-free: write "前面还有 {count} 人" / "People ahead of you: {count}", never
"person(s)". A service's names come from the server per language; `pick()` chooses one.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ui.assets import ASSETS
from wire.waits import LONG_WAIT_MIN, WAIT_HORIZON_MIN

LANGUAGES = ("zh", "en")
FALLBACK_LANGUAGE = "zh"  # the branch's own language: always complete, checked by a test
CATALOG_DIR = ASSETS / "i18n"


class _KeepMissing(dict[str, object]):
    """Leaves an unfilled placeholder visible (`{count}`) instead of failing the screen."""

    def __missing__(self, name: str) -> str:
        return "{" + name + "}"


def placeholders(text: str) -> set[str]:
    """The named placeholders in a catalog text: `"前面还有 {count} 人"` → `{"count"}`."""
    return {
        field.split(".")[0].split("[")[0]
        for _, field, _, _ in string.Formatter().parse(text)
        if field
    }


class Catalog:
    """All texts of all languages, and the language currently shown."""

    def __init__(
        self, messages: Mapping[str, Mapping[str, str]], language: str = FALLBACK_LANGUAGE
    ) -> None:
        self.messages = {lang: dict(texts) for lang, texts in messages.items()}
        self._language = FALLBACK_LANGUAGE
        self.set_language(language)
        # Keys asked for at run time that no catalog had: a screen shows the bare key, and
        # this set lets a test or a log say which ones.
        self.unknown_keys: set[str] = set()

    @classmethod
    def load(cls, directory: Path = CATALOG_DIR, language: str = FALLBACK_LANGUAGE) -> Catalog:
        """Read `<language>.json` for every supported language from `directory`."""
        messages = {}
        for lang in LANGUAGES:
            path = directory / f"{lang}.json"
            with path.open(encoding="utf-8") as f:
                texts = json.load(f)
            if not isinstance(texts, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in texts.items()
            ):
                raise ValueError(f"{path}: a catalog is one JSON object of key → text")
            messages[lang] = texts
        return cls(messages, language)

    @property
    def language(self) -> str:
        return self._language

    def set_language(self, language: str) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}; BranchQ speaks {LANGUAGES}")
        self._language = language

    def text(self, key: str, language: str | None = None) -> str:
        """The raw text for `key` (placeholders unfilled), with the fallbacks applied."""
        for lang in (language or self._language, FALLBACK_LANGUAGE):
            found = self.messages.get(lang, {}).get(key)
            if found is not None:
                return found
        self.unknown_keys.add(key)
        return key

    def tr(self, key: str, /, **values: object) -> str:
        """The text for `key` in the current language with `{name}` placeholders filled."""
        return self.tr_in(self._language, key, **values)

    def tr_in(self, language: str, key: str, /, **values: object) -> str:
        """`tr` in a given language (a printed ticket or a voice call in the other one)."""
        return self.text(key, language).format_map(_KeepMissing(values))

    def pick(self, names: Mapping[str, str], language: str | None = None) -> str:
        """One of a server-supplied `{"zh": …, "en": …}` names in the current language.

        Falls back to Chinese, then to any name at all, so a service with only one name
        still gets a tile.
        """
        for lang in (language or self._language, FALLBACK_LANGUAGE):
            if names.get(lang):
                return names[lang]
        return next((name for name in names.values() if name), "")

    def has(self, key: str) -> bool:
        """Whether any language defines `key` (a name to word, or else to show as it is)."""
        return any(key in texts for texts in self.messages.values())

    def keys(self) -> set[str]:
        """Every key that any language defines."""
        return {key for texts in self.messages.values() for key in texts}

    def missing_keys(self, language: str) -> list[str]:
        """Keys another language has and `language` lacks (shown in Chinese meanwhile)."""
        return sorted(self.keys() - self.messages.get(language, {}).keys())

    def placeholder_mismatches(self) -> dict[str, dict[str, set[str]]]:
        """Keys whose placeholders differ between languages: `{key: {lang: {names}}}`."""
        found = {}
        for key in self.keys():
            per_lang = {
                lang: placeholders(texts[key])
                for lang, texts in self.messages.items()
                if key in texts
            }
            if len({frozenset(p) for p in per_lang.values()}) > 1:
                found[key] = per_lang
        return found


class Translator(QObject):
    """A catalog for Qt: widgets connect to `languageChanged` and re-translate themselves."""

    languageChanged = Signal(str)

    def __init__(self, catalog: Catalog | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog if catalog is not None else Catalog.load()

    @property
    def language(self) -> str:
        return self.catalog.language

    def set_language(self, language: str) -> None:
        """Switch every connected widget to `language`; no signal when nothing changes."""
        if language == self.catalog.language:
            return
        self.catalog.set_language(language)
        self.languageChanged.emit(language)

    # Shadows QObject.tr on purpose: BranchQ does not use Qt's .ts translations, and
    # `translator.tr("kiosk.home.title")` is the one way screens get their text.
    def tr(self, key: str, /, **values: object) -> str:  # type: ignore[override]
        return self.catalog.tr(key, **values)

    def pick(self, names: Mapping[str, str]) -> str:
        return self.catalog.pick(names)

    def has(self, key: str) -> bool:
        return self.catalog.has(key)


_translator: Translator | None = None


def translator() -> Translator:
    """The app's one translator, loaded from `assets/i18n/` on first use."""
    global _translator
    if _translator is None:
        _translator = Translator()
    return _translator


def tr(key: str, /, **values: object) -> str:
    """`key` in the app's current language, placeholders filled from `values`."""
    return translator().tr(key, **values)


def set_language(language: str) -> None:
    """Switch the whole app to `language` ("zh" or "en")."""
    translator().set_language(language)


def pick(names: Mapping[str, str]) -> str:
    """A server-supplied per-language name in the app's current language."""
    return translator().pick(names)


# Waits a customer reads are rounded the way people plan: minutes up to an hour, then to ten
# minutes, and from two hours on only "over two hours" with the advice to book — a four-digit
# minute count is noise, and a promise nobody can keep.
# The thresholds are the wire's (wire/waits.py), where the server rounds every wait shown.
CAPPED_WAIT_MIN = WAIT_HORIZON_MIN


def wait_text(
    minutes: int | None, *, issued: bool, brief: bool = False
) -> tuple[str, dict[str, int]]:
    """The wait line as a catalog key and its values, for every screen and the paper.

    `issued`: the customer's own ticket (screen and paper); otherwise a newcomer's wait on a
    business tile or its guidance. `brief`: a tile, which leaves the advice to book for the
    guidance screen.
    """
    if minutes is None:
        return ("kiosk.ticket.eta_unknown" if issued else "kiosk.home.wait_unknown"), {}
    if issued and minutes <= 1:
        return "kiosk.ticket.eta_soon", {}
    if minutes <= 0:
        return "kiosk.home.wait_none", {}
    if minutes < LONG_WAIT_MIN:
        return "wait.minutes", {"minutes": minutes}
    if minutes < CAPPED_WAIT_MIN:
        hours, rest = divmod(round(minutes / 10) * 10, 60)
        if rest == 0:
            return "wait.hours", {"hours": hours}
        return "wait.hours_minutes", {"hours": hours, "minutes": rest}
    return ("wait.over_two_hours_brief" if brief else "wait.over_two_hours"), {}


# The phrases devices report their trouble in (devices/printer/status.py, kiosk/printing.py)
# and the catalog key each one is shown as; a phrase not listed is shown as the device sent it.
DEVICE_DETAIL_KEYS = {
    "paper out": "device.printer.paper_out",
    "cover open": "device.printer.cover_open",
    "paper near end": "device.printer.paper_low",
    "offline": "device.detail.offline",
    "error": "device.detail.error",
    "auto-cutter error": "device.detail.auto_cutter_error",
    "unrecoverable error": "device.detail.unrecoverable_error",
    "error (recovers by itself)": "device.detail.recovering_error",
    "feed button pressed": "device.detail.feed_button",
    "no printer configured": "device.detail.no_printer",
}
_SPOOLER_PREFIX = "print queue: "
_NO_ANSWER_PREFIX = "no answer to status request"


def device_detail(catalog: Catalog, detail: str) -> str:
    """A device's fault detail ("paper out, cover open") in the catalog's language."""
    text = detail.removeprefix(_SPOOLER_PREFIX).strip()
    if text.startswith(_NO_ANSWER_PREFIX):
        return catalog.tr("device.detail.no_answer")
    parts = [part.strip() for part in text.split(", ") if part.strip()]
    if not parts or not all(part in DEVICE_DETAIL_KEYS for part in parts):
        return detail  # free text from a driver: better as sent than half translated
    joiner = "，" if catalog.language == "zh" else ", "
    return joiner.join(catalog.tr(DEVICE_DETAIL_KEYS[part]) for part in parts)
