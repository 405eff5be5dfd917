"""Numeric helpers shared by the claim checks: the closed-form lookup, Q[v], isotropic
directions, and the rounding allowances the tolerances are built from."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from plasticity.checks import strategies as cs
from plasticity.numerics.landscapes import EPS

#: z-score for Monte Carlo comparisons.  Each example is one two-sided test; at z = 5 a
#: correct closed form fails one example with probability 5.7e-7, so even the thorough
#: profile's thousands of examples keep the family-wise false-alarm rate below 1e-3.
Z_MC = 5.0


# --------------------------------------------------------------------------- helpers


def cf(name: str) -> Callable[..., np.ndarray]:
    """The validated closed form ``name``, looked up at call time (so tests can mutate it)."""
    from plasticity.derivations import closed_forms

    return getattr(closed_forms, name)


def _f(x: Any) -> float:
    return float(np.asarray(x))


def quad_Q(H: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Ground truth for Q in the claims: the Rayleigh quotient vᵀHv/‖v‖² of an explicitly built
    H, for rows of V, through the eq5 closed form (``curvature_Q``, so a wrong eq5 shows)."""
    V = np.atleast_2d(V)
    vHv = np.einsum("ki,ij,kj->k", V, H, V)
    return np.asarray(cf("curvature_Q")(vHv, np.linalg.norm(V, axis=1)))


def _gradient_Q(state: cs.QuadraticState) -> float:
    """Q[∇F] of a quadratic state, through the eq5 closed form."""
    return float(quad_Q(state.hessian.H, state.grad)[0])


def sphere(rng: np.random.Generator, k: int, n: int, radius: float = 1.0) -> np.ndarray:
    """k points uniform on the sphere of the given radius in R^n (isotropic directions)."""
    z = rng.standard_normal((k, n))
    return radius * z / np.linalg.norm(z, axis=1, keepdims=True)


def _rounding_tol(n: int, cond: float) -> float:
    """Relative float64 error allowance for Q computed from H = U diag(λ) Uᵀ.

    Forming H and vᵀHv costs O(N) roundings each of relative size ε relative to
    λ_max‖v‖²; relative to Q ≥ λ_min that is N·κ(H)·ε.  A factor 100 covers the constants.
    """
    return 100.0 * n * max(cond, 1.0) * EPS


def within_standard_errors(error: float, stderr: float) -> float:
    """Margin of a Monte Carlo agreement: 1 − |error| / (Z_MC · stderr), ≥ 0 when the error is
    within Z_MC standard errors.  Every sampled comparison states its tolerance through this."""
    return 1.0 - abs(error) / (Z_MC * stderr)


def within_rounding(error: float, scale: float, n: int, cond: float) -> float:
    """Margin of a float64 identity: 1 − |error| / (scale · 100·N·κ·ε), ≥ 0 within rounding."""
    return 1.0 - abs(error) / (scale * _rounding_tol(n, cond))


def rademacher_variance(H: np.ndarray) -> float:
    """Var(zᵀHz) for Rademacher z and symmetric H: 2(‖H‖_F² − Σ H_ii²) = 2·Σ_{i≠j} H_ij², summed
    over the off-diagonal entries themselves (the difference of the two sums cancels
    catastrophically when H is nearly diagonal: for H = I to rounding it leaves ~N·eps, not 0)."""
    off = H - np.diag(np.diag(H))
    return 2.0 * float(np.sum(off * off))


def _cond(lam: np.ndarray) -> float:
    a = np.abs(lam)
    return float(a.max() / a[a > 0].min()) if np.any(a > 0) else 1.0


class ExplicitStep:
    """Ground truth for the magnitude claims: one step w → w + s·ĉ + Δε on an explicit quadratic
    F(v) = ½vᵀHv of the displacement v = w − w*, with Δε uniform on the sphere of radius e.

    E over Δε of ΔF(s) = F(x + sĉ) − F(x) + ½e²·Tr(H)/N uses only E[Δε] = 0 and the sphere's
    second moment E[ΔεΔεᵀ] = (e²/N)·I; F is evaluated as written, never through eq2 or eq8.
    ``trace_over_n`` defaults to the explicit Tr(H)/N; a claim checking the toolkit's own
    trace passes that instead.
    """

    def __init__(
        self, H: np.ndarray, x: np.ndarray, chat: np.ndarray, trace_over_n: float | None = None
    ) -> None:
        self.H, self.x, self.chat = H, x, chat
        self.n = H.shape[0]
        self.trace_over_n = float(np.trace(H)) / self.n if trace_over_n is None else trace_over_n
        self.F0 = self.F(x)

    def F(self, v: np.ndarray) -> float:
        """F at displacement v = w − w*: ½vᵀHv."""
        return 0.5 * float(v @ self.H @ v)

    def expected_dF(self, s: float, e: float) -> float:
        """E over Δε of F after the step s·ĉ and a fluctuation of size e, minus F before."""
        return self.F(self.x + s * self.chat) - self.F0 + 0.5 * e * e * self.trace_over_n

    def argmin(self, e: float) -> tuple[float, float]:
        """(s*, E[ΔF](s*)): brute-force Brent minimisation over s ≥ 0 (via |s|)."""
        from scipy.optimize import minimize_scalar

        res = minimize_scalar(
            lambda s: self.expected_dF(abs(s), e), bracket=(0.0, 1.0), method="brent", tol=1e-12
        )
        s_star = abs(float(res.x))
        return s_star, self.expected_dF(s_star, e)

    def flatness(self, e: float, s_star: float, value: float, q_c: float) -> float:
        """How well any 1-D minimiser can locate s*: values within δ differ by ½Q[Δc]δ², below
        the rounding ε·|E| once δ < √(2ε|E|/Q[Δc]) (plus Brent's relative 1e-12)."""
        scale = abs(value) + abs(self.expected_dF(0.0, e)) + abs(self.F0)
        return math.sqrt(2.0 * EPS * scale / q_c) + 1e-12 * s_star


def downhill(H: np.ndarray, x: np.ndarray, chat: np.ndarray) -> tuple[np.ndarray, float]:
    """ĉ turned to point downhill (∇F·ĉ < 0 with ∇F = Hx), and ∇F·ĉ."""
    g = float((H @ x) @ chat)
    return (-chat, -g) if g > 0 else (chat, g)
