"""The tellers' knowledge base in the counter app, against a real queue server on loopback:
a call opens the customer's business, a search opens another, and what changed after an
update is shown to the teller until they dismiss it — once, even across a restart.

Knowledge documents are signed here and handed to the server's own applier (what the
downlink follower does after verifying one). Waits are qtbot.waitUntil, never sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import LiveServer, sign_in
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QLabel, QWidget

from central.signing import sign
from ui.client import BranchClient
from ui.counter.session import Action
from ui.counter.window import CounterWindow, open_counter
from ui.i18n import Translator

WAIT_MS = 8000
LEFT = Qt.MouseButton.LeftButton
KEY = Ed25519PrivateKey.generate()


def _page(service: str, zh: str, en: str, **texts: Any) -> dict[str, Any]:
    page = {
        "service": service, "title": {"zh": zh, "en": en}, "documents": [], "steps": [],
        "limits": [], "mistakes": [], "related": [], "body": "",
    }  # fmt: skip
    return {**page, **texts}


PAGES = [
    _page(
        "C",
        "开户",
        "Account opening",
        # Looks like HTML: it must be shown as typed, never rendered.
        documents=["<b>居民身份证</b>原件"],
        steps=["联网核查", "签署协议"],
        related=["A"],
        body="先查询是否已有一类户。\n\n- 他人陪同时加强核实",
    ),
    _page("A", "现金及转账", "Cash and transfers", limits=["单笔取现超过 5 万元须预约"]),
]


def apply_knowledge(
    server: LiveServer, version: int, changes: list[str], pages: list[dict[str, Any]] = PAGES
) -> None:
    """A `knowledge` document as the centre signs it, applied by the branch's applier."""
    body = {
        "kb_version": version,
        "published_at": "2026-11-27T01:00:00+00:00",
        "pages": pages,
        "changes": [
            {"service": "C", "what": "changed", "field": "documents", "zh": zh, "en": ""}
            for zh in changes
        ],
        "earlier": [],
    }
    document = sign(
        {
            "kind": "knowledge",
            "branch": "B001",
            "version": version,
            "issued_at": "2026-11-27T01:00:00+00:00",
            "body": body,
        },
        KEY,
    )
    engine = server.engine
    applying = server.app.state.knowledge.apply(document)
    asyncio.run_coroutine_threadsafe(applying, engine._loop).result(timeout=10)


@pytest.fixture
def open_window(qtbot, tr: Translator) -> Iterator[Any]:
    clients: list[BranchClient] = []

    def make(server: LiveServer, counter: int, **options: Any) -> CounterWindow:
        token = server.tokens[f"counter:{counter}"]
        client = BranchClient(server.base_url, token, timeout_s=2.0, backoff_s=(0.1, 0.5))
        clients.append(client)
        window = open_counter(client, counter, tr=tr, refresh_ms=50, **options)
        qtbot.addWidget(window)
        window.resize(1366, 768)
        window.show()
        client.start()
        qtbot.waitUntil(lambda: window.session.view().signed_in, timeout=WAIT_MS)
        return window

    yield make
    for client in clients:
        client.stop()


def texts(widget: QWidget, name: str) -> list[str]:
    return [w.text() for w in widget.findChildren(QLabel, name)]


