"""The kiosk starts and reaches its attract screen: from source and as the PyInstaller bundle.

`--self-test` is the kiosk's own check (kiosk/selftest.py); here it runs as an installer
would run it, in a process of its own, offscreen, from a folder outside the checkout. The
bundle is built with kiosk.spec, exactly as `make kiosk-bundle` does, unless dist/ already
holds one newer than every file it is built from.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.main import parse_args
from kiosk.selftest import catalog_keys_used

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "branchq-kiosk"
EXECUTABLE = BUNDLE / ("branchq-kiosk.exe" if sys.platform == "win32" else "branchq-kiosk")
BUILT_FROM = ("kiosk", "ui", "devices", "wire", "assets", "kiosk.spec", "pyproject.toml")
TOP_LEVEL = ("kiosk", "ui", "devices", "wire", "tools", "queue_server")
OK_LINE = re.compile(r"self-test ok: attract screen in \d+\.\d\d s")
BUILD_TIMEOUT_S = 900
RUN_TIMEOUT_S = 60  # the self-test gives up by itself after 20 s


def newest_source() -> float:
    newest = 0.0
    for name in BUILT_FROM:
        path = ROOT / name
        files = [path] if path.is_file() else path.rglob("*")
        for f in files:
            if f.is_file() and "__pycache__" not in f.parts:
                newest = max(newest, f.stat().st_mtime)
    return newest


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """Two test runs in one checkout must not build into the same dist/ at once."""
    (ROOT / "build").mkdir(exist_ok=True)
    with (ROOT / "build" / "kiosk-bundle.lock").open("w") as f:
        try:
            import fcntl
        except ImportError:  # Windows: no second run to guard against in CI
            yield
            return
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def bundle() -> Path:
    with build_lock():
        if EXECUTABLE.is_file() and EXECUTABLE.stat().st_mtime > newest_source():
            return EXECUTABLE
        cmd = [sys.executable, "-m", "PyInstaller", "kiosk.spec", "--noconfirm"]
        cmd += ["--distpath", "dist", "--workpath", "build/pyinstaller"]
        built = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
        )
        assert built.returncode == 0, built.stderr[-3000:]
    assert EXECUTABLE.is_file()
    return EXECUTABLE


def self_test(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [*cmd, "--self-test"], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=RUN_TIMEOUT_S,
    )  # fmt: skip


def assert_ok(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and OK_LINE.fullmatch(lines[0]), done.stdout


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S + 2 * RUN_TIMEOUT_S)
def test_the_built_bundle_reaches_the_attract_screen(bundle, tmp_path):
    assert_ok(self_test([str(bundle)], tmp_path))
    internal = bundle.parent / "_internal"
    assert (internal / "assets" / "i18n" / "zh.json").is_file()
    assert (internal / "assets" / "theme" / "kiosk.qss").is_file()
    assert (internal / "assets" / "demo_branch.toml").is_file()
    assert (internal / "assets" / "voice" / "zh" / "take_id_card.wav").is_file()  # it speaks
    # Lean: none of Qt's web, QML or 3D parts, and no queue server.
    bundled = {p.name for p in internal.rglob("*")}
    assert not {n for n in bundled if re.match(r"(lib)?Qt6?(WebEngine|Qml|Quick|3D)", n)}
    assert not (internal / "queue_server").exists() and not (internal / "fastapi").exists()


def test_the_kiosk_from_source_reaches_the_attract_screen(tmp_path):
    assert_ok(self_test([sys.executable, "-m", "kiosk"], tmp_path))


# What a lobby PC may run (kiosk.spec's allow-list): the kiosk, the shared Qt parts it uses,
# and the drivers of its printer, ID card reader, camera, scanners and speaker.
KIOSK_MODULES = re.compile(
    r"kiosk(\..+)?|ui|ui\.(assets|client|i18n|model|reflow|scan_filter|theme|widgets)(\..+)?"
    r"|devices|devices\.(errors|url|serialport)|devices\.(printer|idcard|scanner|audio)(\..+)?"
    r"|wire(\..+)?"
)
TOOLING = re.compile(
    r"(^|\.)(tools|bench|drill\w*|soak\w*|screenshots?|\w+_screens|harness|sim)(\.|$)"
)


def bundled_modules(executable: Path) -> list[str]:
    """The Python modules inside the bundle's archive (what the kiosk PC can import)."""
    from PyInstaller.archive.readers import CArchiveReader

    return sorted(CArchiveReader(str(executable)).open_embedded_archive("PYZ.pyz").toc)


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT_S + 2 * RUN_TIMEOUT_S)
def test_the_bundle_holds_the_kiosk_and_no_tooling(bundle):
    ours = [m for m in bundled_modules(bundle) if m.split(".")[0] in TOP_LEVEL]
    print("bundled modules of ours:", *ours, sep="\n  ")
    assert {
        "kiosk.app",
        "kiosk.flow",
        "kiosk.elder",
        "kiosk.voice",
        "ui.client.branch",
        "devices.printer.ticket_printer",
        "devices.audio.alsa",
        "devices.audio.pack",
    } <= set(ours)
    assert [m for m in ours if TOOLING.search(m)] == []
    assert [m for m in ours if not KIOSK_MODULES.fullmatch(m)] == []


def test_the_tooling_pattern_catches_what_it_names():
    assert all(
        TOOLING.search(m)
        for m in ("tools", "tools.harness", "devices.printer.sim", "kiosk.drill", "ui.soak",
                  "queue_server.bench.server", "ui.manager_screens", "tools.screenshots.kiosk")
    )  # fmt: skip
    assert not any(TOOLING.search(m) for m in ("kiosk.app", "kiosk.screens", "devices.serialport"))
    assert not KIOSK_MODULES.fullmatch("ui.counter.window")
    assert not KIOSK_MODULES.fullmatch("devices.bus.sim")


def test_a_self_test_needs_no_server_but_a_kiosk_does(capsys):
    assert parse_args(["--self-test"]).server is None
    with pytest.raises(SystemExit):
        parse_args(["--token", "t"])
    assert "--server" in capsys.readouterr().err


def test_the_self_test_finds_the_catalog_keys_the_screens_name():
    used = catalog_keys_used(["kiosk.screens", "ui.theme"], {"kiosk", "common"})
    assert "kiosk.guidance.take_ticket" in used["kiosk.screens"]
    assert "ui.theme" not in used  # "kiosk.qss" is a file, not a key
