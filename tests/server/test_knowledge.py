"""The knowledge base at the branch: the `knowledge` applier on a real server's engine, and
the counters' API on a real uvicorn (search, a page, what changed and who has read it)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.sync.client import connect

from central.signing import sign
from queue_server.downlink import Refusal
from tests.conftest import LiveServer, sign_in
from wire.downlink import Document
from wire.kinds import EventKind, MessageType

KEY = Ed25519PrivateKey.generate()


def _page(service: str, zh: str, en: str, documents: list[str]) -> dict[str, Any]:
    return {
        "service": service, "title": {"zh": zh, "en": en}, "documents": documents,
        "steps": ["核验证件"], "limits": [], "mistakes": [], "related": [], "body": "",
    }  # fmt: skip


def document(version: int, documents: list[str], **body: Any) -> Document:
    change = {
        "service": "C", "what": "added", "field": "documents",
        "zh": f"开户：第 {version} 版的变更", "en": f"Account opening: change {version}",
    }  # fmt: skip
    return sign(
        {
            "kind": "knowledge",
            "branch": "B001",
            "version": version,
            "issued_at": "2026-12-01T02:00:00+00:00",
            "body": {
                "kb_version": version,
                "published_at": "2026-12-01T02:00:00+00:00",
                "pages": [
                    _page("C", "开户", "Account opening", documents),
                    _page("K", "银行卡办理", "Debit cards", ["居民身份证", "银行卡"]),
                ],
                "changes": [change],
                "earlier": [],
                **body,
            },
        },
        KEY,
    )


def apply(server: LiveServer, doc: dict[str, Any]) -> Any:
    engine = server.engine
    done = asyncio.run_coroutine_threadsafe(server.app.state.knowledge.apply(doc), engine._loop)
    return done.result(timeout=10)


def test_the_applier_stores_the_pages_and_refuses_a_bad_or_older_body_whole(
    server: LiveServer,
) -> None:
    assert apply(server, document(2, ["居民身份证"])) == {"kb_version": 2, "pages": 2}
    manager = server.client("manager")
    bad = document(3, ["居民身份证"], pages=[{"service": "C", "title": {"zh": "<b>x"}}] * 2)
    with pytest.raises(Refusal) as refused:
        apply(server, bad)
    assert refused.value.code == "bad_page"  # a business with two pages
    with pytest.raises(Refusal) as older:
        apply(server, document(1, []))
    assert older.value.code == "older_knowledge"
    assert manager.get("/knowledge/C").json()["documents"] == ["居民身份证"]  # unchanged
    with pytest.raises(Refusal):
        apply(server, {**document(4, []), "kind": "notice"})


def test_counters_search_and_read_pages_from_the_branch_database(server: LiveServer) -> None:
    apply(server, document(1, ["居民身份证", "港澳台居民居住证"]))
    counter = sign_in(server, 1)
    found = counter.get("/knowledge", params={"q": "居住证"}).json()["pages"]
    assert [p["service"] for p in found] == ["C"]
    assert [
        p["service"] for p in counter.get("/knowledge", params={"q": "DEBIT"}).json()["pages"]
    ] == ["K"]
    assert [
        p["service"] for p in counter.get("/knowledge", params={"q": "身份证 核验"}).json()["pages"]
    ] == ["C", "K"]
    assert counter.get("/knowledge", params={"q": "100%"}).json()["pages"] == []
    assert counter.get("/knowledge/K").json()["title"]["en"] == "Debit cards"
    missing = counter.get("/knowledge/Z")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "unknown_page")
    assert server.client("kiosk").get("/knowledge").status_code == 403


def test_each_teller_sees_what_changed_until_they_dismiss_it(server: LiveServer) -> None:
    apply(server, document(1, ["居民身份证"]))
    counter = sign_in(server, 1)
    first = counter.get("/counters/1/knowledge-changes").json()
    assert first["staff_id"] == "t1" and [v["kb_version"] for v in first["unseen"]] == [1]
    after = counter.post("/counters/1/knowledge-changes/seen", json={"kb_version": 1}).json()
    assert after["unseen"] == []
    # Two versions arrive while the teller is away: both are shown, newest first
    apply(server, document(2, ["居民身份证", "户口簿"]))
    apply(server, document(3, ["居民身份证", "户口簿", "护照"]))
    unseen = counter.get("/counters/1/knowledge-changes").json()["unseen"]
    assert [v["kb_version"] for v in unseen] == [3, 2]
    assert unseen[0]["changes"][0]["zh"] == "开户：第 3 版的变更"
    # Another teller has their own: new to the branch, they see the newest only
    other = sign_in(server, 2)
    assert [
        v["kb_version"] for v in other.get("/counters/2/knowledge-changes").json()["unseen"]
    ] == [3]
    # A late, older "seen" never brings back what was dismissed after it
    counter.post("/counters/1/knowledge-changes/seen", json={"kb_version": 3})
    counter.post("/counters/1/knowledge-changes/seen", json={"kb_version": 2})
    assert counter.get("/counters/1/knowledge-changes").json()["unseen"] == []
    refused = counter.get("/counters/2/knowledge-changes")
    assert refused.status_code == 403  # another counter's teller is not this counter's


def _next_events(ws: Any) -> list[dict[str, Any]]:
    while True:
        message = json.loads(ws.recv(timeout=15))
        if message["type"] == MessageType.EVENTS:
            return list(message["events"])


def test_a_knowledge_base_applied_is_one_event_on_the_stream_and_a_refused_one_none(
    server: LiveServer,
) -> None:
    url = f"{server.ws_url}?token={server.tokens['counter:1']}"
    with connect(url, open_timeout=5) as ws:
        snapshot = json.loads(ws.recv(timeout=15))
        assert snapshot["type"] == MessageType.SNAPSHOT
        apply(server, document(2, ["居民身份证"]))
        [event] = _next_events(ws)
        # A refused body (older than the one held) writes nothing: the next event the
        # counter sees is the following good version's, right after the first.
        with pytest.raises(Refusal):
            apply(server, document(1, []))
        apply(server, document(3, ["居民身份证", "户口簿"], changes=[]))
        [following] = _next_events(ws)
    assert event["kind"] == EventKind.KNOWLEDGE_APPLIED
    assert event["seq"] == snapshot["seq"] + 1 and following["seq"] == event["seq"] + 1
    assert event["data"]["kb_version"] == 2 and event["data"]["services"] == ["C"]
    assert event["data"]["actor"] == "head office"
    assert following["data"]["kb_version"] == 3 and following["data"]["services"] == []
    # The pages committed with the event: a counter told of version 3 reads version 3
    counter = sign_in(server, 1)
    assert counter.get("/knowledge/C").json()["documents"] == ["居民身份证", "户口簿"]
