"""Hostile bytes into every parser of device replies, scanned codes and appointment tokens.

Each parser either returns (frames, None, a refusal value) or raises its own error type —
never IndexError, UnicodeDecodeError, struct.error or the like, which would take down the
kiosk's or the bus hub's loop. Appointment tokens that are random, cut short or have a bit
flipped are refused, never accepted.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from devices.bus import frames as bus_frames
from devices.bus import modbus
from devices.bus.sim import SimDigitBoard, SimKeypad, SimRatingPad, SimTextBoard
from devices.errors import ProtocolError
from devices.idcard.card import PHOTO_LEN, TEXT_LEN, parse_base_message, parse_text_block
from devices.idcard.errors import IdCardError
from devices.idcard.frames import FrameReader, RequestReader, build_reply
from devices.idcard.sim import synthetic_card
from devices.printer.parser import EscposParser
from devices.printer.status import decode_status
from devices.scanner.evdev_scanner import KeyDecoder
from devices.scanner.serial_scanner import LineAssembler, parse_line
from devices.scanner.wedge import WedgeDetector
from queue_server.domain.appointments import (
    Appointment,
    AppointmentRefused,
    read_token,
    sign_token,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
chunks = st.lists(st.binary(max_size=300), max_size=12)


def frames_with_noise(valid: list[bytes]) -> st.SearchStrategy[list[bytes]]:
    """Valid frames cut anywhere, with garbage, flipped bytes and truncations between."""
    piece = st.one_of(
        st.binary(max_size=64),
        st.sampled_from(valid),
        st.sampled_from(valid).flatmap(lambda f: st.integers(0, len(f)).map(lambda n: f[:n])),
        st.tuples(st.sampled_from(valid), st.integers(0, 10_000), st.integers(1, 255)).map(
            lambda t: _flip(*t)
        ),
    )
    return st.lists(piece, max_size=10).flatmap(
        lambda parts: st.lists(st.integers(1, 64), min_size=1, max_size=8).map(
            lambda cuts: _recut(b"".join(parts), cuts)
        )
    )


def _flip(frame: bytes, at: int, mask: int) -> bytes:
    if not frame:
        return frame
    i = at % len(frame)
    return frame[:i] + bytes([frame[i] ^ mask]) + frame[i + 1 :]


def _recut(stream: bytes, cuts: list[int]) -> list[bytes]:
    out, i, k = [], 0, 0
    while i < len(stream):
        n = cuts[k % len(cuts)]
        out.append(stream[i : i + n])
        i, k = i + n, k + 1
    return out


# ------------------------------------------------------------------ ESC/POS printer
@FUZZ
@given(st.dictionaries(st.integers(0, 5), st.binary(max_size=4)))
def test_printer_status_replies_never_crash(replies):
    status = decode_status(replies)
    assert status.unknown or all(len(replies[n]) == 1 for n in (1, 2, 4))
    assert status.health in ("ok", "warning", "error", "offline")


@FUZZ
@given(chunks)
def test_simulated_printer_takes_any_bytes(parts):
    jobs = []
    parser = EscposParser(on_cut=jobs.append, status=lambda n: 0x12)
    for part in parts:
        reply = parser.feed(part)
        assert isinstance(reply, bytes)


# ------------------------------------------------------------------ SDT ID card reader
SDT_VALID = [
    build_reply(0x90, b"\x00" * 4),
    build_reply(0x9F),
    build_reply(0x80),
    bytes.fromhex("aaaaaa96690003200122"),  # a find-card request
]


@FUZZ
@given(st.one_of(chunks, frames_with_noise(SDT_VALID)))
def test_sdt_frame_readers_never_raise(parts):
    replies, requests = FrameReader(), RequestReader()
    for part in parts:
        for reply in replies.feed(part):
            assert 0 <= reply.sw3 <= 255
            reply.status  # noqa: B018 — a code outside the table is None, not an error
        requests.feed(part)
    assert replies.pending <= 4096 + 8


def _card_text() -> bytes:
    return synthetic_card("张三", dt.date(1950, 1, 1))


@FUZZ
@given(st.one_of(st.binary(min_size=TEXT_LEN, max_size=TEXT_LEN), st.binary(max_size=300)))
def test_id_text_parser_raises_only_its_own_errors(block):
    with contextlib.suppress(IdCardError):
        parse_text_block(block)


@FUZZ
@given(st.integers(0, TEXT_LEN - 1), st.integers(1, 255), st.integers(0, TEXT_LEN))
def test_id_text_with_a_flipped_byte_or_cut_short_is_parsed_or_refused(at, mask, cut):
    for block in (_flip(_card_text(), at, mask), _card_text()[:cut]):
        try:
            card = parse_text_block(block)
        except IdCardError:
            continue
        assert len(card.id_number) == 18  # whatever passes is still a checked ID number


@FUZZ
@given(st.binary(max_size=8), st.binary(max_size=PHOTO_LEN + TEXT_LEN + 16))
def test_base_message_parser_raises_only_its_own_errors(head, rest):
    for data in (head + rest, b"\x01\x00\x04\x00" + _card_text() + rest[:PHOTO_LEN]):
        with contextlib.suppress(IdCardError):
            parse_base_message(data)


# ------------------------------------------------------------------ RS-485 framed protocol
BUS_VALID = [
    bus_frames.key_pressed(3, 7, 1).encode(),
    bus_frames.rating_given(4, 2, 9, 4).encode(),
    bus_frames.show_text(2, "请 A023 号到 3 号窗口").encode(),
    bus_frames.poll(5).encode(),
    bus_frames.blink(2).encode(),
    bus_frames.request_rating(4, 9, 30).encode(),
]


@FUZZ
@given(st.one_of(chunks, frames_with_noise(BUS_VALID)))
def test_bus_frames_parse_or_are_refused_and_devices_never_crash(parts):
    parser = bus_frames.FrameParser()
    devices = [SimTextBoard(2), SimKeypad(3), SimRatingPad(4)]
    for part in parts:
        for frame in parser.feed(part):
            with contextlib.suppress(ProtocolError):
                bus_frames.parse_reply(frame)
            if not frame.is_reply:
                for device in devices:
                    device.on_frame(frame, 0.0)  # a NACK is an answer; an exception is not


@FUZZ
@given(
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=bus_frames.MAX_DATA),
)
def test_any_well_framed_bus_command_gets_an_answer(address, command, data):
    frame = bus_frames.Frame(address, command & 0x7F, data)
    (parsed,) = bus_frames.FrameParser().feed(frame.encode())
    for device in (SimTextBoard(address), SimKeypad(address), SimRatingPad(address)):
        answer = device.on_frame(parsed, 0.0)
        assert answer.is_reply


MODBUS_VALID = [
    modbus.write_register(1, 0, 23),
    modbus.read_registers(1, 0, 2),
    modbus.write_registers(1, modbus.REG_SEGMENTS, [0x3F, 0x06]),
    modbus.with_crc(bytes([1, 3, 4, 0, 23, 0, 1])),
    modbus.with_crc(bytes([1, 0x86, 2])),
]


@FUZZ
@given(st.one_of(chunks, frames_with_noise(MODBUS_VALID)))
def test_modbus_parsers_and_digit_board_never_crash(parts):
    responses, requests = modbus.ModbusParser("response"), modbus.ModbusParser("request")
    board = SimDigitBoard(1)
    for part in parts:
        for adu in responses.feed(part):
            for request in MODBUS_VALID[:3]:
                with contextlib.suppress(ProtocolError):
                    modbus.check_reply(request, adu)
        for adu in requests.feed(part):
            answer = board.on_request(adu)
            assert crc16_ok(answer)


def crc16_ok(frame: bytes) -> bool:
    return modbus.crc16(frame) == 0


# ------------------------------------------------------------------ scanners
@FUZZ
@given(chunks, st.sampled_from(["utf-8", "gb18030", "latin-1", "no-such-codec"]), st.booleans())
def test_serial_scanner_lines_parse_or_are_noise(parts, encoding, aim):
    lines = LineAssembler(max_length=512)
    for part in parts:
        for line in lines.feed(part):
            assert len(line) <= 512
            code = parse_line(line, encoding, aim)
            assert code is None or code.text.strip() == code.text or aim


@FUZZ
@given(st.lists(st.tuples(st.integers(-5, 800), st.integers(-3, 5)), max_size=400))
def test_evdev_key_decoder_takes_any_events(events):
    decoder = KeyDecoder(max_length=64)
    for code, value in events:
        line = decoder.feed(code, value)
        assert line is None or 0 < len(line) <= 64


@FUZZ
@given(
    st.lists(
        st.tuples(st.one_of(st.characters(), st.sampled_from(["\r", "\n"])), st.floats(0, 1)),
        max_size=300,
    )
)
def test_keyboard_wedge_filter_accounts_for_every_key(keys):
    detector = WedgeDetector(max_length=64)
    t, typed, passed, scanned = 0.0, 0, 0, 0
    for char, gap in keys:
        t += gap
        step = detector.feed(char, t)
        passed += step.release
        if step.scanned is not None:
            scanned += len(step.scanned) + 1
        typed += 1
        if not step.hold and step.scanned is None:
            passed += 1  # the Enter itself went through
        released, _code = detector.expire(t + 0.01)
        passed += released
    passed += detector.release_all()
    assert passed + scanned == typed  # no key is lost or invented


# ------------------------------------------------------------------ appointment tokens
SECRET = bytes(range(32))
BRANCH = "branch"
REFUSALS = {"not_appointment", "appointment_forged", "appointment_wrong_branch"}


def _valid_token() -> str:
    at = dt.datetime(2026, 11, 28, 6, 30, tzinfo=dt.UTC)
    appointment = Appointment(7, "ACDE3467", "wealth", at, at, at, "n0nce-01")
    return sign_token(appointment, BRANCH, SECRET)


def _refused(text: str) -> str:
    with pytest.raises(AppointmentRefused) as info:
        read_token(text, BRANCH, SECRET)
    assert info.value.code in REFUSALS
    return info.value.code


@FUZZ
@given(st.integers(0, 10_000), st.integers(0, 7))
@example(-1, 0)  # the MAC's last base64 character: its low bits decode to nothing
def test_a_token_with_any_bit_flipped_is_refused(at, bit):
    token = _valid_token().encode("ascii")
    i = at % len(token)
    flipped = token[:i] + bytes([token[i] ^ (1 << bit)]) + token[i + 1 :]
    text = flipped.decode("latin-1")
    if text.strip() == token.decode().strip():
        return  # flipping a bit of surrounding whitespace changes nothing real
    _refused(text)


@FUZZ
@given(st.integers(0, 200))
def test_a_token_cut_short_is_refused(cut):
    token = _valid_token()
    if cut < len(token):
        _refused(token[:cut])


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_as_a_scanned_code_are_refused(raw):
    for text in (raw.decode("latin-1"), "BQA1." + base64.urlsafe_b64encode(raw).decode()):
        _refused(text)


@FUZZ
@given(st.text(max_size=120))
@example("branch|²|wealth|29000000|n0nce-01")  # "²".isdigit() is True, int("²") raises
@example("branch|7|wealth|99999999999999999|n0nce-01")  # a slot past year 9999
def test_even_a_correctly_signed_odd_payload_never_crashes(payload):
    """Only a leaked secret could sign these; still a refusal or claims, never a crash."""
    payload_text = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()
    message = f"BQA1.{payload_text}".encode()
    mac = hmac.new(SECRET, message, hashlib.sha256).digest()[:16]
    token = f"BQA1.{payload_text}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    try:
        claims = read_token(token, BRANCH, SECRET)
    except AppointmentRefused as refused:
        assert refused.code in REFUSALS
    else:
        assert claims.appointment_id >= 0 and claims.branch_id == BRANCH


def test_the_valid_token_itself_is_accepted():
    assert read_token(_valid_token(), BRANCH, SECRET).appointment_id == 7
