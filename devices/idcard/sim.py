"""A simulated resident ID card reader on a pty, with synthetic cards of invented people.

It answers the SDT commands byte for byte as PROTOCOLS.md describes them (reset SAM, SAM
status, SAM id, find, select, read base message, read new address); `place(card)` and
`lift()` move a card on and off; `fault` switches to a broken reader at run time (silent,
garbage, corrupt checksum) or breaks only the card read's reply (corrupt, cut short), and
`read_status` makes the card fail its read with a status (0x41 read failed, 0x80 lifted).
Like a real reader, a card that has been read is not found again until it is lifted and
placed again, while "read new address" keeps answering as long as it lies on the reader.

Run it by hand: `python -m devices.idcard.sim [CARD]` prints its `sdt+serial://` URL and
takes commands on stdin: `place NAME`, `lift`, `fault KIND` (a `Fault` value), `quit`.

Every card here is synthetic: invented names and addresses; ID numbers are well-formed
(valid check digits, except where a card is broken on purpose) but belong to nobody.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import random
import sys
import threading
from typing import Literal

from devices.idcard.card import BASE_MESSAGE_HEADER, LONG_TERM, PHOTO_LEN, TEXT_LEN, id_check_digit
from devices.idcard.frames import Command, Request, RequestReader, Status, build_reply
from devices.sim.base import PtyDevice

SAM_ID = bytes.fromhex("0500 0100 7a2d3401 39300000 d2029649")  # invented module number
NEW_ADDRESS_LEN = 70


class Fault(enum.Enum):
    NONE = "none"
    SILENT = "silent"  # unplugged data wire / dead reader: no answer at all
    GARBAGE = "garbage"  # wrong baud rate or a noisy line: random bytes
    CORRUPT = "corrupt"  # well-formed replies with a wrong checksum
    # Only "read base message" breaks, as when a card moves during the radio exchange.
    CORRUPT_READ = "corrupt-read"  # its reply has a wrong checksum
    SHORT_READ = "short-read"  # its reply stops halfway


# --------------------------------------------------------------- synthetic cards
def _ucs2(text: str, chars: int, what: str) -> bytes:
    if len(text) > chars:
        raise ValueError(f"{what} is longer than {chars} characters")
    if any(ord(c) > 0xFFFF for c in text):
        raise ValueError(f"{what} has a character outside UCS-2 (the card cannot hold it)")
    return text.ljust(chars).encode("utf-16-le")


def synthetic_id_number(
    birth_date: dt.date, *, region: str = "110101", sequence: int = 1, gender: int = 1
) -> str:
    """A well-formed ID number: region, birth date, sequence (odd male, even female), check."""
    if not (len(region) == 6 and region.isdigit() and region[0] in "12345678"):
        raise ValueError("region must be six digits starting 1–8")
    seq = sequence * 2 + (1 if gender == 1 else 0)  # 17th digit parity carries the gender
    first17 = f"{region}{birth_date:%Y%m%d}{seq % 1000:03d}"
    return first17 + id_check_digit(first17)


def synthetic_card(
    name: str,
    birth_date: dt.date,
    *,
    gender: int = 1,
    ethnicity: int = 1,
    address: str = "测试省样例市虚构区演示路1号",
    authority: str = "样例市公安局虚构分局",
    valid_from: dt.date | None = None,
    valid_to: dt.date | Literal["auto"] | None = "auto",
    region: str = "110101",
    sequence: int = 1,
    id_number: str | None = None,
    wrong_check_digit: bool = False,
) -> bytes:
    """The 256-byte text block of an invented person's resident ID card.

    `valid_to=None` gives a 长期 card; "auto" gives the legal term from `valid_from`
    (10 years under 26, 20 years under 46, 长期 after). `wrong_check_digit` keeps
    everything else valid but breaks the ID number's last character.
    """
    number = id_number or synthetic_id_number(
        birth_date, region=region, sequence=sequence, gender=gender
    )
    if wrong_check_digit:
        number = number[:17] + ("0" if number[17] != "0" else "1")
    if valid_from is None:
        valid_from = dt.date(2016, 5, 1)
    if valid_to == "auto":
        age = valid_from.year - birth_date.year
        years = 10 if age < 26 else 20 if age < 46 else None
        valid_to = None if years is None else valid_from.replace(year=valid_from.year + years)
    to_text = LONG_TERM if valid_to is None else f"{valid_to:%Y%m%d}"
    block = b"".join(
        [
            _ucs2(name, 15, "name"),
            _ucs2(str(gender), 1, "gender"),
            _ucs2(f"{ethnicity:02d}", 2, "ethnicity"),
            _ucs2(f"{birth_date:%Y%m%d}", 8, "birth date"),
            _ucs2(address, 35, "address"),
            _ucs2(number, 18, "ID number"),
            _ucs2(authority, 15, "authority"),
            _ucs2(f"{valid_from:%Y%m%d}", 8, "valid from"),
            _ucs2(to_text, 8, "valid to"),
            _ucs2("", 18, "reserved"),
        ]
    )
    assert len(block) == TEXT_LEN
    return block


def synthetic_foreigner_card(
    english_name: str = "TEST, FOREIGNER ONE",
    *,
    number: str = "ZZZ310085010101",
    chinese_name: str = "测试外籍",
    birth_date: dt.date = dt.date(1985, 1, 1),
) -> bytes:
    """A 2017-layout foreigner permanent residence card (invented person).

    Layout: English name 0–119, gender 120–121, number 122–151, nationality 152–157,
    Chinese name 158–187, valid from/to 188–219, birth date 220–235, version 236–239,
    authority code 240–247, card type "I" 248–249.
    """
    block = b"".join(
        [
            _ucs2(english_name, 60, "English name"),
            _ucs2("1", 1, "gender"),
            _ucs2(number, 15, "number"),
            _ucs2(number[:3], 3, "nationality"),
            _ucs2(chinese_name, 15, "Chinese name"),
            _ucs2("20170615", 8, "valid from"),
            _ucs2("20270615", 8, "valid to"),
            _ucs2(f"{birth_date:%Y%m%d}", 8, "birth date"),
            _ucs2("01", 2, "version"),
            _ucs2("1500", 4, "authority"),
            _ucs2("I", 1, "card type"),
            _ucs2("", 3, "reserved"),
        ]
    )
    assert len(block) == TEXT_LEN
    return block


def synthetic_photo(text_block: bytes) -> bytes:
    """1024 opaque bytes standing in for the licensed photo format (never decoded)."""
    seed = hashlib.sha256(text_block).digest()
    return (b"SYNTHETIC-PHOTO:" + seed * 40)[:PHOTO_LEN]


SYNTHETIC_CARDS: dict[str, bytes] = {
    # 测试一: born 1950, male — elderly priority; 长期 card.
    "elderly": synthetic_card("测试一", dt.date(1950, 3, 15), valid_to=None, sequence=12),
    # 测试二: born 1990, female; 20-year card.
    "adult": synthetic_card(
        "测试二",
        dt.date(1990, 7, 1),
        gender=2,
        region="310104",
        sequence=34,
        valid_from=dt.date(2016, 5, 1),
        valid_to=dt.date(2036, 5, 1),
    ),
    # A name with a CJK Extension A character (U+4DAE), as rare-character names have.
    "rare_name": synthetic_card(
        "测\u4dae试",
        dt.date(2001, 11, 30),
        region="440106",
        sequence=7,
        valid_from=dt.date(2021, 3, 1),
        valid_to=dt.date(2031, 3, 1),
    ),
    # A minority name with the middle dot, ethnicity 05 (维吾尔).
    "minority": synthetic_card(
        "测试·阿依", dt.date(1978, 2, 28), gender=2, ethnicity=5, region="650102", sequence=21
    ),
    "expired": synthetic_card(
        "测试四",
        dt.date(1980, 6, 6),
        valid_from=dt.date(2000, 1, 1),
        valid_to=dt.date(2020, 1, 1),
        region="320102",
        sequence=45,
    ),
    "bad_check_digit": synthetic_card(
        "测试五", dt.date(1995, 9, 9), region="500103", sequence=3, wrong_check_digit=True
    ),
    "foreigner": synthetic_foreigner_card(),
}


# --------------------------------------------------------------- the device
class IdCardReaderSimulator(PtyDevice):
    """An SDT reader at the far end of a pty; the host opens `url`."""

    name = "idcard"

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self._requests = RequestReader()
        self._rng = random.Random(seed)
        self.fault = Fault.NONE
        self.sam_ok = True
        # The status a placed card's read answers with instead of success (None: it reads).
        self.read_status: Status | None = None
        self.card: bytes | None = None
        self.photo = b""
        self.new_address = ""
        self._found = False
        self._selected = False
        self._used = False  # read already: not found again until lifted
        self.commands: list[Command | None] = []  # what the host asked, for assertions
        self._heard = threading.Condition(self.lock)

    @property
    def url(self) -> str:
        return f"sdt+serial://{self.path}"

    def wait_for(self, command: Command, count: int = 1, timeout_s: float = 3.0) -> bool:
        """Block until the host has sent `command` `count` times in all (tests use this)."""
        with self._heard:
            return self._heard.wait_for(lambda: self.commands.count(command) >= count, timeout_s)

    # --------------------------------------------------------- the card field
    def place(
        self, card: bytes | str, *, photo: bytes | None = None, new_address: str = ""
    ) -> None:
        """Put a card on the reader: a text block, or a SYNTHETIC_CARDS name."""
        block = SYNTHETIC_CARDS[card] if isinstance(card, str) else card
        with self.lock:
            self.card = block
            self.photo = synthetic_photo(block) if photo is None else photo
            self.new_address = new_address
            self._found = self._selected = self._used = False

    def lift(self) -> None:
        with self.lock:
            self.card = None
            self._found = self._selected = self._used = False

    # --------------------------------------------------------------- protocol
    def handle(self, data: bytes) -> bytes:
        with self.lock:  # also called directly by tests, outside the serving thread
            # Requests are heard (and recorded) in every fault mode; only the answer breaks.
            errors_before = self._requests.error_count
            replies = [
                self._damaged(request, self._answer(request))
                for request in self._requests.feed(data)
            ]
            if self._requests.error_count > errors_before:
                replies.append(build_reply(Status.CHECKSUM_ERROR))
            if self.fault is Fault.SILENT:
                return b""
            if self.fault is Fault.GARBAGE:
                return self._rng.randbytes(self._rng.randint(8, 64))
            out = b"".join(replies)
            if self.fault is Fault.CORRUPT and out:
                out = out[:-1] + bytes([out[-1] ^ 0x5A])
            return out

    def _damaged(self, request: Request, reply: bytes) -> bytes:
        if request.command is not Command.READ_BASE_MESSAGE:
            return reply
        if self.fault is Fault.CORRUPT_READ:
            return reply[:-1] + bytes([reply[-1] ^ 0x5A])
        if self.fault is Fault.SHORT_READ:
            return reply[: len(reply) // 2]
        return reply

    def _answer(self, request: Request) -> bytes:
        command = request.command
        self.commands.append(command)
        self._heard.notify_all()
        if command is None:
            return build_reply(Status.BAD_COMMAND)
        if command is Command.RESET_SAM:
            return build_reply(Status.SUCCESS if self.sam_ok else Status.SAM_SELF_TEST_FAILED)
        if command is Command.SAM_STATUS:
            return build_reply(Status.SUCCESS if self.sam_ok else Status.SAM_SELF_TEST_FAILED)
        if command is Command.SAM_ID:
            if not self.sam_ok:
                return build_reply(Status.SAM_SELF_TEST_FAILED)
            return build_reply(Status.SUCCESS, SAM_ID)
        if command is Command.FIND_CARD:
            if self.card is None or self._used:
                return build_reply(Status.NO_CARD)
            self._found = True
            return build_reply(Status.CARD_FOUND, bytes(4))
        if command is Command.SELECT_CARD:
            if self.card is None or not self._found or self._used:
                return build_reply(Status.SELECT_FAILED)
            self._selected = True
            return build_reply(Status.SUCCESS, bytes(8))
        if command is Command.READ_BASE_MESSAGE:
            if self.card is None or not self._selected:
                return build_reply(Status.READ_FAILED)
            if self.read_status is not None:
                return build_reply(self.read_status)  # not read, so still found next time
            self._used = True
            photo = self.photo.ljust(PHOTO_LEN, b"\x00")[:PHOTO_LEN]
            return build_reply(Status.SUCCESS, BASE_MESSAGE_HEADER + self.card + photo)
        # READ_NEW_ADDRESS
        if self.card is None or not self._selected:
            return build_reply(Status.READ_FAILED)
        text = self.new_address.ljust(NEW_ADDRESS_LEN // 2).encode("utf-16-le")
        return build_reply(Status.SUCCESS, text[:NEW_ADDRESS_LEN])


def main(argv: list[str] | None = None) -> int:
    """Run a simulator by hand; see the module docstring."""
    args = sys.argv[1:] if argv is None else argv
    sim = IdCardReaderSimulator()
    sim.start()
    if args:
        sim.place(args[0])
    print(sim.url, flush=True)
    print(f"cards: {', '.join(SYNTHETIC_CARDS)}", flush=True)
    try:
        for line in sys.stdin:
            verb, _, arg = line.strip().partition(" ")
            if verb == "place" and arg in SYNTHETIC_CARDS:
                sim.place(arg)
            elif verb == "lift":
                sim.lift()
            elif verb == "fault" and arg in {f.value for f in Fault}:
                sim.fault = Fault(arg)
            elif verb == "quit":
                break
            elif verb:
                faults = "|".join(f.value for f in Fault)
                print(f"commands: place NAME | lift | fault {faults} | quit")
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
