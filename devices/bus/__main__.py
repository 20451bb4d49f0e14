"""Field commands for an RS-485 line: `python -m devices.bus probe URL` and board set-up."""

from __future__ import annotations

import argparse
import sys

from devices.bus.probe import configure_digit_board, probe
from devices.errors import DeviceError


def _addresses(text: str) -> list[int]:
    """Parse an address list: 1-20,101-120 → [1, …, 20, 101, …, 120]."""
    out: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        out += range(int(low), int(high or low) + 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devices.bus", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("probe", help="list the devices that answer on the line")
    p.add_argument("url", help="rs485+serial://PORT?baud=9600")
    p.add_argument("--addresses", type=_addresses, help="e.g. 1-20,101-120 (default: plan)")
    p.add_argument("--timeout", type=float, default=0.05, help="reply timeout per address")
    d = sub.add_parser("digit-board", help="set a Modbus digit board's address or baud")
    d.add_argument("url")
    d.add_argument("address", type=int)
    d.add_argument("--new-address", type=int)
    d.add_argument("--baud", type=int)
    d.add_argument("--decimal-point", type=int)
    args = parser.parse_args(argv)
    if args.command == "probe":
        print(probe(args.url, args.addresses, reply_timeout_s=args.timeout))
        return 0
    try:
        print(
            configure_digit_board(
                args.url,
                args.address,
                new_address=args.new_address,
                baud=args.baud,
                decimal_point=args.decimal_point,
            )
        )
    except (DeviceError, ValueError) as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
