"""The `plasticity` command: one subcommand per module in `plasticity.checks.commands`.

Subcommands are imported lazily so that `plasticity derive` does not pay for scipy or
matplotlib.  User errors (``ValueError``, missing files) are reported in one line with exit
status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: subcommand name -> module under ``plasticity.checks.commands``
COMMANDS: dict[str, str] = {
    "derive": "derive",
    "verify": "verify",
    "landscape": "landscape",
    "figure": "figure",
    "reproduce": "reproduce",
    "bench": "bench",
}


def _load(name: str):
    return importlib.import_module(f"plasticity.checks.commands.{COMMANDS[name]}")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("plasticity")
    except PackageNotFoundError:  # running from a source tree
        ver = "unknown"
    parser = argparse.ArgumentParser(
        prog="plasticity",
        description=(
            "Derive, simulate and verify the theory of optimal compensatory plasticity "
            "(Raman & O'Leary, eLife 2021;10:e62912)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"plasticity {ver}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = _load(name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `plasticity` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_module", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        print("plasticity: interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"plasticity {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
