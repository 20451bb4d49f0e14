"""`branchq`: the one command — server, init, tokens, staff, customers, devices, voice.

Each subcommand parses its options and hands over to the module that does the work. The
developer commands (bench, drill, demo, simulate, screenshots) are plugins: packages add
commands through the `branchq.commands` entry-point group, so this module never imports
them and `branchq` works without them.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

DEFAULT_DB = "var/branch.db"

PLUGIN_GROUP = "branchq.commands"  # entry points: register(subparsers) adds commands
API_TIMEOUT_S = 10.0  # a command talking to the branch's server


class Refused(Exception):
    """A command refuses what it was given, said in words: one line on stderr, exit 2.

    Only refusals print that way (this, and the domain's and the config's own error types):
    anything else a command raises is a fault and keeps its traceback.
    """


def _server(args: argparse.Namespace) -> int:
    import uvicorn

    from queue_server.api import create_app
    from queue_server.config import init_db, load_config, load_head_office
    from queue_server.security.limits import server_options
    from queue_server.storage import migrate
    from queue_server.storage.db import DuplicateNumbers
    from queue_server.storage.lock import DatabaseInUse, ServerLock

    db = Path(args.db)
    head_office = load_head_office(
        args.config,
        url=args.head_office,
        branch=args.head_office_branch,
        token_file=args.head_office_token_file,
        ca_file=args.head_office_ca,
        verify_key=args.head_office_verify_key,
        poll_s=args.head_office_poll_s,
    )
    if not db.exists():
        init_db(db, load_config(args.config))
        print(f"created {db} from {args.config or 'the demo branch config'}")
    # The engine takes the lock and migrates itself; done here first, a second server or a
    # refused migration is one line of error instead of uvicorn's start-up traceback.
    try:
        lock = ServerLock.acquire(db)
    except DatabaseInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        migrate(db)
    except DuplicateNumbers as exc:  # the data needs a person to look at it: say what
        raise Refused(str(exc)) from exc
    finally:
        lock.release()
    if bool(args.cert) != bool(args.key):
        print("give both --cert and --key to serve HTTPS", file=sys.stderr)
        return 2
    tls = {"ssl_certfile": args.cert, "ssl_keyfile": args.key} if args.cert else {}
    watch: dict[str, Any] = {}
    if args.watch_callbacks:
        watch = {"loop": "asyncio"}
        app = create_app(db, watch_callbacks=True, head_office=head_office)
    else:
        # Opt-in: a branch lets the server change its calling policy by itself each night.
        app = create_app(db, policy_schedule=args.pick_policy_nightly, head_office=head_office)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        ws_ping_interval=5,
        **server_options(),
        **tls,
        **watch,
    )
    return 0


def _init(args: argparse.Namespace) -> int:
    from queue_server.config import init_db, load_config

    config = load_config(args.config)
    init_db(args.db, config)
    print(
        f"initialised {args.db}: {config.settings.name}, {len(config.services)} businesses, "
        f"{len(config.counters)} counters"
    )
    return 0


def _with_db(args: argparse.Namespace, fn: Callable[..., object], *a: object) -> object:
    from queue_server.storage import in_transaction, migrate

    if not Path(args.db).exists():
        raise SystemExit(f"no database at {args.db}: run `branchq init --db {args.db}` first")
    migrate(args.db)
    return in_transaction(args.db, fn, *a)


def _token_create(args: argparse.Namespace) -> int:
    from queue_server.auth import create_token, parse_role

    try:
        parse_role(args.role)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    result = _with_db(args, create_token, args.role, args.name)
    assert isinstance(result, tuple)
    token_id, token = result
    print(f"token {token_id} for {args.role}: {token}")
    print("Store it now: only its hash is kept.", file=sys.stderr)
    return 0


def _token_list(args: argparse.Namespace) -> int:
    from queue_server.storage.provisioning import list_tokens

    rows = _with_db(args, list_tokens)
    assert isinstance(rows, list)
    for r in rows:
        state = "revoked" if r["revoked_at"] else "active"
        print(f"{r['id']:>4}  {r['role']:<12} {state:<8} {r['name'] or ''}")
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from queue_server.auth import revoke_token

    if not _with_db(args, revoke_token, args.id):
        print(f"no active token {args.id}", file=sys.stderr)
        return 1
    print(f"token {args.id} revoked")
    return 0


def _staff_add(args: argparse.Namespace) -> int:
    from queue_server.auth import add_staff

    pin = args.pin or os.environ.get("BRANCHQ_PIN") or getpass.getpass("PIN (4-12 digits): ")
    try:
        _with_db(args, add_staff, args.staff_id, args.name, pin)
    except ValueError as exc:  # add_staff's refusal of the id or PIN
        raise Refused(str(exc)) from None
    print(f"staff {args.staff_id} saved")
    return 0


def _customers_import(args: argparse.Namespace) -> int:
    from queue_server.customers import ImportReport, ListRefused, import_customers

    if not Path(args.file).is_file():
        raise SystemExit(f"no customer list at {args.file}")
    try:
        report = _with_db(args, import_customers, args.file)
    except ListRefused as exc:
        raise Refused(str(exc)) from None
    assert isinstance(report, ImportReport)
    print(report.describe())
    return 0


def _customers_count(args: argparse.Namespace) -> int:
    from queue_server.customers import count_customers

    tiers = _with_db(args, count_customers)
    assert isinstance(tiers, dict)
    by_tier = ", ".join(f"tier {t}: {n}" for t, n in sorted(tiers.items()))
    print(f"{sum(tiers.values())} VIP customers" + (f" ({by_tier})" if by_tier else ""))
    return 0


def _appointment_book(args: argparse.Namespace) -> int:
    try:
        at = datetime.fromisoformat(args.at)
    except ValueError:
        raise Refused(f"--at {args.at!r}: give a slot start such as 2026-11-28T14:30") from None
    if args.server:
        booking_number, qr = _book_through_server(args, at)
    else:
        booking_number, qr = _book_offline(args, at)
    print(f"booking {booking_number}: {args.service} at {args.at}")
    print(qr)
    if args.png:
        import qrcode

        qrcode.make(qr, border=4).save(args.png)
        print(f"QR code written to {args.png}")
    return 0


def _book_through_server(args: argparse.Namespace, at: datetime) -> tuple[str, str]:
    """Book through the running server's API, as the bank's booking channel does."""
    import httpx

    token = args.token or os.environ.get("BRANCHQ_TOKEN")
    if not token:
        raise Refused("--server needs a manager or booking token: --token or BRANCHQ_TOKEN")
    url = args.server.rstrip("/") + "/api/v1/appointments"
    body = {"service": args.service, "slot_start": at.isoformat()}
    headers = {"Authorization": f"Bearer {token}"}
    try:
        answer = httpx.post(url, json=body, headers=headers, timeout=API_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise Refused(f"cannot reach the server at {args.server}: {exc}") from None
    if answer.status_code != 201:
        raise Refused(_error_words(answer))
    booked = answer.json()
    return str(booked["booking_number"]), str(booked["qr"])


def _error_words(answer: httpx.Response) -> str:
    """The server's error answer in one line: its message and stable code."""
    try:
        error = answer.json()["error"]
        return f"{error['message']} ({error['code']})"
    except (ValueError, KeyError, TypeError):  # not an error body: a proxy's page, say
        return f"the server answered {answer.status_code}"


