"""eq6, eq9a, eq9b, eq10, eq11 and app1 against numerical optimisation of the exact E[ΔF].

E[ΔF](s) for a compensation s·Δĉ is computed without any closed form: the exact average of
F(w + sΔĉ + ε) − F(w) for a quadratic F over a finite design of fluctuations ε (exactly
isotropic unless a test breaks an assumption on purpose).  scipy then minimises it in s and
root-finds the gradient scale at which the minimum equals a target.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

from plasticity.derivations import closed_forms as cf
from plasticity.derivations import get

# Brent's minimiser locates a smooth minimum to ~sqrt(machine eps) ≈ 1.5e-8 relative in s
# (xtol default); the tests compare minimisers with rel 1e-6, two orders of magnitude above that.
MIN_RTOL = 1e-6


def isotropic_design(rng: np.random.Generator, n: int, radius: float) -> np.ndarray:
    """(2n, n) points of norm ``radius`` with mean 0 and second moment (radius²/n) I exactly."""
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return radius * np.concatenate([q.T, -q.T])


class Landscape:
    """A quadratic F(w) = ½wᵀHw + βuᵀw at w = 0 (gradient βu), with a fluctuation design."""

    def __init__(self, h: np.ndarray, u: np.ndarray, c_hat: np.ndarray, eps: np.ndarray) -> None:
        self.h, self.u, self.c_hat, self.eps = h, u, c_hat, eps

    def expected_dF(self, s: float, beta: float) -> float:
        """Exact mean of F(sΔĉ + ε) − F(0) over the design (F(0) = 0)."""
        dw = s * self.c_hat + self.eps
        return float(np.mean(0.5 * np.einsum("ki,ij,kj->k", dw, self.h, dw) + beta * dw @ self.u))

    def optimum(self, beta: float) -> tuple[float, float]:
        """(s*, E[ΔF](s*)) by Brent minimisation in s."""
        res = minimize_scalar(lambda s: self.expected_dF(s, beta), bracket=(0.0, 1.0), tol=1e-12)
        return float(res.x), float(res.fun)

    def beta_for(self, target: float) -> float:
        """Gradient scale β at which the minimal E[ΔF] equals ``target`` (brentq)."""
        hi = 1.0
        while self.optimum(hi)[1] > target:
            hi *= 2
        return brentq(lambda b: self.optimum(b)[1] - target, 0.0, hi, xtol=1e-14, rtol=1e-13)

    @property
    def Q_c(self) -> float:
        return float(self.c_hat @ self.h @ self.c_hat)

    @property
    def eps_norm(self) -> float:
        return float(np.sqrt(np.mean(np.sum(self.eps**2, axis=1))))

    @property
    def Q_eps(self) -> float:
        return float(np.mean(np.einsum("ki,ij,kj->k", self.eps, self.h, self.eps))) / self.eps_norm**2


def make(seed: int, n: int = 6, radius: float | None = None, c_hat: np.ndarray | None = None) -> Landscape:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    h = a @ a.T / n + 0.05 * np.eye(n)  # positive definite: Q_c, Q_eps > 0
    if c_hat is None:
        c_hat = rng.normal(size=n)
    c_hat = c_hat / np.linalg.norm(c_hat)
    u = -c_hat + 0.5 * rng.normal(size=n) / np.sqrt(n)  # a gradient with uᵀΔĉ < 0
    if u @ c_hat >= 0:
        u = -c_hat
    r = float(rng.uniform(0.2, 2.0)) if radius is None else radius
    return Landscape(h, u, c_hat, isotropic_design(rng, n, r))


# --------------------------------------------------------------------------- eq6
@pytest.mark.parametrize("seed", range(6))
def test_eq6_is_the_numerical_minimiser_of_expected_dF(seed: int) -> None:
    land = make(seed)
    beta = float(np.random.default_rng(seed).uniform(0.1, 3))
    s_num, e_min = land.optimum(beta)
    predicted = cf.optimal_c_norm(beta * land.u @ land.c_hat, land.Q_c)
    assert predicted == pytest.approx(s_num, rel=MIN_RTOL)
    grid = np.linspace(-3 * s_num, 5 * s_num, 101)  # global: no point of a wide grid is lower
    assert all(land.expected_dF(s, beta) >= e_min - 1e-12 for s in grid)


def test_eq6_has_no_minimiser_at_zero_curvature() -> None:
    # The counterexample of the derivation, evaluated numerically: H = diag(0, 1), ∇F = (−1, 0),
    # Δĉ = (1, 0): E[ΔF] keeps falling linearly in s, so "Q ≥ 0" does not give a minimum.
    land = Landscape(
        np.diag([0.0, 1.0]),
        np.array([-1.0, 0.0]),
        np.array([1.0, 0.0]),
        isotropic_design(np.random.default_rng(0), 2, 1.0),
    )
    values = [land.expected_dF(s, 1.0) for s in (1.0, 1e3, 1e6)]
    assert values[0] > values[1] > values[2] and values[2] < -1e5
    with pytest.raises(ValueError, match=r"eq6: condition violated: Q\[Δc\] > 0"):
        cf.optimal_c_norm(-1.0, 0.0)
    assert any("Q[Δc] > 0" in s for s in get("eq6").sharper)


# --------------------------------------------------------------------------- eq9a / eq11
@pytest.mark.parametrize("seed", range(6))
def test_eq9a_ratio_matches_root_found_steady_state(seed: int) -> None:
    land = make(10 + seed)
    beta = land.beta_for(0.0)
    s_num, e_min = land.optimum(beta)
    assert abs(e_min) < 1e-10  # brentq converged on E[ΔF](optimum) = 0 (xtol 1e-14 in β)
    predicted = cf.steady_state_ratio(land.Q_eps, land.Q_c)
    assert predicted == pytest.approx(s_num / land.eps_norm, rel=MIN_RTOL)


@pytest.mark.parametrize("seed", range(8))
def test_eq11_main_claim_agrees_with_numerical_steady_state(seed: int) -> None:
    rng = np.random.default_rng(50 + seed)
    n = 6
    land0 = make(50 + seed, n=n)
    lam, vecs = np.linalg.eigh(land0.h)
    # Alternate directions of high and low curvature so both verdicts occur.
    k = n - 1 if seed % 2 == 0 else 0
    c_hat = vecs[:, k] + 0.2 * rng.normal(size=n) / np.sqrt(n)
    land = make(50 + seed, n=n, c_hat=c_hat)
    assert abs(land.Q_c - land.Q_eps) > 1e-3 * land.Q_eps  # keep clear of the boundary
    s_num, _ = land.optimum(land.beta_for(0.0))
    holds = bool(cf.main_claim_holds(land.Q_c, land.Q_eps))
    assert holds == (s_num <= land.eps_norm)
    assert holds == (seed % 2 == 0)


def test_eq11_is_boolean_and_vectorised() -> None:
    out = cf.main_claim_holds(np.array([1.0, 2.0, 3.0]), 2.0)
    assert out.dtype == bool and out.tolist() == [False, True, True]


# --------------------------------------------------------------------------- eq9b
def test_eq9b_rate_ratio_is_dt_free_only_for_linear_scaling() -> None:
    rates_linear, rates_diffusive = [], []
    for dt in (0.1, 0.01, 0.001):
        lin = make(7, radius=1.3 * dt)  # ‖Δε‖ = ‖ε̇‖Δt with ‖ε̇‖ = 1.3
        s, _ = lin.optimum(lin.beta_for(0.0))
        rates_linear.append((s / dt) / 1.3)
        dif = make(7, radius=1.3 * np.sqrt(dt))  # ‖Δε‖ = σ√Δt with σ = 1.3
        s, _ = dif.optimum(dif.beta_for(0.0))
        rates_diffusive.append((s / dt) / 1.3)
    predicted = float(cf.steady_state_rate_ratio(make(7).Q_eps, make(7).Q_c))
    assert rates_linear == pytest.approx([predicted] * 3, rel=MIN_RTOL)
    # Diffusive: the optimal rate per unit σ grows like Δt^(−1/2): factor √10 per decade.
    assert rates_diffusive[1] / rates_diffusive[0] == pytest.approx(np.sqrt(10), rel=MIN_RTOL)
    assert rates_diffusive[2] / rates_diffusive[1] == pytest.approx(np.sqrt(10), rel=MIN_RTOL)


# --------------------------------------------------------------------------- eq10
@pytest.mark.parametrize("seed", range(5))
def test_eq10_learning_optimum_matches_root_finding(seed: int) -> None:
    land = make(70 + seed)
    target = -float(np.random.default_rng(seed).uniform(0.05, 1.0)) * land.eps_norm**2 * land.Q_eps
    s_num, e_min = land.optimum(land.beta_for(target))
    assert e_min == pytest.approx(target, rel=1e-9)
    predicted = cf.learning_c_norm(land.eps_norm, land.Q_eps, land.Q_c, target)
    assert predicted == pytest.approx(s_num, rel=MIN_RTOL)
    steady = cf.steady_state_ratio(land.Q_eps, land.Q_c) * land.eps_norm
    assert predicted > steady


# --------------------------------------------------------------------------- app1
@pytest.mark.parametrize("seed", range(5))
def test_app1_ratio_holds_when_assumption_3b_is_broken(seed: int) -> None:
    rng = np.random.default_rng(90 + seed)
    n = 6
    base = make(90 + seed, n=n)
    # Shift the design by μ ⟂ ∇F with μᵀHΔĉ ≠ 0: (3a) still holds, (3b) does not.
    mu = base.h @ base.c_hat
    mu -= (mu @ base.u) / (base.u @ base.u) * base.u
    mu *= 0.4 * base.eps_norm / np.linalg.norm(mu)
    land = Landscape(base.h, base.u, base.c_hat, base.eps + mu)
    kappa = float(np.mean(land.eps @ land.h @ land.c_hat))
    assert abs(kappa) > 0.05 * land.eps_norm * land.Q_c  # the cross term is really there
    beta = land.beta_for(0.0)
    s_num, _ = land.optimum(beta)
    predicted = cf.steady_state_ratio(land.Q_eps, land.Q_c)
    assert predicted == pytest.approx(s_num / land.eps_norm, rel=MIN_RTOL)
    # ... while eq6 itself (which used (3b)) is off by κ/Q_c:
    eq6 = cf.optimal_c_norm(beta * land.u @ land.c_hat, land.Q_c)
    assert abs(eq6 - s_num) > 10 * MIN_RTOL * s_num
    assert eq6 - kappa / land.Q_c == pytest.approx(s_num, rel=MIN_RTOL)
    del rng


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("steady_state_ratio", (0.0, 1.0), "Q_eps must be positive"),
        ("steady_state_ratio", (1.0, -1.0), "Q_c must be positive"),
        ("steady_state_rate_ratio", (1.0, 0.0), "Q_c must be positive"),
        ("optimal_c_norm", (0.5, 1.0), "∇FᵀΔĉ < 0"),
        ("optimal_c_norm", (-0.5, [1.0, 0.0]), "Q[Δc] > 0"),
        ("learning_c_norm", (1.0, 1.0, 1.0, 0.6), "‖Δε‖²Q[Δε] − 2E[ΔF] ≥ 0"),
        ("learning_c_norm", (1.0, 1.0, 0.0, -1.0), "Q_c must be positive"),
        ("learning_c_norm", (-1.0, 1.0, 1.0, -1.0), "eps_norm must be non-negative"),
        ("main_claim_holds", (1.0, -1.0), "Q_eps must be positive"),
        ("steady_state_ratio", ([1.0, 2.0], [1.0, 2.0, 3.0]), "shapes"),
        ("steady_state_ratio", (np.nan, 1.0), "Q_eps must be finite"),
    ],
)
def test_bad_input_raises_value_error_naming_the_condition(name: str, args: tuple, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        getattr(cf, name)(*args)
    assert message in str(exc.value)


@pytest.mark.parametrize("result_id", ["eq6", "eq9a", "eq9b", "eq10", "eq11", "app1"])
def test_optimum_results_verify_themselves(result_id: str) -> None:
    result = get(result_id)
    assert result.verified, [c.name for c in result.failed_checks]


def test_sharper_entries_recorded() -> None:
    assert get("eq9b").sharper and "√Δt" in get("eq9b").sharper[0]
    assert get("app1").sharper and "(3b)" in get("app1").sharper[0]
    assert any("cannot" in n or "Not done symbolically" in n for n in get("app1").notes)
