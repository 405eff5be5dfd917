"""Landscapes: Quadratic, NetworkLandscape, FunctionLandscape against finite differences and
their own definitions; bad input gives a ValueError naming the problem.

Finite-difference tolerances are the central-difference error bound: truncation ∝ h²
(estimated from steps h and 2h, whose difference is 3× the truncation at h, or bounded
analytically where a derivative bound is known) plus rounding (evaluation error ≤ 64·eps
relative to the scale of the evaluated quantity, divided by 2h), ×4 for the estimate's own
higher-order remainder.
"""

from __future__ import annotations

import numpy as np
import pytest
from fd_bounds import assert_matches_fd, grad_rounding_scale

from plasticity.numerics import networks as nw
from plasticity.numerics.landscapes import FunctionLandscape, Landscape, NetworkLandscape, Quadratic

EPS = np.finfo(np.float64).eps


def random_spd(rng, n, lo=0.1, hi=3.0):
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = rng.uniform(lo, hi, n)
    return U, lam


# --------------------------------------------------------------------------- Quadratic


def test_quadratic_dense_and_eigen_forms_agree_and_match_definition():
    rng = np.random.default_rng(0)
    n = 30
    U, lam = random_spd(rng, n)
    H = (U * lam) @ U.T
    H = 0.5 * (H + H.T)
    ws = rng.standard_normal(n)
    dense, eig = Quadratic(H, w_star=ws), Quadratic(eigvals=lam, eigvecs=U, w_star=ws)
    assert isinstance(dense, Landscape) and isinstance(eig, Landscape)
    w, v = rng.standard_normal(n), rng.standard_normal((3, n))
    d = w - ws
    for q in (dense, eig):
        # F = ½ dᵀHd, ∇F = Hd, ∇²F v = Hv; agreement to ~n·eps relative to ‖H‖‖d‖²
        np.testing.assert_allclose(q.loss(w), 0.5 * d @ H @ d, rtol=n * EPS * 10)
        np.testing.assert_allclose(q.grad(w), H @ d, rtol=0, atol=n * EPS * 10 * 3 * np.abs(d).sum())
        np.testing.assert_allclose(q.hvp(w, v), v @ H, rtol=0, atol=n * EPS * 10 * 3 * np.abs(v).sum())
        np.testing.assert_allclose(q.hessian(w), H, rtol=0, atol=n * EPS * 10 * 3)
        assert q.hvp(w, v[0]).shape == (n,)
        np.testing.assert_allclose(q.trace(), lam.sum(), rtol=n * EPS * 10)
        assert q.is_positive_semidefinite
        np.testing.assert_array_equal(q.w_star, ws)
    assert eig.loss(ws) == 0.0


def test_quadratic_gradient_and_hvp_match_finite_differences():
    rng = np.random.default_rng(1)
    n = 20
    U, lam = random_spd(rng, n)
    q = Quadratic(eigvals=lam, eigvecs=U, w_star=rng.standard_normal(n))
    w = rng.standard_normal(n)
    # rounding scales: F = ½dᵀHd and (Hd)_i are sums of n² and n terms; worst-case rounding
    # is (number of terms)·eps·Σ|terms|, written as scale for the helper's 64·eps·scale
    d = np.abs(w - q.center)
    absH = np.abs(q.H)
    f_scale = n * n / 64 * 0.5 * d @ absH @ d
    g_scale = n / 64 * np.max(absH @ d)
    for v in rng.standard_normal((3, n)):
        assert_matches_fd(q.grad(w) @ v, q.loss, w, v, scale=f_scale)
        assert_matches_fd(q.hvp(w, v), q.grad, w, v, scale=g_scale)


