"""Curvature of a landscape from ∇F and Hessian-vector products only, in O(N) memory.

The Hessian ∇²F(w) is never formed: it is a :class:`HessianOperator` (a scipy
``LinearOperator``) whose products are the landscape's own HVPs where it supplies them
exactly, and central differences of ∇F otherwise.  Every figure computed on it comes as a
:class:`Figure`, a value with a deterministic error bound and, for sampled figures, a
standard error:

* λ_min, λ_max by Lanczos (``scipy.sparse.linalg.eigsh``), each with its residual
  ‖Hx − θx‖: for a symmetric H some eigenvalue lies within the residual of the Ritz value θ
  (:func:`extreme_eigenvalues`);
* Q[v] = vᵀ∇²F v / ‖v‖² (eq5) of any direction, with the operator's error along v
  (:func:`q_figure`); Q[∇F] adds the error of ∇F itself;
* the Newton step s = −(∇²F)⁻¹∇F by MINRES (indefinite-safe), its relative residual
  ‖Hs + ∇F‖/‖∇F‖, and Q[s] with the residual propagated into a bound (:func:`newton_step`);
* Tr(∇²F)/N by Hutchinson's estimator with Rademacher probes, deflated by a sketched basis
  whose part of the trace is taken exactly (Hutch++), probes added in blocks until every
  comparison it feeds is decided at :data:`CONFIDENCE_Z` standard errors (and a requested
  relative precision is reached), or a probe cap is reached (:func:`trace_over_n_adaptive`).

Rounding bounds use the landscape's own machine epsilon, ``getattr(landscape, "eps", EPS)``,
so a landscape computing in float32 gets float32 bounds.  :func:`matrix_free_curvature`
composes the pieces into one :class:`MatrixFreeCurvature`.  Nothing here allocates more than
a few blocks of N-vectors.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse.linalg as spla

from plasticity.numerics.landscapes import EPS, Landscape, check_point

__all__ = [
    "CONFIDENCE_Z",
    "HVP_ROUNDING",
    "Figure",
    "HessianOperator",
    "LanczosExtremes",
    "NewtonStep",
    "TraceEstimate",
    "MatrixFreeCurvature",
    "rounding_eps",
    "supplied_derivatives",
    "gradient_error_bound",
    "extreme_eigenvalues",
    "hessian_norm",
    "q_figure",
    "newton_step",
    "sketch_basis",
    "trace_over_n_adaptive",
    "matrix_free_curvature",
]

#: z-score of every decision taken on a sampled figure: a two-sided normal tail of 5.7e-7 per
#: comparison, so even a few dozen sequential looks (one per probe block) keep the chance of
#: a wrong decision below 1e-4 (union bound); the convention of the claim checks' Z_MC
CONFIDENCE_Z = 5.0
#: an exactly computed gradient or HVP is taken to be accurate to HVP_ROUNDING·eps relative to
#: its scale: the few dozen floating-point operations per entry of a typical evaluation
HVP_ROUNDING = 64
#: floats per block of probe vectors (32 MiB in float64): bounds the memory of Hutchinson
#: blocks and batched products to O(N) with a fixed constant
BLOCK_ELEMENTS = 2**22
#: floats of the trace's sketch basis (N×k, 128 MiB in float64): k ≤ SKETCH_ELEMENTS/N keeps
#: it O(N) with a fixed constant
SKETCH_ELEMENTS = 2**24
#: directions of the trace's sketch (Hutch++), memory permitting: the Hessians of trained
#: networks have a few dozen outlying eigenvalues that dominate Tr and Hutchinson's variance
TRACE_SKETCH = 64
#: MINRES iterations for the Newton step where ∇²F is not definite beyond its eigenvalue bounds:
#: there no residual bounds Q[s] (its error is unbounded whatever the iteration count), so
#: iterating to the full cap only spends products
INDEFINITE_MINRES_ITERATIONS = 50


@dataclass(frozen=True)
class Figure:
    """A measured number: ``value`` within ``bound`` (a deterministic error bound, ``inf`` when
    none can be stated) plus ``stderr`` (a standard error, 0 for unsampled figures)."""

    value: float
    bound: float
    stderr: float = 0.0
    how: str = ""

    def halfwidth(self, z: float = CONFIDENCE_Z) -> float:
        """Half-width of the interval at ``z`` standard errors: bound + z·stderr."""
        return self.bound + z * self.stderr

    def interval(self, z: float = CONFIDENCE_Z) -> tuple[float, float]:
        """(value − halfwidth, value + halfwidth)."""
        h = self.halfwidth(z)
        return self.value - h, self.value + h

    def as_dict(self) -> dict[str, float | str]:
        """The figure as JSON-ready numbers (an unbounded error is ``inf``, written as null)."""
        return {"value": self.value, "bound": self.bound, "stderr": self.stderr, "how": self.how}


def rounding_eps(landscape: Landscape) -> float:
    """The machine epsilon of the landscape's arithmetic (``landscape.eps``, float64's if absent)."""
    eps = float(getattr(landscape, "eps", EPS))
    if not (math.isfinite(eps) and 0 < eps < 1):
        raise ValueError(f"landscape.eps must be a machine epsilon in (0, 1); got {eps!r}")
    return eps


def supplied_derivatives(landscape: Landscape) -> tuple[bool, bool]:
    """(gradient exact, HVP exact) for ``landscape``: a :class:`FunctionLandscape` says which
    it was given (``has_grad``, ``has_hessian``); every other landscape computes both exactly."""
    return bool(getattr(landscape, "has_grad", True)), bool(getattr(landscape, "has_hessian", True))


def gradient_error_bound(
    landscape: Landscape, w: np.ndarray, g: np.ndarray, hessian_norm: float, *, grad_exact: bool
) -> float:
    """An upper bound on the absolute error ‖δ∇F‖ of one evaluation ``g`` of ∇F at ``w``.

    * Rounding, for every gradient: HVP_ROUNDING·eps·(‖∇F‖ + ‖∇²F‖·max(1, ‖w‖)), eps the
      landscape's (:func:`rounding_eps`).  The second term is how much ∇F changes when w moves
      by a relative eps -- the rounding of w itself, and the backward error of an evaluation
      of ∇F, which computes the gradient at a point within a few eps of w; the first is the
      rounding of the result.
    * For a finite-difference gradient (``grad_exact`` False), add its error estimate
      ``fd_error_estimate`` (truncation from Richardson's |D(h) − D(2h)|/3, plus rounding
      eps·|F|/h per coordinate; :class:`plasticity.numerics.landscapes.FunctionLandscape`).

    ``hessian_norm`` is ‖∇²F(w)‖₂.  A gradient whose norm is within this bound has no
    direction distinguishable from rounding or truncation noise: the point is stationary to
    working precision.
    """
    w = check_point(w, landscape.n)
    eps = rounding_eps(landscape)
    bound = (
        HVP_ROUNDING * eps * (float(np.linalg.norm(g)) + hessian_norm * max(1.0, float(np.linalg.norm(w))))
    )
    if not grad_exact and hasattr(landscape, "fd_error_estimate"):
        bound += float(np.linalg.norm(landscape.fd_error_estimate(w)))
    return bound


# --------------------------------------------------------------------------- the operator


class HessianOperator(spla.LinearOperator):
    """∇²F(w) as a symmetric scipy ``LinearOperator``, from HVPs only.

    ``hvp_exact`` (default: what the landscape supplies, :func:`supplied_derivatives`) uses the
    landscape's ``hvp``; otherwise products are central differences of ∇F along v̂,
    ``(∇F(w + h v̂) − ∇F(w − h v̂))/(2h)·‖v‖``, with h = eps^(1/3)·max(1, ‖w‖) for an exact
    gradient (truncation h² against rounding eps/h) and eps^(2/9)·max(1, ‖w‖) for a
    finite-difference one (against its own error ~eps^(2/3)).  Neither route forms an N×N
    array.  :meth:`quad_error` states the error of a Rayleigh quotient computed with it;
    ``products`` counts the HVPs taken.
    """

    def __init__(
        self,
        landscape: Landscape,
        w: np.ndarray,
        *,
        hvp_exact: bool | None = None,
        grad_exact: bool | None = None,
    ) -> None:
        n = landscape.n
        super().__init__(dtype=np.dtype(np.float64), shape=(n, n))
        self.landscape = landscape
        self.w = check_point(w, n)
        has_grad, has_hvp = supplied_derivatives(landscape)
        self.hvp_exact = has_hvp if hvp_exact is None else bool(hvp_exact)
        self.grad_exact = has_grad if grad_exact is None else bool(grad_exact)
        self.eps = rounding_eps(landscape)
        power = 1 / 3 if self.grad_exact else 2 / 9
        self.step = self.eps**power * max(1.0, float(np.linalg.norm(self.w)))
        #: HVPs taken so far (each direction of a block counts once; differences take two ∇F)
        self.n_products = 0
        #: ‖∇²F‖₂ (set once known, e.g. from :func:`extreme_eigenvalues`): scales rounding bounds
        self.hessian_norm = math.nan
        #: error bound of one evaluation of ∇F (set once known): the noise of a difference of ∇F
        self.grad_error = 0.0

    # ----- products
    def hvp_rows(self, rows: np.ndarray) -> np.ndarray:
        """∇²F·v for each row v of ``rows`` (k, n) -> (k, n)."""
        return self._products(np.asarray(rows, dtype=np.float64).reshape(-1, self.shape[0]))

    def _matvec(self, v: np.ndarray) -> np.ndarray:
        return self._products(np.asarray(v, dtype=np.float64).reshape(1, -1))[0]

    def _rmatvec(self, v: np.ndarray) -> np.ndarray:
        return self._matvec(v)

    def _matmat(self, V: np.ndarray) -> np.ndarray:
        return self._products(np.asarray(V, dtype=np.float64).T).T

    def _adjoint(self) -> HessianOperator:
        return self

    def _products(self, rows: np.ndarray, factor: float = 1.0) -> np.ndarray:
        """∇²F·v for each row v of ``rows`` (k, n), in blocks of BLOCK_ELEMENTS floats."""
        k, n = rows.shape
        out = np.empty((k, n))
        per = max(1, BLOCK_ELEMENTS // max(n, 1) // (1 if self.hvp_exact else 2))
        for start in range(0, k, per):
            block = rows[start : start + per]
            if self.hvp_exact and factor == 1.0:
                res = np.asarray(self.landscape.hvp(self.w, block), dtype=np.float64).reshape(block.shape)
            else:
                res = self._difference(block, factor * self.step)
            if not np.all(np.isfinite(res)):
                raise ValueError("Hessian-vector products returned NaN or inf")
            out[start : start + per] = res
        self.n_products += k
        return out

    def _difference(self, V: np.ndarray, h: float) -> np.ndarray:
        """Central differences of ∇F along each row's direction, scaled by its norm."""
        norms = np.linalg.norm(V, axis=1)
        safe = np.where(norms > 0, norms, 1.0)
        U = V / safe[:, None]
        G = np.asarray(self.landscape.grad_batch(np.concatenate([self.w + h * U, self.w - h * U])))
        k = V.shape[0]
        return (G[:k] - G[k:]) / (2 * h) * norms[:, None]

    # ----- errors
    def rounding_bound(self) -> float:
        """Error of an exact HVP of a unit vector: HVP_ROUNDING·eps·‖∇²F‖ (needs hessian_norm)."""
        if not math.isfinite(self.hessian_norm):
            raise ValueError("the Hessian's norm is not known yet: run extreme_eigenvalues first")
        return HVP_ROUNDING * self.eps * self.hessian_norm

    def difference_error(self, u: np.ndarray, Hu: np.ndarray | None = None) -> np.ndarray:
        """Estimated error vector bound of the central-difference product along the unit vector
        ``u``, per entry: Richardson |D(h)u − D(2h)u|/3 (truncation ∝ h²) -- 0 for exact HVPs."""
        if self.hvp_exact:
            return np.zeros(self.shape[0])
        u = np.asarray(u, dtype=np.float64).reshape(1, -1)
        d1 = self._products(u)[0] if Hu is None else np.asarray(Hu, dtype=np.float64)
        d2 = self._products(u, factor=2.0)[0]
        return np.abs(d1 - d2) / 3

    def product_error(self, v: np.ndarray, Hv: np.ndarray | None = None) -> float:
        """A bound (FD: an estimate) on ‖(computed − true) ∇²F·v̂‖ for the unit vector v̂ = v/‖v‖:
        rounding of an exact HVP, or for differences of ∇F the Richardson truncation estimate,
        the noise of two gradient evaluations δ∇F/h, and rounding."""
        v = np.asarray(v, dtype=np.float64)
        norm = float(np.linalg.norm(v))
        if norm == 0:
            raise ValueError("the error along a zero vector is undefined")
        err = self.rounding_bound()
        if not self.hvp_exact:
            hv = None if Hv is None else np.asarray(Hv) / norm
            err += float(np.linalg.norm(self.difference_error(v / norm, hv))) + self.grad_error / self.step
        return err

    def quad_error(self, v: np.ndarray, Hv: np.ndarray | None = None) -> float:
        """A bound (FD: an estimate) on the error of the Rayleigh quotient vᵀ(∇²F)v/‖v‖² computed
        with this operator: ≤ ‖error of ∇²F·v̂‖ (Cauchy–Schwarz), see :meth:`product_error`."""
        return self.product_error(v, Hv)

    def describe(self) -> str:
        """How the products are computed, in words."""
        if self.hvp_exact:
            return "exact HVPs supplied by the landscape"
        grad = "an exact gradient" if self.grad_exact else "a finite-difference gradient"
        return f"central differences of {grad} (step {self.step:.2g})"