def _book_offline(args: argparse.Namespace, at: datetime) -> tuple[str, str]:
    """Book straight into the database: only while no server has it open."""
    from datetime import UTC

    from queue_server.config import init_db, load_config
    from queue_server.desks.appointments import book_offline
    from queue_server.storage.alone import DatabaseOpenElsewhere

    db = Path(args.db)
    if not db.exists():
        init_db(db, load_config(args.config))
        print(f"created {db} from {args.config or 'the demo branch config'}")
    try:
        appointment, qr = book_offline(db, args.service, at, datetime.now(UTC))
    except DatabaseOpenElsewhere:
        raise Refused(
            f"{db} is in use, most likely by the running server: book through it with "
            "--server URL and a manager or booking token (--token or BRANCHQ_TOKEN)"
        ) from None
    return appointment.booking_number, qr


def _devices_sim(args: argparse.Namespace) -> int:
    import threading

    from devices.simset import start_simulators

    sims = start_simulators(Path(args.out), list(range(1, args.counters + 1)))
    try:
        print("Simulated devices (Ctrl-C stops):")
        print(sims.describe())
        print(f"Printed tickets are written to {Path(args.out) / 'tickets'}")
        threading.Event().wait(args.duration)
    finally:
        sims.stop()
    return 0


def _devices_probe(args: argparse.Namespace) -> int:
    from devices.registry import kind_of, probe

    try:
        kind_of(args.url)
    except ValueError as exc:  # no driver for the URL's scheme, or not a device URL
        raise Refused(str(exc)) from None
    print(probe(args.url))
    return 0


