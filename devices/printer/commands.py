"""ESC/POS bytes for one ticket job: a raster image (default) or native Chinese text.

Both kinds of job are built whole in memory and written in one call, so nothing else (a
status request from another thread) can land in the middle of a ticket, and the time a
job takes on the wire is the only time the printer lock is held.
"""

from __future__ import annotations

from escpos.constants import (
    CTL_LF,
    HW_INIT,
    QR_ECLEVEL_M,
    TXT_SIZE,
    TXT_STYLE,
)
from escpos.printer import Dummy
from PIL import Image

from devices.printer.layout import (
    PAPER_DOTS,
    QR_CAPTION,
    Paper,
    TicketContent,
    columns_of,
    render_line,
    wrap_text,
)

#: Rows per GS v 0 command. Cheap printers garble one raster taller than their receive
#: buffer; 256-row bands stay well inside it and cost 8 bytes of header each.
RASTER_BAND_ROWS = 256
#: Dots fed beyond the cutting position before the cut. GS V 65/66 (function B) lets the
#: printer feed by its own head-to-cutter distance; a fixed ESC d guessed it (4 lines, about
#: 17 mm) and left a blank tail on every ticket.
FEED_PAST_CUTTER_DOTS = 0

ESC, FS, GS = b"\x1b", b"\x1c", b"\x1d"
# Typed copies of python-escpos's constants (the package ships no type information).
INIT: bytes = bytes(HW_INIT)
LINE_FEED: bytes = bytes(CTL_LF)
SIZE: bytes = bytes(TXT_SIZE)  # GS !
FS_CHINESE_ON = FS + b"&"
FS_CHINESE_OFF = FS + b"."
ALIGN_CENTER: bytes = bytes(TXT_STYLE["align"]["center"])
BOLD_ON: bytes = bytes(TXT_STYLE["bold"][True])
BOLD_OFF: bytes = bytes(TXT_STYLE["bold"][False])

_INVERT = bytes(255 - i for i in range(256))


def raster(image: Image.Image, band_rows: int = RASTER_BAND_ROWS) -> bytes:
    """GS v 0 raster commands for `image` (dark pixels print), in bands of `band_rows`."""
    mono = image if image.mode == "1" else image.convert("L").point(lambda v: 255 * (v >= 128))
    mono = mono.convert("1")
    width_bytes = (mono.width + 7) // 8
    if mono.width % 8:
        # Pad with white: PIL fills the spare bits of each row with 0, which is black here.
        padded = Image.new("1", (width_bytes * 8, mono.height), 1)
        padded.paste(mono, (0, 0))
        mono = padded
    # PIL's 1-bit rows are MSB-first like the printer's, but 1 means white: invert.
    data = mono.tobytes().translate(_INVERT)
    out = bytearray()
    for top in range(0, mono.height, band_rows):
        rows = min(band_rows, mono.height - top)
        out += GS + b"v0\x00"
        out += width_bytes.to_bytes(2, "little") + rows.to_bytes(2, "little")
        out += data[top * width_bytes : (top + rows) * width_bytes]
    return bytes(out)


def feed_and_cut(partial: bool = False) -> bytes:
    """GS V 65 n (full) or GS V 66 n (partial): feed the last line just past the cutter, cut."""
    return GS + b"V" + (b"B" if partial else b"A") + bytes((FEED_PAST_CUTTER_DOTS,))


def image_job(image: Image.Image, *, partial_cut: bool = False) -> bytes:
    """ESC @, the ticket image as raster bands, feed, cut."""
    return INIT + raster(image) + feed_and_cut(partial_cut)


def native_qr(data: str, module_dots: int) -> bytes:
    """GS ( k commands: model 2, module size, error correction M, store, print."""
    dummy = Dummy()
    dummy.qr(data, ec=QR_ECLEVEL_M, size=module_dots, native=True)
    return bytes(dummy.output)


# --------------------------------------------------------------------------- text mode
TEXT_COLUMNS: dict[str, int] = {"80mm": 48, "58mm": 32}  # Font A, 12 dots per column


def in_printer_font(text: str) -> bool:
    """True if a typical Chinese printer's ROM font (GB2312) has every character."""
    try:
        text.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def chinese_text(text: str) -> bytes:
    """`text` as printer bytes: plain ASCII as is, anything else GB18030 inside FS & … FS ."""
    if text.isascii():
        return text.encode("ascii")
    return FS_CHINESE_ON + text.encode("gb18030") + FS_CHINESE_OFF


class _TextJob:
    def __init__(self, paper: Paper) -> None:
        self.paper = paper
        self.columns = TEXT_COLUMNS[paper]
        self.out = bytearray(INIT + ALIGN_CENTER)

    def line(self, text: str, *, size: int = 1, bold: bool = False) -> None:
        """Centred lines at `size` times normal width and height, wrapped to the paper."""
        width = self.columns // size
        if " / " in text and columns_of(text) > width:
            text = "\n".join(part.strip() for part in text.split(" / "))
        if size > 1:
            self.out += SIZE + bytes(((size - 1) << 4 | (size - 1),))
        if bold:
            self.out += BOLD_ON
        for line in wrap_text(text, width, columns_of):
            if in_printer_font(line):
                self.out += chinese_text(line) + LINE_FEED
            else:
                # A rare character (a name like 堃 or 䶮) would print as "?" from the ROM
                # font: this one line goes as an image drawn with our own font.
                self.out += raster(render_line(line, PAPER_DOTS[self.paper], 24 * size, bold=bold))
        if bold:
            self.out += BOLD_OFF
        if size > 1:
            self.out += SIZE + b"\x00"

    def bilingual(self, text: str) -> None:
        """ "中文 / English": the Chinese in bold, the English plain on the next line."""
        first, _, second = text.partition(" / ")
        self.line(first, bold=True)
        if second:
            self.line(second)

    def rule(self) -> None:
        self.out += b"-" * self.columns + LINE_FEED

    def raw(self, data: bytes) -> None:
        self.out += data


def text_job(content: TicketContent, paper: Paper = "80mm", *, partial_cut: bool = False) -> bytes:
    """The ticket in the printer's own fonts: fast on Chinese printers, no image to send."""
    job = _TextJob(paper)
    job.line(content.branch_name, bold=True)
    job.rule()
    if content.priority_text():
        job.line(f"【{content.priority_text()}】", bold=True)
    job.line(content.number, size=4 if columns_of(content.number) * 4 <= job.columns else 2)
    job.line(content.service_zh, size=2)
    if content.service_en:
        job.line(content.service_en)
    job.rule()
    if content.appointment_text:
        job.bilingual(content.appointment_text)
    job.line(content.ahead_zh, bold=True)
    if content.ahead_en:
        job.line(content.ahead_en)
    if content.wait_text:
        job.line(content.wait_text)
    if content.where_text:
        job.bilingual(content.where_text)
    if content.url:
        job.raw(LINE_FEED + native_qr(content.url, 6 if paper == "80mm" else 5) + LINE_FEED)
        for caption in QR_CAPTION:
            job.line(caption)
    job.rule()
    job.line(content.issued_text())
    if content.footer:
        job.line(content.footer)
    job.raw(feed_and_cut(partial_cut))
    return bytes(job.out)
