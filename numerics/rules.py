"""Plasticity rules as batched functions of the state, returning one step per row.

Every function works on arrays of shape (..., n) (one row per network / repetition) and
takes its randomness from a passed ``numpy.random.Generator``.  Magnitudes are the step
norms ‖Δ‖ (scalars or arrays over the leading axes); a negative or non-finite magnitude
raises ``ValueError``.

* :func:`fluctuation`     -- white noise Δε of fixed norm (task-independent change);
* :func:`gradient`        -- Δc = -m ∇F/‖∇F‖ (pure gradient descent direction);
* :func:`noisy_gradient`  -- Δc = -γ₁ ∇F/‖∇F‖ + γ₂ ν/‖ν‖, γ's from magnitude and SNR (:func:`gammas`);
* :func:`zeroth_order`    -- REINFORCE-like: probe a random direction, keep or oppose it;
* :func:`newton`          -- Δc along -(∇²F)⁻¹∇F (needs ∇²F positive definite);
* :func:`beeline`         -- Δc straight towards the known minimum w*.
"""

from __future__ import annotations

import numpy as np

from plasticity.numerics.landscapes import EPS, Landscape, Quadratic

__all__ = [
    "DENSE_MAX_N",
    "NEWTON_MINRES_RTOL",
    "fluctuation",
    "gammas",
    "gradient",
    "noisy_gradient",
    "zeroth_order",
    "newton",
    "hessians",
    "beeline",
]


