"""`plasticity figure {1,5,5s1} [--quick|--full] [--seed S] --out DIR`: rerun one of the paper's figures.

Writes DIR/figK.png and .pdf, DIR/figK.csv (the numbers behind the figure), DIR/figK.json
(provenance) and, for 5 and 5s1, DIR/figK_predicted.csv.  Progress goes to stderr.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from plasticity.checks.commands import add_scale_options

HELP = "rerun Figure 1, 5 or 5s1 of the paper (quick or paper scale) and write PNG/PDF, CSV and JSON"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `plasticity figure`."""
    parser.add_argument("figure", metavar="FIGURE", help="which figure: 1, 5 or 5s1")
    add_scale_options(
        parser,
        quick="reduced steps and repetitions, under a minute per figure (default)",
        full="the paper's scale (8000 steps, all repetitions)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="threads (or, with --processes, worker processes) to use (default 2)",
    )
    parser.add_argument(
        "--processes",
        action="store_true",
        help="spread sweep chunks over a process pool of --workers processes (the default with --full)",
    )
    parser.add_argument(
        "--threads",
        action="store_true",
        help="with --full, use --workers threads in this process instead of a process pool",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        metavar="DIR",
        help="checkpoint finished chunks here; rerunning resumes (figures 5, 5s1)",
    )
    parser.add_argument(
        "--extend",
        type=int,
        default=0,
        metavar="STEPS",
        help="extend runs that have not settled by up to STEPS extra steps",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    """Run the figure; print the written files."""
    from plasticity.checks.pipeline.figures import run_figure

    run_figure(
        args.figure,
        args.out,
        scale=args.scale,
        seed=args.seed,
        workers=args.workers,
        processes=args.processes,
        threads=args.threads,
        checkpoint_dir=args.checkpoint,
        extend_max=args.extend,
        progress=not args.quiet,
    )
    return 0
