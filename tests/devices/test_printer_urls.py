"""Printer URLs: every scheme documented and opened by its own module; clear errors."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import pytest

from devices.errors import DeviceUnavailable, MissingDependency
from devices.printer import SCHEMES, printer_for_url

SCHEME_MODULES = {
    "escpos+usb": "usb",
    "escpos+serial": "serial",
    "escpos+tcp": "tcp",
    "escpos+file": "file",
    "escpos+win32": "win32",
}


def test_every_scheme_is_documented_with_an_example():
    assert set(SCHEMES) == set(SCHEME_MODULES)
    for scheme, line in SCHEMES.items():
        assert f"{scheme}://" in line and "\n" not in line


@pytest.mark.parametrize(("scheme", "module"), SCHEME_MODULES.items())
def test_each_scheme_module_starts_with_its_url_format(scheme, module):
    doc = importlib.import_module(f"devices.printer.transports.{module}").__doc__
    assert doc and f"URL: `{scheme}://" in doc


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("lpt://1", "unknown printer URL scheme"),
        ("escpos+tcp://10.0.0.5:9100?baudrate=9600", "unknown option"),
        ("escpos+tcp://10.0.0.5:9100?paper=57", "paper must be 80 or 58"),
        ("escpos+tcp://10.0.0.5:9100?mode=pdf", "mode must be image or text"),
        ("escpos+tcp://10.0.0.5:9100?cut=half", "cut must be full or partial"),
        ("escpos+tcp://:9100", "no printer host"),
        ("escpos+usb://04b8", "VID:PID"),
        ("escpos+usb://zz:0202", "not a hex USB id"),
        ("escpos+serial://?baud=9600", "no serial port"),
        ("escpos+serial:///dev/ttyUSB0?baud=fast", "whole number"),
    ],
)
def test_malformed_urls_are_refused_before_touching_a_device(url, message):
    with pytest.raises(ValueError, match=message):
        printer_for_url(url)


def test_a_missing_serial_port_is_unavailable():
    with pytest.raises(DeviceUnavailable, match="cannot open"):
        printer_for_url("escpos+serial:///dev/does-not-exist")


def test_usb_without_pyusb_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "usb", None)  # as on a machine without pyusb
    monkeypatch.setitem(sys.modules, "usb.core", None)
    with pytest.raises(MissingDependency, match="pyusb"):
        printer_for_url("escpos+usb://04b8:0e28")


def test_a_usb_printer_that_is_not_plugged_in():
    # libusb is installed here but no such device is: unavailable (or, on a machine
    # without libusb, a missing dependency), never a crash.
    with pytest.raises((DeviceUnavailable, MissingDependency)):
        printer_for_url("escpos+usb://ffff:fffe")


@pytest.mark.skipif(sys.platform == "win32", reason="on Windows pywin32 may be installed")
def test_win32_elsewhere_is_a_missing_dependency():
    with pytest.raises(MissingDependency, match="Windows"):
        printer_for_url("escpos+win32://POS-80")


def test_importing_leaves_no_temp_folder_and_no_logging_handler(tmp_path):
    """In a fresh interpreter, without libusb/pyusb: import, build a job, look around."""
    tmp, cache = tmp_path / "tmp", tmp_path / "cache"
    tmp.mkdir()
    script = textwrap.dedent(
        """
        import logging, sys
        sys.modules["usb"] = None  # no pyusb / libusb on this machine
        import devices.printer
        from devices.printer.commands import native_qr
        native_qr("x", 4)
        assert logging.getLogger().handlers == [], logging.getLogger().handlers
        """
    )
    env = {"TMPDIR": str(tmp), "XDG_CACHE_HOME": str(cache), "HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=60)
    assert list(tmp.iterdir()) == []
    assert list((cache / "branchq" / "escpos").glob("*.capabilities.pickle"))
