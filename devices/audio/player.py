"""What every audio backend shares: a queue played on a worker thread, volume, health.

`play()` never blocks its caller (the kiosk's Qt thread): it queues the utterance and a
worker thread plays one at a time through the backend's `_output(pcm, rate)`. The volume
(0-100) is applied to the samples here, so every backend honours it the same way. Health
is the server's device vocabulary: `ok`, `offline` (no such device, or no player
program), `error` (the device failed to play); `on_health(health, detail)` is called on
the worker thread whenever it changes.
"""

from __future__ import annotations

import array
import contextlib
import logging
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from devices.errors import DeviceError, DeviceUnavailable

log = logging.getLogger(__name__)

DEFAULT_VOLUME = 80
QUEUE_LIMIT = 8  # a prompt that would wait behind more than this is stale: dropped


@dataclass(frozen=True)
class Utterance:
    """One thing to say: the clips it is made of (for logs and tests) and its PCM."""

    clips: tuple[str, ...]
    pcm: bytes = field(repr=False)  # mono, 16-bit little-endian
    rate: int


def clamp_volume(volume: int) -> int:
    return max(0, min(100, int(volume)))


def scale_pcm(pcm: bytes, volume: int) -> bytes:
    """16-bit mono PCM at `volume` (0-100). Loudness is heard roughly as the square of the
    amplitude, so the gain is (volume/100)²: 50 sounds about half as loud as 100."""
    volume = clamp_volume(volume)
    if volume == 100:
        return pcm
    gain = (volume / 100) ** 2
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) // 2 * 2])
    if sys.byteorder == "big":
        samples.byteswap()
    scaled = array.array("h", (round(s * gain) for s in samples))
    if sys.byteorder == "big":
        scaled.byteswap()
    return scaled.tobytes()


class QueuedPlayer:
    """An audio port: subclasses say how one buffer of PCM reaches the speaker."""

    url = ""
    configured = True  # False for none://: there is no device to report on

    def __init__(self, *, volume: int = DEFAULT_VOLUME) -> None:
        self.volume = clamp_volume(volume)
        self.on_health: Callable[[str, str], object] | None = None
        self._health: tuple[str, str] | None = None
        self._queue: queue.Queue[Utterance | None] = queue.Queue(QUEUE_LIMIT)
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def health(self) -> tuple[str, str] | None:
        """The latest (health, detail); None before anything was played or checked."""
        return self._health

    def set_volume(self, volume: int) -> int:
        self.volume = clamp_volume(volume)
        return self.volume

    def play(self, utterance: Utterance) -> bool:
        """Queue `utterance`; False when the queue is full or the port is closed."""
        if self._closed:
            return False
        self._start()
        try:
            self._queue.put_nowait(utterance)
        except queue.Full:
            log.warning("audio queue full: dropped %s", " ".join(utterance.clips))
            return False
        return True

    def drop_pending(self) -> None:
        """Forget what is queued but not yet playing (the customer has gone)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is None:  # close() asked the worker to stop: keep that
                self._queue.put_nowait(None)
                return

    def check(self) -> None:
        """Queue a short silence: playing it tells whether the device works."""
        self.play(Utterance(("(check)",), bytes(2 * 800), 16_000))

    def close(self, timeout_s: float = 2.0) -> None:
        self._closed = True
        worker = self._worker
        if worker is not None:
            self.drop_pending()
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=timeout_s)
            worker.join(timeout_s)

    def _start(self) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="audio", daemon=True)
                self._worker.start()

    def _run(self) -> None:
        while True:
            utterance = self._queue.get()
            if utterance is None:
                return
            try:
                self._output(scale_pcm(utterance.pcm, self.volume), utterance.rate, utterance)
            except DeviceUnavailable as exc:
                self._set_health("offline", str(exc))
            except DeviceError as exc:
                self._set_health("error", str(exc))
            except Exception as exc:  # a backend bug must not kill the worker
                log.exception("audio backend failed")
                self._set_health("error", type(exc).__name__)
            else:
                self._set_health("ok", "")

    def _set_health(self, health: str, detail: str) -> None:
        if (health, detail) == self._health:
            return
        self._health = (health, detail)
        if health != "ok":
            log.warning("audio %s: %s %s", self.url, health, detail)
        if self.on_health is not None:
            self.on_health(health, detail)

    def _output(self, pcm: bytes, rate: int, utterance: Utterance) -> None:
        raise NotImplementedError
