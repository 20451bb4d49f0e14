"""The paper ticket says what the screen says: where to go, the booked slot, the wait,
people ahead, the priority class by its one name, and the 温馨提示."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PIL import Image
from pyzbar import pyzbar

from devices.printer import printer_for_url
from devices.printer.sim import PrinterSimulator
from kiosk.flow import IssuedTicket, PrintState
from kiosk.printing import ticket_content
from kiosk.screens import TicketScreen
from ui.i18n import Catalog, Translator

BRANCH = {"name": "演示支行 Demo Branch", "timezone": "Asia/Shanghai"}
CASH = {
    "names": {"zh": "现金及转账", "en": "Cash & transfers"},
    "guidance": {"zh": {"where": "1–5号窗口"}, "en": {"where": "Counters 1–5"}},
}
TICKET = IssuedTicket(
    id=7,
    number="A023",
    service="A",
    people_ahead=4,
    eta_s=27 * 60,
    url="http://192.168.1.10:8000/t/k3J9xQ2mPa7LwZ",
    issued_at="2026-11-27T01:05:00+00:00",
    print_state=PrintState.PRINTED,
)
CHECKED_IN = replace(
    TICKET,
    number="C011",
    priority="appointment",
    appointment_note="kiosk.qr.early_checked_in",
    appointment_time="10:30",
)


def test_a_ticket_carries_where_to_go_the_wait_and_the_reminder():
    content = ticket_content(TICKET, BRANCH, CASH)
    assert (content.ahead_zh, content.ahead_en) == ("前面还有 4 人", "People ahead of you: 4")
    assert content.wait_text == "预计等候约 27 分钟 / Estimated wait: about 27 min"
    assert content.where_text == "请到1–5号窗口办理 / Served at Counters 1–5"
    assert content.footer.splitlines() == [
        "温馨提示：请留意叫号，过号请重新取号，当日有效。",
        "Please listen for your number; if you miss it, take a new ticket. Valid today only.",
    ]
    assert content.priority_label == "" and content.appointment_text == ""
    assert content.issued_at.hour == 9  # the branch's clock, not UTC


def test_a_long_wait_is_capped_on_paper_as_on_screen():
    content = ticket_content(replace(TICKET, eta_s=446 * 60), BRANCH, CASH)
    assert content.wait_text == (
        "预计等候 2 小时以上，建议预约或改日办理 / Over 2 hours — consider booking an appointment"
    )


def test_nobody_ahead_reads_as_on_screen_and_drops_the_wait():
    content = ticket_content(replace(TICKET, people_ahead=0, eta_s=0), BRANCH, CASH)
    assert content.ahead_zh == "前面没有人等候，请留意叫号"
    assert content.wait_text == ""


@pytest.mark.parametrize(
    ("priority", "badge"),
    [("care", "优先服务 Priority"), ("vip", "贵宾 VIP"), ("appointment", "预约 Appointment")],
)
def test_the_priority_badge_uses_the_catalogs_one_name(priority, badge):
    assert ticket_content(replace(TICKET, priority=priority), BRANCH, CASH).priority_label == badge


def test_an_appointment_check_in_prints_its_booked_slot():
    content = ticket_content(CHECKED_IN, BRANCH, CASH)
    assert content.appointment_text == (
        "您预约的时间是 10:30，届时将为您优先叫号 / "
        "Your appointment is at 10:30; from then on you'll be called first"
    )


@pytest.mark.parametrize("ticket", [TICKET, CHECKED_IN, replace(TICKET, eta_s=97 * 60)])
def test_the_screen_and_the_paper_say_the_same(qtbot, ticket):
    tr = Translator(Catalog.load())
    screen = TicketScreen(tr)
    qtbot.addWidget(screen)
    screen.show_ticket(ticket, CASH)
    paper = ticket_content(ticket, BRANCH, CASH)
    assert screen.ahead.text() == paper.ahead_zh
    assert screen.eta.text() == paper.wait_text.split(" / ")[0]
    assert screen.where.text() == paper.where_text.split(" / ")[0]
    if ticket.appointment_note:
        assert screen.note.text() == paper.appointment_text.split(" / ")[0]
        assert screen.title.text() == "签到成功"
    else:
        assert screen.title.text() == "取号成功"
    tr.set_language("en")
    assert screen.eta.text() == paper.wait_text.split(" / ")[1]
    assert screen.ahead.text() == paper.ahead_en


@pytest.mark.parametrize("mode", ["image", "text"])
def test_the_printed_ticket_keeps_its_qr_and_carries_the_new_lines(tmp_path, mode):
    content = ticket_content(CHECKED_IN, BRANCH, CASH)
    with PrinterSimulator(tmp_path) as sim:
        with printer_for_url(f"{sim.url}?mode={mode}") as printer:
            printer.print_ticket(content)
        assert sim.wait_for_tickets(1, timeout=10)
        image = Image.open(sim.tickets[0]).convert("L")
        assert [c.data.decode() for c in pyzbar.decode(image)] == [CHECKED_IN.url]
        if mode == "text":
            # "请到1–5号窗口办理" goes as a picture: the ROM font (GB2312) has no en dash.
            text = sim.texts[0]
            for line in ("您预约的时间是 10:30", "温馨提示：请留意叫号", "【预约 Appointment】"):
                assert line in text
