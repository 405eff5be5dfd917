"""The theory's claims inside your own pytest suite, in the style of scikit-learn's
``parametrize_with_checks``.

Three lines add one test per (claim, point) to your suite::

    from plasticity.checks.testing import parametrize_with_checks

    @parametrize_with_checks(my_landscape, points=[w1, w2], minimum=w_star)
    def test_optimal_plasticity(claim):
        claim.check()

``my_landscape`` is any :class:`plasticity.numerics.landscapes.Landscape` (e.g. ``Quadratic``,
``FunctionLandscape``) or a :class:`plasticity.checks.landscape.spec.UserLandscape`.  Test ids read
``main_claim.gradient@point0``.  Claims the theory does not predict at a point (eq9a's
conditions Q[Δc] > 0 and Q[Δε] > 0 failing, which an indefinite Hessian or Tr(∇²F) ≤ 0
allows; an undefined curvature, e.g. Q[∇F] at a stationary point) are marked ``xfail``
with the reason; Newton and beeline compensation, for which the theory claims no ratio
bound, are not tests; a point where F is not usable (NaN, not smooth, inconsistent
derivatives) gives one failing ``usable@pointK`` test carrying the message.  The claims are
evaluated when the decorator runs (at collection), by :func:`plasticity.checks.landscape.analysis.analyse`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from plasticity.checks.landscape.analysis import analyse
from plasticity.checks.landscape.spec import UserLandscape
from plasticity.numerics.landscapes import Landscape

__all__ = ["ClaimCheck", "claim_checks", "parametrize_with_checks"]

#: claims reported by the landscape report that the theory does not predict (never tested)
REPORTED_ONLY = frozenset({"main_claim.newton", "main_claim.beeline"})


@dataclass(frozen=True)
class ClaimCheck:
    """One claim at one point, ready to assert: ``check()`` raises AssertionError if it fails."""

    id: str
    point_index: int
    holds: bool | None
    applies: bool
    detail: str
    statement: str

    @property
    def test_id(self) -> str:
        return f"{self.id}@point{self.point_index}"

    def check(self) -> None:
        """Raise ``AssertionError`` with the evidence unless the claim holds at the point."""
        if self.holds is None:
            raise AssertionError(f"{self.test_id} could not be evaluated: {self.detail}")
        if not self.holds:
            raise AssertionError(f"{self.test_id} fails: {self.statement}; {self.detail}")


def claim_checks(
    landscape: Landscape | UserLandscape,
    points: Sequence[np.ndarray | Sequence[float]],
    minimum: np.ndarray | Sequence[float] | None = None,
    *,
    seed: int = 0,
) -> list[ClaimCheck]:
    """Evaluate the claims at every point: one :class:`ClaimCheck` per (claim, point)."""
    if isinstance(points, np.ndarray) and points.ndim == 1:
        raise ValueError("points must be a list of points (or a 2-D array, one point per row), not one point")
    if len(points) == 0:
        raise ValueError("points is empty: give at least one point to check the claims at")
    out: list[ClaimCheck] = []
    for i, w in enumerate(points):
        try:
            report = analyse(landscape, np.asarray(w, dtype=np.float64), minimum=minimum, seed=seed)
        except ValueError as exc:
            out.append(ClaimCheck("usable", i, False, True, str(exc), "F is usable at the point"))
            continue
        for c in report.claims:
            if c.id in REPORTED_ONLY:
                continue
            out.append(ClaimCheck(c.id, i, c.holds, c.applies, c.detail, c.statement))
    return out


def parametrize_with_checks(
    landscape: Landscape | UserLandscape,
    points: Sequence[np.ndarray | Sequence[float]],
    minimum: np.ndarray | Sequence[float] | None = None,
    *,
    seed: int = 0,
    argname: str = "claim",
) -> pytest.MarkDecorator:
    """A ``pytest.mark.parametrize`` over (claim, point) pairs; see the module docstring.

    Claims that do not apply at a point (``applies`` False, or not evaluable) are marked
    ``xfail`` with the reason.  The test receives a :class:`ClaimCheck` as ``argname``.
    """
    params = []
    for cc in claim_checks(landscape, points, minimum, seed=seed):
        marks = ()
        if not cc.applies or cc.holds is None:
            marks = (pytest.mark.xfail(reason=f"does not apply here: {cc.detail}", strict=False),)
        params.append(pytest.param(cc, id=cc.test_id, marks=marks))
    return pytest.mark.parametrize(argname, params)
