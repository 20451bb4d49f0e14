"""The exact ESC/POS bytes the ticket printer sends: cut, raster, Chinese text, QR, status."""

from __future__ import annotations

from datetime import datetime

import pytest
from escpos.printer import Dummy
from PIL import Image

from devices.printer import TicketContent
from devices.printer.commands import (
    chinese_text,
    feed_and_cut,
    image_job,
    in_printer_font,
    native_qr,
    raster,
    text_job,
)
from devices.printer.layout import render_ticket
from devices.printer.status import status_request

CONTENT = TicketContent(
    branch_name="测试支行 Test Branch",
    service_zh="个人现金业务",
    service_en="Personal Cash",
    number="A023",
    ahead_zh="前面还有 3 人",
    ahead_en="People ahead of you: 3",
    wait_text="预计等候约 8 分钟 / Estimated wait: about 8 min",
    issued_at=datetime(2026, 11, 27, 10, 5),
    url="http://127.0.0.1:8000/t/abc123",
    footer="请留意叫号",
)


def test_cut_feeds_only_to_the_cutter_then_cuts():
    # GS V 65/66 n: the printer feeds by its own head-to-cutter distance (plus n = 0), so
    # no fixed ESC d feed leaves a blank tail on the ticket.
    assert feed_and_cut() == b"\x1dVA\x00"
    assert feed_and_cut(partial=True) == b"\x1dVB\x00"


def test_status_requests_are_dle_eot_n():
    assert [status_request(n) for n in (1, 2, 3, 4)] == [
        b"\x10\x04\x01",
        b"\x10\x04\x02",
        b"\x10\x04\x03",
        b"\x10\x04\x04",
    ]
    with pytest.raises(ValueError):
        status_request(5)


def test_raster_header_and_bits_for_a_known_image():
    image = Image.new("1", (16, 2), 1)  # white
    image.putpixel((0, 0), 0)  # one black dot, top left
    image.putpixel((15, 1), 0)  # one black dot, bottom right
    assert raster(image) == (
        b"\x1dv0\x00"  # GS v 0, normal density
        + b"\x02\x00\x02\x00"  # 2 bytes wide, 2 rows
        + b"\x80\x00"
        + b"\x00\x01"
    )


def test_raster_matches_python_escpos_bit_image_raster(capsys):
    image = Image.new("1", (24, 5), 1)
    for x, y in [(0, 0), (3, 1), (9, 2), (23, 4), (12, 3)]:
        image.putpixel((x, y), 0)
    dummy = Dummy()
    dummy.image(image, impl="bitImageRaster")
    capsys.readouterr()  # python-escpos prints a note about its unknown paper width
    assert raster(image) == dummy.output


def test_raster_pads_odd_widths_with_white_and_splits_tall_images_into_bands():
    assert raster(Image.new("1", (10, 1), 1)) == b"\x1dv0\x00\x02\x00\x01\x00\x00\x00"
    tall = raster(Image.new("1", (8, 300), 1))
    assert tall.count(b"\x1dv0") == 2
    assert tall.startswith(b"\x1dv0\x00\x01\x00\x00\x01")  # 256 rows
    assert b"\x1dv0\x00\x01\x00\x2c\x00" in tall  # then 44


def test_an_image_job_is_init_raster_feed_cut():
    image = render_ticket(CONTENT, "80mm")
    job = image_job(image)
    assert job.startswith(b"\x1b@" + b"\x1dv0\x00" + bytes((72, 0)))  # 576 dots = 72 bytes
    assert job.endswith(b"\x1dVA\x00")
    bands = -(-image.height // 256)
    assert len(job) == 2 + 8 * bands + 72 * image.height + 4  # GS V A 0


def test_chinese_text_is_framed_by_fs_and_and_fs_dot():
    assert chinese_text("前面") == b"\x1c&" + "前面".encode("gb18030") + b"\x1c."
    assert chinese_text("前面") == b"\x1c&\xc7\xb0\xc3\xe6\x1c."
    assert chinese_text("A023") == b"A023"


def test_native_qr_follows_gs_paren_k():
    data = "http://x/t/1"
    assert native_qr(data, 6) == (
        b"\x1d(k\x04\x001A2\x00"  # model 2
        + b"\x1d(k\x03\x001C\x06"  # module 6 dots
        + b"\x1d(k\x03\x001E1"  # error correction M
        + b"\x1d(k"
        + bytes((len(data) + 3, 0))
        + b"1P0"
        + data.encode()  # store
        + b"\x1d(k\x03\x001Q0"  # print
    )


def test_a_text_job_uses_chinese_mode_native_qr_and_big_number():
    job = text_job(CONTENT, "80mm")
    assert job.startswith(b"\x1b@\x1ba\x01")
    assert b"\x1c&" + "个人现金业务".encode("gb18030") + b"\x1c.\n" in job
    assert b"\x1d!\x33A023\n\x1d!\x00" in job  # four times wide and high
    assert b"\x1d(k\x03\x001Q0" in job
    assert b"1P0" + CONTENT.url.encode() in job
    assert b"\x1dv0" not in job  # nothing drawn as an image
    assert job.endswith(b"\x1dVA\x00")


def test_rare_characters_in_text_mode_go_as_an_image_line():
    assert in_printer_font("北京示范路支行") and not in_printer_font("喆堃支行")
    job = text_job(TicketContent(**{**vars(CONTENT), "branch_name": "喆堃支行"}), "58mm")
    assert "喆堃".encode("gb18030") not in job
    assert b"\x1dv0\x00" + bytes((48, 0)) in job  # one 384-dot raster line
