"""`plasticity verify`: check every claim of the theory by machine and print the verdicts."""

from __future__ import annotations

import argparse
import sys

from checks.profiles import PROFILES

HELP = (
    "check every claim of the theory (closed forms vs Monte Carlo and numerics, inequalities, "
    "simulations, expected counterexamples) and print a verdict table"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options: --profile, --json FILE, --only ID..., --list, --quiet."""
    parser.add_argument(
        "--profile",
        choices=list(PROFILES),
        default="ci",
        help="how hard to push each claim: ci (fast), dev, thorough (thousands of examples)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the verdicts as JSON to FILE")
    parser.add_argument("--only", nargs="+", metavar="ID", help="check only these claim ids")
    parser.add_argument("--list", action="store_true", help="list the claim ids and statements, then exit")
    parser.add_argument("--quiet", action="store_true", help="no per-claim progress on stderr")


def run(args: argparse.Namespace) -> int:
    """Print the table; exit 1 if any claim FAILED, 0 otherwise (2 for bad input, via cli)."""
    from checks.claims import CLAIMS, get_claim
    from checks.verify import any_failed, render_table, run_claims, write_json

    if args.list:
        for c in CLAIMS.values():
            print(f"{c.id:34s} [{c.expected}] {c.statement}")
        return 0
    if args.only:
        for claim_id in args.only:
            get_claim(claim_id)  # unknown id → ValueError → one line, exit 2
    verdicts = run_claims(args.profile, ids=args.only, progress=not args.quiet)
    print(render_table(verdicts, profile=args.profile))
    if args.json:
        path = write_json(args.json, verdicts, args.profile)
        print(f"wrote {path}", file=sys.stderr)
    return 1 if any_failed(verdicts) else 0
