"""Camera and video-file scanners: frames from OpenCV, decoded in the background.

URL formats::

    camera://0                      V4L device index (or camera:///dev/video2)
    camera://0?width=1280&height=720
    file://tests/data/qr.avi        a video file played as if it were the camera
    file:///abs/path/qr.png         an image file: one frame (or repeated with loop=1)

Options:

    loop=1       replay the file from the start at its end (default 0: play once)
    fps=N        file pacing in frames per second (default: the video's own rate, 10 for
                 an image); fps=0 decodes every frame as fast as decoding allows, none
                 dropped — for tests and offline checks
    every=N      decode only every Nth frame read (a slow kiosk PC)
    rate=N       decode at most N frames a second (default 15; 0: no limit)
    deep=N       run the whole decoding cascade on every Nth decoded frame and only its
                 quick stages on the others (default 3; 1: always the whole cascade)
    dedup=S      report a code again only after S seconds without it (default 2)
    retry=S      seconds between attempts to reopen a camera that is gone (default 3)
    symbols=a,b  zbar symbologies to read (default qrcode), e.g. qrcode,code128

Two threads. The *reader* owns the `cv2.VideoCapture` (opened, read and released on that
one thread, as V4L and Media Foundation want) and keeps only the newest frame. The
*decoder* (the scanner's worker) decodes the newest frame whenever it is free, so when
decoding is slower than the camera, frames are skipped rather than queued up into lag.
An empty, busy view costs the whole cascade every frame (30-40 ms), so by default the
decoder runs at most 15 frames a second and the deep stages on every third of them: about
a quarter of one core with nobody in front of the kiosk, while a code that only the deep
stages can read is still found within a fifth of a second. Files decoded with fps=0 use
neither limit (every frame, the whole cascade), so tests and offline checks are exact.

`VideoCapture.read` has no timeout — an unplugged USB camera can block it for seconds — so
`stop()` never waits for the reader: it stops the decoder (bounded by one decode), gives the
reader half a second, and otherwise leaves it to release the camera when its read returns.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from devices.errors import DeviceUnavailable
from devices.scanner.base import OnCode, OnError, ThreadedScanner
from devices.scanner.decode import DEFAULT_SYMBOLOGIES, FrameDecoder
from devices.scanner.dedup import Deduplicator
from devices.url import DeviceURL, parse_device_url

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}
# A camera whose reads fail for this long is taken as gone (one failed read is a hiccup).
_LOST_AFTER_S = 1.0

Frame = NDArray[Any]


class _NewestFrame:
    """A one-frame handover between the reader and the decoder."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self.dropped = 0

    def put(self, frame: Frame, stop: threading.Event, lossless: bool) -> None:
        with self._cond:
            if lossless:
                while self._frame is not None and not stop.is_set():
                    self._cond.wait(0.1)
            elif self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._cond.notify_all()

    def take(self, timeout_s: float) -> Frame | None:
        with self._cond:
            if self._frame is None:
                self._cond.wait(timeout_s)
            frame, self._frame = self._frame, None
            self._cond.notify_all()
            return frame


