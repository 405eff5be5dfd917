"""Plasticity rules: exact norms, the right expected directions, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plasticity.numerics import rules
from plasticity.numerics.curvature import Q, trace_over_n
from plasticity.numerics.landscapes import FunctionLandscape, Quadratic

EPS = np.finfo(np.float64).eps
# a norm of n float64 terms is exact to ~n·eps relative; 1e-12 covers n ≤ 10⁴ with margin
NORM_RTOL = 1e-12


def quad(seed=0, n=20):
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return Quadratic(eigvals=np.linspace(0.1, 5.0, n), eigvecs=U, w_star=rng.standard_normal(n)), rng


def test_fluctuation_has_exact_norms_and_isotropic_directions():
    rng = np.random.default_rng(0)
    norms = np.array([0.0, 0.5, 2.0])
    X = rules.fluctuation(rng, (3, 1000, 10), norms[:, None])
    np.testing.assert_allclose(
        np.linalg.norm(X, axis=-1), np.broadcast_to(norms[:, None], (3, 1000)), rtol=NORM_RTOL
    )
    U = rules.fluctuation(rng, (20000, 10), 1.0)
    # isotropy: E[u] = 0 and E[uuᵀ] = I/n; each entry's s.d. is ≤ 1/√(n·M), allow 5 s.d.
    sd = 1 / np.sqrt(10 * 20000)
    assert np.max(np.abs(U.mean(0))) < 5 * sd
    assert np.max(np.abs(U.T @ U / 20000 - np.eye(10) / 10)) < 5 * sd
    with pytest.raises(ValueError, match="norm must be non-negative"):
        rules.fluctuation(rng, (2, 3), -1.0)


def test_gammas_split_the_magnitude_by_the_noise_to_signal_ratio():
    m = np.array([0.3, 1.0, 2.5])
    for r in [1e-8, 0.1, 1.0, 20.0, 1e8]:
        g1, g2 = rules.gammas(m, r)
        np.testing.assert_allclose(g1**2 + g2**2, m**2, rtol=1e-14)  # γ₁² + γ₂² = m²
        np.testing.assert_allclose(g2 / g1, r, rtol=1e-14)  # r = γ₂/γ₁
    g1, g2 = rules.gammas(2.0, 0.0)
    assert (g1, g2) == (2.0, 0.0)  # pure gradient
    g1, g2 = rules.gammas(2.0, np.inf)
    assert (g1, g2) == (0.0, 2.0)  # pure noise
    with pytest.raises(ValueError, match="magnitude must be non-negative"):
        rules.gammas(-1.0, 1.0)
    with pytest.raises(ValueError, match="noise_to_signal"):
        rules.gammas(1.0, -2.0)
    with pytest.raises(ValueError, match="noise_to_signal"):
        rules.gammas(1.0, np.nan)


def test_gradient_rule_is_steepest_descent_of_exact_norm():
    q, rng = quad()
    W = rng.standard_normal((5, q.n))
    G = q.grad_batch(W)
    dc = rules.gradient(G, np.arange(1.0, 6.0))
    np.testing.assert_allclose(np.linalg.norm(dc, axis=-1), np.arange(1.0, 6.0), rtol=NORM_RTOL)
    cos = np.einsum("ki,ki->k", dc, G) / np.linalg.norm(dc, axis=-1) / np.linalg.norm(G, axis=-1)
    np.testing.assert_allclose(cos, -1.0, rtol=NORM_RTOL)
    with pytest.raises(ValueError, match="zero norm"):
        rules.gradient(np.zeros((2, 3)), 1.0)


def test_noisy_gradient_expected_direction_and_norm():
    q, rng = quad(1)
    w = rng.standard_normal(q.n)
    g = q.grad(w)
    m, r = 1.5, 0.5
    g1, g2 = rules.gammas(m, r)
    M = 20000
    dc = rules.noisy_gradient(np.broadcast_to(g, (M, q.n)), rng, m, r)
    # the noise part has norm exactly γ₂ in every row
    ghat = g / np.linalg.norm(g)
    np.testing.assert_allclose(np.linalg.norm(dc + g1 * ghat, axis=-1), g2, rtol=1e-12)
    # E[Δc] = -γ₁ĝ (the noise averages out): each entry's s.d. is γ₂/√(n·M); allow 5 s.d.
    assert np.max(np.abs(dc.mean(0) + g1 * g / np.linalg.norm(g))) < 5 * g2 / np.sqrt(q.n * M)
    # E‖Δc‖² = γ₁² + γ₂² = m² (the cross term has mean zero; its s.d. is 2γ₁γ₂/√(n·M))
    assert abs(np.mean(np.sum(dc**2, -1)) - m**2) < 5 * 2 * g1 * g2 / np.sqrt(q.n * M)
    # pure gradient at noise_to_signal = 0: exactly the gradient rule, and no noise drawn
    state = rng.bit_generator.state
    np.testing.assert_allclose(rules.noisy_gradient(g, rng, m, 0.0), rules.gradient(g, m), rtol=1e-15)
    assert rng.bit_generator.state == state


def test_zeroth_order_exact_norm_descends_and_ignores_the_hessian():
    q, rng = quad(2, n=30)
    W = q.center + rng.standard_normal((4000, q.n))
    dc = rules.zeroth_order(q, W, rng, 0.7)
    np.testing.assert_allclose(np.linalg.norm(dc, axis=-1), 0.7, rtol=NORM_RTOL)
    # on a quadratic the central difference is exact up to rounding, so every step that is
    # not orthogonal to ∇F (beyond rounding, 1e-6 relative) points downhill
    G = q.grad_batch(W)
    proj = np.einsum("ki,ki->k", dc, G) / (0.7 * np.linalg.norm(G, axis=-1))
    clear = np.abs(proj) > 1e-6
    assert np.all(proj[clear] < 0) and clear.mean() > 0.99
    # isotropic direction: E[Q[Δc]] = Tr(H)/N (si_zeroth_order), within 5 standard errors
    # the direction is isotropic: E[Δc Δcᵀ]/m² = I/n; an entry of the sample mean has
    # s.d. ≤ √2/(n√M) (Var(u_i²) ≈ 2/n²), allow 5 s.d.
    M = W.shape[0]
    assert np.max(np.abs(dc.T @ dc / (0.49 * M) - np.eye(q.n) / q.n)) < 5 * np.sqrt(2) / (q.n * np.sqrt(M))
    qs = Q(q, W[0], dc)  # H is constant on a quadratic: Q at any point
    exact = trace_over_n(q, W[0]).value
    assert abs(qs.mean() - exact) < 5 * qs.std(ddof=1) / np.sqrt(qs.size)
    # whereas the gradient direction has Q[∇F] (eq13, ≈ Σλ³/Σλ² ≈ 3.7 here) far above Tr(H)/N
    qg = Q(q, W[0], G)
    assert qg.mean() - exact > 10 * qg.std(ddof=1) / np.sqrt(qg.size)


def test_zeroth_order_single_point_and_determinism():
    q, rng = quad(3)
    w = rng.standard_normal(q.n)
    a = rules.zeroth_order(q, w, np.random.default_rng(5), 0.2)
    b = rules.zeroth_order(q, w, np.random.default_rng(5), 0.2)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (q.n,) and a @ q.grad(w) < 0
    with pytest.raises(ValueError, match="magnitude must be non-negative"):
        rules.zeroth_order(q, w, rng, -0.2)


def test_newton_points_at_the_minimum_of_a_quadratic():
    q, rng = quad(4)
    W = rng.standard_normal((3, q.n))
    dc = rules.newton(q, W, 0.4)
    np.testing.assert_allclose(np.linalg.norm(dc, axis=-1), 0.4, rtol=NORM_RTOL)
    to_min = q.center - W
    cos = np.einsum("ki,ki->k", dc, to_min) / (0.4 * np.linalg.norm(to_min, axis=-1))
    # H⁻¹∇F = w - w* exactly; the eigen-solve loses ~cond(H)·eps = 50·eps relative
    np.testing.assert_allclose(cos, 1.0, atol=1e-12)
    # the generic path (Hessian from a user's callables) agrees with the Quadratic path
    f = FunctionLandscape(q.loss, q.n, grad=q.grad, hess=q.hessian)
    np.testing.assert_allclose(rules.newton(f, W[0], 0.4), dc[0], atol=1e-12)
    np.testing.assert_allclose(rules.beeline(W, q.w_star, 0.4), dc, atol=1e-12)


def test_newton_refuses_indefinite_and_singular_hessians():
    with pytest.raises(ValueError, match="indefinite"):
        rules.newton(Quadratic(np.diag([1.0, -1.0])), np.ones(2), 1.0)
    with pytest.raises(ValueError, match="singular"):
        rules.newton(Quadratic(np.diag([1.0, 0.0])), np.ones(2), 1.0)
    with pytest.raises(ValueError, match="magnitude must be non-negative"):
        rules.newton(Quadratic(np.eye(2)), np.ones(2), -1.0)


def test_beeline():
    rng = np.random.default_rng(6)
    w, ws = rng.standard_normal((4, 7)), rng.standard_normal(7)
    dc = rules.beeline(w, ws, np.array([0.1, 0.2, 0.3, 0.4]))
    np.testing.assert_allclose(np.linalg.norm(dc, axis=-1), [0.1, 0.2, 0.3, 0.4], rtol=NORM_RTOL)
    cos = np.einsum("ki,ki->k", dc, ws - w) / np.linalg.norm(dc, axis=-1) / np.linalg.norm(ws - w, axis=-1)
    np.testing.assert_allclose(cos, 1.0, rtol=NORM_RTOL)
    with pytest.raises(ValueError, match="already at w_star"):
        rules.beeline(ws, ws, 1.0)
    with pytest.raises(ValueError, match="magnitude must be non-negative"):
        rules.beeline(w, ws, -0.1)
    with pytest.raises(ValueError, match="w_star has 3 entries"):
        rules.beeline(w, ws[:3], 0.1)


def test_random_rules_are_deterministic_given_the_generator():
    g = np.random.default_rng(7).standard_normal((3, 9))
    for fn in (
        lambda r: rules.fluctuation(r, (3, 9), 1.0),
        lambda r: rules.noisy_gradient(g, r, 1.0, 0.5),
    ):
        np.testing.assert_array_equal(fn(np.random.default_rng(1)), fn(np.random.default_rng(1)))
        assert not np.array_equal(fn(np.random.default_rng(1)), fn(np.random.default_rng(2)))
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        rules.fluctuation(42, (3, 9), 1.0)
    with pytest.raises(ValueError, match="magnitude must be non-negative"):
        rules.noisy_gradient(g, np.random.default_rng(0), -1.0, 1.0)
    with pytest.raises(ValueError, match="grad contains NaN"):
        rules.gradient(np.full((2, 2), np.nan), 1.0)


@settings(max_examples=60, deadline=None)
@given(
    # (subnormal magnitudes carry no relative precision; 1e-100 keeps m² normal)
    m=st.one_of(st.just(0.0), st.floats(1e-100, 1e6)),
    r=st.one_of(st.floats(0.0, 1e12, allow_nan=False), st.just(np.inf)),
)
def test_gammas_property(m, r):
    g1, g2 = rules.gammas(m, r)
    assert g1 >= 0 and g2 >= 0
    # γ₁² + γ₂² = m² to a few ulps of m² (each γ carries ≤ 3 roundings)
    assert abs(g1**2 + g2**2 - m**2) <= 8 * EPS * m**2
    if 0 < r < np.inf and m > 0:
        assert abs(g2 - r * g1) <= 8 * EPS * g2  # γ₂ = r γ₁


@settings(max_examples=40, deadline=None)
@given(
    lead=st.lists(st.integers(1, 4), min_size=0, max_size=2),
    n=st.integers(1, 50),
    # (norms below ~1e-150 would underflow when the test squares them to measure the norm)
    norm=st.one_of(st.just(0.0), st.floats(1e-100, 1e3)),
    seed=st.integers(0, 2**32 - 1),
)
def test_fluctuation_norm_property(lead, n, norm, seed):
    x = rules.fluctuation(np.random.default_rng(seed), (*lead, n), norm)
    assert x.shape == (*lead, n)
    np.testing.assert_allclose(np.linalg.norm(x, axis=-1), norm, rtol=NORM_RTOL)
