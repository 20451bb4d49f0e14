"""PostgreSQL fixtures: one throwaway cluster per test run, a fresh head-office database per test.

The cluster starts on first use (about a second) and is removed when the run ends; each
test gets a database copied from a migrated template, so no test sees another's rows.
Beside them: the centre's signing key and the seeded console network that signs with it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from central.signing import Signer, create
from central.storage.migrations import migrate
from tools.console_network import ConsoleServer, seed_network
from tools.pgcluster import Cluster

TEMPLATE = "central_template"
_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    with Cluster() as cluster:
        dsn = cluster.create_database(TEMPLATE)
        with psycopg.connect(dsn) as conn:
            migrate(conn)
        yield cluster


@pytest.fixture
def central_dsn(pg_cluster: Cluster) -> Iterator[str]:
    """The connection string of a fresh, migrated head-office database."""
    name = f"central_{next(_names)}"
    with psycopg.connect(pg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    yield pg_cluster.dsn(name)
    with psycopg.connect(pg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    """A signing key for the centre, made for the test."""
    return create(tmp_path / "centre.key")


@pytest.fixture
def console(central_dsn: str, signer: Signer) -> Iterator[ConsoleServer]:
    """The seeded network's centre on loopback, signing with `signer`."""
    with psycopg.connect(central_dsn) as conn:
        seed_network(conn)
    with ConsoleServer(central_dsn, signer) as server:
        yield server
