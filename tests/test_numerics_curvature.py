"""Curvature: Q operators, Tr(∇²F)/N (exact and Hutchinson), extreme eigenvalues, spectrum."""

from __future__ import annotations

import numpy as np
import pytest

from plasticity.numerics import curvature as cv
from plasticity.numerics import networks as nw
from plasticity.numerics.landscapes import NetworkLandscape, Quadratic

EPS = np.finfo(np.float64).eps


class HvpOnly:
    """A landscape that offers Hessian-vector products but refuses to build a Hessian."""

    def __init__(self, H):
        self.H = H
        self.n = H.shape[0]
        self.w_star = None
        self.calls = 0

    def hvp(self, w, v):
        self.calls += 1
        return np.asarray(v) @ self.H

    def hessian(self, w):
        raise AssertionError("matrix-free code must not ask for the Hessian")


def spd(rng, n, lam):
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    H = (U * lam) @ U.T
    return 0.5 * (H + H.T), U


def test_Q_of_an_eigenvector_is_its_eigenvalue_and_scale_free():
    rng = np.random.default_rng(0)
    lam = np.linspace(0.5, 4.0, 12)
    H, U = spd(rng, 12, lam)
    q = Quadratic(H)
    w = rng.standard_normal(12)
    # Q[u_i] = λ_i, to rounding of a 12-term product (≤ 12·eps·max λ, ×10 margin)
    np.testing.assert_allclose(cv.Q(q, w, U.T), lam, rtol=0, atol=120 * EPS * 4)
    np.testing.assert_allclose(cv.Q_from_hessian(H, U.T), lam, rtol=0, atol=120 * EPS * 4)
    v = rng.standard_normal(12)
    assert isinstance(cv.Q(q, w, v), float)
    np.testing.assert_allclose(cv.Q(q, w, 7.5 * v), cv.Q(q, w, v), rtol=1e-14)
    np.testing.assert_allclose(cv.Q(q, w, v), v @ H @ v / (v @ v), rtol=1e-13)
    # a mixture of eigenvectors: Q is the weight-averaged eigenvalue Σλc²/Σc²
    c = rng.standard_normal(12)
    np.testing.assert_allclose(cv.Q(q, w, U @ c), np.sum(lam * c**2) / np.sum(c**2), rtol=1e-13)


def test_Q_on_a_network_matches_its_hessian():
    rng = np.random.default_rng(1)
    st = nw.student_teacher(nw.NONLINEAR, rng, n_inputs=100)
    L = NetworkLandscape(nw.NONLINEAR, st.teacher, st.inputs)
    w = st.teacher * (1 + 0.2 * rng.standard_normal(L.n))
    V = rng.standard_normal((5, L.n))
    # HVP and structured Hessian agree to ~P·eps relative (independent constructions)
    np.testing.assert_allclose(cv.Q(L, w, V), cv.Q_from_hessian(L.hessian(w), V), rtol=1e-10)


def test_Q_bad_input():
    q = Quadratic(np.eye(3))
    with pytest.raises(ValueError, match="zero norm"):
        cv.Q(q, np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="V must have shape"):
        cv.Q(q, np.zeros(3), np.ones(4))
    with pytest.raises(ValueError, match="not symmetric"):
        cv.Q_from_hessian(np.triu(np.ones((3, 3))), np.ones(3))
    with pytest.raises(ValueError, match="square"):
        cv.Q_from_hessian(np.ones((3, 2)), np.ones(3))


def test_exact_trace_over_n():
    rng = np.random.default_rng(2)
    lam = rng.uniform(-1, 3, 40)
    H, _ = spd(rng, 40, lam)
    est = cv.trace_over_n(HvpOnly(H), np.zeros(40), exact=True)
    assert est.method == "exact" and est.stderr == 0.0
    np.testing.assert_allclose(est.value, lam.sum() / 40, rtol=0, atol=40 * EPS * 3 * 10)
    st = nw.student_teacher(nw.LINEAR, rng, n_inputs=50)
    L = NetworkLandscape(nw.LINEAR, st.teacher, st.inputs)
    np.testing.assert_allclose(cv.trace_over_n(L, st.student).value, np.trace(L.hessian(st.student)) / L.n)


