"""plasticity.numerics.matfree against explicitly built Hessians: Lanczos bounds contain the true
eigenvalues, MINRES reports its true residual and a bound that contains Q of the exact Newton
step, adaptive Hutchinson stops when decided and says so when it cannot decide, rounding
bounds follow the landscape's eps, and no N×N array is ever built."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plasticity.numerics import curvature, matfree
from plasticity.numerics.landscapes import EPS, FunctionLandscape, Quadratic


def explicit(n: int, lam: np.ndarray, seed: int = 0) -> np.ndarray:
    """H = U diag(lam) Uᵀ in a random orthonormal basis, built explicitly (the ground truth)."""
    U, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    H = (U * lam) @ U.T
    return 0.5 * (H + H.T)


class HvpOnly:
    """H·v only: hessian() raises, so any dense route fails the test that uses it."""

    def __init__(self, H: np.ndarray, eps: float | None = None) -> None:
        self.H, self.n, self.w_star = H, H.shape[0], None
        if eps is not None:
            self.eps = eps
        self.hvp_calls = 0

    def loss(self, w: np.ndarray) -> float:
        return float(0.5 * w @ self.H @ w)

    def grad(self, w: np.ndarray) -> np.ndarray:
        return self.H @ w

    def grad_batch(self, W: np.ndarray) -> np.ndarray:
        return W @ self.H

    def hvp(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        self.hvp_calls += 1
        return np.asarray(v) @ self.H

    def hessian(self, w: np.ndarray) -> np.ndarray:
        raise AssertionError("the dense Hessian was asked for on the matrix-free path")


INDEFINITE = np.concatenate([[-0.8], np.linspace(0.05, 2.0, 148), [6.0]])
DEFINITE = np.geomspace(0.05, 3.0, 150)


@pytest.mark.parametrize("tol", [1e-8, 1e-2])
def test_lanczos_bounds_contain_the_true_extreme_eigenvalues(tol: float) -> None:
    H = explicit(150, INDEFINITE)
    op = matfree.HessianOperator(HvpOnly(H), np.zeros(150))
    ext = matfree.extreme_eigenvalues(op, tol=tol, rng=np.random.default_rng(3))
    lam = np.linalg.eigvalsh(H)
    for fig, x, true in ((ext.min, ext.x_min, lam[0]), (ext.max, ext.x_max, lam[-1])):
        # for symmetric H some eigenvalue lies within ‖Hx − θx‖ of θ; here it is the extreme one
        assert abs(fig.value - true) <= fig.bound
        residual = float(np.linalg.norm(H @ x - fig.value * x))
        assert fig.bound >= residual
    # the tolerance is relative to ‖H‖: the tight run's bound is small, not merely true
    if tol == 1e-8:
        assert max(ext.min.bound, ext.max.bound) < 1e-5 * 6.0
    assert op.hessian_norm >= 6.0


def test_curvature_extreme_eigenvalues_reports_the_lanczos_bounds() -> None:
    H = explicit(150, INDEFINITE, seed=1)
    lanczos = curvature.extreme_eigenvalues(HvpOnly(H), np.zeros(150), exact=False, tol=1e-3, rng=2)
    lam = np.linalg.eigvalsh(H)
    assert lanczos.method == "lanczos" and lanczos.bound_min > 0
    assert abs(lanczos.min - lam[0]) <= lanczos.bound_min
    assert abs(lanczos.max - lam[-1]) <= lanczos.bound_max


@pytest.mark.parametrize("maxiter", [500, 8])
def test_minres_newton_step_reports_its_true_residual_and_a_bound_containing_q(maxiter: int) -> None:
    H = explicit(150, DEFINITE, seed=2)
    land = HvpOnly(H)
    w = np.random.default_rng(4).standard_normal(150)
    op = matfree.HessianOperator(land, w)
    ext = matfree.extreme_eigenvalues(op, rng=np.random.default_rng(0))
    g = H @ w
    step = matfree.newton_step(op, g, ext, maxiter=maxiter)
    s = step.step
    assert step.relative_residual == pytest.approx(np.linalg.norm(H @ s + g) / np.linalg.norm(g), rel=1e-10)
    exact = -np.linalg.solve(H, g)
    q_true = float(exact @ H @ exact / (exact @ exact))
    assert abs(step.q.value - q_true) <= step.q.bound
    if maxiter == 500:
        assert step.converged and step.relative_residual < 1e-8 and step.q.bound < 1e-6
        assert np.dot(s, exact) > 0  # the step points along −H⁻¹∇F, not against it
    else:  # stopped early: a large residual, and a bound that says so
        assert not step.converged and step.relative_residual > 1e-4 and step.q.bound > 1e-4


def test_newton_step_at_an_indefinite_hessian_states_no_bound_rather_than_a_false_one() -> None:
    H = explicit(150, INDEFINITE, seed=3)
    op = matfree.HessianOperator(HvpOnly(H), np.zeros(150))
    ext = matfree.extreme_eigenvalues(op)
    g = np.random.default_rng(5).standard_normal(150)
    step = matfree.newton_step(op, g, ext)
    assert step.q.bound == math.inf and "not definite" in step.note
    exact = -np.linalg.solve(H, g)
    assert step.q.value == pytest.approx(float(exact @ H @ exact / (exact @ exact)), rel=1e-6)


def test_adaptive_hutchinson_stops_as_soon_as_the_comparison_is_decided() -> None:
    H = explicit(400, DEFINITE[np.arange(400) % 150], seed=4)
    op = matfree.HessianOperator(HvpOnly(H), np.zeros(400))
    op.hessian_norm = 3.0
    tr = float(np.trace(H)) / 400
    est = matfree.trace_over_n_adaptive(
        op, boundaries=[(0.0, 0.0)], max_probes=256, rng=np.random.default_rng(1)
    )
    assert est.decided and est.probes == 32 and est.undecided == ()  # one block decides Tr/N > 0
    assert abs(est.figure.value - tr) <= est.figure.halfwidth()
    # a boundary just inside the interval: more probes, then decided
    near = tr + 6 * est.figure.stderr
    more = matfree.trace_over_n_adaptive(
        op, boundaries=[(near, 0.0)], max_probes=4096, rng=np.random.default_rng(1)
    )
    assert more.decided and 32 < more.probes < 4096
    assert abs(more.figure.value - near) > matfree.CONFIDENCE_Z * more.figure.stderr


def test_adaptive_hutchinson_reports_undecided_when_it_cannot_decide() -> None:
    H = explicit(400, DEFINITE[np.arange(400) % 150], seed=4)
    op = matfree.HessianOperator(HvpOnly(H), np.zeros(400))
    op.hessian_norm = 3.0
    tr = float(np.trace(H)) / 400
    # the boundary is the true Tr/N itself: no number of probes can put it outside the interval
    est = matfree.trace_over_n_adaptive(
        op, boundaries=[(tr, 0.0)], max_probes=96, rng=np.random.default_rng(2)
    )
    assert not est.decided and est.probes == 96 and est.undecided == (tr,)
    assert abs(est.figure.value - tr) <= est.figure.halfwidth()


def test_hutchinson_standard_error_is_the_exact_one() -> None:
    n, m = 1100, 1024  # N > probes, so the sampled (not the exact basis) route is taken
    H = explicit(n, DEFINITE[np.arange(n) % 150], seed=6)
    op = matfree.HessianOperator(HvpOnly(H), np.zeros(n))
    op.hessian_norm = 3.0
    est = matfree.trace_over_n_adaptive(
        op, boundaries=[], max_probes=m, block=m, rng=np.random.default_rng(3)
    )
    assert est.probes == m and est.figure.stderr > 0
    # Var(zᵀHz) = 2(‖H‖_F² − Σ H_ii²) for Rademacher z (exact moment); the mean of m probes of
    # zᵀHz/N has standard error √Var/(N√m)
    se_true = math.sqrt(2 * (np.sum(H * H) - np.sum(np.diag(H) ** 2)) / m) / n
    # the sample s.d. of m probes has relative error √((κ₄ − 1)/(4m)); zᵀHz is a degree-2
    # Rademacher chaos, so κ₄ ≤ 81 (Bonami): Z of those is ≈ 0.70 here
    assert est.figure.stderr == pytest.approx(se_true, rel=matfree.CONFIDENCE_Z * math.sqrt(80 / (4 * m)))
    assert abs(est.figure.value - np.trace(H) / n) <= matfree.CONFIDENCE_Z * se_true


def test_small_n_takes_the_exact_trace_from_basis_products() -> None:
    H = explicit(40, np.linspace(-1.0, 2.0, 40), seed=7)
    op = matfree.HessianOperator(HvpOnly(H), np.zeros(40))
    op.hessian_norm = 2.0
    est = matfree.trace_over_n_adaptive(op, max_probes=64)
    assert est.figure.stderr == 0 and est.probes == 40
    assert est.figure.value == pytest.approx(np.trace(H) / 40, abs=est.figure.bound + 1e-15)


def test_rounding_bounds_follow_the_landscapes_eps() -> None:
    H = explicit(50, DEFINITE[:50], seed=8)
    w = np.ones(50)
    b64 = matfree.gradient_error_bound(HvpOnly(H), w, H @ w, 3.0, grad_exact=True)
    eps32 = float(np.finfo(np.float32).eps)
    b32 = matfree.gradient_error_bound(HvpOnly(H, eps=eps32), w, H @ w, 3.0, grad_exact=True)
    assert b32 / b64 == pytest.approx(eps32 / EPS, rel=1e-12)
    op = matfree.HessianOperator(HvpOnly(H, eps=eps32), w)
    op.hessian_norm = 3.0
    assert op.rounding_bound() == pytest.approx(matfree.HVP_ROUNDING * eps32 * 3.0)
    with pytest.raises(ValueError, match="eps"):
        matfree.rounding_eps(HvpOnly(H, eps=2.0))


def test_differences_of_the_gradient_stay_within_their_stated_error() -> None:
    # F = ½xᵀAx + (κ/4)Σx⁴: ∇F = Ax + κx³, ∇²F = A + 3κ diag(x²), by hand
    n, kappa = 60, 0.3
    A = explicit(n, np.linspace(0.2, 2.0, n), seed=9)
    land = FunctionLandscape(
        lambda x: 0.5 * x @ A @ x + kappa / 4 * np.sum(x**4), n, grad=lambda x: A @ x + kappa * x**3
    )
    w = np.random.default_rng(10).standard_normal(n)
    Ht = A + 3 * kappa * np.diag(w**2)
    cur = matfree.matrix_free_curvature(land, w, max_probes=32)
    assert cur.operator.startswith("central differences of an exact gradient")
    g = A @ w + kappa * w**3
    lam = np.linalg.eigvalsh(Ht)
    assert abs(cur.q_gradient.value - g @ Ht @ g / (g @ g)) <= cur.q_gradient.bound
    assert abs(cur.lambda_min.value - lam[0]) <= cur.lambda_min.bound
    assert abs(cur.lambda_max.value - lam[-1]) <= cur.lambda_max.bound
    assert abs(cur.trace_over_n.value - np.trace(Ht) / n) <= cur.trace_over_n.halfwidth()
    s = -np.linalg.solve(Ht, g)
    assert abs(cur.newton.q.value - s @ Ht @ s / (s @ s)) <= cur.newton.q.bound < 1e-3
    # the bounds are finite-difference sized, not vacuous
    assert cur.q_gradient.bound < 1e-4 and cur.lambda_max.bound < 1e-4


def test_the_matrix_free_path_never_builds_a_dense_hessian(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("dense_hessian called on the matrix-free path")

    monkeypatch.setattr(curvature, "dense_hessian", refuse)
    H = explicit(120, INDEFINITE[:120], seed=11)
    land = HvpOnly(H)
    w = np.random.default_rng(12).standard_normal(120)
    cur = matfree.matrix_free_curvature(land, w, w_star=np.zeros(120), max_probes=64)
    assert land.hvp_calls > 0 and cur.q_beeline is not None
    # every HVP block is bounded: the widest product asked for is a fixed block, never N×N
    assert matfree.BLOCK_ELEMENTS // 120 >= 1


def test_stationary_point_has_no_gradient_figures() -> None:
    H = explicit(30, DEFINITE[:30], seed=13)
    cur = matfree.matrix_free_curvature(Quadratic(H), np.zeros(30))
    assert cur.stationary and cur.q_gradient is None and cur.newton is None
    assert cur.grad_norm <= cur.grad_error


def low_rank_plus_noise(n: int, rank: int, seed: int) -> np.ndarray:
    """A few large eigenvalues (10..100) over a bulk of small ones (±0.01): the shape of a trained
    network's Hessian, where the outliers dominate both Tr and plain Hutchinson's variance."""
    lam = np.random.default_rng(seed).uniform(-0.01, 0.01, n)
    lam[:rank] = np.linspace(10.0, 100.0, rank)
    return explicit(n, lam, seed=seed)


def deflated_stderr(H: np.ndarray, Q: np.ndarray, probes: int) -> float:
    """The exact standard error of the deflated estimator's mean of ``probes`` Rademacher probes
    given Q: Var(zᵀDz) = 2(‖D‖_F² − Σ D_ii²) for D = PHP, P = I − QQᵀ; over N."""
    P = np.eye(H.shape[0]) - Q @ Q.T
    D = P @ H @ P
    return math.sqrt(2 * (np.sum(D * D) - np.sum(np.diag(D) ** 2)) / probes) / H.shape[0]


def test_deflated_hutchinson_is_unbiased_over_many_seeds() -> None:
    n, runs = 300, 400
    H = low_rank_plus_noise(n, 8, seed=11)
    op = matfree.HessianOperator(HvpOnly(H), np.zeros(n))
    op.hessian_norm = 100.0
    # sketch 6 < rank 8: the deflated part keeps two outliers, so every estimate varies
    values = np.array(
        [
            matfree.trace_over_n_adaptive(
                op, boundaries=[], block=8, max_probes=8, sketch=6, rng=np.random.default_rng(s)
            ).figure.value
            for s in range(runs)
        ]
    )
    spread = float(np.std(values, ddof=1))
    assert spread > 0
    # the mean of independent unbiased estimates is within Z_MC of its own standard error
    assert abs(values.mean() - np.trace(H) / n) <= matfree.CONFIDENCE_Z * spread / math.sqrt(runs)


def test_deflated_hutchinson_standard_error_is_the_exact_one_given_the_basis() -> None:
    n, m = 400, 1024
    H = low_rank_plus_noise(n, 8, seed=12)
    op = matfree.HessianOperator(HvpOnly(H), np.zeros(n))
    op.hessian_norm = 100.0
    Q = matfree.sketch_basis(op, 5, np.random.default_rng(0))
    assert np.allclose(Q.T @ Q, np.eye(5), atol=1e-12)
    est = matfree.trace_over_n_adaptive(
        op, boundaries=[], block=m, max_probes=m, basis=Q, exact=False, rng=np.random.default_rng(4)
    )
    se_true = deflated_stderr(H, Q, m)
    assert est.sketch == 5 and est.probes == m
    # relative error of a sample s.d. of m probes: √((κ₄ − 1)/(4m)), κ₄ ≤ 81 for a degree-2
    # Rademacher chaos (Bonami)
    assert est.figure.stderr == pytest.approx(se_true, rel=matfree.CONFIDENCE_Z * math.sqrt(80 / (4 * m)))
    assert abs(est.figure.value - np.trace(H) / n) <= matfree.CONFIDENCE_Z * se_true


def test_sketching_the_outliers_shrinks_the_standard_error() -> None:
    n, m = 500, 64
    H = low_rank_plus_noise(n, 10, seed=13)
    op = matfree.HessianOperator(HvpOnly(H), np.zeros(n))
    op.hessian_norm = 100.0
    plain = matfree.trace_over_n_adaptive(
        op, boundaries=[], block=m, max_probes=m, exact=False, rng=np.random.default_rng(5)
    )
    sketched = matfree.trace_over_n_adaptive(
        op, boundaries=[], block=m, max_probes=m, exact=False, sketch=20, rng=np.random.default_rng(5)
    )
    # plain: s.d. ≈ √2‖H‖_F ≈ 250 per probe; the sketch of 20 ≥ rank 10 leaves the bulk, ≈ √2·0.006·√N
    assert sketched.figure.stderr < 1e-3 * plain.figure.stderr
    tr = np.trace(H) / n
    assert (
        abs(sketched.figure.value - tr)
        <= matfree.CONFIDENCE_Z * sketched.figure.stderr + sketched.figure.bound
    )


def test_a_requested_relative_error_is_reached_or_reported() -> None:
    n = 1100
    H = explicit(n, DEFINITE[np.arange(n) % 150], seed=6)
    op = matfree.HessianOperator(HvpOnly(H), np.zeros(n))
    op.hessian_norm = 3.0
    est = matfree.trace_over_n_adaptive(
        op, boundaries=[], max_probes=4096, rel_error=0.02, exact=False, rng=np.random.default_rng(6)
    )
    assert est.precise and est.figure.halfwidth() <= 0.02 * abs(est.figure.value)
    assert est.probes > 32  # one block of plain Hutchinson is not that precise here
    capped = matfree.trace_over_n_adaptive(
        op, boundaries=[], max_probes=32, rel_error=1e-4, exact=False, rng=np.random.default_rng(6)
    )
    assert not capped.precise and capped.probes == 32


def test_newton_step_stops_early_where_no_residual_can_bound_q() -> None:
    H = explicit(150, INDEFINITE, seed=3)
    op = matfree.HessianOperator(HvpOnly(H), np.zeros(150))
    ext = matfree.extreme_eigenvalues(op)
    g = np.random.default_rng(5).standard_normal(150)
    step = matfree.newton_step(op, g, ext, rtol=1e-300, indefinite_maxiter=7)
    assert step.iterations <= 7 and not step.converged
    assert step.q.bound == math.inf and "stopped after 7 iterations" in step.note
