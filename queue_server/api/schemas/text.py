"""The text types every request uses: each refuses what no branch text needs (lone surrogates,
control characters, bidirectional overrides), stores the NFC form, and has a documented
maximum length. A string that passes can always be stored, shown and printed."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

# The stable codes of refused text (the `code` of the 422 answer).
INVALID_UNICODE = "invalid_unicode"
CONTROL_CHARACTER = "control_character"
TEXT_TOO_LONG = "text_too_long"
UNKNOWN_LANGUAGE = "unknown_language"
TEXT_CODES = frozenset({INVALID_UNICODE, CONTROL_CHARACTER, TEXT_TOO_LONG, UNKNOWN_LANGUAGE})

# Embeddings, overrides and isolates re-order what follows them on screen: "A023" could show
# as another number on the hall display or a ticket. Marks (U+200E/F) stay: they only hint.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = frozenset("\n\u2028\u2029\x85")


def _refuse_unstorable(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            INVALID_UNICODE, "not valid Unicode text (a lone surrogate code point)"
        ) from None


def _is_control(ch: str) -> bool:
    return ch in _BIDI_CONTROLS or ch in _LINE_BREAKS or unicodedata.category(ch) == "Cc"


def _fold_controls(value: str) -> str:
    return "".join(" " if ch != "\n" and _is_control(ch) else ch for ch in value)


def _refuse_controls(value: str, multiline: bool) -> None:
    allowed = {"\n", "\t"} if multiline else set()
    for ch in value:
        if ch in allowed or not _is_control(ch):
            continue
        if ch in _BIDI_CONTROLS:
            raise PydanticCustomError(
                CONTROL_CHARACTER, "bidirectional override characters are not allowed"
            )
        raise PydanticCustomError(
            CONTROL_CHARACTER,
            "control characters are not allowed"
            + ("" if multiline else " (one line: no line breaks or tabs)"),
        )


_CONTROLS_DOC = {
    "refuse": "; no control or bidi-override characters",
    "fold": "; control characters become spaces",
    "keep": "",
}


@dataclass(frozen=True, slots=True)
class Text:
    """A text field's rule: at most `max_length` characters after NFC; one line unless
    `multiline` (then newlines and tabs are kept, and CR LF becomes LF). Other control
    characters are refused, or with `controls="fold"` become spaces, or with
    `controls="keep"` are left for the desk that reads the text to judge."""

    max_length: int
    multiline: bool = False
    min_length: int = 0
    controls: Literal["refuse", "fold", "keep"] = "refuse"

    def clean(self, value: str) -> str:
        # The length is checked first so a megabyte is refused without being scanned.
        if len(value) > 4 * self.max_length:
            raise self._too_long()
        _refuse_unstorable(value)
        if self.multiline:
            value = value.replace("\r\n", "\n")
        value = unicodedata.normalize("NFC", value)
        if self.controls == "fold":
            value = _fold_controls(value)
        elif self.controls == "refuse":
            _refuse_controls(value, self.multiline)
        if len(value) > self.max_length:
            raise self._too_long()
        if len(value) < self.min_length:
            raise PydanticCustomError(
                "string_too_short", "at least {min} characters", {"min": self.min_length}
            )
        return value

    def _too_long(self) -> PydanticCustomError:
        return PydanticCustomError(
            TEXT_TOO_LONG, "longer than {max} characters", {"max": self.max_length}
        )

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.clean, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out["maxLength"] = self.max_length
        if self.min_length:
            out["minLength"] = self.min_length
        out.setdefault(
            "description",
            f"at most {self.max_length} characters (NFC); "
            + ("newlines allowed" if self.multiline else "one line")
            + _CONTROLS_DOC[self.controls],
        )
        return out


# The branch's texts and their limits (docs/security.md, "Text the API accepts").
Name = Annotated[str, Text(100)]  # a business's, teller's or device token's name
Label = Annotated[str, Text(64)]  # an opaque reference a client sends back: an appointment id
Reason = Annotated[str, Text(200)]  # why a counter paused
Line = Annotated[str, Text(300)]  # a guidance item, a device's detail
# The hall notice: line breaks are taken (pasted text has them) and folded into spaces.
Notice = Annotated[str, Text(300, multiline=True)]
Paragraph = Annotated[str, Text(500)]  # guidance's "alternative" (one line on the kiosk)
# A customer's words with the rating, typed on a phone: a stray control character is no
# reason to lose them (the branch folds them to spaces as well).
Comment = Annotated[str, Text(200, multiline=True, controls="fold")]
Note = Annotated[str, Text(500, multiline=True)]  # a teller's transfer note
LongNote = Annotated[str, Text(2000, multiline=True)]  # a manager's follow-up note
FormValue = Annotated[str, Text(200)]  # one field of the kiosk's pre-filled form
# A scanned QR code's text: the appointment desk tells the customer it is not a booking
# of this bank (controls and all); it is verified by its signature and never stored.
QrText = Annotated[str, Text(512, min_length=1, controls="keep")]
IdNumber = Annotated[str, Text(64, min_length=1)]  # the ID card's number, hashed at once

_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")


def _language_tag(value: str) -> str:
    # The configured languages are checked by the branch (update_service); this refuses at
    # the edge what can be no language at all, and never quotes it back.
    if not _LANGUAGE_TAG.fullmatch(value):
        raise PydanticCustomError(UNKNOWN_LANGUAGE, "not a language code such as zh or en")
    return value


@dataclass(frozen=True, slots=True)
class _LanguageRule:
    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_language_tag, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out["pattern"] = "^" + _LANGUAGE_TAG.pattern + "$"
        return out


Language = Annotated[str, _LanguageRule()]  # a key of a per-language dict: one of the branch's

# An Idempotency-Key header: printable ASCII without spaces (a header carries Latin-1, and
# the key is stored with the command it guards). Issuing and check-in ask 8 or more.
IDEMPOTENCY_KEY = r"^[\x21-\x7e]{8,100}$"
SHORT_IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,100}$"
