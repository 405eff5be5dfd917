"""The landscape report from ∇F and Hessian-vector products only: O(N) memory, any N.

:func:`analyse_matrix_free` measures every curvature of the report with
:func:`plasticity.numerics.matfree.matrix_free_curvature` -- Lanczos extreme eigenvalues with
their residuals, Q[∇F] and Q[w* − w] from one HVP each, the Newton step by MINRES with its
residual, Tr/N by Hutchinson probes added until its comparisons are decided -- and the
usability checks of :func:`plasticity.checks.landscape.diagnostics.check_matrix_free`, never
an N×N array.  Each figure carries its error (``LandscapeReport.uncertainty``); a claim whose
comparison lies inside the intervals at the stated confidence is "undecided at this
precision" (:class:`plasticity.checks.landscape.verdicts.Precision`), never a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from plasticity.checks.landscape.analysis import (
    LandscapeReport,
    assemble,
    minimum_note,
    stationary_note,
)
from plasticity.checks.landscape.diagnostics import check_matrix_free
from plasticity.checks.landscape.spec import UserLandscape
from plasticity.checks.landscape.verdicts import UNDECIDED, Precision
from plasticity.derivations import closed_forms
from plasticity.numerics import matfree
from plasticity.numerics.landscapes import Landscape

__all__ = ["analyse_matrix_free"]


def _figure(fig: matfree.Figure | None) -> dict[str, float | str | None] | None:
    if fig is None:
        return None
    return {
        "bound": fig.bound if math.isfinite(fig.bound) else None,
        "stderr": fig.stderr,
        "how": fig.how,
    }


def _ratio_interval(q: float | None, q_half: float, t: float, t_half: float) -> list[float | None] | None:
    """eq9a's ratio √(E[Q[Δε]]/Q[Δc]) over the intervals of its two curvatures: increasing in
    E[Q[Δε]], decreasing in Q[Δc], so its ends are at the corners (None: unbounded above)."""
    if q is None:
        return None

    def ratio(q_eps: float, q_c: float) -> float | None:
        if not (q_eps > 0 and q_c > 0 and math.isfinite(q_c)):
            return None
        return float(closed_forms.steady_state_ratio(Q_eps=q_eps, Q_c=q_c))

    lo = ratio(t - t_half, q + q_half) if math.isfinite(q_half) else None
    hi = ratio(t + t_half, q - q_half) if math.isfinite(q_half) else None
    return [0.0 if lo is None else lo, hi]


def analyse_matrix_free(
    user: UserLandscape | Landscape,
    w: np.ndarray,
    w_star: np.ndarray | None,
    levels: Sequence[float],
    *,
    seed: int = 0,
    max_probes: int = 1024,
    z: float = matfree.CONFIDENCE_Z,
    rel_stderr: float | None = None,
    rel_error: float | None = None,
) -> LandscapeReport:
    """The report of :func:`plasticity.checks.landscape.analysis.analyse` from ∇F and HVPs only.

    HVPs are the landscape's own where it supplies them exactly, otherwise central
    differences of ∇F (:class:`plasticity.numerics.matfree.HessianOperator`).  Decisions are
    taken at ``z`` standard errors of the sampled Tr/N plus the deterministic bounds of the
    other figures.  Raises ``ValueError`` if F is not usable at w.
    """
    landscape = user.landscape if isinstance(user, UserLandscape) else user
    exact = user.exact if isinstance(user, UserLandscape) else ("grad", "hessian")
    notes = list(user.notes) if isinstance(user, UserLandscape) else []
    details: list[str] = []

    def check(op: matfree.HessianOperator, norm: float, dg: float, g: np.ndarray) -> None:
        details.extend(check_matrix_free(user, w, op.matvec, norm, dg, g, seed=seed))

    cur = matfree.matrix_free_curvature(
        landscape,
        w,
        w_star=w_star,
        grad_exact="grad" in exact,
        hvp_exact="hessian" in exact,
        check=check,
        z=z,
        max_probes=max_probes,
        rel_stderr=rel_stderr,
        rel_error=rel_error,
        seed=seed,
    )
    if cur.stationary:
        notes.append(stationary_note(cur.grad_norm, cur.grad_error, exact))
    notes.extend(cur.notes)
    if w_star is not None and cur.q_beeline is None:
        notes.append("the point is the minimum w*: the beeline w* − w is zero, its Q undefined")
    if w_star is not None:
        norm_star = matfree.hessian_norm(
            landscape, w_star, hvp_exact="hessian" in exact, grad_exact="grad" in exact
        )
        notes.extend(minimum_note(landscape, w_star, exact, norm_star))

    lam_min, lam_max, trace = cur.lambda_min, cur.lambda_max, cur.trace_over_n
    t_half = trace.halfwidth(z)
    if trace.value - t_half > 0:
        partially: bool | None = True
    elif trace.value + t_half < 0:
        partially = False
    else:
        partially = None
    highly = bool(lam_min.value >= -lam_min.bound)
    if not cur.trace.decided:
        notes.append(
            f"Tr/N after {cur.trace.probes} probes (the cap, --max-probes): its interval at z = {z:g} still "
            f"contains {', '.join(sorted({f'{b:.4g}' for b in cur.trace.undecided}))}, so its comparisons "
            f"with {'that number' if len(cur.trace.undecided) == 1 else 'those numbers'} are {UNDECIDED}"
        )
    if not cur.trace.precise:
        notes.append(
            f"Tr/N after {cur.trace.probes} probes (the cap, --max-probes) has not reached the requested "
            f"relative precision: its ± is {t_half:.2g}, {t_half / abs(trace.value):.2%} of |Tr/N|"
            if trace.value
            else f"Tr/N after {cur.trace.probes} probes is 0: no relative precision can be reached"
        )
    if not cur.extremes.converged:
        notes.append(
            "Lanczos did not reach its tolerance: the eigenvalues' bounds are their residuals, as printed"
        )
    bounds = {
        "gradient": None if cur.q_gradient is None else cur.q_gradient.bound,
        "newton": None if cur.newton is None else cur.newton.q.bound,
        "beeline": None if cur.q_beeline is None else cur.q_beeline.bound,
    }
    widths: dict[str, Precision] = {}
    measured: dict[str, float | None] = {}
    noisy_weight: list[float] = []

    def precision(q_by_rule: dict[str, float | None], a: float) -> dict[str, Precision]:
        measured.update(q_by_rule)
        noisy_weight.append(a)
        for rule in ("gradient", "newton", "beeline"):
            b = bounds[rule]
            if b is not None:
                widths[rule] = Precision(b, t_half, t_half + b)
        if bounds["gradient"] is not None:
            # Q_noisy = a·Q[∇F] + (1 − a)·Tr/N, so Q_noisy − Tr/N = a·(Q[∇F] − Tr/N)
            b = bounds["gradient"]
            widths["noisy_gradient"] = Precision(a * b + (1 - a) * t_half, t_half, a * (t_half + b))
        # zeroth order: E[Q] = Tr/N is the same estimate as E[Q[Δε]], their difference exactly 0
        widths["zeroth_order"] = Precision(t_half, t_half, None)
        return dict(widths)

    uncertainty = {
        "grad_norm": {"bound": cur.grad_error, "stderr": 0.0, "how": "gradient error bound"},
        "trace_over_n": _figure(trace),
        "lambda_min": _figure(lam_min),
        "lambda_max": _figure(lam_max),
        "q_gradient": _figure(cur.q_gradient),
        "q_newton": _figure(None if cur.newton is None else cur.newton.q),
        "q_beeline": _figure(cur.q_beeline),
    }
    report = assemble(
        user,
        n=cur.n,
        levels=levels,
        loss=cur.loss,
        grad_norm=cur.grad_norm,
        grad_error=cur.grad_error,
        stationary=cur.stationary,
        trace_over_n=trace.value,
        lam_min=lam_min.value,
        lam_max=lam_max.value,
        psd_tolerance=lam_min.bound,
        highly=highly,
        partially=partially,
        q_gradient=None if cur.q_gradient is None else cur.q_gradient.value,
        q_newton=None if cur.newton is None else cur.newton.q.value,
        q_beeline=None if cur.q_beeline is None else cur.q_beeline.value,
        # zeroth order only: E[Q] and E[Q[Δε]] are one number, equal up to its rounding
        q_tol=2 * trace.bound,
        minimum_known=w_star is not None,
        notes=notes,
        checks=details,
        precision=precision,
        method="matrix-free",
        uncertainty={k: v for k, v in uncertainty.items() if v is not None},
    )
    if "noisy_gradient" in widths:
        a, u = noisy_weight[0], report.uncertainty
        report.uncertainty["q_noisy_gradient"] = {
            "bound": a * float(u["q_gradient"]["bound"]) + (1 - a) * trace.bound,
            "stderr": (1 - a) * trace.stderr,
            "how": "a·Q[∇F] + (1 − a)·Tr/N (si_noisy at the reference noise level)",
        }
    intervals = {
        rule: _ratio_interval(measured[rule], widths[rule].q_c, report.q_eps, t_half)
        if rule in widths
        else None
        for rule in ("gradient", "newton", "beeline", "noisy_gradient")
    }
    intervals["zeroth_order"] = [1.0, 1.0]  # E[Q] = E[Q[Δε]] identically (si_zeroth_order)
    report.matrix_free = {
        "confidence_z": z,
        "operator": cur.operator,
        "hvp_products": cur.products,
        "trace_probes": cur.trace.probes,
        "trace_sketch": cur.trace.sketch,
        "trace_precise": cur.trace.precise,
        "max_probes": max_probes,
        "trace_decided": cur.trace.decided,
        "lanczos_residuals": [cur.extremes.residual_min, cur.extremes.residual_max],
        "lanczos_converged": cur.extremes.converged,
        "newton_relative_residual": None if cur.newton is None else cur.newton.relative_residual,
        "newton_iterations": None if cur.newton is None else cur.newton.iterations,
        "newton_converged": None if cur.newton is None else cur.newton.converged,
        "ratio_interval": intervals,
    }
    return report