# --------------------------------------------------------------------------- extreme eigenvalues


@dataclass(frozen=True)
class LanczosExtremes:
    """λ_min and λ_max of ∇²F with their bounds (residual + operator error) and Ritz vectors."""

    min: Figure
    max: Figure
    residual_min: float
    residual_max: float
    x_min: np.ndarray = field(repr=False)
    x_max: np.ndarray = field(repr=False)
    converged: bool

    @property
    def norm(self) -> float:
        """An upper estimate of ‖∇²F‖₂: the larger |end of the spectrum| plus its bound."""
        return max(abs(self.min.value) + self.min.bound, abs(self.max.value) + self.max.bound)


def _ritz(
    op: spla.LinearOperator, which: str, tol: float, v0: np.ndarray, maxiter: int
) -> tuple[float, np.ndarray, bool]:
    try:
        vals, vecs = spla.eigsh(op, k=1, which=which, tol=tol, v0=v0, maxiter=maxiter)
        return float(vals[0]), vecs[:, 0], True
    except spla.ArpackNoConvergence as exc:  # keep the best Ritz pair: its residual says how good
        if len(exc.eigenvalues):
            return float(exc.eigenvalues[0]), exc.eigenvectors[:, 0], False
        raise ValueError(f"Lanczos found no Ritz value within {maxiter} restarts; raise maxiter") from None


