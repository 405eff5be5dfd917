"""One module per `plasticity` subcommand.

Each defines `HELP`, `add_arguments(parser)` and `run(args) -> int`; options several commands
share are added by the helpers here.
"""

from __future__ import annotations

import argparse


def add_scale_options(parser: argparse.ArgumentParser, *, quick: str, full: str) -> None:
    """``--quick`` (the default) or ``--full`` into ``args.scale``, with each command's own help."""
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--quick", dest="scale", action="store_const", const="quick", help=quick)
    scale.add_argument("--full", dest="scale", action="store_const", const="full", help=full)
    parser.set_defaults(scale="quick")
