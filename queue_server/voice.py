"""Call announcements composed offline from clip packs: a chime, then the call per language.

The packs themselves (their clips, how they are read and joined) are `devices.audio.pack`,
shared with the kiosk's voice prompts; this module only says which clips a call is.

How a call is read:

* zh: 「请 A023 号到 3 号窗口办理」 — the ticket number character by character (A 零 二 三),
  the counter as a number (三; 十二; 二十一; 一百零五).
* en: "Number A zero two three, please go to counter three" — the counter in words
  (three; twelve; twenty one; one hundred five).

Ticket numbers are 0-3 prefix letters and 1-5 digits (`A023`, `VIP1024`; what
`domain.day.format_number` makes); counters are 1-999. Anything else is an `InvalidCall`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path

from devices.audio.pack import (
    CHIME,
    LANGUAGES,
    PACK_CLIPS,
    ClipPack,
    Part,
    Silence,
    VoiceError,
    VoicePackError,
    all_clips,
    clips_used,
    spaced,
    wav_bytes,
)
from wire.downlink import VOICE_PACK_NAME

DEFAULT_PACK_DIR = Path(__file__).resolve().parent.parent / "assets" / "voice"
STANDARD_PACK = "standard"  # the pack the branch ships with: the root folder itself
MAX_COUNTER = 999
TICKET_NUMBER = re.compile(r"[A-Z]{0,3}[0-9]{1,5}")

# Pauses, in milliseconds. Within a number the clips nearly touch, as a person reads them.
AFTER_CHIME_MS = 300
WORD_GAP_MS = 80
CHAR_GAP_MS = 40
COMMA_MS = 220
SENTENCE_GAP_MS = 600
TAIL_MS = 300  # players may cut the last few ms of a buffer


__all__ = [
    "CHIME",
    "LANGUAGES",
    "PACK_CLIPS",
    "ClipPack",
    "InvalidCall",
    "Part",
    "Silence",
    "VoiceError",
    "VoicePackError",
    "all_clips",
    "call_sequence",
    "check_pack",
    "chime_wav",
    "clip_pack",
    "clips_used",
    "compose_call",
    "pack_folder",
    "wav_bytes",
]


class InvalidCall(VoiceError, ValueError):
    """The ticket number or counter cannot be read out (bad input: HTTP 422)."""


def check_call(number: str, counter: int) -> None:
    if not isinstance(number, str) or not TICKET_NUMBER.fullmatch(number):
        raise InvalidCall(
            f"ticket number {number!r} is not 0-3 capital letters and 1-5 digits (e.g. A023)"
        )
    if isinstance(counter, bool) or not isinstance(counter, int) or not 1 <= counter <= MAX_COUNTER:
        raise InvalidCall(f"counter {counter!r} is not a number from 1 to {MAX_COUNTER}")


def zh_counter(n: int) -> list[str]:
    """Clip names reading 1-999 the Chinese way: 三, 十二, 二十一, 一百零五, 一百一十."""
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if hundreds:
        words += [str(hundreds), "hundred"]
        if rest and tens == 0:
            words.append("0")  # 一百零五
    if tens:
        if tens > 1 or hundreds:
            words.append(str(tens))  # 二十, 一百一十 (but 十二, not 一十二)
        words.append("ten")
    if units:
        words.append(str(units))
    return words


def en_counter(n: int) -> list[str]:
    """Clip names reading 1-999 in English words: three, twelve, twenty one, one hundred five."""
    hundreds, rest = divmod(n, 100)
    words: list[str] = []
    if hundreds:
        words += [str(hundreds), "hundred"]
    if rest >= 20:
        tens, units = divmod(rest, 10)
        words.append(str(tens * 10))
        if units:
            words.append(str(units))
    elif rest:
        words.append(str(rest))
    return words


def sentence(language: str, number: str, counter: int) -> list[Part]:
    """One language's call, as clips and pauses (no chime)."""
    ticket = list(number)
    word = Silence(WORD_GAP_MS)
    if language == "zh":
        seat = spaced("zh", zh_counter(counter), CHAR_GAP_MS)
        return [
            "zh/qing",
            word,
            *spaced("zh", ticket, CHAR_GAP_MS),
            word,
            "zh/hao",
            word,
            "zh/dao",
            word,
            *seat,
            word,
            "zh/hao",
            word,
            "zh/chuangkou",
            word,
            "zh/banli",
        ]
    if language == "en":
        return [
            "en/number",
            word,
            *spaced("en", ticket, CHAR_GAP_MS),
            Silence(COMMA_MS),
            "en/please_go_to_counter",
            word,
            *spaced("en", en_counter(counter), CHAR_GAP_MS),
        ]
    raise VoicePackError(f"no voice pack for language {language!r} (have {', '.join(LANGUAGES)})")


