"""plasticity.checks.testing.parametrize_with_checks: the theory's claims inside a user's pytest suite."""

from __future__ import annotations

import numpy as np
import pytest

from plasticity.checks.testing import ClaimCheck, claim_checks, parametrize_with_checks
from plasticity.numerics.landscapes import Quadratic

pytest_plugins = ["pytester"]

LAM = np.geomspace(0.01, 1.0, 12)
BOWL = Quadratic(eigvals=LAM)  # diagonal H: projections on eigenvectors are the coordinates
EQUAL = np.ones(12)  # equal projections: Chebyshev, the gradient claim holds
FLAT = np.where(np.arange(12) < 6, 1.0, 0.01)  # biased to flat directions: it fails


# Applied directly, exactly as a user would (the three lines of the docstring).
@parametrize_with_checks(BOWL, points=[EQUAL, 2 * EQUAL])
def test_claims_hold_on_a_bowl_with_equal_projections(claim: ClaimCheck) -> None:
    claim.check()


def test_one_param_per_claim_and_point_with_readable_ids() -> None:
    checks = claim_checks(BOWL, [EQUAL, FLAT])
    ids = [c.test_id for c in checks]
    assert len(ids) == len(set(ids))
    assert "main_claim.gradient@point0" in ids and "main_claim.gradient@point1" in ids
    assert "main_claim.newton@point0" not in ids  # reported by the CLI, not predicted: not a test
    by_id = {c.test_id: c for c in checks}
    assert by_id["main_claim.gradient@point0"].holds is True
    assert by_id["main_claim.gradient@point1"].holds is False  # Σλ³c²/Σλ²c² < Σλ/N here
    with pytest.raises(AssertionError, match="main_claim.gradient@point1 fails"):
        by_id["main_claim.gradient@point1"].check()
    by_id["main_claim.gradient@point0"].check()


def test_bad_points_argument() -> None:
    with pytest.raises(ValueError, match="list of points"):
        claim_checks(BOWL, EQUAL)
    with pytest.raises(ValueError, match="empty"):
        claim_checks(BOWL, [])


USER_SUITE = """
import numpy as np
from plasticity.numerics.landscapes import Quadratic, FunctionLandscape
from plasticity.checks.testing import parametrize_with_checks

lam = np.geomspace(0.01, 1.0, 12)
bowl = Quadratic(eigvals=lam)
saddle = Quadratic(eigvals=np.array([2.0, 1.0, -1.5]))

@parametrize_with_checks(bowl, points=[np.ones(12), np.where(np.arange(12) < 6, 1.0, 0.01)])
def test_bowl(claim):
    claim.check()

@parametrize_with_checks(saddle, points=[np.ones(3), np.array([0.01, 0.01, 1.0])])
def test_saddle(claim):
    claim.check()

kink = FunctionLandscape(lambda w: float(np.sum(np.abs(w))), 2, grad=np.sign)

@parametrize_with_checks(kink, points=[np.zeros(2)])
def test_kink(claim):
    claim.check()
"""


def test_in_a_users_suite_outcomes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_SUITE)
    result = pytester.runpytest("-q", "-rxXf", "-p", "no:cacheprovider")
    # bowl: 5 claims × 2 points; point 1 (flat-biased) fails the gradient and noisy main claims
    # (their ratios exceed 1).  Saddle (Tr > 0, so its trained claim holds at both points):
    # at point 0, ∇F = Hw has Q[∇F] = Σλ³/Σλ² = 5.625/7.25 > Tr/N = 0.5 and the noisy Q's lie
    # between, all positive, so eq9a predicts despite the indefinite Hessian and all 5 pass;
    # at point 1, ∇F ≈ (0.02, 0.01, −1.5) has Q[∇F] ≈ −1.5 and the noisy Q (Q[∇F] + Tr/N)/2 < 0,
    # so the gradient, noisy and table-2 claims do not apply (xfail) while zeroth order passes.
    # The kink gives one failing usable@point0.
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 3
    assert outcomes.get("passed") == 8 + 5 + 2
    assert outcomes.get("xfailed", 0) + outcomes.get("xpassed", 0) == 3
    result.stdout.fnmatch_lines(["*test_bowl?main_claim.gradient@point1*", "*test_kink?usable@point0*"])
    result.stdout.fnmatch_lines(["*does not apply here*not guaranteed*"])
