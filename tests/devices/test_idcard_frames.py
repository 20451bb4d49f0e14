"""SDT frames: exact request bytes, checksums, and a reply parser that survives any input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.idcard.frames import (
    MAX_FRAME,
    PREAMBLE,
    Command,
    FrameReader,
    Reply,
    RequestReader,
    Status,
    build_frame,
    build_reply,
    build_request,
    checksum,
    describe_status,
)


@pytest.mark.parametrize(
    ("command", "hex_bytes"),
    [
        (Command.FIND_CARD, "aa aa aa 96 69 00 03 20 01 22"),  # the PROTOCOLS.md example
        (Command.SELECT_CARD, "aa aa aa 96 69 00 03 20 02 21"),
        (Command.READ_BASE_MESSAGE, "aa aa aa 96 69 00 03 30 01 32"),
        (Command.READ_NEW_ADDRESS, "aa aa aa 96 69 00 03 30 03 30"),
        (Command.RESET_SAM, "aa aa aa 96 69 00 03 10 ff ec"),
        (Command.SAM_STATUS, "aa aa aa 96 69 00 03 11 ff ed"),
        (Command.SAM_ID, "aa aa aa 96 69 00 03 12 ff ee"),
    ],
)
def test_request_frames_are_byte_exact(command, hex_bytes):
    assert build_request(command) == bytes.fromhex(hex_bytes)


def test_len_counts_everything_after_itself_and_chk_xors_len_and_body():
    frame = build_request(Command.FIND_CARD, b"\x01\x02\x03")
    assert frame[:5] == PREAMBLE
    assert int.from_bytes(frame[5:7], "big") == len(frame) - 7
    assert frame[-1] == checksum(frame[5:-1]) == 0x00 ^ 0x06 ^ 0x20 ^ 0x01 ^ 1 ^ 2 ^ 3


def test_a_long_reply_uses_both_len_bytes():
    frame = build_reply(Status.SUCCESS, bytes(4 + 256 + 1024))
    assert len(frame) == 1295
    assert frame[5:7] == b"\x05\x08"


def test_reply_parsing():
    reader = FrameReader()
    found = build_reply(Status.CARD_FOUND, b"\x00\x00\x00\x00")
    assert reader.feed(found) == [Reply(0, 0, 0x9F, b"\x00\x00\x00\x00")]
    assert reader.feed(build_reply(0x80))[0].status is Status.NO_CARD
    assert reader.feed(build_reply(0x5A))[0].status is None  # unknown code, still a frame


def test_status_meanings_are_readable():
    assert Status.SUCCESS.meaning == "success"
    assert describe_status(0x80) == "0x80 no card found"
    assert describe_status(0x41) == "0x41 read failed"
    assert describe_status(0x10) == "0x10 request checksum error"
    assert describe_status(0x5A) == "0x5A unknown status"
    assert all(s.meaning for s in Status)


def test_bytes_split_anywhere_make_the_same_frames():
    stream = build_reply(0x9F, b"\x00" * 4) + build_reply(0x90, bytes(range(200)))
    for cut in range(len(stream) + 1):
        reader = FrameReader()
        replies = reader.feed(stream[:cut]) + reader.feed(stream[cut:])
        assert [r.sw3 for r in replies] == [0x9F, 0x90], cut
    reader = FrameReader()
    one_by_one = [r for b in stream for r in reader.feed(bytes([b]))]
    assert len(one_by_one) == 2 and one_by_one[1].data == bytes(range(200))


def test_garbage_is_skipped_up_to_the_next_preamble():
    reader = FrameReader()
    noise = b"\x00\xff\xaa\xaa\x96hello\xaa\xaa\xaa\x96"  # includes a broken preamble
    replies = reader.feed(noise + build_reply(0x90, b"ok") + b"\x13\x37")
    assert replies == [Reply(0, 0, 0x90, b"ok")]
    assert reader.skipped_bytes >= len(noise)
    assert reader.error_count == 0


def test_a_bad_checksum_is_counted_and_the_next_frame_still_parses():
    reader = FrameReader()
    bad = bytearray(build_reply(0x90, b"data"))
    bad[-1] ^= 0xFF
    replies = reader.feed(bytes(bad) + build_reply(0x9F))
    assert [r.sw3 for r in replies] == [0x9F]
    assert reader.bad_checksums == 1 and "checksum" in reader.errors[-1]


def test_absurd_lengths_are_rejected_without_swallowing_what_follows():
    reader = FrameReader()
    too_short = PREAMBLE + b"\x00\x01\x00"  # LEN 1 cannot hold SW1-3 + CHK
    too_long = PREAMBLE + b"\xff\xff"  # 65535 bytes announced, far over MAX_FRAME
    replies = reader.feed(too_short + too_long + build_reply(0x90))
    assert [r.sw3 for r in replies] == [0x90]
    assert reader.bad_lengths == 2


def test_the_buffer_stays_bounded():
    reader = FrameReader()
    header = PREAMBLE + (MAX_FRAME - 7).to_bytes(2, "big")  # the largest acceptable frame
    reader.feed(header + bytes(MAX_FRAME * 3))  # its "checksum" is wrong: resync
    assert reader.pending < MAX_FRAME
    reader.feed(bytes(100_000))
    assert reader.pending < len(PREAMBLE)


def test_a_preamble_split_across_reads_is_kept():
    reader = FrameReader()
    frame = build_reply(0x90)
    assert reader.feed(b"junk" + frame[:3]) == []
    assert reader.pending == 3
    assert reader.feed(frame[3:]) == [Reply(0, 0, 0x90, b"")]


def test_requests_parse_for_the_simulator():
    reader = RequestReader()
    requests = reader.feed(build_request(Command.FIND_CARD) + build_request(Command.SAM_ID))
    assert [r.command for r in requests] == [Command.FIND_CARD, Command.SAM_ID]
    assert reader.feed(build_frame(b"\x77\x01"))[0].command is None


def test_a_frame_body_too_long_is_refused():
    with pytest.raises(ValueError):
        build_frame(bytes(70_000))


# ----------------------------------------------------------------- properties
def _valid_frame_positions(stream: bytes, replies: list[Reply]) -> bool:
    """Every reply yielded is a well-formed frame that was really in the input."""
    for r in replies:
        frame = build_reply(r.sw3, r.data, r.sw1, r.sw2)
        if frame not in stream or frame[-1] != checksum(frame[5:-1]):
            return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=64))
def test_random_bytes_never_raise_and_never_yield_an_unchecked_frame(data, step):
    reader = FrameReader()
    replies = []
    for i in range(0, len(data), step):
        replies += reader.feed(data[i : i + step])
    assert _valid_frame_positions(data, replies)
    assert reader.pending <= MAX_FRAME


replies_strategy = st.lists(
    st.tuples(st.sampled_from([0x90, 0x9F, 0x80, 0x41]), st.binary(max_size=300)),
    min_size=1,
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(
    replies_strategy,
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=6),
    st.lists(st.integers(min_value=0), max_size=6),
)
def test_mutated_valid_frames_never_raise_and_never_yield_a_bad_checksum(frames, mutations, cuts):
    stream = bytearray(b"".join(build_reply(sw3, data) for sw3, data in frames))
    for pos, value in mutations:
        stream[pos % len(stream)] = value
    stream_b = bytes(stream)
    reader = FrameReader()
    replies = []
    last = 0
    for cut in [*sorted(c % (len(stream_b) + 1) for c in cuts), len(stream_b)]:
        replies += reader.feed(stream_b[last:cut])
        last = cut
    assert _valid_frame_positions(stream_b, replies)
    if not mutations:
        assert [(r.sw3, r.data) for r in replies] == frames
