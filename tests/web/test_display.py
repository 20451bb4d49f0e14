"""The hall display page in Debian's Chromium (Playwright) against a real server on loopback."""

from __future__ import annotations

import io
import itertools
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import LiveServer, sign_in
from playwright.sync_api import expect

CHROMIUM = Path("/usr/bin/chromium")
VIEW = {"width": 1920, "height": 1080}
WAIT_MS = 10_000
HOOK = "window.branchqDisplay"


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless, allowed to play sound without a tap (as on the TV)."""
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's Chromium (/usr/bin/chromium) is not installed: run `make setup` as root "
            "(it installs the apt package `chromium`). Never `playwright install`.",
            pytrace=False,
        )
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--autoplay-policy=no-user-gesture-required"],
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the `playwright` package is missing: run `make setup`", pytrace=False)
    with sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEW, bypass_csp=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def short_wav(ms: int = 60) -> bytes:
    """A silent mono WAV: announcements that take no test time but play for real."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(bytes(2 * 16 * ms))
    return out.getvalue()


def short_voice(page: Any) -> list[str]:
    """Answer every call.wav request with a short WAV; the requested URLs, in order."""
    urls: list[str] = []
    body = short_wav()

    def fulfil(route: Any) -> None:
        urls.append(route.request.url)
        route.fulfill(status=200, body=body, headers={"Content-Type": "audio/wav"})

    page.route("**/api/v1/voice/call.wav*", fulfil)
    return urls


def open_display(page: Any, server: LiveServer, query: str = "") -> None:
    page.goto(f"{server.base_url}/display?token={server.tokens['display']}{query}")
    page.wait_for_function(f"{HOOK} && {HOOK}.connection === 'live'", timeout=WAIT_MS)


def wait_current(page: Any, number: str) -> None:
    page.wait_for_function(
        f"{HOOK}.current && {HOOK}.current.number === {number!r}", timeout=WAIT_MS
    )


def wait_announced(page: Any, count: int) -> list[dict[str, Any]]:
    page.wait_for_function(
        f"{HOOK}.announcements.length >= {count} && "
        f"{HOOK}.announcements.every(a => a.state === 'done' || a.state === 'failed')",
        timeout=WAIT_MS * 3,
    )
    log: list[dict[str, Any]] = page.evaluate(f"{HOOK}.announcements")
    return log


def shown_calls(page: Any) -> list[str]:
    """Every number on the page: the current call, then the history, as a person reads it."""
    numbers: list[str] = page.evaluate(
        f"[{HOOK}.current ? {HOOK}.current.number : null, ...{HOOK}.history].filter(Boolean)"
    )
    return numbers


def issue(server: LiveServer, service: str, n: int) -> list[str]:
    kiosk = server.client("kiosk")
    return [kiosk.post("/tickets", json={"service": service}).json()["number"] for _ in range(n)]


def call_next(counter: Any, number: int) -> str:
    r = counter.post(f"/counters/{number}/call-next")
    assert r.status_code == 200, r.text
    called: str = r.json()["ticket"]["number"]
    return called


def test_a_call_is_shown_in_huge_type_and_its_announcement_is_fetched(server, page):
    c1 = sign_in(server, 1)
    issue(server, "A", 3)
    open_display(page, server)
    with page.expect_response("**/api/v1/voice/call.wav*", timeout=WAIT_MS) as answer:
        assert call_next(c1, 1) == "A001"
    response = answer.value
    assert "number=A001" in response.url and "counter=1" in response.url
    assert response.request.headers["authorization"] == f"Bearer {server.tokens['display']}"
    assert response.status == 200
    assert response.headers["content-type"].startswith("audio/wav")
    wait_current(page, "A001")
    assert page.inner_text("#current-number") == "A001"
    assert page.inner_text("#current-counter") == "1"
    assert "请A001号到1号窗口办理" in page.inner_text("#current-sentence")
    assert "Number A001, please go to counter 1." in page.inner_text("#current-sentence")
    box = page.locator("#current-number").bounding_box()
    assert box["height"] >= 0.15 * VIEW["height"], box  # readable from 10 m
    page.wait_for_function(f"{HOOK}.announcements[0].state !== 'queued'", timeout=WAIT_MS)
    first = page.evaluate(f"{HOOK}.announcements[0]")
    assert (first["number"], first["counter"]) == ("A001", 1)
    # Two still wait for cash: the figure the server sent after the call.
    page.wait_for_selector(".svc[data-service='A'][data-waiting='2']", timeout=WAIT_MS)
    assert server.client("display").get("/snapshot").json()["waiting"]["A"]["waiting"] == 2
    assert "测试支行" in page.inner_text("#branch-name")


