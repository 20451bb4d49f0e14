"""Notifier backends against a real loopback SMS gateway; texts, masking, settings, opt-ins."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from queue_server.config import ConfigError, init_db, parse_config
from queue_server.domain import Change, Ticket, TicketState
from queue_server.notify import (
    Notice,
    NotifyFailed,
    UnknownNotifierUrl,
    mask,
    normalise_phone,
    notifier_for_url,
)
from queue_server.notify.log import LoggingNotifier
from queue_server.notify.optins import MAX_CHANGES, OptIn, OptInBook, TooManyChanges
from queue_server.notify.outbox import NoticeOutbox
from queue_server.notify.settings import (
    NotificationSettings,
    load_notification_settings,
    parse_notifications,
)
from queue_server.notify.sms_http import HttpSmsNotifier
from queue_server.notify.texts import catalogs, notice_text
from queue_server.storage import connect

PHONE = "13987654321"


class FakeGateway:
    """A loopback SMS gateway (stdlib http.server on a thread) that records every POST.

    `script` says how to answer the next requests, in order ("ok", an HTTP status, or
    "hang": answer only after the test ends); once it runs out every answer is "ok".
    Tests wait on `wait_for`, a condition the handler signals: no sleeps.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[str | int] = []
        self.release = threading.Event()
        self._cond = threading.Condition()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with gateway._cond:
                    gateway.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": json.loads(raw)}
                    )
                    answer = gateway.script.pop(0) if gateway.script else "ok"
                    gateway._cond.notify_all()
                if answer == "hang":
                    gateway.release.wait(30)
                    answer = "ok"
                status = 200 if answer == "ok" else int(answer)
                payload = json.dumps({"accepted": status == 200}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the notifier timed out and went away

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FakeGateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def url(self, **options: Any) -> str:
        query = "&".join(f"{k}={v}" for k, v in options.items())
        return f"sms+http://127.0.0.1:{self.port}/send" + (f"?{query}" if query else "")

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout=10) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.requests), timeout)

    def wait_count(self, n: int, timeout: float = 10) -> list[dict[str, Any]]:
        assert self.wait_for(lambda r: len(r) >= n, timeout), f"gateway saw {self.bodies()}"
        return self.bodies()

    def bodies(self) -> list[dict[str, Any]]:
        with self._cond:
            return [r["body"] for r in self.requests]


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    gw = FakeGateway().start()
    try:
        yield gw
    finally:
        gw.stop()


def notice(kind: str = "called", **kw: Any) -> Notice:
    fields: dict[str, Any] = {
        "kind": kind, "ticket_id": 7, "number": "A023", "business": "现金",
        "destination": PHONE, "language": "zh", "counter": 3, "reference": "b-7-called0",
    }  # fmt: skip
    fields.update(kw)
    n = Notice(**fields)
    return Notice(**{**fields, "text": notice_text(n)})


# --------------------------------------------------------------------- URLs and data
def test_notifier_urls_choose_the_backend_and_its_options(monkeypatch):
    monkeypatch.setenv("BRANCHQ_SMS_TOKEN", "s3cret")
    assert isinstance(notifier_for_url("log://"), LoggingNotifier)
    sms = notifier_for_url(
        "sms+https://gateway.bank.local/send?sender=BranchQ&timeout=2&retries=1&account=7"
    )
    assert isinstance(sms, HttpSmsNotifier)
    assert sms.endpoint == "https://gateway.bank.local/send?account=7"  # options stay ours
    assert (sms.sender, sms.timeout_s, sms.retries) == ("BranchQ", 2.0, 1)
    assert sms._headers["Authorization"] == "Bearer s3cret"
    with pytest.raises(UnknownNotifierUrl):
        notifier_for_url("carrier-pigeon://roof")
    with pytest.raises(ValueError, match="BRANCHQ_SMS_TOKEN"):
        notifier_for_url("sms+https://user:pw@gateway.bank.local/send")
    with pytest.raises(ValueError):
        notifier_for_url("sms+https://gateway.bank.local/send?timeout=0")


@pytest.mark.parametrize(
    "raw", ["13987654321", "+8613987654321", "+86 139 8765 4321", "8613987654321", "139-8765-4321"]
)
def test_mainland_mobiles_are_accepted_in_their_usual_spellings(raw):
    assert normalise_phone(raw) == PHONE