def test_a_call_opens_the_customers_business_and_a_search_opens_another(qtbot, open_window, server):
    apply_knowledge(server, 1, ["开户：新增一项"])
    sign_in(server, 3)  # counter 3 serves C, B and A
    window = open_window(server, 3)
    panel = window.knowledge
    assert window.tabs.currentWidget() is window.queue_tab  # nobody called: the queue
    ticket = server.client("kiosk").post("/tickets", json={"service": "C"}).json()

    qtbot.mouseClick(window.buttons[Action.CALL_NEXT], LEFT)
    qtbot.waitUntil(lambda: panel.shown_service == "C", timeout=WAIT_MS)
    assert window.customer.number.text() == ticket["number"]
    assert window.tabs.currentWidget() is panel
    assert texts(panel, "knowledgeTitle") == ["C  开户"]
    items = panel.findChildren(QLabel, "knowledgeItem")
    assert items[0].text() == "<b>居民身份证</b>原件"
    assert all(w.textFormat() == Qt.TextFormat.PlainText for w in items)
    assert [w.text() for w in items] == [
        "<b>居民身份证</b>原件", "联网核查", "签署协议", "他人陪同时加强核实",
    ]  # fmt: skip
    assert texts(panel, "knowledgeParagraph") == ["先查询是否已有一类户。"]
    assert panel.back.isHidden()

    # Search (Chinese), open a result; then back to the customer's business.
    qtbot.mouseClick(panel.search, LEFT)
    panel.search.setText("取现")  # QTest cannot type Chinese: an input method would
    qtbot.keyClick(panel.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: list(panel.links()) == ["A"], timeout=WAIT_MS)
    qtbot.mouseClick(panel.links()["A"], LEFT)
    qtbot.waitUntil(lambda: panel.shown_service == "A", timeout=WAIT_MS)
    assert texts(panel, "knowledgeItem") == ["单笔取现超过 5 万元须预约"]
    assert panel.back.isVisible() and "开户" in panel.back.text()
    qtbot.mouseClick(panel.back, LEFT)
    qtbot.waitUntil(lambda: panel.shown_service == "C", timeout=WAIT_MS)

    # English, searched in English; a related business opens from its link.
    window.tr_.set_language("en")
    assert texts(panel, "knowledgeTitle") == ["C  Account opening"]
    panel.search.clear()
    qtbot.keyClicks(panel.search, "CASH")
    qtbot.keyClick(panel.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: list(panel.links()) == ["A"], timeout=WAIT_MS)
    qtbot.mouseClick(panel.back, LEFT)
    qtbot.waitUntil(lambda: panel.shown_service == "C", timeout=WAIT_MS)
    qtbot.mouseClick(panel.links()["A"], LEFT)  # "related businesses"
    qtbot.waitUntil(lambda: panel.shown_service == "A", timeout=WAIT_MS)

    # The customer leaves: the column goes back to the queue it was switched from... unless
    # the teller chose the page themselves, as here (they followed a link).
    qtbot.mouseClick(window.buttons[Action.NO_SHOW], LEFT)
    qtbot.waitUntil(lambda: window.session.view().customer is None, timeout=WAIT_MS)
    assert window.tabs.currentWidget() is panel and panel.back.isHidden()


def _rect(widget: QWidget, window: QWidget) -> QRect:
    return QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())


def test_what_changed_shows_until_the_teller_dismisses_it_once_even_after_a_restart(
    qtbot, open_window, server
):
    apply_knowledge(server, 1, ["开户：第 1 版"])
    counter = sign_in(server, 1)
    counter.post("/counters/1/knowledge-changes/seen", json={"kb_version": 1})
    window = open_window(server, 1)
    notice = window.notice
    qtbot.waitUntil(lambda: window.knowledge_checks >= 1, timeout=WAIT_MS)
    assert notice.isHidden()  # read already

    apply_knowledge(server, 2, ["开户：新增“港澳台居民居住证”为需核验的证件"])
    qtbot.waitUntil(notice.isVisible, timeout=WAIT_MS)
    assert notice.sentences() == ["开户：新增“港澳台居民居住证”为需核验的证件"]
    assert texts(notice, "knowledgeChange") == notice.sentences()
    # Beside the customer and the buttons, never over them.
    shown = _rect(notice, window)
    for widget in (window.customer, *window.buttons.values()):
        assert not shown.intersects(_rect(widget, window))

    qtbot.mouseClick(notice.dismiss, LEFT)
    qtbot.waitUntil(notice.isHidden, timeout=WAIT_MS)
    assert counter.get("/counters/1/knowledge-changes").json()["unseen"] == []

    # The app restarts: the same teller is not told again.
    window.close()
    again = open_window(server, 1)
    qtbot.waitUntil(lambda: again.knowledge_checks >= 1, timeout=WAIT_MS)
    assert again.notice.isHidden()


def test_an_update_shows_its_page_and_what_changed_at_once_without_a_poll(
    qtbot, open_window, server
):
    apply_knowledge(server, 1, ["开户：第 1 版"])
    counter = sign_in(server, 1)
    counter.post("/counters/1/knowledge-changes/seen", json={"kb_version": 1})
    # A retry far beyond the wait: only the stream's event can bring the update in time.
    window = open_window(server, 1, knowledge_retry_ms=600_000)
    panel, notice = window.knowledge, window.notice
    qtbot.waitUntil(lambda: window.knowledge_checks >= 1, timeout=WAIT_MS)
    window.open_knowledge("C")
    qtbot.waitUntil(lambda: panel.shown_service == "C", timeout=WAIT_MS)
    assert texts(panel, "knowledgeItem")[0] == "<b>居民身份证</b>原件"
    assert notice.isHidden()

    updated = [{**PAGES[0], "documents": ["居民身份证或临时身份证"]}, PAGES[1]]
    apply_knowledge(server, 2, ["开户：新增“临时身份证”为可用证件"], updated)
    qtbot.waitUntil(notice.isVisible, timeout=WAIT_MS)
    assert notice.sentences() == ["开户：新增“临时身份证”为可用证件"]
    qtbot.waitUntil(
        lambda: texts(panel, "knowledgeItem")[:1] == ["居民身份证或临时身份证"], timeout=WAIT_MS
    )
    assert panel.shown_service == "C"
