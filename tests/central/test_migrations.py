"""The head-office schema: migrations apply once, and the tables enforce what they promise."""

from __future__ import annotations

import psycopg
import pytest

from central.storage.migrations import MIGRATIONS, migrate


def test_migrating_again_changes_nothing(central_dsn: str) -> None:
    with psycopg.connect(central_dsn) as conn:
        assert migrate(conn) == len(MIGRATIONS)
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))


def test_a_regional_account_needs_a_region_and_head_office_has_none(central_dsn: str) -> None:
    with psycopg.connect(central_dsn) as conn:
        conn.execute("INSERT INTO regions VALUES ('east', '华东')")
        conn.execute(
            "INSERT INTO accounts (username, password_hash, role, region_id) "
            "VALUES ('li', 'x', 'regional', 'east')"
        )
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO accounts (username, password_hash, role) "
                "VALUES ('wang', 'x', 'regional')"
            )
