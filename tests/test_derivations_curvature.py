"""Curvature results (eq12-eq14, si_*, lemma_average_case) against independent numpy evaluations.

Each closed form is compared with a computation that does not use it: explicit Hessians
H = V diag(λ) Vᵀ with a random orthogonal V, gradients and Newton steps by linear algebra, and
Monte Carlo means with a standard-error tolerance.  Tolerances: float64 linear algebra on
well-conditioned matrices (condition number < 1e3) agrees to ~1e-13 relative, so we use 1e-10;
Monte Carlo means are allowed 5 standard errors (seeded, so deterministic).
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plasticity.derivations import closed_forms as cf
from plasticity.derivations import get
from plasticity.derivations.precision import evaluate_mp

IDS = (
    "eq12",
    "eq13",
    "eq14",
    "si_mean_hessian",
    "si_newton",
    "si_noisy",
    "si_zeroth_order",
    "si_positivity",
    "lemma_average_case",
)

RTOL = 1e-10  # float64 matrix products/solves on condition numbers < 1e3 (error ~1e3·ε ≈ 2e-13)
Z = 5.0  # Monte Carlo: 5 standard errors


def orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def hessian(rng: np.random.Generator, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    V = orthogonal(rng, lam.shape[-1])
    return V @ np.diag(lam) @ V.T, V


def quad_Q(H: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Q[v] = vᵀHv/vᵀv for rows of v."""
    return np.einsum("...i,ij,...j->...", v, H, v) / np.einsum("...i,...i->...", v, v)


def unit_directions(rng: np.random.Generator, k: int, n: int) -> np.ndarray:
    g = rng.standard_normal((k, n))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


@pytest.mark.parametrize("rid", IDS)
def test_derivation_self_checks_pass(rid: str) -> None:
    result = get(rid)
    assert result.checks, f"{rid} ran no self-checks"
    assert result.verified, [c.name for c in result.failed_checks]


def test_eq12_monte_carlo_mean_of_Q_over_isotropic_directions() -> None:
    rng = np.random.default_rng(12)
    n, k = 7, 40_000
    H, _ = hessian(rng, rng.uniform(-1.0, 3.0, n))
    q = quad_Q(H, unit_directions(rng, k, n) * rng.uniform(0.1, 5.0, (k, 1)))  # random norms too
    se = q.std(ddof=1) / np.sqrt(k)
    predicted = cf.expected_Q_isotropic(np.trace(H), n)
    assert abs(q.mean() - predicted) < Z * se


def test_eq13_against_explicit_quadratic_batched() -> None:
    rng = np.random.default_rng(13)
    n, batch = 6, 5
    lam = rng.uniform(0.1, 4.0, (batch, n))
    c = rng.standard_normal((batch, n))
    expected = []
    for b in range(batch):
        H, V = hessian(rng, lam[b])
        w_minus = V @ c[b]
        g = H @ w_minus  # ∇F of ½(w−w*)ᵀH(w−w*)
        expected.append(quad_Q(H, g))
    got = cf.Q_gradient_quadratic(lam, c)
    assert got.shape == (batch,)
    np.testing.assert_allclose(got, expected, rtol=RTOL)


def test_eq13_gradient_by_finite_differences() -> None:
    # the gradient of the quadratic really is H(w−w*): central differences, error O(h²)·|F'''| = 0
    rng = np.random.default_rng(131)
    n = 4
    H, _ = hessian(rng, rng.uniform(0.5, 2.0, n))
    w_star, w = rng.standard_normal(n), rng.standard_normal(n)

    def F(x: np.ndarray) -> float:
        return 0.5 * (x - w_star) @ H @ (x - w_star)

    h = 1e-5
    fd = np.array([(F(w + h * e) - F(w - h * e)) / (2 * h) for e in np.eye(n)])
    # cubic remainder vanishes; rounding error ~ ε·|F|/h ≈ 1e-11
    np.testing.assert_allclose(fd, H @ (w - w_star), atol=1e-8)


