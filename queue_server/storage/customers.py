"""The bank's VIP list as stored: keyed hashes -> tier, nothing else.

Either the list imported at the branch (`customers`: customer reference -> tier) or the head
office's (`vip_keys`, `vip_entries`: see `wire.vip`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import cast

from wire.vip import HashParams, VipList


def vip_tier_of(conn: sqlite3.Connection, ref: str) -> int:
    row = conn.execute("SELECT vip_tier FROM customers WHERE customer_ref = ?", (ref,)).fetchone()
    return int(row[0]) if row is not None else 0


def replace_vip_list(conn: sqlite3.Connection, tiers: Mapping[str, int]) -> None:
    """Replace the whole list (inside the caller's transaction)."""
    conn.execute("DELETE FROM customers")
    conn.executemany(
        "INSERT INTO customers (customer_ref, vip_tier) VALUES (?, ?)", sorted(tiers.items())
    )


def count_by_tier(conn: sqlite3.Connection) -> dict[int, int]:
    """By tier: the head office's list (under its newest key) when in force, else the local."""
    rows = conn.execute(
        "SELECT vip_tier, COUNT(*) FROM vip_entries "
        "WHERE generation = (SELECT max(generation) FROM vip_keys) GROUP BY vip_tier"
    ).fetchall()
    if central_hash(conn) is None:
        rows = conn.execute("SELECT vip_tier, COUNT(*) FROM customers GROUP BY vip_tier").fetchall()
    return {int(tier): int(n) for tier, n in rows}


# ------------------------------------------------------- the head office's list
# `vip_keys` holds the key generations of the list in force (two during a rotation) and
# `vip_entries` the keyed hashes under each; `meta` row `vip_hash` the slow hash's
# parameters. No ID number and nothing computable from one without the slow hash.
def central_hash(conn: sqlite3.Connection) -> HashParams | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'vip_hash'").fetchone()
    return None if row is None else cast(HashParams, json.loads(row[0]))


def central_keys(conn: sqlite3.Connection) -> list[tuple[int, bytes]]:
    rows = conn.execute("SELECT generation, key FROM vip_keys ORDER BY generation")
    return [(int(g), bytes(k)) for g, k in rows]


def central_tier(conn: sqlite3.Connection, generation: int, digest: str) -> int:
    row = conn.execute(
        "SELECT vip_tier FROM vip_entries WHERE generation = ? AND entry = ?",
        (generation, digest),
    ).fetchone()
    return int(row[0]) if row is not None else 0


def replace_central_list(conn: sqlite3.Connection, body: VipList, version: object) -> None:
    """Put the head office's list in force (inside the caller's transaction), replacing the
    previous one and any list imported locally."""
    conn.execute("DELETE FROM customers")
    conn.execute("DELETE FROM vip_entries")
    conn.execute("DELETE FROM vip_keys")
    for held in body["keys"]:
        generation = held["generation"]
        conn.execute(
            "INSERT INTO vip_keys (generation, key) VALUES (?, ?)",
            (generation, bytes.fromhex(held["key"])),
        )
        conn.executemany(
            "INSERT INTO vip_entries (generation, entry, vip_tier) VALUES (?, ?, ?)",
            ((generation, digest, tier) for digest, tier in held["entries"].items()),
        )
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('vip_hash', ?)",
        (json.dumps(body["hash"], sort_keys=True),),
    )
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('vip_version', ?)", (str(version),)
    )
