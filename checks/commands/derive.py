"""`plasticity derive --out DIR`: regenerate the derivations document and closed-form index.

Derives every id in :data:`plasticity.derivations.core.ORDER`, writes ``DIR/derivations.md``,
``DIR/derivations.tex`` and ``DIR/closed_forms.json``, and exits non-zero naming each result
that is missing from the registry, raised an error, or failed one of its own checks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "derive every result with SymPy and write derivations.md, derivations.tex, closed_forms.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `plasticity derive`."""
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    parser.add_argument("--quiet", action="store_true", help="no per-result progress on stderr")


def run(args: argparse.Namespace) -> int:
    """Derive, write, and return 0 only if every result exists and verified itself."""
    from plasticity.checks.derive import derive

    return derive(args.out, verbose=not args.quiet)
