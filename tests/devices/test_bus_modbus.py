"""Modbus-RTU for digit boards: exact request bytes, reply checks, noise, 7-segment text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.bus import modbus
from devices.bus.modbus import Adu, ModbusError, ModbusParser
from devices.errors import ProtocolError


def reference_crc(data: bytes) -> int:
    """Bit-by-bit CRC-16/MODBUS, written independently of the table version under test."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def test_crc_matches_the_catalogue_check_value_and_a_bitwise_implementation():
    assert modbus.crc16(b"123456789") == 0x4B37
    assert modbus.crc16(b"") == 0xFFFF
    frame = bytes.fromhex("010600000017")
    assert modbus.crc16(frame) == reference_crc(frame) == 0xC4C9


@pytest.mark.parametrize(
    ("request_bytes", "wire"),
    [
        # The classic read of one register at address 1, as in every Modbus manual.
        (modbus.read_registers(1, 0x0000, 1), "01 03 00 00 00 01 84 0A"),
        (modbus.write_register(1, modbus.REG_VALUE, 0x0017), "01 06 00 00 00 17 C9 C4"),
        (modbus.write_register(1, modbus.REG_VALUE, -1), "01 06 00 00 FF FF 88 7A"),
        (modbus.set_address(1, 5), "01 06 00 02 00 05 E8 09"),
        (modbus.set_baud(1, 19200), "01 06 00 03 00 05 B9 C9"),
        (modbus.set_decimal_point(1, 1), "01 06 00 04 00 01 09 CB"),
        (
            modbus.write_registers(3, modbus.REG_SEGMENTS, modbus.segment_patterns("A023")),
            "03 10 00 80 00 04 08 00 77 00 3F 00 5B 00 4F 15 20",
        ),
        (modbus.read_registers(3, 0, 1), "03 03 00 00 00 01 85 E8"),
    ],
)
def test_requests_are_byte_exact(request_bytes, wire):
    assert request_bytes == bytes.fromhex(wire)
    assert reference_crc(request_bytes[:-2]) == int.from_bytes(request_bytes[-2:], "little")


def test_request_arguments_are_checked():
    with pytest.raises(ValueError, match="outside"):
        modbus.write_register(248, 0, 1)
    with pytest.raises(ValueError, match="16-bit"):
        modbus.write_register(1, 0, 70000)
    with pytest.raises(ValueError, match="baud"):
        modbus.set_baud(1, 14400)
    with pytest.raises(ValueError, match=r"1\.\.123"):
        modbus.write_registers(1, 0x80, [])


def parse_one(wire: str) -> Adu:
    (adu,) = ModbusParser().feed(bytes.fromhex(wire))
    return adu


def test_a_write_is_confirmed_by_its_echo():
    request = modbus.write_register(1, 0, 0x17)
    reply = ModbusParser().feed(request)[0]
    assert modbus.check_reply(request, reply) is reply


def test_a_multiple_write_is_confirmed_by_start_and_count():
    request = modbus.write_registers(3, 0x80, [0x77, 0x3F, 0x5B, 0x4F])
    modbus.check_reply(request, parse_one("03 10 00 80 00 04 C1 C0"))
    wrong_count = modbus.with_crc(bytes.fromhex("03 10 00 80 00 03"))
    with pytest.raises(ProtocolError, match="different register range"):
        modbus.check_reply(request, ModbusParser().feed(wrong_count)[0])


def test_exception_replies_raise_with_the_code_and_its_meaning():
    reply = parse_one("01 86 02 C3 A1")
    assert reply.is_exception and reply.exception_code == 2
    with pytest.raises(ModbusError, match=r"exception 2 \(illegal data address\)") as err:
        modbus.check_reply(modbus.write_register(1, 0x99, 1), reply)
    assert (err.value.address, err.value.function, err.value.code) == (1, 6, 2)
    assert isinstance(err.value, ProtocolError)


def test_a_read_reply_gives_register_values():
    request = modbus.read_registers(3, 0, 1)
    reply = modbus.check_reply(request, parse_one("03 03 02 00 17 81 8A"))
    assert modbus.read_values(reply) == [23]


def test_a_reply_from_another_address_or_function_is_refused():
    with pytest.raises(ProtocolError, match="does not answer"):
        modbus.check_reply(modbus.read_registers(3, 0, 1), parse_one("01 86 02 C3 A1"))


