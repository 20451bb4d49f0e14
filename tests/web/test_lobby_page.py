"""The lobby manager's app (/lobby) in Debian's Chromium against a real server on loopback,
on a phone (390×844) and a tablet (1024×768): every screen driven as a lobby manager does,
and what it did read back from the server (the lobby API, a counter, the audit log)."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import PIN, TEST_CONFIG, FakeClock, LiveServer, make_db, sign_in

from queue_server.auth import add_staff
from queue_server.storage import connect
from tools.bench.display import CHROMIUM, launch_chromium

HOOK = "window.branchqLobby"
WAIT_MS = 15_000
VIEWS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "tablet": {"viewport": {"width": 1024, "height": 768}, "has_touch": True},
}
LOBBY_STAFF = ("L1", "王经理")  # the lobby manager
RM_STAFF = ("r1", "李客户经理")  # a relationship manager, whose desk is counter 3
# The kiosk's guidance for cash and accounts is the checklist on the triage sheet.
CONFIG = copy.deepcopy(TEST_CONFIG)
CONFIG["services"][0]["guidance"] = {
    "zh": {"documents": ["身份证", "银行卡"]},
    "en": {"documents": ["ID card", "Bank card"]},
}
# Account opening takes the e-form at the counter, as in a bank: pre-review may collect it.
CONFIG["services"][2]["needs_form"] = True
CONFIG["services"][2]["guidance"] = {
    "zh": {"documents": ["身份证", "手机号码", "工作证明"]},
    "en": {"documents": ["ID card", "Mobile number", "Proof of employment"]},
}


@pytest.fixture(scope="module")
def lobby_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A branch with checklists, a lobby device (make_db's) and the lobby's staff, built once."""
    db = tmp_path_factory.mktemp("lobby") / "branch.db"
    tokens = make_db(db, CONFIG)
    conn = connect(db)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for staff_id, name in (LOBBY_STAFF, RM_STAFF):
            add_staff(conn, staff_id, name, PIN)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return db, tokens


@pytest.fixture
def server(
    lobby_template: tuple[Path, dict[str, str]], tmp_path: Path, clock: FakeClock
) -> Iterator[LiveServer]:
    src, tokens = lobby_template
    db = tmp_path / "branch.db"
    shutil.copyfile(src, db)
    live = LiveServer(db, dict(tokens), clock).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    """One Playwright per module: a second one cannot start while the first runs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    b = launch_chromium(playwright)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(params=sorted(VIEWS))
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    # bypass_csp: wait_for_function evaluates script, which the page's CSP forbids.
    context = browser.new_context(bypass_csp=True, **VIEWS[request.param])
    try:
        p = context.new_page()
        p.errors = []
        p.on("pageerror", lambda e: p.errors.append(str(e)))
        yield p
        assert p.errors == [], p.errors  # no script error on any screen
    finally:
        context.close()


# ------------------------------------------------------------------ helpers
def lobby_api(server: LiveServer, staff: tuple[str, str] = LOBBY_STAFF) -> httpx.Client:
    """The lobby API as a signed-in staff member: to read back what the page did."""
    c = server.client("lobby")
    r = c.post("/lobby/sign-in", json={"staff_id": staff[0], "pin": PIN})
    assert r.status_code == 200, r.text
    c.headers["X-Lobby-Session"] = r.json()["session"]
    return c


def issue(server: LiveServer, service: str) -> dict[str, Any]:
    r = server.client("kiosk").post("/tickets", json={"service": service})
    assert r.status_code in (200, 201), r.text
    ticket: dict[str, Any] = r.json()
    return ticket


def open_lobby(page: Any, server: LiveServer) -> None:
    page.goto(f"{server.base_url}/lobby?token={server.tokens['lobby']}")
    page.wait_for_function(f"{HOOK} && {HOOK}.connection === 'live'", timeout=WAIT_MS)


def sign_in_page(page: Any, server: LiveServer, staff: tuple[str, str] = LOBBY_STAFF) -> None:
    open_lobby(page, server)
    page.wait_for_selector("#staff-id", state="visible", timeout=WAIT_MS)
    page.fill("#staff-id", staff[0])
    page.fill("#pin", PIN)
    page.click("#signin")
    page.wait_for_function(f"{HOOK}.screen === 'hall' && {HOOK}.hall !== null", timeout=WAIT_MS)


def find(page: Any, number: str) -> None:
    page.fill("#find-number", number.lower())  # typed as it comes: the page says it in capitals
    page.click("#find")
    page.wait_for_function(
        f"{HOOK}.screen === 'ticket' && {HOOK}.ticket.number === {number!r}", timeout=WAIT_MS
    )


def wait_ticket(page: Any, condition: str) -> None:
    page.wait_for_function(f"{HOOK}.ticket && ({condition})", timeout=WAIT_MS)


def in_view(page: Any, selector: str) -> None:
    """A control a person must reach lies fully inside the page's width: nothing to pan to."""
    box = page.locator(selector).bounding_box()
    width = page.viewport_size["width"]
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, box)
    assert box["height"] >= 44, (selector, box)  # a finger's target


