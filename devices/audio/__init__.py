"""The kiosk's speaker: voice prompts played from a queue, never blocking the caller.

    speaker = audio_for_url("alsa://default", volume=70)
    speaker.on_health = report            # (health, detail) on every change
    speaker.play(Utterance(clips, pcm, rate))

Every scheme takes `volume=0..100` in the URL too (the `volume` argument wins when given);
scheme options are in each module: `none://` (`.none`, silent, the default), `sim://`
(`.sim`, records what was played), `alsa://` (`.alsa`, aplay on Linux). The packs of clips
that make an utterance are `.pack`.
"""

from __future__ import annotations

import importlib
import math
import threading
import time
from collections.abc import Callable

from devices.audio.player import DEFAULT_VOLUME, QueuedPlayer, Utterance, clamp_volume, scale_pcm
from devices.url import DeviceURL, parse_device_url

#: Every URL scheme, with one line on what it reaches and an example.
SCHEMES: dict[str, str] = {
    "none": "no speaker, the kiosk stays silent (the default): none://",
    "sim": "a simulated speaker that records what it played (tests, demo): sim://?dir=/tmp/voice",
    "alsa": "a Linux sound device through ALSA's aplay (alsa-utils): alsa://plughw:1,0?timeout=5",
}
# Modules by scheme, imported when used: the simulator is not in the kiosk bundle.
_MODULES = {"none": "devices.audio.none", "sim": "devices.audio.sim", "alsa": "devices.audio.alsa"}
_OPTIONS: dict[str, frozenset[str]] = {
    "none": frozenset(),
    "sim": frozenset({"dir", "fail"}),
    "alsa": frozenset({"timeout", "player"}),
}


def audio_for_url(url: str | None, *, volume: int | None = None) -> QueuedPlayer:
    """The speaker a URL names (see SCHEMES); None or "" is none://. ValueError when the
    URL is malformed; a device that is missing shows in its health, not here."""
    parsed = parse_device_url(url or "none://")
    if parsed.scheme not in SCHEMES:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise ValueError(f"unknown audio URL scheme {parsed.scheme!r} (known: {known})")
    allowed = _OPTIONS[parsed.scheme] | {"volume"}
    unknown = sorted(set(parsed.options) - allowed)
    if unknown:
        raise ValueError(
            f"{url}: unknown option(s) {', '.join(unknown)} (known: {', '.join(sorted(allowed))})"
        )
    level = volume if volume is not None else parsed.int_option("volume", DEFAULT_VOLUME)
    if not 0 <= level <= 100:
        raise ValueError(f"{url}: volume must be 0 to 100, not {level}")
    opener: Callable[[DeviceURL, int], QueuedPlayer] = getattr(
        importlib.import_module(_MODULES[parsed.scheme]), f"open_{parsed.scheme}"
    )
    return opener(parsed, level)


def beep(rate: int = 16_000, ms: int = 400, hz: float = 880.0) -> Utterance:
    """A plain tone, for a probe that needs no clip pack."""
    n = rate * ms // 1000
    samples = (round(8000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(n))
    pcm = b"".join(s.to_bytes(2, "little", signed=True) for s in samples)
    return Utterance(("(beep)",), pcm, rate)


def probe(url: str, timeout_s: float = 10.0) -> str:
    """Field diagnostic: play a short tone and say what the device answered."""
    lines = [f"audio    {url}"]
    try:
        speaker = audio_for_url(url)
    except ValueError as exc:
        return "\n".join([*lines, f"url      invalid: {exc}", "verdict  fix the audio URL"])
    if not speaker.configured:
        return "\n".join([*lines, "verdict  no speaker configured (silent)"])
    answered = threading.Event()
    speaker.on_health = lambda _health, _detail: answered.set()
    started = time.monotonic()
    speaker.play(beep())
    answered.wait(timeout_s)
    speaker.close()
    health, detail = speaker.health or ("offline", "no answer")
    lines.append(f"played   a tone in {(time.monotonic() - started) * 1000:.0f} ms")
    lines.append(f"health   {health}" + (f" ({detail})" if detail else ""))
    lines.append("verdict  " + ("heard? then it works" if health == "ok" else "NOT PLAYING"))
    return "\n".join(lines)


__all__ = [
    "DEFAULT_VOLUME",
    "SCHEMES",
    "QueuedPlayer",
    "Utterance",
    "audio_for_url",
    "clamp_volume",
    "probe",
    "scale_pcm",
]
