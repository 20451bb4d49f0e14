"""The resident ID card as read from the chip: text block parsing, ID number checks, masking.

The 256-byte text block is UCS-2 little endian, each field space padded (byte offsets):

    name 0–29 · gender 30–31 · ethnicity 32–35 · birth date 36–51 · address 52–121 ·
    ID number 122–157 · issuing authority 158–187 · valid from 188–203 ·
    valid to 204–219 (a date or 长期) · reserved 220–255

Foreigner permanent residence cards share the 256-byte size but not the layout. They are
recognised, before any field is decoded, by any of:

1. the card-type character at bytes 248–249 is "I" (the flag foreigner cards carry there;
   resident ID cards leave it blank, Hong Kong/Macau/Taiwan residence permits use "J" and
   otherwise follow the resident layout, so they are accepted);
2. bytes 122–151 hold a 2017-style foreigner number: three capital letters + 12 digits;
3. the 18-character number slot starts with "9" — 2023-style foreigner numbers do, while
   resident numbers start with a region code 1–8.

Personal data: `repr`/`str` show only masked forms, error messages never quote a field,
and the photo stays opaque bytes (a licensed format: never decoded or stored).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import re
from dataclasses import dataclass, field

from devices.idcard.errors import (
    BadCheckDigit,
    BadIdNumber,
    ForeignerCard,
    MalformedCardText,
    TruncatedCardData,
)

TEXT_LEN = 256
PHOTO_LEN = 1024
# `01 00 04 00` before the text in a "read base message" reply: text and photo lengths.
BASE_MESSAGE_HEADER = TEXT_LEN.to_bytes(2, "big") + PHOTO_LEN.to_bytes(2, "big")
LONG_TERM = "长期"

# (start, end) byte offsets in the text block.
NAME = (0, 30)
GENDER = (30, 32)
ETHNICITY = (32, 36)
BIRTH_DATE = (36, 52)
ADDRESS = (52, 122)
ID_NUMBER = (122, 158)
AUTHORITY = (158, 188)
VALID_FROM = (188, 204)
VALID_TO = (204, 220)
CARD_TYPE = (248, 250)
FOREIGNER_NUMBER_2017 = (122, 152)

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)
_ID_PATTERN = re.compile(r"[1-8][0-9]{16}[0-9X]")
_FOREIGNER_2017_PATTERN = re.compile(r"[A-Z]{3}[0-9]{12}")
_DIGITS8 = re.compile(r"[0-9]{8}")
MIN_SALT_BYTES = 16


class Gender(enum.IntEnum):
    MALE = 1
    FEMALE = 2

    @property
    def label(self) -> str:
        return "男" if self is Gender.MALE else "女"


# GB/T 3304 codes; 97 and 98 are issued too, so a real card with them must not be refused.
ETHNICITIES: dict[int, str] = {
    1: "汉", 2: "蒙古", 3: "回", 4: "藏", 5: "维吾尔", 6: "苗", 7: "彝", 8: "壮",
    9: "布依", 10: "朝鲜", 11: "满", 12: "侗", 13: "瑶", 14: "白", 15: "土家",
    16: "哈尼", 17: "哈萨克", 18: "傣", 19: "黎", 20: "傈僳", 21: "佤", 22: "畲",
    23: "高山", 24: "拉祜", 25: "水", 26: "东乡", 27: "纳西", 28: "景颇",
    29: "柯尔克孜", 30: "土", 31: "达斡尔", 32: "仫佬", 33: "羌", 34: "布朗",
    35: "撒拉", 36: "毛南", 37: "仡佬", 38: "锡伯", 39: "阿昌", 40: "普米",
    41: "塔吉克", 42: "怒", 43: "乌孜别克", 44: "俄罗斯", 45: "鄂温克", 46: "德昂",
    47: "保安", 48: "裕固", 49: "京", 50: "塔塔尔", 51: "独龙", 52: "鄂伦春",
    53: "赫哲", 54: "门巴", 55: "珞巴", 56: "基诺",
    97: "其他", 98: "外国血统中国籍人士",
}  # fmt: skip


# ------------------------------------------------------------------ ID number
def id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise BadIdNumber("an ID number starts with 17 digits")
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def verify_id_number(number: str, birth_date: dt.date | None = None) -> None:
    """Raise BadIdNumber / BadCheckDigit unless `number` is a well-formed resident ID.

    Checks the shape (region digit 1–8, 16 digits, check character), the birth date
    inside it (a real date, equal to `birth_date` when given) and the check character.
    """
    if not _ID_PATTERN.fullmatch(number):
        raise BadIdNumber("ID number is not 18 characters of region, digits and check")
    try:
        embedded = _parse_date(number[6:14])
    except ValueError:
        raise BadIdNumber("ID number does not contain a valid birth date") from None
    if birth_date is not None and embedded != birth_date:
        raise BadIdNumber("birth date in the ID number differs from the birth date field")
    if id_check_digit(number[:17]) != number[17]:
        raise BadCheckDigit("ID number check digit does not match (ISO 7064 MOD 11-2)")


def is_valid_id_number(number: str) -> bool:
    try:
        verify_id_number(number)
    except BadIdNumber:
        return False
    return True


def _parse_date(text: str) -> dt.date:
    if not _DIGITS8.fullmatch(text):
        raise ValueError("not YYYYMMDD")
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


# ------------------------------------------------------------------- the card
def mask_name(name: str) -> str:
    """张三丰 → 张*丰, 张三 → 张*, 欧阳娜娜 → 欧**娜; a single character is fully masked."""
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_number(number: str) -> str:
    """First 4 and last 4 characters kept: 1101**********1234."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


