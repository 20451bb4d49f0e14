"""An incremental ESC/POS interpreter, and a picture of the paper it would print.

The printer simulator feeds it whatever bytes arrive, split anywhere; it understands the
commands BranchQ and python-escpos send (ESC @, ESC a, ESC E, ESC !, GS !, LF, text with
GB18030 inside FS & … FS ., GS v 0 rasters, GS ( k QR codes, GS V cuts, DLE EOT status)
and skips everything else by its known length, never raising.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import qrcode
from PIL import Image, ImageDraw

from devices.printer.layout import PAPER_DOTS, Paper, columns_of, is_wide, load_font, wrap_text

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, CR, HT = 0x0A, 0x0D, 0x09

# Bounds a real printer has too; they keep garbage from making the simulator wait for
# megabytes that will never come or draw a ticket kilometres long.
MAX_RASTER_WIDTH_BYTES = 256
MAX_RASTER_ROWS = 4096
MAX_LINE_BYTES = 4096
MAX_TICKET_DOTS = 30000
BASE_DOTS = 24  # Font A / CJK character height
LINE_GAP = 8  # dots between lines (default line spacing is about 30 dots)

# Parameter bytes after ESC x / GS x / FS x for commands that are skipped, not drawn.
_ESC_PARAMS = {
    ord("-"): 1, ord("2"): 0, ord("3"): 1, ord("M"): 1, ord("G"): 1, ord("{"): 1,
    ord("R"): 1, ord("t"): 1, ord(" "): 1, ord("V"): 1, ord("r"): 1, ord("c"): 2,
    ord("$"): 2, ord("\\"): 2, ord("p"): 3, ord("="): 1, ord("U"): 1, ord("%"): 1,
    ord("S"): 0, ord("L"): 0, ord("T"): 1, ord("<"): 0, ord("e"): 1, ord("?"): 1,
}  # fmt: skip
_GS_PARAMS = {
    ord("B"): 1, ord("H"): 1, ord("h"): 1, ord("w"): 1, ord("f"): 1, ord("b"): 1,
    ord("a"): 1, ord("L"): 2, ord("W"): 2, ord("P"): 2, ord("r"): 1, ord("I"): 1,
    ord("/"): 1, ord("^"): 3, ord("$"): 2, ord("\\"): 2, ord(":"): 0, ord("T"): 1,
    ord("E"): 1, ord("g"): 3, ord("j"): 1, ord("z"): 2, ord("C"): 1,
}  # fmt: skip
_FS_PARAMS = {
    ord("-"): 1, ord("W"): 1, ord("S"): 2, ord("C"): 1, ord("p"): 2, ord("?"): 2,
    ord("r"): 1, ord("v"): 1,
}  # fmt: skip
_CONTROL = re.compile(rb"[\x00-\x1f]")


@dataclass
class Style:
    align: int = 0  # 0 left, 1 centre, 2 right
    bold: bool = False
    width: int = 1  # character width multiple
    height: int = 1


@dataclass
class TextLine:
    text: str
    style: Style


@dataclass
class Picture:
    image: Image.Image  # mode "1"
    align: int


@dataclass
class Feed:
    dots: int


Element = TextLine | Picture | Feed


@dataclass
class Job:
    """What was printed between two cuts."""

    elements: list[Element]
    qr_data: list[str]
    cut: Literal["full", "partial"]

    @property
    def text(self) -> str:
        return "\n".join(e.text for e in self.elements if isinstance(e, TextLine))

    @property
    def printed_anything(self) -> bool:
        return any(isinstance(e, TextLine | Picture) for e in self.elements)


class EscposParser:
    """An incremental ESC/POS interpreter: bytes in, in any split; jobs out at each cut."""

    def __init__(
        self,
        *,
        on_cut: Callable[[Job], None],
        status: Callable[[int], int | None],
        chinese_by_default: bool = False,
    ) -> None:
        self.on_cut = on_cut
        self.status = status
        self.chinese_by_default = chinese_by_default
        self._buf = bytearray()
        self._reset()
        self._elements: list[Element] = []
        self._qr_printed: list[str] = []

    def _reset(self) -> None:
        """ESC @: modes back to power-on values, unprinted text dropped."""
        self.style = Style()
        self.chinese = self.chinese_by_default
        self._segments: list[tuple[bytes, bool]] = []
        self._line_style: Style | None = None
        self._qr_store = b""
        self._qr_module = 3
        self._qr_ec = 0

    # ------------------------------------------------------------------ stream
    def feed(self, data: bytes) -> bytes:
        """Consume bytes from the host; returns what the printer answers (status bytes)."""
        self._buf += data
        reply = bytearray()
        pos = 0
        while pos < len(self._buf):
            used = self._step(pos, reply)
            if used == 0:
                break  # a command whose parameters have not all arrived yet
            pos += used
        del self._buf[:pos]
        return bytes(reply)

    def _step(self, pos: int, reply: bytearray) -> int:
        buf = self._buf
        b = buf[pos]
        if b >= 0x20:
            match = _CONTROL.search(buf, pos)
            end = match.start() if match else len(buf)
            self._text(bytes(buf[pos:end]))
            return end - pos
        if b == LF:
            self._end_line()
            return 1
        if b == HT:
            self._text(b"    ")
            return 1
        if b in (ESC, GS, FS, DLE):
            if pos + 1 >= len(buf):
                return 0
            handler = {ESC: self._esc, GS: self._gs, FS: self._fs, DLE: self._dle}[b]
            return handler(pos, buf[pos + 1], reply)
        return 1  # CR and other control bytes: nothing to do

    def _need(self, pos: int, count: int) -> bool:
        return pos + count <= len(self._buf)

    # ---------------------------------------------------------------- commands
    def _esc(self, pos: int, cmd: int, reply: bytearray) -> int:
        if cmd == ord("@"):
            self._reset()
            return 2
        if cmd in (ord("i"), ord("m")):  # legacy cut commands
            self._cut("full" if cmd == ord("i") else "partial")
            return 2
        if cmd == ord("*"):  # ESC * m nL nH d: column bit image, skipped
            if not self._need(pos, 5):
                return 0
            m, count = self._buf[pos + 2], self._buf[pos + 3] | self._buf[pos + 4] << 8
            total = 5 + count * (3 if m in (32, 33) else 1)
            return total if self._need(pos, total) else 0
        if cmd == ord("D"):  # ESC D n1 … NUL: tab stops
            end = self._buf.find(b"\x00", pos + 2, pos + 2 + 33)
            if end < 0:
                return 0 if len(self._buf) < pos + 2 + 33 else 2
            return end + 1 - pos
        if cmd in (ord("a"), ord("E"), ord("!"), ord("d"), ord("J")):
            if not self._need(pos, 3):
                return 0
            n = self._buf[pos + 2]
            if cmd == ord("a"):
                if n in (0, 1, 2, 48, 49, 50):
                    self.style.align = n % 48
            elif cmd == ord("E"):
                self.style.bold = bool(n & 1)
            elif cmd == ord("!"):
                self.style.bold = bool(n & 0x08)
                self.style.height = 2 if n & 0x10 else 1
                self.style.width = 2 if n & 0x20 else 1
            elif cmd == ord("d"):
                self._flush_line()
                self._elements.append(Feed(n * (BASE_DOTS + LINE_GAP)))
            else:
                self._flush_line()
                self._elements.append(Feed(n))
            return 3
        params = _ESC_PARAMS.get(cmd)
        if params is None:
            return 2
        return 2 + params if self._need(pos, 2 + params) else 0

    def _gs(self, pos: int, cmd: int, reply: bytearray) -> int:  # noqa: C901 one branch per GS command
        buf = self._buf
        if cmd == ord("!"):
            if not self._need(pos, 3):
                return 0
            n = buf[pos + 2]
            self.style.width = (n >> 4 & 7) + 1
            self.style.height = (n & 7) + 1
            return 3
        if cmd == ord("V"):
            if not self._need(pos, 3):
                return 0
            m = buf[pos + 2]
            if m in (0, 48, 1, 49):
                self._cut("full" if m in (0, 48) else "partial")
                return 3
            if m in (65, 66, 97, 98, 103, 104):
                if not self._need(pos, 4):
                    return 0
                self._flush_line()
                if m in (65, 66):
                    self._elements.append(Feed(buf[pos + 3]))
                self._cut("full" if m in (65, 97, 103) else "partial")
                return 4
            return 3
        if cmd == ord("v"):
            return self._raster(pos)
        if cmd == ord("("):
            if not self._need(pos, 5):
                return 0
            length = buf[pos + 3] | buf[pos + 4] << 8
            if not self._need(pos, 5 + length):
                return 0
            if buf[pos + 2] == ord("k"):
                self._two_d_code(bytes(buf[pos + 5 : pos + 5 + length]))
            return 5 + length
        if cmd == ord("k"):  # barcodes, skipped
            if not self._need(pos, 3):
                return 0
            m = buf[pos + 2]
            if m <= 6:  # NUL-terminated data
                end = buf.find(b"\x00", pos + 3, pos + 3 + 256)
                if end < 0:
                    return 0 if len(buf) < pos + 3 + 256 else 3
                return end + 1 - pos
            if not self._need(pos, 4):
                return 0
            total = 4 + buf[pos + 3]
            return total if self._need(pos, total) else 0
        if cmd == ord("*"):  # GS * x y d: define a downloaded image, skipped
            if not self._need(pos, 4):
                return 0
            total = 4 + buf[pos + 2] * buf[pos + 3] * 8
            return total if self._need(pos, total) else 0
        params = _GS_PARAMS.get(cmd)
        if params is None:
            return 2
        return 2 + params if self._need(pos, 2 + params) else 0

    def _fs(self, pos: int, cmd: int, reply: bytearray) -> int:
        if cmd == ord("&"):
            self.chinese = True
            return 2
        if cmd == ord("."):
            self.chinese = False
            return 2
        if cmd == ord("!"):  # Chinese character mode: bit 2 double width, bit 3 double height
            if not self._need(pos, 3):
                return 0
            n = self._buf[pos + 2]
            self.style.width = 2 if n & 0x04 else 1
            self.style.height = 2 if n & 0x08 else 1
            return 3
        if cmd == ord("2"):  # FS 2 c1 c2 d(72): define a user character, skipped
            return 76 if self._need(pos, 76) else 0
        params = _FS_PARAMS.get(cmd)
        if params is None:
            return 2
        return 2 + params if self._need(pos, 2 + params) else 0

    def _dle(self, pos: int, cmd: int, reply: bytearray) -> int:
        if cmd == 0x04:  # DLE EOT n: real-time status
            if not self._need(pos, 3):
                return 0
            n = self._buf[pos + 2]
            if n not in (1, 2, 3, 4):
                return 2
            answer = self.status(n)
            if answer is not None:
                reply.append(answer)
            return 3
        if cmd == 0x05:  # DLE ENQ n: real-time request, no answer
            return 3 if self._need(pos, 3) else 0
        if cmd == 0x14:  # DLE DC4 fn m t: pulse / power-off, skipped
            return 5 if self._need(pos, 5) else 0
        return 1  # a lone DLE is an ordinary control byte

    # ------------------------------------------------------------------ content
    def _text(self, data: bytes) -> None:
        if self._line_style is None:
            self._line_style = dataclasses.replace(self.style)
        self._segments.append((data, self.chinese))
        if sum(len(s) for s, _ in self._segments) > MAX_LINE_BYTES:
            self._end_line()  # a printer's line buffer is finite too

    def _line_text(self) -> str:
        # Bytes arrive in arbitrary pieces, so a two- or four-byte GB18030 character may
        # span segments: join runs in the same mode before decoding.
        parts: list[str] = []
        for chinese, runs in itertools.groupby(self._segments, key=lambda seg: seg[1]):
            data = b"".join(run for run, _ in runs)
            parts.append(data.decode("gb18030" if chinese else "cp437", errors="replace"))
        return "".join(parts)

    def _flush_line(self) -> None:
        """Print pending text, if any (ESC d, images and cuts do this first)."""
        if self._segments:
            self._end_line()

    def _end_line(self) -> None:
        if self._segments:
            style = self._line_style or dataclasses.replace(self.style)
            self._elements.append(TextLine(self._line_text(), style))
        else:
            self._elements.append(Feed(BASE_DOTS * self.style.height + LINE_GAP))
        self._segments = []
        self._line_style = None

    def _raster(self, pos: int) -> int:
        buf = self._buf
        if not self._need(pos, 8):
            return 0
        if buf[pos + 2] not in (0, 48):
            return 2
        m = buf[pos + 3]
        width_bytes = buf[pos + 4] | buf[pos + 5] << 8
        rows = buf[pos + 6] | buf[pos + 7] << 8
        if m not in (0, 1, 2, 3, 48, 49, 50, 51) or not (
            0 < width_bytes <= MAX_RASTER_WIDTH_BYTES and 0 < rows <= MAX_RASTER_ROWS
        ):
            return 3  # not a raster a printer would take: skip the command bytes
        total = 8 + width_bytes * rows
        if not self._need(pos, total):
            return 0
        self._flush_line()
        data = bytes(buf[pos + 8 : pos + total]).translate(_INVERT)
        image = Image.frombytes("1", (width_bytes * 8, rows), data)
        scale_x, scale_y = (2 if m & 1 else 1), (2 if m & 2 else 1)
        if scale_x > 1 or scale_y > 1:
            image = image.resize((image.width * scale_x, image.height * scale_y))
        self._elements.append(Picture(image, self.style.align))
        return total

    def _two_d_code(self, params: bytes) -> None:
        if len(params) < 2 or params[0] != ord("1"):
            return  # not a QR code (PDF417 and others are skipped)
        fn = params[1]
        if fn == ord("C") and len(params) >= 3:
            self._qr_module = min(max(params[2], 1), 16)
        elif fn == ord("E") and len(params) >= 3 and 48 <= params[2] <= 51:
            self._qr_ec = params[2] - 48
        elif fn == ord("P") and len(params) >= 3:
            self._qr_store = params[3:]
        elif fn == ord("Q") and self._qr_store:
            self._flush_line()
            image = _qr_picture(self._qr_store, self._qr_module, self._qr_ec)
            if image is not None:
                self._elements.append(Picture(image, self.style.align))
                self._qr_printed.append(self._qr_store.decode("utf-8", errors="replace"))

    def _cut(self, kind: Literal["full", "partial"]) -> None:
        self._flush_line()
        job = Job(self._elements, self._qr_printed, kind)
        self._elements, self._qr_printed = [], []
        if job.printed_anything:
            self.on_cut(job)


_INVERT = bytes(255 - i for i in range(256))
_QR_EC = (
    qrcode.constants.ERROR_CORRECT_L,
    qrcode.constants.ERROR_CORRECT_M,
    qrcode.constants.ERROR_CORRECT_Q,
    qrcode.constants.ERROR_CORRECT_H,
)


def _qr_picture(data: bytes, module: int, ec: int) -> Image.Image | None:
    code = qrcode.QRCode(error_correction=_QR_EC[ec], box_size=1, border=0)
    code.add_data(data)
    try:
        code.make(fit=True)
    except (ValueError, qrcode.exceptions.DataOverflowError):
        return None  # more data than a QR code holds: a printer prints nothing either
    matrix: list[list[bool]] = code.get_matrix()
    size = len(matrix)
    small = Image.new("1", (size, size), 1)
    small.putdata([0 if cell else 1 for row in matrix for cell in row])
    return small.resize((size * module, size * module), Image.Resampling.NEAREST)


# ------------------------------------------------------------------------- composing
def compose(job: Job, paper: Paper = "80mm") -> Image.Image:
    """What the printed paper of `job` looks like, as a 1-bit image."""
    width = PAPER_DOTS[paper]
    blocks: list[tuple[Image.Image | None, int, int]] = []  # image, align, height
    total = 0
    for element in job.elements:
        if total >= MAX_TICKET_DOTS:
            break
        if isinstance(element, Feed):
            blocks.append((None, 0, element.dots))
            total += element.dots
            continue
        if isinstance(element, Picture):
            blocks.append((element.image, element.align, element.image.height))
            total += element.image.height
            continue
        for line in _text_images(element, width):
            blocks.append((line, element.style.align, line.height))
            total += line.height
    sheet = Image.new("L", (width, max(1, min(total, MAX_TICKET_DOTS))), 255)
    y = 0
    for image, align, height in blocks:
        if image is not None and y < sheet.height:
            x = (0, (width - image.width) // 2, width - image.width)[align]
            sheet.paste(image.convert("L"), (max(0, x), y))
        y += height
    return sheet.point(lambda v: 255 if v >= 160 else 0, mode="1")


def _text_images(line: TextLine, width: int) -> list[Image.Image]:
    """A text line as the printer's ROM fonts print it: 12-dot Latin and 24-dot Chinese
    cells, scaled by the character size, wrapped at the paper's edge."""
    style = line.style
    cell_h = BASE_DOTS * style.height
    wide_font = load_font(cell_h, mono=True)
    narrow_font = load_font(cell_h * 5 // 6, mono=True)  # advance 0.6 em fits a half cell
    half_cell = BASE_DOTS // 2 * style.height
    baseline = wide_font.getmetrics()[0]
    columns = max(1, width // (BASE_DOTS // 2 * style.width))
    out = []
    for text in wrap_text(line.text, columns, columns_of) or [""]:
        image = Image.new("L", (max(1, columns_of(text) * half_cell), cell_h + LINE_GAP), 255)
        draw = ImageDraw.Draw(image)
        x = 0
        for char in text:
            wide = is_wide(char)
            font = wide_font if wide else narrow_font
            draw.text(
                (x, baseline),
                char,
                font=font,
                anchor="ls",  # one baseline for both sizes
                fill=0,
                stroke_width=1 if style.bold else 0,
                stroke_fill=0,
            )
            x += half_cell * (2 if wide else 1)
        if style.width != style.height:  # printers scale width and height separately
            stretched = max(1, round(image.width * style.width / style.height))
            image = image.resize((stretched, image.height))
        out.append(image.crop((0, 0, min(width, image.width), image.height)))
    return out
