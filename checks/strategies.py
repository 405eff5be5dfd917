"""Hypothesis strategies for the objects the theory talks about.

Small pieces that compose and shrink well: a spectrum (dimension, condition number, kind),
an orthogonal eigenbasis, the symmetric Hessian they make, random directions, the
projections cᵢ of w − w* onto the eigenvectors (equal, random, biased to flat or to steep
directions), quadratic and non-quadratic landscapes, and noise levels for noisy rules.
Shrinking goes towards small dimensions, well-conditioned spectra, equal projections and
the seed 0, so a shrunk counterexample is the simplest one of its kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "Bias",
    "Kind",
    "QuadraticState",
    "SymmetricHessian",
    "dimensions",
    "directions",
    "hessians",
    "landscapes",
    "noise_levels",
    "orthogonal_bases",
    "orthogonal_from_seed",
    "projections",
    "reals",
    "quadratic_states",
    "seeds",
    "spectra",
]

Kind = Literal["positive definite", "semidefinite", "indefinite", "pairwise", "beyond pairwise"]
Bias = Literal["equal", "random", "flat", "steep"]
KINDS: tuple[str, ...] = ("positive definite", "semidefinite", "indefinite", "pairwise", "beyond pairwise")
BIASES: tuple[str, ...] = ("equal", "random", "flat", "steep")


def _check(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def reals(min_value: float, max_value: float) -> st.SearchStrategy[float]:
    """Normal float64 numbers in [min_value, max_value] (and 0): no NaN, no inf, no subnormals.

    Every tolerance the claims state is a float64 rounding bound such as 100·N·κ·ε, which holds
    for normal numbers only; a subnormal (below 2.2e-308, where precision is lost) would make a
    correct claim fail on an artefact, at whichever example a Hypothesis release happens to try.
    """
    if not min_value <= max_value:
        raise ValueError(f"need min_value <= max_value; got {min_value}, {max_value}")
    return st.floats(min_value, max_value, allow_nan=False, allow_subnormal=False, width=64)


def seeds() -> st.SearchStrategy[int]:
    """A 32-bit seed for a ``numpy.random.Generator`` (shrinks to 0)."""
    return st.integers(min_value=0, max_value=2**32 - 1)


def dimensions(min_dim: int = 2, max_dim: int = 10) -> st.SearchStrategy[int]:
    """Number of parameters N (shrinks to ``min_dim``)."""
    if min_dim < 1 or max_dim < min_dim:
        raise ValueError(f"need 1 <= min_dim <= max_dim; got {min_dim}, {max_dim}")
    return st.integers(min_value=min_dim, max_value=max_dim)


@st.composite
def spectra(
    draw: st.DrawFn,
    n: int | st.SearchStrategy[int] | None = None,
    *,
    kind: Kind = "positive definite",
    max_condition: float = 1e3,
    scale: float = 1.0,
) -> np.ndarray:
    """Sorted eigenvalues λ₁ ≤ … ≤ λ_N of the given kind, spread at most ``max_condition``.

    Positive definite: λ in [scale/max_condition, scale].  Semidefinite: the same with at
    least one exact zero.  Indefinite: at least one negative and one positive eigenvalue,
    magnitudes in the same range.  Pairwise: indefinite or semidefinite with λᵢ + λⱼ ≥ 0 for
    every pair i ≠ j (one eigenvalue −ρλ₂ with ρ ∈ [0, 1], the rest positive) -- eq14's
    sharpened domain.  Beyond pairwise: just outside it, one eigenvalue −(1 + δ)λ₂ with
    δ ∈ (0, ½].  Shrinks towards all eigenvalues equal to ``scale``.
    """
    _check("kind", kind, KINDS)
    if not max_condition >= 1 or not np.isfinite(max_condition):
        raise ValueError(f"max_condition must be a finite number >= 1; got {max_condition}")
    if isinstance(n, st.SearchStrategy):
        n = draw(n)
    elif n is None:
        n = draw(dimensions())
    lo = 2 if kind in ("indefinite", "pairwise", "beyond pairwise") else 1
    if n < lo:
        raise ValueError(f"a {kind} spectrum needs dimension >= {lo}; got {n}")
    # log10 of λ/scale in [-log10(cond), 0]; 0.0 is the simplest value and shrinks first
    span = float(np.log10(max_condition))
    logs = draw(hnp.arrays(np.float64, n, elements=reals(-span, 0.0)))
    lam = scale * 10.0 ** (-np.abs(logs))
    if kind == "semidefinite":
        zeros = draw(st.integers(min_value=1, max_value=n - 1 if n > 1 else 1))
        lam[:zeros] = 0.0
    elif kind == "indefinite":
        negatives = draw(st.integers(min_value=1, max_value=n - 1))
        lam[:negatives] = -lam[:negatives]
    elif kind in ("pairwise", "beyond pairwise"):
        lam = np.sort(lam)
        rho = draw(reals(0.0, 1.0)) if kind == "pairwise" else 1.0 + draw(reals(1e-3, 0.5))
        lam[0] = -rho * lam[1]
    return np.sort(lam)


def orthogonal_from_seed(n: int, seed: int) -> np.ndarray:
    """A Haar-random orthogonal n×n matrix from ``seed`` (QR of a Gaussian, signs fixed)."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))