# ------------------------------------------------------------------ tests
def test_sign_in_with_staff_id_and_pin_then_the_hall(server, page):
    for _ in range(3):
        issue(server, "A")
    issue(server, "C")
    open_lobby(page, server)
    in_view(page, "#signin")
    page.fill("#staff-id", LOBBY_STAFF[0])
    page.fill("#pin", "9999")
    page.click("#signin")
    page.wait_for_selector("#signin-error:not([hidden])", timeout=WAIT_MS)
    assert page.evaluate(f"{HOOK}.screen") == "signin"  # a wrong PIN lets nobody in
    page.fill("#pin", PIN)
    page.click("#signin")
    page.wait_for_function(f"{HOOK}.screen === 'hall' && {HOOK}.hall !== null", timeout=WAIT_MS)
    assert LOBBY_STAFF[1] in page.inner_text("#who")
    page.wait_for_selector("#businesses .tile[data-service='A'][data-waiting='3']", timeout=WAIT_MS)
    page.wait_for_selector("#businesses .tile[data-service='C'][data-waiting='1']", timeout=WAIT_MS)
    assert "A001" in page.inner_text("#longest")
    # Live: a customer who takes a ticket at the kiosk shows in the hall without a tap.
    issue(server, "A")
    page.wait_for_selector("#businesses .tile[data-service='A'][data-waiting='4']", timeout=WAIT_MS)
    # The English switch, and back.
    page.click("#lang")
    page.wait_for_function("document.documentElement.lang === 'en'", timeout=WAIT_MS)
    assert "Longest waits" in page.inner_text("#screen-hall")
    page.click("#lang")
    assert "等候最久" in page.inner_text("#screen-hall")
    in_view(page, "#find")
    in_view(page, "#scan-open")


def test_triage_business_change_keeps_the_place_care_checklist_and_note(server, page, clock):
    first = issue(server, "A")  # A001, arrived before everyone in B
    clock.advance(minutes=2)
    b1 = issue(server, "B")
    sign_in_page(page, server)
    find(page, first["number"])
    # The checklist is the kiosk's guidance for cash.
    assert page.locator("#checklist input").count() == 2
    assert "身份证" in page.inner_text("#checklist")

    # Change the business to B: the customer keeps their place ahead of B001.
    page.select_option("#business-to", "B")
    page.click("#f-business button[type=submit]")
    wait_ticket(page, f"{HOOK}.ticket.service === 'B'")
    api = lobby_api(server)
    moved = api.get(f"/lobby/tickets/{first['number']}").json()
    later = api.get(f"/lobby/tickets/{b1['number']}").json()
    assert moved["service"] == "B"
    assert moved["position"] < later["position"], (moved, later)

    # Care priority needs a reason: none given, nothing sent.
    page.click("#f-care button[type=submit]")
    page.wait_for_selector("#toast[data-kind='error']:not([hidden])", timeout=WAIT_MS)
    assert api.get(f"/lobby/tickets/{first['number']}").json()["care_reason"] in (None, "")
    page.fill("#care-reason", "老年人，行动不便")
    page.click("#f-care button[type=submit]")
    wait_ticket(page, f"{HOOK}.ticket.care_reason === '老年人，行动不便'")
    assert "老年人，行动不便" in page.inner_text("#t-flags")

    # The checklist follows the business: B has no guidance, so none to tick.
    assert page.locator("#checklist input").count() == 0
    # The note for the teller.
    page.fill("#note-text", "客户已带齐证件")
    page.click("#f-note button[type=submit]")
    wait_ticket(page, f"{HOOK}.ticket.note === '客户已带齐证件'")

    # The teller sees the note and the care priority on the call.
    teller = sign_in(server, 1)
    r = teller.post("/counters/1/call-next")
    assert r.status_code == 200, r.text
    called = r.json()["ticket"]
    assert called["number"] == first["number"]
    assert called["note"] == "客户已带齐证件"
    # Every lobby action is in the audit log, with who did it.
    audit = server.client("manager").get("/audit", params={"limit": 50}).json()
    actions = {e["action"] for e in audit if e["actor"] == f"lobby:{LOBBY_STAFF[0]}"}
    assert {"ticket.care_granted", "ticket.noted"} <= actions, actions