def test_the_parser_finds_a_reply_behind_noise_and_across_split_reads():
    reply = bytes.fromhex("03 03 02 00 17 81 8A")
    parser = ModbusParser()
    # 0x01 0x03 0x40 looks like the start of a 69-byte read reply: it must not hide ours.
    noise = bytes.fromhex("00 FF 01 03 40 13")
    assert parser.feed(noise + reply[:3]) == []
    assert parser.feed(reply[3:]) == [Adu(3, 3, bytes.fromhex("02 00 17"))]


def test_the_parser_drops_a_reply_with_a_bad_crc():
    parser = ModbusParser()
    assert parser.feed(bytes.fromhex("01 06 00 00 00 17 C9 C5")) == []
    assert parser.rejected >= 1


def test_the_request_parser_reads_what_a_board_receives():
    request = modbus.write_registers(3, 0x80, [1, 2, 3, 4])
    parser = ModbusParser("request")
    assert parser.feed(request[:5]) == []
    (adu,) = parser.feed(request[5:])
    assert (adu.address, adu.function, adu.raw) == (3, 16, request)


frames_strategy = st.sampled_from(
    [
        modbus.write_register(1, 0, 0x17),
        bytes.fromhex("01 86 02 C3 A1"),
        bytes.fromhex("03 03 02 00 17 81 8A"),
        bytes.fromhex("03 10 00 80 00 04 C1 C0"),
    ]
)


@given(st.binary(max_size=600), st.sampled_from(["response", "request"]))
def test_random_bytes_never_raise_and_never_give_a_bad_frame(data, role):
    parser = ModbusParser(role)
    for start in range(0, len(data), 37):
        for adu in parser.feed(data[start : start + 37]):
            assert modbus.crc16(adu.raw) == 0  # frame plus its own CRC leaves 0


@given(frames_strategy, st.integers(0, 7), st.integers(1, 255), st.binary(max_size=30))
def test_a_corrupted_or_truncated_reply_is_never_accepted(frame, index, flip, noise):
    damaged = bytearray(frame)
    damaged[index % len(frame)] ^= flip
    parser = ModbusParser()
    found = parser.feed(noise + bytes(damaged)) + parser.feed(frame[: len(frame) // 2])
    for adu in found:
        assert modbus.crc16(adu.raw) == 0
        assert adu.raw != bytes(damaged)


@given(frames_strategy, st.binary(max_size=40), st.integers(1, 8))
def test_a_valid_reply_is_found_behind_any_noise(frame, noise, split):
    parser = ModbusParser()
    data = noise + frame
    found = []
    for start in range(0, len(data), split):
        found += parser.feed(data[start : start + split])
    assert frame in [adu.raw for adu in found]


# --------------------------------------------------------------------------- 7 segments
@pytest.mark.parametrize(
    ("text", "digits", "shown"),
    [
        ("A023", 4, "A023"),
        ("a023", 4, "A023"),
        ("B105", 4, "B105"),
        ("A023", 3, "023"),
        ("A1234", 4, "1234"),
        ("7", 4, "   7"),
        ("V001", 4, "U001"),
        ("K001", 4, "-001"),
        ("C010", 5, " C010"),
    ],
)
def test_tickets_as_segments(text, digits, shown):
    assert modbus.render_segments(modbus.segment_patterns(text, digits)) == shown


def test_segment_patterns_are_the_gfedcba_glyphs():
    assert modbus.segment_patterns("A023") == [0x77, 0x3F, 0x5B, 0x4F]
    assert modbus.render_segments([0x3F | modbus.SEG_DP, 0x01]) == "0.?"
    assert modbus.segment_art([0x77]) == " _\n|_|\n| |"


@pytest.mark.parametrize(
    ("text", "letters", "value"),
    [
        ("A023", "drop", 23),
        ("A023", "index", 1023),
        ("C105", "index", 3105),
        ("Z999", "index", 26999),
        ("Z9999", "index", 9999),  # 269999 does not fit int16: falls back to drop
        ("42", "index", 42),
    ],
)
def test_tickets_as_numbers(text, letters, value):
    assert modbus.number_value(text, letters) == value


def test_a_ticket_without_digits_cannot_be_a_number():
    with pytest.raises(ValueError, match="no digits"):
        modbus.number_value("VIP")
