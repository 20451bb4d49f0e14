"""The RS-485 package's documentation: schemes, the protocol doc, the address plan."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import devices.bus
from devices.bus import SCHEMES, bus, frames, plan
from devices.bus.frames import Command, Key, Kind, NackCode
from devices.bus.sim import SimKeypad

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "rs485-protocol.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_every_scheme_is_documented_with_a_working_example(scheme):
    description = SCHEMES[scheme]
    assert len(description) > 40
    example = re.search(rf"{re.escape(scheme)}://\S+", description)
    assert example is not None
    devices.bus.parse_bus_url(example.group(0))
    assert f"scheme `{scheme}`" in (bus.__doc__ or "")
    assert scheme in DOC


def test_every_url_option_is_documented():
    for option in bus._OPTIONS:
        assert f"    {option} " in (bus.__doc__ or ""), option
        assert f"| `{option}` |" in DOC, option


@pytest.mark.parametrize("code", [*Command, *Key, *NackCode])
def test_every_code_is_in_the_protocol_doc(code):
    name = code.name
    assert f"{code.value:02X}" in DOC
    assert name in DOC or name.lower().replace("_", " ") in DOC


def test_the_doc_examples_are_what_the_code_sends():
    for line in DOC.splitlines():
        match = re.search(r"\b(FA(?: [0-9A-F]{2})+ FB)\b", line)
        if match:
            wire = bytes.fromhex(match.group(1))
            assert frames.FrameParser().feed(wire), f"doc example does not parse: {line}"


def test_kinds_and_the_address_plan():
    assert [k.label for k in Kind] == ["text board", "keypad", "rating pad"]
    assert (plan.board_address(3), plan.keypad_address(3), plan.rating_pad_address(3)) == (
        3,
        103,
        203,
    )
    assert plan.counter_of(203) == (3, "rating pad") and plan.counter_of(100) is None
    assert len(plan.plan_addresses(20)) == 60
    with pytest.raises(ValueError):
        plan.rating_pad_address(48)
    assert "200 + N" in DOC


def test_a_fresh_device_ignores_acks_from_its_previous_life():
    keypad = SimKeypad(102)
    keypad.press(Key.NEXT)
    event = frames.parse_reply(keypad.on_frame(frames.poll(102), 0.0))
    assert event.fresh
    # The host still acks a number from before the restart: the event must stay.
    again = frames.parse_reply(keypad.on_frame(frames.poll(102, event.seq), 0.0))
    assert again.seq == event.seq and again.command is Command.KEY_PRESSED
    keypad.on_frame(frames.clear(102), 0.0)  # the host sent its state: no longer fresh
    done = frames.parse_reply(keypad.on_frame(frames.poll(102, event.seq), 0.0))
    assert done.command is Command.ACK and not done.fresh