def _devices_hub(args: argparse.Namespace) -> int:
    import asyncio

    from queue_server.bushub import run_hub

    asyncio.run(run_hub(args.config))
    return 0


def _voice_generate(args: argparse.Namespace) -> int:
    from queue_server.voice import PACK_CLIPS
    from queue_server.voice_generate import SpeechEngineMissing, generate

    languages = list(PACK_CLIPS) if args.language == "all" else [args.language]
    try:
        written = generate(languages, args.out, names=args.clip or None)
    except SpeechEngineMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = sum(path.stat().st_size for path in written)
    print(f"wrote {len(written)} clips ({size / 1024:.0f} KiB) to {args.out}")
    return 0


def _voice_check(args: argparse.Namespace) -> int:
    from queue_server.voice import ClipPack, VoicePackError, clip_pack

    pack = ClipPack(clip_pack(args.pack).root)  # a fresh read of the files as they are now
    missing = pack.missing()
    if missing:
        print(f"{pack.root}: missing " + ", ".join(f"{name}.wav" for name in missing))
        return 1
    try:
        pack.load_all()
    except VoicePackError as exc:
        print(f"{pack.root}: {exc}")
        return 1
    print(f"{pack.root}: complete, {pack.rate} Hz mono 16-bit")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="branchq", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, fn: Callable[[argparse.Namespace], int] | None, help: str
    ) -> argparse.ArgumentParser:
        """A command; `fn` None for a group whose required sub-command sets the handler."""
        p = sub.add_parser(name, help=help, description=help)
        if fn is not None:
            p.set_defaults(func=fn)
        return p

    def db_opt(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", default=DEFAULT_DB, help=f"SQLite database (default {DEFAULT_DB})")

    p = add("server", _server, "Run the branch's queue server (creates the database if missing).")
    db_opt(p)
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for the LAN)",
    )
    p.add_argument("--port", type=int, default=8470, help="port to listen on (default 8470)")
    p.add_argument("--cert", help="branch certificate (PEM) to serve HTTPS; needs --key")
    p.add_argument("--key", help="the certificate's private key (PEM)")
    p.add_argument(
        "--config",
        help="branch config TOML used when creating the database; its [head_office] table "
        "is read at every start",
    )
    p.add_argument(
        "--head-office",
        metavar="URL",
        help="ship the event log to this head office (https://…); overrides [head_office] url",
    )
    p.add_argument("--head-office-branch", help="this branch's id at the head office")
    p.add_argument("--head-office-token-file", help="file holding the bq1.<branch>.<secret> token")
    p.add_argument("--head-office-ca", help="CA certificate (PEM) the head office's is checked by")
    p.add_argument(
        "--head-office-verify-key",
        help="the head office's public key(s) (PEM) its configuration and lists are checked by",
    )
    p.add_argument(
        "--head-office-poll-s",
        type=float,
        metavar="SECONDS",
        help="how often to ask the head office for new configuration and lists; overrides "
        "[head_office] poll_s",
    )
    p.add_argument("--log-level", default="info", help="uvicorn log level")
    p.add_argument(
        "--pick-policy-nightly",
        action="store_true",
        help="each night (and at start when today has no choice) run the policy tournament "
        "on the branch's own forecast and apply its winner from the next business day; "
        "without it a manager runs and applies it from the console",
    )
    p.add_argument(
        "--watch-callbacks",
        action="store_true",
        help="time every event-loop callback, shown in /health (for bench server; runs on "
        "the slower pure-Python asyncio loop instead of uvloop)",
    )

    p = add("init", _init, "Create a database and seed the branch from a TOML config.")
    db_opt(p)
    p.add_argument("--config", help="branch config TOML (default: the demo branch)")

    p = add("token", None, "Create, list and revoke device tokens.")
    tsub = p.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    t = tsub.add_parser("create", help="Create a device token and print it once.")
    t.set_defaults(func=_token_create)
    db_opt(t)
    t.add_argument(
        "--role",
        required=True,
        help="kiosk, counter:N, display, manager, admin, booking (online channel) or lobby",
    )
    t.add_argument("--name", default="", help="a label, e.g. 'entrance kiosk'")
    t = tsub.add_parser("list", help="List device tokens (never the tokens themselves).")
    t.set_defaults(func=_token_list)
    db_opt(t)
    t = tsub.add_parser("revoke", help="Revoke a device token by id.")
    t.set_defaults(func=_token_revoke)
    db_opt(t)
    t.add_argument("id", type=int, help="token id from `branchq token list`")

    p = add("staff", None, "Manage staff accounts.")
    ssub = p.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    s = ssub.add_parser("add", help="Add a staff member or reset their PIN.")
    s.set_defaults(func=_staff_add)
    db_opt(s)
    s.add_argument("--staff-id", required=True, help="the id the teller signs in with")
    s.add_argument("--name", default="", help="display name")
    s.add_argument("--pin", help="PIN (4-12 digits); asked for when omitted, or BRANCHQ_PIN")

    p = add("customers", None, "The bank's VIP customer list (kept as keyed hashes).")
    csub = p.add_subparsers(dest="customers_command", required=True, metavar="ACTION")
    c = csub.add_parser(
        "import", help="Replace the VIP list from a CSV file with columns id_number,vip_tier."
    )
    c.set_defaults(func=_customers_import)
    db_opt(c)
    c.add_argument("file", help="CSV with a header row; vip_tier 1-3 (0: not VIP)")
    c = csub.add_parser("count", help="How many VIP customers are on the list, by tier.")
    c.set_defaults(func=_customers_count)
    db_opt(c)

    p = add("appointment", None, "Appointments booked for the branch.")
    asub = p.add_subparsers(dest="appointment_command", required=True, metavar="ACTION")
    a = asub.add_parser(
        "book",
        help="Book a slot and print its QR: through the running server with --server, "
        "otherwise straight in the database (refused while a server has it open).",
    )
    a.set_defaults(func=_appointment_book)
    db_opt(a)
    a.add_argument(
        "--server",
        default=os.environ.get("BRANCHQ_SERVER"),
        help="URL of the running server, e.g. http://127.0.0.1:8470 (default $BRANCHQ_SERVER)",
    )
    a.add_argument(
        "--token",
        help="manager or booking token for --server (default $BRANCHQ_TOKEN, which keeps it "
        "out of the process list)",
    )
    a.add_argument("--service", required=True, help="business code, e.g. C")
    a.add_argument(
        "--at", required=True, help="slot start, e.g. 2026-11-28T14:30 (branch local time)"
    )
    a.add_argument("--png", help="also write the QR code as a PNG image to this file")
    a.add_argument("--config", help="branch config TOML used when creating the database")

    p = add("devices", None, "Device simulators, field diagnostics and the RS-485 hub.")
    dsub = p.add_subparsers(dest="devices_command", required=True, metavar="ACTION")
    d = dsub.add_parser("sim", help="Start a full set of simulated devices and print their URLs.")
    d.set_defaults(func=_devices_sim)
    d.add_argument("--counters", type=int, default=6, help="counters on the simulated bus")
    d.add_argument("--out", default="var/sim", help="folder for printed ticket PNGs")
    d.add_argument("--duration", type=float, help="stop after this many seconds")
    d = dsub.add_parser("probe", help="Ask the device at a URL what it is and how it is.")
    d.set_defaults(func=_devices_probe)
    d.add_argument("url", help="device URL, e.g. escpos+tcp://10.0.0.5:9100")
    d = dsub.add_parser("hub", help="Drive RS-485 counter devices from the server's events.")
    d.set_defaults(func=_devices_hub)
    d.add_argument("--config", required=True, help="hub config TOML (see queue_server/bushub.py)")

    p = add("voice", None, "The voice clip packs the hall display's announcements use.")
    vsub = p.add_subparsers(dest="voice_command", required=True, metavar="ACTION")
    v = vsub.add_parser(
        "generate", help="Make the default clip packs with espeak-ng (offline, the voice extra)."
    )
    v.set_defaults(func=_voice_generate)
    v.add_argument(
        "--language", choices=("zh", "en", "all"), default="all", help="which pack (all)"
    )
    v.add_argument("--out", default="assets/voice", help="pack folder (default assets/voice)")
    v.add_argument(
        "--clip", action="append", help="only this clip name (repeatable), e.g. qing or chime"
    )
    v = vsub.add_parser("check", help="Check that a clip pack is complete and in one format.")
    v.set_defaults(func=_voice_check)
    v.add_argument("--pack", help="pack folder (default assets/voice)")
    for plugin in entry_points(group=PLUGIN_GROUP):
        plugin.load()(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from queue_server.config import ConfigError
    from queue_server.domain import DomainError

    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except (Refused, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"error: {exc.message} ({exc.code})", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
