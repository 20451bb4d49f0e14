"""Hostile text into every text slot of every operation: lone surrogates, C0/C1 controls,
bidi overrides, zero-width characters, 4-byte CJK, very long strings. The operations and
their text slots (body fields, dict keys and values, list items, path, query and header
parameters) come from the app's own OpenAPI document, so a new route is covered as soon as
it exists. Each request is answered 4xx or 2xx, never 5xx; it never reloads the engine (a
new epoch resyncs every client); and a refused one changes nothing at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.timeout(300)

HOSTILE_CHARS = (
    "\ud800\udbff\udc00\udfff"  # lone surrogates: valid in JSON escapes, not in UTF-8
    "\x00\x07\x1b\x7f\x85\x9f"  # C0, DEL and C1 controls
    "\u202e\u202d\u2066\u2069\u200e\u200f"  # bidi overrides, isolates and marks
    "\u200b\u200c\u200d\ufeff\u2028\u2029"  # zero-width characters, line separators
    "𠮷😀\U0010ffff"  # 4-byte characters
    "\n\r\t é\u0301"  # line breaks, a decomposed é
)
_chars = st.one_of(st.sampled_from(HOSTILE_CHARS), st.characters())
# Every generated text holds at least one hostile character (the simplest: a lone surrogate).
_short = st.builds(
    lambda head, bad, tail: head + bad + tail,
    st.text(_chars, max_size=20),
    st.sampled_from(HOSTILE_CHARS),
    st.text(_chars, max_size=20),
)
_long = st.builds(
    lambda c, n: c * n, st.sampled_from("x现𠮷\u202e"), st.sampled_from([101, 301, 20_000])
)
_megabyte = st.just("𠮷\ud800" + "x" * 1_000_000)  # a megabyte, past the body limit
BODY_TEXT = st.one_of(_short, _short, _long, _megabyte)
PARAM_TEXT = st.one_of(_short, st.just("x" * 1000))  # a URL is no place for a megabyte
EXAMPLES_PER_SLOT = 4

# Valid values for fields a schema constrains by pattern (and a few that must name
# something that exists); everything else is derived from the schema.
FIELD_EXAMPLES: dict[str, Any] = {
    "service": "A",
    "to_service": "B",
    "bundle": None,
    "role": "kiosk",
    "staff_id": "t1",
    "pin": "2468",
    "phone": "13812345678",
    "device": "kiosk-1/printer",
    "kind": "printer",
    "health": "ok",
    "number": "A001",
    "booking_number": None,
    "cancel_code": None,
    "slot_start": "2026-11-28T10:00:00",
    "birth_date": "1980-01-02",
    "id_number": "11010519491231002X",
    "day": "2026-11-27",
    "from": "2026-11-27",
    "to": "2026-11-27",
    "state": "open",
    "rating": 3,
    "minutes": 5,
    "language": "zh",
    "qr": "BQA1.x.y",
}
KEY_EXAMPLES = {"names": "zh", "guidance": "zh", "eform": "name"}
ROLES = ("manager", "counter:1", "kiosk", "booking", "admin", "display", None)


@dataclass(frozen=True)
class Slot:
    """Where hostile text goes: a body path (a key of a dict when `key`), or a parameter."""

    where: str  # body, path, query, header
    path: tuple[str | int, ...]  # for parameters: (name,)
    key: bool = False

    def __str__(self) -> str:
        return f"{self.where}:{'.'.join(map(str, self.path))}{'[key]' if self.key else ''}"


class Spec:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        if "anyOf" in schema:
            present = [s for s in schema["anyOf"] if s.get("type") != "null"]
            return self.resolve(present[0])
        return schema

    def example(self, schema: dict[str, Any], name: str) -> Any:
        raw = schema
        schema = self.resolve(schema)
        if name in FIELD_EXAMPLES:
            return FIELD_EXAMPLES[name]
        if "default" in raw:
            return raw["default"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object":
            props = schema.get("properties", {})
            return {k: self.example(props[k], k) for k in schema.get("required", [])}
        if kind == "array":
            return [self.example(schema["items"], name)] * schema.get("minItems", 0)
        if kind == "integer":
            return max(1, schema.get("minimum", 1))
        if kind == "number":
            return 1.0
        if kind == "boolean":
            return False
        assert "pattern" not in schema, f"give {name!r} a valid example in FIELD_EXAMPLES"
        return "text"

    def slots(self, schema: dict[str, Any], path: tuple[str | int, ...] = ()) -> Iterator[Slot]:
        schema = self.resolve(schema)
        kind = schema.get("type")
        if kind == "string":
            yield Slot("body", path)
        elif kind == "array":
            yield from self.slots(schema["items"], (*path, 0))
        elif kind == "object":
            for name, sub in schema.get("properties", {}).items():
                yield from self.slots(sub, (*path, name))
            values = schema.get("additionalProperties") or next(
                iter(schema.get("patternProperties", {}).values()), None
            )
            if isinstance(values, dict):
                key = KEY_EXAMPLES.get(str(path[-1]) if path else "", "zh")
                yield Slot("body", path, key=True)
                yield from self.slots(values, (*path, key))


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield method.upper(), path, op


def body_schema(op: dict[str, Any]) -> dict[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    return content["schema"] if content else None


def inject(body: Any, slot: Slot, text: str, spec: Spec, schema: dict[str, Any]) -> Any:
    """A copy of the valid body with `text` at the slot (containers made on the way)."""
    body = json.loads(json.dumps(body))
    node, sub = body, spec.resolve(schema)
    for i, step in enumerate(slot.path):
        last = i == len(slot.path) - 1
        if isinstance(step, int):
            sub = spec.resolve(sub["items"])
        elif step in sub.get("properties", {}):
            sub = spec.resolve(sub["properties"][step])
        else:  # a dict's value
            sub = spec.resolve(
                sub.get("additionalProperties")
                or next(iter(sub.get("patternProperties", {}).values()))
            )
        if last and not slot.key:
            if isinstance(step, int):
                node[:] = [text]
            else:
                node[step] = text
            return body
        fresh: Any = [] if sub.get("type") == "array" else {}
        if isinstance(step, int):
            if not node:
                node.append(fresh)
            node = node[0]
        else:
            node = node.setdefault(step, fresh) if isinstance(node, dict) else node
            if node is None:
                node = fresh
    if slot.key:
        values = sub.get("additionalProperties") or next(
            iter(sub.get("patternProperties", {}).values())
        )
        node[text] = spec.example(values, "")
    return body


@pytest.fixture
def hostile_server(server):
    """The test branch with a ticket, a booking and a spare token to name in paths."""
    kiosk = server.client("kiosk")
    ticket = kiosk.post("/tickets", json={"service": "A"}).json()
    booked = server.client("booking").post(
        "/appointments", json={"service": "C", "slot_start": FIELD_EXAMPLES["slot_start"]}
    )
    spare = server.client("admin").post("/tokens", json={"role": "kiosk", "name": "spare"})
    server.path_values = {
        "code": "A",
        "number": 1,
        "ticket_id": ticket["id"],
        "token": ticket["token"],
        "appointment_id": booked.json().get("id", 1),
        "token_id": spare.json()["id"],
        "alert_id": "20261127T100000-00000000",
        "followup_id": 1,
    }
    return server


def fingerprint(branch: Any) -> tuple[Any, ...]:
    """What a refused request must leave as it was: the event log's end (every change is an
    event) and the entities managers edit, compared as values."""
    services = sorted(branch.services.items())
    counters = sorted((n, c.state, c.skills, c.staff_id) for n, c in branch.counters.items())
    return branch.last_seq, len(branch.tickets), services, counters, branch.settings


@dataclass
class Route:
    """One operation with a valid request for it, sent by the first role it admits."""

    server: Any
    spec: Spec
    clients: dict[str | None, httpx.Client]
    method: str
    path: str
    params: list[dict[str, Any]]
    schema: dict[str, Any] | None
    body: Any = None
    values: dict[str, Any] | None = None
    role: str | None = None

    def send(self, body: Any, values: dict[str, Any], headers: dict[str, bytes]) -> httpx.Response:
        url, query = self.path, []
        for p in self.params:
            if p["name"] not in values:
                continue
            raw = str(values[p["name"]]).encode("utf-8", "surrogatepass")
            if p["in"] == "path":
                url = url.replace("{" + p["name"] + "}", quote(raw, safe=""))
            elif p["in"] == "query":
                query.append(f"{quote(p['name'])}={quote(raw, safe='')}")
        url = self.server.base_url + url + ("?" + "&".join(query) if query else "")
        content = None if body is None else json.dumps(body).encode()  # ASCII escapes
        sent = {"Content-Type": "application/json", **headers}
        client = self.clients[self.role]
        return client.request(self.method, url, content=content, headers=sent)

    def hammer(self, slot: Slot) -> None:
        server = self.server

        @settings(
            max_examples=EXAMPLES_PER_SLOT,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(text=BODY_TEXT if slot.where == "body" else PARAM_TEXT)
        def attempt(text: str) -> None:
            body, values, headers = self.body, dict(self.values or {}), {}
            if slot.where == "body":
                assert self.schema is not None
                body = inject(self.body, slot, text, self.spec, self.schema)
            elif slot.where == "header":
                # A header carries bytes: the hostile ones a client may send at all.
                raw = text.encode("latin-1", "replace").translate(None, b"\r\n\x00")
                headers = {str(slot.path[0]): raw}
            else:
                values[str(slot.path[0])] = text
            engine = server.engine
            epoch, before = engine.epoch, fingerprint(engine.branch)
            try:
                r = self.send(body, values, headers)
            except httpx.LocalProtocolError:
                return  # the client itself refuses to send these header bytes
            where = f"{self.method} {self.path} {slot} as {self.role}"
            assert r.status_code < 500, f"{where}: {r.status_code} {r.text[:300]}"
            assert engine.epoch == epoch, f"{where}: the engine reloaded"
            if r.status_code >= 400:
                assert fingerprint(engine.branch) == before, f"{where}: a refusal changed state"

        attempt()


def test_hostile_text_in_every_slot_of_every_route_is_refused_or_taken(hostile_server):
    server = hostile_server
    doc = server.app.openapi()
    spec = Spec(doc)
    clients = {role: server.client(role) for role in ROLES}
    covered: list[str] = []
    for method, path, op in operations(doc):
        params = op.get("parameters", [])
        schema = body_schema(op)
        slots = [
            Slot(p["in"], (p["name"],))
            for p in params
            if spec.resolve(p["schema"]).get("type") == "string"
        ]
        if schema is not None:
            slots += list(spec.slots(schema))
        if not slots:
            continue
        route = Route(server, spec, clients, method, path, params, schema)
        route.body = spec.example(schema, "") if schema is not None else None
        route.values = {
            p["name"]: server.path_values[p["name"]]
            if p["name"] in server.path_values
            else spec.example(p["schema"], p["name"])
            for p in params
            if p["in"] == "path" or p.get("required")
        }
        # The first role the route admits (its guard answers before any validation).
        for role in ROLES:
            route.role = role
            if route.send(route.body, route.values, {}).status_code not in (401, 403):
                break
        for slot in slots:
            route.hammer(slot)
            covered.append(f"{method} {path} {slot}")

    # The count says when a route vanished from the document or lost its text.
    assert len(covered) >= 70, covered
    assert "PATCH /api/v1/services/{code} body:names.zh" in covered, covered
