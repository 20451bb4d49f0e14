"""The customer's live ticket page (/t/<token>) on a phone-sized Chromium against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import LiveServer, sign_in
from playwright.sync_api import expect

from tools.sms_gateway import SmsGateway

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
WAIT_MS = 10_000
GUIDANCE = {
    "zh": {
        "documents": ["本人有效身份证件", "银行卡或存折"],
        "steps": ["取号", "等候叫号", "到窗口办理"],
        "where": "大厅左侧 1–3 号窗口",
        "alternative": "2 万元以下取款可使用大厅自助设备",
    },
    "en": {
        "documents": ["Your valid ID", "Your bank card or passbook"],
        "steps": ["Take a ticket", "Wait for your number", "Go to the counter"],
        "where": "Counters 1–3, left of the hall",
        "alternative": "Withdrawals under 20,000 yuan: the self-service machines",
    },
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium (/usr/bin/chromium) is missing: `make setup` as root")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--autoplay-policy=no-user-gesture-required"],
        )
        try:
            yield b
        finally:
            b.close()


def open_page(browser: Any, server: LiveServer, token: str, width: int = 390) -> Any:
    context = browser.new_context(
        viewport={"width": width, "height": PHONE["height"]},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server.base_url}/t/{token}")
    return page


def issue(server: LiveServer, service: str = "A") -> dict:
    r = server.client("kiosk").post("/tickets", json={"service": service})
    assert r.status_code == 201, r.text
    return r.json()


def with_guidance(server: LiveServer) -> None:
    r = server.client("manager").patch("/services/A", json={"guidance": GUIDANCE})
    assert r.status_code == 200, r.text


def text(page: Any, selector: str) -> str:
    return page.locator(selector).inner_text()


def test_the_page_follows_the_ticket_from_issue_to_call(browser, server):
    with_guidance(server)
    issue(server)
    mine = issue(server)
    page = open_page(browser, server, mine["token"])
    try:
        page.wait_for_selector("#waiting:not([hidden])")
        assert text(page, "#number") == mine["number"]
        assert text(page, "#service") == "现金"
        assert text(page, "#ahead") == "1 人"
        assert "本人有效身份证件" in text(page, "#guidance")
        page.evaluate("window.__notReloaded = true")
        teller = sign_in(server, 1)
        teller.post("/counters/1/call-next")  # the customer ahead
        expect(page.locator("#ahead")).to_have_text("下一位就是您")
        teller.post("/counters/1/no-show")
        teller.post("/counters/1/call-next")
        page.wait_for_selector("#called:not([hidden])")
        assert text(page, "#called-title") == "轮到您了！"
        assert text(page, "#called-where") == "请到 1号窗口 办理"
        assert page.evaluate("window.__notReloaded") is True
        assert page.evaluate("window.__ticketAlerts") == 1  # vibrated and beeped once
        teller.post("/counters/1/recall")
        expect(page.locator("#called-title")).to_have_text("再次呼叫您！")
        assert page.evaluate("window.__ticketAlerts") == 2
        page.click("#lang")
        assert text(page, "#called-title") == "Calling you again!"
        assert text(page, "#called-where") == "Please go to counter 1"
        assert text(page, "#service") == "Cash"
    finally:
        page.context.close()


def test_rating_after_the_service(browser, server):
    mine = issue(server)
    page = open_page(browser, server, mine["token"])
    try:
        page.wait_for_selector("#waiting:not([hidden])")
        teller = sign_in(server, 1)
        teller.post("/counters/1/call-next")
        teller.post("/counters/1/start")
        expect(page.locator("#called-title")).to_have_text("正在为您办理")
        teller.post("/counters/1/finish")
        page.wait_for_selector("#rate:not([hidden])")
        assert text(page, "#done-title") == "办理完成，谢谢光临！"
        assert page.locator("#rate-submit").is_disabled()
        page.click(".rate-btn.r1")
        assert page.locator(".rate-btn.r1").get_attribute("aria-pressed") == "true"
        page.fill("#comment", "等了太久，窗口太少")
        assert text(page, "#comment-count") == "9/200"
        page.click("#rate-submit")
        page.wait_for_selector("#rated:not([hidden])")
        assert text(page, "#rated") == "感谢您的评价！"
        assert page.locator("#rate").is_hidden()
        stored = server.engine.find_ticket(mine["id"])
        assert (stored.rating, stored.rating_comment) == (1, "等了太久，窗口太少")
    finally:
        page.context.close()


def test_cancel_with_a_confirm_step(browser, server):
    mine = issue(server)
    page = open_page(browser, server, mine["token"])
    try:
        page.wait_for_selector("#actions:not([hidden])")
        page.click("#cancel-open")
        page.wait_for_selector("#cancel-dialog:not([hidden])")
        page.click("#cancel-no")  # changed their mind
        assert page.locator("#cancel-dialog").is_hidden()
        assert server.engine.find_ticket(mine["id"]).state.value == "waiting"
        page.click("#cancel-open")
        page.click("#cancel-yes")
        page.wait_for_selector("#final:not([hidden])")
        assert text(page, "#final-title") == "号码已取消"
        assert page.locator("#actions").is_hidden()
        assert server.engine.find_ticket(mine["id"]).state.value == "cancelled"
    finally:
        page.context.close()


def test_running_late(browser, server):
    mine = issue(server)
    page = open_page(browser, server, mine["token"])
    try:
        page.wait_for_selector("#actions:not([hidden])")
        assert text(page, "#late-left") == "还可延后 2 次"
        page.click("#late-open")
        page.wait_for_selector("#late-dialog:not([hidden])")
        page.click("#late-choices button[data-minutes='10']")
        page.wait_for_selector("#held:not([hidden])")
        # The fake clock's 10:00 in Shanghai, plus ten minutes.
        assert text(page, "#held") == "已为您保留号码，10:10 之后再叫您"
        assert "10:10" in text(page, "#message")
        assert text(page, "#late-left") == "还可延后 1 次"
        assert server.engine.find_ticket(mine["id"]).held_until is not None
    finally:
        page.context.close()


def test_an_unknown_link_says_so(browser, server):
    page = open_page(browser, server, "C" * 22)
    try:
        page.wait_for_selector("#final:not([hidden])")
        assert text(page, "#final-title") == "找不到这个号码"
        assert page.locator("#ticket").is_hidden()
    finally:
        page.context.close()


NO_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const bad = [];
  const page = document.documentElement.scrollWidth;
  if (page > width) bad.push('page ' + page);
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('[hidden]') || !el.getClientRects().length) continue;
    const r = el.getBoundingClientRect();
    if (r.left < -0.5 || r.right > width + 0.5) bad.push(el.id || el.className || el.tagName);
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
      bad.push('clipped ' + (el.id || el.className || el.tagName));
  }
  return bad;
}"""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_nothing_is_cut_off_at_360_px(browser, server, lang):
    with_guidance(server)
    for _ in range(12):
        issue(server)
    mine = issue(server)
    page = open_page(browser, server, mine["token"], width=360)
    try:
        page.wait_for_selector("#waiting:not([hidden])")
        if lang == "en":
            page.click("#lang")
        assert page.evaluate(NO_OVERFLOW) == []
        page.click("#late-open")
        assert page.evaluate(NO_OVERFLOW) == []
        page.click("#late-back")
        teller = sign_in(server, 1)
        teller.post("/counters/1/call", json={"ticket_id": mine["id"]})
        page.wait_for_selector("#called:not([hidden])")
        assert page.evaluate(NO_OVERFLOW) == []
        teller.post("/counters/1/start")
        teller.post("/counters/1/finish")
        page.wait_for_selector("#rate:not([hidden])")
        page.click(".rate-btn.r4")
        assert page.evaluate(NO_OVERFLOW) == []
    finally:
        page.context.close()


