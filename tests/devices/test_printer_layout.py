"""The ticket image: size, font, wrapping, QR, and nothing cut off on narrow paper."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from PIL import Image, ImageFont
from pyzbar import pyzbar

from devices.errors import MissingDependency
from devices.printer import TicketContent, format_wait, layout, render_ticket
from devices.printer.layout import wrap_text

CONTENT = TicketContent(
    branch_name="演示银行股份有限公司北京市分行示范路商业大厦支行 Demo Bank Shifan Road Sub-branch",
    service_zh="个人外汇及跨境汇款业务",
    service_en="Personal Foreign Exchange and Cross-border Remittance",
    number="A023",
    people_ahead=12,
    wait_text=format_wait(35),
    issued_at=datetime(2026, 11, 27, 10, 5),
    url="http://192.168.1.10:8000/t/k3J9xQ2mPa7LwZ",
    footer="请留意叫号，过号请重新取号。Please listen for your number, missed ones need a new one.",
    priority_label="爱心",
)


def qr_codes(image: Image.Image) -> list[str]:
    return [c.data.decode() for c in pyzbar.decode(image.convert("L"))]


def ink_columns(image: Image.Image) -> tuple[int, int]:
    """Leftmost and rightmost columns with any black dot."""
    left, _, right, _ = image.convert("L").point(lambda v: 255 - v).getbbox()
    return left, right


@pytest.mark.parametrize(("paper", "dots"), [("80mm", 576), ("58mm", 384)])
def test_a_ticket_is_one_bit_the_width_of_the_head_and_nothing_is_cut_off(paper, dots):
    image = render_ticket(CONTENT, paper)
    assert image.mode == "1" and image.width == dots
    left, right = ink_columns(image)
    assert left >= 8 and right <= dots - 8  # long names wrapped inside the margins
    assert qr_codes(image) == [CONTENT.url]


def test_the_number_is_the_biggest_thing_on_the_ticket():
    plain = TicketContent(**{**vars(CONTENT), "priority_label": "", "branch_name": "X"})
    image = render_ticket(plain, "80mm").convert("L")
    # Bands of rows with ink, top to bottom: branch name, rule, number, …
    inked = (np.asarray(image) < 128).any(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], inked.astype(int), [0]))))
    runs = list(edges[1::2] - edges[::2])
    assert max(runs[:4]) >= 120  # about 15 mm tall at 203 dpi


def test_a_priority_ticket_shows_its_label():
    plain = render_ticket(TicketContent(**{**vars(CONTENT), "priority_label": ""}), "80mm")
    assert render_ticket(CONTENT, "80mm").height > plain.height
    assert CONTENT.priority_text() == "爱心 Priority"


def test_people_ahead_wording():
    one = TicketContent(**{**vars(CONTENT), "people_ahead": 1})
    none = TicketContent(**{**vars(CONTENT), "people_ahead": 0})
    assert CONTENT.ahead_lines() == ("前面还有 12 人", "12 people ahead")
    assert one.ahead_lines()[1] == "1 person ahead"
    assert none.ahead_lines() == ("您是下一位", "You are next")
    assert "35" in format_wait(35) and "分钟" in format_wait(35)


def test_wrapping_breaks_between_words_and_chinese_characters():
    font = layout.load_font(24)
    lines = wrap_text("个人外汇及跨境汇款业务 Personal Foreign Exchange", 200, font.getlength)
    assert all(font.getlength(line) <= 200 for line in lines)
    assert "".join(lines).replace(" ", "") == "个人外汇及跨境汇款业务PersonalForeignExchange"
    assert "Foreign" in " ".join(lines).split()  # a word is not split
    # Closing punctuation never starts a line.
    narrow = wrap_text("请留意叫号，过号请重新取号", 5 * 24, font.getlength)
    assert not any(line.startswith("，") for line in narrow)


def test_the_cjk_font_is_found_and_renders_chinese():
    assert "wqy" in layout.find_cjk_font().lower()
    font = ImageFont.truetype(layout.find_cjk_font(), 24)
    assert font.getbbox("中")[2] > 16


def test_without_any_cjk_font_the_error_names_the_package(monkeypatch):
    monkeypatch.setattr(layout, "FONT_CANDIDATES", ())
    monkeypatch.delenv("BRANCHQ_CJK_FONT", raising=False)
    monkeypatch.setenv("PATH", "")  # no fc-list either
    layout.find_cjk_font.cache_clear()
    try:
        with pytest.raises(MissingDependency, match="fonts-wqy-microhei"):
            layout.find_cjk_font()
    finally:
        layout.find_cjk_font.cache_clear()
