"""The ID card reader, watcher and probe against the simulated reader on a real pty."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.errors import DeviceError, DeviceFault, DeviceTimeout, DeviceUnavailable, ProtocolError
from devices.idcard import (
    SCHEMES,
    BadCheckDigit,
    CardExpired,
    CardNotRead,
    CardProblem,
    CardWatcher,
    ForeignerCard,
    IdCard,
    IdCardReader,
    ReaderFault,
    ReaderStatusError,
    ReplyChecksumError,
    ReplyError,
    Status,
    TruncatedReply,
    build_request,
    probe,
    reader_for_url,
)
from devices.idcard.frames import Command, FrameReader
from devices.idcard.sim import SAM_ID, SYNTHETIC_CARDS, Fault, IdCardReaderSimulator
from devices.serialport import SerialLine

FAST = "timeout=0.3&read_timeout=1&poll=0.05"


@pytest.fixture
def sim() -> Iterator[IdCardReaderSimulator]:
    device = IdCardReaderSimulator().start()
    try:
        yield device
    finally:
        device.stop()


@pytest.fixture
def reader(sim: IdCardReaderSimulator) -> Iterator[IdCardReader]:
    with reader_for_url(f"{sim.url}?{FAST}") as r:
        yield r


# ----------------------------------------------------------------- URLs, docs
def test_the_simulator_url_and_scheme_docs():
    device = IdCardReaderSimulator()
    try:
        assert device.url == f"sdt+serial://{device.path}"
    finally:
        device.stop()
    for scheme, description in SCHEMES.items():
        assert f"{scheme}://" in description and len(description.splitlines()) == 1


def test_url_options_reach_the_reader():
    r = reader_for_url("sdt+serial:///dev/ttyUSB0?baud=57600&timeout=0.2&read_timeout=3&poll=1")
    assert (r.line.url, r.line.baudrate) == ("/dev/ttyUSB0", 57600)
    assert (r.timeout_s, r.read_timeout_s, r.min_poll_s) == (0.2, 3.0, 1.0)
    assert reader_for_url("sdt+serial://loop://").line.url == "loop://"
    assert reader_for_url("sdt+serial://COM3").line.baudrate == 115200


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("escpos+tcp://10.0.0.5:9100", "unknown ID card reader scheme"),
        ("/dev/ttyUSB0", "not a device URL"),
        ("sdt+serial://", "names no port"),
        ("sdt+serial:///dev/ttyUSB0?timeout=soon", "must be a number"),
    ],
)
def test_bad_urls_are_clear_errors(url, match):
    with pytest.raises(ValueError, match=match):
        reader_for_url(url)


# ------------------------------------------------------------- round trips
def test_place_and_read_a_card(sim, reader):
    sim.place("adult")
    card = reader.read_once()
    assert isinstance(card, IdCard)
    assert (card.name, card.birth_date, card.valid_to) == (
        "测试二",
        dt.date(1990, 7, 1),
        dt.date(2036, 5, 1),
    )
    assert len(card.photo) == 1024
    assert sim.commands == [Command.FIND_CARD, Command.SELECT_CARD, Command.READ_BASE_MESSAGE]
    assert bytes(sim.received).startswith(bytes.fromhex("aa aa aa 96 69 00 03 20 01 22"))


def test_the_read_base_message_reply_is_1295_bytes(sim):
    sim.place("elderly")
    frames = FrameReader()
    reply = sim.handle(build_request(Command.FIND_CARD) + build_request(Command.SELECT_CARD))
    assert [r.sw3 for r in frames.feed(reply)] == [Status.CARD_FOUND, Status.SUCCESS]
    reply = sim.handle(build_request(Command.READ_BASE_MESSAGE))
    assert len(reply) == 1295
    (parsed,) = frames.feed(reply)
    assert parsed.data[:4] == b"\x01\x00\x04\x00"
    assert parsed.data[4:260] == SYNTHETIC_CARDS["elderly"]


def test_a_card_must_be_lifted_before_it_is_found_again(sim, reader):
    sim.place("elderly")
    assert reader.read_once() is not None
    assert reader.find_card() is False  # still lying there, already read
    assert reader.read_once() is None
    assert reader.card_present() is True
    sim.lift()
    assert reader.card_present() is False
    assert reader.find_card() is False
    sim.place("elderly")
    assert reader.find_card() is True


def test_no_card(sim, reader):
    assert reader.find_card() is False
    assert reader.select_card() is False
    with pytest.raises(CardNotRead) as info:
        reader.read_card()
    assert info.value.status == Status.READ_FAILED and "read failed" in str(info.value)
    assert info.value.retryable and not isinstance(info.value, DeviceFault)


def test_sam_commands(sim, reader):
    reader.reset_sam()
    assert reader.sam_status() == Status.SUCCESS
    sam_id = reader.sam_id()
    assert sam_id.startswith("05.01-") and len(sam_id.split("-")) == 4
    assert SAM_ID.hex() not in sam_id
    sim.sam_ok = False
    assert reader.sam_status() == Status.SAM_SELF_TEST_FAILED
    with pytest.raises(ReaderStatusError, match="SAM self-test failed"):
        reader.sam_id()


def test_new_address(sim, reader):
    sim.place("adult", new_address="测试省样例市新迁路8号")
    assert reader.find_card() and reader.select_card()
    assert reader.read_new_address() == "测试省样例市新迁路8号"
    sim.place("adult")
    assert reader.find_card() and reader.select_card()
    assert reader.read_new_address() == ""


def test_polls_are_paced(sim):
    with reader_for_url(f"{sim.url}?timeout=0.3&poll=0.3") as r:
        started = time.monotonic()
        r.find_card()
        r.find_card()
        r.card_present()
        assert time.monotonic() - started >= 0.6


# ----------------------------------------------------------- refused cards
def test_refused_cards_raise_typed_errors(sim, reader):
    for name, error in [("bad_check_digit", BadCheckDigit), ("foreigner", ForeignerCard)]:
        sim.place(name)
        with pytest.raises(error):
            reader.read_once()


def test_expired_cards_are_refused_by_default(sim):
    line = SerialLine(sim.path, baudrate=115200, timeout_s=0.3)
    strict = IdCardReader(line, today=lambda: dt.date(2026, 11, 27))
    sim.place("expired")
    with pytest.raises(CardExpired) as info:
        strict.read_once()
    assert info.value.valid_to == dt.date(2020, 1, 1)
    assert isinstance(info.value, CardProblem) and not info.value.retryable
    assert info.value.code == "card_expired"
    # The whole base message came over the wire intact: refused for its date, not the read.
    assert sim.commands[-1] is Command.READ_BASE_MESSAGE
    sim.place("expired")
    strict.reject_expired = False  # e.g. a field probe that only shows what is on the card
    card = strict.read_once()
    assert card is not None and card.expired(dt.date(2026, 11, 27))
    strict.close()


def test_the_url_reader_refuses_expired_cards_too(sim, reader):
    sim.place("expired")
    with pytest.raises(CardExpired):
        reader.read_once()


# ------------------------------------------------ card problems vs reader faults
def test_a_damaged_reply_while_reading_a_card_is_a_card_problem(sim, reader):
    sim.place("adult")
    sim.fault = Fault.CORRUPT_READ
    started = time.monotonic()
    with pytest.raises(CardNotRead) as info:
        reader.read_once()
    assert time.monotonic() - started < 0.5  # a bad checksum is known at once
    assert info.value.retryable and info.value.reason == "reply_checksum"
    assert isinstance(info.value.__cause__, ReplyChecksumError)
    assert not isinstance(info.value, DeviceFault)
    # The reader itself is fine: the next placement reads.
    sim.fault = Fault.NONE
    sim.place("adult")
    assert reader.read_once() is not None


def test_a_reply_cut_short_is_truncated_not_a_checksum_error(sim, reader):
    sim.place("adult")
    sim.fault = Fault.SHORT_READ
    with pytest.raises(CardNotRead) as info:
        reader.read_once()
    assert info.value.reason == "reply_truncated" and info.value.retryable
    cut = info.value.__cause__
    assert isinstance(cut, TruncatedReply) and not isinstance(cut, ReplyChecksumError)
    # 1295 bytes announced by LEN (0x0508 after the 7-byte header); half of them came.
    assert (cut.announced, cut.received) == (1295, 1295 // 2)
    assert "647 of the 1295 bytes" in str(cut)


def test_the_parser_knows_how_much_of_a_frame_is_missing():
    frames = FrameReader()
    # A header announcing 12 more bytes, and only 3 of them: 10 of 19 bytes arrived.
    assert frames.feed(bytes.fromhex("aa aa aa 96 69 00 0c 00 00 90")) == []
    assert frames.partial_frame() == (19, 10)
    # Noise that contains a preamble with an absurd length is not a frame cut short.
    noise = FrameReader()
    assert noise.feed(bytes.fromhex("aa aa aa 96 69 ff ff 01")) == []
    assert noise.partial_frame() is None and noise.bad_lengths == 1


@pytest.mark.parametrize(
    ("status", "reason"),
    [(Status.READ_FAILED, "read_failed"), (Status.NO_CARD, "no_card")],
)
def test_a_card_that_fails_its_read_is_retryable(sim, reader, status, reason):
    sim.place("elderly")
    sim.read_status = status
    with pytest.raises(CardNotRead) as info:
        reader.read_once()
    assert (info.value.status, info.value.reason, info.value.retryable) == (status, reason, True)
    assert reader.find_card() is True  # not read, so the reader still sees it
    sim.read_status = None
    assert reader.select_card() and reader.read_card().name == "测试一"


def test_the_readers_own_failures_are_faults(sim, reader):
    sim.sam_ok = False
    with pytest.raises(ReaderStatusError) as info:
        reader.reset_sam()
    assert isinstance(info.value, ReaderFault) and isinstance(info.value, DeviceFault)
    assert not isinstance(info.value, CardProblem)
    sim.sam_ok = True
    sim.fault = Fault.CORRUPT  # every reply, even to "find card": the line, not a card
    with pytest.raises(ReplyChecksumError) as checksum:
        reader.find_card()
    assert isinstance(checksum.value, DeviceFault) and checksum.value.code == "reply_checksum"


# ------------------------------------------------------------------ faults
def test_a_silent_reader_times_out_within_the_timeout(sim, reader):
    sim.fault = Fault.SILENT
    sim.place("adult")
    started = time.monotonic()
    with pytest.raises(DeviceTimeout, match="no answer"):
        reader.find_card()
    assert 0.3 <= time.monotonic() - started < 1.0


def test_garbage_is_a_protocol_error_not_a_hang(sim, reader):
    sim.fault = Fault.GARBAGE
    started = time.monotonic()
    with pytest.raises(ReplyError, match="no valid reply") as info:
        reader.find_card()
    assert isinstance(info.value, ProtocolError)
    assert time.monotonic() - started < 1.0


def test_a_corrupt_checksum_fails_fast_and_the_reader_recovers(sim, reader):
    sim.place("adult")
    sim.fault = Fault.CORRUPT
    started = time.monotonic()
    with pytest.raises(ReplyChecksumError, match="checksum"):
        reader.find_card()
    assert time.monotonic() - started < 0.25
    sim.fault = Fault.NONE
    assert reader.read_once() is not None


def test_a_missing_port_is_unavailable():
    with (
        reader_for_url("sdt+serial:///dev/does-not-exist?timeout=0.2") as r,
        pytest.raises(DeviceUnavailable),
    ):
        r.find_card()


def test_a_bad_request_checksum_gets_status_10(sim):
    bad = bytearray(build_request(Command.FIND_CARD))
    bad[-1] ^= 1
    (reply,) = FrameReader().feed(sim.handle(bytes(bad)))
    assert reply.status is Status.CHECKSUM_ERROR


# ------------------------------------------------------------------ probe
def test_probe_shows_only_masked_fields(sim):
    sim.place("adult")
    text = probe(f"{sim.url}?{FAST}")
    assert "SAM status: 0x90 success" in text
    assert "SAM id: 05.01-" in text
    assert "card present: yes" in text
    assert "测*二" in text and "ID number: 3101**********" in text
    for secret in ("测试二", "310104", "19900701", "演示路"):
        assert secret not in text
    assert "card present: no" in probe(f"{sim.url}?{FAST}")  # read once: not found again


def test_probe_reports_trouble_instead_of_raising(sim):
    assert "DeviceUnavailable" in probe("sdt+serial:///dev/does-not-exist")
    assert "bad URL" in probe("nonsense")
    sim.fault = Fault.SILENT
    assert "DeviceTimeout" in probe(f"{sim.url}?timeout=0.2")


# ---------------------------------------------------------------- watcher
class Events:
    """What a watcher reported, with an Event per kind to wait on (never sleep)."""

    def __init__(self) -> None:
        self.cards: list[IdCard] = []
        self.lifted = 0
        self.errors: list[DeviceError] = []
        self.changed = threading.Condition()

    def on_card(self, card: IdCard) -> None:
        with self.changed:
            self.cards.append(card)
            self.changed.notify_all()

    def on_lifted(self) -> None:
        with self.changed:
            self.lifted += 1
            self.changed.notify_all()

    def on_error(self, exc: DeviceError) -> None:
        with self.changed:
            self.errors.append(exc)
            self.changed.notify_all()

    def wait(self, predicate, timeout_s: float = 3.0) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout_s)


def test_the_watcher_reports_place_lift_and_replace_once_each(sim, reader):
    seen = Events()
    with CardWatcher(reader, seen.on_card, seen.on_lifted, seen.on_error, interval_s=0.05):
        sim.place("elderly")
        assert seen.wait(lambda: len(seen.cards) == 1)
        # Several presence polls later, the card lying there has not been reported again.
        polls = sim.commands.count(Command.READ_NEW_ADDRESS)
        assert sim.wait_for(Command.READ_NEW_ADDRESS, polls + 3)
        assert len(seen.cards) == 1 and seen.lifted == 0
        sim.lift()
        assert seen.wait(lambda: seen.lifted == 1)
        finds = sim.commands.count(Command.FIND_CARD)
        assert sim.wait_for(Command.FIND_CARD, finds + 2)
        assert len(seen.cards) == 1
        sim.place("adult")
        assert seen.wait(lambda: len(seen.cards) == 2)
        assert [c.name for c in seen.cards] == ["测试一", "测试二"]
    assert seen.errors == []


def test_the_watcher_reports_errors_and_keeps_going(sim, reader):
    seen = Events()
    watcher = CardWatcher(reader, seen.on_card, seen.on_lifted, seen.on_error, interval_s=0.05)
    with watcher:
        sim.fault = Fault.SILENT
        assert seen.wait(lambda: len(seen.errors) == 1)
        assert isinstance(seen.errors[0], DeviceTimeout)
        finds = sim.commands.count(Command.FIND_CARD)
        assert sim.wait_for(Command.FIND_CARD, finds + 2)
        assert len(seen.errors) == 1  # a reader that stays silent is reported once
        sim.fault = Fault.NONE
        sim.place("bad_check_digit")
        assert seen.wait(lambda: len(seen.errors) == 2)
        assert isinstance(seen.errors[1], BadCheckDigit)
        polls = sim.commands.count(Command.READ_NEW_ADDRESS)
        assert sim.wait_for(Command.READ_NEW_ADDRESS, polls + 2)
        assert len(seen.errors) == 2  # once per placement, not once per poll
        sim.lift()
        assert seen.wait(lambda: seen.lifted == 1)
        sim.place("adult")
        assert seen.wait(lambda: len(seen.cards) == 1)
        assert watcher.running


def test_the_watcher_tells_a_card_problem_once_per_placement_and_no_fault(sim, reader):
    seen = Events()
    recovered: list[bool] = []
    watcher = CardWatcher(
        reader,
        seen.on_card,
        seen.on_lifted,
        seen.on_error,
        interval_s=0.05,
        on_recovered=lambda: recovered.append(True),
    )
    with watcher:
        sim.read_status = Status.READ_FAILED  # a card the radio cannot read, left lying
        sim.place("adult")
        assert seen.wait(lambda: len(seen.errors) == 1)
        assert isinstance(seen.errors[0], CardNotRead) and seen.errors[0].reason == "read_failed"
        finds = sim.commands.count(Command.FIND_CARD)
        assert sim.wait_for(Command.FIND_CARD, finds + 3)  # "is it still there?"
        assert len(seen.errors) == 1 and sim.commands.count(Command.READ_BASE_MESSAGE) == 1
        sim.lift()
        assert seen.wait(lambda: seen.lifted == 1)
        sim.read_status = None
        sim.fault = Fault.SHORT_READ
        sim.place("adult")
        assert seen.wait(lambda: len(seen.errors) == 2)
        assert isinstance(seen.errors[1], CardNotRead)
        assert seen.errors[1].reason == "reply_truncated"
        sim.fault = Fault.NONE
        sim.lift()
        assert seen.wait(lambda: seen.lifted == 2)
        sim.place("adult")
        assert seen.wait(lambda: len(seen.cards) == 1)
    assert all(isinstance(e, CardProblem) for e in seen.errors)
    assert recovered == []  # never counted as a reader fault, so never "back"


def test_callback_failures_do_not_kill_the_watcher(sim, reader):
    seen = Events()

    def explode(card: IdCard) -> None:
        seen.on_card(card)
        raise RuntimeError("callback bug")

    with CardWatcher(reader, explode, seen.on_lifted, interval_s=0.05) as watcher:
        sim.place("adult")
        assert seen.wait(lambda: len(seen.cards) == 1)
        sim.lift()
        assert seen.wait(lambda: seen.lifted == 1)
        assert watcher.running


def test_the_watcher_stops_promptly_even_mid_timeout(sim):
    slow = IdCardReader(SerialLine(sim.path, timeout_s=5), timeout_s=5, read_timeout_s=5)
    sim.fault = Fault.SILENT
    watcher = CardWatcher(slow, on_card=lambda card: None).start()
    assert sim.wait_for(Command.FIND_CARD)  # the watcher is now waiting for a reply
    started = time.monotonic()
    assert watcher.stop() is True
    assert time.monotonic() - started < 1.0
    assert not watcher.running
    slow.close()


def test_the_watcher_survives_unplug_and_replug(tmp_path: Path):
    # A stable name like /dev/serial/by-id/…: it points at whichever pty is "plugged in".
    link = tmp_path / "idcard-reader"
    first = IdCardReaderSimulator().start()
    second: IdCardReaderSimulator | None = None
    os.symlink(first.path, link)
    r = IdCardReader(SerialLine(str(link), timeout_s=0.3, reopen_after_s=0.05), min_poll_s=0.05)
    seen = Events()
    recovered: list[bool] = []
    watcher = CardWatcher(
        r,
        seen.on_card,
        seen.on_lifted,
        seen.on_error,
        interval_s=0.05,
        on_recovered=lambda: recovered.append(True),
    )
    try:
        watcher.start()
        first.place("adult")
        assert seen.wait(lambda: len(seen.cards) == 1)
        first.stop()  # unplugged: the pty hangs up
        assert seen.wait(lambda: any(isinstance(e, DeviceUnavailable) for e in seen.errors))
        second = IdCardReaderSimulator().start()
        os.unlink(link)
        os.symlink(second.path, link)  # plugged back in, as a new tty
        second.place("elderly")
        assert seen.wait(lambda: len(seen.cards) == 2, timeout_s=5)
        assert seen.cards[1].name == "测试一"
        assert recovered == [True]  # once, when the new reader first answered
        assert watcher.running
    finally:
        assert watcher.stop()
        r.close()
        first.stop()
        if second is not None:
            second.stop()


class FlakyReader(IdCardReader):
    """A reader with a bug below it: the first find raises something untyped."""

    failed = False

    def find_card(self) -> bool:
        if not self.failed:
            self.failed = True
            raise RuntimeError("a bug below the reader")
        return super().find_card()


def test_an_unexpected_exception_is_reported_and_polling_goes_on(sim):
    flaky = FlakyReader(SerialLine(sim.path, timeout_s=0.3), min_poll_s=0.05)
    seen = Events()
    with CardWatcher(flaky, seen.on_card, seen.on_lifted, seen.on_error, interval_s=0.05):
        assert seen.wait(lambda: len(seen.errors) == 1)
        assert "RuntimeError" in str(seen.errors[0])
        sim.place("adult")
        assert seen.wait(lambda: len(seen.cards) == 1)
    flaky.close()
