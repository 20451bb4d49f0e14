"""Synthetic camera frames of appointment QR codes, for the decoder's tests and benchmark.

Each frame is a 640×480 BGR picture of a phone held up to the kiosk camera: a cluttered
background, a phone whose bright screen shows the QR code, then what a cheap camera does
to it. The degradations are the ones seen at real kiosks:

* rotated   — the phone held at any angle (0-360°);
* perspective — the phone tilted towards or away from the camera;
* low_contrast — a dimmed screen, or the room light washing it out (and uneven light);
* moire     — the camera's pixel grid beating against the screen's pixel grid: coloured
  bands across the code, plus the screen's own fine pixel structure;
* blurred   — slight defocus or hand shake (Gaussian or short motion blur);
* noisy     — sensor noise in a dim hall, then MJPG compression as the camera sends it.

Everything is drawn from `numpy.random.Generator(PCG64(seed))`, so the same seed gives the
same frames on every machine (OpenCV's warps and blurs are deterministic too).
"""

from __future__ import annotations

import base64
import functools
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import qrcode
from numpy.typing import NDArray

WIDTH, HEIGHT = 640, 480
KINDS: tuple[str, ...] = (
    "clean",
    "rotated",
    "perspective",
    "low_contrast",
    "moire",
    "blurred",
    "noisy",
)
_EFFECTS = KINDS[1:]

Image = NDArray[np.uint8]


@dataclass(frozen=True)
class TestFrame:
    """One generated frame and what a decoder should read from it."""

    __test__ = False  # not a pytest test class, despite the name

    image: Image  # HEIGHT × WIDTH × 3, BGR, like a camera frame
    text: str  # the payload encoded in the QR code
    effects: tuple[str, ...]  # which degradations were applied ("clean" when none)


def appointment_payload(rng: np.random.Generator) -> str:
    """A token shaped like an appointment check-in code: `BQ1.<payload>.<signature>`.

    Base64url of a compact record plus a truncated MAC; 80-120 characters in all, which
    is what makes these codes version 5-7 QR codes (37-45 modules) with dense modules.
    """
    day = int(rng.integers(1, 29))
    slot = int(rng.integers(8 * 4, 17 * 4))
    record = (
        f"a=AP202611{day:02d}-{int(rng.integers(0, 10000)):04d};"
        f"s={'ABCDEF'[int(rng.integers(0, 6))]};"
        f"t=202611{day:02d}{slot // 4:02d}{slot % 4 * 15:02d};"
        f"b={int(rng.integers(1, 1000)):03d}"
    )
    extra = int(rng.integers(0, 18))
    if extra:  # some appointments carry a customer reference hash prefix
        record += ";c=" + "".join("0123456789abcdef"[int(d)] for d in rng.integers(0, 16, extra))
    signature = rng.integers(0, 256, int(rng.integers(16, 25)), dtype=np.uint8).tobytes()
    return f"BQ1.{_b64url(record.encode())}.{_b64url(signature)}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def qr_modules(text: str, border: int = 4) -> NDArray[np.bool_]:
    """The QR code's module matrix (True = dark), with a quiet zone of `border` modules."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=border
    )
    code.add_data(text)
    code.make(fit=True)
    return np.array(code.get_matrix(), dtype=bool)


def render_qr(text: str, module_px: int = 6, border: int = 4) -> Image:
    """A plain black-on-white grayscale QR image (for clean-image tests and video files)."""
    modules = qr_modules(text, border)
    img = np.where(modules, 0, 255).astype(np.uint8)
    return np.asarray(
        cv2.resize(img, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST),
        dtype=np.uint8,
    )


def place_on_canvas(code: Image, width: int = WIDTH, height: int = HEIGHT) -> Image:
    """`code` centred on a mid-grey BGR canvas of the camera's size."""
    canvas = np.full((height, width, 3), 128, np.uint8)
    h, w = code.shape[:2]
    y, x = (height - h) // 2, (width - w) // 2
    canvas[y : y + h, x : x + w] = code[..., None] if code.ndim == 2 else code
    return canvas


