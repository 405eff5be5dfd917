"""`plasticity landscape`: the theory's claims on your own landscape at a point.

SPEC is ``path/to/module.py:function`` (imports and RUNS that module; a function of no
arguments is a factory returning a Landscape, e.g. a PyTorch or JAX model), a ``.npy`` Hessian
(a quadratic with minimum 0 unless --minimum says otherwise), or omitted when the
landscape is given as an expression with ``--expr EXPR --vars x,y``.
"""

from __future__ import annotations

import argparse

HELP = "check the theory's claims on your own landscape (module:function, --expr, or a .npy Hessian)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `plasticity landscape`."""
    parser.add_argument(
        "spec",
        nargs="?",
        metavar="SPEC",
        help="path/to/module.py:function (the module is imported: its code RUNS), path/to/module.py:factory "
        "(a function of no arguments returning a Landscape, e.g. plasticity.landscapes.from_torch(...)) or "
        "path/to/hessian.npy; omit it when using --expr",
    )
    parser.add_argument(
        "--expr", metavar="EXPR", help='a SymPy expression for F, e.g. "(1-x)**2 + 100*(y-x**2)**2"'
    )
    parser.add_argument("--vars", metavar="x,y", help="the expression's variables, comma-separated, in order")
    parser.add_argument(
        "--at",
        metavar="POINT",
        help="the point w: comma-separated numbers or a .npy file (write --at=-1,2 when it starts with '-'); "
        "required, except for a module.py:factory whose landscape has w0 (e.g. a PyTorch or JAX model's own "
        "parameters), which is then the default point",
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
        help="also run the fluctuation/compensation dynamics over the ratios 0.1..2.5 per rule and report "
        "the simulated best ratios with bootstrap errors (a module SPEC's functions are called every step, "
        "for every run at once if it supplies <function>_batch, _grad_batch, _hvp_batch, _hess_batch)",
    )
    parser.add_argument("--steps", type=int, default=1500, help="simulation steps (default 1500)")
    parser.add_argument("--reps", type=int, default=4, help="simulation repetitions (default 4)")
    parser.add_argument("--eps-norm", type=float, default=None, help="‖Δε‖ per step (default 0.01·√N)")
    parser.add_argument(
        "--matrix-free",
        action="store_true",
        help="use only ∇F and Hessian-vector products (O(N) memory; the default above N = 3000): every "
        "figure with its error, Tr/N by Hutchinson probes, λ_min/λ_max by Lanczos, the Newton step by MINRES",
    )
    parser.add_argument(
        "--max-probes",
        type=int,
        default=1024,
        help="matrix-free: most Hutchinson probes for Tr/N before a comparison is left undecided "
        "(default 1024)",
    )
    parser.add_argument(
        "--trace-rel-error",
        type=float,
        default=None,
        metavar="R",
        help="matrix-free: add Hutchinson probes until Tr/N's printed ± (bound + z standard errors, "
        "z = 5) is at most R·|Tr/N|, e.g. 0.02 for ±2 %%, or until --max-probes",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no simulation progress bar on stderr")
    parser.add_argument(
        "--json", metavar="FILE", help="also write the report as JSON to FILE ('-' for stdout)"
    )


def run(args: argparse.Namespace) -> int:
    """Print the report (and write it as JSON with --json)."""
    from plasticity.checks.landscape.run import check_landscape

    check_landscape(
        args.spec,
        expr=args.expr,
        variables=args.vars,
        at=args.at,
        minimum=args.minimum,
        seed=args.seed,
        matrix_free=True if args.matrix_free else None,
        max_probes=args.max_probes,
        trace_rel_error=args.trace_rel_error,
        simulate=args.simulate,
        steps=args.steps,
        reps=args.reps,
        eps_norm=args.eps_norm,
        json=args.json,
        progress=not args.quiet,
    )
    return 0