def test_eq14_equal_projections_and_chebyshev() -> None:
    rng = np.random.default_rng(14)
    lam = rng.uniform(0.0, 5.0, (200, 5))
    c0 = 0.7
    np.testing.assert_allclose(
        cf.Q_gradient_equal_projections(lam), cf.Q_gradient_quadratic(lam, np.full_like(lam, c0)), rtol=RTOL
    )
    H, V = hessian(rng, lam[0])
    g = H @ (V @ np.full(5, c0))
    np.testing.assert_allclose(cf.Q_gradient_equal_projections(lam[0]), quad_Q(H, g), rtol=RTOL)
    # Chebyshev: ≥ mean eigenvalue for PSD spectra (margin: float64 rounding of sums, 1e-12 relative)
    gap = cf.Q_gradient_equal_projections(lam) - lam.mean(axis=1)
    assert np.all(gap >= -1e-12 * lam.max(axis=1))


def test_eq14_sharper_pairwise_condition_exact() -> None:
    def exact_gap(lam: list[int]) -> Fraction:
        return Fraction(sum(x**3 for x in lam), sum(x**2 for x in lam)) - Fraction(sum(lam), len(lam))

    assert exact_gap([-1, 2, 3]) == Fraction(23, 21)  # indefinite, pairwise sums ≥ 0: holds
    assert exact_gap([-3, 1, 1]) < 0  # a negative pair sum: fails
    # the registered closed form gives the same numbers
    assert cf.Q_gradient_equal_projections(np.array([-1.0, 2, 3])) == pytest.approx(17 / 7, rel=1e-15)
    assert "(−1, 2, 3)" in " ".join(get("eq14").sharper)
    # random spectra with one negative eigenvalue smaller in size than every other one
    rng = np.random.default_rng(141)
    pos = rng.uniform(1.0, 3.0, (500, 4))
    neg = -rng.uniform(0.0, 1.0, (500, 1)) * pos.min(axis=1, keepdims=True)
    lam = np.concatenate([neg, pos], axis=1)
    gap = cf.Q_gradient_equal_projections(lam) - lam.mean(axis=1)
    assert np.all(gap >= -1e-12 * np.abs(lam).max(axis=1))


def test_si_mean_hessian_against_explicit_gradient_and_bounds() -> None:
    rng = np.random.default_rng(15)
    n = 6
    lam = np.sort(rng.uniform(-1.0, 4.0, n))
    H, V = hessian(rng, lam)
    g = rng.standard_normal((300, n))
    d = g @ V  # coordinates of each gradient in the eigenbasis
    q = cf.Q_gradient_mean_hessian(lam, d)
    np.testing.assert_allclose(q, quad_Q(H, g), rtol=RTOL)
    assert np.all(q >= lam[0] - 1e-12) and np.all(q <= lam[-1] + 1e-12)  # rounding margin
    # sufficient condition: d² ordered like λ gives Q ≥ Tr/N
    d_sorted = np.sort(np.abs(d), axis=1)
    assert np.all(cf.Q_gradient_mean_hessian(lam, d_sorted) >= lam.mean() - 1e-12)


def test_si_mean_hessian_integral_identity_numerically() -> None:
    # non-quadratic F(w) = Σ cosh(w−w*) + ¼‖w−w*‖⁴ : ∇F(w) = M(w−w*) with M the mean Hessian
    rng = np.random.default_rng(151)
    n = 3
    w_star, w = rng.standard_normal(n), rng.standard_normal(n)

    def grad(x: np.ndarray) -> np.ndarray:
        y = x - w_star
        return np.sinh(y) + (y @ y) * y

    def hess(x: np.ndarray) -> np.ndarray:
        y = x - w_star
        return np.diag(np.cosh(y)) + (y @ y) * np.eye(n) + 2 * np.outer(y, y)

    nodes, weights = np.polynomial.legendre.leggauss(30)
    s = (nodes + 1) / 2
    M = sum(wt / 2 * hess(w_star + si * (w - w_star)) for si, wt in zip(s, weights, strict=True))
    # 30-point Gauss–Legendre on an entire integrand of modest size: error far below 1e-12
    np.testing.assert_allclose(M @ (w - w_star), grad(w), rtol=1e-12)


def test_si_newton_against_explicit_newton_step() -> None:
    rng = np.random.default_rng(16)
    n = 5
    for _ in range(20):
        lam = rng.uniform(0.2, 5.0, n)
        H, V = hessian(rng, lam)
        g = V @ np.full(n, 0.3)  # M independent of H: equal projections of ∇F
        dc = -np.linalg.solve(H, g)
        assert cf.Q_newton_independent(lam) == pytest.approx(quad_Q(H, dc), rel=RTOL)
        assert cf.Q_newton_independent(lam) <= lam.mean() * (1 + 1e-12)  # rounding margin
        # M = H: the Newton step is −(w − w*), so Q[Δc] = Q[w − w*]
        v = rng.standard_normal(n)
        np.testing.assert_allclose(-np.linalg.solve(H, H @ v), -v, rtol=RTOL, atol=1e-12)