def call_sequence(number: str, counter: int, languages: Sequence[str]) -> list[Part]:
    """The clips and pauses of one call: chime, then the sentence in each language in order."""
    check_call(number, counter)
    if isinstance(languages, str) or not languages:
        raise InvalidCall("languages must be a non-empty list such as ['zh', 'en']")
    parts: list[Part] = [CHIME, Silence(AFTER_CHIME_MS)]
    for i, language in enumerate(languages):
        if i:
            parts.append(Silence(SENTENCE_GAP_MS))
        parts += sentence(language, number, counter)
    parts.append(Silence(TAIL_MS))
    return parts


_packs: dict[Path, ClipPack] = {}
_packs_lock = threading.Lock()


def clip_pack(pack_dir: str | Path | None = None) -> ClipPack:
    """The pack in a folder (default `assets/voice/`), one cached instance per folder."""
    root = Path(pack_dir or DEFAULT_PACK_DIR).resolve()
    with _packs_lock:
        pack = _packs.get(root)
        if pack is None:
            pack = _packs[root] = ClipPack(root)
        return pack


def pack_folder(name: str, root: str | Path | None = None) -> Path:
    """The folder of a named pack (the head office names one in the configuration): the
    standard pack is the root itself (`assets/voice/`), any other a folder of the root
    named after it (`assets/voice/<name>/`, with its own chime and language folders)."""
    base = Path(root or DEFAULT_PACK_DIR)
    return base if name == STANDARD_PACK else base / name


def check_pack(name: str, languages: Sequence[str], root: str | Path | None = None) -> None:
    """Raise VoicePackError unless `name` is a whole pack here for `languages`: a name
    (never a path), a folder holding every clip, all of one format. Reads every clip."""
    if not re.fullmatch(VOICE_PACK_NAME, name):
        raise VoicePackError(f"voice pack name {name[:40]!r} is not {VOICE_PACK_NAME}")
    folder = pack_folder(name, root)
    if not (folder / f"{CHIME}.wav").is_file():
        raise VoicePackError(f"this branch has no voice pack {name!r} (no {folder})")
    # A pack of its own, not the cached one: a half-copied folder is not kept in memory.
    pack = ClipPack(folder)
    spoken = [lang for lang in languages if lang in LANGUAGES]
    missing = pack.missing(spoken)
    if missing:
        raise VoicePackError(f"voice pack {name!r} lacks {len(missing)} clips: {missing[:3]}")
    pack.load_all(spoken)


def compose_call(
    number: str, counter: int, languages: Sequence[str], pack_dir: str | Path | None = None
) -> bytes:
    """One WAV announcing `number` to `counter`: chime, then each language's sentence."""
    return clip_pack(pack_dir).wav(call_sequence(number, counter, languages))


def chime_wav(pack_dir: str | Path | None = None) -> bytes:
    """The chime alone, as a WAV (for the display page to check its sound)."""
    return clip_pack(pack_dir).wav([CHIME])
