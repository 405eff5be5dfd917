"""si_steady_positivity, si_independent_mean and si_linear_beeline: their self-checks pass, and their
numeric forms agree with independent numpy computations.

Tolerances: float64 products and solves on condition numbers < 1e2 agree to ~1e-13 relative, so
1e-10; the exact counterexamples are compared as rationals.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from plasticity.derivations import closed_forms as cf
from plasticity.derivations import get
from plasticity.derivations.core import ORDER

IDS = ("si_steady_positivity", "si_independent_mean", "si_linear_beeline")
RTOL = 1e-10


@pytest.mark.parametrize("rid", IDS)
def test_self_checks_pass_and_result_is_ordered(rid: str) -> None:
    r = get(rid)
    assert rid in ORDER
    assert r.verified, [c.name for c in r.failed_checks]
    assert r.conditions and r.steps and r.closed_form is not None


def test_steady_positivity_balances_eq8() -> None:
    # at ‖Δc‖ = −‖Δε‖²Q[Δε]/g and the derived Q[Δc], eq8 is 0 and stationary
    rng = np.random.default_rng(1)
    g, e, q_eps = -rng.uniform(0.1, 2, 50), rng.uniform(0.1, 2, 50), rng.uniform(0.1, 2, 50)
    q_c = cf.steady_state_Q_c(g, e, q_eps)
    s = -(e**2) * q_eps / g
    value = cf.expected_dF(s, g, e, q_c, q_eps)
    slope = g + s * q_c  # d/ds of s·g + ½s²Q_c
    scale = np.abs(s * g) + e**2 * q_eps
    assert np.all(q_c > 0)
    np.testing.assert_allclose(value / scale, 0, atol=RTOL)
    np.testing.assert_allclose(slope / np.abs(g), 0, atol=RTOL)
    np.testing.assert_allclose(cf.steady_state_ratio(q_eps, q_c), s / e, rtol=RTOL)
    with pytest.raises(ValueError, match="negative"):
        cf.steady_state_Q_c(0.5, 1.0, 1.0)


def test_independent_variance_matches_the_eigenvalue_spread() -> None:
    lam = np.array([0.5, 1.0, 4.0])
    n = lam.size
    v = cf.Q_independent_variance(lam.sum(), (lam**2).sum(), n)
    assert float(v) == pytest.approx(2 * np.var(lam) / (n + 2), rel=RTOL)
    assert float(cf.Q_independent_variance(3.0, 3.0, 3)) == 0.0  # equal eigenvalues: no spread


def test_newton_step_on_a_quadratic_is_the_beeline() -> None:
    rng = np.random.default_rng(2)
    n = 6
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = rng.uniform(0.1, 3.0, n)
    H = (q * lam) @ q.T
    x = rng.standard_normal(n)  # w − w*
    step = -np.linalg.solve(H, H @ x)
    np.testing.assert_allclose(step, -x, rtol=1e-9, atol=1e-12)
    rayleigh = step @ H @ step / (step @ step)
    assert float(cf.Q_newton_linear(lam, q.T @ x)) == pytest.approx(rayleigh, rel=1e-9)


def test_counterexamples_are_exact_rationals() -> None:
    details = {c.name: c.detail for c in get("si_independent_mean").checks}
    (text,) = [d for name, d in details.items() if name.startswith("counterexample")]
    assert "19/20" in text and "17/18" in text
    stmt = get("si_steady_positivity").statement
    assert isinstance(stmt, sp.And)


# --------------------------------------------------------------------------- the verify claims

CLAIM_OF = {
    "si_steady_positivity": "steady_positivity_minimiser",
    "si_independent_mean": "independent_orientation_monte_carlo",
    "si_linear_beeline": "linear_beeline_newton",
}


@pytest.mark.parametrize("rid", IDS)
def test_derivation_verified_and_its_claim_holds_under_ci(rid: str) -> None:
    from plasticity.checks.claims import get_claim

    assert get(rid).verified
    c = get_claim(CLAIM_OF[rid])
    assert any("ground truth" in text for text in c.conditions)
    v = c.check("ci")
    assert v.verdict == c.expected, v.to_json()
    assert v.worst_margin is not None and v.worst_margin >= 0


def test_no_minimiser_ground_truth_rejects_a_finite_minimiser() -> None:
    # the numeric ladder must be able to fail: with Q[Δc] > 0 the minimiser −g/Q is finite
    from plasticity.checks.claims.derived import no_minimiser_margin
    from plasticity.checks.claims.helpers import ExplicitStep

    H = np.diag([1.0, 3.0])
    x = np.array([1.0, 1.0])
    chat = np.array([-1.0, 0.0])  # ∇F·ĉ = −1, Q[Δc] = 1: minimiser at ‖Δc‖ = 1
    margin, found, _ = no_minimiser_margin(ExplicitStep(H, x, chat), 1.0, 1e-12)
    assert margin < 0 and found[-1] == pytest.approx(1.0, rel=1e-6)
    Hn = np.diag([-1.0, 3.0])  # Tr > 0, Q[Δc] = −1 along ĉ: no minimiser
    margin_n, found_n, values_n = no_minimiser_margin(ExplicitStep(Hn, x, np.array([1.0, 0.0])), 1.0, 1e-12)
    assert margin_n >= 0 and np.all(np.diff(values_n) < 0)
