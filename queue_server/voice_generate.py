"""`branchq voice generate`: the default clip packs, spoken by espeak-ng on this machine.

espeak-ng comes from the PyPI package `espeakng-loader` (the `voice` extra), which ships the
library and its data; we call the library through ctypes. Debian's espeak-ng 1.51 is not used:
its Mandarin reads tone numbers aloud in English. Nothing here runs in the server: the
generated WAVs are committed, and the server only joins them (`queue_server.voice`).

Each clip is synthesised at espeak's 22050 Hz, trimmed of leading and trailing silence,
peak-normalised, low-pass filtered and resampled to 16 kHz (packs stay small), with short
fades so that joined clips do not click. The chime is synthesised from sine tones.
"""

from __future__ import annotations

import ctypes
import math
import wave
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from queue_server.voice import CHIME, PACK_CLIPS

Samples = npt.NDArray[np.float64]  # mono, -1.0 … 1.0

PACK_RATE = 16_000
VOICES = {"zh": "cmn", "en": "en-us"}
LETTER_VOICE = "en-us"  # Chinese announcers say the prefix letters the English way
SPEECH_RATE_WPM = 150  # a little slower than espeak's 175: a hall is noisy and echoes
PEAK = 10 ** (-3 / 20)  # -3 dBFS
SILENCE_THRESHOLD = 0.01  # of full scale, after normalising
PAD_BEFORE_S = 0.010
PAD_AFTER_S = 0.030
FADE_S = 0.005

# speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE = 1
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class SpeechEngineMissing(RuntimeError):
    pass


class Espeak:
    """espeak-ng's library, synthesising into memory (one per process: the library is global)."""

    _instance: Espeak | None = None

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError:
            raise SpeechEngineMissing(
                "espeak-ng is not installed: run `make setup` (or pip install -e '.[voice]')"
            ) from None
        lib: Any = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        data = espeakng_loader.get_data_path().encode()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise SpeechEngineMissing(f"espeak-ng did not start (code {rate})")
        self.rate: int = rate
        self._lib = lib
        self._chunks: list[bytes] = []
        # Kept on the instance: ctypes must not free the callback while the library holds it.
        self._callback = _SYNTH_CALLBACK(self._collect)
        lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def shared(cls) -> Espeak:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def _collect(self, wav: Any, count: int, events: Any) -> int:
        if wav and count > 0:
            self._chunks.append(ctypes.string_at(wav, 2 * count))
        return 0  # 0: go on

    def speak(self, voice: str, text: str, wpm: int = SPEECH_RATE_WPM) -> Samples:
        """`text` spoken by `voice` ("cmn", "en-us") at the engine's own rate."""
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise SpeechEngineMissing(f"espeak-ng has no voice {voice!r}")
        self._lib.espeak_SetParameter(_RATE, wpm, 0)
        self._chunks = []
        encoded = text.encode() + b"\0"
        status = self._lib.espeak_Synth(
            encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        self._lib.espeak_Synchronize()
        if status != 0:
            raise RuntimeError(f"espeak-ng could not speak {text!r} (code {status})")
        pcm = np.frombuffer(b"".join(self._chunks), dtype="<i2")
        return pcm.astype(np.float64) / 32768.0


def trim(samples: Samples, rate: int) -> Samples:
    """Without leading and trailing silence (a little padding kept), peak-normalised, faded."""
    if samples.size == 0 or not np.any(samples):
        raise ValueError("the speech engine produced silence")
    samples = samples * (PEAK / np.max(np.abs(samples)))
    loud = np.flatnonzero(np.abs(samples) > SILENCE_THRESHOLD)
    start = max(0, int(loud[0]) - int(PAD_BEFORE_S * rate))
    end = min(samples.size, int(loud[-1]) + 1 + int(PAD_AFTER_S * rate))
    return fade(samples[start:end].copy(), rate)


def fade(samples: Samples, rate: int, seconds: float = FADE_S) -> Samples:
    n = min(int(seconds * rate), samples.size // 2)
    if n:
        ramp = np.linspace(0.0, 1.0, n)
        samples[:n] *= ramp
        samples[-n:] *= ramp[::-1]
    return samples


def resample(samples: Samples, source: int, target: int) -> Samples:
    """Rate conversion: windowed-sinc low-pass below the new Nyquist, then interpolation."""
    if source == target:
        return samples
    if target < source:
        cutoff = 0.45 * target / source  # of the source rate
        taps = np.arange(-50, 51)
        kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.hamming(taps.size)
        samples = np.convolve(samples, kernel / kernel.sum(), mode="same")
    count = round(samples.size * target / source)
    at = np.arange(count) * (source / target)
    resampled: Samples = np.interp(at, np.arange(samples.size), samples)
    return resampled


def chime(rate: int = PACK_RATE) -> Samples:
    """A soft three-tone chime (C6, A5, F5 falling, bell-like), about 1.3 s."""
    length = int(1.3 * rate)
    t = np.arange(length) / rate
    out = np.zeros(length)
    for i, freq in enumerate((1046.5, 880.0, 698.5)):
        start = 0.28 * i
        local = t - start
        on = local >= 0
        # fast attack, slow exponential decay; a quiet octave partial makes it a bell, not a beep
        envelope = np.where(on, (1 - np.exp(-local / 0.006)) * np.exp(-local / 0.32), 0.0)
        tone = np.sin(2 * math.pi * freq * local) + 0.25 * np.sin(4 * math.pi * freq * local)
        out += envelope * tone
    out *= 10 ** (-6 / 20) / np.max(np.abs(out))  # -6 dBFS: softer than the speech
    return fade(out, rate, 0.02)


def write_wav(path: Path, samples: Samples, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def speak_clip(engine: Espeak, language: str, text: str, rate: int = PACK_RATE) -> Samples:
    voice = LETTER_VOICE if text.isascii() and len(text) == 1 else VOICES[language]
    spoken = trim(engine.speak(voice, text), engine.rate)
    return fade(resample(spoken, engine.rate, rate), rate)


def generate(
    languages: Sequence[str] = tuple(PACK_CLIPS),
    out: str | Path = "assets/voice",
    names: Iterable[str] | None = None,
    rate: int = PACK_RATE,
) -> list[Path]:
    """Write the packs' clips (all, or only `names`) and the chime into `out`; the paths."""
    wanted = set(names) if names is not None else None
    root = Path(out)
    written: list[Path] = []
    if wanted is None or CHIME in wanted:
        write_wav(root / f"{CHIME}.wav", chime(rate), rate)
        written.append(root / f"{CHIME}.wav")
    todo = [
        (language, name, text)
        for language in languages
        for name, text in PACK_CLIPS[language].items()
        if wanted is None or name in wanted
    ]
    if not todo:
        return written
    engine = Espeak.shared()
    for language, name, text in todo:
        path = root / language / f"{name}.wav"
        write_wav(path, speak_clip(engine, language, text, rate), rate)
        written.append(path)
    return written
