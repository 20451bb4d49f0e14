"""Camera frame → codes: a cascade of cheap-to-expensive decoding attempts.

Most frames a kiosk camera sees either hold a readable code or none at all, so the cascade
starts with the cheapest attempt that reads a sharp code and only pays for pre-processing
when that fails:

1. ``zbar``         — pyzbar on the raw grayscale frame (≈6 ms at 640×480; reads most codes);
2. ``zbar-otsu``    — pyzbar on the blurred, Otsu-thresholded code region: low contrast and
   noise (the threshold is taken over the region that holds the code, because a global
   one is pulled around by a bright window or a dark coat behind the phone);
3. ``zbar-zoom``    — pyzbar on the code region enlarged and smoothed: small, blurred or
   noisy codes whose modules are only 2-3 pixels wide, where zbar's scanlines cannot
   find clean edges at the camera's own resolution;
4. ``zbar-sharpen`` — the same, enlarged further and then unsharp-masked: a band-pass
   that keeps module-sized detail and removes the slow moiré bands and uneven light of a
   phone screen, which defeat the plain threshold;
5. ``zbar-descreen`` — the code region with its periodic patterns notched out of its
   spectrum: moiré that is strong next to a dimmed screen's contrast, which no spatial
   filter separates from the modules (see `descreen`);
6. ``opencv``       — OpenCV's ArUco-based QR detector (it finds finder patterns that
   zbar misses) on the enlarged region, then on the whole frame.

"The code region" is found by `find_code_region`: QR modules make the densest patch of
edges in a frame, so a coarse map of edge density finds it in well under a millisecond,
and a frame with no such patch (an empty hall) skips the region steps altogether.

pyzbar needs the zbar shared library (libzbar0). Without it, pyzbar's import raises
ImportError; the cascade then runs on OpenCV alone (QR codes only), and
`available_decoders()` says so — the kiosk's diagnostics page shows it.

A `FrameDecoder` holds OpenCV detector objects, which are not documented as thread-safe:
give each thread its own (`decode_frame` keeps one per thread).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, NamedTuple

import cv2
import numpy as np
from numpy.typing import NDArray

Gray = NDArray[np.uint8]

#: Symbologies the camera reads by default. Appointment check-in codes are QR codes; every
#: further zbar symbology costs scan time on every frame (all of them: ~5× on a busy frame).
DEFAULT_SYMBOLOGIES: tuple[str, ...] = ("QRCODE",)

STAGES: tuple[str, ...] = (
    "zbar",
    "zbar-otsu",
    "zbar-zoom",
    "zbar-sharpen",
    "zbar-descreen",
    "opencv",
)
#: The stages a `decode(frame, deep=False)` runs: about 13 ms on a busy frame with no code,
#: against 30-40 ms for the whole cascade (see `CameraScanner`'s deep=N option).
QUICK_STAGES: tuple[str, ...] = ("zbar", "zbar-otsu", "zbar-zoom")


@dataclass(frozen=True)
class Code:
    """One code read from a frame or a scanner."""

    text: str
    symbology: str  # zbar's name: "QRCODE", "CODE128", "EAN13", …; "UNKNOWN" for a wedge


@dataclass
class DecodeStats:
    """What the last `FrameDecoder.decode` call did (for the benchmark and diagnostics)."""

    stage: str = ""  # the stage that read the code(s), "" when none did
    region: tuple[int, int, int, int] | None = None  # x, y, w, h of the code region
    elapsed_ms: float = 0.0
    stages_tried: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- zbar
@functools.cache
def _zbar_module() -> ModuleType | None:
    """pyzbar, or None when it or the zbar library it loads is missing."""
    try:
        from pyzbar import pyzbar
    except (ImportError, OSError):
        # ImportError: no pyzbar, or "Unable to find zbar shared library";
        # OSError: a libzbar that exists but cannot be loaded (wrong architecture).
        return None
    module: ModuleType = pyzbar
    return module


def zbar_available() -> bool:
    """True when pyzbar and libzbar are both usable (cached; `refresh_decoders` re-checks)."""
    return _zbar_module() is not None


def refresh_decoders() -> None:
    """Forget the cached zbar check (after installing libzbar, or in tests)."""
    _zbar_module.cache_clear()


def available_decoders() -> tuple[str, ...]:
    """The decoders this machine can run, best first: ("zbar", "opencv") or ("opencv",)."""
    return ("zbar", "opencv") if zbar_available() else ("opencv",)


def _zbar_symbols(names: Iterable[str]) -> list[Any]:
    pyzbar = _zbar_module()
    assert pyzbar is not None
    known = pyzbar.ZBarSymbol.__members__
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown symbologies {unknown}; known: {sorted(known)}")
    return [known[n] for n in names]


# ------------------------------------------------------------------------ helpers
def to_gray(frame: NDArray[Any]) -> Gray:
    """A contiguous 8-bit grayscale view of a camera frame (gray, BGR or BGRA)."""
    if frame.ndim == 3 and frame.shape[2] == 3:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    elif frame.ndim == 3 and frame.shape[2] == 4:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    elif frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[..., 0]
    elif frame.ndim != 2:
        raise ValueError(f"not an image: shape {frame.shape}")
    if frame.dtype != np.uint8:
        values = frame.astype(np.float64)
        low, high = float(values.min()), float(values.max())
        frame = ((values - low) * (255.0 / (high - low or 1.0))).astype(np.uint8)
    return np.ascontiguousarray(frame)


_CELL = 8  # edge density is measured over 8×8-pixel cells
_KERNEL3 = np.ones((3, 3), np.uint8)


class CodeRegion(NamedTuple):
    """Where a code probably is: a box to crop (x, y, w, h) and the code's own size."""

    x: int
    y: int
    w: int
    h: int
    core: int  # the longer side of the dense patch itself, before the margin, in px

    def crop(self, gray: Gray) -> Gray:
        return gray[self.y : self.y + self.h, self.x : self.x + self.w]