def test_documents_checked_with_the_checklist_and_hold_then_release(server, page):
    ticket = issue(server, "C")
    sign_in_page(page, server)
    find(page, ticket["number"])
    assert page.locator("#checklist input").count() == 3
    page.locator("#checklist input").nth(0).check()
    page.locator("#checklist input").nth(2).check()
    page.click("#f-documents button[type=submit]")
    wait_ticket(page, f"JSON.stringify({HOOK}.ticket.documents_checked) === '[0,2]'")
    api = lobby_api(server)
    assert api.get(f"/lobby/tickets/{ticket['number']}").json()["documents_checked"] == [0, 2]

    page.fill("#hold-reason", "回家取户口本")
    page.click("#hold")
    wait_ticket(page, f"{HOOK}.ticket.on_hold === true")
    page.wait_for_selector("#release:not([hidden])", timeout=WAIT_MS)
    in_view(page, "#release")
    page.click("#release")
    wait_ticket(page, f"{HOOK}.ticket.on_hold === false")


def test_issue_a_ticket_at_the_door_with_care_and_its_phone_qr(server, page):
    sign_in_page(page, server)
    page.click("#nav [data-go='door']")
    page.click("#door-services .choice[data-code='C']")
    page.check("#door-care")
    page.click("#door-issue")
    # Care without a reason is refused on the page: nothing issued.
    page.wait_for_selector("#toast[data-kind='error']:not([hidden])", timeout=WAIT_MS)
    assert page.is_hidden("#door-issued")
    page.fill("#door-reason", "孕妇")
    page.click("#door-issue")
    page.wait_for_selector("#door-issued:not([hidden])", timeout=WAIT_MS)
    number = page.inner_text("#door-number")
    assert number.startswith("C")
    page.wait_for_selector("#door-qr img", timeout=WAIT_MS)
    assert page.evaluate("document.querySelector('#door-qr img').naturalWidth") > 0
    view = lobby_api(server).get(f"/lobby/tickets/{number}").json()
    assert view["service"] == "C"
    assert view["care_reason"] == "孕妇"
    assert view["phone_url"]
    in_view(page, "#door-again")


def test_divert_to_self_service_is_recorded_with_who(server, page):
    sign_in_page(page, server)
    page.click("#nav [data-go='divert']")
    page.click("#divert-go")
    page.wait_for_selector("#toast[data-kind='error']:not([hidden])", timeout=WAIT_MS)
    page.click("#divert-services .choice[data-code='A']")
    page.click("#divert-channels .choice[data-code='atm']")
    page.click("#divert-go")
    page.wait_for_selector("#divert-done:not([hidden])", timeout=WAIT_MS)
    assert "现金" in page.inner_text("#divert-done")
    audit = server.client("manager").get("/audit", params={"limit": 20}).json()
    diverted = [e for e in audit if e["action"] == "lobby.diverted"]
    assert len(diverted) == 1, audit
    assert diverted[0]["actor"] == f"lobby:{LOBBY_STAFF[0]}"


