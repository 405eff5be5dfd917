"""`plasticity reproduce [--quick|--full] [--out DIR] [--force] [--jobs N]`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from plasticity.checks.commands import add_scale_options

HELP = (
    "regenerate everything (derivations, verified claims, figures 1, 5 and 5s1, predicted vs "
    "simulated best ratios, a landscape check) into DIR with one self-contained DIR/report.html"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `plasticity reproduce`."""
    add_scale_options(
        parser,
        quick="reduced steps and repetitions, ci verification profile; minutes on 2 cores (default)",
        full="paper-scale sweeps and the thorough verification profile; resumes if interrupted",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        metavar="DIR",
        help="output directory (default: results/)",
    )
    parser.add_argument(
        "--force", action="store_true", help="with --full: redo stages a previous run already finished"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        metavar="N",
        help="stages run in parallel in N worker processes (default: up to 2)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the stages, write the report; non-zero exit if any stage failed."""
    from plasticity.checks.reproduce import reproduce

    return reproduce(args.out, scale=args.scale, force=args.force, jobs=args.jobs)