def _magnitude(magnitude: object, name: str = "magnitude") -> np.ndarray:
    try:
        m = np.asarray(magnitude, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric") from None
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{name} must be finite")
    if np.any(m < 0):
        raise ValueError(f"{name} must be non-negative (it is a step norm); got {magnitude!r}")
    return m


def _rows(x: object, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array") from None
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise ValueError(f"{name} must have shape (..., n) with n ≥ 1; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _unit(x: np.ndarray, name: str) -> np.ndarray:
    """Rows of x divided by their norms; a zero row has no direction -> ValueError."""
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError(f"{name} has zero norm in some row, so its direction is undefined")
    return x / norm


def _rng(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    return rng


def _per_row(m: np.ndarray, lead: tuple[int, ...], name: str = "magnitude") -> np.ndarray:
    """A magnitude broadcast to the leading shape, with a trailing axis for the rows."""
    try:
        return np.broadcast_to(m, lead)[..., None]
    except ValueError:
        raise ValueError(f"{name} of shape {m.shape} does not fit the leading shape {lead}") from None


def fluctuation(rng: np.random.Generator, shape: tuple[int, ...], norm: float | np.ndarray) -> np.ndarray:
    """White-noise steps Δε of shape ``shape`` (..., n), each row of norm exactly ``norm``.

    Directions are isotropic (a standard normal vector normalised), so E[Q[Δε]] = Tr(∇²F)/N.
    """
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    if len(shape) == 0 or shape[-1] < 1 or any(s < 0 for s in shape):
        raise ValueError(f"shape must be (..., n) with n ≥ 1; got {shape}")
    m = _magnitude(norm, "norm")
    xi = _rng(rng).standard_normal(shape)
    return _per_row(m, shape[:-1], "norm") * _unit(xi, "fluctuation draw")


def gammas(
    magnitude: float | np.ndarray, noise_to_signal: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(γ₁, γ₂) = (m/√(1+r²), m·r/√(1+r²)) for magnitude m and noise-to-signal r = γ₂/γ₁.

    ``noise_to_signal = 0`` is pure gradient (γ₂ = 0); ``inf`` pure noise (γ₁ = 0);
    γ₁² + γ₂² = m².
    """
    m = _magnitude(magnitude)
    try:
        r = np.asarray(noise_to_signal, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("noise_to_signal must be numeric") from None
    if np.any(np.isnan(r)) or np.any(r < 0):
        raise ValueError(
            f"noise_to_signal (γ₂/γ₁) must be ≥ 0 (inf allowed: pure noise); got {noise_to_signal!r}"
        )
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        # 1/√(1+r²) and r/√(1+r²) written so that neither r² nor r⁻² overflows: for r ≤ 1 as
        # is, for r > 1 as r⁻¹/√(1+r⁻²) and 1/√(1+r⁻²) (so r = inf gives exactly (0, m))
        small = r <= 1
        inv = np.where(small, 1.0, 1.0 / np.where(small, 1.0, r))
        rs = np.where(small, r, 1.0)
        root = np.where(small, np.sqrt(1.0 + rs * rs), np.sqrt(1.0 + inv * inv))
        g1 = m * np.where(small, 1.0, inv) / root
        g2 = m * np.where(small, rs, 1.0) / root
    return g1, g2


def gradient(grad: np.ndarray, magnitude: float | np.ndarray) -> np.ndarray:
    """Δc = -m ∇F/‖∇F‖ for gradients (..., n): steepest descent of norm exactly m."""
    g = _rows(grad, "grad")
    m = _magnitude(magnitude)
    return -_per_row(m, g.shape[:-1]) * _unit(g, "grad")


def noisy_gradient(
    grad: np.ndarray,
    rng: np.random.Generator,
    magnitude: float | np.ndarray,
    noise_to_signal: float | np.ndarray,
) -> np.ndarray:
    """Δc = -γ₁ ∇F/‖∇F‖ + γ₂ ν/‖ν‖ with fresh ν ~ N(0, I) per row and
    (γ₁, γ₂) = gammas(m, noise_to_signal), i.e. γ₂/γ₁ = noise_to_signal.

    As in the paper, the two parts are added without renormalising, so ‖Δc‖ is m only up
    to the overlap ν̂·ĝ (of order 1/√n); with noise_to_signal = 0 it is exactly m.
    """
    g = _rows(grad, "grad")
    g1, g2 = gammas(magnitude, noise_to_signal)
    lead = g.shape[:-1]
    step = -_per_row(g1, lead, "γ₁") * _unit(g, "grad")
    if np.any(g2 > 0):
        nu = _rng(rng).standard_normal(g.shape)
        step = step + _per_row(g2, lead, "γ₂") * _unit(nu, "noise draw")
    return step


def zeroth_order(
    landscape: Landscape,
    w: np.ndarray,
    rng: np.random.Generator,
    magnitude: float | np.ndarray,
    *,
    probe: float | None = None,
) -> np.ndarray:
    """REINFORCE-like compensation: probe a random unit direction u, keep or oppose it.

    The directional derivative is estimated from loss differences only,
    d = (F(w + δu) - F(w - δu)) / 2δ with δ = ``probe`` or eps^(1/3)·max(1, ‖w‖), and the
    step is -m·sign(d)·u (a tie d = 0 steps along -u).  The direction u is isotropic and
    independent of ∇²F, so E[Q[Δc]] = Tr(∇²F)/N (si_zeroth_order).  w is (n,) or (k, n).
    """
    W = _rows(w, "w")
    if W.shape[-1] != landscape.n or W.ndim > 2:
        raise ValueError(f"w must have shape ({landscape.n},) or (k, {landscape.n}); got {W.shape}")
    m = _magnitude(magnitude)
    if probe is not None and not (np.isfinite(probe) and probe > 0):
        raise ValueError(f"probe must be a positive finite step; got {probe!r}")
    u = fluctuation(rng, W.shape, 1.0)
    if probe is None:
        delta = EPS ** (1 / 3) * np.maximum(1.0, np.linalg.norm(W, axis=-1))
    else:
        delta = np.full(W.shape[:-1], float(probe))
    if W.ndim == 1:
        diff = landscape.loss(W + delta * u) - landscape.loss(W - delta * u)
    else:
        both = landscape.loss_batch(np.vstack([W + delta[:, None] * u, W - delta[:, None] * u]))  # one call
        diff = both[: W.shape[0]] - both[W.shape[0] :]
    sign = np.where(np.asarray(diff) < 0, -1.0, 1.0)
    return -(_per_row(m, W.shape[:-1]) * sign[..., None]) * u


#: largest N for which :func:`newton` solves with dense Hessians (N² memory per row, N³ work);
#: above it the step comes from MINRES on the HVP operator.  The same threshold as the
#: landscape report's dense Hessian (``checks.landscape.diagnostics.MAX_DENSE_N``).
DENSE_MAX_N = 3000

#: the Newton step above DENSE_MAX_N is accepted once ‖∇²F·d − ∇F‖ ≤ NEWTON_MINRES_RTOL·‖∇F‖
#: (an explicitly computed residual); the direction's relative error is then at most
#: cond(∇²F)·NEWTON_MINRES_RTOL
NEWTON_MINRES_RTOL = 1e-8


def hessians(landscape: Landscape, W: np.ndarray) -> np.ndarray:
    """∇²F at every row of W (k, n) -> (k, n, n): the landscape's own ``hessian_batch`` where
    it has one (e.g. batched HVPs on the identity), else ``hessian`` row by row."""
    fn = getattr(landscape, "hessian_batch", None)
    if fn is not None:
        return np.asarray(fn(W), dtype=np.float64)
    return np.stack([landscape.hessian(w) for w in W])


def newton(
    landscape: Landscape,
    w: np.ndarray,
    magnitude: float | np.ndarray,
    *,
    grad: np.ndarray | None = None,
) -> np.ndarray:
    """Δc of norm m along the Newton direction -(∇²F)⁻¹∇F, for w (n,) or (k, n).

    ``grad`` (the gradients at w, same shape) saves recomputing them.  The Newton step
    descends only where ∇²F is positive definite.  On a :class:`Quadratic` a singular or
    indefinite Hessian (smallest eigenvalue ≤ N·eps·‖∇²F‖) raises ValueError saying which.
    Otherwise, up to :data:`DENSE_MAX_N`, one Hessian per row (:func:`hessians`), factorised
    and solved for all rows at once: ∇²F must be positive definite to working precision (its
    Cholesky factorisation exists), else ValueError says, from its eigenvalues, whether it is
    indefinite or singular; a Hessian that factorises yet is nearly singular gives a step
    whose direction carries the solve's relative error ~cond(∇²F)·eps.  Above it, MINRES on
    the HVP operator per row to the explicit relative residual :data:`NEWTON_MINRES_RTOL`; a
    direction that does not descend (∇Fᵀ(∇²F)⁻¹∇F ≤ 0: ∇²F not positive definite) raises ValueError.
    """
    W = _rows(w, "w")
    if W.shape[-1] != landscape.n or W.ndim > 2:
        raise ValueError(f"w must have shape ({landscape.n},) or (k, {landscape.n}); got {W.shape}")
    m = _magnitude(magnitude)
    rows = W.reshape(-1, landscape.n)
    if grad is None:
        G = landscape.grad_batch(rows)
    else:
        G = _rows(grad, "grad").reshape(-1, landscape.n)
        if G.shape != rows.shape:
            raise ValueError(f"grad must have the shape of w {W.shape}; got {np.shape(grad)}")
    if isinstance(landscape, Quadratic):  # constant Hessian: one eigen-decomposition serves every row
        lam, U = landscape.eigvals, landscape.eigvecs
        _require_positive_definite(lam)
        directions = -((G @ U) / lam) @ U.T
    elif landscape.n <= DENSE_MAX_N:
        H = hessians(landscape, rows)
        _require_cholesky(H)
        directions = -np.linalg.solve(H, G[..., None])[..., 0]
    else:
        directions = -np.stack([_newton_minres(landscape, x, g) for x, g in zip(rows, G, strict=True)])
    directions = _unit(directions, "Newton direction (gradient is zero)").reshape(W.shape)
    return _per_row(m, W.shape[:-1]) * directions


def _newton_minres(landscape: Landscape, w: np.ndarray, g: np.ndarray) -> np.ndarray:
    """(∇²F)⁻¹∇F at w by MINRES on the HVP operator (:func:`plasticity.numerics.matfree.minres_solve`)
    to the explicit relative residual :data:`NEWTON_MINRES_RTOL`; ValueError if it does not get
    there or does not descend."""
    from plasticity.numerics.matfree import HessianOperator, minres_solve

    g_norm = float(np.linalg.norm(g))
    d, Hd, _, converged = minres_solve(
        HessianOperator(landscape, w),
        g,
        rtol=NEWTON_MINRES_RTOL,
        maxiter=10 * landscape.n,
        target=NEWTON_MINRES_RTOL * g_norm,
    )
    if not converged:
        residual = float(np.linalg.norm(Hd - g))
        raise ValueError(
            f"Newton step undefined: MINRES on ∇²F reached relative residual {residual / g_norm:.3g}, "
            f"not {NEWTON_MINRES_RTOL:g} (∇²F singular or too ill-conditioned)"
        )
    if float(g @ d) <= 0:
        raise ValueError(
            "Newton step undefined: ∇Fᵀ(∇²F)⁻¹∇F ≤ 0, so ∇²F is not positive definite and "
            "-(∇²F)⁻¹∇F does not descend"
        )
    return d


def _require_cholesky(H: np.ndarray) -> None:
    """ValueError unless every matrix of H (k, n, n) has a Cholesky factorisation, naming
    (from the eigenvalues of the first that has none) whether it is indefinite or singular."""
    try:
        np.linalg.cholesky(H)
        return
    except np.linalg.LinAlgError:
        pass
    for Hi in H:
        try:
            np.linalg.cholesky(Hi)
        except np.linalg.LinAlgError:
            lam = np.linalg.eigvalsh(Hi)
            _require_positive_definite(lam)
            raise ValueError(
                f"Newton step undefined: the Hessian is not positive definite to working precision "
                f"(no Cholesky factorisation; smallest eigenvalue {lam.min():.3g})"
            ) from None


def _require_positive_definite(lam: np.ndarray) -> None:
    # eigh is backward stable: eigenvalues within N·eps·‖H‖ of zero cannot be told from zero.
    tol = lam.size * EPS * float(np.max(np.abs(lam)))
    if lam.min() < -tol:
        raise ValueError(
            f"Newton step undefined: the Hessian is indefinite (smallest eigenvalue {lam.min():.3g} < 0), "
            "so -H⁻¹∇F need not descend"
        )
    if lam.min() <= tol:
        raise ValueError(
            f"Newton step undefined: the Hessian is singular (smallest eigenvalue {lam.min():.3g})"
        )


def beeline(w: np.ndarray, w_star: np.ndarray, magnitude: float | np.ndarray) -> np.ndarray:
    """Δc of norm m pointing straight from w (..., n) to the known minimum w* (n,) or (..., n)."""
    W = _rows(w, "w")
    S = _rows(w_star, "w_star")
    if S.shape[-1] != W.shape[-1]:
        raise ValueError(f"w_star has {S.shape[-1]} entries per row; w has {W.shape[-1]}")
    m = _magnitude(magnitude)
    d = _unit(S - W, "w_star - w (w is already at w_star)")
    return _per_row(m, d.shape[:-1]) * d
