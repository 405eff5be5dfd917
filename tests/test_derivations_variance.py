"""var_dF against exact sphere quadrature (N = 2, 3) and a Monte Carlo variance (N = 10).

The quadratures integrate the second-order ΔF (built from explicit g, H, Δc, not from the
closed form) over the uniform sphere with rules that are exact for the trigonometric and
polynomial degrees involved, so they agree with the closed form to float64 rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

from plasticity.derivations import closed_forms as cf
from plasticity.derivations import get

RTOL_EXACT = 1e-10  # exact quadrature: only float64 rounding of ~10³ terms (≈ 1e-13) separates them


def delta_F(g: np.ndarray, H: np.ndarray, dc: np.ndarray, de: np.ndarray) -> np.ndarray:
    """Second-order ΔF = gᵀ(Δc+Δε) + ½(Δc+Δε)ᵀH(Δc+Δε) for rows of Δε."""
    dw = dc + de
    return dw @ g + 0.5 * np.einsum("...i,ij,...j->...", dw, H, dw)


def random_problem(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    A = rng.standard_normal((n, n))
    return rng.standard_normal(n), (A + A.T) / 2, rng.standard_normal(n)


def predicted(eps: float, g: np.ndarray, H: np.ndarray, dc: np.ndarray) -> float:
    a = g + H @ dc
    n = len(g)
    return float(cf.var_dF(eps, np.linalg.norm(a), np.trace(H), np.trace(H @ H), n))


def sphere_nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on the unit sphere in R^n (n = 2, 3), exact for polynomials of degree ≤ 4."""
    phi = 2 * np.pi * np.arange(16) / 16  # trapezoid: exact for trig polynomials of degree < 16
    if n == 2:
        return np.stack([np.cos(phi), np.sin(phi)], axis=1), np.full(16, 1 / 16)
    z, wz = np.polynomial.legendre.leggauss(8)  # exact in z to degree 15 (Archimedes: z uniform)
    Z, P = np.meshgrid(z, phi, indexing="ij")
    rho = np.sqrt(1 - Z**2)
    u = np.stack([rho * np.cos(P), rho * np.sin(P), Z], axis=-1).reshape(-1, 3)
    w = (wz[:, None] / 2 * np.full(16, 1 / 16)[None, :]).reshape(-1)
    return u, w


def test_self_checks_pass() -> None:
    assert get("var_dF").verified, [c.name for c in get("var_dF").failed_checks]


@pytest.mark.parametrize("n", [2, 3])
def test_var_dF_against_exact_sphere_quadrature(n: int) -> None:
    rng = np.random.default_rng(100 + n)
    for _ in range(5):
        g, H, dc = random_problem(rng, n)
        eps = rng.uniform(0.1, 3.0)
        u, w = sphere_nodes(n)
        f = delta_F(g, H, dc, eps * u)
        mean = w @ f
        var = w @ (f - mean) ** 2
        assert predicted(eps, g, H, dc) == pytest.approx(var, rel=RTOL_EXACT)


def test_sphere_nodes_reproduce_the_moments() -> None:
    # sanity of the quadrature itself: E[u_1⁴] = 3/(N(N+2)), E[u_1²u_2²] = 1/(N(N+2))
    for n in (2, 3):
        u, w = sphere_nodes(n)
        assert w @ u[:, 0] ** 4 == pytest.approx(3 / (n * (n + 2)), rel=1e-13)
        assert w @ (u[:, 0] ** 2 * u[:, 1] ** 2) == pytest.approx(1 / (n * (n + 2)), rel=1e-13)


def test_var_dF_monte_carlo_with_standard_error_of_the_variance() -> None:
    rng = np.random.default_rng(110)
    n, k = 10, 40_000
    g, H, dc = random_problem(rng, n)
    eps = 0.8
    u = rng.standard_normal((k, n))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    f = delta_F(g, H, dc, eps * u)
    centred = f - f.mean()
    s2 = centred @ centred / (k - 1)
    mu4 = np.mean(centred**4)
    se = np.sqrt((mu4 - s2**2) / k)  # standard error of the sample variance
    assert abs(s2 - predicted(eps, g, H, dc)) < 5 * se


def test_isotropic_Hessian_has_no_quartic_term() -> None:
    # H = h·I: ΔεᵀHΔε = h‖Δε‖² is constant on the sphere, so only the linear term varies
    n, h = 4, 2.5
    assert cf.var_dF(1.3, 0.7, n * h, n * h * h, n) == pytest.approx(1.3**2 * 0.7**2 / n, rel=1e-13)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"eps_norm": -1.0, "a_norm": 1.0, "trace_H": 1.0, "trace_H2": 1.0, "n": 2},
            "eps_norm must be non-negative",
        ),
        (
            {"eps_norm": 1.0, "a_norm": -1.0, "trace_H": 1.0, "trace_H2": 1.0, "n": 2},
            "a_norm must be non-negative",
        ),
        ({"eps_norm": 1.0, "a_norm": 1.0, "trace_H": 3.0, "trace_H2": 1.0, "n": 2}, "Cauchy–Schwarz"),
        ({"eps_norm": 1.0, "a_norm": 1.0, "trace_H": 1.0, "trace_H2": 1.0, "n": 0}, "n must be positive"),
        ({"eps_norm": np.nan, "a_norm": 1.0, "trace_H": 1.0, "trace_H2": 1.0, "n": 2}, "finite"),
    ],
)
def test_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cf.var_dF(**kwargs)
