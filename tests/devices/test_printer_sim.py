"""Tickets printed through real transports to the simulator: TCP socket, pty, file."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from pyzbar import pyzbar

from devices.errors import DeviceUnavailable
from devices.printer import TicketContent, TicketPrinter, printer_for_url, probe
from devices.printer.parser import EscposParser, compose
from devices.printer.sim import PrinterSimulator

CONTENT = TicketContent(
    branch_name="测试支行 Test Branch",
    service_zh="对公开户",
    service_en="Business Accounts",
    number="C007",
    ahead_zh="前面还有 2 人",
    ahead_en="People ahead of you: 2",
    wait_text="预计等候约 25 分钟 / Estimated wait: about 25 min",
    issued_at=datetime(2026, 11, 27, 10, 5),
    url="http://192.168.1.10:8000/t/Zq81mK2x",
    footer="请留意叫号\nPlease listen for your number",
    priority_label="预约 Appointment",
    appointment_text="您预约的时间是 10:30，届时将为您优先叫号",
)


def qr_codes(path: Path) -> list[str]:
    return [c.data.decode() for c in pyzbar.decode(Image.open(path).convert("L"))]


@pytest.fixture(params=["tcp", "pty"])
def sim(request, tmp_path) -> Iterator[PrinterSimulator]:
    with PrinterSimulator(tmp_path / "out", transport=request.param) as simulator:
        yield simulator


def test_the_simulator_url_names_its_transport(sim):
    prefix = "escpos+tcp://127.0.0.1:" if sim.transport == "tcp" else "escpos+serial:///dev/"
    assert sim.url.startswith(prefix)
    with printer_for_url(sim.url) as printer:
        assert isinstance(printer, TicketPrinter)


def test_an_image_ticket_arrives_as_a_png_with_a_scannable_qr(sim):
    with printer_for_url(sim.url) as printer:
        printer.print_ticket(CONTENT)
        assert sim.wait_for_tickets(1, timeout=10)
    png = sim.tickets[0]
    assert png.exists() and png.suffix == ".png"
    assert Image.open(png).width == 576 and Image.open(png).height > 700
    assert qr_codes(png) == [CONTENT.url]
    assert sim.printed[0].cut == "full"


def test_a_text_mode_ticket_carries_chinese_text_and_a_native_qr(sim):
    with printer_for_url(sim.url + "?mode=text&paper=58&cut=partial") as printer:
        printer.print_ticket(CONTENT)
        assert sim.wait_for_tickets(1, timeout=10)
    text = sim.texts[0]
    assert "对公开户" in text and "C007" in text and "前面还有 2 人" in text
    assert "【预约 Appointment】" in text
    assert "您预约的时间是 10:30" in text
    assert sim.qr_data[0] == [CONTENT.url]
    assert qr_codes(sim.tickets[0]) == [CONTENT.url]
    assert sim.printed[0].cut == "partial"


@pytest.mark.parametrize("mode", ["image", "text"])
def test_the_paper_is_cut_right_after_the_last_line(sim, mode):
    """A fixed feed before the cut left about 15 mm of blank paper on every ticket; now the
    printer feeds only to its cutter, so the last line is followed by the margin alone."""
    with printer_for_url(f"{sim.url}?mode={mode}") as printer:
        printer.print_ticket(CONTENT)
        assert sim.wait_for_tickets(1, timeout=10)
    image = Image.open(sim.tickets[0]).convert("L")
    inked_rows = [
        y
        for y in range(image.height)
        if image.crop((0, y, image.width, y + 1)).getextrema()[0] < 128
    ]
    assert image.height - 1 - inked_rows[-1] <= 32  # 4 mm at 203 dpi


def test_several_tickets_in_a_row(sim):
    with printer_for_url(sim.url + "?mode=text") as printer:
        for n in range(3):
            printer.print_ticket(TicketContent(**{**vars(CONTENT), "number": f"C00{n}"}))
        assert sim.wait_for_tickets(3, timeout=10)
    assert [t.split("\n")[3] for t in sim.texts] == ["C000", "C001", "C002"]


def test_statuses_through_the_real_transport(sim):
    with printer_for_url(sim.url) as printer:
        assert printer.status().ready
        sim.paper_near_end = True
        near = printer.status()
        assert near.ready and near.paper_near_end and near.health == "warning"
        sim.paper_out = True
        out = printer.status()
        assert out.paper_out and not out.ready and not out.unknown and out.health == "error"
        sim.paper_out = sim.paper_near_end = False
        sim.cover_open = True
        cover = printer.status()
        assert cover.cover_open and not cover.online and not cover.ready
        sim.cover_open = False
        sim.error = True
        assert "auto-cutter" in printer.status().detail
        sim.error = False
        assert printer.status().ready


def test_a_silent_printer_is_unknown_within_a_second_and_never_paper_ok(sim):
    with printer_for_url(sim.url) as printer:
        sim.silent = True
        started = time.monotonic()
        status = printer.status()
        assert time.monotonic() - started < 1.0
        assert status.unknown and not status.ready and status.health == "offline"
        sim.silent = False
        # The late answer must not be taken for the next query's.
        assert printer.status().ready


def test_a_printer_answering_garbage_is_unknown(sim):
    with printer_for_url(sim.url) as printer:
        sim.garbled = True
        status = printer.status()
        assert status.unknown and status.health == "error" and "ff" in status.detail


def test_a_job_sent_while_out_of_paper_is_not_printed(sim):
    sim.paper_out = True
    with printer_for_url(sim.url + "?mode=text") as printer:
        printer.print_ticket(CONTENT)
        assert sim.wait_for_lost_jobs(1, timeout=10)
    assert sim.tickets == []


def test_probe_reports_what_it_finds(sim):
    assert "verdict  ready" in probe(sim.url)
    sim.paper_out = True
    report = probe(sim.url)
    assert "NOT READY: paper out" in report and "DLE EOT 4  → 0x7e" in report
    sim.paper_out, sim.silent = False, True
    assert "NOT SURE" in probe(sim.url)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_printer_on_a_closed_port_is_unavailable_fast():
    started = time.monotonic()
    with pytest.raises(DeviceUnavailable, match="cannot connect"):
        printer_for_url(f"escpos+tcp://127.0.0.1:{closed_port()}?timeout=5")
    assert time.monotonic() - started < 2.0
    assert "cannot reach the printer" in probe(f"escpos+tcp://127.0.0.1:{closed_port()}")


def test_a_network_printer_that_restarts_is_reconnected(tmp_path):
    first = PrinterSimulator(tmp_path / "a").start()
    port = first.port
    printer = printer_for_url(first.url + "?mode=text")
    try:
        printer.print_ticket(CONTENT)
        assert first.wait_for_tickets(1, timeout=10)
        first.stop()
        with PrinterSimulator(tmp_path / "b", port=port) as second:
            assert printer.status().ready  # the dropped connection is noticed and reopened
            printer.print_ticket(CONTENT)
            assert second.wait_for_tickets(1, timeout=10)
    finally:
        printer.close()
        first.stop()


def test_a_serial_printer_through_a_pyserial_socket_url(tmp_path):
    with PrinterSimulator(tmp_path) as sim:
        port = sim.port
        url = f"escpos+serial://socket://127.0.0.1:{port}?baud=115200&mode=text"
        with printer_for_url(url) as printer:
            assert printer.status().ready
            printer.print_ticket(CONTENT)
            assert sim.wait_for_tickets(1, timeout=10)
        assert "对公开户" in sim.texts[0]


def test_a_device_file_printer(tmp_path):
    capture = tmp_path / "lp0"
    capture.touch()  # a plain file stands in for /dev/usb/lp0
    with printer_for_url(f"escpos+file://{capture}") as printer:
        status = printer.status()
        assert status.one_way and status.unknown and status.health == "ok"
        printer.print_ticket(CONTENT)
    jobs = []
    EscposParser(on_cut=jobs.append, status=lambda n: 0x12).feed(capture.read_bytes())
    assert len(jobs) == 1
    image = compose(jobs[0])
    assert [c.data.decode() for c in pyzbar.decode(image.convert("L"))] == [CONTENT.url]


def test_a_device_file_that_is_a_character_device_answers_status(tmp_path):
    with PrinterSimulator(tmp_path, transport="pty") as sim:
        path = sim.url.removeprefix("escpos+serial://")
        with printer_for_url(f"escpos+file://{path}?mode=text") as printer:
            sim.paper_out = True
            assert printer.status().paper_out
            sim.paper_out = False
            printer.print_ticket(CONTENT)
            assert sim.wait_for_tickets(1, timeout=10)


def test_a_missing_device_file_is_unavailable_not_created(tmp_path):
    with pytest.raises(DeviceUnavailable):
        printer_for_url(f"escpos+file://{tmp_path}/usb/lp0")
    assert not (tmp_path / "usb").exists()