def test_quadratic_batches_equal_rows():
    rng = np.random.default_rng(2)
    q = Quadratic(eigvals=rng.uniform(0.1, 2, 15))  # diagonal H, centre 0
    W = rng.standard_normal((4, 15))
    np.testing.assert_allclose(q.loss_batch(W), [q.loss(w) for w in W], rtol=1e-14)
    np.testing.assert_allclose(q.grad_batch(W), np.stack([q.grad(w) for w in W]), rtol=1e-14)
    V = rng.standard_normal((4, 15))
    np.testing.assert_allclose(q.hvp_batch(W, V), V * q.eigvals, rtol=1e-14)
    lo, gr = q.loss_grad_batch(W)
    np.testing.assert_allclose(lo, q.loss_batch(W), rtol=1e-14)
    np.testing.assert_array_equal(gr, q.grad_batch(W))


def test_indefinite_quadratic_is_reported_not_hidden():
    q = Quadratic(np.diag([2.0, -0.5, 1.0]))
    assert not q.is_positive_semidefinite
    assert q.min_eigenvalue == -0.5
    assert q.w_star is None  # a saddle has no minimum
    assert "indefinite" in repr(q)
    np.testing.assert_array_equal(q.center, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"H": np.array([[1.0, 2.0], [0.0, 1.0]])}, "not symmetric"),
        ({"H": np.ones((2, 3))}, "square"),
        ({"H": np.array([[1.0, np.nan], [np.nan, 1.0]])}, "NaN"),
        ({"H": np.eye(3), "w_star": np.zeros(4)}, r"w_star must have shape \(3,\)"),
        ({"eigvals": np.ones(2), "eigvecs": np.array([[1.0, 1.0], [0.0, 1.0]])}, "orthonormal"),
        ({"eigvals": np.ones(3), "eigvecs": np.eye(2)}, r"eigvecs must have shape \(3, 3\)"),
        ({"H": np.eye(2), "eigvals": np.ones(2)}, "exactly one"),
        ({}, "exactly one"),
    ],
)
def test_quadratic_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Quadratic(**kwargs)


def test_wrong_length_point_or_direction():
    q = Quadratic(np.eye(3))
    with pytest.raises(ValueError, match=r"w must have shape \(3,\)"):
        q.loss(np.zeros(4))
    with pytest.raises(ValueError, match="v must have shape"):
        q.hvp(np.zeros(3), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="NaN"):
        q.grad(np.array([0.0, np.inf, 0.0]))


# --------------------------------------------------------------------------- networks


@pytest.mark.parametrize("arch", [nw.NONLINEAR, nw.LINEAR], ids=lambda a: a.name)
def test_network_landscape_derivatives_match_finite_differences(arch):
    rng = np.random.default_rng(3)
    st = nw.student_teacher(arch, rng, n_inputs=200)
    L = NetworkLandscape(arch, st.teacher, st.inputs)
    assert isinstance(L, Landscape) and L.n == arch.n_weights
    np.testing.assert_array_equal(L.w_star, st.teacher)
    assert L.loss(L.w_star) == 0.0
    w = st.teacher * (1 + 0.3 * rng.standard_normal(L.n))
    V = rng.standard_normal((3, L.n))
    HV = L.hvp(w, V)
    H = L.hessian(w)
    gscale = grad_rounding_scale(arch, w, st.inputs, L.targets)
    for v, hv in zip(V, HV, strict=True):
        assert_matches_fd(L.grad(w) @ v, L.loss, w, v, scale=L.loss(w))
        assert_matches_fd(hv, L.grad, w, v, scale=gscale)
        # H and HVP are independent exact constructions: equal to P·eps relative rounding
        np.testing.assert_allclose(
            H @ v, hv, rtol=0, atol=200 * EPS * 10 * np.max(np.abs(H)) * np.abs(v).sum()
        )