class _Shifted(spla.LinearOperator):
    """H − σI, for Lanczos on the far end of the spectrum at a tolerance relative to ‖H‖."""

    def __init__(self, op: spla.LinearOperator, sigma: float) -> None:
        super().__init__(dtype=np.dtype(np.float64), shape=op.shape)
        self.op, self.sigma = op, sigma

    def _matvec(self, v: np.ndarray) -> np.ndarray:
        return self.op.matvec(v).reshape(-1) - self.sigma * np.asarray(v).reshape(-1)

    def _matmat(self, V: np.ndarray) -> np.ndarray:
        return self.op.matmat(V) - self.sigma * V

    def _adjoint(self) -> _Shifted:
        return self


def _residual(op: spla.LinearOperator, theta: float, x: np.ndarray) -> tuple[float, np.ndarray]:
    x = x / np.linalg.norm(x)
    Hx = op.matvec(x).reshape(-1)
    return float(np.linalg.norm(Hx - theta * x)), Hx


def extreme_eigenvalues(
    op: HessianOperator,
    *,
    tol: float = 1e-6,
    maxiter: int = 200,
    rng: np.random.Generator | None = None,
) -> LanczosExtremes:
    """λ_min and λ_max of the operator by Lanczos, each with a bound.

    The eigenvalue of largest magnitude θ₁ comes first (``eigsh`` "LM"); the other end is the
    largest-magnitude eigenvalue of H − θ₁I, so both runs stop at a residual of about
    ``tol``·‖H‖, never at a tolerance relative to an end of the spectrum that may be ~0.
    The bound of each is its residual r = ‖Hx − θx‖ (for a symmetric H, some eigenvalue lies
    within r of θ) plus the operator's error along x.  Lanczos from a random start vector
    finds the extreme eigenvalue with probability 1, which a residual alone cannot certify.
    Sets ``op.hessian_norm``.  For N ≤ 2 (below ARPACK's minimum) the 2×2 matrix is assembled
    from its two HVPs.
    """
    n = op.shape[0]
    gen = np.random.default_rng(0) if rng is None else rng
    if n <= 2:
        M = op.matmat(np.eye(n))
        lam, vecs = np.linalg.eigh(0.5 * (M + M.T))
        pairs = [(float(lam[0]), vecs[:, 0], True), (float(lam[-1]), vecs[:, -1], True)]
    else:
        v0 = gen.standard_normal(n)
        t1, x1, c1 = _ritz(op, "LM", tol, v0, maxiter)
        mu, x2, c2 = _ritz(_Shifted(op, t1), "LM", tol, v0, maxiter)
        t2 = t1 + mu
        pairs = sorted([(t1, x1, c1), (t2, x2, c2)], key=lambda p: p[0])
    (lo, x_lo, c_lo), (hi, x_hi, c_hi) = pairs
    r_lo, Hx_lo = _residual(op, lo, x_lo)
    r_hi, Hx_hi = _residual(op, hi, x_hi)
    op.hessian_norm = max(abs(lo), abs(hi)) + max(r_lo, r_hi)
    x_lo, x_hi = x_lo / np.linalg.norm(x_lo), x_hi / np.linalg.norm(x_hi)
    e_lo = r_lo + op.product_error(x_lo, Hx_lo)
    e_hi = r_hi + op.product_error(x_hi, Hx_hi)
    how = "Lanczos (eigsh), bound = residual ‖Hx − θx‖ + product error"
    return LanczosExtremes(
        Figure(lo, e_lo, 0.0, how), Figure(hi, e_hi, 0.0, how), r_lo, r_hi, x_lo, x_hi, c_lo and c_hi
    )