def test_pre_review_needs_consent_first_and_reaches_the_counter(server, page):
    ticket = issue(server, "C")
    sign_in_page(page, server)
    find(page, ticket["number"])
    page.click("#prereview-open")
    page.wait_for_function(f"{HOOK}.screen === 'prereview'", timeout=WAIT_MS)
    # No consent, no form: the fields cannot be typed in.
    assert page.is_disabled("#ef-name")
    page.click("#prereview-save")
    page.wait_for_selector("#toast[data-kind='error']:not([hidden])", timeout=WAIT_MS)
    page.check("#consent")
    page.fill("#ef-name", "张三")
    page.fill("#ef-id_number", "110101199001011237")  # valid check digit: the server checks
    page.check("#materials")
    page.click("#prereview-save")
    page.wait_for_function(
        f"{HOOK}.screen === 'ticket' && {HOOK}.ticket.prereviewed === true", timeout=WAIT_MS
    )
    # The page keeps nothing of the form once it is sent.
    assert page.input_value("#ef-name") == ""
    teller = sign_in(server, 3)
    called = teller.post("/counters/3/call-next").json()["ticket"]
    assert called["number"] == ticket["number"]
    form = teller.get(f"/tickets/{called['id']}/eform").json()["fields"]
    assert form["name"] == "张三"
    assert form["id_number"] == "110101199001011237"


def test_the_relationship_managers_day_arrived_and_sent_to_the_desk(server, page):
    manager = server.client("manager")
    # Half an hour from the test clock's 10:00, with the relationship manager assigned.
    body = {"service": "C", "slot_start": "2026-11-27T10:30:00+08:00", "staff_id": RM_STAFF[0]}
    booked = manager.post("/appointments", json=body)
    assert booked.status_code == 201, booked.text
    sign_in_page(page, server, RM_STAFF)
    page.click("#nav [data-go='myday']")
    row = f"#my-appointments [data-appointment='{booked.json()['id']}']"
    page.wait_for_selector(row, timeout=WAIT_MS)
    assert "未到" in page.inner_text(row)
    checked = manager.post(
        "/appointments/check-in", json={"booking_number": booked.json()["booking_number"]}
    )
    assert checked.status_code == 201, checked.text
    number = checked.json()["ticket"]["number"]
    page.wait_for_function(
        f"document.querySelector({row!r}).innerText.includes({number!r})", timeout=WAIT_MS
    )
    page.fill("#my-desk", "3")
    page.dispatch_event("#my-desk", "change")
    page.click(f"{row} button.act")
    page.wait_for_selector("#toast[data-kind='ok']:not([hidden])", timeout=WAIT_MS)
    # The day says where the customer now waits, and offers no second send to the same desk.
    page.wait_for_function(
        f"document.querySelector({row!r}).innerText.includes('等 3 号窗口')", timeout=WAIT_MS
    )
    assert page.locator(f"{row} button.act").count() == 0
    teller = sign_in(server, 3)
    assert teller.post("/counters/3/call-next").json()["ticket"]["number"] == number
    page.wait_for_function(
        f"document.querySelector({row!r}).innerText.includes('已叫号 · 3 号窗口')",
        timeout=WAIT_MS,
    )


def test_pre_review_of_a_business_without_a_form_marks_the_materials_only(server, page):
    ticket = issue(server, "A")  # cash: the counter takes no form, so neither does the lobby
    sign_in_page(page, server)
    find(page, ticket["number"])
    page.click("#prereview-open")
    page.wait_for_function(f"{HOOK}.screen === 'prereview'", timeout=WAIT_MS)
    assert page.is_hidden("#consent") and page.is_hidden("#ef-name")
    assert page.is_visible("#prereview-no-form")
    page.check("#materials")
    in_view(page, "#prereview-save")
    page.click("#prereview-save")
    page.wait_for_function(
        f"{HOOK}.screen === 'ticket' && {HOOK}.ticket.prereviewed === true", timeout=WAIT_MS
    )
    view = lobby_api(server).get(f"/lobby/tickets/{ticket['number']}").json()
    assert view["prereviewed"] and not view["has_eform"]