@dataclass(frozen=True, repr=False)
class IdCard:
    """One resident ID card. Personal data: never log the fields; repr is masked."""

    name: str
    gender: Gender
    ethnicity_code: int
    birth_date: dt.date
    address: str
    id_number: str
    authority: str
    valid_from: dt.date
    valid_to: dt.date | None  # None: 长期 (no expiry)
    photo: bytes = field(default=b"", compare=False)  # opaque, never decoded

    @property
    def ethnicity(self) -> str:
        return ETHNICITIES.get(self.ethnicity_code, f"未知（{self.ethnicity_code:02d}）")

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    def age_on(self, day: dt.date) -> int:
        """Completed years on `day` (someone born on 29 February ages on 1 March)."""
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - int(before_birthday)

    def expired(self, today: dt.date) -> bool:
        """True once `today` is after the last valid day; 长期 cards never expire."""
        return self.valid_to is not None and today > self.valid_to

    def customer_ref(self, salt: bytes) -> str:
        """HMAC-SHA256 of the ID number, hex: match a returning customer without the number.

        The salt is the branch's secret: ID numbers are few enough to enumerate, so a
        short or public salt would make the reference reversible.
        """
        if len(salt) < MIN_SALT_BYTES:
            raise ValueError(f"customer_ref needs a secret salt of at least {MIN_SALT_BYTES} bytes")
        return hmac.new(salt, self.id_number.encode("ascii"), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        valid_to = "长期" if self.valid_to is None else self.valid_to.isoformat()
        return f"IdCard(id={self.masked_id}, name={self.masked_name}, valid_to={valid_to})"

    __str__ = __repr__


# ------------------------------------------------------------------- parsing
def _field(block: bytes, span: tuple[int, int], what: str) -> str:
    try:
        text = block[span[0] : span[1]].decode("utf-16-le")
    except UnicodeDecodeError:
        raise MalformedCardText(f"{what} field is not UCS-2 text") from None
    text = text.rstrip(" ")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text):
        raise MalformedCardText(f"{what} field contains control characters")
    return text


