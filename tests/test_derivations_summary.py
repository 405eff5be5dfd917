"""table2: each row's ratio evaluated and compared with an explicit numpy construction."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from plasticity.derivations import get
from plasticity.derivations.curvature import N, array_numeric
from plasticity.derivations.summary import T, delta, r


@pytest.fixture(scope="module")
def table() -> sp.Matrix:
    return get("table2").statement


def ratio(table: sp.Matrix, row: int) -> sp.Expr:
    return table[row, 2]


def test_self_checks_pass() -> None:
    assert get("table2").verified, [c.name for c in get("table2").failed_checks]


def test_shape_and_rows(table: sp.Matrix) -> None:
    assert table.shape == (6, 4)
    labels = [str(table[k, 0]) for k in range(1, 6)]
    assert labels == [
        r"\text{zeroth order}",
        r"\text{gradient}",
        r"\text{noisy gradient}",
        r"\text{Newton (near optimum)}",
        r"\text{Newton (far)}",
    ]


def test_zeroth_order_and_newton_near_are_one(table: sp.Matrix) -> None:
    assert ratio(table, 1) == 1
    assert ratio(table, 4) == 1


def test_gradient_row_against_explicit_quadratic(table: sp.Matrix) -> None:
    rng = np.random.default_rng(30)
    f = sp.lambdify((T, N, delta), ratio(table, 2), modules="numpy")
    n = 6
    for _ in range(20):
        lam = rng.uniform(0.1, 4.0, n)
        q = np.sum(lam**3) / np.sum(lam**2)  # Q[∇F] with equal projections, from eq13's meaning
        explicit = np.sqrt(lam.mean() / q)
        got = f(lam.sum(), n, q - lam.mean())
        assert got == pytest.approx(explicit, rel=1e-12)  # float64 rounding of a few sums
        assert got <= 1.0 + 1e-12


def test_noisy_row_rises_to_one(table: sp.Matrix) -> None:
    f = sp.lambdify((T, N, delta, r), ratio(table, 3), modules="numpy")
    g = sp.lambdify((T, N, delta), ratio(table, 2), modules="numpy")
    rs = np.geomspace(1e-3, 1e4, 60)
    vals = f(3.0, 5, 0.4, rs)
    assert np.all(np.diff(vals) > 0) and np.all(vals < 1)
    assert vals[-1] == pytest.approx(1.0, abs=1e-8)  # 1 − O(δN/(T r²)) ≈ 1e-9 at r = 1e4
    assert f(3.0, 5, 0.4, 0.0) == pytest.approx(g(3.0, 5, 0.4), rel=1e-15)


def test_newton_far_row_against_explicit_newton_step(table: sp.Matrix) -> None:
    lam_sym = get("si_newton").args[0]
    f = array_numeric((lam_sym, N), ratio(table, 5))
    rng = np.random.default_rng(31)
    n = 5
    for _ in range(20):
        lam = rng.uniform(0.2, 5.0, n)
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        H = q @ np.diag(lam) @ q.T
        dc = -np.linalg.solve(H, q @ np.ones(n))  # equal projections of ∇F
        q_newton = dc @ H @ dc / (dc @ dc)
        explicit = np.sqrt(lam.mean() / q_newton)
        assert f(lam, n) == pytest.approx(explicit, rel=1e-10)  # solve on condition number < 25
        assert f(lam, n) >= 1.0 - 1e-12
