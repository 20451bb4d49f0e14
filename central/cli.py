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


def _read_password(prompt: str) -> str:
    """A password from the terminal (asked twice) or one line of a pipe: never an argument,
    which any user could read in the process list and the shell's history."""
    import getpass
    import sys

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("again: ") != first:
        raise SystemExit("the two passwords differ: nothing was changed")
    return first


def _account_add(args: argparse.Namespace) -> int:
    import psycopg

    from central.accounts import AccountError, add_account

    password = _read_password(f"password for {args.username}: ")
    try:
        with psycopg.connect(args.dsn, connect_timeout=10) as conn:
            add_account(conn, args.username, password, args.role, args.region)
    except AccountError as exc:
        raise SystemExit(f"error ({exc.code}): {exc}") from None
    scope = f"region {args.region}" if args.region else "every branch"
    print(f"account {args.username} added: {args.role}, sees {scope}")
    return 0


def register(sub: Any) -> None:
    """Add `branchq central` and its subcommands."""
    p = sub.add_parser("central", help="The head-office service (PostgreSQL).")
    csub = p.add_subparsers(dest="central_command", required=True, metavar="COMMAND")
    m = csub.add_parser("migrate", help="Bring the head-office database to the newest schema.")
    m.add_argument("--dsn", required=True, help="PostgreSQL connection string")
    m.set_defaults(func=_migrate)

    a = csub.add_parser("account", help="Head-office console accounts.")
    asub = a.add_subparsers(dest="account_command", required=True, metavar="COMMAND")
    add = asub.add_parser(
        "add",
        help="Add a console account; the password is read from the terminal or standard input.",
    )
    add.add_argument("--dsn", required=True, help="PostgreSQL connection string")
    add.add_argument("--username", required=True, help="the name to sign in with")
    add.add_argument(
        "--role",
        required=True,
        choices=("head_office", "regional"),
        help="head_office sees every branch; regional sees one region",
    )
    add.add_argument("--region", help="the region a regional account sees (regional only)")
    add.set_defaults(func=_account_add)
