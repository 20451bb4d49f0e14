"""China resident ID card readers: open one by URL, watch it, probe it in the field.

    reader = reader_for_url("sdt+serial:///dev/ttyUSB0?baud=115200")
    watcher = CardWatcher(reader, on_card=..., on_lifted=..., on_error=...).start()

Modules: `frames` (SDT wire format), `card` (text block, ID number checks, masking),
`reader` (commands over a SerialLine), `watcher` (background polling), `sim` (a pty reader
with synthetic cards), `errors`.
"""

from __future__ import annotations

from devices.errors import DeviceError
from devices.idcard.card import (
    ETHNICITIES,
    Gender,
    IdCard,
    id_check_digit,
    is_valid_id_number,
    mask_id_number,
    mask_name,
    parse_base_message,
    parse_text_block,
    verify_id_number,
)
from devices.idcard.errors import (
    BadCheckDigit,
    BadIdNumber,
    CardDataError,
    CardExpired,
    CardNotRead,
    CardProblem,
    ForeignerCard,
    IdCardError,
    MalformedCardText,
    ReaderFault,
    ReaderStatusError,
    ReplyChecksumError,
    ReplyError,
    TruncatedCardData,
    TruncatedReply,
    WrongCardType,
)
from devices.idcard.frames import (
    Command,
    FrameReader,
    Reply,
    Status,
    build_request,
    describe_status,
)
from devices.idcard.reader import IdCardReader
from devices.idcard.watcher import CardWatcher
from devices.url import parse_device_url

SCHEMES: dict[str, str] = {
    "sdt+serial": (
        "China resident ID card reader (SAM 'SDT' frames) on a serial or USB-serial port, "
        "e.g. sdt+serial:///dev/ttyUSB0?baud=115200&timeout=0.5"
    ),
}


def reader_for_url(url: str) -> IdCardReader:
    """An ID card reader for a device URL (see SCHEMES); ValueError when malformed."""
    scheme = parse_device_url(url).scheme
    if scheme not in SCHEMES:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise ValueError(f"unknown ID card reader scheme {scheme!r} in {url!r} (known: {known})")
    return IdCardReader.from_url(url)


def probe(url: str) -> str:
    """Field diagnostic: SAM status and id, card present, and a present card's masked fields.

    Never raises for device trouble — each step reports its own error. Reading a card
    here counts as a read: the reader will not find it again until it is lifted.
    """
    lines = [f"ID card reader {url}"]
    try:
        reader = reader_for_url(url)
    except ValueError as exc:
        return "\n".join([*lines, f"  bad URL: {exc}"])
    with reader:
        try:
            lines.append(f"  SAM status: {describe_status(reader.sam_status())}")
            lines.append(f"  SAM id: {reader.sam_id()}")
        except DeviceError as exc:
            lines.append(f"  SAM: {type(exc).__name__}: {exc}")
            return "\n".join(lines)
        try:
            found = reader.find_card()
        except DeviceError as exc:
            lines.append(f"  card: {type(exc).__name__}: {exc}")
            return "\n".join(lines)
        lines.append(f"  card present: {'yes' if found else 'no'}")
        if found:
            try:
                if not reader.select_card():
                    lines.append("  card: could not be selected (moved away?)")
                else:
                    card = reader.read_card()
                    valid_to = "长期" if card.valid_to is None else card.valid_to.isoformat()
                    lines += [
                        f"  name: {card.masked_name}",
                        f"  ID number: {card.masked_id} (check digit OK)",
                        f"  valid to: {valid_to}",
                    ]
            except DeviceError as exc:
                lines.append(f"  card: {type(exc).__name__}: {exc}")
    return "\n".join(lines)


__all__ = [
    "ETHNICITIES",
    "SCHEMES",
    "BadCheckDigit",
    "BadIdNumber",
    "CardDataError",
    "CardExpired",
    "CardNotRead",
    "CardProblem",
    "CardWatcher",
    "Command",
    "ForeignerCard",
    "FrameReader",
    "Gender",
    "IdCard",
    "IdCardError",
    "IdCardReader",
    "MalformedCardText",
    "ReaderFault",
    "ReaderStatusError",
    "Reply",
    "ReplyChecksumError",
    "ReplyError",
    "Status",
    "TruncatedCardData",
    "TruncatedReply",
    "WrongCardType",
    "build_request",
    "describe_status",
    "id_check_digit",
    "is_valid_id_number",
    "mask_id_number",
    "mask_name",
    "parse_base_message",
    "parse_text_block",
    "probe",
    "reader_for_url",
    "verify_id_number",
]
