"""`plasticity bench`: measure this machine's speed on the paper's workloads.

Prints a Markdown table (each figure beside its in-run reference and the GEMM roofline) and
optionally writes it and the full JSON to files.  Takes a few minutes; ``--skip-commands``
leaves out the two whole-command timings, which take most of that.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = (
    "measure performance: GEMM roofline, Figure 5 / 5-S1 sweeps vs a vectorised numpy reference "
    "(same process pool, alternating), Hessian, HVP, Q"
)


def _positive_int(minimum: int):  # noqa: ANN202 - argparse type factory
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `plasticity bench`."""
    from plasticity.benchmarks.sweeps import MIN_STEPS

    parser.add_argument(
        "--steps",
        type=_positive_int(MIN_STEPS),
        default=200,
        help="steps of the longer timed sweep (the shorter runs half; extrapolated to the paper's 8000; "
        "default 200)",
    )
    parser.add_argument("--json", metavar="FILE", type=Path, help="write every number as JSON")
    parser.add_argument("--markdown", metavar="FILE", type=Path, help="write the Markdown table")
    parser.add_argument(
        "--skip-commands",
        action="store_true",
        help="do not time `plasticity verify --profile ci` and `plasticity reproduce --quick`",
    )
    parser.add_argument(
        "--workers", type=_positive_int(1), default=2, help="processes each sweep runs in (default 2)"
    )
    parser.add_argument(
        "--repeats",
        type=_positive_int(1),
        default=2,
        help="timings per sweep and length, best kept (default 2)",
    )
    parser.add_argument(
        "--end-to-end",
        action="store_true",
        help="also run the Figure 5 sweep at its full 8000 steps, project then reference (about 10 minutes)",
    )
    parser.add_argument(
        "--gemm-size", type=_positive_int(1), default=4096, help="side of the square GEMM (default 4096)"
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the engine's phase profile")
    parser.add_argument("--seed", type=_positive_int(0), default=0, help="seed of the timed sweeps")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, print the table, write the requested files."""
    from plasticity.benchmarks.suite import bench

    return bench(
        json_path=args.json,
        markdown_path=args.markdown,
        steps=args.steps,
        skip_commands=args.skip_commands,
        gemm_n=args.gemm_size,
        workers=args.workers,
        repeats=args.repeats,
        end_to_end=args.end_to_end,
        profile=not args.no_profile,
        seed=args.seed,
    )
