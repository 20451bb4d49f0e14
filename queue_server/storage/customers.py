"""The bank's VIP list as stored: customer reference (keyed hash) -> tier, nothing else."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping


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
    rows = conn.execute("SELECT vip_tier, COUNT(*) FROM customers GROUP BY vip_tier")
    return {int(tier): int(n) for tier, n in rows}