def hessian_norm(
    landscape: Landscape,
    w: np.ndarray,
    *,
    tol: float = 1e-3,
    rng: np.random.Generator | None = None,
    hvp_exact: bool | None = None,
    grad_exact: bool | None = None,
) -> float:
    """An upper estimate of ‖∇²F(w)‖₂ from Lanczos on HVPs (:class:`HessianOperator`): |θ| +
    residual of the largest-magnitude Ritz value (a few dozen products at a loose ``tol``)."""
    op = HessianOperator(landscape, w, hvp_exact=hvp_exact, grad_exact=grad_exact)
    n = op.shape[0]
    if n <= 2:
        return extreme_eigenvalues(op, rng=rng).norm
    gen = np.random.default_rng(0) if rng is None else rng
    theta, x, _ = _ritz(op, "LM", tol, gen.standard_normal(n), 100)
    r, _ = _residual(op, theta, x)
    return abs(theta) + r


# --------------------------------------------------------------------------- Q of directions


def q_figure(
    op: HessianOperator,
    v: np.ndarray,
    *,
    Hv: np.ndarray | None = None,
    direction_error: float = 0.0,
    how: str = "",
) -> Figure:
    """Q[v] = vᵀ∇²F v / ‖v‖² (eq5, through ``curvature.Q_from_products``) with its bound: the
    operator's error along v̂ (:meth:`HessianOperator.quad_error`) plus 2‖H‖·``direction_error``,
    where ``direction_error`` bounds ‖v̂ − v̂_true‖ when v itself is inexact
    (|Q[a] − Q[b]| = |(â − b̂)ᵀH(â + b̂)| ≤ 2‖H‖‖â − b̂‖)."""
    from plasticity.numerics.curvature import Q_from_products

    v = np.asarray(v, dtype=np.float64)
    norm = float(np.linalg.norm(v))
    Hv = op.matvec(v).reshape(-1) if Hv is None else np.asarray(Hv, dtype=np.float64)
    q = float(Q_from_products(float(v @ Hv), norm))
    bound = op.quad_error(v, Hv) + 2 * op.hessian_norm * direction_error
    return Figure(q, bound, 0.0, how)


