"""Voice clip packs: what a pack holds and how its clips are read and joined into PCM.

A pack is a folder of WAV clips (`assets/voice/`): `chime.wav` at its root and one folder
per language (`zh/`, `en/`) with one clip per word or phrase, named as in `PACK_CLIPS`.
Every clip is mono 16-bit PCM at one sample rate shared by the whole pack, so composing an
utterance is only joining bytes. The default packs are made by `branchq voice generate`
(espeak-ng, offline); a branch may replace any clip with a studio recording of the same
name and format.

Both the server (call announcements for the hall display) and the kiosk (its voice prompts)
read packs; the kiosk reaches the server over HTTP only, so this module lives with the
devices, which both may import.
"""

from __future__ import annotations

import io
import string
import threading
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CHIME = "chime"

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

# Clip name → what it says, per language. The generator speaks these texts; composers ask
# only for these names; a studio recording replaces `<language>/<name>.wav`. The digits and
# letters are named by themselves, so a ticket number is read by its own characters.
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
        # The kiosk's prompts (kiosk/voice.py).
        "choose_business": "请选择业务",
        "your_number_is": "您的号码是",
        "take_ticket": "请取走号票",
        "take_id_card": "请取回您的身份证",
    },
    "en": {
        **{str(d): word for d, word in enumerate(_DIGITS_EN)},
        **{str(10 + i): word for i, word in enumerate(_TEENS_EN)},
        **{str(20 + 10 * i): word for i, word in enumerate(_TENS_EN)},
        **_LETTERS,
        "hundred": "hundred",
        "number": "Number,",
        "please_go_to_counter": "please go to counter,",
        "choose_business": "Please choose a service.",
        "your_number_is": "Your number is",
        "take_ticket": "Please take your ticket.",
        "take_id_card": "Please take back your ID card.",
    },
}
LANGUAGES = tuple(PACK_CLIPS)


class VoiceError(Exception):
    """Something that cannot be spoken."""


class VoicePackError(VoiceError):
    """A clip pack is incomplete or has a clip in the wrong format (the branch's to fix)."""


@dataclass(frozen=True, slots=True)
class Silence:
    """A pause of `ms` milliseconds between clips."""

    ms: int


Part = str | Silence  # a clip name ("chime", "zh/qing") or a pause


def spaced(language: str, names: Iterable[str], gap_ms: int) -> list[Part]:
    """`language`'s clips of `names` with a pause of `gap_ms` between each two."""
    parts: list[Part] = []
    for name in names:
        if parts:
            parts.append(Silence(gap_ms))
        parts.append(f"{language}/{name}")
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
        """Names of the clips a composer may ask for that are not in the folder."""
        return [n for n in all_clips(languages) if not self.path(n).is_file()]

    def load_all(self, languages: Iterable[str] = LANGUAGES) -> None:
        """Read every clip now: a missing clip or one in another format raises here."""
        for name in all_clips(languages):
            self.frames(name)


def all_clips(languages: Iterable[str] = LANGUAGES) -> list[str]:
    """Every clip a composer may ask for: the chime and each language's words."""
    return [CHIME] + [f"{lang}/{name}" for lang in languages for name in PACK_CLIPS[lang]]


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()
