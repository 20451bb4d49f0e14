"""Call announcements composed offline from clip packs: a chime, then the call per language.

A pack is a folder of WAV clips (`assets/voice/`): `chime.wav` at its root and one folder
per language (`zh/`, `en/`) with one clip per word, named as in `PACK_CLIPS`. Every clip is
mono 16-bit PCM at one sample rate shared by the whole pack, so composing a call is only
joining bytes. The default packs are made by `branchq voice generate` (espeak-ng, offline);
a branch may replace any clip with a studio recording of the same name and format.

How a call is read:

* zh: 「请 A023 号到 3 号窗口办理」 — the ticket number character by character (A 零 二 三),
  the counter as a number (三; 十二; 二十一; 一百零五).
* en: "Number A zero two three, please go to counter three" — the counter in words
  (three; twelve; twenty one; one hundred five).

Ticket numbers are 0-3 prefix letters and 1-5 digits (`A023`, `VIP1024`; what
`domain.day.format_number` makes); counters are 1-999. Anything else is an `InvalidCall`.
"""

from __future__ import annotations

import io
import re
import string
import threading
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PACK_DIR = Path(__file__).resolve().parent.parent / "assets" / "voice"
CHIME = "chime"
MAX_COUNTER = 999
TICKET_NUMBER = re.compile(r"[A-Z]{0,3}[0-9]{1,5}")

# Pauses, in milliseconds. Within a number the clips nearly touch, as a person reads them.
AFTER_CHIME_MS = 300
WORD_GAP_MS = 80
CHAR_GAP_MS = 40
COMMA_MS = 220
SENTENCE_GAP_MS = 600
TAIL_MS = 300  # players may cut the last few ms of a buffer