def make_frame(text: str, effects: Sequence[str], rng: np.random.Generator) -> Image:
    """Draw one camera frame showing `text` as a QR code on a phone, with `effects`."""
    fx = set(effects)
    unknown = fx - set(_EFFECTS)
    if unknown:
        raise ValueError(f"unknown effects {sorted(unknown)}; known: {_EFFECTS}")

    modules = qr_modules(text)
    n = modules.shape[0]  # modules across, quiet zone included
    # The screen is drawn at 8 px per module and then mapped into the frame, so the
    # camera resamples it the way a real sensor samples a real screen.
    hi = 8
    qr_px = n * hi
    pad = int(qr_px * 0.12)
    screen_h, screen_w = qr_px + 2 * pad + int(qr_px * 0.5), qr_px + 2 * pad
    screen = np.full((screen_h, screen_w), 248, np.float32)
    top = pad + int(qr_px * 0.25)
    qr_img = np.where(modules, 12.0, 248.0).astype(np.float32)
    screen[top : top + qr_px, pad : pad + qr_px] = cv2.resize(
        qr_img, (qr_px, qr_px), interpolation=cv2.INTER_NEAREST
    )
    # A line of "text" above and below the code, as a banking app shows.
    for y0 in (pad // 2, top + qr_px + pad // 2):
        for x0 in range(pad, screen_w - pad, 24):
            if rng.random() < 0.7:
                cv2.rectangle(screen, (x0, y0), (x0 + 16, y0 + 10), 60.0, -1)

    # The code's size in the frame: a phone held 15-35 cm from a 640×480 webcam.
    side = float(rng.uniform(160, 270))
    scale = side / qr_px
    angle = float(rng.uniform(0, 360)) if "rotated" in fx else float(rng.uniform(-8, 8))

    # Corners of the screen in the frame, before perspective.
    sw, sh = screen_w * scale, screen_h * scale
    corners = np.array(
        [[-sw / 2, -sh / 2], [sw / 2, -sh / 2], [sw / 2, sh / 2], [-sw / 2, sh / 2]],
        np.float64,
    )
    if "perspective" in fx:
        # Tilted 25-40° about a random axis in the screen's plane, 20 cm from the lens:
        # the near edge grows and the far edge shrinks by up to about a third, and the
        # screen is foreshortened along the tilt by cos(tilt).
        tilt = math.radians(float(rng.uniform(25, 40)))
        axis = float(rng.uniform(0, 2 * math.pi))
        direction = np.array([math.cos(axis), math.sin(axis)])
        along = corners @ direction
        metres_per_px = 0.05 / side  # the code, quiet zone included, is 5 cm across
        depth = along * metres_per_px * math.sin(tilt)
        corners = corners - np.outer(along * (1 - math.cos(tilt)), direction)
        corners = corners * (0.2 / (0.2 + depth))[:, None]  # 20 cm from the lens
    rad = math.radians(angle)
    rot = np.array([[math.cos(rad), -math.sin(rad)], [math.sin(rad), math.cos(rad)]])
    corners = corners @ rot.T
    # Keep the whole code inside the frame, with the centre wherever that allows.
    span = corners.max(axis=0) - corners.min(axis=0)
    room_x = max(0.0, (WIDTH - span[0]) / 2 - 4)
    room_y = max(0.0, (HEIGHT - span[1]) / 2 - 4)
    centre = np.array(
        [WIDTH / 2 + rng.uniform(-room_x, room_x), HEIGHT / 2 + rng.uniform(-room_y, room_y)]
    )
    corners += centre - (corners.max(axis=0) + corners.min(axis=0)) / 2

    src = np.array([[0, 0], [screen_w, 0], [screen_w, screen_h], [0, screen_h]], np.float32)
    warp = cv2.getPerspectiveTransform(src, corners.astype(np.float32))

    # Anti-alias before the downsampling warp, as a lens would (a sharp lens still
    # spreads a point over about one sensor pixel).
    screen_small = cv2.GaussianBlur(screen, (0, 0), max(0.5, 0.45 / scale))
    warped = cv2.warpPerspective(
        screen_small, warp, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderValue=0.0
    )
    mask = cv2.warpPerspective(
        np.ones((screen_h, screen_w), np.float32),
        warp,
        (WIDTH, HEIGHT),
        flags=cv2.INTER_LINEAR,
        borderValue=0.0,
    )

    # The screen's light: dimmed or washed out, and uneven across the code.
    lo, hi_level = 0.0, 1.0
    if "low_contrast" in fx:
        mid = float(rng.uniform(90, 170))
        contrast = float(rng.uniform(50, 90))  # white minus black, out of 255
        lo, hi_level = (mid - contrast / 2) / 236, (mid + contrast / 2) / 236
    screen_light = (warped - 12.0) / 236.0  # 0 = dark module, 1 = white
    screen_light = lo + screen_light * (hi_level - lo)
    yy, xx = _grid()
    grad_dir = rng.uniform(0, 2 * math.pi)
    ramp = (np.cos(grad_dir) * (xx - WIDTH / 2) + np.sin(grad_dir) * (yy - HEIGHT / 2)) / WIDTH
    uneven = float(rng.uniform(0.15, 0.3)) if "low_contrast" in fx else float(rng.uniform(0, 0.1))
    screen_vals = 12.0 + 236.0 * screen_light * (1 + uneven * ramp)

    background = _background(rng)
    screen_bgr = np.repeat(screen_vals[..., None], 3, axis=2)
    if "moire" in fx:
        screen_bgr = _moire(screen_bgr, rng, xx, yy)
    # The phone: a dark bezel a little larger than the screen, then the screen on it.
    bezel = cv2.dilate(mask, np.ones((15, 15), np.uint8))
    frame = background * (1 - bezel[..., None]) + 20.0 * bezel[..., None]
    frame = frame * (1 - mask[..., None]) + screen_bgr * mask[..., None]

    if "blurred" in fx:
        if rng.random() < 0.5:
            frame = cv2.GaussianBlur(frame, (0, 0), float(rng.uniform(0.7, 1.2)))
        else:
            frame = cv2.filter2D(frame, -1, _motion_kernel(rng))
    frame = np.asarray(frame, dtype=np.float32)
    sigma = float(rng.uniform(8, 18)) if "noisy" in fx else 2.0
    frame += rng.standard_normal(frame.shape, dtype=np.float32) * np.float32(sigma)
    out = np.clip(frame, 0, 255).astype(np.uint8)
    # Webcams send MJPG; the compression artefacts sit on the module edges.
    quality = int(rng.integers(40, 70)) if "noisy" in fx else int(rng.integers(75, 95))
    ok, jpeg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), dtype=np.uint8)


