"""BranchQ's framed RS-485 protocol: exact bytes of every command, stuffing, the parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.bus import frames
from devices.bus.frames import Command, Frame, FrameParser, Key, Kind, NackCode
from devices.bus.modbus import crc16
from devices.errors import ProtocolError


def reference_crc(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


EXAMPLES = [
    (frames.poll(103), "FA 67 01 01 00 4F 00 FB"),
    (frames.poll(103, 5), "FA 67 01 01 05 8F 03 FB"),
    (frames.show_text(3, "A023"), "FA 03 10 04 41 30 32 33 9A 16 FB"),
    (
        frames.show_text(3, "请A023号到3号窗口"),
        "FA 03 10 11 C7 EB 41 30 32 33 BA C5 B5 BD 33 BA C5 B4 B0 BF DA 0E EE FB",
    ),
    (frames.blink(3, 3, 0.5), "FA 03 11 02 03 32 45 D9 FB"),
    (frames.clear(3), "FA 03 12 00 8D 60 FB"),
    (frames.request_rating(203, 7, 30), "FA CB 20 02 07 1E A9 E8 FB"),
    (frames.cancel_rating(203, 7), "FA CB 21 01 07 2E 58 FB"),
    (frames.ack(3, Kind.TEXT_BOARD), "FA 03 80 02 01 00 E9 90 FB"),
    (frames.ack(3, Kind.TEXT_BOARD, frames.FLAG_FRESH), "FA 03 80 02 01 01 28 50 FB"),
    (frames.key_pressed(103, 5, Key.NEXT), "FA 67 81 05 02 00 05 01 00 FE C9 FB"),
    (frames.key_pressed(103, 6, Key.TRANSFER, 2), "FA 67 81 05 02 00 06 06 02 8D 38 FB"),
    (frames.rating_given(203, 1, 7, 4), "FA CB 82 05 03 00 01 07 04 B9 86 FB"),
    (frames.nack(3, Kind.TEXT_BOARD, NackCode.NOT_SUPPORTED), "FA 03 8F 03 01 00 05 C4 70 FB"),
    # Stuffing: CRC 0xFC50 is sent 50 FC DC; "满" is C2 FA in GB18030.
    (frames.poll(6), "FA 06 01 01 00 50 FC DC FB"),
    (frames.show_text(203, "满意"), "FA CB 10 04 C2 FC DA D2 E2 53 FC DC FB"),
]


@pytest.mark.parametrize(("frame", "wire"), EXAMPLES)
def test_every_command_and_reply_is_byte_exact(frame, wire):
    encoded = frame.encode()
    assert encoded == bytes.fromhex(wire)
    assert FrameParser().feed(encoded) == [frame]


def test_the_crc_covers_address_to_data_low_byte_first():
    body = bytes.fromhex("03 10 04") + b"A023"
    assert reference_crc(body) == 0x169A
    assert frames.show_text(3, "A023").encode()[-3:-1] == bytes.fromhex("9A 16")


def test_the_parser_decodes_all_the_docs_examples():
    wire = b"".join(frame.encode() for frame, _ in EXAMPLES)
    assert FrameParser().feed(wire) == [frame for frame, _ in EXAMPLES]


def test_replies_parse_into_typed_values():
    key = frames.parse_reply(frames.key_pressed(103, 6, Key.TRANSFER, 2))
    assert (key.command, key.kind, key.seq, key.value, key.arg) == (
        Command.KEY_PRESSED,
        Kind.KEYPAD,
        6,
        Key.TRANSFER,
        2,
    )
    rating = frames.parse_reply(frames.rating_given(203, 1, 7, 4))
    assert (rating.seq, rating.arg, rating.value) == (1, 7, 4)
    fresh = frames.parse_reply(frames.ack(3, Kind.TEXT_BOARD, frames.FLAG_FRESH))
    assert fresh.fresh and fresh.command is Command.ACK
    nack = frames.parse_reply(frames.nack(3, Kind.TEXT_BOARD, NackCode.CANNOT_SHOW))
    assert frames.describe_nack(nack.value) == "cannot show"


@pytest.mark.parametrize(
    "frame",
    [
        Frame(3, 0x7F, b"\x01\x00"),  # no such reply
        Frame(3, Command.ACK, b"\x01"),  # too short
        frames.poll(3),  # a host command is not a reply
    ],
)
def test_malformed_replies_are_protocol_errors(frame):
    with pytest.raises(ProtocolError):
        frames.parse_reply(frame)


def test_builders_refuse_what_cannot_be_sent():
    with pytest.raises(ValueError, match=r"1\.\.247"):
        frames.show_text(0, "x")
    with pytest.raises(ValueError, match="bytes in GB18030"):
        frames.show_text(3, "窗" * 121)
    with pytest.raises(ValueError, match="GB18030"):
        frames.show_text(3, "\ud800")  # a lone surrogate has no encoding
    with pytest.raises(ValueError, match="period"):
        frames.blink(3, 3, 5.0)


def test_split_input_garbage_and_a_lost_end_byte():
    parser = FrameParser()
    good = frames.show_text(3, "A023").encode()
    assert parser.feed(b"\x00\xff\x13" + good[:4]) == []
    assert parser.feed(good[4:]) == [frames.show_text(3, "A023")]
    assert parser.garbage == 3
    cut = frames.clear(3).encode()[:-1]  # END lost: the next START abandons it
    assert parser.feed(cut + good) == [frames.show_text(3, "A023")]
    assert parser.truncated == 1


def test_bad_crc_length_escape_and_size_are_rejected_and_counted():
    parser = FrameParser()
    wire = bytearray(frames.show_text(3, "A023").encode())
    wire[5] ^= 0x01
    assert parser.feed(bytes(wire)) == []
    assert parser.bad_crc == 1
    body = bytes([3, Command.CLEAR, 2])  # says 2 data bytes, has none
    assert parser.feed(frames.stuff(body + crc16(body).to_bytes(2, "little"))) == []
    assert parser.bad_length == 1
    assert parser.feed(bytes.fromhex("FA 03 FC 41 FB")) == []
    assert parser.bad_escape == 1
    assert parser.feed(b"\xfa" + b"\x41" * 300 + b"\xfb") == []
    assert parser.oversized == 1
    assert parser.rejected == 4
    assert parser.feed(frames.clear(3).encode()) == [frames.clear(3)]  # still works


VALID = [frame.encode() for frame, _ in EXAMPLES]


@given(st.binary(max_size=800), st.integers(1, 64))
def test_random_bytes_never_raise_and_never_give_a_bad_frame(data, chunk):
    parser = FrameParser()
    for start in range(0, len(data), chunk):
        for frame in parser.feed(data[start : start + chunk]):
            assert crc16(frame.body) == 0
            assert frame.body[2] == len(frame.data) <= frames.MAX_DATA


@given(st.sampled_from(VALID), st.integers(0, 200), st.integers(1, 255), st.binary(max_size=40))
def test_a_corrupted_frame_is_never_accepted(wire, index, flip, noise):
    damaged = bytearray(wire)
    damaged[index % len(wire)] ^= flip
    found = FrameParser().feed(noise + bytes(damaged))
    original = FrameParser().feed(wire)[0]
    for frame in found:
        assert crc16(frame.body) == 0
        assert frame != original  # the damaged frame itself never gets through


@given(st.sampled_from(VALID), st.integers(1, 30), st.binary(max_size=40))
def test_truncated_frames_are_dropped_and_the_next_frame_still_arrives(wire, cut, noise):
    parser = FrameParser()
    follower = frames.clear(9)
    found = parser.feed(noise + wire[: max(1, len(wire) - cut)] + follower.encode())
    assert found[-1] == follower
    for frame in found:
        assert crc16(frame.body) == 0
