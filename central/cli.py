"""`branchq central …`: the head-office service's commands (a plugin of the branchq CLI)."""

from __future__ import annotations

import argparse
from typing import Any


def _migrate(args: argparse.Namespace) -> int:
    import psycopg

    from central.storage.migrations import migrate

    with psycopg.connect(args.dsn, connect_timeout=10) as conn:
        version = migrate(conn)
    print(f"head-office database at schema version {version}")
    return 0


def register(sub: Any) -> None:
    """Add `branchq central` and its subcommands."""
    p = sub.add_parser("central", help="The head-office service (PostgreSQL).")
    csub = p.add_subparsers(dest="central_command", required=True, metavar="COMMAND")
    m = csub.add_parser("migrate", help="Bring the head-office database to the newest schema.")
    m.add_argument("--dsn", required=True, help="PostgreSQL connection string")
    m.set_defaults(func=_migrate)
