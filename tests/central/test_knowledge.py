"""The knowledge base at the centre: what a version changed, in the tellers' words; versions
published to every branch on real PostgreSQL; the console's editor API on a real uvicorn."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.branches import enrol
from central.knowledge_changes import changes
from central.signing import Signer
from central.storage import downlink, knowledge
from queue_server.signatures import verify
from tools.console_network import BRANCHES, PASSWORD, ConsoleServer, seed_network
from wire.knowledge import Page, check_body, check_page


def page(service: str = "C", **fields: Any) -> Page:
    raw = {
        "service": service,
        "title": {"zh": "开户", "en": "Account opening"},
        "documents": ["居民身份证"],
        "steps": ["核验证件", "联网核查", "签署协议"],
        "limits": ["每人每行限开一个一类户"],
        "mistakes": ["未做联网核查"],
        "related": [],
        "body": "",
    }
    raw.update(fields)
    return check_page(raw)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            page(),
            page(documents=["居民身份证", "港澳台居民居住证"]),
            ["开户：新增『港澳台居民居住证』为需核验的证件"],
        ),
        (page(), page(documents=[]), ["开户：『居民身份证』不再需要核验"]),
        (
            page(),
            page(limits=["每人每行限开一个一类户及两个二类户"]),
            [
                "开户：限额与条件『每人每行限开一个一类户』改为『每人每行限开一个一类户及两个二类户』"
            ],
        ),
        (page(), page(steps=["联网核查", "核验证件", "签署协议"]), ["开户：步骤顺序有调整"]),
        (
            page(),
            page(steps=["核验证件", "联网核查", "风险评估", "签署协议"]),
            ["开户：新增步骤『风险评估』"],
        ),
        (page(), page(mistakes=[]), ["开户：删去常见错误『未做联网核查』"]),
        (page(), page(related=["K"]), ["开户：新增关联业务『银行卡办理』"]),
        (page(), page(title={"zh": "个人开户", "en": ""}), ["开户：名称改为『个人开户』"]),
        (page(), page(body="新规自 12 月起执行。"), ["开户：说明有修改"]),
        (page(), page(), []),
    ],
)
def test_each_change_reads_as_one_sentence_a_teller_understands(
    old: Page, new: Page, expected: list[str]
) -> None:
    card = page("K", title={"zh": "银行卡办理", "en": "Cards"}, steps=[], related=[])
    assert [c["zh"] for c in changes([old, card], [new, card])] == expected
    assert all(c["en"] and c["service"] == "C" for c in changes([old, card], [new, card]))


def test_a_page_added_or_removed_is_one_change() -> None:
    card = page("K", title={"zh": "银行卡办理", "en": "Cards"})
    added = changes([page()], [page(), card])
    assert [(c["service"], c["what"], c["zh"]) for c in added] == [
        ("K", "added", "银行卡办理：新增业务页")
    ]
    assert [c["zh"] for c in changes([page(), card], [card])] == ["开户：业务页已删除"]


_items = st.lists(st.sampled_from(["身份证", "户口簿", "护照", "居住证", "授权书"]), unique=True)
_pages = st.builds(
    lambda docs, steps, limits, body: page(documents=docs, steps=steps, limits=limits, body=body),
    _items, _items, _items, st.sampled_from(["", "注意", "注意\n\n- 一\n- 二"]),
)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(_pages, _pages)
def test_nothing_changed_exactly_when_the_pages_are_equal(old: Page, new: Page) -> None:
    found = changes([old], [new])
    assert (found == []) == (old == new)
    # Every item that came or went is named in some sentence
    for field in ("documents", "steps", "limits"):
        moved = set(old[field]) ^ set(new[field])  # type: ignore[literal-required]
        text = " ".join(c["zh"] for c in found if c["field"] == field)
        assert all(f"『{x}』" in text for x in moved)


# ---------------------------------------------------------------- PostgreSQL
def test_publishing_makes_a_version_sends_every_branch_its_changes_and_keeps_history(
    central_dsn: str, signer: Signer
) -> None:
    with psycopg.connect(central_dsn) as conn:
        seed_network(conn)
        branches = [r[0] for r in conn.execute("SELECT id FROM branches ORDER BY id")]
        knowledge.save_page(conn, dict(page()), "hq")
        first = knowledge.publish(conn, signer, "hq")
        conn.commit()
        assert (first["version"], first["branches"]) == (1, len(branches))
        assert [c["zh"] for c in first["changes"]] == ["开户：新增业务页"]
        with pytest.raises(knowledge.KnowledgeError) as refused:
            knowledge.publish(conn, signer, "hq")
        assert refused.value.code == "nothing_to_publish"
        conn.rollback()

        knowledge.save_page(conn, dict(page(documents=["居民身份证", "港澳台居民居住证"])), "hq")
        assert [c["zh"] for c in knowledge.unpublished(conn)] == [
            "开户：新增『港澳台居民居住证』为需核验的证件"
        ]
        second = knowledge.publish(conn, signer, "hq")
        conn.commit()
        assert second["version"] == 2
        for branch in branches:
            (document,) = [
                d for d in downlink.pending(conn, branch, {}) if d["kind"] == "knowledge"
            ]
            verify(document, [signer.private_key.public_key()])
            body = check_body(document["body"])
            assert (document["version"], body["kb_version"]) == (2, 2)
            assert [c["zh"] for c in body["changes"]] == [
                "开户：新增『港澳台居民居住证』为需核验的证件"
            ]
            assert [(v["kb_version"], v["changes"][0]["zh"]) for v in body["earlier"]] == [
                (1, "开户：新增业务页")
            ]
            assert body["pages"][0]["documents"] == ["居民身份证", "港澳台居民居住证"]
        assert [v["version"] for v in knowledge.history(conn)] == [2, 1]
        old = knowledge.version(conn, 1)
        assert old is not None and old["pages"][0]["documents"] == ["居民身份证"]


def test_a_branch_enrolled_after_a_publication_gets_the_newest_knowledge_on_its_first_poll(
    central_dsn: str, signer: Signer
) -> None:
    with psycopg.connect(central_dsn) as conn:
        seed_network(conn)
        knowledge.save_page(conn, dict(page()), "hq")
        knowledge.publish(conn, signer, "hq")
        knowledge.save_page(conn, dict(page(documents=["居民身份证", "户口簿"])), "hq")
        knowledge.publish(conn, signer, "hq")
        conn.commit()
        token = enrol(conn, "B900", "新开网点", "east")
    own = {"Authorization": f"Bearer {token}"}
    with (
        ConsoleServer(central_dsn, signer) as server,
        httpx.Client(base_url=server.base_url + "/api/v1/ship", timeout=10, headers=own) as ship,
    ):
        first = ship.get("/downlink").json()["documents"]
        (document,) = [d for d in first if d["kind"] == "knowledge"]
        verify(document, [signer.private_key.public_key()])
        body = check_body(document["body"])
        assert (document["branch"], document["version"], body["kb_version"]) == ("B900", 1, 2)
        assert body["pages"][0]["documents"] == ["居民身份证", "户口簿"]
        assert [c["zh"] for c in body["changes"]] == ["开户：新增『户口簿』为需核验的证件"]
        assert [v["kb_version"] for v in body["earlier"]] == [1]
        # Holding it, the next polls bring nothing and send nothing again
        assert ship.get("/downlink", params={"knowledge": 1}).json()["documents"] == []
        assert ship.get("/downlink", params={"knowledge": 1}).json()["documents"] == []
        with psycopg.connect(central_dsn) as conn:
            knowledge.save_page(conn, dict(page(documents=["居民身份证"])), "hq")
            knowledge.publish(conn, signer, "hq")
            conn.commit()
            sent = conn.execute(
                "SELECT branch_id, array_agg(version ORDER BY version) FROM downlink_documents "
                "WHERE kind = 'knowledge' AND branch_id IN ('B900', %s) GROUP BY branch_id",
                (BRANCHES[0][0],),
            ).fetchall()
        # The next publication follows on from it: one version each, never one twice
        assert dict(sent) == {BRANCHES[0][0]: [1, 2, 3], "B900": [1, 2]}
        (latest,) = ship.get("/downlink", params={"knowledge": 1}).json()["documents"]
        assert (latest["version"], latest["body"]["kb_version"]) == (2, 3)


# ---------------------------------------------------------------- console API
@contextlib.contextmanager
def signed_in(server: ConsoleServer, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url + "/console/api", timeout=10) as http:
        r = http.post("/sign-in", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        yield http


def test_head_office_writes_and_publishes_regional_managers_only_read(
    console: ConsoleServer,
) -> None:
    with signed_in(console, "hq") as hq, signed_in(console, "east") as east:
        saved = hq.put("/knowledge/pages/C", json={**page(), "steps": ["核验证件", ""]})
        assert saved.status_code == 200, saved.text
        assert saved.json()["steps"] == ["核验证件"]  # empty lines dropped
        bad = hq.put("/knowledge/pages/C", json={**page(), "title": {"zh": ""}})
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "bad_page")
        other = hq.put("/knowledge/pages/K", json=dict(page()))
        assert other.json()["error"]["code"] == "service_mismatch"

        overview = east.get("/knowledge").json()
        assert overview["may_edit"] is False and overview["latest"] is None
        assert [c["zh"] for c in overview["unpublished"]] == ["开户：新增业务页"]
        for r in (
            east.put("/knowledge/pages/C", json=dict(page())),
            east.post("/knowledge/publish"),
            east.delete("/knowledge/pages/C"),
        ):
            assert (r.status_code, r.json()["error"]["code"]) == (403, "head_office_only")

        published = hq.post("/knowledge/publish")
        assert published.status_code == 200, published.text
        assert published.json()["version"] == 1
        again = hq.post("/knowledge/publish")
        assert (again.status_code, again.json()["error"]["code"]) == (409, "nothing_to_publish")
        assert east.get("/knowledge/versions").json()["versions"][0]["version"] == 1
        assert east.get("/knowledge/versions/1").json()["pages"][0]["service"] == "C"
        assert east.get("/knowledge/versions/9").json()["error"]["code"] == "unknown_version"
        assert hq.delete("/knowledge/pages/K").json()["error"]["code"] == "unknown_page"
        page_html = hq.get(console.base_url + "/console/knowledge")
        assert page_html.status_code == 200 and "knowledge.js" in page_html.text


def test_publishing_without_a_signing_key_is_refused_and_changes_nothing(
    central_dsn: str,
) -> None:
    with psycopg.connect(central_dsn) as conn:
        seed_network(conn)
    with ConsoleServer(central_dsn) as server, signed_in(server, "hq") as hq:
        hq.put("/knowledge/pages/C", json=dict(page()))
        r = hq.post("/knowledge/publish")
        assert (r.status_code, r.json()["error"]["code"]) == (503, "no_signing_key")
        assert hq.get("/knowledge/versions").json()["versions"] == []
