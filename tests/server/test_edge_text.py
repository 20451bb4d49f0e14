"""Text at the edge: what no branch text needs is refused with its own code before it can
reach the writer, and a refused request never costs the requests committed beside it."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from websockets.sync.client import connect

WAIT_S = 10.0
ISSUES = 20


def patch_raw(server, path: str, body: dict, role: str = "manager") -> httpx.Response:
    """PATCH with the body as ASCII JSON: a lone surrogate travels as a "\\ud800" escape,
    the way any client that cannot encode it sends it."""
    return server.client(role).patch(
        path, content=json.dumps(body), headers={"Content-Type": "application/json"}
    )


def refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 422, response.text[:300]
    assert response.json()["error"]["code"] == code, response.text


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"names": {"zh": "现金\ud800"}}, "invalid_unicode"),
        ({"names": {"\ud800": "现金"}}, "unknown_language"),
        ({"guidance": {"zh": {"documents": ["身份证\ud800"]}}}, "invalid_unicode"),
        ({"guidance": {"zh": {"steps": ["\udfff"]}}}, "invalid_unicode"),
        ({"names": {"<script>": "x"}}, "unknown_language"),
        ({"guidance": {"../../etc": {"where": "x"}}}, "unknown_language"),
        ({"names": {"fr": "Caisse"}}, "unknown_language"),  # a language, not this branch's
        ({"names": {"zh": "x" * 20_000}}, "text_too_long"),
        ({"guidance": {"zh": {"documents": ["x" * 60_000]}}}, "text_too_long"),
        ({"names": {"en": "Cash\u202e"}}, "control_character"),
        ({"names": {"en": "Cash\nDesk"}}, "control_character"),
        ({"guidance": {"en": {"where": "Hall\x00B"}}}, "control_character"),
    ],
)
def test_a_business_text_no_branch_needs_is_refused_and_changes_nothing(server, body, code):
    manager = server.client("manager")
    before = manager.get("/services/A").json()
    seq, epoch = server.engine.branch.last_seq, server.engine.epoch
    refused(patch_raw(server, "/services/A", body), code)
    assert manager.get("/services/A").json() == before
    assert (server.engine.branch.last_seq, server.engine.epoch) == (seq, epoch)


def test_manager_texts_within_their_limits_are_stored_in_nfc(server):
    decomposed = "Cafe\u0301 𠮷"  # é as e + combining accent; a 4-byte CJK character
    r = patch_raw(
        server,
        "/services/A",
        {
            "names": {"zh": "现" * 100, "en": decomposed},
            "guidance": {"zh": {"documents": ["证" * 300] * 20, "where": "\u200f大厅\u200e"}},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["names"] == {"zh": "现" * 100, "en": "Café 𠮷"}
    assert r.json()["guidance"]["zh"]["documents"] == ["证" * 300] * 20


def test_a_surrogate_anywhere_in_a_json_body_is_a_422_never_a_500(server):
    kiosk = server.client("kiosk")
    for raw in (
        '{"service": "A", "\\ud800": 1}',  # an unknown key the answer names
        '{"service": "A\\ud800"}',
        '{"service": "A", "eform": {"\\udc00": "x"}}',
        '{"service": "C", "appointment_id": "\\ud83d"}',
    ):
        r = kiosk.post("/tickets", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (raw, r.text)
        assert r.json()["error"]["code"] in ("invalid_request", "invalid_unicode"), r.text
    assert server.engine.branch.tickets == {}


def test_an_idempotency_key_must_be_printable_ascii(server):
    kiosk = server.client("kiosk")
    for key in ("key \xe9 12345".encode("latin-1"), b"key with spaces", b"short"):
        r = kiosk.post("/tickets", json={"service": "A"}, headers={"Idempotency-Key": key})
        assert r.status_code == 422, r.text
    assert server.engine.branch.tickets == {}


@pytest.mark.parametrize(
    "bad",
    [
        {"names": {"zh": "现金\ud800"}},
        {"names": {"\ud800": "Cash"}},
        {"guidance": {"zh": {"documents": ["身份证"], "steps": ["取号\ud800"]}}},
    ],
    ids=["business-name", "language-key", "guidance-item"],
)
def test_a_surrogate_beside_twenty_ticket_issues_fails_only_itself(server, bad):
    """Issue 16, finding 1: the bad change used to fail the whole group commit (503 for
    most of the issues committed beside it) and reload the engine under a new epoch."""
    epoch = server.engine.epoch
    display = server.tokens["display"]
    with connect(f"{server.ws_url}?token={display}", open_timeout=5) as ws:
        first = json.loads(ws.recv(timeout=WAIT_S))
        assert first["type"] == "snapshot" and first["epoch"] == epoch
        kiosks = [server.client("kiosk") for _ in range(ISSUES)]
        manager = server.client("manager")
        start = threading.Barrier(ISSUES + 1, timeout=30)

        def issue(i: int) -> int:
            start.wait()
            return kiosks[i].post("/tickets", json={"service": "A"}).status_code

        def patch() -> httpx.Response:
            start.wait()
            return manager.patch(
                "/services/A", content=json.dumps(bad), headers={"Content-Type": "application/json"}
            )

        with ThreadPoolExecutor(ISSUES + 1) as pool:
            issued = [pool.submit(issue, i) for i in range(ISSUES)]
            refusal = pool.submit(patch)
            statuses = [f.result(timeout=30) for f in issued]
            bad_answer = refusal.result(timeout=30)
        assert statuses == [201] * ISSUES
        assert bad_answer.status_code == 422, bad_answer.text
        assert server.engine.epoch == epoch
        assert len(server.engine.branch.tickets) == ISSUES
        # A marker change after everything: the stream must reach it without a new snapshot.
        marker = manager.put("/branch/notice", json={"text": "marker"})
        assert marker.status_code == 200, marker.text
        kinds: list[str] = []
        while True:
            message = json.loads(ws.recv(timeout=WAIT_S))
            assert message["type"] != "snapshot", "the stream was resynced"
            if message["type"] == "events":
                kinds += [e["kind"] for e in message["events"]]
                if "branch.notice" in kinds:
                    break
        assert kinds.count("ticket.issued") == ISSUES


def test_every_request_text_has_a_limit_or_a_pattern(server):
    """A new request field typed plain `str` would take any text to the writer: each string
    in a request body or parameter is one of the text types (maxLength) or a pattern."""
    doc = server.app.openapi()
    schemas = doc["components"]["schemas"]

    def strings(schema: dict, where: str, seen: frozenset = frozenset()):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            if name not in seen:
                yield from strings(schemas[name], f"{where}<{name}>", seen | {name})
            return
        for part in schema.get("anyOf", []):
            yield from strings(part, where, seen)
        if schema.get("type") == "string":
            yield where, schema
        for key, sub in schema.get("properties", {}).items():
            yield from strings(sub, f"{where}.{key}", seen)
        for sub in (schema.get("items"), schema.get("additionalProperties")):
            if isinstance(sub, dict):
                yield from strings(sub, f"{where}[]", seen)
        for sub in schema.get("patternProperties", {}).values():
            yield from strings(sub, f"{where}{{}}", seen)

    open_ended = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            found = [(f"param {p['name']}", p["schema"]) for p in op.get("parameters", [])]
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            for where, schema in [*found, ("body", body["schema"] if body else {})]:
                for at, s in strings(schema, where):
                    if not ({"maxLength", "pattern", "enum", "format"} & set(s)):
                        open_ended.append(f"{method.upper()} {path} {at}")
    assert open_ended == [], open_ended
