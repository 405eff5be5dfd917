"""Whether a landscape is usable at a point, and how precise its gradient is there.

Before anything is computed at the point, :func:`check_at_point` makes sure the landscape is
usable there: F, ∇F and ∇²F finite and of the right shape, a supplied gradient consistent
with finite differences of F, a supplied Hessian consistent with finite differences of the
gradient, and F twice differentiable at the point (one-sided differences of the gradient
converging).  Each failure is a ``ValueError`` naming the problem.
:func:`check_matrix_free` makes the same checks from HVPs only (a supplied HVP against
central differences of ∇F along random directions), so nothing of size N² is built.
:func:`gradient_error_bound` bounds the error of one evaluation of ∇F: a gradient within it
has no direction distinguishable from noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from plasticity.checks.landscape.spec import UserLandscape
from plasticity.numerics import matfree
from plasticity.numerics.landscapes import Landscape, check_point

__all__ = ["MAX_DENSE_N", "PointCheck", "check_at_point", "check_matrix_free", "gradient_error_bound"]

#: largest N for which the report builds the dense Hessian (N² memory, N³ eigenvalues)
MAX_DENSE_N = 3000


@dataclass(frozen=True)
class PointCheck:
    """What :func:`check_at_point` measured: F, ∇F, ∇²F at w, the error bound of ∇F
    (:func:`gradient_error_bound`) and the consistency margins."""

    loss: float
    grad: np.ndarray
    hessian: np.ndarray
    grad_error: float
    details: tuple[str, ...]


def _unit_directions(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    U = rng.standard_normal((k, n))
    return U / np.linalg.norm(U, axis=1, keepdims=True)


def check_at_point(
    user: UserLandscape | Landscape, w: np.ndarray, *, seed: int = 0, n_directions: int = 3
) -> PointCheck:
    """Make sure F is usable at ``w``; raise ``ValueError`` naming the problem otherwise.

    Checks, in order: F, ∇F, ∇²F finite and correctly shaped (the landscape classes check
    each call); a supplied gradient against central differences of F; twice
    differentiability (forward and backward differences of ∇F must agree to O(h): at a kink
    they differ by a jump that does not shrink with h); a supplied Hessian against central
    differences of ∇F, within the finite-difference error bound.  Directions are random
    (seeded) unit vectors.
    """
    landscape = user.landscape if isinstance(user, UserLandscape) else user
    exact = user.exact if isinstance(user, UserLandscape) else ("grad", "hessian")
    n = landscape.n
    w = check_point(w, n, "--at")
    if n > MAX_DENSE_N:
        raise ValueError(
            f"N={n} is above {MAX_DENSE_N}: the dense-Hessian report is not available at this size "
            "(the matrix-free report is: --matrix-free)"
        )
    F0 = landscape.loss(w)
    g0 = landscape.grad(w)
    H = landscape.hessian(w)
    h_scale = float(np.max(np.abs(np.linalg.eigvalsh(H))))
    dg = gradient_error_bound(landscape, w, exact, g0, h_scale)
    details = _point_checks(
        landscape,
        exact,
        w,
        F0,
        g0,
        lambda u: H @ u,
        dg,
        landscape.n * matfree.rounding_eps(landscape) * h_scale,
        seed,
        n_directions,
    )
    return PointCheck(F0, g0, H, dg, details)


def check_matrix_free(
    user: UserLandscape | Landscape,
    w: np.ndarray,
    hvp: Callable[[np.ndarray], np.ndarray],
    hessian_norm: float,
    grad_error: float,
    g0: np.ndarray,
    *,
    seed: int = 0,
    n_directions: int = 3,
) -> tuple[str, ...]:
    """The checks of :func:`check_at_point` from HVPs only: a supplied gradient against central
    differences of F, twice differentiability, and a supplied Hessian (its HVP ``hvp``) against
    central differences of ∇F along random unit directions.  ``hessian_norm`` is ‖∇²F‖₂ (from
    Lanczos) and ``grad_error`` the gradient's error bound.  Raises ``ValueError`` naming the
    problem; returns the measured margins."""
    landscape = user.landscape if isinstance(user, UserLandscape) else user
    exact = user.exact if isinstance(user, UserLandscape) else ("grad", "hessian")
    w = check_point(w, landscape.n, "--at")
    F0 = landscape.loss(w)
    floor = matfree.HVP_ROUNDING * matfree.rounding_eps(landscape) * hessian_norm
    return _point_checks(landscape, exact, w, F0, g0, hvp, grad_error, floor, seed, n_directions)


def _point_checks(
    landscape: Landscape,
    exact: tuple[str, ...],
    w: np.ndarray,
    F0: float,
    g0: np.ndarray,
    hvp: Callable[[np.ndarray], np.ndarray],
    dg: float,
    hvp_rounding: float,
    seed: int,
    n_directions: int,
) -> tuple[str, ...]:
    n = landscape.n
    details: list[str] = []
    rng = np.random.default_rng(seed)
    U = _unit_directions(n, min(n_directions, max(n, 1)) if n > 1 else 1, rng)
    w_scale = max(1.0, float(np.linalg.norm(w)))
    h = matfree.rounding_eps(landscape) ** (1 / 3) * w_scale  # truncation h² against rounding eps/h
    # A finite-difference gradient is itself smoothed over its own step (eps^(1/3) per
    # coordinate); kinks are only visible to steps well beyond that along every coordinate a
    # random unit direction touches (components ~1/√N), hence the factor 4√N.
    h_smooth = h if "grad" in exact else 4 * math.sqrt(n) * h

    for u in U:
        if "grad" in exact:
            _check_gradient(landscape, w, u, g0, F0, h, details)
        _check_twice_differentiable(landscape, w, u, g0, h_smooth, dg, details)
        if "hessian" in exact:
            _check_hessian(landscape, w, u, np.asarray(hvp(u)).reshape(-1), h, dg, hvp_rounding, details)
    return tuple(details)


def gradient_error_bound(
    landscape: Landscape, w: np.ndarray, exact: tuple[str, ...], g: np.ndarray, hessian_norm: float
) -> float:
    """An upper bound on the absolute error ‖δ∇F‖ of one evaluation ``g`` of ∇F at ``w``:
    :func:`plasticity.numerics.matfree.gradient_error_bound` with the gradient exact when
    ``"grad"`` is in ``exact`` (rounding, HVP_ROUNDING·eps·(‖∇F‖ + ‖∇²F‖·max(1, ‖w‖)) with the
    landscape's eps, plus the finite-difference error estimate otherwise).  ``hessian_norm``
    is ‖∇²F(w)‖₂.  A gradient whose norm is within this bound has no direction
    distinguishable from rounding or truncation noise: the point is stationary to working
    precision.
    """
    return matfree.gradient_error_bound(landscape, w, g, hessian_norm, grad_exact="grad" in exact)


def _check_gradient(
    landscape: Landscape,
    w: np.ndarray,
    u: np.ndarray,
    g0: np.ndarray,
    F0: float,
    h: float,
    details: list[str],
) -> None:
    def central(step: float) -> float:
        return (landscape.loss(w + step * u) - landscape.loss(w - step * u)) / (2 * step)

    d1, d2 = central(h), central(2 * h)
    # Richardson: the truncation error of d1 is ≈ |d1 − d2|/3; rounding of the F difference
    # is ~eps·|F|/h (×4 for the F values involved).  A factor 10 on the sum leaves room for
    # the estimate being itself approximate, and an absolute floor for exactly-zero cases.
    eps = matfree.rounding_eps(landscape)  # the landscape's own arithmetic (float32 for a float32 model)
    bound = 10 * (abs(d1 - d2) / 3 + 4 * eps * (abs(F0) + 1e-300) / h) + 64 * eps * float(np.linalg.norm(g0))
    err = abs(float(g0 @ u) - d1)
    details.append(f"gradient vs F differences: |∇F·u − ΔF/Δw| = {err:.3g} (bound {bound:.3g})")
    if err > bound:
        raise ValueError(
            f"the supplied gradient is inconsistent with F at the point: along a unit direction ∇F·u = "
            f"{float(g0 @ u):.6g} but central differences of F give {d1:.6g} (allowed error {bound:.3g}); "
            f"check the gradient function (or F is not differentiable here)"
        )


def _check_twice_differentiable(
    landscape: Landscape,
    w: np.ndarray,
    u: np.ndarray,
    g0: np.ndarray,
    h: float,
    dg: float,
    details: list[str],
) -> None:
    """Finite differences of ∇F along u must converge as a smooth F's do.

    Two signatures of a kink, each tested at steps h, 2h, 4h:

    * a jump in ∇F (a kink in F, e.g. |x| at 0): central differences (∇F(w+hu)−∇F(w−hu))/2h
      grow like 1/h instead of converging; for a smooth F successive ones differ by O(h²),
      so the difference shrinks 4× per halving of h (a jump makes it grow 2×);
    * a jump in ∇²F (e.g. max(0,x)² at 0): forward minus backward differences
      (∇F(w+hu) + ∇F(w−hu) − 2∇F(w))/h are h·∇³F[u,u] + O(h³) for a smooth F, halving with h,
      but tend to the jump for a kink.

    Non-smooth is declared when a quantity is above its rounding floor and has not shrunk
    by the factor between the smooth and the kinked rate (2 for the first, √2 for the second).
    """
    g = {s: (landscape.grad(w + s * h * u), landscape.grad(w - s * h * u)) for s in (1, 2, 4)}
    central = {s: (gp - gm) / (2 * s * h) for s, (gp, gm) in g.items()}
    jump = {s: float(np.linalg.norm(gp + gm - 2 * g0)) / (s * h) for s, (gp, gm) in g.items()}
    r1 = float(np.linalg.norm(central[1] - central[2]))
    r2 = float(np.linalg.norm(central[2] - central[4]))
    # dg bounds the error of one gradient evaluation (gradient_error_bound);
    # central differences carry ≤ δg/h each, so r1 ≤ 1.5δg/h from rounding alone; jumps ≤ 4δg/h
    floor_central, floor_jump = 4 * dg / h, 4 * dg / h
    details.append(
        f"smoothness along u: central-difference changes {r1:.3g}, {r2:.3g}; one-sided jumps "
        f"{jump[1]:.3g}, {jump[2]:.3g} (noise floors {floor_central:.3g}, {floor_jump:.3g})"
    )
    if r1 > floor_central and r1 > r2 / 2:
        raise ValueError(
            "F is not differentiable at the point (the gradient jumps): central differences of the "
            f"gradient change by {r1:.3g} between steps {h:.3g} and {2 * h:.3g} and by {r2:.3g} between "
            f"{2 * h:.3g} and {4 * h:.3g} instead of converging; the Hessian, and every claim built on it, "
            "cannot be evaluated here"
        )
    if jump[1] > floor_jump and jump[1] > jump[2] / math.sqrt(2):
        raise ValueError(
            "F is not twice differentiable at the point: forward and backward differences of the "
            f"gradient differ by {jump[1]:.3g} at step {h:.3g} and {jump[2]:.3g} at step {2 * h:.3g} "
            "(a smooth F halves this when the step halves); the Hessian, and every claim built on it, "
            "cannot be evaluated here"
        )


def _check_hessian(
    landscape: Landscape,
    w: np.ndarray,
    u: np.ndarray,
    Hu: np.ndarray,
    h: float,
    dg: float,
    rounding: float,
    details: list[str],
) -> None:
    def central(step: float) -> np.ndarray:
        return (landscape.grad(w + step * u) - landscape.grad(w - step * u)) / (2 * step)

    c1, c2 = central(h), central(2 * h)
    # Richardson: truncation of c1 ≈ ‖c1 − c2‖/3; rounding 2 gradient errors dg / (2h); ×10
    # margin for the estimate, and a floor at the rounding of H·u itself (``rounding``:
    # ~N·eps·‖H‖ for a dense H, HVP_ROUNDING·eps·‖H‖ for an HVP).
    bound = 10 * (float(np.linalg.norm(c1 - c2)) / 3 + dg / h) + rounding
    err = float(np.linalg.norm(Hu - c1))
    details.append(f"Hessian vs gradient differences: ‖∇²F·u − Δ∇F/Δw‖ = {err:.3g} (bound {bound:.3g})")
    if err > bound:
        raise ValueError(
            "the Hessian is inconsistent with finite differences of the gradient at the point: "
            f"‖∇²F·u − Δ∇F/Δw‖ = {err:.3g} exceeds the finite-difference error bound {bound:.3g} "
            "(a wrong Hessian function, or F is not smooth here)"
        )