def _date_field(block: bytes, span: tuple[int, int], what: str) -> dt.date:
    try:
        return _parse_date(_field(block, span, what))
    except ValueError:
        raise MalformedCardText(f"{what} field is not a date (YYYYMMDD)") from None


def _raw_text(block: bytes, span: tuple[int, int]) -> str:
    """Lenient decode for sniffing the layout; never raises."""
    return block[span[0] : span[1]].decode("utf-16-le", errors="replace").rstrip(" ")


def is_foreigner_block(block: bytes) -> bool:
    """True when the text block is a foreigner permanent residence card (rules above)."""
    if _raw_text(block, CARD_TYPE) == "I":
        return True
    if _FOREIGNER_2017_PATTERN.fullmatch(_raw_text(block, FOREIGNER_NUMBER_2017)):
        return True
    number = _raw_text(block, ID_NUMBER)
    return len(number) == 18 and number.startswith("9")


def parse_text_block(block: bytes, photo: bytes = b"") -> IdCard:
    """Parse and check a 256-byte text block; raises only IdCardError subclasses."""
    if len(block) < TEXT_LEN:
        raise TruncatedCardData(f"text block has {len(block)} bytes, expected {TEXT_LEN}")
    if len(block) > TEXT_LEN:
        raise MalformedCardText(f"text block has {len(block)} bytes, expected {TEXT_LEN}")
    if is_foreigner_block(block):
        raise ForeignerCard("foreigner permanent residence card: not a resident ID card, not read")
    name = _field(block, NAME, "name")
    if not name:
        raise MalformedCardText("name field is empty")
    gender_text = _field(block, GENDER, "gender")
    if gender_text not in ("1", "2"):
        raise MalformedCardText("gender field is not 1 (male) or 2 (female)")
    ethnicity_text = _field(block, ETHNICITY, "ethnicity")
    if not (len(ethnicity_text) == 2 and ethnicity_text.isascii() and ethnicity_text.isdigit()):
        raise MalformedCardText("ethnicity field is not a two-digit code")
    ethnicity_code = int(ethnicity_text)
    if ethnicity_code not in ETHNICITIES:
        raise MalformedCardText(f"ethnicity code {ethnicity_code:02d} is not in GB/T 3304")
    birth_date = _date_field(block, BIRTH_DATE, "birth date")
    address = _field(block, ADDRESS, "address")
    if not address:
        raise MalformedCardText("address field is empty")
    id_number = _field(block, ID_NUMBER, "ID number")
    verify_id_number(id_number, birth_date)
    authority = _field(block, AUTHORITY, "issuing authority")
    if not authority:
        raise MalformedCardText("issuing authority field is empty")
    valid_from = _date_field(block, VALID_FROM, "valid-from")
    valid_to: dt.date | None = None
    if _field(block, VALID_TO, "valid-to") != LONG_TERM:
        valid_to = _date_field(block, VALID_TO, "valid-to")
        if valid_to < valid_from:
            raise MalformedCardText("validity period ends before it starts")
    return IdCard(
        name=name,
        gender=Gender(int(gender_text)),
        ethnicity_code=ethnicity_code,
        birth_date=birth_date,
        address=address,
        id_number=id_number,
        authority=authority,
        valid_from=valid_from,
        valid_to=valid_to,
        photo=photo,
    )


def parse_base_message(data: bytes) -> IdCard:
    """Parse the data of a "read base message" reply: `01 00 04 00`, text, photo."""
    if len(data) < 4:
        raise TruncatedCardData(f"base message has {len(data)} bytes, no length header")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    if text_len != TEXT_LEN:
        raise MalformedCardText(f"base message announces {text_len} text bytes, not {TEXT_LEN}")
    if len(data) < 4 + text_len + photo_len:
        raise TruncatedCardData(
            f"base message has {len(data)} bytes, header announces {4 + text_len + photo_len}"
        )
    text = data[4 : 4 + text_len]
    photo = data[4 + text_len : 4 + text_len + photo_len]
    return parse_text_block(text, photo)
