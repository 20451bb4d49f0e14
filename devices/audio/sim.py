"""sim:// — a speaker that records what it was given to play, for tests and the demo.

    sim://                      keep what was played in memory (`played`)
    sim://?dir=/tmp/voice       also write each utterance as a numbered WAV file there
    sim://?fail=offline         play nothing and report the device offline (or `error`)

`played` holds each utterance as played: its clip names and the PCM after the volume, so a
test asserts both what was said, in order, and how loud.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from devices.audio.pack import wav_bytes
from devices.audio.player import DEFAULT_VOLUME, QueuedPlayer, Utterance
from devices.errors import DeviceError, DeviceUnavailable
from devices.url import DeviceURL


@dataclass(frozen=True)
class Played:
    clips: tuple[str, ...]
    pcm: bytes = field(repr=False)
    rate: int
    volume: int


class SimulatedSpeaker(QueuedPlayer):
    def __init__(
        self,
        *,
        volume: int = DEFAULT_VOLUME,
        out_dir: str | Path | None = None,
        fail: str = "",
        url: str = "sim://",
    ) -> None:
        super().__init__(volume=volume)
        if fail not in ("", "offline", "error"):
            raise ValueError(f"{url}: fail must be offline or error, not {fail!r}")
        self.url = url
        self.out_dir = Path(out_dir) if out_dir else None
        self.fail = fail
        self.played: list[Played] = []
        self._played_lock = threading.Lock()

    def clips(self) -> list[tuple[str, ...]]:
        """The clip names of every utterance played so far, in order (checks excluded)."""
        with self._played_lock:
            return [p.clips for p in self.played if p.clips != ("(check)",)]

    def _output(self, pcm: bytes, rate: int, utterance: Utterance) -> None:
        if self.fail == "offline":
            raise DeviceUnavailable("simulated speaker unplugged")
        if self.fail == "error":
            raise DeviceError("simulated speaker failed")
        with self._played_lock:
            self.played.append(Played(utterance.clips, pcm, rate, self.volume))
            count = len(self.played)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            name = "-".join(c.replace("/", "_") for c in utterance.clips)[:80]
            (self.out_dir / f"{count:04d}-{name}.wav").write_bytes(wav_bytes(pcm, rate))


def open_sim(url: DeviceURL, volume: int) -> SimulatedSpeaker:
    return SimulatedSpeaker(
        volume=volume,
        out_dir=url.options.get("dir") or None,
        fail=url.option("fail", ""),
        url=str(url),
    )
