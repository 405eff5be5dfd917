"""The theory's claims evaluated on one landscape at one point: what `plasticity landscape` prints.

At a point w the report measures N, Tr(∇²F)/N, the Hessian's extreme eigenvalues (so
whether w is highly trained, ∇²F ⪰ 0, or partially trained, Tr > 0), Q[∇F], Q of the
Newton step −(∇²F)⁻¹∇F and, with a known minimum w*, of the beeline w* − w, and from the
closed forms E[Q[Δε]] (eq12), E[Q] of zeroth-order compensation
(si_zeroth_order) and of noisy gradient compensation (si_noisy, at a few noise levels).
Each rule's predicted best ratio ‖Δc‖/‖Δε‖ is eq9a, and its main-claim verdict is eq11
(ratio ≤ 1 ⇔ Q[Δc] ≥ Q[Δε]).  Every number comes from :mod:`plasticity.derivations.closed_forms`
applied to measured curvatures; nothing is retyped.  The per-point outcome of each
claim is a :class:`plasticity.checks.landscape.verdicts.LandscapeVerdict`.

A gradient whose norm is within its own error bound
(:func:`plasticity.checks.landscape.diagnostics.gradient_error_bound`) has no direction distinguishable from
noise: the point is stationary to working precision, and every quantity built on the
direction of ∇F (Q[∇F], the Newton step, noisy gradient compensation) is reported as
undefined there, never given a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from plasticity.checks.landscape.diagnostics import MAX_DENSE_N, check_at_point, gradient_error_bound
from plasticity.checks.landscape.spec import UserLandscape
from plasticity.checks.landscape.verdicts import UNDECIDED, LandscapeVerdict, Precision, landscape_verdicts
from plasticity.derivations import closed_forms
from plasticity.numerics import matfree, rules
from plasticity.numerics.curvature import Q_from_hessian
from plasticity.numerics.files import json_text, jsonable
from plasticity.numerics.landscapes import Landscape, check_point

__all__ = [
    "NOISE_TO_SIGNAL",
    "REFERENCE_NOISE_TO_SIGNAL",
    "RULES",
    "LandscapeReport",
    "analyse",
]

#: noise-to-signal levels γ₂/γ₁ of noisy gradient compensation (the paper's 0.1 … 50)
NOISE_TO_SIGNAL: tuple[float, ...] = (0.1, 1.0, 5.0, 20.0, 50.0)
#: the level whose ratio is reported as predicted_ratio["noisy_gradient"]
REFERENCE_NOISE_TO_SIGNAL = 1.0
#: the rules reported, in order ("beeline" needs a known minimum w*)
RULES: tuple[str, ...] = ("gradient", "newton", "beeline", "zeroth_order", "noisy_gradient")


@dataclass
class LandscapeReport:
    """Everything `plasticity landscape` reports; :meth:`to_json` gives the documented keys."""

    source: str
    kind: str
    n_params: int
    loss: float
    grad_norm: float
    grad_error_bound: float  # ‖∇F‖ at or below this is noise: the point is stationary
    stationary: bool
    trace_over_n: float
    lambda_min: float
    lambda_max: float
    psd_tolerance: float
    training_state: str  # "highly trained", "partially trained" or "neither"
    q_eps: float  # E[Q[Δε]] for isotropic fluctuations (eq12)
    q_gradient: float | None
    q_newton: float | None  # Q[−(∇²F)⁻¹∇F]
    q_beeline: float | None  # Q[w* − w], with a known minimum w*
    q_zeroth_order: float
    noisy_gradient: list[dict[str, float | None]]
    predicted_ratio: dict[str, float | None]
    claims: list[LandscapeVerdict]
    notes: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    simulation: dict[str, object] | None = None
    method: str = "dense"  # "dense" (the N×N Hessian) or "matrix-free" (∇F and HVPs only)
    # matrix-free: each figure's error, {"bound": deterministic bound, "stderr": standard error}
    # (an unbounded error is null), and how it was obtained
    uncertainty: dict[str, dict[str, float | str | None]] = field(default_factory=dict)
    # matrix-free: the confidence z, probes, residuals and ratio intervals behind the verdicts
    matrix_free: dict[str, object] | None = None

    def to_json(self) -> dict[str, object]:
        """A JSON-serialisable dict (NaN never appears: undefined values are null)."""
        out = asdict(self)
        out["claims"] = [asdict(c) for c in self.claims]
        return jsonable(out)

    def dumps(self) -> str:
        """The report as indented JSON text (undefined values as null)."""
        return json_text(self.to_json(), indent=2)


# --------------------------------------------------------------------------- the analysis


def _psd_tolerance(
    lam: np.ndarray, exact: bool, landscape: Landscape, w: np.ndarray, v_min: np.ndarray
) -> float:
    """How negative λ_min may be and still be zero within error.

    eigvalsh is backward stable: eigenvalues are exact for a matrix within ~N·eps·‖H‖.  A
    finite-difference Hessian adds its own error, estimated along the eigenvector of λ_min:
    the Rayleigh quotient from central differences of ∇F at steps h and 2h differs from
    λ_min by the truncation error (Richardson, /3) plus the FD error itself.
    """
    n = lam.size
    eps = matfree.rounding_eps(landscape)  # the landscape's arithmetic: its H carries that rounding
    tol = n * eps * float(np.max(np.abs(lam)))
    if exact:
        return tol
    h = eps ** (1 / 3) * max(1.0, float(np.linalg.norm(w)))

    def rayleigh(step: float) -> float:
        d = (landscape.grad(w + step * v_min) - landscape.grad(w - step * v_min)) / (2 * step)
        return float(v_min @ d)

    r1, r2 = rayleigh(h), rayleigh(2 * h)
    return tol + abs(r1 - float(lam[0])) + abs(r1 - r2) / 3


def _ratio(q_c: float | None, q_eps: float) -> float | None:
    """eq9a, where it applies (closed_forms.applies: both curvatures positive), else None."""
    if q_c is None or not closed_forms.applies("steady_state_ratio", q_eps, q_c):
        return None
    return float(closed_forms.steady_state_ratio(Q_eps=q_eps, Q_c=q_c))


def analyse(
    user: UserLandscape | Landscape,
    w: np.ndarray | Sequence[float],
    *,
    minimum: np.ndarray | Sequence[float] | None = None,
    noise_to_signal: Sequence[float] = NOISE_TO_SIGNAL,
    seed: int = 0,
    matrix_free: bool | None = None,
    max_probes: int = 1024,
    rel_stderr: float | None = None,
    rel_error: float | None = None,
) -> LandscapeReport:
    """Evaluate the theory's quantities and claims on ``user``'s landscape at ``w``.

    ``matrix_free`` (default: when N > MAX_DENSE_N) uses ∇F and Hessian-vector products only,
    in O(N) memory, every figure with its error and Tr/N sampled with up to ``max_probes``
    Hutchinson probes (:func:`plasticity.checks.landscape.matrix_free.analyse_matrix_free`), and
    with ``rel_stderr`` until its standard error is at most that fraction of |Tr/N| (with
    ``rel_error``: until its half-width, bound + z·standard error, is);
    otherwise the dense Hessian is built.

    ``minimum`` (w*) overrides the landscape's own ``w_star``.  The Newton step is
    −(∇²F)⁻¹∇F from the Hessian at w (what the simulated Newton rule steps along); with a
    known w* the beeline w* − w is reported beside it (si_newton with M = ∇²F on a
    quadratic, where the two coincide).  Raises ``ValueError`` if F is not usable at w (see
    :func:`plasticity.checks.landscape.diagnostics.check_at_point`).
    """
    landscape = user.landscape if isinstance(user, UserLandscape) else user
    exact = user.exact if isinstance(user, UserLandscape) else ("grad", "hessian")
    n = landscape.n
    w = check_point(w, n, "--at")
    levels = [float(x) for x in noise_to_signal]
    if not levels or any(not (math.isfinite(x) and x > 0) for x in levels):
        raise ValueError(
            f"noise-to-signal levels must be positive finite numbers; got {list(noise_to_signal)}"
        )
    w_star = landscape.w_star if minimum is None else check_point(minimum, n, "--minimum")
    if matrix_free is None:
        matrix_free = n > MAX_DENSE_N
    if matrix_free:
        from plasticity.checks.landscape.matrix_free import analyse_matrix_free

        return analyse_matrix_free(
            user,
            w,
            w_star,
            levels,
            seed=seed,
            max_probes=max_probes,
            rel_stderr=rel_stderr,
            rel_error=rel_error,
        )

    point = check_at_point(user, w, seed=seed)
    H, g = point.hessian, point.grad
    notes = list(user.notes) if isinstance(user, UserLandscape) else []

    lam, vecs = np.linalg.eigh(H)
    tol = _psd_tolerance(lam, "hessian" in exact, landscape, w, vecs[:, 0])
    trace_H = float(np.trace(H))
    trace_over_n = trace_H / n
    highly = bool(lam[0] >= -tol)
    partially = trace_over_n > 0

    grad_norm = float(np.linalg.norm(g))
    stationary = grad_norm <= point.grad_error
    if stationary:
        notes.append(stationary_note(grad_norm, point.grad_error, exact))
    q_gradient = None if stationary else float(Q_from_hessian(H, g))

    q_newton = None if stationary else _newton(H, g, lam, notes, matfree.rounding_eps(landscape))
    q_beeline = None if w_star is None else _beeline(H, w, w_star, notes)
    if w_star is not None:
        notes.extend(minimum_note(landscape, w_star, exact))

    return assemble(
        user,
        n=n,
        levels=levels,
        loss=point.loss,
        grad_norm=grad_norm,
        grad_error=point.grad_error,
        stationary=stationary,
        trace_over_n=trace_over_n,
        lam_min=float(lam[0]),
        lam_max=float(lam[-1]),
        psd_tolerance=tol,
        highly=highly,
        partially=partially,
        q_gradient=q_gradient,
        q_newton=q_newton,
        q_beeline=q_beeline,
        # Each Q is a Rayleigh quotient of H, exact up to H's own error: the eigenvalue tolerance
        # (N·eps·‖H‖ plus any finite-difference error), doubled for the difference of two Q's.
        q_tol=2 * tol,
        minimum_known=w_star is not None,
        notes=notes,
        checks=list(point.details),
    )


def stationary_note(grad_norm: float, grad_error: float, exact: tuple[str, ...]) -> str:
    """The note for a gradient within its own error bound (the point is stationary)."""
    return (
        f"‖∇F‖ = {grad_norm:.3g} is within its error bound {grad_error:.3g} "
        f"({_bound_kind(exact)}): the point is stationary to working precision, ∇F has no "
        "direction, and Q[∇F], the Newton step and the gradient-based ratios are undefined"
    )


def assemble(
    user: UserLandscape | Landscape,
    *,
    n: int,
    levels: Sequence[float],
    loss: float,
    grad_norm: float,
    grad_error: float,
    stationary: bool,
    trace_over_n: float,
    lam_min: float,
    lam_max: float,
    psd_tolerance: float,
    highly: bool,
    partially: bool | None,
    q_gradient: float | None,
    q_newton: float | None,
    q_beeline: float | None,
    q_tol: float,
    minimum_known: bool,
    notes: list[str],
    checks: list[str],
    precision: Callable[[dict[str, float | None], float], dict[str, Precision]] | None = None,
    method: str = "dense",
    uncertainty: dict[str, dict[str, float | str | None]] | None = None,
    matrix_free: dict[str, object] | None = None,
) -> LandscapeReport:
    """The report from the curvatures measured at the point (dense or matrix-free): the closed
    forms (eq12, si_zeroth_order, si_noisy, eq9a), the verdicts and the notes.  ``precision``
    maps (Q per rule, weight of Q[∇F] in the reference noisy Q) to each rule's interval
    half-widths, for figures with sampling or bounded errors (matrix-free)."""
    landscape = user.landscape if isinstance(user, UserLandscape) else user
    trace_H = trace_over_n * n
    state = "highly trained" if highly else ("partially trained" if partially else "neither")
    if not highly and partially is None:
        state = "undecided (λ_min < 0, Tr/N within its error of 0)"
    q_eps = float(closed_forms.raw("expected_Q_isotropic")(trace_H, n))
    q_zeroth = float(closed_forms.raw("expected_Q_zeroth_order")(trace_H, n))

    noisy = []
    for level in levels:
        g1, g2 = (float(x) for x in rules.gammas(1.0, level))
        if q_gradient is None:
            noisy.append({"noise_to_signal": level, "expected_Q": None, "predicted_ratio": None})
            continue
        q = float(closed_forms.Q_noisy_expected(tilde_norm=g1, nu_norm=g2, Q_tilde=q_gradient, Q_nu=q_eps))
        noisy.append({"noise_to_signal": level, "expected_Q": q, "predicted_ratio": _ratio(q, q_eps)})
    q_noisy_ref = _noisy_at(noisy, REFERENCE_NOISE_TO_SIGNAL, q_gradient, q_eps)

    q_by_rule: dict[str, float | None] = {
        "gradient": q_gradient,
        "newton": q_newton,
        "beeline": q_beeline,
        "zeroth_order": q_zeroth,
        "noisy_gradient": q_noisy_ref,
    }
    predicted = {rule: _ratio(q, q_eps) for rule, q in q_by_rule.items()}
    if not highly:
        notes.append(
            f"the Hessian is indefinite at the point (λ_min = {lam_min:.4g} < −{psd_tolerance:.2g}): "
            f"the point is {state}; eq9a needs only Q[Δc] > 0 and Q[Δε] > 0, which ∇²F ⪰ 0 would "
            "guarantee for every direction and which are not guaranteed here: each rule is predicted "
            "where both are positive and not evaluated where they are not"
        )
    g1, g2 = (float(x) for x in rules.gammas(1.0, REFERENCE_NOISE_TO_SIGNAL))
    claims = landscape_verdicts(
        q_by_rule,
        predicted,
        q_eps,
        noisy,
        highly,
        partially,
        lam_min,
        state,
        q_tol,
        stationary,
        minimum_known,
        precision=None if precision is None else precision(q_by_rule, g1**2 / (g1**2 + g2**2)),
    )
    cannot = [c.id for c in claims if c.holds is None and not c.detail.startswith(UNDECIDED)]
    if cannot:
        notes.append("claims that cannot be evaluated here: " + ", ".join(cannot))
    undecided = [c.id for c in claims if c.holds is None and c.detail.startswith(UNDECIDED)]
    if undecided:
        notes.append(f"claims {UNDECIDED}: " + ", ".join(undecided))

    return LandscapeReport(
        source=user.source if isinstance(user, UserLandscape) else repr(landscape),
        kind=user.kind if isinstance(user, UserLandscape) else type(landscape).__name__,
        n_params=n,
        loss=loss,
        grad_norm=grad_norm,
        grad_error_bound=grad_error,
        stationary=stationary,
        trace_over_n=trace_over_n,
        lambda_min=lam_min,
        lambda_max=lam_max,
        psd_tolerance=psd_tolerance,
        training_state=state,
        q_eps=q_eps,
        q_gradient=q_gradient,
        q_newton=q_newton,
        q_beeline=q_beeline,
        q_zeroth_order=q_zeroth,
        noisy_gradient=noisy,
        predicted_ratio=predicted,
        claims=claims,
        notes=notes,
        checks=checks,
        method=method,
        uncertainty=uncertainty or {},
        matrix_free=matrix_free,
    )


def _noisy_at(
    noisy: list[dict[str, float | None]], level: float, q_gradient: float | None, q_eps: float
) -> float | None:
    for entry in noisy:
        if entry["noise_to_signal"] == level:
            return entry["expected_Q"]
    if q_gradient is None:
        return None
    g1, g2 = (float(x) for x in rules.gammas(1.0, level))
    return float(closed_forms.Q_noisy_expected(tilde_norm=g1, nu_norm=g2, Q_tilde=q_gradient, Q_nu=q_eps))


def _bound_kind(exact: tuple[str, ...]) -> str:
    if "grad" in exact:
        return "rounding of an exact gradient, 64·eps·(‖∇F‖ + ‖∇²F‖·max(1, ‖w‖))"
    return "error of the finite-difference gradient plus rounding"


def _newton(H: np.ndarray, g: np.ndarray, lam: np.ndarray, notes: list[str], eps: float) -> float | None:
    """Q of the Newton step −(∇²F)⁻¹∇F (the direction the simulated Newton rule takes)."""
    scale = float(np.max(np.abs(lam)))
    # a Hessian whose smallest |λ| is below N·eps·‖H‖ (eps of the landscape's arithmetic) is
    # singular to working precision
    if scale == 0 or float(np.min(np.abs(lam))) <= lam.size * eps * scale:
        notes.append("the Hessian is singular at the point: the Newton step −(∇²F)⁻¹∇F does not exist")
        return None
    return float(Q_from_hessian(H, -np.linalg.solve(H, g)))


def _beeline(H: np.ndarray, w: np.ndarray, w_star: np.ndarray, notes: list[str]) -> float | None:
    """Q of the beeline w* − w straight to the known minimum (the simulated beeline rule)."""
    d = w_star - w
    if not np.any(d):
        notes.append("the point is the minimum w*: the beeline w* − w is zero, its Q undefined")
        return None
    return float(Q_from_hessian(H, d))


def minimum_note(
    landscape: Landscape, w_star: np.ndarray, exact: tuple[str, ...], hessian_norm: float | None = None
) -> list[str]:
    """A note when ∇F(w*) exceeds its own error bound: w* is then not stationary.
    ``hessian_norm`` is ‖∇²F(w*)‖₂ (the dense Hessian's when not given)."""
    g_star = landscape.grad(w_star)
    if hessian_norm is None:
        hessian_norm = float(np.linalg.norm(landscape.hessian(w_star), 2))
    bound = gradient_error_bound(landscape, w_star, exact, g_star, hessian_norm)
    norm = float(np.linalg.norm(g_star))
    if norm <= bound:
        return []
    return [
        f"‖∇F(w*)‖ = {norm:.3g} exceeds its error bound {bound:.3g} ({_bound_kind(exact)}): w* is not "
        "stationary to working precision; is --minimum really a minimum?"
    ]