@st.composite
def orthogonal_bases(draw: st.DrawFn, n: int, *, method: Literal["seed", "floats"] = "seed") -> np.ndarray:
    """A random orthogonal eigenbasis (columns) of size n.

    ``method="seed"`` draws a seed (shrinks to seed 0; cheap for large n); ``"floats"``
    draws the n² Gaussian-like entries themselves and orthonormalises them by QR, so
    Hypothesis can shrink the basis entry by entry (towards the identity's neighbourhood).
    """
    if method == "seed":
        return orthogonal_from_seed(n, draw(seeds()))
    if method != "floats":
        raise ValueError(f"method must be 'seed' or 'floats'; got {method!r}")
    a = draw(hnp.arrays(np.float64, (n, n), elements=reals(-1.0, 1.0)))
    a = a + 2.0 * np.eye(n)  # the all-zero draw shrinks to 2I; rank-deficient draws are rejected below
    assume(abs(np.linalg.det(a)) > 1e-6)
    q, r = np.linalg.qr(a)
    return q * np.sign(np.diag(r))


@dataclass(frozen=True)
class SymmetricHessian:
    """H = U diag(λ) Uᵀ with its eigen-decomposition kept (eigenvalues ascending)."""

    H: np.ndarray
    eigvals: np.ndarray
    eigvecs: np.ndarray

    @property
    def n(self) -> int:
        return int(self.eigvals.size)

    @property
    def trace_over_n(self) -> float:
        """Tr(H)/N, the curvature a task-independent direction sees on average."""
        return float(np.mean(self.eigvals))

    def __repr__(self) -> str:  # short, so shrunk counterexamples read well
        return f"SymmetricHessian(n={self.n}, eigvals={np.array2string(self.eigvals, precision=4)})"


@st.composite
def hessians(
    draw: st.DrawFn,
    n: int | st.SearchStrategy[int] | None = None,
    *,
    kind: Kind = "positive definite",
    max_condition: float = 1e3,
    basis: Literal["seed", "floats"] = "seed",
) -> SymmetricHessian:
    """A symmetric Hessian with a random orthogonal eigenbasis and a controlled spectrum."""
    lam = draw(spectra(n, kind=kind, max_condition=max_condition))
    U = draw(orthogonal_bases(lam.size, method=basis))
    H = (U * lam) @ U.T
    H = 0.5 * (H + H.T)
    return SymmetricHessian(H=H, eigvals=lam, eigvecs=U)


@st.composite
def directions(draw: st.DrawFn, n: int) -> np.ndarray:
    """A unit vector in R^n (drawn entries, normalised; the zero vector is rejected)."""
    v = draw(hnp.arrays(np.float64, n, elements=reals(-1.0, 1.0)))
    norm = float(np.linalg.norm(v))
    assume(norm > 1e-3)
    return v / norm


@st.composite
def projections(
    draw: st.DrawFn, eigvals: np.ndarray, *, bias: Bias = "random", scale: float = 1.0
) -> np.ndarray:
    """Projections cᵢ of w − w* onto the eigenvectors (ordered like ``eigvals``).

    equal: all cᵢ = scale/√N.  random: independent draws with random signs.  flat / steep:
    cᵢ decay geometrically by a drawn factor ρ ∈ (0, 1] away from the flattest / steepest
    direction (ρ = 1 is equal projections, so shrinking moves towards the unbiased case).
    """
    _check("bias", bias, BIASES)
    lam = np.asarray(eigvals, dtype=float)
    n = lam.size
    if bias == "equal":
        return np.full(n, scale / np.sqrt(n))
    if bias == "random":
        c = draw(hnp.arrays(np.float64, n, elements=reals(-1.0, 1.0)))
        assume(np.linalg.norm(c) > 1e-3)
        return scale * c / np.linalg.norm(c)
    rho = draw(reals(1e-3, 1.0))
    # rank 0 = flattest (smallest λ) for "flat", steepest for "steep"
    order = np.argsort(lam, kind="stable")
    rank = np.empty(n)
    rank[order] = np.arange(n)
    if bias == "steep":
        rank = (n - 1) - rank
    c = rho**rank
    return scale * c / np.linalg.norm(c)


