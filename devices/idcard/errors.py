"""Typed errors of the ID card reader layer; messages never carry a card's personal data."""

from __future__ import annotations

import datetime as dt

from devices.errors import DeviceError, ProtocolError


class IdCardError(DeviceError):
    """Anything the ID card layer could not do; callers degrade on this family."""


class ReplyError(IdCardError, ProtocolError):
    """The reader sent bytes that are not a valid SDT reply (garbage, bad checksum)."""


class ReaderStatusError(IdCardError):
    """The reader answered correctly but reported a failure status (e.g. 41 read failed)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class CardDataError(IdCardError, ProtocolError):
    """The card's data cannot be trusted: it is cut short or does not follow the layout."""


class TruncatedCardData(CardDataError):
    """Fewer bytes than the layout needs."""


class MalformedCardText(CardDataError):
    """The text block does not follow the resident ID card layout."""


class BadIdNumber(MalformedCardText):
    """The ID number is not 17 digits + check character, or disagrees with the birth date."""


class BadCheckDigit(BadIdNumber):
    """The ID number's ISO 7064 MOD 11-2 check character is wrong."""


class ForeignerCard(IdCardError):
    """A foreigner's permanent residence card: its layout differs, so it is not parsed."""


class CardExpired(IdCardError):
    """The card's validity period has ended."""

    def __init__(self, message: str, valid_to: dt.date) -> None:
        super().__init__(message)
        self.valid_to = valid_to