def test_si_noisy_ratio_of_expectations_exact_and_monte_carlo() -> None:
    rng = np.random.default_rng(17)
    n, k = 5, 40_000
    H, _ = hessian(rng, rng.uniform(0.0, 3.0, n))
    t = rng.standard_normal(n)
    a, b = np.linalg.norm(t), 1.7
    q_tilde, q_nu = quad_Q(H, t), np.trace(H) / n  # E[νᵀHν] = b² Tr/N exactly for isotropic ν
    exact = (t @ H @ t + b**2 * np.trace(H) / n) / (a**2 + b**2)
    assert cf.Q_noisy_expected(a, b, q_tilde, q_nu) == pytest.approx(exact, rel=RTOL)
    nu = b * unit_directions(rng, k, n)
    v = t + nu
    num, den = np.einsum("ki,ij,kj->k", v, H, v), np.einsum("ki,ki->k", v, v)
    # ratio of MC means; delta-method standard error of num̄/den̄
    rho = num.mean() / den.mean()
    se = np.std(num - rho * den, ddof=1) / np.sqrt(k) / den.mean()
    assert abs(rho - cf.Q_noisy_expected(a, b, q_tilde, q_nu)) < Z * se


def test_si_noisy_approaches_Q_nu_from_above_and_ratio_from_below() -> None:
    r = np.geomspace(0.01, 1e3, 50)
    q = cf.Q_noisy_expected(1.0, r, 3.0, 1.0)
    assert np.all(np.diff(q) < 0) and np.all(q > 1.0)
    assert q[-1] == pytest.approx(1.0, abs=1e-5)  # (3 − 1)/(1 + 10⁶) = 2e-6
    ratio = cf.steady_state_ratio(1.0, q)  # Q_eps = Q_nu = 1
    assert np.all(np.diff(ratio) > 0) and np.all(ratio < 1.0)


def test_si_noisy_counterexample_by_independent_quadrature() -> None:
    # N = 2, H = diag(1, 0), Δc̃ = (1, 0), ν = ½(cos θ, sin θ): E[Q] by mpmath quadrature
    def Q(theta: mpmath.mpf) -> mpmath.mpf:
        x, y = 1 + mpmath.cos(theta) / 2, mpmath.sin(theta) / 2
        return x**2 / (x**2 + y**2)

    with mpmath.workdps(30):
        mean_Q = mpmath.quad(Q, [0, mpmath.pi, 2 * mpmath.pi]) / (2 * mpmath.pi)
        assert abs(mean_Q - mpmath.mpf(7) / 8) < mpmath.mpf(10) ** -25  # quadrature accuracy at 30 dps
    assert cf.Q_noisy_expected(1.0, 0.5, 1.0, 0.5) == pytest.approx(0.9, rel=1e-15)
    assert "7/8" in " ".join(get("si_noisy").sharper)


def test_si_zeroth_order_monte_carlo() -> None:
    rng = np.random.default_rng(18)
    n, k = 8, 40_000
    H, _ = hessian(rng, rng.uniform(-0.5, 2.0, n))
    dc = -rng.uniform(0.1, 2.0, (k, 1)) * unit_directions(rng, k, n)
    q = quad_Q(H, dc)
    se = q.std(ddof=1) / np.sqrt(k)
    assert abs(q.mean() - cf.expected_Q_zeroth_order(np.trace(H), n)) < Z * se
    assert cf.steady_state_ratio(cf.expected_Q_zeroth_order(3.0, 4), cf.expected_Q_isotropic(3.0, 4)) == 1.0


def test_lemma_average_case_monte_carlo() -> None:
    rng = np.random.default_rng(19)
    n, k = 6, 40_000
    lam = np.array([0.05, 0.3, 0.6, 1.0, 2.0, 4.0])
    c = rng.standard_normal((k, n))  # isotropic w − w* in the eigenbasis
    q = cf.Q_gradient_quadratic(lam, c)
    se = q.std(ddof=1) / np.sqrt(k)
    assert q.mean() - lam.mean() > -Z * se
    # the lemma's inner step: E[p_i] is ordered like λ_i
    p = lam**2 * c**2 / np.sum(lam**2 * c**2, axis=1, keepdims=True)
    p_mean, p_se = p.mean(axis=0), p.std(axis=0, ddof=1) / np.sqrt(k)
    assert np.all(np.diff(p_mean) > -Z * np.hypot(p_se[1:], p_se[:-1]))