@dataclass(frozen=True)
class NewtonStep:
    """The Newton step s ≈ −(∇²F)⁻¹∇F from MINRES, its relative residual ‖Hs + ∇F‖/‖∇F‖,
    and Q[s] with a bound (``inf`` with the reason in ``note`` when none can be stated)."""

    step: np.ndarray = field(repr=False)
    relative_residual: float
    iterations: int
    converged: bool
    q: Figure
    note: str = ""


#: the name of MINRES's relative tolerance: ``tol`` up to scipy 1.11, ``rtol`` from 1.12 (where
#: ``tol`` became a deprecated alias, removed in 1.14); the test is the same
_MINRES_RTOL = "rtol" if "rtol" in inspect.signature(spla.minres).parameters else "tol"


def minres_solve(
    op: spla.LinearOperator,
    b: np.ndarray,
    *,
    rtol: float,
    maxiter: int,
    target: float | None = None,
    restarts: int = 3,
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """x ≈ A⁻¹b by MINRES on the symmetric (possibly indefinite) operator A; returns
    (x, A·x, iterations, converged).

    MINRES's own test is ‖r‖ ≤ rtol·(‖A‖‖x‖ + ‖b‖), which can be looser than rtol·‖b‖ by up
    to cond(A).  With ``target`` the explicit residual ‖A·x − b‖ (one more product) must reach
    it: MINRES restarts from its answer with rtol tightened by the shortfall, at most
    ``restarts`` times, and ``converged`` says whether it got there.
    """
    iterations = 0

    def count(_: np.ndarray) -> None:
        nonlocal iterations
        iterations += 1

    x: np.ndarray | None = None
    for _ in range(restarts + 1):
        x, info = spla.minres(op, b, x0=x, maxiter=maxiter, callback=count, **{_MINRES_RTOL: rtol})
        Ax = op.matvec(x).reshape(-1)
        if target is None:
            return x, Ax, iterations, info == 0
        residual = float(np.linalg.norm(Ax - b))
        if residual <= target:
            return x, Ax, iterations, True
        rtol *= max(target / residual, EPS) / 10
    return x, Ax, iterations, False


def newton_step(
    op: HessianOperator,
    g: np.ndarray,
    extremes: LanczosExtremes,
    *,
    grad_error: float = 0.0,
    rtol: float = 1e-10,
    maxiter: int = 500,
    indefinite_maxiter: int = INDEFINITE_MINRES_ITERATIONS,
) -> NewtonStep:
    """s = −(∇²F)⁻¹∇F by MINRES on the operator (symmetric, possibly indefinite), and Q[s].

    With the true residual r = Hs + ∇F (one more product), s − s* = H⁻¹(r + δ) where δ
    collects the gradient's error and the operator's error along s; so
    ‖s − s*‖ ≤ (‖r‖ + ‖δ‖)/σ with σ ≤ min|λ(H)|, and |Q[s] − Q[s*]| ≤ 2‖H‖·‖ŝ − ŝ*‖ ≤
    4‖H‖·(‖r‖ + ‖δ‖)/(σ‖s‖).  σ is known when H is definite beyond the eigenvalues' bounds
    (σ = λ_min − bound, or |λ_max| − bound); otherwise H may be singular, the residual does
    not bound Q[s], and its bound is ``inf`` with the reason.  σ is known before solving, so
    there MINRES stops after ``indefinite_maxiter`` iterations: no iteration count would give
    Q[s] a bound, and a nearly singular ∇²F (a trained network's, e.g. the cross-entropy's
    flat direction of the output biases) can need thousands of products to reach ``rtol``.
    """
    g = np.asarray(g, dtype=np.float64)
    g_norm = float(np.linalg.norm(g))
    if g_norm == 0:
        raise ValueError("the Newton step of a zero gradient is zero: Q[s] is undefined")
    lo, hi = extremes.min, extremes.max
    sigma = max(lo.value - lo.bound, -(hi.value + hi.bound), 0.0)
    cap = maxiter if sigma > 0 else min(maxiter, indefinite_maxiter)
    s, Hs, iterations, converged = minres_solve(op, -g, rtol=rtol, maxiter=cap)
    r = float(np.linalg.norm(Hs + g))
    s_norm = float(np.linalg.norm(s))
    if s_norm == 0:
        raise ValueError("MINRES returned a zero Newton step")
    note = ""
    if sigma > 0:
        delta = grad_error + op.product_error(s, Hs) * s_norm
        bound = 4 * op.hessian_norm * (r + delta) / (sigma * s_norm)
    else:
        bound = math.inf
        note = (
            "∇²F is not definite beyond its eigenvalue bounds (it may be singular), so the MINRES "
            "residual does not bound the error of Q[s]"
        )
        if not converged and cap < maxiter:
            note += f"; MINRES was stopped after {cap} iterations for that reason (Q[s] is undecided)"
    how = f"MINRES, {iterations} iterations, relative residual {r / g_norm:.2g}"
    q = q_figure(op, s, Hv=Hs, how=how)
    return NewtonStep(s, r / g_norm, iterations, converged, Figure(q.value, q.bound + bound, 0.0, how), note)


# --------------------------------------------------------------------------- Tr/N


@dataclass(frozen=True)
class TraceEstimate:
    """Tr(∇²F)/N by Hutchinson: ``figure`` (value, bias bound, standard error), probes used, and
    whether every comparison it was asked to decide was decided; ``sketch`` is the number of
    directions whose part of the trace was taken exactly (0: plain Hutchinson), ``precise``
    whether a requested relative precision was reached."""

    figure: Figure
    probes: int
    decided: bool
    undecided: tuple[float, ...]  # the boundaries still within the interval
    sketch: int = 0
    precise: bool = True


def _decided(mean: float, half: float, boundaries: Sequence[tuple[float, float]]) -> list[float]:
    return [b for b, extra in boundaries if abs(mean - b) <= half + extra]


def _rademacher(gen: np.random.Generator, k: int, n: int) -> np.ndarray:
    return gen.choice(np.array([-1.0, 1.0]), size=(k, n))


def sketch_basis(op: HessianOperator, k: int, rng: np.random.Generator) -> np.ndarray:
    """Q (N, k), an orthonormal basis of the range of ∇²F·S for k Rademacher directions S: the
    sketch of Hutch++ (Meyer, Musco, Musco & Woodruff 2021), which captures the largest
    |eigenvalues| of ∇²F.  k HVPs; Q is drawn independently of any later probe."""
    n = op.shape[0]
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k < n:
        raise ValueError(f"the sketch size must be an integer in [1, N); got {k!r}")
    HS = op.hvp_rows(_rademacher(rng, int(k), n))
    Q, _ = np.linalg.qr(HS.T)
    return Q


def trace_over_n_adaptive(
    op: HessianOperator,
    *,
    boundaries: Sequence[tuple[float, float]] = ((0.0, 0.0),),
    z: float = CONFIDENCE_Z,
    block: int = 32,
    max_probes: int = 1024,
    rel_stderr: float | None = None,
    rel_error: float | None = None,
    rng: np.random.Generator | None = None,
    exact: bool | None = None,
    sketch: int = 0,
    basis: np.ndarray | None = None,
) -> TraceEstimate:
    """Tr(∇²F)/N by Hutchinson's estimator (Rademacher probes, :func:`curvature.hutchinson_samples`),
    deflated by a basis Q whose part of the trace is taken exactly, adding ``block`` probes at
    a time until it is decided on which side of every boundary it lies.

    **Deflation.**  With orthonormal Q (N, k) and P = I − QQᵀ,
    Tr ∇²F = Tr(Qᵀ∇²F Q) + Tr(P∇²F P): the first term from k HVPs, the second by Hutchinson on
    P∇²F P (probe z, one HVP of Pz).  For Q fixed before the probes are drawn this is unbiased
    for any Q, and its standard error (sample s.d. of the probes/√probes) is that of the
    deflated operator, Var = 2(‖P∇²F P‖_F² − Σ (P∇²F P)ᵢᵢ²), far below plain Hutchinson's when
    Q holds the eigenvalues that dominate ‖∇²F‖_F (on a diagonal ∇²F, where plain probes are
    exact, PHP is not diagonal and the deflated probes vary).  ``basis`` gives Q; ``sketch`` = k > 0 draws
    it by :func:`sketch_basis` (Hutch++: k + k HVPs), at most SKETCH_ELEMENTS/N and N/4 directions.

    ``boundaries`` are pairs (b, e): the comparison of Tr/N with a number b known to within e.
    It is decided when |mean − b| > z·stderr + bias + e, where bias bounds the operator's
    error on the trace (rounding; for differences of ∇F, the Richardson estimate on probes).
    Sampling stops when every comparison is decided and the requested precision is reached --
    ``rel_stderr``: stderr ≤ that fraction of |mean|; ``rel_error``: the printed half-width
    bias + z·stderr ≤ that fraction of |mean| -- or at ``max_probes``: the undecided
    boundaries are then returned, "undecided at this precision", and ``precise`` is False if
    the precision was not reached.  z is a normal quantile, so decisions assume the mean of
    ≥ ``block`` probes is near normal.

    When N ≤ ``max_probes`` (or with ``exact`` True; False forces sampling) the trace is
    cheaper exactly: Σ eᵢᵀ∇²F eᵢ over the N basis
    vectors (N products, in chunks), with no standard error and every comparison decided
    beyond the operator's error.
    """
    from plasticity.numerics.curvature import diagonal_from_products, hutchinson_samples

    if isinstance(block, bool) or not isinstance(block, int | np.integer) or block < 2:
        raise ValueError(f"block must be an integer ≥ 2 (a standard error needs two probes); got {block!r}")
    if isinstance(max_probes, bool) or not isinstance(max_probes, int | np.integer) or max_probes < block:
        raise ValueError(f"max_probes must be an integer ≥ block ({block}); got {max_probes!r}")
    for name, rel in (("rel_stderr", rel_stderr), ("rel_error", rel_error)):
        if rel is not None and not (isinstance(rel, float | int) and math.isfinite(rel) and rel > 0):
            raise ValueError(f"{name} must be a positive number; got {rel!r}")
    n = op.shape[0]
    gen = np.random.default_rng(0) if rng is None else rng
    bias = op.rounding_bound()
    if (n <= max_probes) if exact is None else exact:
        chunk = max(1, min(256, BLOCK_ELEMENTS // n))
        diag = diagonal_from_products(op.hvp_rows, n, chunk)
        if not op.hvp_exact:
            # Richardson over the whole diagonal (N more products at step 2h): the truncation of
            # the mean, plus the noise of two gradient evaluations per entry
            diag2 = diagonal_from_products(lambda E: op._products(E, factor=2.0), n, chunk)
            bias += float(np.mean(np.abs(diag - diag2))) / 3 + op.grad_error / op.step
        value = float(np.sum(diag) / n)
        open_ = _decided(value, bias, boundaries)
        how = f"exact: Σ of the {n} diagonal entries eᵢᵀ∇²F eᵢ from HVPs (N ≤ max_probes)"
        return TraceEstimate(Figure(value, bias, 0.0, how), n, not open_, tuple(open_))
    if basis is None and sketch:
        # at most N/4 directions: a sketch near N costs 2N products, more than the exact diagonal
        basis = sketch_basis(op, max(1, min(int(sketch), SKETCH_ELEMENTS // n, n // 4)), gen)
    exact_part, k = 0.0, 0
    products: Callable[[np.ndarray], np.ndarray] = op.hvp_rows
    if basis is not None:
        Q = np.asarray(basis, dtype=np.float64)
        if Q.ndim != 2 or Q.shape[0] != n or not 1 <= Q.shape[1] < n:
            raise ValueError(f"basis must be an (N, k) array with 1 ≤ k < N = {n}; got shape {Q.shape}")
        k = Q.shape[1]
        HQ = op.hvp_rows(Q.T)
        # Tr(QᵀHQ)/N; each unit column's product errs by ≤ the operator's error on a unit vector
        exact_part = float(np.einsum("ki,ik->", HQ, Q)) / n
        bias += k * op.rounding_bound() / n

        def project(Z: np.ndarray) -> np.ndarray:
            return Z - (Z @ Q) @ Q.T

        def products(Z: np.ndarray) -> np.ndarray:  # P∇²F P z: zᵀ(P∇²F P)z = (Pz)ᵀ∇²F(Pz)
            return project(op.hvp_rows(project(Z)))

        if not op.hvp_exact:
            bias += (
                k
                / n
                * max(
                    float(np.linalg.norm(op.difference_error(Q[:, i], HQ[i]))) + op.grad_error / op.step
                    for i in range(min(4, k))
                )
            )
    samples = np.empty(0)
    while True:
        m = min(block, max_probes - samples.size)
        samples = np.concatenate([samples, hutchinson_samples(products, n, m, gen)])
        if samples.size == m and not op.hvp_exact:
            # Richardson on a few probes: the truncation of the differences, averaged over
            # Rademacher directions, bounds its contribution to Tr/N; plus gradient noise δ/h
            # (per probe the error is ẑᵀ·err(ẑ) for ẑ = z/√N, at most |ẑ|ᵀ|err(ẑ)|)
            Z = _rademacher(gen, min(4, m), n) / math.sqrt(n)
            bias += max(float(np.abs(u) @ op.difference_error(u)) for u in Z) + op.grad_error / op.step
        mean = exact_part + float(np.mean(samples))
        stderr = float(np.std(samples, ddof=1) / np.sqrt(samples.size))
        open_ = _decided(mean, z * stderr + bias, boundaries)
        precise = (rel_stderr is None or stderr <= rel_stderr * abs(mean)) and (
            rel_error is None or bias + z * stderr <= rel_error * abs(mean)
        )
        if (not open_ and precise) or samples.size >= max_probes:
            break
    how = f"Hutchinson, {samples.size} Rademacher probes"
    if k:
        how += f", deflated by {k} sketched directions (Hutch++)"
    return TraceEstimate(
        Figure(mean, bias, stderr, how), int(samples.size), not open_, tuple(open_), k, precise
    )


# --------------------------------------------------------------------------- the whole point


@dataclass
class MatrixFreeCurvature:
    """Every curvature figure of a landscape at one point, matrix-free, each with its error.

    ``q_gradient`` / ``q_newton`` are None at a stationary point (‖∇F‖ ≤ its error bound:
    ∇F has no direction), ``q_beeline`` without a known minimum.  ``products`` counts HVPs.
    """

    n: int
    loss: float
    grad: np.ndarray = field(repr=False)
    grad_norm: float
    grad_error: float
    stationary: bool
    extremes: LanczosExtremes
    trace: TraceEstimate
    q_gradient: Figure | None
    newton: NewtonStep | None
    q_beeline: Figure | None
    operator: str
    products: int
    notes: list[str] = field(default_factory=list)

    @property
    def lambda_min(self) -> Figure:
        return self.extremes.min

    @property
    def lambda_max(self) -> Figure:
        return self.extremes.max

    @property
    def trace_over_n(self) -> Figure:
        return self.trace.figure


def matrix_free_curvature(
    landscape: Landscape,
    w: np.ndarray,
    *,
    w_star: np.ndarray | None = None,
    grad_exact: bool | None = None,
    hvp_exact: bool | None = None,
    check: Callable[[HessianOperator, float, float, np.ndarray], None] | None = None,
    z: float = CONFIDENCE_Z,
    max_probes: int = 1024,
    rel_stderr: float | None = None,
    rel_error: float | None = None,
    sketch: int = TRACE_SKETCH,
    lanczos_tol: float = 1e-6,
    seed: int = 0,
) -> MatrixFreeCurvature:
    """F, ∇F, the extreme eigenvalues, Q[∇F], Q of the Newton step, Q[w* − w] and Tr/N at ``w``
    from HVPs only, with the error of each.

    Order: ∇F; Lanczos (which gives ‖∇²F‖ for the rounding bounds); the gradient's error bound
    (:func:`gradient_error_bound`); ``check(op, ‖∇²F‖, δ∇F, ∇F)``, a hook for consistency
    checks that may raise; Q[∇F] (its bound includes the gradient's direction error
    2δ∇F/‖∇F‖), the Newton step, the beeline; finally Tr/N, deflated by a ``sketch`` of that
    many directions (Hutch++; 0 for plain Hutchinson) and sampled until its comparison with 0
    and with each Q above is decided and, with ``rel_stderr`` / ``rel_error``, precise to that
    fraction (:func:`trace_over_n_adaptive`).
    """
    n = landscape.n
    w = check_point(w, n)
    rng = np.random.default_rng(seed)
    op = HessianOperator(landscape, w, hvp_exact=hvp_exact, grad_exact=grad_exact)
    loss = float(landscape.loss(w))
    g = np.asarray(landscape.grad(w), dtype=np.float64)
    ext = extreme_eigenvalues(op, tol=lanczos_tol, rng=rng)
    dg = gradient_error_bound(landscape, w, g, op.hessian_norm, grad_exact=op.grad_exact)
    op.grad_error = dg
    if check is not None:
        check(op, op.hessian_norm, dg, g)
    # the operator's errors are known only now (grad_error enters the difference noise)
    ext = LanczosExtremes(
        Figure(ext.min.value, ext.residual_min + op.product_error(ext.x_min), 0.0, ext.min.how),
        Figure(ext.max.value, ext.residual_max + op.product_error(ext.x_max), 0.0, ext.max.how),
        ext.residual_min,
        ext.residual_max,
        ext.x_min,
        ext.x_max,
        ext.converged,
    )
    g_norm = float(np.linalg.norm(g))
    stationary = g_norm <= dg
    notes: list[str] = []
    q_g: Figure | None = None
    newton: NewtonStep | None = None
    if not stationary:
        # ‖ĝ − ĝ_true‖ ≤ 2δ∇F/‖∇F‖ (normalising a vector known to within δ)
        q_g = q_figure(op, g, direction_error=2 * dg / g_norm, how="Q[∇F] from one HVP")
        newton = newton_step(op, g, ext, grad_error=dg)
        if newton.note:
            notes.append(f"Newton step: {newton.note}")
    q_b: Figure | None = None
    if w_star is not None:
        d = check_point(w_star, n, "w_star") - w
        if np.any(d):
            q_b = q_figure(op, d, how="Q[w* − w] from one HVP")
    boundaries: list[tuple[float, float]] = [(0.0, 0.0)]
    for fig in (q_g, None if newton is None else newton.q, q_b):
        if fig is not None and math.isfinite(fig.bound):
            boundaries.append((fig.value, fig.bound))
    trace = trace_over_n_adaptive(
        op,
        boundaries=boundaries,
        z=z,
        max_probes=max_probes,
        rel_stderr=rel_stderr,
        rel_error=rel_error,
        sketch=sketch,
        rng=rng,
    )
    return MatrixFreeCurvature(
        n=n,
        loss=loss,
        grad=g,
        grad_norm=g_norm,
        grad_error=dg,
        stationary=stationary,
        extremes=ext,
        trace=trace,
        q_gradient=q_g,
        newton=newton,
        q_beeline=q_b,
        operator=op.describe(),
        products=op.n_products,
        notes=notes,
    )
