"""`plasticity verify`: check every claim of the theory by machine and print the verdicts."""

from __future__ import annotations

import argparse

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
    from checks.verify import list_claims, verify

    if args.list:
        print(list_claims())
        return 0
    return verify(args.profile, ids=args.only, json=args.json, progress=not args.quiet)
