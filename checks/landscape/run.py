"""Load a landscape, analyse it at a point, optionally simulate, and write the report.

:func:`check_landscape` is the whole of `plasticity landscape` as one library call, so that
the command and the reproduce pipeline run the same code.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from plasticity.checks.landscape.analysis import LandscapeReport, analyse
from plasticity.checks.landscape.simulate import simulate_best_ratios
from plasticity.checks.landscape.spec import load
from plasticity.checks.landscape.text import format_text
from plasticity.numerics.files import atomic_write_text

__all__ = ["check_landscape"]


def check_landscape(
    spec: str | None = None,
    *,
    expr: str | None = None,
    variables: str | Sequence[str] | None = None,
    at: str | Sequence[float] | np.ndarray | None = None,
    minimum: str | float | Sequence[float] | np.ndarray | None = None,
    seed: int = 0,
    matrix_free: bool | None = None,
    max_probes: int = 1024,
    trace_rel_error: float | None = None,
    simulate: bool = False,
    steps: int = 1500,
    reps: int = 4,
    eps_norm: float | None = None,
    json: str | Path | None = None,
    stdout: TextIO | None = None,
    progress: bool = True,
) -> LandscapeReport:
    """Evaluate the theory on a SPEC's landscape at ``at`` and write the report.

    The pieces are those of `plasticity landscape` (see :func:`plasticity.checks.landscape.spec.load`).
    With ``simulate`` the dynamics run ``steps`` steps × ``reps`` repetitions per rule and
    ratio, steady state being the last third.  ``matrix_free`` (default: above MAX_DENSE_N
    parameters) uses ∇F and HVPs only, with up to ``max_probes`` Hutchinson probes, and with
    ``trace_rel_error`` until Tr/N's printed half-width is at most that fraction of it.  The text
    table goes to ``stdout``; with ``json`` the report is also written as JSON to that file,
    or with ``json="-"`` printed as JSON instead of the table.  ``progress`` shows the
    simulation's progress bar on stderr (only when it is a terminal).  Bad input raises
    ``ValueError`` naming the problem.
    """
    stdout = sys.stdout if stdout is None else stdout
    user, w = load(spec, expr=expr, variables=variables, at=at, minimum=minimum)
    if isinstance(max_probes, bool) or not isinstance(max_probes, int) or max_probes < 32:
        raise ValueError(
            f"--max-probes must be an integer of at least 32 (one block of probes); got {max_probes!r}"
        )
    if trace_rel_error is not None and not (math.isfinite(trace_rel_error) and 0 < trace_rel_error < 1):
        raise ValueError(f"--trace-rel-error must be a fraction in (0, 1); got {trace_rel_error!r}")
    report = analyse(
        user, w, seed=seed, matrix_free=matrix_free, max_probes=max_probes, rel_error=trace_rel_error
    )
    if simulate:
        if steps < 2 or reps < 1:
            raise ValueError("--steps must be at least 2 and --reps at least 1")
        if eps_norm is not None and not eps_norm > 0:
            raise ValueError(f"--eps-norm must be positive; got {eps_norm}")
        report.simulation = simulate_best_ratios(
            user.landscape,
            w,
            report.predicted_ratio,
            seed=seed,
            eps_norm=eps_norm,
            steps=steps,
            reps=reps,
            window=max(1, steps // 3),
            progress=progress,
        )
    text = report.dumps()
    if json is not None and str(json) == "-":
        print(text, file=stdout)
    else:
        print(format_text(report), file=stdout)
        if json:
            atomic_write_text(Path(json), text + "\n")
            print(f"\nJSON written to {json}", file=stdout)
    return report
