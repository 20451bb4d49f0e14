"""`branchq drill NAME|all`: run drills, print what each tried and lost, and the table."""

from __future__ import annotations

import argparse
import json

from queue_server.cli import Refused
from tools.drill import DRILLS, DrillResult, format_table


def main(args: argparse.Namespace) -> int:
    if args.name == "all":
        if args.attempts is not None:
            raise Refused("--attempts applies to one drill, not to `all`")
        if args.branches is not None:
            raise Refused("--branches applies to one drill, not to `all`")
        drills = list(DRILLS.values())
        branches = None  # each drill's own network size
    elif args.name in DRILLS:
        drills = [DRILLS[args.name]]
        branches = args.branches
    else:
        raise Refused(f"no drill {args.name!r}; drills: {', '.join(DRILLS)}, all")
    results: list[DrillResult] = []
    for drill in drills:
        results.append(
            drill.run(args.attempts, short=args.short, seed=args.seed, branches=branches)
        )
    if args.json:
        print(json.dumps([r.summary() for r in results], sort_keys=True))
    else:
        for r in results:
            for problem in r.details.get("failures", []):
                print(f"{r.drill}: FAILED: {problem}")
            for problem in r.details.get("losses", [])[:20]:
                print(f"{r.drill}: LOST: {problem}")
        print(format_table(results))
    return 0 if all(r.ok for r in results) else 1
