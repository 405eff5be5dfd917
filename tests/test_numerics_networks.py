"""The paper's networks: layout, student-teacher set-up, exact gradient / Hessian / HVP.

Derivatives are checked against central finite differences along random directions.  The
tolerance is the central-difference error bound: truncation (∝ h², estimated Richardson-
style from the difference between steps h and 2h, which it quadruples) plus rounding (two
evaluations with relative error ≤ 64·eps each — a mean over P·O ≤ 10⁴ terms with pairwise
summation — divided by 2h); ×4 for the higher-order remainder of the Richardson estimate.
"""

from __future__ import annotations

import numpy as np
import pytest
from fd_bounds import assert_matches_fd, grad_rounding_scale

from plasticity.numerics import networks as nw

EPS = np.finfo(np.float64).eps
DEEP = nw.Architecture("deep", (4, 6, 5, 3), "sigmoid")  # exercises the generic (>2 layer) path


def problem(arch, seed=0, n_inputs=200, spread=0.3):
    """Teacher targets and a student point well away from the teacher (non-tiny residuals)."""
    rng = np.random.default_rng(seed)
    st = nw.student_teacher(arch, rng, n_inputs=n_inputs)
    Y = nw.forward(arch, st.teacher, st.inputs)
    w = st.teacher * (1 + spread * rng.standard_normal(arch.n_weights)) + 0.1 * rng.standard_normal(
        arch.n_weights
    )
    return w, st.inputs, Y, rng


ARCHS = [nw.NONLINEAR, nw.LINEAR, DEEP]


def test_architectures_count_matrix_entries():
    assert nw.NONLINEAR.n_weights == 12 * 20 + 20 * 10 == 440
    assert nw.LINEAR.n_weights == 120
    with pytest.raises(ValueError, match="unknown network"):
        nw.architecture("resnet")


def test_pack_unpack_roundtrip_and_wrong_length():
    rng = np.random.default_rng(1)
    Ws = nw.init_weights(nw.NONLINEAR, rng, dtype=np.float64)
    w = nw.pack(Ws)
    assert w.shape == (440,)
    for a, b in zip(nw.unpack(w, nw.NONLINEAR), Ws, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="N=440"):
        nw.unpack(np.zeros(439), nw.NONLINEAR)


def test_student_teacher_is_a_scalar_perturbation_and_deterministic():
    a = nw.student_teacher(nw.NONLINEAR, np.random.default_rng(5), n_inputs=1000)
    b = nw.student_teacher(nw.NONLINEAR, np.random.default_rng(5), n_inputs=1000)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.inputs.shape == (1000, 12) and a.teacher.shape == (440,)
    factor = a.student / a.teacher
    # one scalar z for all weights: every ratio equals the first to rounding (a few ulps)
    np.testing.assert_allclose(factor, factor[0], rtol=4 * EPS)
    assert factor[0] != 1.0 and abs(factor[0] - 1) < 1e-2  # 1e-3·z with |z| < 10
    # Xavier-uniform bound of the first layer: sqrt(6 / (12 + 20))
    assert np.max(np.abs(a.teacher[:240])) <= np.sqrt(6 / 32)
    with pytest.raises(ValueError, match="n_inputs"):
        nw.student_teacher(nw.LINEAR, np.random.default_rng(0), n_inputs=0)


@pytest.mark.parametrize("arch", ARCHS, ids=lambda a: a.name)
def test_loss_is_zero_at_teacher_and_gradient_vanishes(arch):
    rng = np.random.default_rng(2)
    st = nw.student_teacher(arch, rng, n_inputs=50)
    Y = nw.forward(arch, st.teacher, st.inputs)
    assert nw.loss(arch, st.teacher, st.inputs, Y) == 0.0
    np.testing.assert_array_equal(nw.gradient(arch, st.teacher, st.inputs, Y), 0.0)


@pytest.mark.parametrize("arch", ARCHS, ids=lambda a: a.name)
def test_gradient_matches_finite_differences(arch):
    w, X, Y, rng = problem(arch)

    def f(x):
        return float(nw.loss(arch, x, X, Y))

    g = nw.gradient(arch, w, X, Y)
    # F is a pairwise-summed mean of P·O non-negative terms: rounding ≤ log2(P·O)·eps·F < 64·eps·F
    for v in [*rng.standard_normal((4, arch.n_weights)), np.eye(arch.n_weights)[0]]:
        assert_matches_fd(g @ v, f, w, v, scale=f(w))


@pytest.mark.parametrize("arch", ARCHS, ids=lambda a: a.name)
def test_hvp_and_hessian_match_finite_differences_of_the_gradient(arch):
    w, X, Y, rng = problem(arch, seed=3)

    def g(x):
        return nw.gradient(arch, x, X, Y)

    H = nw.hessian(arch, w, X, Y)
    assert H.shape == (arch.n_weights, arch.n_weights)
    V = rng.standard_normal((4, arch.n_weights))
    HV = nw.hvp(arch, w, X, Y, V, method="rop")
    scale = grad_rounding_scale(arch, w, X, Y)
    for v, hv in zip(V, HV, strict=True):
        assert_matches_fd(hv, g, w, v, scale=scale)
        assert_matches_fd(H @ v, g, w, v, scale=scale)


