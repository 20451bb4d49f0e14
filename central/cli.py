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


def _enrol(args: argparse.Namespace) -> int:
    import psycopg

    from central.branches import enrol

    with psycopg.connect(args.dsn, connect_timeout=10) as conn:
        token = enrol(conn, args.branch, args.name, args.region, args.region_name)
    # The only copy: the centre keeps its SHA-256 alone.
    print(token)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from central.api.app import create_app

    if (args.tls_cert is None) != (args.tls_key is None):
        raise SystemExit("--tls-cert and --tls-key go together")
    app = create_app(args.dsn, pool_size=args.pool_size)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        ssl_certfile=args.tls_cert,
        ssl_keyfile=args.tls_key,
        log_level="info",
    )
    return 0


def register(sub: Any) -> None:
    """Add `branchq central` and its subcommands."""
    p = sub.add_parser("central", help="The head-office service (PostgreSQL).")
    csub = p.add_subparsers(dest="central_command", required=True, metavar="COMMAND")
    m = csub.add_parser("migrate", help="Bring the head-office database to the newest schema.")
    m.add_argument("--dsn", required=True, help="PostgreSQL connection string")
    m.set_defaults(func=_migrate)
    e = csub.add_parser(
        "enrol", help="Enrol a branch (or rotate its token) and print its shipping token once."
    )
    e.add_argument("--dsn", required=True, help="PostgreSQL connection string")
    e.add_argument("--branch", required=True, help="the branch id, e.g. B001")
    e.add_argument("--name", required=True, help="the branch's name")
    e.add_argument("--region", required=True, help="the region id, created when new")
    e.add_argument("--region-name", help="the region's name (e.g. 华东)")
    e.set_defaults(func=_enrol)
    s = csub.add_parser("serve", help="Serve the head office: branch shipping and the console.")
    s.add_argument("--dsn", required=True, help="PostgreSQL connection string")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on")
    s.add_argument("--port", type=int, default=8800, help="port to listen on")
    s.add_argument("--tls-cert", help="PEM certificate (HTTPS); with --tls-key")
    s.add_argument("--tls-key", help="PEM private key of --tls-cert")
    s.add_argument("--pool-size", type=int, default=8, help="database connections")
    s.set_defaults(func=_serve)
