"""The central VIP list: imported once at the centre on a real PostgreSQL, applied by real branch
servers, recognised at their kiosks' identification endpoint; removal, key rotation without a
gap, refusals, and no plain ID number anywhere in the centre's or a branch's database.

The slow hash runs at a test cost (`TEST_COST`, microseconds); production's is
`wire.vip.PRODUCTION_HASH`. The code path is the same, only the scrypt parameters differ.
"""

from __future__ import annotations

import asyncio
import copy
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
import pytest
from conftest import LiveServer

from central import vip
from central.branches import enrol
from central.signing import Signer, create
from central.storage import downlink
from queue_server.customers import ListRefused, import_customers
from queue_server.downlink import Refusal
from queue_server.signatures import verify
from queue_server.storage.db import connect
from wire.downlink import BadSignature
from wire.id_number import id_check_char

TEST_COST = {"n": 16, "r": 1, "p": 1}


def _id(region: str, birth: str, seq: str) -> str:
    first17 = region + birth + seq
    return first17 + id_check_char(first17)


# Unusual region codes and sequences, so a fragment found by the scan is a real leak.
GOLD = (_id("652923", "19580317", "731"), "1958-03-17", 3)
SILVER = (_id("532624", "19710822", "586"), "1971-08-22", 2)
BRONZE = (_id("451481", "19850109", "947"), "1985-01-09", 1)
NOT_VIP = (_id("350625", "19900430", "218"), "1990-04-30", 0)
STRANGER = (_id("621227", "19930605", "364"), "1993-06-05", 0)
PEOPLE = (GOLD, SILVER, BRONZE, NOT_VIP, STRANGER)


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return create(tmp_path / "centre.key")


@pytest.fixture
def master(tmp_path: Path) -> bytes:
    return vip.load_or_create_master(tmp_path / "vip.key")


def _csv(tmp_path: Path, *rows: tuple[str, str, int]) -> Path:
    path = tmp_path / "vip.csv"
    path.write_text(
        "id_number,name,vip_tier\n" + "".join(f"{i},某某,{t}\n" for i, _, t in rows),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def branches(
    template_db: tuple[Path, dict[str, str]], tmp_path: Path, clock: Any
) -> Iterator[dict[str, LiveServer]]:
    src, tokens = template_db
    servers = {}
    try:
        for branch in ("B001", "B002"):
            db = tmp_path / f"{branch}.db"
            shutil.copyfile(src, db)
            servers[branch] = LiveServer(db, tokens, clock).start()
        yield servers
    finally:
        for s in servers.values():
            s.stop()


class Network(NamedTuple):
    dsn: str
    signer: Signer
    master: bytes
    branches: dict[str, LiveServer]
    tmp_path: Path


@pytest.fixture
def net(
    central_dsn: str, signer: Signer, master: bytes, branches: dict[str, LiveServer], tmp_path: Path
) -> Network:
    """The centre's database and keys, and two real branch servers."""
    return Network(central_dsn, signer, master, branches, tmp_path)


def _apply(server: LiveServer, document: Any) -> Any:
    """Hand a document to the server's registered `vip` applier, on the server's loop, as
    the downlink follower does once it has verified it."""
    applier = server.app.state.head_office.appliers.get("vip")
    return asyncio.run_coroutine_threadsafe(applier(document), server.engine._loop).result(15)


def _tier(server: LiveServer, person: tuple[str, str, int]) -> int:
    """The VIP tier the kiosk's identification answers (and VIP priority when listed)."""
    r = server.client("kiosk").post(
        "/customers/identify", json={"id_number": person[0], "birth_date": person[1]}
    )
    assert r.status_code == 200, r.text
    found = r.json()
    assert (found["priority"] == "vip") == (found["vip_tier"] > 0)
    return int(found["vip_tier"])


def _enrol(dsn: str, *names: str) -> None:
    with psycopg.connect(dsn) as conn:
        for b in names:
            enrol(conn, b, b, "east")


def _publish_all(dsn: str, signer: Signer, master: bytes, csv: Path) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        vip.import_list(conn, signer, master, csv, hash_cost=TEST_COST)
        return {b: downlink.latest(conn, b, "vip") for b in ("B001", "B002")}


def _assert_no_plain_id(dsn: str, dbs: list[Path]) -> None:
    """Every plain ID number of the list, and its first and last six digits, are nowhere:
    not in any table or column of the centre's database, nor any cell or raw byte of a
    branch's database file and its WAL."""
    needles = [n for p in PEOPLE for n in (p[0], p[0][:6], p[0][-6:])]
    with psycopg.connect(dsn) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )]  # fmt: skip
        assert "vip_customers" in tables
        for table in tables:
            for (row,) in conn.execute(f'SELECT t::text FROM "{table}" t'):
                for needle in needles:
                    assert needle not in row, f"{table} holds an ID number or its part"
                    assert needle.encode().hex() not in row, f"{table} holds one as bytes"
    for db in dbs:
        conn = sqlite3.connect(db)
        try:
            listed = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = [r[0] for r in listed]
            assert "vip_entries" in tables
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    for cell in row:
                        text = cell.hex() if isinstance(cell, bytes) else str(cell)
                        raw = cell if isinstance(cell, bytes) else b""
                        for needle in needles:
                            assert needle not in text, f"{db.name}:{table} holds an ID number"
                            assert needle.encode() not in raw, f"{db.name}:{table} as bytes"
        finally:
            conn.close()
        for path in (db, db.with_name(db.name + "-wal")):
            if path.exists():
                data = path.read_bytes()
                for needle in needles:
                    assert needle.encode() not in data, f"{path.name} holds an ID number"