@pytest.mark.parametrize("arch", ARCHS, ids=lambda a: a.name)
def test_structured_hessian_equals_hvp_of_identity(arch):
    """Two independent exact constructions (structure vs R-operator) agree to rounding."""
    w, X, Y, _ = problem(arch, seed=4)
    H = nw.hessian(arch, w, X, Y)
    H_cols = nw.hvp(arch, w, X, Y, np.eye(arch.n_weights), method="rop")
    # the automatic choice (structured Hessian for many directions) gives the same products
    np.testing.assert_allclose(
        nw.hvp(arch, w, X, Y, np.eye(arch.n_weights)),
        H_cols,
        rtol=0,
        atol=X.shape[0] * EPS * np.max(np.abs(H)) * 10,
    )
    # both are sums of P products of O(1) numbers: agreement to ~P·eps relative to max|H|
    np.testing.assert_allclose(H, H_cols, rtol=0, atol=X.shape[0] * EPS * np.max(np.abs(H)) * 10)
    np.testing.assert_array_equal(H, H.T)


def test_nonlinear_hessian_includes_the_sigmoid_second_derivative_term():
    """Away from the teacher the residual term matters: H is not its Gauss-Newton part."""
    arch = nw.NONLINEAR
    w, X, Y, _ = problem(arch, seed=6)
    H = nw.hessian(arch, w, X, Y)
    lam = np.linalg.eigvalsh(H)
    # a pure Gauss-Newton matrix is PSD; with residual terms the full Hessian here is not
    assert lam[0] < -1e3 * arch.n_weights * EPS * lam[-1]


def test_hessian_at_teacher_is_positive_semidefinite():
    """At the teacher the residuals vanish, leaving the PSD Gauss-Newton matrix."""
    st = nw.student_teacher(nw.NONLINEAR, np.random.default_rng(7), n_inputs=300)
    Y = nw.forward(nw.NONLINEAR, st.teacher, st.inputs)
    lam = np.linalg.eigvalsh(nw.hessian(nw.NONLINEAR, st.teacher, st.inputs, Y))
    # eigvalsh is backward stable: eigenvalues above -N·eps·‖H‖ are zero to rounding
    assert lam[0] >= -440 * EPS * lam[-1]


@pytest.mark.parametrize("arch", ARCHS, ids=lambda a: a.name)
def test_batched_loss_gradient_and_paired_hvp_equal_single_evaluations(arch):
    w, X, Y, rng = problem(arch, seed=8)
    W = w + 0.1 * rng.standard_normal((3, arch.n_weights))
    V = rng.standard_normal((3, arch.n_weights))
    p = nw.Pass(arch, W, X, Y)
    HV = p.hvp(V)
    for i in range(3):
        np.testing.assert_allclose(p.loss[i], nw.loss(arch, W[i], X, Y), rtol=1e-13)
        np.testing.assert_allclose(p.gradient()[i], nw.gradient(arch, W[i], X, Y), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(HV[i], nw.hvp(arch, W[i], X, Y, V[i]), rtol=1e-12, atol=1e-15)


def test_bad_inputs_are_named():
    arch = nw.NONLINEAR
    w, X, Y, _ = problem(arch)
    with pytest.raises(ValueError, match="inputs must have shape"):
        nw.loss(arch, w, X[:, :5], Y)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        nw.gradient(arch, w, bad, Y)
    with pytest.raises(ValueError, match="V must have shape"):
        nw.hvp(arch, w, X, Y, np.ones(12))
    with pytest.raises(ValueError, match="unknown HVP method"):
        nw.hvp(arch, w, X, Y, np.ones(440), method="autograd")
    with pytest.raises(ValueError, match="targets must have shape"):
        nw.loss(arch, w, X, Y[:, :3])
    with pytest.raises(ValueError, match="weights contain NaN"):
        nw.loss(arch, np.full(440, np.nan), X, Y)


@pytest.mark.slow
def test_paper_scale_hessian_every_column_matches_finite_differences():
    """The nonlinear net on the paper's 1000 inputs near the teacher: all 440 columns."""
    arch = nw.NONLINEAR
    st = nw.student_teacher(arch, np.random.default_rng(10), n_inputs=1000)
    Y = nw.forward(arch, st.teacher, st.inputs)
    w = st.student

    def g(x):
        return nw.gradient(arch, x, st.inputs, Y)

    H = nw.hessian(arch, w, st.inputs, Y)
    scale = grad_rounding_scale(arch, w, st.inputs, Y)
    for i, e in enumerate(np.eye(arch.n_weights)):
        assert_matches_fd(H[:, i], g, w, e, scale=scale)