def test_si_positivity_statements() -> None:
    rng = np.random.default_rng(20)
    H, _ = hessian(rng, rng.uniform(0.0, 2.0, 5))  # ⪰ 0
    assert np.all(quad_Q(H, rng.standard_normal((1000, 5))) >= -1e-12)  # rounding margin
    assert any("(−1, 2)" in note for note in get("si_positivity").notes)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("Q_gradient_quadratic", {"lam": np.ones(3), "c": np.ones(4)}, "one common N"),
        ("Q_gradient_quadratic", {"lam": np.ones((2, 3)), "c": np.ones((3, 3))}, "broadcastable"),
        ("Q_gradient_quadratic", {"lam": 1.0, "c": 2.0}, "arrays of shape"),
        ("Q_gradient_quadratic", {"lam": np.ones(3), "c": np.zeros(3)}, "Σλ_i²c_i² > 0"),
        ("Q_gradient_quadratic", {"lam": np.ones(3), "c": [1.0, np.nan, 1.0]}, "c must be finite"),
        ("Q_gradient_equal_projections", {"lam": np.zeros((2, 0))}, "N >= 1"),
        ("Q_gradient_equal_projections", {"lam": np.zeros(4)}, "Σλ_i² > 0"),
        ("Q_gradient_mean_hessian", {"lam": np.ones(3), "d": np.zeros(3)}, "Σd_i² > 0"),
        ("Q_newton_independent", {"lam": np.array([1.0, 0.0])}, "lam must be positive"),
        (
            "Q_noisy_expected",
            {"tilde_norm": -1.0, "nu_norm": 1.0, "Q_tilde": 1.0, "Q_nu": 1.0},
            "non-negative",
        ),
        ("Q_noisy_expected", {"tilde_norm": 0.0, "nu_norm": 0.0, "Q_tilde": 1.0, "Q_nu": 1.0}, "‖ν‖² > 0"),
        ("expected_Q_isotropic", {"trace_H": 1.0, "n": 0}, "n must be positive"),
        ("expected_Q_zeroth_order", {"trace_H": np.inf, "n": 3}, "finite"),
    ],
)
def test_bad_input_raises_value_error_naming_the_condition(name: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        getattr(cf, name)(**kwargs)


def test_batched_numeric_forms_match_row_by_row() -> None:
    rng = np.random.default_rng(21)
    lam, c = rng.uniform(0.1, 3.0, (4, 3, 5)), rng.standard_normal((4, 3, 5))
    full = cf.Q_gradient_quadratic(lam, c)
    rows = np.array([[cf.Q_gradient_quadratic(lam[a, b], c[a, b]) for b in range(3)] for a in range(4)])
    np.testing.assert_array_equal(full, rows)
    assert cf.Q_newton_independent(lam).shape == (4, 3)
    assert cf.Q_gradient_mean_hessian(lam, c[0, 0]).shape == (4, 3)  # broadcast batch axes


@st.composite
def pairwise_nonnegative_spectra(draw: st.DrawFn) -> list[int]:
    """Integer spectra with λ_i + λ_j ≥ 0 for every pair i ≠ j (at most one negative, and small)."""
    pos = draw(st.lists(st.integers(0, 50), min_size=1, max_size=6))
    neg = draw(st.integers(0, min(pos)))
    return [*pos, -neg] if draw(st.booleans()) else pos


@settings(max_examples=60, deadline=None)
@given(pairwise_nonnegative_spectra())
def test_eq14_inequality_under_pairwise_condition_exactly(lam: list[int]) -> None:
    if not any(lam):
        return  # Σλ² = 0: eq14 is undefined (its condition rejects it)
    # evaluate at 50 digits: integer inputs make the only error the final rounding (1e-48 relative)
    with mpmath.workdps(50):
        gap = evaluate_mp("eq14", lam=lam) - mpmath.mpf(sum(lam)) / len(lam)
        assert gap >= -(mpmath.mpf(10) ** -45) * max(abs(x) for x in lam)