# ------------------------------------------------------------------ SMS opt-in
@pytest.fixture
def sms_gateway() -> Iterator[SmsGateway]:
    gateway = SmsGateway().start()
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture
def sms_server(sms_gateway, monkeypatch, request) -> LiveServer:
    """The test branch texting through the loopback gateway the demo uses."""
    monkeypatch.setenv("BRANCHQ_NOTIFY_URL", sms_gateway.url)
    server: LiveServer = request.getfixturevalue("server")  # started after the setting
    return server


def notify_status(server: LiveServer, token: str) -> dict:
    r = server.client(None).get(f"/public/tickets/{token}/notify")
    assert r.status_code == 200, r.text
    return r.json()


def test_sms_opt_in_refuses_a_bad_number_keeps_a_good_one_masked_and_cancels(
    browser, sms_server, sms_gateway
):
    for _ in range(5):
        issue(sms_server)
    mine = issue(sms_server)  # five ahead: not near yet, nothing is texted at once
    page = open_page(browser, sms_server, mine["token"])
    try:
        page.wait_for_selector("#sms:not([hidden])")
        assert text(page, "#sms-title") == "留下手机号，快到时短信提醒"
        assert text(page, "#sms-when") == "前面还剩 3 人时短信提醒您，叫到您时再提醒一次。"
        assert "办理结束或取消后即删除" in text(page, "#sms-consent")

        page.fill("#sms-phone", "12345678901")  # no mainland mobile starts 12
        page.click("#sms-submit")
        expect(page.locator("#sms-error")).to_have_text("请输入正确的 11 位手机号码（以 1 开头）。")
        assert page.locator("#sms-phone").get_attribute("aria-invalid") == "true"
        assert notify_status(sms_server, mine["token"])["opted_in"] is False
        assert len(sms_server.app.state.notices.book) == 0  # never reached the server

        page.fill("#sms-phone", "139 8765 4321")
        assert page.locator("#sms-error").is_hidden()  # typing clears the refusal
        page.click("#sms-submit")
        expect(page.locator("#sms-on-text")).to_have_text("已开启短信提醒：139****4321")
        assert page.locator("#sms-form").is_hidden()
        assert "13987654321" not in page.content()
        status = notify_status(sms_server, mine["token"])
        assert (status["opted_in"], status["destination"]) == (True, "139****4321")

        page.click("#lang")
        assert text(page, "#sms-on-text") == "Texts will go to 139****4321"
        assert text(page, "#sms-cancel") == "Stop the texts"
        page.click("#lang")

        page.click("#sms-cancel")
        page.wait_for_selector("#sms-form:not([hidden])")
        assert page.locator("#sms-on").is_hidden()
        expect(page.locator("#message")).to_have_text("已取消短信提醒，您的手机号已删除。")
        assert page.locator("#sms-phone").input_value() == ""
        assert notify_status(sms_server, mine["token"])["opted_in"] is False
        assert sms_gateway.messages == []
    finally:
        page.context.close()


