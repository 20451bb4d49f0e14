"""The central VIP list: imported once at the centre on a real PostgreSQL, applied by real branch
servers, recognised at their kiosks' identification endpoint; removal, key rotation without a
gap, refusals, and no plain ID number anywhere in the centre's or a branch's database.

The slow hash runs at a test cost (`TEST_COST`, microseconds); production's is
`wire.vip.PRODUCTION_HASH`. The code path is the same, only the scrypt parameters differ.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
import pytest
from conftest import LiveServer
from psycopg.types.json import Jsonb

from central import vip
from central.branches import enrol
from central.signing import Signer, create, sign
from central.storage import downlink
from queue_server.customers import ListRefused, import_customers
from queue_server.downlink import Refusal
from queue_server.signatures import verify
from queue_server.storage.db import connect
from queue_server.vip_key import BranchVipKey, vip_key_path
from tools.booking_network import Network as BookingNetwork
from tools.booking_network import start_network
from wire.downlink import BadSignature, Document, key_id
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


def _vip_key(server: LiveServer) -> BranchVipKey:
    key = server.app.state.head_office.vip_key
    assert isinstance(key, BranchVipKey)
    return key


def _enrol(net: Network, *names: str) -> None:
    """Enrol the branches and keep the VIP key each announces (as its hello would)."""
    with psycopg.connect(net.dsn) as conn:
        for b in names:
            enrol(conn, b, b, "east")
            vip.announce(conn, None, None, b, _vip_key(net.branches[b]).public_hex())


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
    _enrol(net, *branches)
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
    _enrol(net, "B001")
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


def _silver_at_b001(net: Network) -> tuple[LiveServer, Document]:
    """B001 enrolled, holding a list of SILVER: the document it applied."""
    server = net.branches["B001"]
    _enrol(net, "B001")
    good = _publish_all(net.dsn, net.signer, net.master, _csv(net.tmp_path, SILVER))["B001"]
    _apply(server, good)
    return server, good


def test_a_tampered_or_malformed_vip_document_is_refused_and_changes_nothing(net: Network) -> None:
    signer = net.signer
    server, good = _silver_at_b001(net)

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


# ------------------------------------------------------------- sealed to the branch
def _forms(secret: bytes) -> list[bytes]:
    """Every way a secret could sit in a cell: raw, hex either case, and base64 (standard and
    URL-safe) at each of the three alignments it could have inside a longer base64 text."""
    found = [secret, secret.hex().encode(), secret.hex().upper().encode()]
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * shift + secret)
            found.append(text[(shift * 8 + 5) // 6 + 1 : -3])  # the chars only the secret fixes
    return found


def _leaks(dsn: str, secrets_: dict[str, bytes]) -> list[str]:
    """Where any form of any secret is found in the centre's database: every cell of every
    table, as the value psycopg returns and as PostgreSQL's own text of the row."""
    needles = {(name, form) for name, secret in secrets_.items() for form in _forms(secret)}
    found = []
    with psycopg.connect(dsn) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )]  # fmt: skip
        for table in tables:
            for (text,) in conn.execute(f'SELECT t::text FROM "{table}" t'):
                found += [f"{table}: {n}" for n, form in needles if form in text.encode()]
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for cell in row:
                    raw = bytes(cell) if isinstance(cell, bytes | memoryview) else b""
                    as_text = json.dumps(cell, default=str).encode()
                    found += [
                        f"{table}: {n}" for n, form in needles if form in raw or form in as_text
                    ]
    return found


def test_the_centres_database_holds_no_branch_key_nor_the_pepper(net: Network) -> None:
    central_dsn, signer, master, branches, tmp_path = net
    _enrol(net, *branches)
    documents = _publish_all(central_dsn, signer, master, _csv(tmp_path, GOLD, SILVER))
    with psycopg.connect(central_dsn) as conn:
        vip.begin_rotation(conn, signer, master, "B001")  # two generations of B001's key
        conn.commit()
    secrets_ = {"pepper": vip.pepper(master)} | {
        f"K {b} gen {g}": vip.branch_key(master, b, g) for b in branches for g in (1, 2)
    }
    assert _leaks(central_dsn, secrets_) == []
    # The documents still work: each branch opens its own and recognises the customers.
    for branch, server in branches.items():
        _apply(server, documents[branch])
        assert (_tier(server, GOLD), _tier(server, SILVER)) == (3, 2)
    # The scan does find a secret where one is: the pepper in base64 inside a longer text.
    with psycopg.connect(central_dsn) as conn:
        conn.execute("CREATE TABLE leak (note text)")
        hidden = base64.b64encode(b"x" + vip.pepper(master)).decode()
        conn.execute("INSERT INTO leak VALUES (%s)", (f"note {hidden} end",))
    assert set(_leaks(central_dsn, secrets_)) == {"leak: pepper"}