@pytest.mark.parametrize(
    "raw", ["12987654321", "1398765432", "139876543210", "+1 2025550123", "abc", "", "+85213987654"]
)
def test_anything_else_is_not_a_phone_number(raw):
    with pytest.raises(ValueError) as info:
        normalise_phone(raw)
    assert raw.strip() == "" or raw not in str(info.value)


def test_masks_show_only_the_ends():
    assert mask(PHONE) == "139****4321"
    assert mask("push-id-0123456789", "push") == "push…"
    assert PHONE not in repr(notice()) and PHONE not in str(notice())


def test_texts_come_from_both_catalogs():
    assert (
        notice("near", places_ahead=3).text
        == "您的号码 A023（现金）前面还有 3 位，请回到大厅等候叫号。"
    )
    en = {"language": "en", "business": "Cash"}
    assert (
        notice("near", places_ahead=3, **en).text
        == "A023 (Cash): 3 customers ahead of you, please return to the hall."
    )
    assert "1 customer ahead" in notice("near", places_ahead=1, **en).text
    assert "you are next" in notice("near", places_ahead=0, **en).text
    assert notice("called").text == "请 A023 号到 3 号窗口办理。"
    assert notice("called", **en).text == "Number A023, please go to counter 3."
    assert "已过号" in notice("no_show").text
    assert notice("called", language="fr").text == "请 A023 号到 3 号窗口办理。"  # falls back
    zh, en_texts = catalogs()["zh"], catalogs()["en"]
    assert set(zh) == set(en_texts) >= {"notify.near", "notify.called", "notify.no_show"}


# ---------------------------------------------------------------------- backends
def test_the_log_notifier_never_logs_the_number(caplog):
    with caplog.at_level(logging.INFO, logger="queue_server.notify"):
        LoggingNotifier().send(notice())
    assert "139****4321" in caplog.text and "A023" in caplog.text
    assert PHONE not in caplog.text


def test_sms_gateway_gets_json_with_to_text_reference_and_the_secret(gateway, monkeypatch):
    monkeypatch.setenv("BANK_SMS_KEY", "k-123")
    sms = notifier_for_url(
        gateway.url(sender="BranchQ", token_env="BANK_SMS_KEY", auth_header="X-Api-Key")
    )
    try:
        sms.send(notice())
    finally:
        sms.close()
    (request,) = gateway.requests
    assert request["path"] == "/send"
    assert request["headers"]["X-Api-Key"] == "k-123"
    assert request["body"] == {
        "to": PHONE,
        "text": "请 A023 号到 3 号窗口办理。",
        "reference": "b-7-called0",
        "sender": "BranchQ",
    }


def test_a_server_error_is_retried_with_the_same_reference(gateway):
    gateway.script = [500, 503]
    sms = notifier_for_url(gateway.url(retries=2, backoff=0.01))
    try:
        sms.send(notice())
    finally:
        sms.close()
    refs = [b["reference"] for b in gateway.bodies()]
    assert refs == ["b-7-called0"] * 3


def test_a_refused_message_is_not_retried(gateway):
    gateway.script = [400]
    sms = notifier_for_url(gateway.url(retries=2, backoff=0.01))
    try:
        with pytest.raises(NotifyFailed, match="HTTP 400, 1 attempt") as info:
            sms.send(notice())
    finally:
        sms.close()
    assert len(gateway.requests) == 1
    assert PHONE not in str(info.value) and "139****4321" in str(info.value)


def test_a_hanging_gateway_times_out_then_is_given_up(gateway):
    gateway.script = ["hang", "hang"]
    sms = notifier_for_url(gateway.url(timeout=0.2, retries=1, backoff=0.01))
    try:
        with pytest.raises(NotifyFailed, match="ReadTimeout, 2 attempts"):
            sms.send(notice())
    finally:
        sms.close()
    assert len(gateway.requests) == 2