def test_a_visit_outside_the_branch_is_recorded_with_its_follow_up(server, page):
    sign_in_page(page, server, RM_STAFF)
    page.click("#nav [data-go='myday']")
    page.wait_for_function(f"{HOOK}.myday !== null", timeout=WAIT_MS)
    # The time starts at the server's now (the test clock's 10:00 in the branch), not the
    # tablet's: a visit the server would call "not made yet" is never offered.
    assert page.input_value("#visit-at") == "2026-11-27T10:00"
    # No business is chosen for the relationship manager: none chosen, nothing recorded.
    page.click("#f-visit button[type=submit]")
    page.wait_for_selector("#toast[data-kind='error']:not([hidden])", timeout=WAIT_MS)
    assert "请先选择业务" in page.inner_text("#toast")
    page.select_option("#visit-service", "C")
    page.fill("#visit-at", "2026-11-27T09:00")
    # A number in a label is personal data: refused, nothing recorded.
    page.fill("#visit-docs", "身份证 110105195503070021")
    page.click("#f-visit button[type=submit]")
    # The toast of the refusal before may still be up: wait for this one's words.
    page.wait_for_function(
        "document.getElementById('toast').innerText.includes('证件号')", timeout=WAIT_MS
    )
    assert page.get_attribute("#toast", "data-kind") == "error"
    page.fill("#visit-docs", "收入证明\n房产证复印件")
    page.fill("#visit-follow", "2026-11-27T16:00")
    page.click("#f-visit button[type=submit]")
    page.wait_for_selector("#my-visits [data-appointment]", timeout=WAIT_MS)
    assert "收入证明、房产证复印件" in page.inner_text("#my-visits")
    assert "09:00" in page.inner_text("#my-visits")
    page.wait_for_selector("#my-appointments [data-appointment]", timeout=WAIT_MS)
    assert "16:00" in page.inner_text("#my-appointments")  # the follow-up, a booking of mine
    day = lobby_api(server, RM_STAFF).get("/lobby/my-day").json()
    (visit,) = day["visits"]
    assert visit["at"] == "2026-11-27T09:00:00+08:00"
    assert visit["documents_collected"] == ["收入证明", "房产证复印件"]
    assert day["appointments"][0]["id"] == visit["follow_up_id"]


def test_offline_banner_refuses_every_action_and_resumes(server, page):
    ticket = issue(server, "A")
    sign_in_page(page, server)
    find(page, ticket["number"])
    # Actions are POSTs; a read of the sheet already on its way may still land, harmlessly.
    actions: list[str] = []
    page.on(
        "request",
        lambda r: (
            actions.append(r.url) if "/api/v1/lobby/" in r.url and r.method == "POST" else None
        ),
    )
    page.evaluate(f"{HOOK}.disconnect()")
    page.wait_for_selector("#offline:not([hidden])", timeout=WAIT_MS)
    assert "网络已断开" in page.inner_text("#offline")
    # Every action button is disabled…
    enabled = page.evaluate(
        "[...document.querySelectorAll('button.act')].filter(b => !b.disabled).map(b => b.id)"
    )
    assert enabled == []
    # …and an action forced through anyway is refused on the spot, never queued.
    page.fill("#care-reason", "老年人")
    page.evaluate("document.getElementById('f-care').requestSubmit()")
    page.wait_for_function(f"{HOOK}.refused === 1", timeout=WAIT_MS)
    page.wait_for_selector("#toast[data-kind='error']:not([hidden])", timeout=WAIT_MS)
    assert actions == []
    # Meanwhile the hall moves on: another customer, and the teller calls ours.
    issue(server, "A")
    sign_in(server, 1).post("/counters/1/call-next")
    page.evaluate(f"{HOOK}.connect()")
    page.wait_for_function(f"{HOOK}.connection === 'live'", timeout=WAIT_MS)
    assert page.evaluate(f"{HOOK}.frames") == ["snapshot", "resume"]
    assert page.is_hidden("#offline")
    # Back live, the sheet is read again: the ticket is called, its actions closed.
    wait_ticket(page, f"{HOOK}.ticket.state === 'called'")
    assert page.is_disabled("#f-care button[type=submit]")
    # Nothing happened while offline: no care was granted.
    assert lobby_api(server).get(f"/lobby/tickets/{ticket['number']}").json()["care_reason"] in (
        None,
        "",
    )
    page.click("#ticket-back")
    page.wait_for_selector("#businesses .tile[data-service='A'][data-waiting='1']", timeout=WAIT_MS)


