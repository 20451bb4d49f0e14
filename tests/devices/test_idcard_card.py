"""The ID card text block, ID number checks, masking and hashing, on synthetic cards only."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.errors import DeviceError, ProtocolError
from devices.idcard import (
    ETHNICITIES,
    BadCheckDigit,
    BadIdNumber,
    CardDataError,
    ForeignerCard,
    Gender,
    IdCard,
    IdCardError,
    MalformedCardText,
    TruncatedCardData,
    id_check_digit,
    is_valid_id_number,
    mask_id_number,
    mask_name,
    parse_base_message,
    parse_text_block,
    verify_id_number,
)
from devices.idcard.card import BASE_MESSAGE_HEADER, ID_NUMBER, NAME, TEXT_LEN
from devices.idcard.sim import (
    SYNTHETIC_CARDS,
    synthetic_card,
    synthetic_foreigner_card,
    synthetic_id_number,
    synthetic_photo,
)

SALT = b"branch-secret-salt-0123456789"
TODAY = dt.date(2026, 11, 27)


def card(name: str) -> IdCard:
    return parse_text_block(SYNTHETIC_CARDS[name], synthetic_photo(SYNTHETIC_CARDS[name]))


# ------------------------------------------------------------------- layout
def test_the_elderly_card_parses_field_by_field():
    c = card("elderly")
    assert c.name == "测试一"
    assert c.gender is Gender.MALE and c.gender.label == "男"
    assert (c.ethnicity_code, c.ethnicity) == (1, "汉")
    assert c.birth_date == dt.date(1950, 3, 15)
    assert c.address == "测试省样例市虚构区演示路1号"
    assert c.id_number == synthetic_id_number(dt.date(1950, 3, 15), sequence=12)
    assert c.authority == "样例市公安局虚构分局"
    assert c.valid_from == dt.date(2016, 5, 1)
    assert c.valid_to is None  # 长期
    assert len(c.photo) == 1024 and c.photo.startswith(b"SYNTHETIC-PHOTO:")
    assert c.age_on(TODAY) == 76


def test_other_synthetic_cards():
    adult = card("adult")
    assert adult.gender is Gender.FEMALE and adult.valid_to == dt.date(2036, 5, 1)
    assert adult.id_number.startswith("310104") and int(adult.id_number[16]) % 2 == 0
    assert card("rare_name").name == "测\u4dae试"  # CJK Extension A survives UCS-2
    minority = card("minority")
    assert (minority.name, minority.ethnicity) == ("测试·阿依", "维吾尔")


def test_the_text_block_offsets_match_protocols_md():
    block = SYNTHETIC_CARDS["adult"]
    assert len(block) == TEXT_LEN == 256
    assert block[30:32].decode("utf-16-le") == "2"
    assert block[32:36].decode("utf-16-le") == "01"
    assert block[36:52].decode("utf-16-le") == "19900701"
    assert block[188:204].decode("utf-16-le") == "20160501"
    assert block[204:220].decode("utf-16-le") == "20360501"
    assert block[220:256] == " ".encode("utf-16-le") * 18
    elderly = SYNTHETIC_CARDS["elderly"]
    assert elderly[204:220].decode("utf-16-le") == "长期      "


def test_the_ethnicity_table_has_all_56_groups():
    assert [ETHNICITIES[i] for i in (1, 5, 56)] == ["汉", "维吾尔", "基诺"]
    assert all(i in ETHNICITIES for i in range(1, 57))
    # A code outside the table reads in Chinese punctuation too.
    assert dataclasses.replace(card("elderly"), ethnicity_code=77).ethnicity == "未知（77）"


def test_base_message_with_lengths_text_and_photo():
    block = SYNTHETIC_CARDS["adult"]
    photo = synthetic_photo(block)
    assert BASE_MESSAGE_HEADER == b"\x01\x00\x04\x00"
    c = parse_base_message(BASE_MESSAGE_HEADER + block + photo)
    assert c.photo == photo and c.name == "测试二"
    with pytest.raises(TruncatedCardData):
        parse_base_message(BASE_MESSAGE_HEADER + block + photo[:100])
    with pytest.raises(TruncatedCardData):
        parse_base_message(b"\x01")
    with pytest.raises(MalformedCardText):
        parse_base_message(b"\x00\x80\x04\x00" + block + photo)


def test_truncated_and_oversized_blocks():
    with pytest.raises(TruncatedCardData):
        parse_text_block(SYNTHETIC_CARDS["adult"][:200])
    with pytest.raises(MalformedCardText):
        parse_text_block(SYNTHETIC_CARDS["adult"] + b"  ")


@pytest.mark.parametrize(
    ("span", "text", "error"),
    [
        ((0, 30), "", MalformedCardText),  # empty name
        ((30, 32), "3", MalformedCardText),  # gender
        ((32, 36), "77", MalformedCardText),  # ethnicity not in GB/T 3304
        ((32, 36), "0A", MalformedCardText),
        ((36, 52), "19900230", MalformedCardText),  # no such day
        ((188, 204), "2016-5-1", MalformedCardText),
        ((204, 220), "20100101", MalformedCardText),  # ends before it starts
        ((122, 158), "31010419900701068", BadIdNumber),  # 17 characters
        ((122, 158), "0101041990070106", BadIdNumber),
    ],
)
def test_malformed_fields_are_typed_errors(span, text, error):
    block = bytearray(SYNTHETIC_CARDS["adult"])
    chars = (span[1] - span[0]) // 2
    block[span[0] : span[1]] = text.ljust(chars).encode("utf-16-le")
    with pytest.raises(error):
        parse_text_block(bytes(block))


def test_control_characters_and_broken_ucs2_are_refused():
    block = bytearray(SYNTHETIC_CARDS["adult"])
    block[0:2] = "\x07".encode("utf-16-le")
    with pytest.raises(MalformedCardText, match="control"):
        parse_text_block(bytes(block))
    block[0:2] = b"\x00\xd8"  # a lone surrogate
    with pytest.raises(MalformedCardText, match="UCS-2"):
        parse_text_block(bytes(block))


# ----------------------------------------------------------------- ID number
KNOWN_VALID = [
    "11010519491231002X",  # the GB 11643-1999 examples
    "440524188001010014",
    synthetic_id_number(dt.date(1990, 7, 1), region="310104", sequence=34, gender=2),
    synthetic_id_number(dt.date(2000, 2, 29), region="650102", sequence=501),
]


@pytest.mark.parametrize("number", KNOWN_VALID)
def test_known_valid_numbers(number):
    verify_id_number(number)
    assert is_valid_id_number(number)
    assert id_check_digit(number[:17]) == number[17]


@pytest.mark.parametrize("number", KNOWN_VALID)
def test_every_single_character_corruption_is_detected(number):
    for i in range(18):
        for c in "0123456789X":
            if c == number[i]:
                continue
            corrupted = number[:i] + c + number[i + 1 :]
            assert not is_valid_id_number(corrupted), corrupted


def test_the_birth_date_in_the_number_must_match_the_field():
    with pytest.raises(BadIdNumber, match="birth date"):
        verify_id_number("11010519491231002X", dt.date(1949, 12, 30))
    block = synthetic_card("测试六", dt.date(1990, 1, 1), id_number="11010519491231002X")
    with pytest.raises(BadIdNumber):
        parse_text_block(block)


def test_a_wrong_check_digit_is_its_own_error():
    with pytest.raises(BadCheckDigit):
        parse_text_block(SYNTHETIC_CARDS["bad_check_digit"])
    with pytest.raises(BadCheckDigit):
        verify_id_number("110105194912310021")
    assert issubclass(BadCheckDigit, ProtocolError) and issubclass(BadCheckDigit, IdCardError)


def test_check_digit_input_is_checked():
    with pytest.raises(BadIdNumber):
        id_check_digit("1234")
    with pytest.raises(BadIdNumber):
        id_check_digit("１１０１０５１９４９１２３１００２")  # full-width digits are not ASCII


# ------------------------------------------------------------- foreigner cards
def test_a_foreigner_card_is_refused_not_misparsed():
    with pytest.raises(ForeignerCard, match="foreigner"):
        parse_text_block(SYNTHETIC_CARDS["foreigner"])
    assert not issubclass(ForeignerCard, CardDataError)  # the card is fine, just not ours


def test_each_foreigner_rule_alone_is_enough():
    # Rule 1 only: the "I" card-type flag on an otherwise resident-looking block.
    flagged = bytearray(SYNTHETIC_CARDS["adult"])
    flagged[248:250] = "I".encode("utf-16-le")
    with pytest.raises(ForeignerCard):
        parse_text_block(bytes(flagged))
    # Rule 2 only: a 2017-style number, type flag blank.
    old_style = bytearray(synthetic_foreigner_card())
    old_style[248:250] = b" \x00"
    with pytest.raises(ForeignerCard):
        parse_text_block(bytes(old_style))
    # Rule 3 only: an 18-character number starting with 9.
    new_style = bytearray(SYNTHETIC_CARDS["adult"])
    new_style[ID_NUMBER[0] : ID_NUMBER[1]] = "931000198501010012".encode("utf-16-le")
    with pytest.raises(ForeignerCard):
        parse_text_block(bytes(new_style))


def test_a_residence_permit_j_flag_keeps_the_resident_layout():
    block = bytearray(SYNTHETIC_CARDS["adult"])
    block[248:250] = "J".encode("utf-16-le")
    assert parse_text_block(bytes(block)).name == "测试二"


# ------------------------------------------------------------ personal data
@pytest.mark.parametrize("name", ["elderly", "adult", "rare_name", "minority", "expired"])
def test_repr_and_str_reveal_no_name_number_or_address(name):
    c = card(name)
    for text in (repr(c), str(c), f"{c}", repr([c]), c.masked_id, c.masked_name):
        assert c.id_number not in text
        assert c.name not in text
        assert c.address not in text
    assert c.masked_id in repr(c)


def test_masking_rules():
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_name("张") == "*"
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert (
        card("adult").masked_id
        == card("adult").id_number[:4] + "*" * 10 + (card("adult").id_number[-4:])
    )


def test_customer_ref_is_a_keyed_hash():
    c = card("adult")
    ref = c.customer_ref(SALT)
    assert len(ref) == 64 and int(ref, 16) >= 0
    assert c.id_number not in ref
    assert card("adult").customer_ref(SALT) == ref  # same salt, same ref
    assert c.customer_ref(SALT + b"!") != ref  # different salt, different ref
    assert card("elderly").customer_ref(SALT) != ref
    with pytest.raises(ValueError, match="salt"):
        c.customer_ref(b"short")


def test_errors_never_quote_the_number():
    number = synthetic_id_number(dt.date(1995, 9, 9), region="500103", sequence=3)
    broken = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(BadCheckDigit) as info:
        verify_id_number(broken)
    assert broken not in str(info.value) and number[:17] not in str(info.value)


# ------------------------------------------------------------------ age, expiry
def test_age_counts_completed_years():
    c = card("adult")  # born 1990-07-01
    assert c.age_on(dt.date(2026, 6, 30)) == 35
    assert c.age_on(dt.date(2026, 7, 1)) == 36
    leap = parse_text_block(synthetic_card("测试七", dt.date(2000, 2, 29), sequence=501))
    assert leap.age_on(dt.date(2018, 2, 28)) == 17
    assert leap.age_on(dt.date(2018, 3, 1)) == 18


def test_expiry():
    expired = card("expired")  # valid to 2020-01-01
    assert not expired.expired(dt.date(2020, 1, 1))  # the last day still counts
    assert expired.expired(dt.date(2020, 1, 2))
    assert not card("elderly").expired(dt.date(2999, 1, 1))  # 长期


def test_synthetic_cards_refuse_what_a_card_cannot_hold():
    with pytest.raises(ValueError, match="UCS-2"):
        synthetic_card("测\U00020000", dt.date(1990, 1, 1))  # Extension B: outside UCS-2
    with pytest.raises(ValueError, match="longer"):
        synthetic_card("测" * 16, dt.date(1990, 1, 1))


# ---------------------------------------------------------------- properties
@settings(max_examples=500, deadline=None)
@given(st.binary(min_size=0, max_size=300))
def test_random_blocks_raise_only_typed_errors(block):
    with contextlib.suppress(IdCardError):
        parse_text_block(block)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(sorted(SYNTHETIC_CARDS)),
    st.lists(st.tuples(st.integers(0, TEXT_LEN - 1), st.integers(0, 255)), max_size=8),
)
def test_mutated_synthetic_blocks_raise_only_typed_errors(name, mutations):
    block = bytearray(SYNTHETIC_CARDS[name])
    for pos, value in mutations:
        block[pos] = value
    try:
        c = parse_text_block(bytes(block))
    except IdCardError as exc:
        assert isinstance(exc, DeviceError)
    else:
        verify_id_number(c.id_number, c.birth_date)  # whatever parses is self-consistent


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(exclude_characters="*"), min_size=2, max_size=15))
def test_masked_names_never_contain_the_whole_name(name):
    masked = mask_name(name)
    assert name not in masked and len(masked) == len(name)
    assert masked.count("*") == max(1, len(name) - 2)


def test_name_field_offsets_constant():
    assert NAME == (0, 30) and ID_NUMBER == (122, 158)
