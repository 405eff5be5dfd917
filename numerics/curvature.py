"""Curvature of a landscape, matrix-free: Q_w[v], Tr(∇²F)/N, extreme eigenvalues, spectrum.

Everything here needs only Hessian-vector products, so it scales to landscapes with N in
the hundreds of thousands; small N uses exact dense methods.  The final ratio of
Q[v] = vᵀ∇²F v / ‖v‖² (eq5) is evaluated by ``plasticity.derivations.closed_forms`` -- never retyped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from plasticity.derivations import closed_forms
from plasticity.numerics.landscapes import Landscape, _check_square_symmetric, check_directions, check_point

__all__ = [
    "Estimate",
    "Extremes",
    "Q",
    "Q_from_hessian",
    "Q_from_products",
    "trace_over_n",
    "extreme_eigenvalues",
    "spectrum",
    "dense_hessian",
    "hutchinson_samples",
    "diagonal_from_products",
    "EXACT_MAX_N",
]

#: at or below this N, trace_over_n / extreme_eigenvalues default to exact dense methods
EXACT_MAX_N = 2000


class Estimate(NamedTuple):
    """A number with its standard error (0 when exact) and how it was obtained."""

    value: float
    stderr: float
    method: str


class Extremes(NamedTuple):
    """Smallest and largest eigenvalue of ∇²F at a point; ``min < 0`` means indefinite.
    ``bound_min``/``bound_max`` bound their errors for Lanczos (residual ‖Hx − θx‖ plus the
    HVPs' rounding; see :func:`plasticity.numerics.matfree.extreme_eigenvalues`), 0 for dense."""

    min: float
    max: float
    method: str
    bound_min: float = 0.0
    bound_max: float = 0.0

    @property
    def is_indefinite(self) -> bool:
        return self.min < 0


def Q_from_products(v_H_v: np.ndarray, v_norm: np.ndarray) -> np.ndarray:
    """Q = vᵀHv / ‖v‖² from its two ingredients, via the registered closed form of eq5."""
    v_norm = np.asarray(v_norm, dtype=np.float64)
    if np.any(v_norm <= 0):
        raise ValueError("Q[v] is undefined for a direction v of zero norm")
    return np.asarray(closed_forms.raw("curvature_Q")(np.asarray(v_H_v, dtype=np.float64), v_norm))


def _q_from(V: np.ndarray, HV: np.ndarray) -> np.ndarray | float:
    vhv = np.einsum("...i,...i->...", V, HV)
    q = Q_from_products(vhv, np.linalg.norm(V, axis=-1))
    return float(q) if V.ndim == 1 else q


def Q(landscape: Landscape, w: np.ndarray, V: np.ndarray) -> np.ndarray | float:
    """Q_w[v] = vᵀ∇²F(w)v / ‖v‖² for V (n,) → float or V (k, n) → (k,), from HVPs only."""
    w = check_point(w, landscape.n)
    V = check_directions(V, landscape.n, "V")
    return _q_from(V, landscape.hvp(w, V))


def Q_from_hessian(H: np.ndarray, V: np.ndarray) -> np.ndarray | float:
    """Q[v] for a given symmetric Hessian H (n, n) and V (n,) → float or (k, n) → (k,)."""
    H = _check_square_symmetric(H)
    V = check_directions(V, H.shape[0], "V")
    return _q_from(V, V @ H)


def _as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ValueError(
        f"rng must be a numpy.random.Generator, an integer seed or None; got {type(rng).__name__}"
    )


def _diagonal(landscape: Landscape, w: np.ndarray, chunk: int = 256) -> np.ndarray:
    """diag(∇²F) exactly, from HVPs of basis vectors in chunks (never an N×N HVP block)."""
    return diagonal_from_products(lambda E: landscape.hvp(w, E), landscape.n, chunk)


def diagonal_from_products(
    products: Callable[[np.ndarray], np.ndarray], n: int, chunk: int = 256
) -> np.ndarray:
    """diag(∇²F) from the products of basis vectors, ``chunk`` at a time (``products`` maps
    rows (m, n) to ∇²F times each row): N products, chunk·N memory."""
    diag = np.empty(n)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        E = np.zeros((stop - start, n))
        E[np.arange(stop - start), np.arange(start, stop)] = 1.0
        HE = np.asarray(products(E))
        diag[start:stop] = HE[np.arange(stop - start), np.arange(start, stop)]
    return diag


def dense_hessian(landscape: Landscape, w: np.ndarray, chunk: int = 512) -> np.ndarray:
    """∇²F(w) as a dense symmetric matrix assembled from HVPs of basis vectors (in chunks),
    so that it works on landscapes that offer HVPs only; symmetrised, since finite-difference
    HVPs are symmetric only to their truncation error."""
    w = check_point(w, landscape.n)
    n = landscape.n
    H = np.empty((n, n))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        E = np.zeros((stop - start, n))
        E[np.arange(stop - start), np.arange(start, stop)] = 1.0
        H[start:stop] = np.asarray(landscape.hvp(w, E))
    if not np.all(np.isfinite(H)):
        raise ValueError("Hessian-vector products returned NaN or inf")
    return 0.5 * (H + H.T)


def trace_over_n(
    landscape: Landscape,
    w: np.ndarray,
    *,
    exact: bool | None = None,
    n_probes: int = 64,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Tr(∇²F(w))/N: exact from basis-vector HVPs for small N, else Hutchinson's estimator.

    Hutchinson: mean of zᵀ∇²F z / N over ``n_probes`` Rademacher probes z (unbiased), with
    the standard error of that mean.  ``exact=None`` chooses exact when N ≤ EXACT_MAX_N.
    ``rng`` (Generator or seed; None means seed 0) makes the probes reproducible.
    """
    w = check_point(w, landscape.n)
    n = landscape.n
    if exact is None:
        exact = n <= EXACT_MAX_N
    if exact:
        return Estimate(float(np.sum(_diagonal(landscape, w)) / n), 0.0, "exact")
    if isinstance(n_probes, bool) or not isinstance(n_probes, int | np.integer) or n_probes < 2:
        raise ValueError(
            f"n_probes must be an integer ≥ 2 (a standard error needs two probes); got {n_probes!r}"
        )
    samples = hutchinson_samples(lambda Z: landscape.hvp(w, Z), n, n_probes, _as_rng(rng))
    return Estimate(float(np.mean(samples)), float(np.std(samples, ddof=1) / np.sqrt(n_probes)), "hutchinson")


def hutchinson_samples(
    products: Callable[[np.ndarray], np.ndarray], n: int, k: int, gen: np.random.Generator
) -> np.ndarray:
    """k Hutchinson samples zᵀ∇²F z / N for Rademacher probes z (their mean is unbiased for
    Tr/N); ``products`` maps probes (m, n) to ∇²F·z (m, n).  Probes are drawn and multiplied
    in chunks of at most BLOCK_ELEMENTS floats (O(N) memory)."""
    from plasticity.numerics.matfree import BLOCK_ELEMENTS

    samples = np.empty(k)
    chunk = max(1, min(64, BLOCK_ELEMENTS // max(n, 1)))
    for start in range(0, k, chunk):
        m = min(chunk, k - start)
        Z = gen.choice(np.array([-1.0, 1.0]), size=(m, n))
        HZ = np.asarray(products(Z))
        samples[start : start + m] = np.einsum("ki,ki->k", Z, HZ) / n
    return samples


def extreme_eigenvalues(
    landscape: Landscape,
    w: np.ndarray,
    *,
    exact: bool | None = None,
    tol: float = 1e-8,
    rng: np.random.Generator | int | None = None,
) -> Extremes:
    """Smallest and largest eigenvalues of ∇²F(w): dense ``eigvalsh`` for small N, Lanczos
    (``scipy.sparse.linalg.eigsh`` on the landscape's HVPs as a LinearOperator,
    :class:`plasticity.numerics.matfree.HessianOperator`) for large N, with residual bounds.

    The dense path assembles ∇²F from HVPs (:func:`dense_hessian`), so neither path needs a
    Hessian method.  A negative minimum means the Hessian is indefinite at w -- reported,
    never hidden.
    ``tol`` is eigsh's accuracy relative to ‖∇²F‖; ``rng`` seeds its start vector (reproducible).
    """
    w = check_point(w, landscape.n)
    n = landscape.n
    if exact is None:
        exact = n <= EXACT_MAX_N
    if exact or n < 3:
        lam = np.linalg.eigvalsh(dense_hessian(landscape, w))
        return Extremes(float(lam[0]), float(lam[-1]), "dense")
    from plasticity.numerics.matfree import HessianOperator
    from plasticity.numerics.matfree import extreme_eigenvalues as lanczos

    ext = lanczos(HessianOperator(landscape, w, hvp_exact=True), tol=tol, rng=_as_rng(rng))
    return Extremes(ext.min.value, ext.max.value, "lanczos", ext.min.bound, ext.max.bound)


def spectrum(landscape: Landscape, w: np.ndarray, *, max_n: int = 5000) -> np.ndarray:
    """All eigenvalues of ∇²F(w), ascending (dense; refuses N > ``max_n``, use
    :func:`extreme_eigenvalues` or :func:`trace_over_n` there)."""
    w = check_point(w, landscape.n)
    if landscape.n > max_n:
        raise ValueError(
            f"spectrum of an N={landscape.n} Hessian needs a dense {landscape.n}² matrix (max_n={max_n}); "
            "use extreme_eigenvalues or trace_over_n, which are matrix-free"
        )
    return np.linalg.eigvalsh(dense_hessian(landscape, w))