def test_another_branchs_key_cannot_open_the_sealed_keys(net: Network) -> None:
    central_dsn, signer, master, branches, tmp_path = net
    _enrol(net, *branches)
    documents = _publish_all(central_dsn, signer, master, _csv(tmp_path, GOLD))
    for_b1 = documents["B001"]
    b2 = branches["B002"]
    # B001's document at B002: sealed to another key
    with pytest.raises(Refusal) as caught:
        _apply(b2, for_b1)
    assert caught.value.code == "vip_sealed_to_other_key"
    # Even told it is addressed to B002's key, B002's key does not open it
    readdressed = copy.deepcopy(for_b1)
    readdressed["body"]["sealed"]["recipient"] = key_id(_vip_key(b2).public_raw())
    with pytest.raises(Refusal) as caught:
        _apply(b2, readdressed)
    assert caught.value.code == "vip_seal_broken"
    # Nor does the right key open it bound to another document (a replayed sealed part)
    moved = copy.deepcopy(documents["B002"])
    moved["version"] += 1
    with pytest.raises(Refusal) as caught:
        _apply(b2, moved)
    assert caught.value.code == "vip_seal_broken"
    assert _tier(b2, GOLD) == 0  # nothing was applied
    assert _apply(b2, documents["B002"])["customers"] == 1
    assert _tier(b2, GOLD) == 3


def _held_keys(db: Path) -> list[tuple[int, bytes]]:
    conn = sqlite3.connect(db)
    try:
        return [(g, bytes(k)) for g, k in conn.execute("SELECT generation, key FROM vip_keys")]
    finally:
        conn.close()


def test_a_tampered_ciphertext_is_refused_with_its_code_and_changes_nothing(net: Network) -> None:
    central_dsn, signer, master, _, _ = net
    server, _ = _silver_at_b001(net)
    held = _held_keys(server.db)
    with psycopg.connect(central_dsn) as conn:
        newer = vip.publish_to(conn, signer, master, "B001")
        conn.commit()
    sealed = newer["body"]["sealed"]
    flipped = bytearray(base64.b64decode(sealed["ciphertext"]))
    flipped[5] ^= 0x01
    # Signed by the centre (as a compromised or faulty centre could), so only the seal
    # stands between it and the branch.
    tampered = copy.deepcopy(newer)
    tampered["body"]["sealed"]["ciphertext"] = base64.b64encode(bytes(flipped)).decode()
    tampered = sign({k: v for k, v in tampered.items() if k != "signature"}, signer.private_key)
    verify(tampered, [signer.private_key.public_key()])
    with pytest.raises(Refusal) as caught:
        _apply(server, tampered)
    assert caught.value.code == "vip_seal_broken"
    # Not base64 at all: refused as a malformed body
    garbled = copy.deepcopy(newer)
    garbled["body"]["sealed"]["ciphertext"] = "not base64!"
    with pytest.raises(Refusal) as caught:
        _apply(server, garbled)
    assert caught.value.code == "bad_vip_body"
    assert _held_keys(server.db) == held and _tier(server, SILVER) == 2
    assert _apply(server, newer)["customers"] == 1  # the untampered one applies


def test_a_branch_without_an_announced_key_gets_no_list_until_it_announces(net: Network) -> None:
    central_dsn, signer, master, branches, tmp_path = net
    _enrol(net, "B001")
    with psycopg.connect(central_dsn) as conn:
        enrol(conn, "B002", "B002", "east")  # not announced
    _publish_all(central_dsn, signer, master, _csv(tmp_path, GOLD))
    with psycopg.connect(central_dsn) as conn:
        assert downlink.latest(conn, "B002", "vip") is None
        assert vip.counts(conn)["awaiting_key"] == ["B002"]
        with pytest.raises(vip.VipError) as caught:
            vip.publish_to(conn, signer, master, "B002")
        assert caught.value.code == "no_branch_vip_key"
        conn.rollback()
        # Its hello announces the key: the list is sealed to it at once
        key = _vip_key(branches["B002"]).public_hex()
        first = vip.announce(conn, signer, master, "B002", key)
        assert first is not None and first["version"] == 1
        assert vip.announce(conn, signer, master, "B002", key) is None  # heard before
        assert vip.counts(conn)["awaiting_key"] == []
    _apply(branches["B002"], first)
    assert _tier(branches["B002"], GOLD) == 3


