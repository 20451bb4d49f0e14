"""Configuration from the centre on a real PostgreSQL and uvicorn: templates, overrides by
role and region, the effective configuration, and publication as signed documents."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from central.signing import Signer
from central.storage import config
from queue_server import signatures
from tools.console_network import PASSWORD, ConsoleServer
from wire import downlink as wire


@contextlib.contextmanager
def signed_in(console: ConsoleServer, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console.base_url + "/console/api/config", timeout=10) as http:
        r = http.post("../sign-in", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        yield http


def error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def test_a_regional_manager_edits_only_their_region_and_never_the_template(
    console: ConsoleServer, central_dsn: str
) -> None:
    with signed_in(console, "east") as east:
        # Their region and its branches: yes.
        r = east.put("/overrides/region/east", json={"path": "alerts.waiting_over", "value": 25})
        assert r.status_code == 200, r.text
        r = east.put(
            "/overrides/branch/hz-xihu", json={"path": "services.C.target_wait_min", "value": 12}
        )
        assert r.status_code == 200, r.text
        # Another region, one of its branches, the template: refused, nothing written.
        assert error(
            east.put("/overrides/region/north", json={"path": "voice_pack", "value": "x"})
        ) == (403, "outside_region")
        assert error(
            east.put("/overrides/branch/bj-guomao", json={"path": "voice_pack", "value": "x"})
        ) == (403, "outside_region")
        assert error(east.delete("/overrides/branch/bj-guomao", params={"path": "x"})) == (
            403,
            "outside_region",
        )
        assert error(east.get("/preview", params={"branch": "tj-binhai"})) == (
            403,
            "outside_region",
        )
        assert error(east.post("/publish", json={"region": "north"})) == (403, "outside_region")
        assert error(east.post("/publish", json={"branches": ["bj-guomao"]})) == (
            403,
            "outside_region",
        )
        tpl = east.get("/template").json()
        assert tpl["may_edit_template"] is False
        r = east.put("/template", json={"catalogue": tpl["template"]["catalogue"], "based_on": 1})
        assert error(r) == (403, "head_office_only")
    with psycopg.connect(central_dsn) as conn:
        assert config.overrides(conn, "region", "north") == {}
        assert config.overrides(conn, "branch", "bj-guomao") == {}
        assert config.template(conn).version == 1  # type: ignore[union-attr]


def test_the_preview_says_where_each_value_came_from_and_a_reset_restores_it(
    console: ConsoleServer,
) -> None:
    with signed_in(console, "hq") as hq:
        before = hq.get("/preview", params={"branch": "sh-xujiahui"}).json()
        assert before["overridden"] == {"opening_hours.sat": "region"}
        r = hq.put(
            "/overrides/branch/sh-xujiahui",
            json={"path": "opening_hours.sat", "value": ["10:00", "15:00"]},
        )
        assert r.status_code == 200, r.text
        after = hq.get("/preview", params={"branch": "sh-xujiahui"}).json()
        assert after["catalogue"]["opening_hours"]["sat"] == ["10:00", "15:00"]
        assert after["overridden"] == {"opening_hours.sat": "branch"}
        assert after["region_overrides"] == {"opening_hours.sat": ["09:00", "12:00"]}
        hq.delete("/overrides/branch/sh-xujiahui", params={"path": "opening_hours.sat"})
        assert hq.get("/preview", params={"branch": "sh-xujiahui"}).json() == before
        # A region's view is the template with its own overrides only.
        north = hq.get("/preview", params={"region": "north"}).json()
        assert north["overridden"] == {} and north["catalogue"]["opening_hours"]["sat"] == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"path": "services.Z.target_wait_min", "value": 8}, 422, "unknown_path"),
        ({"path": "services.A.target_wait_min", "value": "8"}, 422, "bad_value"),
        ({"path": "services.A.target_wait_min"}, 422, "bad_value"),
    ],
)
def test_a_bad_override_is_refused_with_its_code_and_changes_nothing(
    console: ConsoleServer, central_dsn: str, body: dict[str, Any], status: int, code: str
) -> None:
    with signed_in(console, "hq") as hq:
        assert error(hq.put("/overrides/branch/bj-guomao", json=body)) == (status, code)
        assert error(hq.put("/overrides/branch/nowhere", json=body)) == (404, "unknown_branch")
    with psycopg.connect(central_dsn) as conn:
        assert config.overrides(conn, "branch", "bj-guomao") == {}


def test_saving_the_template_keeps_history_and_refuses_a_stale_editor_or_orphans(
    console: ConsoleServer,
) -> None:
    with signed_in(console, "hq") as hq:
        first = hq.get("/template").json()["template"]
        catalogue = first["catalogue"]
        catalogue["services"][0]["target_wait_min"] = 12
        r = hq.put("/template", json={"catalogue": catalogue, "based_on": 1, "note": "现金 12"})
        assert r.json() == {"version": 2}
        # An editor still on version 1 would undo the change it has not seen.
        assert error(hq.put("/template", json={"catalogue": catalogue, "based_on": 1})) == (
            409,
            "template_changed",
        )
        # Lujiazui overrides business A: the template cannot drop A under it.
        without_a = dict(catalogue, services=catalogue["services"][1:], bundles=[])
        r = hq.put("/template", json={"catalogue": without_a, "based_on": 2})
        assert error(r) == (409, "orphaned_overrides")
        assert "sh-lujiazui: services.A.target_wait_min" in r.json()["error"]["message"]
        body = hq.get("/template").json()
        assert [h["version"] for h in body["history"]] == [2, 1]
        assert body["template"]["catalogue"]["services"][0]["target_wait_min"] == 12
        old = hq.get("/template", params={"version": 1}).json()["template"]
        assert old["catalogue"]["services"][0]["target_wait_min"] == 10


def test_publishing_signs_a_version_only_for_the_branches_whose_configuration_changed(
    console: ConsoleServer, central_dsn: str, signer: Signer
) -> None:
    keys = signatures.load_public_keys(signer.public_pem())
    with signed_in(console, "hq") as hq:
        assert len(hq.get("/publish").json()["changed"]) == 5
        first = hq.post("/publish", json={}).json()
        assert sorted(p["branch"] for p in first["published"]) == sorted(
            ["bj-guomao", "hz-xihu", "sh-lujiazui", "sh-xujiahui", "tj-binhai"]
        )
        assert all(p["version"] == 1 for p in first["published"])
        assert hq.get("/publish").json()["changed"] == []
        again = hq.post("/publish", json={}).json()
        assert again["published"] == [] and len(again["unchanged"]) == 5

        # One branch's change: one new version, for that branch only.
        hq.put("/overrides/branch/bj-guomao", json={"path": "voice_pack", "value": "north"})
        assert hq.get("/publish").json()["changed"] == ["bj-guomao"]
        assert hq.post("/publish", json={}).json()["published"] == [
            {"branch": "bj-guomao", "version": 2}
        ]
        # A region's change reaches that region's branches only.
        hq.put("/overrides/region/north", json={"path": "alerts.waiting_over", "value": 20})
        r = hq.post("/publish", json={"region": "north"}).json()
        assert sorted(p["branch"] for p in r["published"]) == ["bj-guomao", "tj-binhai"]
        status = {row["branch"]: row for row in hq.get("/status").json()["branches"]}
        assert status["bj-guomao"]["published_version"] == 3
        assert status["sh-lujiazui"]["published_version"] == 1
        assert status["bj-guomao"]["deployed_version"] is None  # nothing reported yet

    from central.storage import downlink

    with psycopg.connect(central_dsn) as conn:
        documents = downlink.pending(conn, "bj-guomao", {})
    (document,) = [d for d in documents if d["kind"] == "config"]
    signatures.verify(dict(document), keys)  # signed by the centre's key
    assert document["branch"] == "bj-guomao" and document["version"] == 3
    body = document["body"]
    assert body["catalogue"]["voice_pack"] == "north"
    assert body["overridden"] == {"voice_pack": "branch", "alerts.waiting_over": "region"}
    assert body["template"] == {"id": "network", "version": 1}
    assert body["branch_editable"] == ["counters.skills", "notice"]
    tampered = dict(document, body={**body, "branch_editable": ["services"]})
    with pytest.raises(wire.BadSignature):
        signatures.verify(tampered, keys)
