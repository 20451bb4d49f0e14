"""Regions and branches as enrolment writes them; the token digest a request is checked by."""

from __future__ import annotations

import psycopg


def save_region(conn: psycopg.Connection, region: str, name: str | None) -> None:
    """Create the region when new (named by its id unless a name is given); rename it only
    when a name is given."""
    if name is None:
        conn.execute(
            "INSERT INTO regions (id, name) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
            (region, region),
        )
        return
    conn.execute(
        "INSERT INTO regions (id, name) VALUES (%s, %s) "
        "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
        (region, name),
    )


def save_branch(
    conn: psycopg.Connection, branch: str, name: str, region: str, token_sha256: bytes
) -> None:
    """Create the branch, or move/rename it and rotate its token (its history stays)."""
    conn.execute(
        "INSERT INTO branches (id, name, region_id, token_sha256) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, region_id = EXCLUDED.region_id, "
        "token_sha256 = EXCLUDED.token_sha256",
        (branch, name, region, token_sha256),
    )


def token_of(conn: psycopg.Connection, branch: str) -> bytes | None:
    row = conn.execute("SELECT token_sha256 FROM branches WHERE id = %s", (branch,)).fetchone()
    return None if row is None or row[0] is None else bytes(row[0])


def touch(conn: psycopg.Connection, branch: str) -> None:
    """The branch was heard from now (centre clock): the console's link status."""
    conn.execute("UPDATE branches SET last_contact_at = now() WHERE id = %s", (branch,))