@functools.cache
def _grid() -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Pixel coordinates (y, x) of a frame, for the lighting and moiré patterns."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    return yy, xx


def _background(rng: np.random.Generator) -> NDArray[np.float32]:
    """A kiosk's view past the phone: a lit room with edges, shapes and texture."""
    base = float(rng.uniform(60, 190))
    bg = np.full((HEIGHT, WIDTH, 3), base, np.float32)
    for _ in range(int(rng.integers(4, 10))):
        colour = tuple(float(c) for c in rng.uniform(20, 235, 3))
        x0, y0 = int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT))
        x1, y1 = x0 + int(rng.integers(30, 260)), y0 + int(rng.integers(30, 200))
        if rng.random() < 0.5:
            cv2.rectangle(bg, (x0, y0), (x1, y1), colour, -1)
        else:
            cv2.line(bg, (x0, y0), (x1, y1), colour, int(rng.integers(2, 9)))
    texture = rng.normal(0, 6, (HEIGHT // 8, WIDTH // 8)).astype(np.float32)
    bg += cv2.resize(texture, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)[..., None]
    return np.asarray(cv2.GaussianBlur(bg, (0, 0), 1.2), dtype=np.float32)


def _moire(
    screen: NDArray[np.float32],
    rng: np.random.Generator,
    xx: NDArray[np.float32],
    yy: NDArray[np.float32],
) -> NDArray[np.float32]:
    """Camera-vs-screen aliasing: slow coloured bands plus the fine sub-pixel grid."""
    period = float(rng.uniform(10, 40))  # beat period in frame pixels
    theta = float(rng.uniform(0, math.pi))
    curve = float(rng.uniform(-0.0015, 0.0015))  # moiré fringes bend across a lens
    phase = (
        2 * math.pi * (np.cos(theta) * xx + np.sin(theta) * yy) / period
        + curve * ((xx - WIDTH / 2) ** 2 - (yy - HEIGHT / 2) ** 2) / 10
    )
    depth = float(rng.uniform(0.15, 0.3))
    out = np.empty_like(screen)
    for c, shift in enumerate((0.0, 0.7, 1.4)):  # the bands differ a little per colour
        out[..., c] = screen[..., c] * (1 - depth / 2 + depth / 2 * np.cos(phase + shift))
    fine = 0.06 * np.cos(2 * math.pi * xx / float(rng.uniform(2.2, 3.4)))
    return np.asarray(out * (1 + fine[..., None]), dtype=np.float32)


def _motion_kernel(rng: np.random.Generator) -> NDArray[np.float32]:
    length = int(rng.integers(2, 5))
    k = np.zeros((length * 2 + 1, length * 2 + 1), np.float32)
    angle = float(rng.uniform(0, math.pi))
    c = length
    dx, dy = math.cos(angle) * length / 2, math.sin(angle) * length / 2
    cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1)
    return np.asarray(k / k.sum(), dtype=np.float32)


def frames_of_kind(kind: str, count: int, seed: int = 1) -> Iterator[TestFrame]:
    """`count` frames with one degradation (`kind` from KINDS; "clean" has none)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; known: {KINDS}")
    rng = np.random.default_rng(seed)
    effects: tuple[str, ...] = () if kind == "clean" else (kind,)
    for _ in range(count):
        text = appointment_payload(rng)
        yield TestFrame(make_frame(text, effects, rng), text, effects or ("clean",))


def hard_frames(count: int = 240, seed: int = 1, extra: int = 2) -> Iterator[TestFrame]:
    """The benchmark set: every frame rotated at any angle plus `extra` more degradations.

    The combinations of `extra` degradations are taken in turn, so every pair (or triple)
    is equally represented; their strengths and everything else are drawn at random.
    """
    others = [e for e in _EFFECTS if e != "rotated"]
    if not 0 <= extra <= len(others):
        raise ValueError(f"extra must be 0-{len(others)}")
    combos = list(itertools.combinations(others, extra))
    rng = np.random.default_rng(seed)
    for i in range(count):
        text = appointment_payload(rng)
        effects = ("rotated", *combos[i % len(combos)])
        yield TestFrame(make_frame(text, effects, rng), text, effects)