@dataclass(frozen=True)
class QuadraticState:
    """A quadratic F(w) = ½(w−w*)ᵀH(w−w*) and a point w = w* + Σ cᵢ vᵢ on it."""

    hessian: SymmetricHessian
    c: np.ndarray
    w_star: np.ndarray

    @property
    def w(self) -> np.ndarray:
        return self.w_star + self.hessian.eigvecs @ self.c

    @property
    def grad(self) -> np.ndarray:
        """∇F(w) = H(w − w*)."""
        return self.hessian.H @ (self.w - self.w_star)

    def __repr__(self) -> str:
        return (
            f"QuadraticState(eigvals={np.array2string(self.hessian.eigvals, precision=4)}, "
            f"c={np.array2string(self.c, precision=4)})"
        )


@st.composite
def quadratic_states(
    draw: st.DrawFn,
    n: int | st.SearchStrategy[int] | None = None,
    *,
    kind: Kind = "positive definite",
    bias: Bias = "random",
    max_condition: float = 1e3,
) -> QuadraticState:
    """A random quadratic landscape and a point on it with projections of the given bias."""
    hess = draw(hessians(n, kind=kind, max_condition=max_condition))
    c = draw(projections(hess.eigvals, bias=bias))
    w_star = draw(hnp.arrays(np.float64, hess.n, elements=reals(-1.0, 1.0)))
    return QuadraticState(hessian=hess, c=c, w_star=w_star)


@st.composite
def landscapes(
    draw: st.DrawFn,
    n: int | st.SearchStrategy[int] | None = None,
    *,
    kind: Literal["quadratic", "quartic"] = "quadratic",
    max_condition: float = 1e3,
):
    """A positive-definite landscape from :mod:`plasticity.numerics.landscapes`.

    quadratic: ``Quadratic`` with a random Hessian and minimum.  quartic: F = ½ xᵀHx +
    (κ/4) Σ xᵢ⁴ (x = w − w*, κ ≥ 0 drawn) as a ``FunctionLandscape`` with its exact
    gradient and Hessian: non-quadratic, same minimum, Hessian H + 3κ diag(x²).
    """
    from plasticity.numerics.landscapes import FunctionLandscape, Quadratic

    if kind not in ("quadratic", "quartic"):
        raise ValueError(f"kind must be 'quadratic' or 'quartic'; got {kind!r}")
    hess = draw(hessians(n, kind="positive definite", max_condition=max_condition))
    w_star = draw(hnp.arrays(np.float64, hess.n, elements=reals(-1.0, 1.0)))
    if kind == "quadratic":
        return Quadratic(eigvals=hess.eigvals, eigvecs=hess.eigvecs, w_star=w_star)
    kappa = draw(reals(0.0, 10.0))
    H = hess.H

    def f(w: np.ndarray) -> float:
        x = np.asarray(w) - w_star
        return float(0.5 * x @ H @ x + 0.25 * kappa * np.sum(x**4))

    def grad(w: np.ndarray) -> np.ndarray:
        x = np.asarray(w) - w_star
        return H @ x + kappa * x**3

    def hess_fn(w: np.ndarray) -> np.ndarray:
        x = np.asarray(w) - w_star
        return H + np.diag(3.0 * kappa * x**2)

    return FunctionLandscape(f, hess.n, grad=grad, hess=hess_fn, w_star=w_star)


def noise_levels(min_ratio: float = 0.0, max_ratio: float = 100.0) -> st.SearchStrategy[float]:
    """Noise-to-signal ratios ‖ν‖/‖Δc̃‖ = γ2/γ1 for noisy rules (shrinks to ``min_ratio``)."""
    if not 0 <= min_ratio <= max_ratio or not np.isfinite(max_ratio):
        raise ValueError(f"need 0 <= min_ratio <= max_ratio < inf; got {min_ratio}, {max_ratio}")
    return reals(min_ratio, max_ratio)
