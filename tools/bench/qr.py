"""`branchq bench qr`: decode speed and success on hard synthetic camera frames.

One run generates `frames` 640×480 frames with `testframes.hard_frames` (every frame an
appointment QR code on a phone, rotated at any angle, plus two further degradations out of
perspective, low contrast, moiré, blur and noise, each pair equally often), then decodes
each with `decode_frame`'s cascade on one core, timing every call. In the same run it
measures the baseline — pyzbar on the raw grayscale frame, the cascade's first step alone —
so the report shows what the pre-processing buys. A smaller "extreme" set (three further
degradations at once) shows where the cascade stops coping; it is reported, not targeted.

Only the decode call is timed (frame generation is not). OpenCV is held to one thread for
the run, as the kiosk's camera thread is one thread. A frame counts as read when the
decoded text equals the encoded payload; a wrong text is counted separately (it must stay 0:
QR codes carry Reed-Solomon error correction, so a misread is a decoder bug).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import cv2
import numpy as np

from devices.scanner.decode import FrameDecoder, available_decoders, to_gray
from tools.fixtures.qrframes import TestFrame, hard_frames


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else 0.0


def _measure(decoder: FrameDecoder, frames: Iterable[TestFrame]) -> dict[str, Any]:
    times: list[float] = []
    read = wrong = 0
    stages: Counter[str] = Counter()
    by_effect: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for frame in frames:
        started = time.perf_counter()
        codes = decoder.decode(frame.image)
        times.append((time.perf_counter() - started) * 1000)
        ok = any(c.text == frame.text for c in codes)
        read += ok
        wrong += any(c.text != frame.text for c in codes)
        stages[decoder.stats.stage or "none"] += 1
        for effect in frame.effects:
            by_effect[effect][0] += 1
            by_effect[effect][1] += ok
    n = len(times)
    return {
        "frames": n,
        "success_rate": read / n if n else 0.0,
        "misreads": wrong,
        "median_ms": statistics.median(times) if times else 0.0,
        "p95_ms": _percentile(times, 95),
        "max_ms": max(times, default=0.0),
        "stages": dict(stages),
        "by_effect": {e: ok / total for e, (total, ok) in sorted(by_effect.items())},
    }


def run(frames: int = 240, seed: int = 1, extreme_frames: int | None = None) -> dict[str, Any]:
    """Generate the frames, decode them with the cascade and the baseline, return figures.

    `extreme_frames` defaults to a quarter of `frames`.
    """
    if frames < 1:
        raise ValueError("frames must be at least 1")
    if extreme_frames is None:
        extreme_frames = frames // 4
    hard = list(hard_frames(frames, seed))
    extreme = list(hard_frames(extreme_frames, seed + 1000, extra=3))
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        cascade = FrameDecoder()
        # Warm up both decoders (first calls allocate and load the library).
        for f in hard[:3]:
            cascade.decode(f.image)
        main = _measure(cascade, hard)
        if "zbar" in available_decoders():
            baseline = _measure(FrameDecoder(stages=("zbar",)), hard)
        else:
            baseline = _measure(FrameDecoder(stages=("opencv",)), hard)
        hardest = _measure(cascade, extreme) if extreme else None
        gray_ms = _time_gray(hard)
    finally:
        cv2.setNumThreads(threads)
    base_rate = baseline["success_rate"]
    return {
        "frames": main["frames"],
        "seed": seed,
        "decoders": list(available_decoders()),
        "median_ms": main["median_ms"],
        "p95_ms": main["p95_ms"],
        "max_ms": main["max_ms"],
        "success_rate": main["success_rate"],
        "misreads": main["misreads"],
        "stages": main["stages"],
        "by_effect": main["by_effect"],
        "baseline": "zbar-raw" if "zbar" in available_decoders() else "opencv",
        "baseline_success_rate": base_rate,
        "baseline_median_ms": baseline["median_ms"],
        "baseline_p95_ms": baseline["p95_ms"],
        "success_ratio": main["success_rate"] / base_rate if base_rate else float("inf"),
        "to_gray_ms": gray_ms,
        "extreme": None
        if hardest is None
        else {
            "frames": hardest["frames"],
            "success_rate": hardest["success_rate"],
            "median_ms": hardest["median_ms"],
            "p95_ms": hardest["p95_ms"],
        },
    }


def _time_gray(frames: list[TestFrame]) -> float:
    times = []
    for f in frames[:50]:
        started = time.perf_counter()
        to_gray(f.image)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times) if times else 0.0


def format_report(result: dict[str, Any]) -> str:
    """A short table of the figures, for the terminal."""
    lines = [
        f"QR decoding, {result['frames']} hard 640×480 frames (seed {result['seed']}), "
        f"one core; decoders: {', '.join(result['decoders'])}",
        "",
        f"{'':22}{'success':>9}{'median ms':>11}{'p95 ms':>9}",
        f"{'cascade':22}{result['success_rate']:>9.1%}{result['median_ms']:>11.2f}"
        f"{result['p95_ms']:>9.2f}",
        f"{'baseline (' + result['baseline'] + ')':22}{result['baseline_success_rate']:>9.1%}"
        f"{result['baseline_median_ms']:>11.2f}{result['baseline_p95_ms']:>9.2f}",
    ]
    extreme = result.get("extreme")
    if extreme:
        lines.append(
            f"{'extreme (3 effects)':22}{extreme['success_rate']:>9.1%}"
            f"{extreme['median_ms']:>11.2f}{extreme['p95_ms']:>9.2f}"
        )
    lines += [
        "",
        f"success ratio cascade / baseline: {result['success_ratio']:.2f}×; "
        f"misreads: {result['misreads']}; slowest frame {result['max_ms']:.1f} ms",
        "read by stage: "
        + ", ".join(f"{k} {v}" for k, v in sorted(result["stages"].items(), key=lambda kv: -kv[1])),
        "success by effect: " + ", ".join(f"{k} {v:.0%}" for k, v in result["by_effect"].items()),
    ]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `branchq bench qr`."""
    parser.add_argument("--frames", type=int, default=240, help="hard frames (default 240)")
    parser.add_argument("--seed", type=int, default=1, help="frame generator seed (default 1)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def main(args: argparse.Namespace) -> int:
    """Run the benchmark with parsed `add_arguments` options; print a table or JSON."""
    result = run(frames=args.frames, seed=args.seed)
    print(json.dumps(result, sort_keys=True) if args.json else format_report(result))
    return 0
