"""The downlink at the centre: signed versions per branch and kind, the newest only, reports."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from central.api.app import create_app
from central.branches import enrol
from central.signing import Signer, SigningKeyError, load
from central.storage import downlink
from queue_server.signatures import load_public_keys, verify
from tools.harness import ThreadServer
from wire.downlink import BadSignature


def _enrol(dsn: str, *branches: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        return {b: enrol(conn, b, b, "east") for b in branches}


def test_versions_count_per_branch_and_kind_and_a_branch_gets_only_the_newest(
    central_dsn: str, signer: Signer
) -> None:
    _enrol(central_dsn, "B001", "B002")
    with psycopg.connect(central_dsn) as conn:
        for text in ("一", "二", "三"):
            downlink.publish(conn, signer, "B001", "notice", {"text": text})
        other = downlink.publish(conn, signer, "B002", "notice", {"text": "别处"})
        config = downlink.publish(conn, signer, "B001", "config", {"catalogue": {}})
        conn.commit()
        assert (other["version"], config["version"]) == (1, 1)
        newest = downlink.pending(conn, "B001", {})
        assert sorted((d["kind"], d["version"]) for d in newest) == [
            ("config", 1), ("notice", 3),
        ]  # fmt: skip
        # A branch that has notice 1 (offline since) skips 2: 3 supersedes it whole
        assert [d["body"] for d in downlink.pending(conn, "B001", {"config": 1, "notice": 1})] == [
            {"text": "三"}
        ]
        assert downlink.pending(conn, "B001", {"config": 1, "notice": 3}) == []
        for d in newest:
            verify(d, [signer.private_key.public_key()])  # stored exactly as signed
        with pytest.raises(downlink.DownlinkError, match="kind"):
            downlink.publish(conn, signer, "B001", "firmware", {})
        with pytest.raises(downlink.DownlinkError, match="no branch"):
            downlink.publish(conn, signer, "B999", "notice", {})


def test_reports_say_what_is_in_force_and_what_was_refused(
    central_dsn: str, signer: Signer
) -> None:
    _enrol(central_dsn, "B001", "B002")
    with psycopg.connect(central_dsn) as conn:
        for _ in range(2):
            downlink.publish(conn, signer, "B001", "config", {"catalogue": {}})
        downlink.record_report(
            conn, "B001", {"kind": "config", "version": 1, "outcome": "applied",
                           "effective": {"notice": "本地"}},
        )  # fmt: skip
        downlink.record_report(
            conn, "B001",
            {"kind": "config", "version": 2, "outcome": "refused", "reason": "bad_signature"},
        )  # fmt: skip
        rows = {r["branch"]: r for r in downlink.deployed(conn, "config")}
        assert (rows["B001"]["published"], rows["B001"]["deployed"]) == (2, 1)
        assert (rows["B001"]["refused"], rows["B001"]["refused_reason"]) == (2, "bad_signature")
        assert rows["B001"]["effective"] == {"notice": "本地"}
        assert (rows["B002"]["published"], rows["B002"]["deployed"]) == (None, None)
        # Once a later version is in force, the old refusal is history, not an alarm
        downlink.publish(conn, signer, "B001", "config", {"catalogue": {}})
        downlink.record_report(conn, "B001", {"kind": "config", "version": 3, "outcome": "applied"})
        row = next(r for r in downlink.deployed(conn, "config") if r["branch"] == "B001")
        assert (row["deployed"], row["refused"]) == (3, None)
        with pytest.raises(downlink.DownlinkError, match="no config version 9"):
            downlink.record_report(
                conn, "B001", {"kind": "config", "version": 9, "outcome": "applied"}
            )


@pytest.fixture
def centre(central_dsn: str, signer: Signer) -> Iterator[tuple[str, dict[str, str]]]:
    tokens = _enrol(central_dsn, "B001", "B002")
    with psycopg.connect(central_dsn) as conn:
        downlink.publish(conn, signer, "B001", "notice", {"text": "今日 16:00 起暂停外币业务。"})
        downlink.publish(conn, signer, "B002", "notice", {"text": "B002 only"})
    server = ThreadServer(create_app(central_dsn, pool_size=3, signer=signer), lifespan="on")
    server.start(15)
    try:
        yield server.base_url, tokens
    finally:
        server.stop()


def test_a_branch_fetches_its_own_documents_and_reports_over_http(
    centre: tuple[str, dict[str, str]], signer: Signer
) -> None:
    url, tokens = centre
    own = {"Authorization": f"Bearer {tokens['B001']}"}
    with httpx.Client(base_url=url, timeout=10) as c:
        got = c.get("/api/v1/ship/downlink", params={"notice": 0}, headers=own)
        assert got.status_code == 200
        (doc,) = got.json()["documents"]
        assert (doc["branch"], doc["body"]["text"]) == ("B001", "今日 16:00 起暂停外币业务。")
        verify(doc, [signer.private_key.public_key()])
        assert c.get("/api/v1/ship/downlink?notice=1", headers=own).json() == {"documents": []}
        bad = c.get("/api/v1/ship/downlink?notice=-1", headers=own)
        assert (bad.status_code, bad.json()["code"]) == (422, "invalid_request")
        assert c.get("/api/v1/ship/downlink").status_code == 401
        ok = c.post("/api/v1/ship/downlink/report", headers=own,
                    json={"kind": "notice", "version": 1, "outcome": "applied"})  # fmt: skip
        assert ok.status_code == 204
        for body, code in (
            ({"kind": "notice", "version": 2, "outcome": "applied"}, "unknown_version"),
            ({"kind": "firmware", "version": 1, "outcome": "applied"}, "unknown_kind"),
            ({"kind": "notice", "version": 1, "outcome": "maybe"}, "invalid_request"),
        ):
            r = c.post("/api/v1/ship/downlink/report", json=body, headers=own)
            assert r.json()["code"] == code, body


def test_keygen_makes_a_key_pair_once_and_never_replaces_it(tmp_path: Path) -> None:
    key, public = tmp_path / "centre.key", tmp_path / "centre.pub"
    cmd = [sys.executable, "-m", "queue_server.cli", "central", "keygen",
           "--key", str(key), "--public-out", str(public)]  # fmt: skip
    made = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert made.returncode == 0, made.stderr
    assert key.stat().st_mode & 0o077 == 0
    signer = load(key)
    assert [k.public_bytes_raw() for k in load_public_keys(public.read_bytes())] == [
        signer.private_key.public_key().public_bytes_raw()
    ]
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode != 0 and "never overwritten" in again.stderr
    assert load(key).key_id == signer.key_id
    with pytest.raises(SigningKeyError, match="not a PEM"):
        load(public)
    with pytest.raises(BadSignature):
        verify({"kind": "notice", "signature": "AAAA", "key_id": "x"}, [])