def test_sms_opt_in_shows_the_servers_refusal(browser, sms_server):
    mine = issue(sms_server)
    public = sms_server.client(None)
    url = f"/public/tickets/{mine['token']}/notify"
    # The five changes a ticket may make, ending opted out (a new number is a change too).
    for change in ("13987654321", "13987654322", None, "13987654321", None):
        r = public.delete(url) if change is None else public.post(url, json={"phone": change})
        assert r.status_code == 200, r.text
    page = open_page(browser, sms_server, mine["token"])
    try:
        page.wait_for_selector("#sms-form:not([hidden])")
        page.fill("#sms-phone", "13812345678")
        page.click("#sms-submit")
        expect(page.locator("#sms-error")).to_have_text("短信提醒已修改多次，不能再更改。")
        assert notify_status(sms_server, mine["token"])["opted_in"] is False
    finally:
        page.context.close()


def test_sms_opt_in_is_hidden_without_an_sms_gateway(browser, server):
    mine = issue(server)  # the test branch's notifier is log://: nothing would be sent
    page = open_page(browser, server, mine["token"])
    try:
        page.wait_for_selector("#sms[data-offered='false']", state="attached")
        assert page.locator("#sms").is_hidden()
        assert page.locator("#waiting").is_visible()
        assert notify_status(server, mine["token"])["offered"] is False
    finally:
        page.context.close()


def test_an_appointment_ticket_shows_its_slot(browser, server, clock):
    booked = server.client("booking").post(
        "/appointments", json={"service": "C", "slot_start": "2026-11-27T10:30:00+08:00"}
    )
    assert booked.status_code == 201, booked.text
    clock.advance(minutes=25)
    r = server.client("kiosk").post("/appointments/check-in", json={"qr": booked.json()["qr"]})
    assert r.status_code == 201, r.text
    mine = r.json()["ticket"]
    page = open_page(browser, server, mine["token"])
    try:
        page.wait_for_selector("#appointment:not([hidden])")
        assert text(page, "#appointment") == "您预约的时段：10:30–11:00"
        page.click("#lang")
        assert text(page, "#appointment") == "Your booked slot: 10:30–11:00"
    finally:
        page.context.close()


def test_the_phone_shows_the_wait_the_api_and_the_paper_show(browser, server):
    # The phone rounded the median (Math.round), the kiosk and paper rounded up, the display
    # rounded again: one ticket read three numbers. And far waits read "约 1063 分钟".
    sign_in(server, 1)  # one counter serving A: 4 minutes a customer
    tickets = [issue(server) for _ in range(3)]
    server.settled_prediction()
    mine = server.client("kiosk").get(f"/tickets/{tickets[-1]['id']}").json()
    assert 1 < mine["wait_min"] < 60 and not mine["wait_capped"]
    page = open_page(browser, server, tickets[-1]["token"])
    try:
        expect(page.locator("#eta")).to_have_text(f"约 {mine['wait_min']} 分钟")
    finally:
        page.context.close()
    for _ in range(35):  # far beyond two hours at one counter
        far = issue(server)
    server.settled_prediction()
    view = server.client("kiosk").get(f"/tickets/{far['id']}").json()
    assert view["eta_s"] > 120 * 60 and view["wait_capped"] and view["wait_min"] == 120
    page = open_page(browser, server, far["token"])
    try:
        expect(page.locator("#eta")).to_have_text("约 2 小时以上")
        expect(page.locator("#eta-range")).to_have_text("建议预约或改日办理")
        page.click("#lang")
        expect(page.locator("#eta")).to_have_text("over 2 hours")
        assert "分钟" not in text(page, "#waiting")
    finally:
        page.context.close()
