"""The Hypothesis strategies produce what they promise for every example they draw, and
refuse bad parameters.  Nothing here depends on where Hypothesis happens to shrink: that
changes between its releases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from plasticity.checks import strategies as cs

FAST = settings(max_examples=30, deadline=None, derandomize=True, database=None)
# eigen-decomposition round trip of a well-conditioned matrix of size ≤ 10: ~N·ε·λ_max
ROUND = 1e-12


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(cs.reals(-1.0, 1.0))
def test_reals_are_normal_floats(x: float) -> None:
    # subnormals would break every N·κ·ε rounding bound the claims state
    assert np.isfinite(x) and -1.0 <= x <= 1.0
    assert x == 0.0 or abs(x) >= np.finfo(float).tiny


@FAST
@given(cs.spectra(cs.dimensions(2, 8), kind="positive definite", max_condition=100.0))
def test_positive_definite_spectrum(lam: np.ndarray) -> None:
    assert np.all(lam > 0) and np.all(np.diff(lam) >= 0)
    assert lam.max() / lam.min() <= 100.0 * (1 + 1e-12)


@FAST
@given(cs.spectra(cs.dimensions(2, 8), kind="semidefinite"))
def test_semidefinite_spectrum(lam: np.ndarray) -> None:
    assert np.all(lam >= 0) and np.any(lam == 0) and np.any(lam > 0)


@FAST
@given(cs.spectra(cs.dimensions(2, 8), kind="indefinite"))
def test_indefinite_spectrum(lam: np.ndarray) -> None:
    assert np.any(lam < 0) and np.any(lam > 0)


@FAST
@given(cs.spectra(cs.dimensions(2, 8), kind="pairwise"))
def test_pairwise_spectrum_is_in_eq14s_domain(lam: np.ndarray) -> None:
    pair_sums = lam[:, None] + lam[None, :]
    assert np.all(pair_sums[~np.eye(lam.size, dtype=bool)] >= 0)


@FAST
@given(cs.spectra(cs.dimensions(2, 8), kind="beyond pairwise"))
def test_beyond_pairwise_spectrum_leaves_it_by_a_little(lam: np.ndarray) -> None:
    assert lam[0] + lam[1] < 0 <= lam[1]  # the pair of the two smallest violates it
    assert lam[0] >= -1.5 * lam[1]  # by at most half of λ₂


@FAST
@given(cs.hessians(cs.dimensions(2, 8), kind="indefinite"))
def test_hessian_is_symmetric_with_its_eigenbasis(h: cs.SymmetricHessian) -> None:
    assert np.array_equal(h.H, h.H.T)
    U = h.eigvecs
    np.testing.assert_allclose(U.T @ U, np.eye(h.n), atol=ROUND)
    np.testing.assert_allclose(np.linalg.eigvalsh(h.H), h.eigvals, atol=ROUND * np.abs(h.eigvals).max())
    assert h.trace_over_n == pytest.approx(np.trace(h.H) / h.n, abs=ROUND)


@FAST
@given(st.integers(2, 6).flatmap(lambda n: cs.orthogonal_bases(n, method="floats")))
def test_orthogonal_from_floats(U: np.ndarray) -> None:
    np.testing.assert_allclose(U.T @ U, np.eye(U.shape[0]), atol=ROUND)


@FAST
@given(st.integers(1, 9).flatmap(cs.directions))
def test_directions_are_unit(v: np.ndarray) -> None:
    assert np.linalg.norm(v) == pytest.approx(1.0, rel=1e-12)


@FAST
@given(cs.spectra(cs.dimensions(3, 8), max_condition=10.0), st.sampled_from(cs.BIASES), st.data())
def test_projections_biases(lam: np.ndarray, bias: str, data: st.DataObject) -> None:
    c = data.draw(cs.projections(lam, bias=bias))
    assert c.shape == lam.shape and np.linalg.norm(c) == pytest.approx(1.0, rel=1e-12)
    order = np.argsort(lam, kind="stable")
    mags = np.abs(c[order])
    if bias == "equal":
        np.testing.assert_allclose(mags, mags[0])
    elif bias == "flat":
        assert np.all(np.diff(mags) <= 1e-15)  # mass decays from the flattest direction
    elif bias == "steep":
        assert np.all(np.diff(mags) >= -1e-15)


@FAST
@given(cs.quadratic_states(cs.dimensions(2, 6), bias="random"))
def test_quadratic_state_gradient(state: cs.QuadraticState) -> None:
    x = state.w - state.w_star
    np.testing.assert_allclose(state.hessian.eigvecs.T @ x, state.c, atol=ROUND)
    np.testing.assert_allclose(state.grad, state.hessian.H @ x, atol=ROUND)


@settings(max_examples=10, deadline=None, derandomize=True, database=None)
@given(cs.landscapes(cs.dimensions(2, 5), kind="quartic"), cs.seeds())
def test_quartic_landscape_derivatives(land, seed: int) -> None:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    w = land.w_star + 0.3 * rng.standard_normal(land.n)
    v = rng.standard_normal(land.n)
    h = 1e-5
    # central differences: error O(h²·F''') ≈ 1e-10 relative for these cubic-growth terms
    fd = (land.loss(w + h * v) - land.loss(w - h * v)) / (2 * h)
    assert land.grad(w) @ v == pytest.approx(fd, rel=1e-6, abs=1e-8)
    fd2 = (land.grad(w + h * v) - land.grad(w - h * v)) / (2 * h)
    np.testing.assert_allclose(land.hessian(w) @ v, fd2, rtol=1e-6, atol=1e-8)
    assert np.allclose(land.grad(land.w_star), 0.0)


@settings(max_examples=5, deadline=None, derandomize=True, database=None)
@given(cs.landscapes(cs.dimensions(2, 5), kind="quadratic"))
def test_quadratic_landscape(land) -> None:  # noqa: ANN001
    assert np.allclose(land.grad(land.w_star), 0.0)


def _draw(strategy: st.SearchStrategy) -> object:
    return find(strategy, lambda x: True, settings=settings(max_examples=5, database=None))


def test_same_seed_same_basis() -> None:
    np.testing.assert_array_equal(cs.orthogonal_from_seed(5, 3), cs.orthogonal_from_seed(5, 3))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: _draw(cs.spectra(3, kind="hyperbolic")), "kind must be one of"),
        (lambda: _draw(cs.spectra(3, max_condition=0.5)), "max_condition"),
        (lambda: _draw(cs.spectra(1, kind="indefinite")), "dimension >= 2"),
        (lambda: _draw(cs.projections(np.ones(3), bias="sideways")), "bias must be one of"),
        (lambda: cs.dimensions(5, 2), "min_dim"),
        (lambda: cs.noise_levels(2.0, 1.0), "min_ratio"),
        (lambda: cs.reals(1.0, 0.0), "min_value <= max_value"),
        (lambda: _draw(cs.orthogonal_bases(3, method="magic")), "method"),
    ],
)
def test_bad_parameters_are_value_errors(make, match: str) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=match):
        make()
