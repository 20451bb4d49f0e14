"""Frame decoding: each kind of hard camera frame, the cascade, and running without libzbar."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

from devices.scanner import decode
from devices.scanner.decode import Code, FrameDecoder, decode_frame, find_code_region
from tools.fixtures.qrframes import (
    KINDS,
    frames_of_kind,
    hard_frames,
    place_on_canvas,
    render_qr,
)

PER_KIND = 12


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_frame_is_read(kind):
    frames = list(frames_of_kind(kind, PER_KIND, seed=11))
    read = sum(any(c.text == f.text for c in decode_frame(f.image)) for f in frames)
    assert read / len(frames) >= 0.95, f"{kind}: {read}/{len(frames)}"


def test_the_cascade_reads_more_hard_frames_than_zbar_alone_and_never_misreads():
    frames = list(hard_frames(30, seed=3))
    cascade, raw = FrameDecoder(), FrameDecoder(stages=("zbar",))
    read = [any(c.text == f.text for c in cascade.decode(f.image)) for f in frames]
    baseline = [any(c.text == f.text for c in raw.decode(f.image)) for f in frames]
    assert sum(read) >= 0.95 * len(frames)
    assert sum(read) > sum(baseline)
    for f in frames:
        assert all(c.text == f.text for c in cascade.decode(f.image))


def test_a_clean_code_is_read_by_the_first_stage_in_gray_or_colour():
    text = "BQ1.dGVzdA.c2ln"
    gray = render_qr(text, module_px=5)
    decoder = FrameDecoder()
    assert decoder.decode(gray) == [Code(text, "QRCODE")]
    assert decoder.stats.stage == "zbar"
    assert decoder.decode(place_on_canvas(gray)) == [Code(text, "QRCODE")]


def test_an_empty_view_reads_nothing_and_skips_the_region_stages():
    rng = np.random.default_rng(0)
    hall = np.clip(rng.normal(120, 3, (480, 640)), 0, 255).astype(np.uint8)
    decoder = FrameDecoder()
    assert decoder.decode(hall) == []
    assert decoder.stats.stage == ""
    assert find_code_region(hall) is None


def test_the_code_region_covers_the_code():
    frame = next(frames_of_kind("rotated", 1, seed=5))
    gray = decode.to_gray(frame.image)
    region = find_code_region(gray)
    assert region is not None
    assert 100 <= region.core <= 400
    assert decode_frame(region.crop(gray))[0].text == frame.text


def test_other_symbologies_are_configurable_and_checked():
    assert FrameDecoder(["qrcode", "code128"]).symbologies == ("QRCODE", "CODE128")
    with pytest.raises(ValueError, match="unknown symbologies"):
        FrameDecoder(["QRCODE", "NOPE"])
    with pytest.raises(ValueError, match="unknown stages"):
        FrameDecoder(stages=("zbar", "magic"))


@pytest.fixture
def without_libzbar(monkeypatch) -> Iterator[None]:
    """pyzbar's import fails as on a machine without libzbar0 (the OS library boundary)."""
    monkeypatch.setitem(sys.modules, "pyzbar", None)
    monkeypatch.setitem(sys.modules, "pyzbar.pyzbar", None)
    decode.refresh_decoders()
    yield
    monkeypatch.undo()
    decode.refresh_decoders()


def test_decoders_available_reports_zbar_and_opencv():
    assert decode.available_decoders() == ("zbar", "opencv")
    assert decode.zbar_available()


def test_without_libzbar_opencv_alone_still_reads_codes(without_libzbar):
    assert decode.available_decoders() == ("opencv",)
    assert not decode.zbar_available()
    decoder = FrameDecoder()
    assert decoder.stages == ("opencv",)
    text = "BQ1.b3BlbmN2.b25seQ"
    assert decode_frame(place_on_canvas(render_qr(text, module_px=5))) == [Code(text, "QRCODE")]
    with pytest.raises(RuntimeError, match="not available"):
        FrameDecoder(use_zbar=True)


def test_the_package_imports_and_reports_on_a_machine_without_libzbar():
    script = (
        "import sys; sys.modules['pyzbar'] = None; sys.modules['pyzbar.pyzbar'] = None\n"
        "import devices.scanner as s, devices.scanner.camera, tools.bench.qr\n"
        "print(','.join(s.available_decoders()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "opencv"


def test_a_quick_decode_runs_only_the_quick_stages():
    rng = np.random.default_rng(2)
    busy = rng.integers(0, 255, (480, 640), dtype=np.uint8)  # texture everywhere, no code
    decoder = FrameDecoder()
    assert decoder.decode(busy, deep=False) == []
    assert decoder.stats.stages_tried == list(decode.QUICK_STAGES)
    assert decoder.decode(busy) == []
    assert decoder.stats.stages_tried == list(decode.STAGES)