def camera_film(path: Path, text: str, size: tuple[int, int] = (640, 480)) -> Path:
    """A Y4M film of a ticket's QR code (a printed ticket held up to the tablet's camera),
    for Chromium's fake camera: grey levels only, the code centred with its quiet zone."""
    import qrcode

    code = qrcode.QRCode(border=4)
    code.add_data(text)
    matrix = code.get_matrix()  # True = dark, border included
    w, h = size
    scale = min(w, h) // len(matrix)
    left, top = (w - scale * len(matrix)) // 2, (h - scale * len(matrix)) // 2
    luma = bytearray([235]) * (w * h)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    start = (top + y * scale + dy) * w + left + x * scale
                    luma[start : start + scale] = bytes([16]) * scale
    chroma = bytes([128]) * (w * h // 4)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    path.write_bytes(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * 3)
    return path


def test_scanning_a_tickets_qr_with_the_camera_opens_its_sheet(server, playwright, tmp_path):
    ticket = issue(server, "A")
    film = camera_film(tmp_path / "ticket.y4m", f"{server.base_url}/t/{ticket['token']}")
    camera = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            "--use-fake-ui-for-media-stream",  # the camera permission, granted
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={film}",
        ],
    )
    try:
        context = camera.new_context(bypass_csp=True, **VIEWS["tablet"])
        page = context.new_page()
        scans: list[str] = []
        page.on(
            "request",
            lambda r: (
                scans.append(r.headers.get("content-type", ""))
                if r.url.endswith("/lobby/scan")
                else None
            ),
        )
        sign_in_page(page, server)
        page.click("#scan-open")
        # Frames go to the server until it reads the code: then the ticket's sheet.
        page.wait_for_function(
            f"{HOOK}.screen === 'ticket' && {HOOK}.ticket.number === {ticket['number']!r}",
            timeout=WAIT_MS * 2,
        )
        assert scans and all(t == "image/jpeg" for t in scans), scans
        # Leaving the scan screen turns the camera off.
        assert page.evaluate("document.getElementById('scan-video').srcObject") is None
    finally:
        camera.close()


def test_a_tap_on_a_hall_row_is_not_lost_when_the_hall_changes_under_the_finger(server, page):
    first = issue(server, "A")
    sign_in_page(page, server)
    row = f"#longest .row-btn[data-number='{first['number']}']"
    page.wait_for_selector(row, timeout=WAIT_MS)
    box = page.locator(row).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.evaluate(f'document.querySelector("{row}").pressedHere = true')
    renders = page.evaluate(f"{HOOK}.hallRenders")
    page.mouse.down()
    # The hall changes while the finger is down: a new customer arrives.
    issue(server, "A")
    page.wait_for_function(
        f"{HOOK}.hall.businesses.some(b => b.code === 'A' && b.waiting === 2)", timeout=WAIT_MS
    )
    # The row under the finger is still the one pressed: nothing was rebuilt meanwhile.
    assert page.evaluate(f'document.querySelector("{row}").pressedHere === true')
    assert page.evaluate(f"{HOOK}.hallRenders") == renders
    page.mouse.up()
    wait_ticket(page, f"{HOOK}.ticket.number === '{first['number']}'")
    # And the change is shown once the finger is lifted.
    page.wait_for_function(f"{HOOK}.hallRenders > {renders}", timeout=WAIT_MS)
