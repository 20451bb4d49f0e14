"""The shipping routes on a real uvicorn: tokens, cross-branch writes, a batch end to end."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from branch_day import event

from central.api.app import create_app
from central.branches import enrol
from tools.harness import ThreadServer


@pytest.fixture
def centre(central_dsn: str) -> Iterator[tuple[str, dict[str, str]]]:
    with psycopg.connect(central_dsn) as conn:
        tokens = {b: enrol(conn, b, b, "east") for b in ("B001", "B002")}
    server = ThreadServer(create_app(central_dsn, pool_size=4), lifespan="on").start(15)
    try:
        yield server.base_url, tokens
    finally:
        server.stop()


def _hello(branch: str, log_id: str) -> dict[str, object]:
    return {"branch": branch, "log_id": log_id, "first_seq": 1, "restored_from": None,
            "software_version": "t", "backlog": 3, "profile": {}}  # fmt: skip


def test_a_branch_ships_with_its_token_and_only_for_itself(
    centre: tuple[str, dict[str, str]],
) -> None:
    url, tokens = centre
    log_id = str(uuid.uuid4())
    own = {"Authorization": f"Bearer {tokens['B001']}"}
    with httpx.Client(base_url=url, timeout=10) as c:
        assert (
            c.post("/api/v1/ship/hello", json=_hello("B001", log_id), headers=own).json()[
                "watermark"
            ]
            == 0
        )
        batch = {"branch": "B001", "log_id": log_id, "events": [event(1), event(2)]}
        ack = c.post("/api/v1/ship/events", json=batch, headers=own)
        assert ack.status_code == 200 and ack.json()["watermark"] == 2
        state = c.get(f"/api/v1/ship/logs/{log_id}", headers=own).json()
        assert state["sha256_at_watermark"] == event(2)["sha256"]
        digests = c.get(f"/api/v1/ship/logs/{log_id}/digests?after=0", headers=own).json()
        assert [d[0] for d in digests["digests"]] == [1, 2]
        gap = c.post("/api/v1/ship/events", headers=own,
                     json={**batch, "events": [event(5)]})  # fmt: skip
        assert (gap.status_code, gap.json()["code"]) == (409, "gap")
        assert gap.json()["state"]["watermark"] == 2

        wrong = tokens["B001"][:-2] + ("AA" if not tokens["B001"].endswith("AA") else "BB")
        for headers, code in (
            ({}, "missing_token"),
            ({"Authorization": "Bearer nonsense"}, "malformed_token"),
            ({"Authorization": f"Bearer {wrong}"}, "bad_token"),
        ):
            r = c.post("/api/v1/ship/events", json=batch, headers=headers)
            assert (r.status_code, r.json()["code"]) == (401, code)
        other = {"Authorization": f"Bearer {tokens['B002']}"}
        cross = c.post("/api/v1/ship/events", json={**batch, "events": [event(3)]}, headers=other)
        assert (cross.status_code, cross.json()["code"]) == (403, "wrong_branch")
        unseen = c.get(f"/api/v1/ship/logs/{log_id}", headers=other)
        assert (unseen.status_code, unseen.json()["code"]) == (404, "unknown_log")
        assert c.get(f"/api/v1/ship/logs/{log_id}", headers=own).json()["watermark"] == 2


def test_a_malformed_batch_is_refused_whole_with_a_code(
    centre: tuple[str, dict[str, str]],
) -> None:
    url, tokens = centre
    log_id = str(uuid.uuid4())
    own = {"Authorization": f"Bearer {tokens['B001']}"}
    with httpx.Client(base_url=url, timeout=10) as c:
        c.post("/api/v1/ship/hello", json=_hello("B001", log_id), headers=own).raise_for_status()
        good = event(1)
        for bad in (
            b"{not json",
            b"[]",
            # a seq as text is refused, not read as a number: checks are strict
            json.dumps({"branch": "B001", "log_id": log_id, "events": [{**good, "seq": "1"}]}),
            json.dumps({"branch": "B001", "log_id": log_id}),
        ):
            r = c.post("/api/v1/ship/events", content=bad, headers=own)
            assert (r.status_code, r.json()["code"]) == (422, "invalid_request"), bad
        # A lone surrogate, escaped in the JSON: no digest or text column can hold it
        lone = {**good, "body": {"ticket": {"number": "\ud800"}}}
        r = c.post(
            "/api/v1/ship/events",
            content=json.dumps({"branch": "B001", "log_id": log_id, "events": [lone]}),
            headers=own,
        )
        assert (r.status_code, r.json()["code"]) == (422, "invalid_event")
        assert c.get(f"/api/v1/ship/logs/{log_id}", headers=own).json()["watermark"] == 0
