"""The ticket image: size, font, wrapping, QR, and nothing cut off on narrow paper."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from PIL import Image, ImageFont
from pyzbar import pyzbar

from devices.errors import MissingDependency
from devices.printer import TicketContent, layout, render_ticket
from devices.printer.layout import wrap_text

CONTENT = TicketContent(
    branch_name="演示银行股份有限公司北京市分行示范路商业大厦支行 Demo Bank Shifan Road Sub-branch",
    service_zh="个人外汇及跨境汇款业务",
    service_en="Personal Foreign Exchange and Cross-border Remittance",
    number="A023",
    ahead_zh="前面还有 12 人",
    ahead_en="People ahead of you: 12",
    wait_text="预计等候约 1 小时 20 分钟 / Estimated wait: about 1 h 20 min",
    issued_at=datetime(2026, 11, 27, 10, 5),
    url="http://192.168.1.10:8000/t/k3J9xQ2mPa7LwZ",
    footer=(
        "温馨提示：请留意叫号，过号请重新取号，当日有效。\n"
        "Please listen for your number; if you miss it, take a new ticket. Valid today only."
    ),
    priority_label="优先服务 Priority",
    where_text="请到6号窗口（贵宾室旁）办理 / Served at Counter 6 (by the VIP room)",
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
    assert CONTENT.priority_text() == "优先服务 Priority"


@pytest.mark.parametrize("field", ["where_text", "appointment_text"])
def test_where_to_go_and_the_booked_slot_take_their_own_lines(field):
    plain = render_ticket(CONTENT, "80mm")
    more = render_ticket(
        TicketContent(**{**vars(CONTENT), field: "您预约的时间是 09:00 / Appointment 09:00"}),
        "80mm",
    )
    if field == "where_text":  # CONTENT has one: taking it away makes the ticket shorter
        plain, more = render_ticket(TicketContent(**{**vars(CONTENT), field: ""}), "80mm"), plain
    assert more.height > plain.height


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
