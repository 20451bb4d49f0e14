"""The kiosk as a customer uses it, against a real queue server and a simulated printer.

The server is a real uvicorn on loopback (conftest's LiveServer) and the printer a
PrinterSimulator on a TCP port, so the taps below go through the real client, the real
ESC/POS job and the real status queries. Waits are qtbot.waitUntil with a deadline.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from conftest import LiveServer
from kiosk_fixtures import LEFT, WAIT_MS, take_ticket
from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice
from pyzbar import pyzbar

from kiosk.app import KioskWindow
from kiosk.flow import PrintState, Screen


def screen_qr(window: KioskWindow) -> list[str]:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    window.ticket.qr.pixmap().save(buffer, "PNG")
    image = Image.open(io.BytesIO(bytes(buffer.data().data()))).convert("L")
    return [code.data.decode() for code in pyzbar.decode(image)]


def test_two_taps_give_the_number_the_server_issued_and_a_printed_ticket(
    qtbot, kiosk, server, printer
):
    take_ticket(qtbot, kiosk)
    qtbot.waitUntil(lambda: kiosk.flow.ticket.print_state is PrintState.PRINTED, timeout=WAIT_MS)
    ticket = kiosk.flow.ticket
    on_server = server.client("manager").get(f"/tickets/{ticket.id}").json()
    assert on_server["number"] == ticket.number == kiosk.ticket.number.text()
    assert on_server["source"] == "kiosk"
    assert kiosk.ticket.status.message_label.text() == "请取走打印的号票"
    # The live page: shown on screen and printed as the same QR code.
    assert ticket.url.startswith(server.base_url + "/t/") and len(ticket.url) > len(
        server.base_url + "/t/"
    )
    assert screen_qr(kiosk) == [ticket.url]
    assert printer.wait_for_tickets(1, timeout=5)
    printed = Image.open(printer.tickets[0]).convert("L")
    assert [c.data.decode() for c in pyzbar.decode(printed)] == [ticket.url]


def test_out_of_paper_the_screen_becomes_the_ticket_and_the_staff_are_told(
    qtbot, kiosk, server, printer
):
    printer.paper_out = True
    take_ticket(qtbot, kiosk)
    qtbot.waitUntil(lambda: kiosk.flow.ticket.print_state is PrintState.FAILED, timeout=WAIT_MS)
    number = kiosk.flow.ticket.number
    assert kiosk.ticket.number.text() == number
    assert kiosk.ticket.fallback.isVisible()
    assert number in kiosk.ticket.fallback.text() and "拍下" in kiosk.ticket.fallback.text()
    assert kiosk.ticket.status.message_label.text() == "打印纸已用完，已通知工作人员处理"
    assert screen_qr(kiosk) == [kiosk.flow.ticket.url]
    assert printer.printed == [] and printer.lost_jobs == 0  # the job was never sent

    manager = server.client("manager")

    def printer_on_server() -> dict[str, Any]:
        devices = {d["device"]: d for d in manager.get("/devices").json()}
        return devices.get("kiosk-7/printer") or {}

    def reported() -> None:
        assert printer_on_server().get("health") == "error"
        assert "paper" in printer_on_server()["detail"]

    qtbot.waitUntil(reported, timeout=WAIT_MS)

    # Paper loaded again: the next ticket prints and the manager sees the printer is fine.
    printer.paper_out = False
    qtbot.mouseClick(kiosk.ticket.finish, LEFT)
    take_ticket(qtbot, kiosk, "B")
    qtbot.waitUntil(lambda: kiosk.flow.ticket.print_state is PrintState.PRINTED, timeout=WAIT_MS)
    assert not kiosk.ticket.fallback.isVisible()

    def recovered() -> None:
        assert printer_on_server().get("health") == "ok"

    qtbot.waitUntil(recovered, timeout=WAIT_MS)


def test_server_gone_shows_offline_and_the_kiosk_comes_back_by_itself(
    qtbot, make_kiosk, branch_db, clock
):
    db, tokens = branch_db
    first = LiveServer(db, tokens, clock).start()
    second: LiveServer | None = None
    try:
        window = make_kiosk(first.base_url, tokens["kiosk"])
        qtbot.mouseClick(window.attract, LEFT)
        assert window.flow.screen is Screen.HOME
        first.stop()
        qtbot.waitUntil(lambda: window.stack.currentWidget() is window.offline, timeout=WAIT_MS)
        # A touch does nothing useful while offline; the screen says to ask the staff.
        qtbot.mouseClick(window.offline, LEFT)
        assert window.flow.screen is Screen.OFFLINE
        second = LiveServer(db, tokens, clock, port=first.port).start()
        qtbot.waitUntil(lambda: window.flow.screen is Screen.ATTRACT, timeout=WAIT_MS)
        take_ticket(qtbot, window, "B")
        assert window.flow.ticket.number.startswith("B")
    finally:
        if second is not None:
            second.stop()
        first.stop()


def test_switching_language_mid_flow_re_translates_and_the_next_customer_gets_chinese(
    qtbot, kiosk, tr
):
    qtbot.mouseClick(kiosk.attract, LEFT)
    qtbot.mouseClick(kiosk.home.tiles["A"], LEFT)
    assert kiosk.guidance.title.text() == "办理“现金”前请准备"
    assert kiosk.guidance.take.text() == "取号"
    qtbot.mouseClick(kiosk.guidance.language.buttons["en"], LEFT)
    assert tr.language == "en"
    assert kiosk.guidance.title.text() == "Before you start: Cash"
    assert kiosk.guidance.take.text() == "Take a ticket"
    assert kiosk.home.tiles["A"].title_label.text() == "Cash"
    qtbot.mouseClick(kiosk.guidance.take, LEFT)
    qtbot.waitUntil(lambda: kiosk.flow.screen is Screen.TICKET, timeout=WAIT_MS)
    assert kiosk.ticket.title.text() == "Here is your ticket"
    assert kiosk.ticket.service.text() == "Cash"
    assert kiosk.ticket.ahead.text() == "Nobody is ahead of you – please listen for your number"
    qtbot.mouseClick(kiosk.ticket.language.buttons["zh"], LEFT)
    assert kiosk.ticket.service.text() == "现金"
    assert kiosk.ticket.ahead.text() == "前面没有人等候，请留意叫号"
    qtbot.mouseClick(kiosk.ticket.language.buttons["en"], LEFT)
    qtbot.mouseClick(kiosk.ticket.finish, LEFT)
    assert kiosk.flow.screen is Screen.ATTRACT and tr.language == "zh"


def test_an_idle_kiosk_returns_to_the_attract_screen(qtbot, make_kiosk, server):
    window = make_kiosk(
        server.base_url, server.tokens["kiosk"], home_s=0.3, guidance_s=0.3, ticket_s=0.3
    )
    qtbot.mouseClick(window.attract, LEFT)
    qtbot.mouseClick(window.home.tiles["C"], LEFT)
    assert window.flow.screen is Screen.GUIDANCE
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.attract, timeout=WAIT_MS)
    # The ticket screen stays only 0.3 s: on a busy machine a poll can miss it, so every
    # screen shown is recorded rather than polled for.
    screens: list[Any] = []
    window.stack.currentChanged.connect(lambda index: screens.append(window.stack.widget(index)))
    qtbot.mouseClick(window.attract, LEFT)
    qtbot.mouseClick(window.home.tiles["C"], LEFT)
    qtbot.mouseClick(window.guidance.take, LEFT)
    qtbot.waitUntil(lambda: window.ticket in screens, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.attract, timeout=WAIT_MS)
    assert screens.index(window.guidance) < screens.index(window.ticket)


def test_the_attract_clock_and_opening_hours_follow_the_servers_time(qtbot, kiosk, server, clock):
    # The server's day is 27 November, 10:00 in Shanghai, whatever this machine's clock says
    # (the demo's server runs on branch time, faster than real time).
    qtbot.waitUntil(lambda: kiosk.server_clock.now() is not None, timeout=WAIT_MS)
    assert abs((kiosk._now_local() - clock()).total_seconds()) < 60
    assert kiosk._now_local().utcoffset() == timedelta(hours=8)
    clock.advance(hours=3)
    server.client("kiosk").post("/tickets", json={"service": "A"})  # an event brings the time
    qtbot.waitUntil(
        lambda: abs((kiosk._now_local() - clock()).total_seconds()) < 60, timeout=WAIT_MS
    )
    assert kiosk._clock_text() == "13:00"