def test_network_landscape_batches_and_cache_are_consistent():
    rng = np.random.default_rng(4)
    st = nw.student_teacher(nw.NONLINEAR, rng, n_inputs=100)
    L = NetworkLandscape("nonlinear", nw.unpack(st.teacher, nw.NONLINEAR), st.inputs)
    W = st.teacher + 0.05 * rng.standard_normal((3, L.n))
    V = rng.standard_normal((3, L.n))
    np.testing.assert_allclose(L.loss_batch(W), [L.loss(w) for w in W], rtol=1e-13)
    np.testing.assert_allclose(L.grad_batch(W), np.stack([L.grad(w) for w in W]), rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(L.hvp_batch(W, V), np.stack([L.hvp(w, v) for w, v in zip(W, V, strict=True)]))
    lo, gr = L.loss_grad_batch(W)
    np.testing.assert_array_equal(lo, L.loss_batch(W))
    np.testing.assert_array_equal(gr, L.grad_batch(W))
    # the cached forward pass must not leak between points
    a = L.grad(W[0]).copy()
    L.grad(W[1])
    np.testing.assert_array_equal(L.grad(W[0]), a)


def test_network_landscape_bad_input():
    st = nw.student_teacher(nw.LINEAR, np.random.default_rng(5), n_inputs=20)
    with pytest.raises(ValueError, match="teacher_weights must have shape"):
        NetworkLandscape(nw.LINEAR, st.teacher[:-1], st.inputs)
    with pytest.raises(ValueError, match="inputs must have shape"):
        NetworkLandscape(nw.LINEAR, st.teacher, st.inputs[:, :3])
    with pytest.raises(ValueError, match="unknown network"):
        NetworkLandscape("cnn", st.teacher, st.inputs)
    L = NetworkLandscape(nw.LINEAR, st.teacher, st.inputs)
    with pytest.raises(ValueError, match=r"w must have shape \(120,\)"):
        L.grad(np.zeros(440))


# --------------------------------------------------------------------------- user functions


def make_function(rng, n):
    """f = Σcos(w) + ½wᵀAw: |∂³f| ≤ 1, |∂⁴f| ≤ 1 along coordinates, so FD bounds are explicit."""
    A = rng.standard_normal((n, n))
    A = A @ A.T / n

    def f(w):
        return float(np.sum(np.cos(w)) + 0.5 * w @ A @ w)

    def grad(w):
        return -np.sin(w) + A @ w

    def hess(w):
        return np.diag(-np.cos(w)) + A

    return f, grad, hess, A


def test_function_landscape_from_f_alone_matches_the_derivatives():
    rng = np.random.default_rng(6)
    n = 6
    f, grad, hess, _ = make_function(rng, n)
    L = FunctionLandscape(f, n)
    assert isinstance(L, Landscape)
    w = rng.uniform(-0.9, 0.9, n)  # |w_i| < 1, so every step is h = eps^(1/3) (or eps^(1/4))
    scale = np.sum(np.abs(np.cos(w))) + abs(0.5 * w @ (hess(w) + np.diag(np.cos(w))) @ w) + 1
    # gradient: truncation ≤ h²/6·max|∂³f| = h²/6; rounding ≤ 2·(64 eps·scale)/(2h)
    h = EPS ** (1 / 3)
    tol = h**2 / 6 + 64 * EPS * scale / h
    assert np.max(np.abs(L.grad(w) - grad(w))) <= tol
    # fd_error_estimate is a meaningful estimate: covers the actual error, within 100× of the bound
    est = L.fd_error_estimate(w)
    assert np.all(np.abs(L.grad(w) - grad(w)) <= 10 * est)
    assert np.all(est <= 100 * tol)
    # Hessian by second differences, h = eps^(1/4): truncation ≤ (4/3)h² max|∂⁴f| (four
    # fourth-order remainders of steps ≤ 2h, over 2h²); rounding ≤ 8·(64 eps·scale)/(2h²)
    h4 = EPS ** (1 / 4)
    tol_h = 4 / 3 * h4**2 + 4 * 64 * EPS * scale / h4**2
    assert np.max(np.abs(L.hessian(w) - hess(w))) <= tol_h
    v = rng.standard_normal((2, n))
    assert np.max(np.abs(L.hvp(w, v) - v @ hess(w))) <= tol_h * np.abs(v).sum()


def test_function_landscape_hvp_from_supplied_gradient():
    rng = np.random.default_rng(7)
    n = 8
    f, grad, hess, _ = make_function(rng, n)
    L = FunctionLandscape(f, n, grad=grad)
    w = rng.uniform(-0.9, 0.9, n)
    v = rng.standard_normal(n)
    # HVP = (∇F(w+hû) - ∇F(w-hû))/2h·‖v‖, h = eps^(1/3)·max(1,‖w‖): truncation ≤ h²/6 max|∂³f|
    # along û (≤ Σ|û_i|³ ≤ 1); rounding ≤ 64 eps·‖∇F‖_∞/h; both times ‖v‖
    h = EPS ** (1 / 3) * max(1.0, np.linalg.norm(w))
    tol = (h**2 / 6 + 64 * EPS * (np.max(np.abs(grad(w))) + 1) / h) * np.linalg.norm(v)
    assert np.max(np.abs(L.hvp(w, v) - hess(w) @ v)) <= tol
    np.testing.assert_array_equal(L.grad(w), grad(w))
    np.testing.assert_array_equal(L.fd_error_estimate(w), 0.0)


def test_function_landscape_uses_supplied_hessian_and_hvp_exactly():
    rng = np.random.default_rng(8)
    n = 5
    f, grad, hess, _ = make_function(rng, n)
    w, v = rng.standard_normal(n), rng.standard_normal((3, n))
    L = FunctionLandscape(f, n, grad=grad, hess=hess)
    np.testing.assert_allclose(L.hvp(w, v), v @ hess(w), rtol=1e-14)
    L2 = FunctionLandscape(f, n, hvp=lambda w, v: hess(w) @ v)
    np.testing.assert_allclose(L2.hvp(w, v), v @ hess(w), rtol=1e-14)
    np.testing.assert_allclose(L2.hessian(w), hess(w), rtol=1e-14)
    np.testing.assert_allclose(L2.loss_batch(v), [f(x) for x in v])


def test_function_landscape_custom_step_changes_the_step():
    rng = np.random.default_rng(9)
    f, grad, hess, _ = make_function(rng, 4)
    w = rng.uniform(-0.5, 0.5, 4)
    coarse = FunctionLandscape(f, 4, fd_step=1e-2)
    # truncation at h = 1e-2 is ≤ h²/6 ≈ 1.7e-5 and visibly larger than at the default step
    err_coarse = np.max(np.abs(coarse.grad(w) - grad(w)))
    err_default = np.max(np.abs(FunctionLandscape(f, 4).grad(w) - grad(w)))
    assert err_coarse <= 1e-4 / 6 * 1.01 and err_coarse > 10 * err_default
    # where truncation dominates, fd_error_estimate tracks the actual error: both are
    # h²·sin(w_i)/6 to leading order; the estimate's own error is O(h²) relative, so 2× is loose
    err = np.abs(coarse.grad(w) - grad(w))
    est = coarse.fd_error_estimate(w)
    assert np.all(est <= 2 * err) and np.all(err <= 2 * est)
    # the same for HVPs, from a supplied gradient and from f alone (h² truncation dominates)
    v = rng.standard_normal(4)
    for land in (FunctionLandscape(f, 4, grad=grad, fd_step=1e-2), coarse):
        err = np.abs(land.hvp(w, v) - hess(w) @ v)
        est = land.fd_error_estimate(w, v)
        assert np.all(est <= 2 * err) and np.all(err <= 2 * est)
    np.testing.assert_array_equal(FunctionLandscape(f, 4, hess=hess).fd_error_estimate(w, v), 0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"f": lambda w: np.nan}, "f returned nan"),
        ({"f": lambda w: np.ones(2)}, r"f returned an array of shape \(2,\)"),
        ({"f": lambda w: "x"}, "f returned a value of type str"),
        ({"grad": lambda w: np.ones(2)}, r"grad returned an array of shape \(2,\); expected shape \(3,\)"),
        ({"grad": lambda w: np.full(3, np.inf)}, "grad returned NaN or inf"),
        ({"hess": lambda w: np.ones((3, 2))}, r"hess returned an array of shape \(3, 2\)"),
        ({"hess": lambda w: np.triu(np.ones((3, 3)))}, "hess is not symmetric"),
        ({"hvp": lambda w, v: np.ones(4)}, r"hvp returned an array of shape \(4,\)"),
    ],
)
def test_function_landscape_checks_every_callable(kwargs, message):
    kwargs = {"f": lambda w: float(w @ w), **kwargs}
    L = FunctionLandscape(n=3, **kwargs)
    w = np.array([0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=message):
        L.loss(w)
        L.grad(w)
        L.hvp(w, np.ones(3))
        L.hessian(w)


def test_function_landscape_bad_construction():
    with pytest.raises(ValueError, match="n must be a positive integer"):
        FunctionLandscape(lambda w: 0.0, 0)
    with pytest.raises(ValueError, match="fd_step"):
        FunctionLandscape(lambda w: 0.0, 2, fd_step=-1.0)
    with pytest.raises(ValueError, match="f must be callable"):
        FunctionLandscape("w @ w", 2)
    with pytest.raises(ValueError, match=r"w must have shape \(2,\)"):
        FunctionLandscape(lambda w: 0.0, 2).loss(np.zeros(3))


def test_quad_form_batch_matches_the_hessian_for_every_kind_of_landscape():
    from plasticity.numerics.landscapes import quad_form_batch

    rng = np.random.default_rng(11)
    n = 5
    f, grad, hess, _ = make_function(rng, n)
    W = rng.uniform(-0.9, 0.9, (3, n))
    V = rng.standard_normal((3, n))
    exact = np.array([v @ hess(w) @ v for w, v in zip(W, V, strict=True)])
    vv = np.sum(V**2, -1)
    # exact where hess is supplied (rounding of an n×n product, ×10 margin)
    got = quad_form_batch(FunctionLandscape(f, n, grad=grad, hess=hess), W, V)
    np.testing.assert_allclose(got, exact, rtol=0, atol=10 * n * n * EPS * np.max(np.abs(exact)))
    # from the gradient: truncation ≤ h²/6·max|∂³f along û| ≤ h²/6, rounding 64·eps·‖∇F‖_∞/h, ×‖v‖²
    h = EPS ** (1 / 3)
    g_inf = max(np.max(np.abs(grad(w))) for w in W)
    tol = (h**2 / 6 + 64 * EPS * g_inf / h) * vv
    assert np.all(np.abs(quad_form_batch(FunctionLandscape(f, n, grad=grad), W, V) - exact) <= tol)
    # from f alone, second difference along û with h = eps^(1/4): truncation ≤ h²/12·max|∂⁴f|
    # (≤ 1), rounding ≤ 4·(64·eps·max|f|)/h², ×‖v‖²
    h4 = EPS ** (1 / 4)
    f_max = max(abs(f(w)) for w in W) + n  # f moves by O(h) over the stencil; n covers Σcos
    tol4 = (h4**2 / 12 + 4 * 64 * EPS * f_max / h4**2) * vv
    assert np.all(np.abs(quad_form_batch(FunctionLandscape(f, n), W, V) - exact) <= tol4)
    # the generic helper on a landscape without the method: Σ V·HVP
    q = Quadratic(hess(W[0]))
    np.testing.assert_allclose(quad_form_batch(q, W, V), np.einsum("ki,ki->k", V, V @ q.H), rtol=1e-13)


def test_a_supplied_hessian_is_called_once_per_point_and_kept_read_only() -> None:
    calls = []

    def hess(w):  # noqa: ANN001, ANN202
        calls.append(w.copy())
        return np.diag([1.0, 2.0, 3.0])

    land = FunctionLandscape(lambda w: 0.5 * float(w @ np.diag([1.0, 2.0, 3.0]) @ w), 3, hess=hess)
    W = np.arange(6.0).reshape(2, 3)
    V = np.ones((2, 3))
    first = land.quad_form_batch(W, V)
    second = land.quad_form_batch(W, 2 * V)  # same points, other directions: no new calls
    assert len(calls) == 2
    np.testing.assert_array_equal(second, 4 * first)
    H = land.hessian(W[0])
    H[0, 0] = 99.0  # the caller's copy, not the cached matrix
    np.testing.assert_array_equal(land.hvp(W[0], np.eye(3)[0]), [1.0, 0.0, 0.0])