def test_a_central_vip_is_recognised_at_every_branch_until_removed(net: Network) -> None:
    central_dsn, signer, master, branches, tmp_path = net
    _enrol(central_dsn, *branches)
    documents = _publish_all(central_dsn, signer, master, _csv(tmp_path, GOLD, SILVER, NOT_VIP))
    for branch, server in branches.items():
        assert _tier(server, GOLD) == 0  # before the list arrives
        assert _apply(server, documents[branch]) == {"generations": [1], "customers": 2}
        assert (_tier(server, GOLD), _tier(server, SILVER), _tier(server, NOT_VIP)) == (3, 2, 0)
        assert _tier(server, STRANGER) == 0
    # Each branch holds its own hashes: one branch's list matches nothing of another's
    entries = [set(documents[b]["body"]["keys"][0]["entries"]) for b in branches]
    assert len(entries[0]) == 2 and not entries[0] & entries[1]

    # A centre-managed branch refuses a local import, and its list is unchanged
    db = branches["B001"].db
    conn = connect(db)
    try:
        with pytest.raises(ListRefused, match="head office"):
            import_customers(conn, _csv(tmp_path, BRONZE))
    finally:
        conn.close()

    # Removal: a re-import without SILVER (and BRONZE added) replaces the list
    documents = _publish_all(central_dsn, signer, master, _csv(tmp_path, GOLD, BRONZE))
    for branch, server in branches.items():
        assert documents[branch]["version"] == 2
        _apply(server, documents[branch])
        assert (_tier(server, GOLD), _tier(server, SILVER), _tier(server, BRONZE)) == (3, 0, 1)
    with psycopg.connect(central_dsn) as conn:
        counts = vip.counts(conn)
    assert (counts["customers"], counts["by_tier"]) == (2, {"1": 1, "2": 0, "3": 1})

    for server in branches.values():
        server.stop()
    _assert_no_plain_id(central_dsn, [s.db for s in branches.values()])


