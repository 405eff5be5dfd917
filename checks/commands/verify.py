"""`plasticity verify`: check every claim of the theory by machine and print the verdicts."""

from __future__ import annotations

import argparse

from plasticity.checks.profiles import PROFILES

HELP = (
    "check every claim of the theory (closed forms vs Monte Carlo and numerics, inequalities, "
    "simulations, expected counterexamples) and print a verdict table"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options: --profile, --json FILE, --only ID..., --list, --quiet, --mutants [--workers K]."""
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
    parser.add_argument(
        "--mutants",
        action="store_true",
        help="measure verify itself instead: run it on each seeded bug of the mutant catalogue (in worker "
        "processes) and report the kill rate and the survivors; --only then picks mutant ids",
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes for --mutants (default 2)")
    parser.add_argument(
        "--min-kill-rate",
        type=float,
        default=0.9,
        help="with --mutants, exit 1 if the kill rate is below this (default 0.9)",
    )


def run(args: argparse.Namespace) -> int:
    """Print the table; exit 1 if any claim FAILED, 0 otherwise (2 for bad input, via cli)."""
    from plasticity.checks.verify import list_claims, verify

    if args.list:
        print(list_claims())
        return 0
    if args.mutants:
        from plasticity.checks.mutants import measure

        return measure(
            args.profile,
            ids=args.only,
            workers=args.workers,
            json=args.json,
            min_kill_rate=args.min_kill_rate,
            progress=not args.quiet,
        )
    return verify(args.profile, ids=args.only, json=args.json, progress=not args.quiet)