def test_hutchinson_is_exact_for_a_diagonal_hessian():
    """zᵀDz = Σ d_i for every Rademacher z: zero variance, so zero standard error."""
    d = np.linspace(0.1, 5, 50)
    est = cv.trace_over_n(Quadratic(eigvals=d), np.zeros(50), exact=False, n_probes=8, rng=3)
    assert est.method == "hutchinson" and est.stderr < 1e-15
    np.testing.assert_allclose(est.value, d.mean(), rtol=1e-14)


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_hutchinson_within_its_standard_error_and_the_error_is_right(seed):
    rng = np.random.default_rng(seed)
    n, k = 80, 1000
    H, _ = spd(rng, n, rng.uniform(0, 4, n))
    land = HvpOnly(H)
    est = cv.trace_over_n(land, np.zeros(n), exact=False, n_probes=k, rng=np.random.default_rng(seed))
    exact = np.trace(H) / n
    # unbiased: within 4 standard errors (two-sided normal tail 6e-5; seeds are fixed)
    assert abs(est.value - exact) <= 4 * est.stderr
    # for Rademacher probes Var(zᵀHz) = 2 Σ_{i≠j} H_ij²; the reported stderr estimates
    # sqrt(Var/k)/n, and a sample s.d. from k=1000 draws is within ~2.5% (1 s.e.), so 15%
    true_se = np.sqrt(2 * (np.sum(H**2) - np.sum(np.diag(H) ** 2)) / k) / n
    assert abs(est.stderr / true_se - 1) < 0.15


def test_hutchinson_is_deterministic_and_matrix_free():
    rng = np.random.default_rng(7)
    H, _ = spd(rng, 30, rng.uniform(0, 2, 30))
    a = cv.trace_over_n(HvpOnly(H), np.zeros(30), exact=False, rng=np.random.default_rng(11))
    b = cv.trace_over_n(HvpOnly(H), np.zeros(30), exact=False, rng=np.random.default_rng(11))
    c = cv.trace_over_n(HvpOnly(H), np.zeros(30), exact=False, rng=np.random.default_rng(12))
    assert a == b and a.value != c.value
    with pytest.raises(ValueError, match="n_probes"):
        cv.trace_over_n(HvpOnly(H), np.zeros(30), exact=False, n_probes=1)


def test_extreme_eigenvalues_dense_and_lanczos_agree_and_report_indefinite():
    rng = np.random.default_rng(8)
    lam = np.concatenate([[-0.7], rng.uniform(0.1, 2.0, 198), [5.0]])
    H, _ = spd(rng, 200, lam)
    dense = cv.extreme_eigenvalues(HvpOnly(H), np.zeros(200))
    lanczos = cv.extreme_eigenvalues(HvpOnly(H), np.zeros(200), exact=False, rng=1)
    assert dense.method == "dense" and lanczos.method == "lanczos"
    # dense eigvalsh is backward stable (error ≤ N·eps·‖H‖); eigsh with tol=1e-8 gives a
    # residual ≤ 1e-8·‖H‖ and for symmetric H the eigenvalue error is ≤ the residual
    np.testing.assert_allclose([dense.min, dense.max], [-0.7, 5.0], atol=200 * EPS * 5 * 10)
    np.testing.assert_allclose([lanczos.min, lanczos.max], [-0.7, 5.0], atol=1e-8 * 5 * 10)
    assert dense.is_indefinite and lanczos.is_indefinite
    assert not cv.extreme_eigenvalues(Quadratic(eigvals=lam[1:]), np.zeros(199)).is_indefinite


def test_spectrum():
    rng = np.random.default_rng(9)
    lam = np.sort(rng.uniform(-1, 1, 25))
    H, _ = spd(rng, 25, lam)
    np.testing.assert_allclose(cv.spectrum(HvpOnly(H), np.zeros(25)), lam, atol=25 * EPS * 10)
    np.testing.assert_allclose(cv.spectrum(Quadratic(H), np.zeros(25)), lam, atol=25 * EPS * 10)
    with pytest.raises(ValueError, match="matrix-free"):
        cv.spectrum(Quadratic(H), np.zeros(25), max_n=10)
