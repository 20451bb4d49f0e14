"""Typed errors of the ID card reader layer; messages never carry a card's personal data.

Two families decide what a caller does:

* `CardProblem` — the card on the reader could not be used (read failed, lifted mid-read,
  a damaged reply while reading it, bad data, expired, a foreigner's card). The customer is
  told; the reader is healthy and nothing goes to the server's device health.
  `retryable` says whether placing the card again can help.
* `ReaderFault` (a `DeviceFault`, like `DeviceUnavailable` and `DeviceTimeout`) — the reader
  itself or its line failed (SAM self-test, refused command, unreadable replies while no card
  is being read). This is device health.

Every class carries a stable `code` for logs and reports.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from devices.errors import DeviceError, DeviceFault, ProtocolError


class IdCardError(DeviceError):
    """Anything the ID card layer could not do; callers degrade on this family."""

    code: ClassVar[str] = "idcard_error"


# ------------------------------------------------------------- the reader's fault
class ReaderFault(IdCardError, DeviceFault):
    """The reader or its line is not doing its job: report it as device health."""

    code: ClassVar[str] = "reader_fault"


class ReplyError(ReaderFault, ProtocolError):
    """The reader sent bytes that are not a valid SDT reply (garbage, wrong line speed)."""

    code: ClassVar[str] = "reply_garbled"


class ReplyChecksumError(ReplyError):
    """A whole reply arrived, but its checksum does not match."""

    code: ClassVar[str] = "reply_checksum"


class TruncatedReply(ReplyError):
    """A reply started (its header announced a length) and stopped before its end."""

    code: ClassVar[str] = "reply_truncated"

    def __init__(self, message: str, announced: int, received: int) -> None:
        super().__init__(message)
        self.announced = announced  # bytes of the whole frame, as its LEN announced
        self.received = received


class ReaderStatusError(ReaderFault):
    """The reader answered correctly but reported its own failure (SAM, bad command)."""

    code: ClassVar[str] = "reader_status"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------ the card's
class CardProblem(IdCardError):
    """The card on the reader could not be used: tell the customer, the reader is fine."""

    code: ClassVar[str] = "card_problem"
    retryable: ClassVar[bool] = False  # would placing the same card again help?


class CardNotRead(CardProblem):
    """The card did not get read this time: the radio failed, it moved, or its reply broke.

    `reason` is the stable code of what happened (`read_failed`, `no_card`,
    `reply_checksum`, `reply_truncated`, …); the damaged reply, if any, is `__cause__`.
    """

    code: ClassVar[str] = "card_not_read"
    retryable: ClassVar[bool] = True

    def __init__(self, message: str, reason: str, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


class WrongCardType(CardProblem):
    """The reader found a card that is not a resident ID card (status 40)."""

    code: ClassVar[str] = "wrong_card_type"


class CardDataError(CardProblem, ProtocolError):
    """The card's data cannot be trusted: it is cut short or does not follow the layout."""

    code: ClassVar[str] = "card_data"


class TruncatedCardData(CardDataError):
    """Fewer bytes than the layout needs."""

    code: ClassVar[str] = "card_data_truncated"


class MalformedCardText(CardDataError):
    """The text block does not follow the resident ID card layout."""

    code: ClassVar[str] = "card_text_malformed"


class BadIdNumber(MalformedCardText):
    """The ID number is not 17 digits + check character, or disagrees with the birth date."""

    code: ClassVar[str] = "bad_id_number"


class BadCheckDigit(BadIdNumber):
    """The ID number's ISO 7064 MOD 11-2 check character is wrong."""

    code: ClassVar[str] = "bad_check_digit"


class ForeignerCard(CardProblem):
    """A foreigner's permanent residence card: its layout differs, so it is not parsed."""

    code: ClassVar[str] = "foreigner_card"


class CardExpired(CardProblem):
    """The card's validity period has ended."""

    code: ClassVar[str] = "card_expired"

    def __init__(self, message: str, valid_to: dt.date) -> None:
        super().__init__(message)
        self.valid_to = valid_to
