"""What a queue ticket says and how it looks: TicketContent and render_ticket().

The ticket is drawn as one 1-bit image the width of the print head (576 dots at 80 mm,
384 at 58 mm, both 203 dpi) with a CJK outline font, so any character the font has prints,
whatever fonts the printer carries in ROM.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import qrcode
from PIL import Image, ImageDraw, ImageFont

from devices.errors import MissingDependency

Paper = Literal["80mm", "58mm"]
PAPER_DOTS: dict[str, int] = {"80mm": 576, "58mm": 384}

FONT_PACKAGE = "fonts-wqy-microhei"
# Looked at before asking fontconfig: the packaged font on Debian/Ubuntu, then common CJK
# fonts on other systems. The environment variable wins so a branch can pick its own.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "/System/Library/Fonts/PingFang.ttc",
)

QR_CAPTION = ("扫码查看排队进度", "Scan to follow your turn")


@dataclass(frozen=True)
class TicketContent:
    """Everything printed on one queue ticket (no personal data: no name, no ID number).

    The wording comes from the kiosk's catalogs (kiosk/printing.py), so the paper says
    what the screen says; a text with " / " between its languages prints on two lines when
    one does not fit.
    """

    branch_name: str
    service_zh: str
    service_en: str
    number: str  # "A023"
    ahead_zh: str  # "前面还有 12 人"
    ahead_en: str
    wait_text: str  # "预计等候约 12 分钟 / Estimated wait: about 12 min"
    issued_at: datetime  # already in the branch's local time
    url: str  # the customer's live ticket page, printed as a QR code
    footer: str = ""  # the 温馨提示, both languages
    priority_label: str = ""  # the badge as printed ("优先服务 Priority"); empty: none
    where_text: str = ""  # where the business is served, both languages
    appointment_text: str = ""  # a checked-in appointment: its slot, as the screen says it

    def issued_text(self) -> str:
        return f"取号时间 Issued {self.issued_at:%Y-%m-%d %H:%M}"

    def priority_text(self) -> str:
        return self.priority_label.strip()


# ------------------------------------------------------------------------------- fonts
def _fontconfig_cjk_font() -> str | None:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        listed = subprocess.run(
            [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted(line.strip().rstrip(":") for line in listed.splitlines() if line.strip())
    preferred = [f for f in files if "wqy-microhei" in f.lower()] + files
    return next((f for f in preferred if os.path.exists(f)), None)


@functools.cache
def find_cjk_font() -> str:
    """Path of an installed font that has Chinese characters, or MissingDependency."""
    chosen = os.environ.get("BRANCHQ_CJK_FONT")
    if chosen and os.path.exists(chosen):
        return chosen
    for path in FONT_CANDIDATES:
        if os.path.exists(path):
            return path
    found = _fontconfig_cjk_font()
    if found:
        return found
    hint = (
        f"sudo apt-get install {FONT_PACKAGE}"
        if sys.platform.startswith("linux")
        else "install a Chinese font and set BRANCHQ_CJK_FONT to its file"
    )
    raise MissingDependency(f"no Chinese (CJK) font found to print tickets: {hint}")


@functools.cache
def load_font(size: int, *, mono: bool = False) -> ImageFont.FreeTypeFont:
    """The CJK font at `size` pixels (cached: loading a .ttc takes milliseconds).

    `mono` picks the collection's fixed-width face when it has one (Latin half as wide as
    Chinese, like a printer's 12×24 / 24×24 ROM fonts).
    """
    path = find_cjk_font()
    if mono and path.lower().endswith(".ttc"):
        try:
            second = ImageFont.truetype(path, size=max(8, size), index=1)
        except OSError:
            second = None  # a collection with a single face
        if second is not None and "mono" in (second.getname()[0] or "").lower():
            return second
    return ImageFont.truetype(path, size=max(8, size), index=0)


# ------------------------------------------------------------------------------ wrapping
def is_wide(char: str) -> bool:
    """Printed in a full-width cell (CJK), twice as wide as a Latin character."""
    return unicodedata.east_asian_width(char) in "WF"


def columns_of(text: str) -> int:
    """Printed width in Font A columns: CJK (full-width) characters take two."""
    return sum(2 if is_wide(c) else 1 for c in text)


# A run of Latin letters/digits stays together; every other character may break.
_TOKENS = re.compile(r"[0-9A-Za-z\u00c0-\u024f'’._:/@#%&+=-]+|\s+|.", re.S)
# Closing punctuation never starts a line (Chinese typesetting rule).
_NO_LINE_START = set("，。、；：！？）》」』】,.;:!?)")


def wrap_text(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Lines of `text` no wider than `width` (as `measure` counts), broken between words
    or between CJK characters."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _TOKENS.findall(paragraph):
            candidate = line + token
            if measure(candidate.rstrip()) <= width:
                line = candidate
                continue
            if token.isspace():
                lines.append(line.rstrip())
                line = ""
                continue
            if token in _NO_LINE_START and line:
                # Move the previous character down with the punctuation.
                lines.append(line[:-1].rstrip())
                line = line[-1] + token
                continue
            if line.strip():
                lines.append(line.rstrip())
            line = ""
            for char in token:  # a word wider than the line: break it anywhere
                if line and measure(line + char) > width:
                    lines.append(line)
                    line = ""
                line += char
        lines.append(line.rstrip())
    return lines


# ------------------------------------------------------------------------------- drawing
class _Sheet:
    """A tall greyscale strip drawn top to bottom, cropped when done."""

    def __init__(self, width: int, margin: int) -> None:
        self.width = width
        self.margin = margin
        self.image = Image.new("L", (width, 4000), 255)
        self.draw = ImageDraw.Draw(self.image)
        self.y = margin

    @property
    def inner(self) -> int:
        return self.width - 2 * self.margin

    def _grow(self, needed: int) -> None:
        if self.y + needed > self.image.height:
            taller = Image.new("L", (self.width, self.image.height + needed + 2000), 255)
            taller.paste(self.image, (0, 0))
            self.image = taller
            self.draw = ImageDraw.Draw(self.image)

    def gap(self, dots: int) -> None:
        self.y += dots

    def text(self, text: str, size: int, *, bold: bool = False, spacing: float = 1.2) -> None:
        font = load_font(size)
        ascent, descent = font.getmetrics()
        step = round((ascent + descent) * spacing)
        if " / " in text and font.getlength(text) > self.inner:
            # Bilingual "中文 / English" that does not fit: one language per line.
            text = "\n".join(part.strip() for part in text.split(" / "))
        for line in wrap_text(text, self.inner, font.getlength):
            self._grow(step)
            x = (self.width - font.getlength(line)) / 2
            self.draw.text(
                (x, self.y), line, font=font, fill=0, stroke_width=1 if bold else 0, stroke_fill=0
            )
            self.y += step

    def bilingual(self, text: str, size: int, second_size: int) -> None:
        """ "中文 / English": the Chinese in bold on its own line, the English smaller below
        (bold Latin at these sizes smudges on a thermal head)."""
        first, _, second = text.partition(" / ")
        self.text(first, size, bold=True)
        if second:
            self.text(second, second_size)

    def big(self, text: str, size: int) -> None:
        """One line as large as fits (the ticket number), placed by its real ink box."""
        while size > 24 and load_font(size).getlength(text) + 4 > self.inner:
            size -= 4
        font = load_font(size)
        left, top, right, bottom = (
            round(v) for v in self.draw.textbbox((0, 0), text, font=font, stroke_width=2)
        )
        self._grow(bottom - top)
        x = (self.width - (right - left)) / 2 - left
        self.draw.text((x, self.y - top), text, font=font, fill=0, stroke_width=2, stroke_fill=0)
        self.y += bottom - top

    def badge(self, text: str, size: int) -> None:
        """White text on a black rounded box, for a priority ticket."""
        font = load_font(size)
        left, top, right, bottom = (round(v) for v in self.draw.textbbox((0, 0), text, font=font))
        pad_x, pad_y = size // 2, size // 4
        box_w, box_h = right - left + 2 * pad_x, bottom - top + 2 * pad_y
        self._grow(box_h)
        x0 = (self.width - box_w) // 2
        self.draw.rounded_rectangle(
            (x0, self.y, x0 + box_w, self.y + box_h), radius=pad_y * 2, fill=0
        )
        self.draw.text((x0 + pad_x - left, self.y + pad_y - top), text, font=font, fill=255)
        self.y += box_h

    def rule(self, dashed: bool = True) -> None:
        self._grow(2)
        y = self.y
        if dashed:
            for x in range(self.margin, self.width - self.margin, 12):
                self.draw.line((x, y, min(x + 6, self.width - self.margin), y), fill=0, width=2)
        else:
            self.draw.line((self.margin, y, self.width - self.margin, y), fill=0, width=2)
        self.y += 2

    def paste(self, image: Image.Image) -> None:
        self._grow(image.height)
        self.image.paste(image.convert("L"), ((self.width - image.width) // 2, self.y))
        self.y += image.height

    def finish(self) -> Image.Image:
        cropped = self.image.crop((0, 0, self.width, self.y + self.margin))
        # A fixed threshold, not dithering: text edges stay sharp on a thermal head, and
        # slightly dark anti-aliased pixels turn black so thin strokes do not break up.
        return cropped.point(lambda v: 255 if v >= 160 else 0, mode="1")


def qr_image(data: str, target_dots: int, *, min_module: int = 3) -> Image.Image:
    """A QR code about `target_dots` wide with whole-dot modules (blurry modules misscan)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=0)
    code.add_data(data)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    modules = len(matrix)
    module = max(min_module, target_dots // modules)
    small = Image.new("L", (modules, modules), 255)
    small.putdata([0 if cell else 255 for row in matrix for cell in row])
    return small.resize((modules * module, modules * module), Image.Resampling.NEAREST)


def render_ticket(content: TicketContent, paper: Paper = "80mm") -> Image.Image:
    """The whole ticket as a 1-bit image (mode "1"), `PAPER_DOTS[paper]` dots wide."""
    if paper not in PAPER_DOTS:
        raise ValueError(f"paper must be one of {sorted(PAPER_DOTS)}, not {paper!r}")
    width = PAPER_DOTS[paper]
    s = width / 576  # sizes below are for 80 mm; 58 mm scales down, never below legible

    def px(size: float, smallest: int = 18) -> int:
        return max(smallest, round(size * s))

    sheet = _Sheet(width, margin=px(20, 12))
    sheet.text(content.branch_name, px(32, 22), bold=True)
    sheet.gap(px(10, 6))
    sheet.rule()
    sheet.gap(px(18, 12))
    if content.priority_text():
        sheet.badge(content.priority_text(), px(30, 22))
        sheet.gap(px(14, 10))
    sheet.big(content.number, px(190, 96))
    sheet.gap(px(18, 12))
    sheet.text(content.service_zh, px(44, 28), bold=True)
    if content.service_en:
        sheet.text(content.service_en, px(28, 20))
    sheet.gap(px(10, 6))
    sheet.rule()
    sheet.gap(px(14, 10))
    if content.appointment_text:
        sheet.bilingual(content.appointment_text, px(26, 20), px(22, 18))
        sheet.gap(px(8, 6))
    sheet.text(content.ahead_zh, px(36, 26), bold=True)
    if content.ahead_en:
        sheet.text(content.ahead_en, px(26, 20))
    if content.wait_text:
        sheet.gap(px(4, 2))
        sheet.text(content.wait_text, px(24, 19))
    if content.where_text:
        sheet.gap(px(10, 6))
        sheet.bilingual(content.where_text, px(30, 22), px(24, 19))
    if content.url:
        sheet.gap(px(18, 12))
        sheet.paste(qr_image(content.url, target_dots=px(210, 150), min_module=4))
        sheet.gap(px(8, 6))
        for line in QR_CAPTION:
            sheet.text(line, px(22, 18))
    sheet.gap(px(8, 6))
    sheet.rule()
    sheet.gap(px(10, 8))
    sheet.text(content.issued_text(), px(22, 18))
    if content.footer:
        sheet.gap(px(6, 4))
        sheet.text(content.footer, px(20, 18))
    return sheet.finish()


def render_line(text: str, width: int, size: int = 24, *, bold: bool = False) -> Image.Image:
    """One line of text as a 1-bit image (for characters the printer's ROM font lacks)."""
    sheet = _Sheet(width, margin=0)
    sheet.text(text, size, bold=bold, spacing=1.0)
    return sheet.finish()


__all__ = [
    "PAPER_DOTS",
    "Paper",
    "TicketContent",
    "find_cjk_font",
    "load_font",
    "qr_image",
    "render_line",
    "render_ticket",
    "wrap_text",
]