# ------------------------------------------------------------------ end to end
def _network_tier(net: BookingNetwork, branch: str, person: tuple[str, str, int]) -> int:
    kiosk = net.branches[branch].client("kiosk", net.cert)
    r = kiosk.post("/customers/identify", json={"id_number": person[0], "birth_date": person[1]})
    assert r.status_code == 200, r.text
    return int(r.json()["vip_tier"])


def _applied_vip(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'vip_version'").fetchone()
        return int(row[0]) if row else 0
    finally:
        conn.close()


def _announced(dsn: str, branch: str) -> bytes | None:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT vip_public_key FROM branches WHERE id = %s", (branch,)
        ).fetchone()
    return None if row is None or row[0] is None else bytes(row[0])


def _until(net: BookingNetwork, branch: str, settled: Any) -> None:
    """Wait (on the branch's hellos, which come every 0.3 s) until `settled()` holds."""
    assert net.branches[branch].shipper.wait_until(settled, 30), "not settled in 30 s"


@pytest.fixture
def network(
    central_dsn: str,
    tmp_path: Path,
    template_db: tuple[Path, dict[str, str]],
    clock: Any,
    signer: Signer,
    master: bytes,
) -> Iterator[BookingNetwork]:
    template, tokens = template_db
    net = start_network(
        central_dsn, tmp_path, template, tokens, clock, signer=signer, vip_master=master
    )
    try:
        yield net
    finally:
        net.stop()


def test_two_real_branches_recognise_a_central_vip_and_a_new_branch_key_is_sealed_to(
    network: BookingNetwork, signer: Signer, master: bytes, tmp_path: Path
) -> None:
    """Over HTTPS: each branch announces its key in its hello, the centre seals the list to
    it, the branch's follower applies it; a branch that made itself a new key gets the list
    sealed to the new key; a tampered seal is refused, reported and changes nothing."""
    dsn, east, west = network.dsn, "sh-east", "sh-west"
    for branch in (east, west):
        _until(network, branch, lambda b=branch: _announced(dsn, b) is not None)
    with psycopg.connect(dsn) as conn:
        vip.import_list(conn, signer, master, _csv(tmp_path, GOLD, BRONZE), hash_cost=TEST_COST)
    for branch in (east, west):
        db = network.branches[branch].db
        _until(network, branch, lambda db=db: _applied_vip(db) == 1)
        assert _network_tier(network, branch, GOLD) == 3
        assert _network_tier(network, branch, BRONZE) == 1
        assert _network_tier(network, branch, STRANGER) == 0

    # East loses its key file (a restore onto a new machine): it makes a new pair, and the
    # centre seals the list to that one as soon as it hears it.
    old_key = _announced(dsn, east)
    key_file = vip_key_path(network.branches[east].db)
    key_file.unlink()
    network.branches[east].restart()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    _until(network, east, lambda: _announced(dsn, east) not in (None, old_key))
    _until(network, east, lambda: _applied_vip(network.branches[east].db) == 2)
    with psycopg.connect(dsn) as conn:
        latest = downlink.latest(conn, east, "vip")
    assert latest is not None
    assert latest["body"]["sealed"]["recipient"] == key_id(_announced(dsn, east) or b"")
    assert _network_tier(network, east, GOLD) == 3  # same K_b generation: same entries

    # A sealed part tampered with in the centre's store (and signed again) is refused by
    # the branch with its code, reported to the centre, and the list in force stays.
    with psycopg.connect(dsn) as conn:
        newer = vip.publish_to(conn, signer, master, west)
        sealed = newer["body"]["sealed"]
        broken = bytearray(base64.b64decode(sealed["ciphertext"]))
        broken[-1] ^= 0x80
        sealed["ciphertext"] = base64.b64encode(bytes(broken)).decode()
        resigned = sign({k: v for k, v in newer.items() if k != "signature"}, signer.private_key)
        conn.execute(
            "UPDATE downlink_documents SET document = %s WHERE branch_id = %s AND kind = 'vip' "
            "AND version = %s",
            (Jsonb(resigned), west, newer["version"]),
        )
    with psycopg.connect(dsn) as conn:

        def refused() -> bool:
            rows = {r["branch"]: r for r in downlink.deployed(conn, "vip")}
            return (rows[west]["refused_reason"] or "").startswith("vip_seal_broken:")

        _until(network, west, refused)
    assert _applied_vip(network.branches[west].db) == 1
    assert _network_tier(network, west, GOLD) == 3
