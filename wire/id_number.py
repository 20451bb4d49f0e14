"""Resident ID numbers (GB 11643): the checks and canonical form the branch and the centre share.

The branch identifies a scanned card and the centre imports the bank's VIP list; both must
turn the same number into the same text before hashing it, or a listed customer is missed.
"""

from __future__ import annotations

import re
from datetime import date

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11), ISO 7064 MOD 11-2
_ID_SHAPE = re.compile(r"[1-8][0-9]{16}[0-9X]")


class BadIdNumber(ValueError):
    """Why a number is not a resident ID number; the message never quotes the number."""

    code = "bad_id_number"


def id_check_char(first17: str) -> str:
    """The check character for the first 17 digits of a resident ID number."""
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def canonical_id_number(number: str) -> tuple[str, date]:
    """The number in canonical form (upper-case X) and the birth date written in it.

    Checks the shape (region digit 1–8, 16 digits, check character), that the birth date
    is a real date, and the check character; BadIdNumber otherwise.
    """
    canonical = number.strip().upper()
    if not canonical.isascii() or not _ID_SHAPE.fullmatch(canonical):
        raise BadIdNumber("ID number must be 18 characters: 17 digits and a check digit or X")
    try:
        embedded = date(int(canonical[6:10]), int(canonical[10:12]), int(canonical[12:14]))
    except ValueError:
        raise BadIdNumber("ID number does not contain a valid birth date") from None
    if id_check_char(canonical[:17]) != canonical[17]:
        raise BadIdNumber("ID number check digit does not match")
    return canonical, embedded
