"""`branchq bench voice`: time to compose a call's announcement WAV (target ≤ 20 ms).

`measure_compose()` composes `samples` calls (A000, A001, … to counters 1-20, in the given
languages) with `voice.compose_call`, whose clips are in memory after the first call, and
reports the median as `compose_ms`. The same-run baseline does the same work without the
cache: each call reads its clips from the WAV files on disk and joins them. `cold_ms` is the
first call on a pack nobody has read yet (every clip read from disk once). `bench display`
calls `measure_compose()` for its `compose_ms` figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from queue_server import voice


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _calls(samples: int) -> list[tuple[str, int]]:
    return [(f"A{i % 1000:03d}", 1 + i % 20) for i in range(samples)]


def _compose_from_disk(root: Path, parts: list[voice.Part]) -> bytes:
    """The baseline: what composing costs when every clip is read from its file each time."""
    chunks: list[bytes] = []
    rate = 16_000
    for part in parts:
        if isinstance(part, str):
            with wave.open(str(root / f"{part}.wav"), "rb") as w:
                rate = w.getframerate()
                chunks.append(w.readframes(w.getnframes()))
        else:
            chunks.append(bytes(2 * (rate * part.ms // 1000)))
    return voice.wav_bytes(b"".join(chunks), rate)


def measure_compose(
    samples: int = 200,
    languages: Sequence[str] = ("zh", "en"),
    pack_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Composition time of `samples` calls, in milliseconds, with the uncached baseline."""
    if samples < 1:
        raise ValueError("samples must be at least 1")
    root = Path(pack_dir or voice.DEFAULT_PACK_DIR).resolve()
    calls = _calls(samples)
    languages = list(languages)

    fresh = voice.ClipPack(root)
    started = time.perf_counter()
    first = fresh.wav(voice.call_sequence(*calls[0], languages))
    cold = time.perf_counter() - started

    voice.compose_call(*calls[0], languages, root)  # load the shared cache before timing
    warm: list[float] = []
    for number, counter in calls:
        started = time.perf_counter()
        voice.compose_call(number, counter, languages, root)
        warm.append(time.perf_counter() - started)

    baseline: list[float] = []
    for number, counter in calls:
        started = time.perf_counter()
        _compose_from_disk(root, voice.call_sequence(number, counter, languages))
        baseline.append(time.perf_counter() - started)

    with wave.open(str(root / f"{voice.CHIME}.wav"), "rb") as w:
        rate = w.getframerate()
    compose = statistics.median(warm)
    base = statistics.median(baseline)
    return {
        "samples": samples,
        "languages": languages,
        "pack": str(root),
        "rate_hz": rate,
        "call_audio_s": round((len(first) - 44) / 2 / rate, 2),
        "call_wav_bytes": len(first),
        "compose_ms": _ms(compose),
        "compose_p95_ms": _ms(sorted(warm)[int(0.95 * (len(warm) - 1))]),
        "compose_max_ms": _ms(max(warm)),
        "cold_ms": _ms(cold),
        "baseline_ms": _ms(base),
        "baseline_over_compose": round(base / compose, 1) if compose else None,
        "target_ms": 20.0,
    }


def format_report(result: dict[str, Any]) -> str:
    rows = [
        ("compose (clips in memory), median", result["compose_ms"]),
        ("compose, p95", result["compose_p95_ms"]),
        ("compose, max", result["compose_max_ms"]),
        ("first call on an unread pack", result["cold_ms"]),
        ("baseline: clips read from disk, median", result["baseline_ms"]),
    ]
    lines = [
        f"voice call composition: {result['samples']} calls, "
        f"{'+'.join(result['languages'])}, {result['call_audio_s']} s of audio "
        f"({result['call_wav_bytes'] / 1024:.0f} KiB) at {result['rate_hz']} Hz",
    ]
    lines += [f"  {label:<40} {ms:8.3f} ms" for label, ms in rows]
    lines.append(
        f"  baseline / compose: {result['baseline_over_compose']}×   "
        f"target ≤ {result['target_ms']:.0f} ms: "
        f"{'met' if result['compose_ms'] <= result['target_ms'] else 'MISSED'}"
    )
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    result = measure_compose(args.samples, args.languages.split(","), args.pack)
    print(json.dumps(result, sort_keys=True) if args.json else format_report(result))
    return 0
