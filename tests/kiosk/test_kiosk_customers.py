"""The kiosk's customers beyond the two-tap ticket, on a live server with simulated devices.

A branch with forms, a one-stop bundle and an imported VIP list (tests/server's visit
config); a real ID card reader simulator on a pty; a video file as the camera; typed
scans through the keyboard-wedge filter; and the staff's lockdown and maintenance screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import FakeClock, LiveServer, make_db, sign_in
from kiosk_fixtures import LEFT, WAIT_MS, with_devices
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication
from server.visit_helpers import VISIT_CONFIG, write_vip_list

from devices.idcard.frames import Command, Status
from devices.idcard.sim import Fault
from devices.printer.sim import PrinterSimulator
from kiosk.app import KioskWindow
from kiosk.flow import Screen
from queue_server.cli import main as branchq
from tools.fixtures.qrframes import place_on_canvas, render_qr


@pytest.fixture
def branch(tmp_path: Path, clock: FakeClock) -> Iterator[LiveServer]:
    db = tmp_path / "branch.db"
    tokens = make_db(db, VISIT_CONFIG)
    assert branchq(["customers", "import", str(write_vip_list(tmp_path / "vip.csv")),
                    "--db", str(db)]) == 0  # fmt: skip
    live = LiveServer(db, tokens, clock).start()
    try:
        yield live
    finally:
        live.stop()


def on_server(branch: LiveServer, ticket_id: int) -> dict:
    return branch.client("manager").get(f"/tickets/{ticket_id}").json()


def take(qtbot, window: KioskWindow, code: str) -> dict:
    qtbot.mouseClick(window.home.tiles[code], LEFT)
    assert window.flow.screen is Screen.GUIDANCE
    qtbot.mouseClick(window.guidance.take, LEFT)
    qtbot.waitUntil(lambda: window.flow.screen is Screen.TICKET, timeout=WAIT_MS)
    return {"id": window.flow.ticket.id, "number": window.flow.ticket.number}


def test_an_elderly_customers_card_gives_priority_and_fills_the_form_with_consent(
    qtbot, make_kiosk, branch, reader, devices
):
    peripherals = with_devices(devices, idcard=f"{reader.url}?poll=0.05")
    window = make_kiosk(branch.base_url, branch.tokens["kiosk"], peripherals=peripherals)
    peripherals.start()
    reader.place("elderly")  # 测试一, born 1950
    qtbot.waitUntil(lambda: window.flow.identified is not None, timeout=WAIT_MS)
    assert window.stack.currentWidget() is window.home
    greeting = window.home.customer.message_label.text()
    assert "测*一" in greeting and "测试一" not in greeting and "优先" in greeting

    qtbot.mouseClick(window.home.tiles["C"], LEFT)  # account opening needs a form
    assert window.guidance.consent.isVisible() and not window.guidance.consent.isChecked()
    qtbot.mouseClick(window.guidance.consent, LEFT)
    assert window.flow.consent and window.guidance.consent.isChecked()
    qtbot.mouseClick(window.guidance.take, LEFT)
    qtbot.waitUntil(lambda: window.flow.screen is Screen.TICKET, timeout=WAIT_MS)
    assert window.ticket.card_reminder.isVisible()  # "please take your ID card"
    assert window.ticket.note.text() == "已按优先服务为您排队"

    ticket = on_server(branch, window.flow.ticket.id)
    assert (ticket["priority"], ticket["has_eform"], ticket["service"]) == ("care", True, "C")
    counter = sign_in(branch, 3)
    called = counter.post("/counters/3/call-next").json()["ticket"]
    assert called["id"] == ticket["id"]  # care goes first
    form = counter.get(f"/tickets/{ticket['id']}/eform").json()["fields"]
    assert form["name"] == "测试一" and form["birth_date"] == "1950-03-15"
    assert form["valid_to"] == "长期"

    # "Done" with the card still on the reader reminds them instead of leaving.
    qtbot.mouseClick(window.ticket.finish, LEFT)
    assert window.flow.screen is Screen.TICKET and window.ticket.card_reminder.isVisible()
    reader.lift()
    qtbot.waitUntil(lambda: not window.ticket.card_reminder.isVisible(), timeout=WAIT_MS)

    # The next customer starts fresh: nothing of this one is left on the kiosk.
    qtbot.mouseClick(window.ticket.finish, LEFT)
    assert window.flow.card is None and window.flow.identified is None
    assert not window.home.customer.isVisible()


def test_without_consent_the_form_stays_on_the_kiosk(qtbot, make_kiosk, branch, reader, devices):
    peripherals = with_devices(devices, idcard=f"{reader.url}?poll=0.05")
    window = make_kiosk(branch.base_url, branch.tokens["kiosk"], peripherals=peripherals)
    peripherals.start()
    qtbot.mouseClick(window.attract, LEFT)
    qtbot.mouseClick(window.home.tiles["C"], LEFT)
    reader.place("adult")  # placed on the guidance screen: identified there
    qtbot.waitUntil(lambda: window.flow.identified is not None, timeout=WAIT_MS)
    assert window.flow.screen is Screen.GUIDANCE
    assert window.guidance.consent.isVisible()
    assert "测*二" in window.guidance.customer.message_label.text()
    qtbot.mouseClick(window.guidance.take, LEFT)
    qtbot.waitUntil(lambda: window.flow.screen is Screen.TICKET, timeout=WAIT_MS)
    ticket = on_server(branch, window.flow.ticket.id)
    assert (ticket["priority"], ticket["has_eform"]) == ("regular", False)
    counter = sign_in(branch, 3)
    assert counter.post("/counters/3/call-next").json()["ticket"]["id"] == ticket["id"]
    assert counter.get(f"/tickets/{ticket['id']}/eform").status_code == 404


def test_an_expired_card_is_refused_kindly(qtbot, make_kiosk, branch, reader, devices):
    from datetime import date

    from devices.idcard.sim import synthetic_card

    peripherals = with_devices(devices, idcard=f"{reader.url}?poll=0.05")
    window = make_kiosk(branch.base_url, branch.tokens["kiosk"], peripherals=peripherals)
    peripherals.start()
    qtbot.mouseClick(window.attract, LEFT)
    expired = synthetic_card("测试三", date(1980, 1, 1), valid_to=date(2020, 1, 1), sequence=56)
    reader.place(expired)
    qtbot.waitUntil(lambda: window.home.customer.isVisible(), timeout=WAIT_MS)
    assert window.flow.card is None
    assert (
        window.home.customer.message_label.text()
        == "该身份证已过有效期，请联系工作人员或直接取号。"
    )
    assert peripherals.health["idcard"] == ("ok", "")


# ------------------------------------------- a card problem is not a reader fault
def reader_health_on_server(branch: LiveServer) -> str | None:
    devices = branch.client("manager").get("/devices").json()
    return next((d["health"] for d in devices if d["device"] == "kiosk-7/idcard"), None)


def watch_reader_reports(window: KioskWindow) -> list[str]:
    """The idcard health changes the server streams back, in order."""
    seen: list[str] = []

    def heard(event: dict) -> None:
        device = event.get("device") or {}
        if event.get("kind") == "device.status" and device.get("device") == "kiosk-7/idcard":
            seen.append(device["health"])

    window.client.eventReceived.connect(heard)
    return seen


def kiosk_with_reader(qtbot, make_kiosk, branch, reader, devices):
    peripherals = with_devices(devices, idcard=f"{reader.url}?poll=0.05&read_timeout=0.5")
    window = make_kiosk(branch.base_url, branch.tokens["kiosk"], peripherals=peripherals)
    peripherals.start()
    qtbot.waitUntil(lambda: reader_health_on_server(branch) == "ok", timeout=WAIT_MS)
    return window, peripherals


def customer_text(window: KioskWindow) -> str:
    return window.home.customer.message_label.text()


PLACE_AGAIN = (
    "未能读取，请重新放置身份证。",
    "We couldn't read the card. Please place your ID card again.",
)
ASK_STAFF = (
    "此证件无法读取，请联系工作人员。",
    "This card can't be read. Please ask a member of staff.",
)


@pytest.mark.parametrize(
    "trouble",
    [Fault.CORRUPT_READ, Fault.SHORT_READ, Status.READ_FAILED, Status.NO_CARD],
    ids=["bad-checksum", "truncated", "read-failed", "no-card"],
)
def test_a_card_that_does_not_read_asks_the_customer_and_the_reader_stays_healthy(
    qtbot, make_kiosk, branch, reader, devices, trouble
):
    window, peripherals = kiosk_with_reader(qtbot, make_kiosk, branch, reader, devices)
    reports = watch_reader_reports(window)
    qtbot.mouseClick(window.attract, LEFT)
    if isinstance(trouble, Fault):
        reader.fault = trouble
    else:
        reader.read_status = trouble
    reader.place("adult")
    qtbot.waitUntil(lambda: window.home.customer.isVisible(), timeout=WAIT_MS)
    assert customer_text(window) == PLACE_AGAIN[0]
    qtbot.mouseClick(window.home.language.buttons["en"], LEFT)
    assert customer_text(window) == PLACE_AGAIN[1]
    assert window.flow.card is None

    # Placed again on a reader that reads: the customer is identified by the server ...
    reader.fault, reader.read_status = Fault.NONE, None
    reader.lift()
    reads = reader.commands.count(Command.FIND_CARD)
    assert reader.wait_for(Command.FIND_CARD, reads + 2)  # the watcher saw it go
    reader.place("adult")
    qtbot.waitUntil(lambda: window.flow.identified is not None, timeout=WAIT_MS)
    assert "测*二" in customer_text(window)
    # ... and the reader was never reported as anything but healthy.
    assert peripherals.health["idcard"] == ("ok", "")
    assert reader_health_on_server(branch) == "ok"
    assert [health for health in reports if health != "ok"] == []  # "ok" may be the start-up one


def test_a_card_that_keeps_failing_sends_the_customer_to_staff(
    qtbot, make_kiosk, branch, reader, devices
):
    window, peripherals = kiosk_with_reader(qtbot, make_kiosk, branch, reader, devices)
    qtbot.mouseClick(window.attract, LEFT)
    reader.read_status = Status.READ_FAILED
    for attempt in range(1, 4):
        reader.place("adult")
        assert reader.wait_for(Command.READ_BASE_MESSAGE, attempt)
        if attempt < 3:
            qtbot.waitUntil(lambda: customer_text(window) == PLACE_AGAIN[0], timeout=WAIT_MS)
            reader.lift()
            finds = reader.commands.count(Command.FIND_CARD)
            assert reader.wait_for(Command.FIND_CARD, finds + 2)
    qtbot.waitUntil(lambda: customer_text(window) == ASK_STAFF[0], timeout=WAIT_MS)
    qtbot.mouseClick(window.home.language.buttons["en"], LEFT)
    assert customer_text(window) == ASK_STAFF[1]
    assert peripherals.health["idcard"] == ("ok", "")


def test_a_silent_reader_is_reported_offline_and_the_customer_is_not_blamed(
    qtbot, make_kiosk, branch, reader, devices
):
    window, peripherals = kiosk_with_reader(qtbot, make_kiosk, branch, reader, devices)
    reports = watch_reader_reports(window)
    qtbot.mouseClick(window.attract, LEFT)
    reader.fault = Fault.SILENT  # no bytes at all: the line or the reader is gone
    reader.place("adult")
    qtbot.waitUntil(lambda: reader_health_on_server(branch) == "offline", timeout=WAIT_MS)
    assert peripherals.health["idcard"] == ("offline", "DeviceTimeout")
    assert window.flow.card_error_key is None and not window.home.customer.isVisible()
    reader.fault = Fault.NONE
    qtbot.waitUntil(lambda: reader_health_on_server(branch) == "ok", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: reports[-2:] == ["offline", "ok"], timeout=WAIT_MS)
    assert "error" not in reports


def test_priority_declared_by_touch_goes_with_the_ticket(qtbot, make_kiosk, branch):
    window = make_kiosk(branch.base_url, branch.tokens["kiosk"])
    qtbot.mouseClick(window.attract, LEFT)
    qtbot.mouseClick(window.home.side_buttons["priority"], LEFT)
    assert window.stack.currentWidget() is window.priority
    qtbot.mouseClick(window.priority.choices["pregnant"], LEFT)
    assert window.stack.currentWidget() is window.home
    assert window.home.customer.message_label.text() == "优先服务：孕妇"
    taken = take(qtbot, window, "A")
    assert on_server(branch, taken["id"])["priority"] == "care"


def test_a_bundle_is_one_ticket_for_the_whole_visit(
    qtbot, make_kiosk, branch, printer: PrinterSimulator
):
    window = make_kiosk(branch.base_url, branch.tokens["kiosk"], printer_query="?mode=text")
    qtbot.mouseClick(window.attract, LEFT)
    assert list(window.home.tiles)[-1] == "NEW"
    qtbot.mouseClick(window.home.tiles["NEW"], LEFT)
    assert window.guidance.title.text() == "办理“一站式开户”前请准备"
    assert window.guidance.includes.text() == "一次办理：开户、银行卡、手机银行"
    qtbot.mouseClick(window.guidance.take, LEFT)
    qtbot.waitUntil(lambda: window.flow.screen is Screen.TICKET, timeout=WAIT_MS)
    ticket = on_server(branch, window.flow.ticket.id)
    assert (ticket["bundle"], ticket["service"]) == ("NEW", "C")
    assert window.ticket.service.text() == "一站式开户"
    assert window.ticket.where.text() == "请到3 号窗口办理"
    assert printer.wait_for_tickets(1, timeout=5)
    assert "一站式开户" in printer.texts[0]  # the paper names the visit as the screen does


def qr_video(path: Path, text: str) -> Path:
    blank = np.full((480, 640, 3), 110, np.uint8)
    code = place_on_canvas(render_qr(text, module_px=5))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    assert writer.isOpened()
    for frame in [blank] * 4 + [code] * 10 + [blank] * 4:
        writer.write(frame)
    writer.release()
    return path


def test_an_appointment_qr_shown_to_the_camera_checks_in_and_prints(
    qtbot, make_kiosk, branch, devices, printer: PrinterSimulator, tmp_path
):
    booked = branch.client("booking").post(
        "/appointments", json={"service": "C", "slot_start": "2026-11-27T10:30:00+08:00"}
    )
    assert booked.status_code == 201, booked.text
    video = qr_video(tmp_path / "phone.avi", booked.json()["qr"])
    peripherals = with_devices(devices, scanners=[f"file://{video}?fps=0"])
    window = make_kiosk(branch.base_url, branch.tokens["kiosk"], peripherals=peripherals)
    peripherals.start()  # the camera sees the phone at once, on the attract screen
    qtbot.waitUntil(lambda: window.flow.screen is Screen.TICKET, timeout=WAIT_MS)
    ticket = window.flow.ticket
    assert ticket.appointment_note == "kiosk.qr.early_checked_in"
    assert "10:30" in window.ticket.note.text()
    assert window.ticket.title.text() == "签到成功"  # a check-in, not a new ticket
    assert on_server(branch, ticket.id)["priority"] == "appointment"
    assert printer.wait_for_tickets(1, timeout=5)


def type_scan(window: KioskWindow, text: str) -> None:
    """A USB scanner that types: the whole code and Enter, 4 ms apart, to whatever has the
    keyboard focus (the window itself when nothing has), as the window system sends keys."""
    receiver = QApplication.focusWidget() or window
    at_ms = 1_000
    for char in [*text, "\r"]:
        at_ms += 4
        if char == "\r":
            key, typed = Qt.Key.Key_Return, ""
        else:
            key, typed = Qt.Key.Key_unknown, char
        event = QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier, typed)
        event.setTimestamp(at_ms)
        QApplication.sendEvent(receiver, event)


def test_a_typed_scan_of_a_forged_code_says_so_and_leads_to_a_ticket(qtbot, make_kiosk, branch):
    window = make_kiosk(branch.base_url, branch.tokens["kiosk"])
    qtbot.mouseClick(window.attract, LEFT)
    booked = branch.client("booking").post(
        "/appointments", json={"service": "C", "slot_start": "2026-11-27T10:30:00+08:00"}
    )
    qr = booked.json()["qr"]
    forged = qr[:-3] + ("AAA" if not qr.endswith("AAA") else "BBB")
    type_scan(window, forged)
    qtbot.waitUntil(lambda: window.flow.screen is Screen.NOTICE, timeout=WAIT_MS)
    assert window.notice.message.text() == "该二维码无法验证，请咨询大堂工作人员"
    qtbot.mouseClick(window.notice.ok_button, LEFT)
    assert window.flow.screen is Screen.HOME  # on to a regular ticket

    type_scan(window, "https://example.com/not-ours")
    qtbot.waitUntil(lambda: window.flow.screen is Screen.NOTICE, timeout=WAIT_MS)
    assert window.notice.message.text() == "这不是本行的预约二维码"


def tap_corner(qtbot, window: KioskWindow, times: int) -> None:
    for _ in range(times):
        widget = window.stack.currentWidget()
        qtbot.mouseClick(widget, LEFT, pos=QPoint(12, 12))


def test_lockdown_keeps_the_kiosk_up_until_staff_use_the_maintenance_pin(
    qtbot, make_kiosk, branch, printer: PrinterSimulator
):
    window = make_kiosk(
        branch.base_url, branch.tokens["kiosk"], lockdown=True, maintenance_pin="8642"
    )
    assert window.windowFlags() & Qt.WindowType.FramelessWindowHint
    assert not window.close() and window.isVisible()  # Alt+F4 and friends do nothing

    tap_corner(qtbot, window, 5)
    assert window.stack.currentWidget() is window.pin
    for digit in "1111":
        qtbot.mouseClick(window.pin.keys[digit], LEFT)
    qtbot.mouseClick(window.pin.enter, LEFT)
    assert window.flow.screen is Screen.PIN and window.pin.error.isVisible()
    for digit in "8642":
        qtbot.mouseClick(window.pin.keys[digit], LEFT)
    qtbot.mouseClick(window.pin.enter, LEFT)
    assert window.stack.currentWidget() is window.maintenance

    rows = {part: (state, detail) for part, state, detail in window.maintenance.rows()}
    assert rows["kiosk.maintenance.server"] == ("kiosk.maintenance.connected", branch.base_url)
    assert rows["kiosk.maintenance.idcard"][0] == "kiosk.maintenance.not_configured"
    qtbot.mouseClick(window.maintenance.print_button, LEFT)
    assert printer.wait_for_tickets(1, timeout=5)
    qtbot.waitUntil(
        lambda: window.maintenance.result.message_label.text() == "测试页已打印", timeout=WAIT_MS
    )
    rows = {part: state for part, state, _ in window.maintenance.rows()}
    assert rows["kiosk.maintenance.printer"] == "kiosk.maintenance.health.ok"

    qtbot.mouseClick(window.maintenance.exit_button, LEFT)
    assert not window.isVisible()
