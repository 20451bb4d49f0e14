"""The VIP list as the centre keeps it: S → tier, the import in force, branches' key generations."""

from __future__ import annotations

from typing import Any

import psycopg


def replace_list(conn: psycopg.Connection, tiers: dict[bytes, int], n: int, r: int, p: int) -> int:
    """Replace the whole list (in the caller's transaction); the new import's id."""
    conn.execute("DELETE FROM vip_customers")
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO vip_customers (s, tier) VALUES (%s, %s)", sorted(tiers.items())
        )
    row = conn.execute(
        "INSERT INTO vip_imports (customers, hash_n, hash_r, hash_p) VALUES (%s, %s, %s, %s) "
        "RETURNING id",
        (len(tiers), n, r, p),
    ).fetchone()
    assert row is not None
    return int(row[0])


def current_import(conn: psycopg.Connection) -> tuple[int, int, int, int] | None:
    """(id, n, r, p) of the import in force, or None before the first."""
    row = conn.execute(
        "SELECT id, hash_n, hash_r, hash_p FROM vip_imports ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def listed(conn: psycopg.Connection) -> list[tuple[bytes, int]]:
    return [(bytes(s), int(t)) for s, t in conn.execute("SELECT s, tier FROM vip_customers")]


def branches_with_keys(conn: psycopg.Connection) -> list[str]:
    """Branches that announced a key to seal their list to (the others wait for theirs)."""
    rows = conn.execute(
        "SELECT id FROM branches WHERE vip_public_key IS NOT NULL ORDER BY id"
    ).fetchall()
    return [str(r[0]) for r in rows]


def announced_key(conn: psycopg.Connection, branch: str) -> bytes | None:
    row = conn.execute("SELECT vip_public_key FROM branches WHERE id = %s", (branch,)).fetchone()
    return None if row is None or row[0] is None else bytes(row[0])


def save_announced_key(conn: psycopg.Connection, branch: str, public_key: bytes) -> bool:
    """Keep the key a branch announced; True when it is new for the branch (locking its row
    until the caller's transaction ends, so two hellos do not both republish)."""
    row = conn.execute(
        "SELECT vip_public_key FROM branches WHERE id = %s FOR UPDATE", (branch,)
    ).fetchone()
    if row is None or (row[0] is not None and bytes(row[0]) == public_key):
        return False
    conn.execute(
        "UPDATE branches SET vip_public_key = %s, vip_key_announced_at = now() WHERE id = %s",
        (public_key, branch),
    )
    return True


def held_generations(conn: psycopg.Connection, branch: str) -> list[tuple[int, str]]:
    """The branch's current and next generation (oldest first), locking its key rows."""
    rows = conn.execute(
        "SELECT generation, state FROM vip_branch_keys WHERE branch_id = %s "
        "AND state IN ('current', 'next') ORDER BY generation FOR UPDATE",
        (branch,),
    ).fetchall()
    return [(int(g), str(s)) for g, s in rows]


def issue_generation(conn: psycopg.Connection, branch: str, state: str) -> int:
    """A new generation for the branch (one more than any it ever had) in `state`."""
    row = conn.execute(
        "INSERT INTO vip_branch_keys (branch_id, generation, state) "
        "SELECT %s, coalesce(max(generation), 0) + 1, %s FROM vip_branch_keys "
        "WHERE branch_id = %s RETURNING generation",
        (branch, state, branch),
    ).fetchone()
    assert row is not None
    return int(row[0])


def promote_next(conn: psycopg.Connection, branch: str) -> None:
    """End a rotation: the current generation retires, the next becomes current."""
    conn.execute(
        "UPDATE vip_branch_keys SET state = 'retired' WHERE branch_id = %s AND state = 'current'",
        (branch,),
    )
    conn.execute(
        "UPDATE vip_branch_keys SET state = 'current' WHERE branch_id = %s AND state = 'next'",
        (branch,),
    )


def counts(conn: psycopg.Connection) -> dict[str, Any]:
    """VIPs by tier, the import in force, and each branch's key generations."""
    tiers = {int(t): int(n) for t, n in conn.execute(
        "SELECT tier, count(*) FROM vip_customers GROUP BY tier"
    )}  # fmt: skip
    latest = conn.execute(
        "SELECT id, imported_at, customers FROM vip_imports ORDER BY id DESC LIMIT 1"
    ).fetchone()
    keys = conn.execute(
        "SELECT branch_id, generation, state FROM vip_branch_keys "
        "WHERE state <> 'retired' ORDER BY branch_id, generation"
    ).fetchall()
    per_branch: dict[str, dict[str, int]] = {}
    for branch, generation, state in keys:
        per_branch.setdefault(branch, {})[state] = int(generation)
    awaiting = [str(b) for (b,) in conn.execute(
        "SELECT id FROM branches WHERE vip_public_key IS NULL ORDER BY id"
    )]  # fmt: skip
    return {
        "customers": sum(tiers.values()),
        # Enrolled but never announced a key to seal to: no VIP list is sent them until then.
        "awaiting_key": awaiting,
        "by_tier": {str(t): tiers.get(t, 0) for t in (1, 2, 3)},
        "import": None
        if latest is None
        else {"id": int(latest[0]), "imported_at": latest[1].isoformat(), "customers": latest[2]},
        "branches": [{"branch": b, **g} for b, g in per_branch.items()],
    }