class CameraScanner(ThreadedScanner):
    """Reads codes from `camera://N` or `file://path` and reports each one once."""

    name = "camera-scanner"

    def __init__(self, url: str, on_code: OnCode, on_error: OnError | None = None) -> None:
        super().__init__(url, on_code, on_error)
        self.device: DeviceURL = parse_device_url(url)
        if self.device.scheme not in ("camera", "file"):
            raise ValueError(f"not a camera URL: {url!r} (camera://0 or file://path)")
        dev = self.device
        self.is_file = dev.scheme == "file"
        self.path = Path(dev.target) if self.is_file else None
        self.is_image = self.path is not None and self.path.suffix.lower() in IMAGE_SUFFIXES
        self.loop = dev.int_option("loop", 0) == 1
        default_fps = 10.0 if self.is_image else -1.0  # -1: the video's own frame rate
        self.fps = dev.float_option("fps", default_fps) if self.is_file else 0.0
        self.lossless = self.is_file and self.fps == 0
        self.every = max(1, dev.int_option("every", 1))
        self.rate = 0.0 if self.lossless else max(0.0, dev.float_option("rate", 15.0))
        self.deep_every = 1 if self.lossless else max(1, dev.int_option("deep", 3))
        self.retry_s = max(0.1, dev.float_option("retry", 3.0))
        self.dedup = Deduplicator(dev.float_option("dedup", 2.0))
        symbols = dev.option("symbols", ",".join(DEFAULT_SYMBOLOGIES))
        self.symbologies = tuple(s.strip().upper() for s in symbols.split(",") if s.strip())
        FrameDecoder(self.symbologies)  # fail here, not in the thread, on a bad symbology
        self.width = dev.int_option("width", 0)
        self.height = dev.int_option("height", 0)

        self.finished = threading.Event()  # a play-once file has been read and decoded
        self.frames_read = 0
        self.frames_decoded = 0
        self.frame_size: tuple[int, int] | None = None  # width, height
        self.source_fps = 0.0
        self.last_decode_ms = 0.0
        self._slot = _NewestFrame()
        self._reader_done = threading.Event()
        self._source_ok = False

    @property
    def frames_dropped(self) -> int:
        return self._slot.dropped

    @property
    def connected(self) -> bool:
        return self.running and self._source_ok

    # ---------------------------------------------------------------- decoder
    def _run(self) -> None:
        self.finished.clear()
        self._reader_done.clear()
        reader = threading.Thread(target=self._read_loop, name=f"{self.name}-reader", daemon=True)
        reader.start()
        decoder = FrameDecoder(self.symbologies)
        try:
            while not self._stop.is_set():
                frame = self._slot.take(0.1)
                if frame is None:
                    if self._reader_done.is_set():
                        self.finished.set()
                        return
                    continue
                started = time.monotonic()
                deep = self.frames_decoded % self.deep_every == 0
                codes = decoder.decode(frame, deep=deep)
                self.frames_decoded += 1
                self.last_decode_ms = decoder.stats.elapsed_ms
                for code in self.dedup.new_codes(codes):
                    self._emit(code)
                if self.rate > 0:
                    # Frames arriving meanwhile replace each other in the slot: the next
                    # decode takes the newest.
                    self._stop.wait(max(0.0, started + 1.0 / self.rate - time.monotonic()))
        finally:
            self._stop.set()
            reader.join(0.5)

    # ----------------------------------------------------------------- reader
    def _read_loop(self) -> None:
        try:
            if self.is_image:
                self._read_image()
            else:
                self._read_capture()
        except Exception:
            log.exception("%s: frame reader failed", self.url)
        finally:
            self._reader_done.set()

    def _deliver(self, frame: Frame) -> None:
        self.frames_read += 1
        if self.frame_size is None:
            self.frame_size = (int(frame.shape[1]), int(frame.shape[0]))
        self.ready.set()
        if (self.frames_read - 1) % self.every == 0:
            self._slot.put(frame, self._stop, self.lossless)

    def _read_image(self) -> None:
        assert self.path is not None
        image: Frame | None = None
        while image is None and not self._stop.is_set():
            image = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
            if image is None:
                self._report(DeviceUnavailable(f"{self.url}: cannot read image {self.path}"))
                self._stop.wait(self.retry_s)
        if image is None:
            return
        self._source_ok = True
        self._recovered()
        self.source_fps = self.fps
        period = 1.0 / self.fps if self.fps > 0 else 0.0
        while not self._stop.is_set():
            self._deliver(image)
            if not self.loop:
                return
            if period:
                self._stop.wait(period)

    def _open_capture(self) -> cv2.VideoCapture | None:
        if self.is_file:
            assert self.path is not None
            if not self.path.exists():
                self._report(DeviceUnavailable(f"{self.url}: no such file {self.path}"))
                return None
            cap = cv2.VideoCapture(str(self.path))
        else:
            target = self.device.target
            cap = cv2.VideoCapture(int(target) if target.isdigit() else target)
            if self.width:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            if self.height:
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        if not cap.isOpened():
            cap.release()
            self._report(DeviceUnavailable(f"{self.url}: cannot open the camera"))
            return None
        self.source_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        return cap

    def _read_capture(self) -> None:
        while not self._stop.is_set():
            cap = self._open_capture()
            if cap is None:
                self._stop.wait(self.retry_s)
                continue
            try:
                again = self._read_frames(cap)
            finally:
                cap.release()
                self._source_ok = False
            if not again:
                return
            if not self._stop.is_set() and not (self.is_file and self.loop):
                self._report(DeviceUnavailable(f"{self.url}: the camera stopped sending frames"))
                self._stop.wait(self.retry_s)

    def _read_frames(self, cap: cv2.VideoCapture) -> bool:
        """Read until stopped or the source ends; True when it should be opened again."""
        fps = self.fps if self.fps > 0 else (self.source_fps if self.fps < 0 else 0.0)
        period = 1.0 / fps if self.is_file and fps > 0 else 0.0
        next_at = time.monotonic()
        failing_since: float | None = None
        got_any = False
        while not self._stop.is_set():
            ok, frame = cap.read()
            if ok and frame is not None:
                failing_since = None
                if not got_any:
                    got_any = True
                    self._source_ok = True
                    self._recovered()
                self._deliver(np.asarray(frame))
                if period:
                    next_at += period
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        self._stop.wait(delay)
                    else:
                        next_at = time.monotonic()  # running late: do not try to catch up
                continue
            if self.is_file:
                if not got_any:
                    self._report(DeviceUnavailable(f"{self.url}: no frames in {self.path}"))
                    return False
                return self.loop  # end of the file: reopen to loop, or done
            now = time.monotonic()
            failing_since = failing_since if failing_since is not None else now
            if now - failing_since > _LOST_AFTER_S:
                return True
            self._stop.wait(0.05)
        return False

    # ------------------------------------------------------------ diagnostics
    def describe(self) -> str:
        size = f"{self.frame_size[0]}×{self.frame_size[1]}" if self.frame_size else "no frames"
        return (
            f"{self.url}: {size}, source {self.source_fps:.1f} fps, read {self.frames_read}, "
            f"decoded {self.frames_decoded}, dropped {self.frames_dropped}, "
            f"last decode {self.last_decode_ms:.1f} ms"
        )
