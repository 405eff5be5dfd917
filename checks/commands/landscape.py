"""`plasticity landscape`: the theory's claims on your own landscape at a point.

SPEC is ``path/to/module.py:function`` (imports and RUNS that module), a ``.npy`` Hessian
(a quadratic with minimum 0 unless --minimum says otherwise), or omitted when the
landscape is given as an expression with ``--expr EXPR --vars x,y``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from numerics.files import atomic_write_text

HELP = "check the theory's claims on your own landscape (module:function, --expr, or a .npy Hessian)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "spec",
        nargs="?",
        metavar="SPEC",
        help="path/to/module.py:function (the module is imported: its code RUNS) or path/to/hessian.npy; "
        "omit it when using --expr",
    )
    parser.add_argument(
        "--expr", metavar="EXPR", help='a SymPy expression for F, e.g. "(1-x)**2 + 100*(y-x**2)**2"'
    )
    parser.add_argument("--vars", metavar="x,y", help="the expression's variables, comma-separated, in order")
    parser.add_argument(
        "--at",
        metavar="POINT",
        required=True,
        help="the point w: comma-separated numbers or a .npy file (write --at=-1,2 when it starts with '-')",
    )
    parser.add_argument(
        "--minimum",
        metavar="POINT",
        help="the known minimum w* (a POINT, or one number for every coordinate); the beeline w* − w is "
        "then reported (and simulated) beside the Newton step −(∇²F)⁻¹∇F",
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="also run the fluctuation/compensation dynamics over the ratios 0.1..2.5 per rule (a module "
        "SPEC's functions are called for every run and step: bound the time with --steps/--reps)",
    )
    parser.add_argument("--steps", type=int, default=1500, help="simulation steps (default 1500)")
    parser.add_argument("--reps", type=int, default=4, help="simulation repetitions (default 4)")
    parser.add_argument("--eps-norm", type=float, default=None, help="‖Δε‖ per step (default 0.01·√N)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--json", metavar="FILE", help="also write the report as JSON to FILE ('-' for stdout)"
    )


def run(args: argparse.Namespace) -> int:
    from checks.landscape_report import analyse, format_text, simulate_best_ratios
    from checks.user_landscape import load

    user, w = load(args.spec, expr=args.expr, variables=args.vars, at=args.at, minimum=args.minimum)
    report = analyse(user, w, seed=args.seed)
    if args.simulate:
        if args.steps < 2 or args.reps < 1:
            raise ValueError("--steps must be at least 2 and --reps at least 1")
        if args.eps_norm is not None and not args.eps_norm > 0:
            raise ValueError(f"--eps-norm must be positive; got {args.eps_norm}")
        report.simulation = simulate_best_ratios(
            user.landscape,
            w,
            report.predicted_ratio,
            seed=args.seed,
            eps_norm=args.eps_norm,
            steps=args.steps,
            reps=args.reps,
            window=max(1, args.steps // 3),
        )
    text = report.dumps()
    if args.json == "-":
        print(text)
    else:
        print(format_text(report))
        if args.json:
            atomic_write_text(Path(args.json), text + "\n")
            print(f"\nJSON written to {args.json}")
    return 0