_DIGITS_ZH = "零一二三四五六七八九"
_DIGITS_EN = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS_EN = (
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS_EN = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_LETTERS = {c: c for c in string.ascii_uppercase}

# Clip name → what it says, per language. The generator speaks these texts; the composer asks
# only for these names; a studio recording replaces `<language>/<name>.wav`.
PACK_CLIPS: dict[str, dict[str, str]] = {
    "zh": {
        **{str(d): ch for d, ch in enumerate(_DIGITS_ZH)},
        **_LETTERS,
        "ten": "十",
        "hundred": "百",
        "qing": "请",
        "hao": "号",
        "dao": "到",
        "chuangkou": "窗口",
        "banli": "办理",
    },
    "en": {
        **{str(d): word for d, word in enumerate(_DIGITS_EN)},
        **{str(10 + i): word for i, word in enumerate(_TEENS_EN)},
        **{str(20 + 10 * i): word for i, word in enumerate(_TENS_EN)},
        **_LETTERS,
        "hundred": "hundred",
        "number": "Number,",
        "please_go_to_counter": "please go to counter,",
    },
}
LANGUAGES = tuple(PACK_CLIPS)


class VoiceError(Exception):
    """A call that cannot be announced."""


class InvalidCall(VoiceError, ValueError):
    """The ticket number or counter cannot be read out (bad input: HTTP 422)."""


class VoicePackError(VoiceError):
    """A clip pack is incomplete or has a clip in the wrong format (the branch's to fix)."""


@dataclass(frozen=True, slots=True)
class Silence:
    """A pause of `ms` milliseconds between clips."""

    ms: int


Part = str | Silence  # a clip name ("chime", "zh/qing") or a pause


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


def _spaced(language: str, names: Iterable[str], gap_ms: int) -> list[Part]:
    parts: list[Part] = []
    for name in names:
        if parts:
            parts.append(Silence(gap_ms))
        parts.append(f"{language}/{name}")
    return parts


def sentence(language: str, number: str, counter: int) -> list[Part]:
    """One language's call, as clips and pauses (no chime)."""
    ticket = list(number)
    word = Silence(WORD_GAP_MS)
    if language == "zh":
        seat = _spaced("zh", zh_counter(counter), CHAR_GAP_MS)
        return [
            "zh/qing",
            word,
            *_spaced("zh", ticket, CHAR_GAP_MS),
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
            *_spaced("en", ticket, CHAR_GAP_MS),
            Silence(COMMA_MS),
            "en/please_go_to_counter",
            word,
            *_spaced("en", en_counter(counter), CHAR_GAP_MS),
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


def clips_used(parts: Iterable[Part]) -> list[str]:
    return [p for p in parts if isinstance(p, str)]


class ClipPack:
    """The clips of one pack folder, read from disk once each and kept in memory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.rate: int | None = None  # set by the first clip read; every other must match
        self._rate_from = ""
        self._frames: dict[str, bytes] = {}
        self._silence: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def path(self, name: str) -> Path:
        return self.root / f"{name}.wav"

    def frames(self, name: str) -> bytes:
        """The PCM frames of a clip ("zh/qing"), from memory after the first read."""
        cached = self._frames.get(name)
        if cached is not None:
            return cached
        with self._lock:
            if name not in self._frames:
                self._frames[name] = self._read(name)
            return self._frames[name]

    def _read(self, name: str) -> bytes:
        path = self.path(name)
        try:
            with wave.open(str(path), "rb") as w:
                channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
                data = w.readframes(w.getnframes())
        except FileNotFoundError:
            raise VoicePackError(
                f"voice clip {name}.wav is missing from {self.root} "
                f"(make it with `branchq voice generate`, or record it)"
            ) from None
        except (wave.Error, EOFError) as exc:
            raise VoicePackError(f"voice clip {path} is not a PCM WAV file: {exc}") from None
        if channels != 1 or width != 2:
            raise VoicePackError(
                f"voice clip {path} is {channels}-channel {8 * width}-bit; "
                "clips must be mono 16-bit PCM"
            )
        if self.rate is None:
            self.rate, self._rate_from = rate, name
        elif rate != self.rate:
            raise VoicePackError(
                f"voice clip {path} is {rate} Hz but {self._rate_from}.wav is {self.rate} Hz; "
                "every clip of a pack must have one sample rate"
            )
        return data

    def silence(self, ms: int) -> bytes:
        assert self.rate is not None, "read a clip first"
        cached = self._silence.get(ms)
        if cached is None:
            cached = self._silence[ms] = bytes(2 * (self.rate * ms // 1000))
        return cached

    def pcm(self, parts: Iterable[Part]) -> bytes:
        parts = list(parts)
        clips = {p: self.frames(p) for p in parts if isinstance(p, str)}  # sets the rate first
        return b"".join(clips[p] if isinstance(p, str) else self.silence(p.ms) for p in parts)

    def wav(self, parts: Iterable[Part]) -> bytes:
        """The parts joined into one WAV file (mono, 16-bit, the pack's rate)."""
        pcm = self.pcm(parts)
        assert self.rate is not None
        return wav_bytes(pcm, self.rate)

    def missing(self, languages: Iterable[str] = LANGUAGES) -> list[str]:
        """Names of the clips the composer may ask for that are not in the folder."""
        return [n for n in all_clips(languages) if not self.path(n).is_file()]

    def load_all(self, languages: Iterable[str] = LANGUAGES) -> None:
        """Read every clip now: a missing clip or one in another format raises here."""
        for name in all_clips(languages):
            self.frames(name)


def all_clips(languages: Iterable[str] = LANGUAGES) -> list[str]:
    """Every clip the composer may ask for: the chime and each language's words."""
    return [CHIME] + [f"{lang}/{name}" for lang in languages for name in PACK_CLIPS[lang]]


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


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


def compose_call(
    number: str, counter: int, languages: Sequence[str], pack_dir: str | Path | None = None
) -> bytes:
    """One WAV announcing `number` to `counter`: chime, then each language's sentence."""
    return clip_pack(pack_dir).wav(call_sequence(number, counter, languages))


def chime_wav(pack_dir: str | Path | None = None) -> bytes:
    """The chime alone, as a WAV (for the display page to check its sound)."""
    return clip_pack(pack_dir).wav([CHIME])
