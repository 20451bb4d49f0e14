"""Identifying a customer: ID number checks, age, the keyed reference and the priority earned.

The plain ID number only passes through these functions; what the branch keeps is the
keyed hash (`customer_ref`). Nothing here logs, and no error message quotes a number.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

from queue_server.domain.errors import InvalidInput
from queue_server.domain.model import PriorityClass
from wire.id_number import BadIdNumber, canonical_id_number
from wire.id_number import id_check_char as id_check_char  # its old home, still imported

MIN_KEY_BYTES = 16
MAX_AGE = 150
VIP_TIERS = (1, 2, 3)


def normalise_id_number(number: str, birth_date: date | None = None) -> str:
    """The number in canonical form (upper-case X), or InvalidInput `bad_id_number`.

    Checks the shape (region digit 1–8, 16 digits, check character), the birth date written
    inside it (a real date, equal to `birth_date` when given) and the check character.
    """
    try:
        canonical, embedded = canonical_id_number(number)
    except BadIdNumber as exc:
        raise InvalidInput(str(exc), code="bad_id_number") from None
    if birth_date is not None and embedded != birth_date:
        raise InvalidInput(
            "the birth date differs from the one in the ID number", code="bad_id_number"
        )
    return canonical


def is_valid_id_number(number: str) -> bool:
    try:
        normalise_id_number(number)
    except InvalidInput:
        return False
    return True


def customer_ref(key: bytes, id_number: str) -> str:
    """HMAC-SHA256 of the canonical ID number under the branch's secret key, as hex.

    ID numbers are few enough to enumerate, so only a long secret key keeps the reference
    from being reversed; a plain or public-salted hash would not.
    """
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"customer_ref needs a secret key of at least {MIN_KEY_BYTES} bytes")
    return hmac.new(key, id_number.encode("ascii"), hashlib.sha256).hexdigest()


def age_on(birth_date: date, day: date) -> int:
    """Completed years on `day` (someone born on 29 February ages on 1 March)."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


@dataclass(frozen=True, slots=True)
class Identification:
    """What identifying a customer earned them; the ID number itself is not kept."""

    customer_ref: str
    age: int
    vip_tier: int  # 0: not on the bank's VIP list
    priority: PriorityClass  # REGULAR, CARE or VIP


def identify(
    customer_ref: str, birth_date: date, business_day: date, vip_tier: int, care_age: int
) -> Identification:
    """Age on the business day and the priority class it and the VIP tier give.

    A VIP who is also elderly queues as VIP: a VIP tier's head start is at least care's.
    """
    age = age_on(birth_date, business_day)
    if not 0 <= age <= MAX_AGE:
        raise InvalidInput("birth date is not plausible", code="bad_birth_date")
    if vip_tier not in (0, *VIP_TIERS):
        raise ValueError("VIP tier must be 0 to 3")
    if vip_tier:
        priority = PriorityClass.VIP
    elif age >= care_age:
        priority = PriorityClass.CARE
    else:
        priority = PriorityClass.REGULAR
    return Identification(customer_ref, age, vip_tier, priority)


_RANK = {
    PriorityClass.REGULAR: 0,
    PriorityClass.CARE: 1,
    PriorityClass.VIP: 2,
    PriorityClass.APPOINTMENT: 3,
}


def stronger_priority(
    declared: PriorityClass, declared_tier: int, identified: PriorityClass, identified_tier: int
) -> tuple[PriorityClass, int]:
    """The stronger of a declared and an identified priority, with its VIP tier.

    Appointment > VIP (higher tier first) > care > regular: the order of the default
    policy's head starts. A declared appointment is kept as it is, since its boost is tied
    to its slot.
    """
    a = (_RANK[declared], declared_tier if declared is PriorityClass.VIP else 0)
    b = (_RANK[identified], identified_tier if identified is PriorityClass.VIP else 0)
    if a >= b:
        return declared, a[1]
    return identified, b[1]
