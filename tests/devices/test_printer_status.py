"""Status replies: which bytes are status at all, and what they say."""

from __future__ import annotations

import pytest

from devices.printer.status import (
    PrinterStatus,
    decode_status,
    is_status_byte,
    status_from_spooler,
)

READY = {1: b"\x12", 2: b"\x12", 4: b"\x12"}


@pytest.mark.parametrize("byte", [0x12, 0x16, 0x1A, 0x1E, 0x32, 0x52, 0x72, 0x7E, 0x5E])
def test_bytes_of_the_form_0xx1xx10_are_status(byte):
    assert is_status_byte(byte)


@pytest.mark.parametrize(
    "byte",
    [0x00, 0xFF, 0x13, 0x10, 0x02, 0x92, 0x80, 0x11, 0x0A, ord("?"), 0x1B, 0x96],
)
def test_anything_else_is_not(byte):
    assert not is_status_byte(byte)


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        (READY, dict(online=True, paper_out=False, cover_open=False, ready=True, health="ok")),
        (  # n=2 bit 5 stopped at paper end, n=4 bits 5-6 paper end (and near end)
            {1: b"\x1a", 2: b"\x32", 4: b"\x7e"},
            dict(online=False, paper_out=True, ready=False, health="error"),
        ),
        (  # near end only: still prints, needs attention
            {1: b"\x12", 2: b"\x12", 4: b"\x1e"},
            dict(paper_near_end=True, paper_out=False, ready=True, health="warning"),
        ),
        (
            {1: b"\x1a", 2: b"\x16", 4: b"\x12"},
            dict(online=False, cover_open=True, ready=False, health="error"),
        ),
        (
            {1: b"\x1a", 2: b"\x52", 3: b"\x1a", 4: b"\x12"},
            dict(error=True, ready=False, health="error", detail="auto-cutter error"),
        ),
        ({1: b"\x1a", 2: b"\x12", 4: b"\x12"}, dict(online=False, detail="offline")),
    ],
)
def test_valid_replies_decode(replies, expected):
    status = decode_status(replies)
    assert not status.unknown
    for name, value in expected.items():
        assert getattr(status, name) == value, name


@pytest.mark.parametrize(
    ("replies", "health", "detail"),
    [
        ({}, "offline", "no answer"),
        ({1: b""}, "offline", "no answer"),  # a silent printer is never "paper OK"
        ({1: b"\x12", 2: b"\x12", 4: b""}, "offline", "DLE EOT 4"),
        ({1: b"\xff", 2: b"\x12", 4: b"\x12"}, "error", "not a status byte"),
        ({1: b"\x12", 2: b"\x00", 4: b"\x12"}, "error", "DLE EOT 2"),
        ({1: b"\x12", 2: b"\x12", 4: b"\x12\x12"}, "error", "12 12"),  # one byte, not two
        ({1: b"?", 2: b"?", 4: b"?"}, "error", "3f"),  # a printer echoing text
    ],
)
def test_silence_and_garbage_are_unknown(replies, health, detail):
    status = decode_status(replies)
    assert status.unknown and not status.ready
    assert not status.online and not status.paper_out  # nothing claimed either way
    assert status.health == health
    assert detail in status.detail
    assert status.summary().startswith("unknown")


def test_the_default_status_is_unknown_not_ok():
    assert PrinterStatus().unknown and not PrinterStatus().ready


def test_windows_spooler_flags():
    assert status_from_spooler(0).one_way and status_from_spooler(0).health == "ok"
    paper = status_from_spooler(0x10)
    assert paper.paper_out and not paper.unknown and paper.health == "error"
    door = status_from_spooler(0x400000 | 0x80)
    assert door.cover_open and not door.online