def test_a_key_rotation_keeps_recognition_throughout(net: Network) -> None:
    central_dsn, signer, master, branches, tmp_path = net
    server = branches["B001"]
    _enrol(central_dsn, "B001")
    first = _publish_all(central_dsn, signer, master, _csv(tmp_path, GOLD, BRONZE))["B001"]
    _apply(server, first)
    with psycopg.connect(central_dsn) as conn:
        both = vip.begin_rotation(conn, signer, master, "B001")
        with pytest.raises(vip.VipError, match="already under way"):
            vip.begin_rotation(conn, signer, master, "B001")
        conn.commit()
    old, new = both["body"]["keys"]
    assert (old["generation"], new["generation"]) == (1, 2)
    assert old["entries"] == first["body"]["keys"][0]["entries"]
    assert set(old["entries"]).isdisjoint(new["entries"])
    assert _tier(server, GOLD) == 3  # the old list, until the branch applies
    assert _apply(server, both)["generations"] == [1, 2]
    assert (_tier(server, GOLD), _tier(server, BRONZE)) == (3, 1)

    # Under either generation: a customer found only under the new key is still recognised
    # (as after a list change mid-rotation), and only under the old key too
    only_new = copy.deepcopy(both)
    only_new["body"]["keys"][0]["entries"] = {}
    _apply(server, only_new)
    assert _tier(server, GOLD) == 3
    only_old = copy.deepcopy(both)
    only_old["body"]["keys"][1]["entries"] = {}
    _apply(server, only_old)
    assert _tier(server, GOLD) == 3
    _apply(server, both)

    with psycopg.connect(central_dsn) as conn:
        last = vip.finish_rotation(conn, signer, master, "B001")
        conn.commit()
    assert [k["generation"] for k in last["body"]["keys"]] == [2]
    assert _apply(server, last)["generations"] == [2]
    assert (_tier(server, GOLD), _tier(server, BRONZE), _tier(server, SILVER)) == (3, 1, 0)
    conn2 = sqlite3.connect(server.db)
    try:
        held = [g for (g,) in conn2.execute("SELECT DISTINCT generation FROM vip_entries")]
    finally:
        conn2.close()
    assert held == [2]  # the old key's hashes are gone with it


def test_a_tampered_or_malformed_vip_document_is_refused_and_changes_nothing(net: Network) -> None:
    central_dsn, signer, master, branches, tmp_path = net
    server = branches["B001"]
    _enrol(central_dsn, "B001")
    good = _publish_all(central_dsn, signer, master, _csv(tmp_path, SILVER))["B001"]
    _apply(server, good)

    # Tampered in transit: a tier raised — the signature no longer verifies
    tampered = copy.deepcopy(good)
    digest = next(iter(tampered["body"]["keys"][0]["entries"]))
    tampered["body"]["keys"][0]["entries"][digest] = 3
    with pytest.raises(BadSignature):
        verify(tampered, [signer.private_key.public_key()])
    verify(good, [signer.private_key.public_key()])

    # Signed but not a list the centre could have sent: the applier refuses it whole
    def bad(change: Any) -> dict[str, Any]:
        doc = copy.deepcopy(good)
        change(doc["body"])
        return doc

    refused = {
        "tier": bad(lambda b: b["keys"][0]["entries"].update({digest: 7})),
        "cost": bad(lambda b: b["hash"].update({"n": 2**22})),
        "not_power": bad(lambda b: b["hash"].update({"n": 1000})),
        "pepper": bad(lambda b: b["hash"].update({"pepper": "00"})),
        "no_keys": bad(lambda b: b.update({"keys": []})),
        "same_gen": bad(lambda b: b.update({"keys": [b["keys"][0], b["keys"][0]]})),
        "entry": bad(lambda b: b["keys"][0]["entries"].update({"SILVER": 1})),
    }
    for why, doc in refused.items():
        with pytest.raises(Refusal) as caught:
            _apply(server, doc)
        assert caught.value.code == "bad_vip_body", why
    with pytest.raises(Refusal, match="not a vip"):
        _apply(server, {**good, "kind": "config"})
    assert _tier(server, SILVER) == 2  # the list in force is untouched