def find_code_region(gray: Gray, margin: int = 12) -> CodeRegion | None:
    """The patch of dense edges most likely to be a code, or None when there is none.

    A QR code is a square of modules whose edges are packed closer than anything else in
    a kiosk's view: a morphological gradient of the lightly blurred frame, averaged over
    8×8 cells and thresholded (Otsu over the cells), leaves the code as the heaviest blob.
    Noise and moiré bands raise the whole map a little; the 3×3 blur keeps noise below
    module edges.
    """
    h, w = gray.shape
    if h < 4 * _CELL or w < 4 * _CELL:
        return None
    smooth = cv2.GaussianBlur(gray, (3, 3), 0)
    edges = cv2.morphologyEx(smooth, cv2.MORPH_GRADIENT, _KERNEL3)
    coarse = cv2.resize(edges, (w // _CELL, h // _CELL), interpolation=cv2.INTER_AREA)
    cells = np.asarray(cv2.GaussianBlur(coarse, (5, 5), 0), dtype=np.uint8)
    if cells.max() < 12:
        return None  # a flat picture: nothing there that could be a code
    box = _densest_blob(cells)
    for _ in range(2):
        # Noise or moiré over a whole screen makes one blob of most of the frame; split
        # that blob again by its own Otsu level until it is a plausible code size.
        if box is None or box[2] * box[3] < 0.3 * cells.size:
            break
        x, y, bw, bh = box
        inner = _densest_blob(cells[y : y + bh, x : x + bw])
        if inner is None:
            break
        box = (x + inner[0], y + inner[1], inner[2], inner[3])
    if box is None:
        return None
    x, y, bw, bh = (v * _CELL for v in box)
    if bw < 3 * _CELL or bh < 3 * _CELL:
        return None  # smaller than any code this camera can read
    # The blob's rim is where density falls off, inside the code's outer modules: grow
    # the box by a fixed margin plus a fifth of its size.
    grow_x, grow_y = margin + bw // 5, margin + bh // 5
    x0, y0 = max(0, x - grow_x), max(0, y - grow_y)
    x1, y1 = min(w, x + bw + grow_x), min(h, y + bh + grow_y)
    return CodeRegion(x0, y0, x1 - x0, y1 - y0, max(bw, bh))


def _densest_blob(cells: Gray) -> tuple[int, int, int, int] | None:
    """Box (in cells) of the heaviest blob above the cells' Otsu level."""
    level, mask = cv2.threshold(cells, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if level < 6:
        return None
    # The phone's bezel and a table edge are lines one or two cells thick; opening the
    # mask removes them (a readable code is at least 15 cells across) so they can
    # neither win nor join the code's blob and inflate its box.
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _KERNEL3)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    if count < 2:
        return None
    weights = np.bincount(labels.ravel(), weights=cells.ravel().astype(np.float64))
    weights[0] = 0.0
    best = int(np.argmax(weights))
    x, y, bw, bh = (int(v) for v in stats[best][:4])
    return x, y, bw, bh


def zoom_region(gray: Gray, region: CodeRegion, target: int = 300) -> Gray:
    """The region cropped and enlarged so the code itself is about `target` px (≤ 3×).

    zbar finds a QR code from the 1:1:3:1:1 runs of its finder patterns along scanlines;
    with 2-3 px modules, blur and noise break those runs. Bicubic enlargement puts
    several pixels on every module again, so the runs survive the smoothing that removes
    the noise.
    """
    return _enlarge(region.crop(gray), region.core, target)


def _enlarge(image: Gray, core: int, target: int) -> Gray:
    factor = min(3.0, target / max(core, 1))
    if factor <= 1.05:
        return image
    return np.asarray(
        cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC),
        dtype=np.uint8,
    )


def descreen(gray: Gray, ratio: float = 5.0, min_index: int = 4) -> Gray | None:
    """`gray` with its periodic interference removed, or None when it has none.

    Moiré from filming a screen is a grating: in the spectrum it is a few sharp peaks,
    while a QR code's random modules spread their energy broadly. Peaks that stand
    `ratio` times above their spectral neighbourhood (found on a Hann-windowed copy, so the
    crop's borders do not draw lines through the spectrum) are notched out and the image
    is transformed back. Frequencies within `min_index` of DC — the code's own size and the
    light across it — are left alone.
    """
    h0, w0 = gray.shape
    if h0 < 16 or w0 < 16:
        return None
    # A DFT of a prime-sized side is 100× slower than of a nearby 2^a·3^b·5^c one.
    h, w = cv2.getOptimalDFTSize(h0), cv2.getOptimalDFTSize(w0)
    if (h, w) != (h0, w0):
        gray = np.asarray(
            cv2.copyMakeBorder(gray, 0, h - h0, 0, w - w0, cv2.BORDER_REFLECT), dtype=np.uint8
        )
    centred = gray.astype(np.float32)
    mean = float(centred.mean())
    centred -= mean
    window = cv2.createHanningWindow((w, h), cv2.CV_32F)
    windowed = cv2.dft(centred * window, flags=cv2.DFT_COMPLEX_OUTPUT)
    log_mag = np.log1p(np.fft.fftshift(cv2.magnitude(windowed[..., 0], windowed[..., 1])))
    around = cv2.blur(log_mag, (15, 15))
    yy, xx = np.ogrid[-(h // 2) : h - h // 2, -(w // 2) : w - w // 2]
    side = max(h, w)
    far = (yy * side / h) ** 2 + (xx * side / w) ** 2 > min_index**2
    peaks = ((log_mag - around) > np.log(ratio)) & far
    if not peaks.any():
        return None
    keep = np.ones((h, w), np.float32)
    keep[cv2.dilate(peaks.astype(np.uint8), _KERNEL5) > 0] = 0.0
    keep = np.fft.ifftshift(cv2.GaussianBlur(keep, (5, 5), 0))
    spectrum = cv2.dft(centred, flags=cv2.DFT_COMPLEX_OUTPUT) * keep[..., None]
    out = cv2.idft(spectrum, flags=cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT)[:h0, :w0]
    return np.asarray(np.clip(out + mean, 0, 255), dtype=np.uint8)


_KERNEL5 = np.ones((5, 5), np.uint8)


class _Frame:
    """One frame in gray; its code region and enlargements are made on first use."""

    def __init__(self, gray: Gray) -> None:
        self.gray = gray
        self._region: CodeRegion | None = None
        self._located = False
        self._zoomed: dict[int, Gray] = {}

    @property
    def located(self) -> bool:
        return self._located

    @property
    def region(self) -> CodeRegion | None:
        if not self._located:
            self._located = True
            self._region = find_code_region(self.gray)
        return self._region

    def zoomed(self, target: int) -> Gray | None:
        region = self.region
        if region is None:
            return None
        if target not in self._zoomed:
            self._zoomed[target] = zoom_region(self.gray, region, target)
        return self._zoomed[target]


# ------------------------------------------------------------------------ decoder
class FrameDecoder:
    """Runs the cascade on frames; one instance per thread (OpenCV detectors are stateful)."""

    def __init__(
        self,
        symbologies: Sequence[str] = DEFAULT_SYMBOLOGIES,
        *,
        use_zbar: bool | None = None,
        stages: Sequence[str] = STAGES,
    ) -> None:
        unknown = [s for s in stages if s not in STAGES]
        if unknown:
            raise ValueError(f"unknown stages {unknown}; known: {STAGES}")
        self.symbologies = tuple(s.upper() for s in symbologies)
        self.use_zbar = zbar_available() if use_zbar is None else use_zbar
        if self.use_zbar and not zbar_available():
            raise RuntimeError("zbar was asked for but is not available")
        self._symbols = _zbar_symbols(self.symbologies) if self.use_zbar else []
        self.stages = tuple(s for s in stages if self.use_zbar or not s.startswith("zbar"))
        self._aruco = cv2.QRCodeDetectorAruco()
        self._classic = cv2.QRCodeDetector()
        self.stats = DecodeStats()

    def decode(self, frame: NDArray[Any], *, deep: bool = True) -> list[Code]:
        """All codes in `frame` (gray or BGR), each once; [] when none can be read.

        `deep=False` runs only the quick stages (when there are zbar stages at all): a
        camera alternates quick and deep frames so an empty view costs less CPU.
        """
        started = time.perf_counter()
        current = _Frame(to_gray(frame))
        stats = self.stats = DecodeStats()
        codes: list[Code] = []
        stages = self.stages
        if not deep and self.use_zbar:
            stages = tuple(s for s in stages if s in QUICK_STAGES)
        for stage in stages:
            stats.stages_tried.append(stage)
            codes = self._run(stage, current)
            if codes:
                stats.stage = stage
                break
        if current.located and current.region is not None:
            r = current.region
            stats.region = (r.x, r.y, r.w, r.h)
        stats.elapsed_ms = (time.perf_counter() - started) * 1000
        return _unique(codes)

    def _run(self, stage: str, frame: _Frame) -> list[Code]:
        if stage == "zbar":
            return self._zbar(frame.gray)
        if stage == "opencv":
            return self._opencv_stage(frame)
        region = frame.region
        if region is None:
            return []  # no patch of edges anywhere: an empty view, nothing to enhance
        if stage == "zbar-otsu":
            blurred = cv2.GaussianBlur(region.crop(frame.gray), (3, 3), 0)
            _, binary = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
            return self._zbar(np.asarray(binary, dtype=np.uint8))
        if stage == "zbar-zoom":
            return self._zbar(_smooth(frame.zoomed(300), 5))
        if stage == "zbar-sharpen":
            codes = self._zbar(_sharpen(_smooth(frame.zoomed(400), 3)))
            if codes:
                return codes
            # Defocus: sharpen hard at the camera's resolution first, where the blur is
            # about one pixel wide, then enlarge so zbar finds the restored edges.
            crop = region.crop(frame.gray)
            blur = cv2.GaussianBlur(crop, (0, 0), 1.0)
            restored = np.asarray(cv2.addWeighted(crop, 4.0, blur, -3.0, 0), dtype=np.uint8)
            return self._zbar(_smooth(_enlarge(restored, region.core, 300), 3))
        # zbar-descreen
        clean = descreen(region.crop(frame.gray))
        if clean is None:
            return []
        for attempt in (
            clean,
            _smooth(_enlarge(clean, region.core, 300), 5),
            _sharpen(_smooth(_enlarge(clean, region.core, 400), 3)),
        ):
            codes = self._zbar(attempt)
            if codes:
                return codes
        return []

    def _zbar(self, image: Gray) -> list[Code]:
        pyzbar = _zbar_module()
        assert pyzbar is not None
        found = pyzbar.decode(image, symbols=self._symbols)
        return [Code(bytes(r.data).decode("utf-8", errors="replace"), str(r.type)) for r in found]

    def _opencv(self, image: Gray, detector: Any) -> list[Code]:
        if "QRCODE" not in self.symbologies:
            return []
        try:
            ok, texts, _, _ = detector.detectAndDecodeMulti(image)
        except cv2.error:
            return []  # OpenCV asserts on some degenerate quads instead of reporting them
        if not ok:
            return []
        return [Code(t, "QRCODE") for t in texts if t]

    def _opencv_stage(self, frame: _Frame) -> list[Code]:
        zoomed = frame.zoomed(300)
        if zoomed is not None:
            codes = self._opencv(_smooth(zoomed, 5), self._aruco)
            if codes:
                return codes
        codes = self._opencv(frame.gray, self._aruco)
        if codes or self.use_zbar:
            return codes
        # Without zbar this is the only reader left: give the classic detector a go too.
        return self._opencv(frame.gray, self._classic)


def _sharpen(image: Gray) -> Gray:
    """Unsharp masking with a 2 px Gaussian: after a light blur this is a band-pass that
    keeps module-sized detail and drops both noise (finer) and moiré bands (coarser)."""
    background = cv2.GaussianBlur(image, (0, 0), 2.0)
    return np.asarray(cv2.addWeighted(image, 2.0, background, -1.0, 0), dtype=np.uint8)


def _smooth(image: Gray | None, size: int) -> Gray:
    assert image is not None
    return np.asarray(cv2.GaussianBlur(image, (size, size), 0), dtype=np.uint8)


def _unique(codes: list[Code]) -> list[Code]:
    seen: set[Code] = set()
    out = []
    for c in codes:
        if c not in seen:
            seen.add(c)
            out.append(c)
    return out


_local = threading.local()


def decode_frame(frame: NDArray[Any]) -> list[Code]:
    """Every QR code in a camera frame (gray or BGR), read by this thread's FrameDecoder."""
    decoder: FrameDecoder | None = getattr(_local, "decoder", None)
    if decoder is None or decoder.use_zbar != zbar_available():
        decoder = _local.decoder = FrameDecoder()
    return decoder.decode(frame)
