"""`branchq central …`: the head-office service's commands (a plugin of the branchq CLI)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
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
    from central.signing import SigningKeyError, load

    try:
        signer = load(args.signing_key) if args.signing_key else None
    except SigningKeyError as exc:
        raise SystemExit(
            f"error ({exc.code}): {exc}; make one with `branchq central keygen`"
        ) from None
    branch_ca = Path(args.branch_ca) if args.branch_ca else None
    vip_master = None
    if args.vip_key:
        from central.vip import VipError, load_or_create_master

        try:
            vip_master = load_or_create_master(args.vip_key)
        except VipError as exc:
            raise SystemExit(f"error ({exc.code}): {exc}") from None
    app = create_app(
        args.dsn,
        pool_size=args.pool_size,
        signer=signer,
        branch_ca=branch_ca,
        vip_master=vip_master,
    )
    # A live batch is a dozen round trips to PostgreSQL, and after each its thread waits for
    # the interpreter lock; a catch-up batch's thread holds the lock for up to the switch
    # interval (5 ms by default) at a time. During a network-wide catch-up that wait, not
    # the work, made live batches late: a shorter interval hands the lock over sooner.
    sys.setswitchinterval(0.0005)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        ssl_certfile=args.tls_cert,
        ssl_keyfile=args.tls_key,
        log_level="info",
        # A line per shipped batch (every branch, every commit) would drown what matters:
        # refusals, quarantines and errors are logged by the centre itself.
        access_log=False,
        # Consoles' live streams stay open for minutes: a stop must not wait for them.
        timeout_graceful_shutdown=3,
        # A branch's shipper keeps one connection and says hello every 15 s: uvicorn's 5 s
        # default closed it between heartbeats and under load, and a batch sent as the
        # close crossed it failed and was resent.
        timeout_keep_alive=30,
    )
    return 0


def _keygen(args: argparse.Namespace) -> int:
    from pathlib import Path

    from central.signing import SigningKeyError, create

    try:
        signer = create(args.key)
    except SigningKeyError as exc:
        raise SystemExit(f"error ({exc.code}): {exc}") from None
    Path(args.public_out).write_bytes(signer.public_pem())
    print(f"signing key {signer.key_id} in {args.key} (keep it on the centre, mode 0600)")
    print(f"its public half in {args.public_out}: give it to every branch as its verify_key")
    return 0


def _vip(args: argparse.Namespace) -> int:
    import psycopg

    from central import vip
    from central.signing import SigningKeyError, load
    from wire.vip import ListRefused

    try:
        if args.vip_command == "count":
            with psycopg.connect(args.dsn, connect_timeout=10) as conn:
                found = vip.counts(conn)
            tiers = ", ".join(f"tier {t}: {n}" for t, n in found["by_tier"].items())
            print(f"{found['customers']} VIP customers ({tiers})")
            return 0
        signer = load(args.signing_key)
        master = vip.load_or_create_master(args.vip_key)
        with psycopg.connect(args.dsn, connect_timeout=10) as conn:
            if args.vip_command == "import":
                report = vip.import_list(conn, signer, master, args.file)
                print(report.describe())
                waiting = vip.counts(conn)["awaiting_key"]
                print("published to every enrolled branch that announced its VIP key")
                if waiting:
                    print(f"waiting for their VIP key to be announced: {', '.join(waiting)}")
            elif args.finish:
                doc = vip.finish_rotation(conn, signer, master, args.branch)
                print(f"{args.branch}: old key dropped in vip version {doc['version']}")
            else:
                doc = vip.begin_rotation(conn, signer, master, args.branch)
                print(
                    f"{args.branch}: vip version {doc['version']} carries the current and "
                    "the next key; run with --finish once the branch has applied it"
                )
    except (vip.VipError, SigningKeyError) as exc:
        raise SystemExit(f"error ({exc.code}): {exc}") from None
    except ListRefused as exc:
        raise SystemExit(f"error (list_refused): {exc}") from None
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
    s.add_argument(
        "--signing-key", help="Ed25519 key file that signs what branches are sent (keygen)"
    )
    s.add_argument(
        "--vip-key",
        help="the VIP master key file: a branch announcing a new key of its own gets its "
        "list sealed to it at once (without it, at the next `vip import` or `vip rotate`)",
    )
    s.add_argument(
        "--branch-ca",
        help="PEM authority the branches' booking addresses are checked against "
        "(default: the system's)",
    )
    s.set_defaults(func=_serve)
    k = csub.add_parser(
        "keygen", help="Make the centre's signing key and the public key file for branches."
    )
    k.add_argument("--key", required=True, help="the private key file to create (never replaced)")
    k.add_argument("--public-out", required=True, help="where to write the public key (PEM)")
    k.set_defaults(func=_keygen)

    v = csub.add_parser("vip", help="The bank's VIP list, sent to branches as keyed hashes.")
    vsub = v.add_subparsers(dest="vip_command", required=True, metavar="COMMAND")
    vi = vsub.add_parser(
        "import", help="Replace the VIP list with a CSV (id_number,vip_tier) and publish it."
    )
    vi.add_argument("file", help="the bank's CSV; ID numbers are hashed and never kept")
    vr = vsub.add_parser("rotate", help="Rotate a branch's VIP key without a gap.")
    vr.add_argument("--branch", required=True, help="the branch id")
    vr.add_argument("--finish", action="store_true", help="drop the old key (second step)")
    for sp in (vi, vr):
        sp.add_argument("--signing-key", required=True, help="the centre's signing key file")
        sp.add_argument(
            "--vip-key", required=True, help="the VIP master key file (made when new, 0600)"
        )
    vc = vsub.add_parser("count", help="VIP customers on the list, by tier.")
    for sp in (vi, vr, vc):
        sp.add_argument("--dsn", required=True, help="PostgreSQL connection string")
        sp.set_defaults(func=_vip)

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