class BlockedNotifier:
    """Holds every send until released: the outbox must never wait for it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.sent: list[Notice] = []

    def send(self, n: Notice) -> None:
        self.release.wait(10)
        if n.kind == "no_show":
            raise RuntimeError(f"bug quoting {n.destination}")
        self.sent.append(n)

    def close(self) -> None:
        self.release.set()


def test_the_outbox_never_waits_and_drops_when_full(caplog):
    blocked = BlockedNotifier()
    outbox = NoticeOutbox(blocked, size=2)
    outbox.start()
    try:
        results = [outbox.put(notice(reference=f"r{i}")) for i in range(5)]
        # One taken by the worker (blocked), two queued, the rest dropped.
        assert results.count(False) >= 2 and outbox.stats.dropped == results.count(False)
        blocked.release.set()
        assert outbox.wait_idle(5)
        with caplog.at_level(logging.INFO, logger="queue_server.notify"):
            outbox.put(notice("no_show"))
            assert outbox.wait_idle(5)
    finally:
        outbox.stop()
    assert outbox.stats.sent == results.count(True) and outbox.stats.failed == 1
    assert "RuntimeError" in caplog.text and PHONE not in caplog.text


# --------------------------------------------------------------------- settings
def test_notifications_section_of_the_branch_config(tmp_path: Path, monkeypatch):
    from conftest import TEST_CONFIG

    assert parse_config(TEST_CONFIG).notifications == NotificationSettings("log://", 3)
    url = "sms+https://gateway.bank.local/send?sender=BranchQ"
    cfg = parse_config({**TEST_CONFIG, "notifications": {"url": url, "near": 2}})
    assert cfg.notifications == NotificationSettings(url, 2)
    for bad in (
        {"near": -1},
        {"near": "3"},
        {"url": "fax://0101"},
        {"url": "sms+https://gw/send?token=abc"},
        {"url": "sms+https://gw/send?api_key=abc"},
        {"nearby": 3},
    ):
        with pytest.raises(ConfigError):
            parse_config({**TEST_CONFIG, "notifications": bad})
    assert parse_notifications({"url": url + "&token_env=BANK_SMS"}).url.endswith("BANK_SMS")

    db = tmp_path / "b.db"
    init_db(db, cfg)
    conn = connect(db)
    try:
        assert load_notification_settings(conn) == NotificationSettings(url, 2)
        monkeypatch.setenv("BRANCHQ_NOTIFY_URL", "log://")
        assert load_notification_settings(conn) == NotificationSettings("log://", 2)
    finally:
        conn.close()


# ---------------------------------------------------------------------- opt-ins
def ticket(tid: int, state: TicketState = TicketState.WAITING, **kw: Any) -> Ticket:
    at = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    return Ticket(tid, f"A{tid:03}", "A", date(2026, 11, 27), at, at, state=state, **kw)


def test_opt_ins_follow_transfers_end_with_the_visit_and_the_day():
    day = date(2026, 11, 27)
    book = OptInBook()
    book.attach(1, OptIn(PHONE, "sms", "zh"), day)
    book.attach(2, OptIn("13800000000", "sms", "en"), day)
    assert book.first_time(1, "called:0") and not book.first_time(1, "called:0")
    moved = Change(tickets=[ticket(1, TicketState.TRANSFERRED), ticket(3, previous_id=1)])
    book.follow(moved, day)
    assert book.get(1) is None and book.get(3) == OptIn(PHONE, "sms", "zh")
    assert book.first_time(3, "called:0")  # a new leg is called afresh
    book.follow(Change(tickets=[ticket(3, TicketState.NO_SHOW)]), day)
    assert book.get(3) is None and book.opted_in() == [2]
    book.purge_before(date(2026, 11, 28))
    assert len(book) == 0


def test_a_new_number_never_repeats_a_notice_and_changes_are_capped():
    day = date(2026, 11, 27)
    book = OptInBook()
    book.attach(1, OptIn(PHONE, "sms", "zh"), day)
    assert book.first_time(1, "near")
    book.attach(1, OptIn("13800000000", "sms", "zh"), day)
    assert not book.first_time(1, "near")
    assert book.detach(1, day) and not book.detach(1, day)
    book.attach(1, OptIn(PHONE, "sms", "zh"), day)
    assert not book.first_time(1, "near")
    with pytest.raises(TooManyChanges):
        for _ in range(MAX_CHANGES):
            book.attach(1, OptIn(PHONE, "sms", "zh"), day)