def test_twenty_quick_calls_are_announced_in_order_one_at_a_time(server, page):
    urls = short_voice(page)
    counters = {n: sign_in(server, n) for n in (1, 2, 3)}
    issue(server, "A", 12)
    issue(server, "B", 12)
    open_display(page, server)
    called: list[str] = []
    for i in range(20):
        n = i % 3 + 1
        if i >= 3:
            assert counters[n].post(f"/counters/{n}/no-show").status_code == 200
        called.append(call_next(counters[n], n))
    log = wait_announced(page, 20)
    assert [a["number"] for a in log] == called
    assert [a["state"] for a in log] == ["done"] * 20
    for before, after in itertools.pairwise(log):
        assert after["startedAt"] >= before["endedAt"], (before, after)  # never overlapping
    assert len(urls) == 20
    assert [u.split("number=")[1].split("&")[0] for u in urls] == called
    wait_current(page, called[-1])
    assert shown_calls(page) == called[::-1][:7]  # the current call and the last six


def test_the_page_resumes_after_a_server_restart_without_losing_or_repeating_a_call(
    branch_db, clock, page
):
    db, tokens = branch_db
    first = LiveServer(db, tokens, clock, heartbeat_s=0.5).start()
    second = None
    try:
        short_voice(page)
        c1 = sign_in(first, 1)
        issue(first, "A", 6)
        open_display(page, first)
        before = [call_next(c1, 1)]
        c1.post("/counters/1/no-show")
        before.append(call_next(c1, 1))
        wait_current(page, before[-1])
        first.stop()
        page.wait_for_function(f"{HOOK}.connection === 'reconnecting'", timeout=WAIT_MS)
        assert page.locator("#conn-mark").is_visible()
        second = LiveServer(db, tokens, clock, heartbeat_s=0.5, port=first.port).start()
        c1 = second.client("counter:1")  # the teller is still signed in: it is stored
        after = []
        for _ in range(3):
            assert c1.post("/counters/1/no-show").status_code == 200
            after.append(call_next(c1, 1))
        wait_current(page, after[-1])
        page.wait_for_function(f"{HOOK}.connection === 'live'", timeout=WAIT_MS)
        assert not page.locator("#conn-mark").is_visible()
        calls = before + after
        assert sorted(shown_calls(page)) == sorted(calls)  # each once, none missing
        log = wait_announced(page, 5)
        assert [a["number"] for a in log] == calls
        assert page.evaluate(f"{HOOK}.frames") == ["snapshot", "snapshot"]  # a new epoch
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_a_dropped_connection_resumes_with_since_and_gets_the_calls_it_missed(server, page):
    short_voice(page)
    c1 = sign_in(server, 1)
    issue(server, "A", 5)
    open_display(page, server)
    calls = [call_next(c1, 1)]
    wait_current(page, calls[0])
    page.evaluate(f"{HOOK}.disconnect()")
    page.wait_for_function(f"{HOOK}.connection === 'reconnecting'", timeout=WAIT_MS)
    for _ in range(2):
        c1.post("/counters/1/no-show")
        calls.append(call_next(c1, 1))
    page.evaluate(f"{HOOK}.connect()")
    wait_current(page, calls[-1])
    assert page.evaluate(f"{HOOK}.frames") == ["snapshot", "resume"]
    assert sorted(shown_calls(page)) == sorted(calls)
    assert [a["number"] for a in wait_announced(page, 3)] == calls


def test_an_old_call_in_a_fresh_snapshot_is_history_not_the_current_call(server, page, clock):
    c1 = sign_in(server, 1)
    issue(server, "A", 2)
    call_next(c1, 1)
    clock.advance(minutes=5)  # the display is switched on five minutes after the last call
    open_display(page, server)
    assert page.evaluate(f"{HOOK}.current") is None
    assert page.evaluate(f"{HOOK}.history") == ["A001"]
    assert page.locator("#current-idle").is_visible()
    assert page.evaluate(f"{HOOK}.announcements.length") == 0


@pytest.mark.parametrize("token", ["bq_wrong", ""])
def test_a_wrong_token_is_refused_with_a_clear_screen(server, page, token):
    page.goto(f"{server.base_url}/display?token={token}")
    page.wait_for_function(f"{HOOK} && {HOOK}.connection === 'refused'", timeout=WAIT_MS)
    assert page.locator("#refused").is_visible()
    assert not page.locator("#screen").is_visible()
    text = page.inner_text("#refused")
    assert "未获授权" in text and "not authorised" in text


def test_the_managers_notice_scrolls_along_the_bottom(server, page):
    open_display(page, server)
    assert not page.locator("#notice").is_visible()
    manager = server.client("manager")
    text = "今日 15:00 起暂停外币兑换 · Foreign exchange closes at 15:00 today"
    assert manager.put("/branch/notice", json={"text": text}).status_code == 200
    page.wait_for_function(f"{HOOK}.notice === {text!r}", timeout=WAIT_MS)
    assert page.locator("#notice").is_visible()
    assert page.inner_text("#notice-text") == text
    assert manager.put("/branch/notice", json={"text": ""}).status_code == 200
    page.wait_for_function(f"{HOOK}.notice === ''", timeout=WAIT_MS)
    assert not page.locator("#notice").is_visible()


