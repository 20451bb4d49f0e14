"""Video and image files used as the camera: decoding, de-duplication, retry and stop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from devices.errors import DeviceError, DeviceUnavailable
from devices.scanner import scanner_for_url
from devices.scanner.camera import CameraScanner
from devices.scanner.decode import Code
from tools.fixtures.qrframes import place_on_canvas, render_qr

TEXT = "BQ1.YT1BUDAwNDI7cz1D.c2lnbmF0dXJl"


class Recorder:
    """Collects codes and errors from a scanner's thread; tests wait on its events."""

    def __init__(self) -> None:
        self.codes: list[Code] = []
        self.errors: list[DeviceError] = []
        self.got_code = threading.Event()
        self.got_error = threading.Event()

    def on_code(self, code: Code) -> None:
        self.codes.append(code)
        self.got_code.set()

    def on_error(self, error: DeviceError) -> None:
        self.errors.append(error)
        self.got_error.set()


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture
def qr_video(tmp_path: Path) -> Path:
    blank = np.full((480, 640, 3), 110, np.uint8)
    code = place_on_canvas(render_qr(TEXT, module_px=5))
    return write_video(tmp_path / "qr.avi", [blank] * 6 + [code] * 12 + [blank] * 6)


def test_a_video_file_as_the_camera_reports_the_code_exactly_once(qr_video):
    rec = Recorder()
    scanner = CameraScanner(f"file://{qr_video}?fps=0", rec.on_code, rec.on_error)
    scanner.start()
    try:
        assert rec.got_code.wait(10)
        assert scanner.finished.wait(10)  # every frame read and decoded
    finally:
        scanner.stop()
    assert rec.codes == [Code(TEXT, "QRCODE")]
    assert rec.errors == []
    assert scanner.frames_read == scanner.frames_decoded == 24
    assert scanner.frame_size == (640, 480)


def test_a_looping_video_shows_the_code_again_only_after_the_dedup_window(qr_video):
    rec = Recorder()
    # Without pacing the whole video loops in well under a second, so with a 60 s window
    # the code stays "present" and is reported once however often it comes round.
    scanner = scanner_for_url(f"file://{qr_video}?fps=0&loop=1&dedup=60", rec.on_code)
    assert isinstance(scanner, CameraScanner)
    scanner.start()
    try:
        assert rec.got_code.wait(10)
        deadline = time.monotonic() + 10
        while scanner.frames_decoded < 3 * 24 and time.monotonic() < deadline:
            scanner.finished.wait(0.02)  # polls the counter; the scanner never finishes
    finally:
        scanner.stop()
    assert scanner.frames_decoded >= 3 * 24
    assert rec.codes == [Code(TEXT, "QRCODE")]


def test_an_image_file_is_one_frame_or_a_loop(tmp_path):
    image = tmp_path / "code.png"
    cv2.imwrite(str(image), place_on_canvas(render_qr(TEXT, module_px=4)))
    rec = Recorder()
    once = CameraScanner(f"file://{image}", rec.on_code)
    once.start()
    try:
        assert once.finished.wait(10)
    finally:
        once.stop()
    assert rec.codes == [Code(TEXT, "QRCODE")] and once.frames_read == 1

    rec = Recorder()
    looped = CameraScanner(f"file://{image}?loop=1&fps=200", rec.on_code)
    looped.start()
    try:
        assert rec.got_code.wait(10)
        assert not looped.finished.is_set()
    finally:
        looped.stop()
    assert rec.codes == [Code(TEXT, "QRCODE")]


def test_stop_is_prompt_while_frames_are_flowing(qr_video):
    scanner = CameraScanner(f"file://{qr_video}?loop=1", Recorder().on_code)  # real-time pace
    scanner.start()
    assert scanner.ready.wait(10)
    started = time.monotonic()
    scanner.stop()
    assert time.monotonic() - started < 1.0
    assert not scanner.running


def test_a_missing_source_is_reported_once_and_picked_up_when_it_appears(tmp_path, qr_video):
    target = tmp_path / "later.avi"
    rec = Recorder()
    scanner = CameraScanner(f"file://{target}?fps=0&retry=0.05", rec.on_code, rec.on_error)
    scanner.start()
    try:
        assert rec.got_error.wait(10)
        assert isinstance(rec.errors[0], DeviceUnavailable)
        assert not scanner.connected
        target.write_bytes(qr_video.read_bytes())
        assert rec.got_code.wait(10)
    finally:
        scanner.stop()
    assert len(rec.errors) == 1  # retries are not reported again
    assert rec.codes == [Code(TEXT, "QRCODE")]


def test_a_camera_that_cannot_be_opened_reports_and_keeps_retrying():
    rec = Recorder()
    scanner = CameraScanner("camera://97?retry=0.05", rec.on_code, rec.on_error)
    scanner.start()
    try:
        assert rec.got_error.wait(10)
        assert scanner.running and not scanner.connected
    finally:
        started = time.monotonic()
        scanner.stop()
        assert time.monotonic() - started < 1.0
    assert "cannot open" in str(rec.errors[0])


def test_bad_camera_urls_are_refused_before_starting():
    with pytest.raises(ValueError, match="not a camera URL"):
        CameraScanner("scanner+serial:///dev/ttyS0", Recorder().on_code)
    with pytest.raises(ValueError, match="unknown symbologies"):
        CameraScanner("camera://0?symbols=qrcode,bogus", Recorder().on_code)
    with pytest.raises(ValueError, match="whole number"):
        CameraScanner("camera://0?every=x", Recorder().on_code)