def test_a_zone_display_shows_only_its_businesses(server, page):
    urls = short_voice(page)
    c1, c3 = sign_in(server, 1), sign_in(server, 3)
    issue(server, "C", 2)
    issue(server, "A", 1)
    open_display(page, server, "&zone=C")
    assert page.locator(".svc").evaluate_all("els => els.map(e => e.dataset.service)") == ["C"]
    assert call_next(c1, 1) == "A001"  # another zone's call: neither shown nor announced
    # Counter 3 (C, B, A) has only the zone's customers left, whatever the calling policy.
    assert call_next(c3, 3) == "C001"
    wait_current(page, "C001")
    c3.post("/counters/3/no-show")
    assert call_next(c3, 3) == "C002"
    wait_current(page, "C002")
    assert shown_calls(page) == ["C002", "C001"]
    assert [a["number"] for a in wait_announced(page, 2)] == ["C001", "C002"]
    assert len(urls) == 2
    assert "开户" in page.inner_text("#zone-label")


def test_the_portrait_layout_keeps_the_number_huge(server, browser):
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, bypass_csp=True)
    try:
        page = context.new_page()
        short_voice(page)
        c2 = sign_in(server, 2)
        issue(server, "B", 1)
        open_display(page, server, "&layout=portrait")
        call_next(c2, 2)
        wait_current(page, "B001")
        assert page.evaluate("document.body.classList.contains('layout-portrait')")
        box = page.locator("#current-number").bounding_box()
        assert box["height"] >= 0.15 * 1920, box
        assert box["x"] + box["width"] <= 1080
    finally:
        context.close()


def test_the_waits_shown_are_the_servers_summary_between_snapshots(server, page):
    c1 = sign_in(server, 1)
    issue(server, "A", 3)
    open_display(page, server)
    # Events after the snapshot: the page counts nothing itself; the whole summary (count,
    # longest wait, open counters, predicted wait) comes in the server's "waits" message.
    issue(server, "A", 2)
    call_next(c1, 1)
    server.settled_prediction()  # the worker's prediction for this state, pushed when made
    snap = server.client("display").get("/snapshot").json()
    a = snap["waiting"]["A"]
    naive = a["waiting"] * 4 * 60 / a["open_counters"]
    assert a["eta_new_s"] != naive and a["eta_low_s"] <= a["eta_new_s"] <= a["eta_high_s"]
    # The summary follows the events by up to a push interval: wait for the one that
    # includes the snapshot's last event and its prediction (an earlier push may show the
    # same count, or the previous prediction moved by the queue formed since).
    page.wait_for_function(
        f"(w) => {HOOK}.seq === {snap['seq']} && {HOOK}.waitsAfterSeq === {snap['seq']}"
        f" && JSON.stringify({HOOK}.waits) === JSON.stringify(w)",
        arg=snap["waiting"],
        timeout=WAIT_MS,
    )
    assert page.evaluate(f"{HOOK}.waits") == snap["waiting"]  # exactly what the server sent
    assert a["waiting"] == 4 and a["open_counters"] == 1
    assert page.locator(".svc[data-service='A']").get_attribute("data-waiting") == "4"
    # The minutes the server decided (as the kiosk, the paper and the phone show them).
    tile = page.locator(".svc[data-service='A'] .svc-eta")
    assert f"预计等候 {max(1, a['wait_min'])} 分钟" in tile.inner_text()
    # C has no open counter: nothing to predict, and the tile says so.
    assert page.evaluate(f"{HOOK}.waits.C.eta_new_s") is None
    # Far beyond two hours: the cap and the advice, never "约 1063 分钟".
    issue(server, "A", 40)
    server.settled_prediction()
    expect(tile).to_contain_text("预计等候 2 小时以上，建议预约", timeout=WAIT_MS)
    assert "分钟" not in tile.inner_text()


# The WCAG contrast ratio of two "rgb(r, g, b)" colours, in the page's own terms.
CONTRAST_JS = """([fg, bg]) => {
  const lum = (c) => {
    const [r, g, b] = c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


def test_every_line_of_the_call_stays_readable_at_the_height_of_its_flash(server, page):
    c1 = sign_in(server, 1)
    issue(server, "A", 1)
    open_display(page, server)
    call_next(c1, 1)
    wait_current(page, "A001")
    page.wait_for_selector("#current.flash", timeout=WAIT_MS)
    # Hold every animation at its middle (the panel gold), as a photo of the hall would, and
    # read the colours in the same task, before the page can redraw a line.
    colours = page.evaluate(
        """(selectors) => {
          document.getAnimations().forEach((a) => { a.pause(); a.currentTime = 400; });
          const colour = (s) => getComputedStyle(document.querySelector(s)).color;
          return {
            background: getComputedStyle(document.getElementById("current")).backgroundColor,
            lines: Object.fromEntries(selectors.map((s) => [s, colour(s)])),
          };
        }""",
        ["#current-sentence", "#current-sentence .en", "#current-counter"],
    )
    background = colours["background"]
    for selector, colour in colours["lines"].items():
        ratio = page.evaluate(CONTRAST_JS, [colour, background])
        assert ratio >= 4.5, (selector, colour, background, ratio)
