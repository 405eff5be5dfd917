"""Reading best ratios off a swept grid: the eq9a fixed point, the refined minimiser and the
bootstrap over repetitions, each checked on curves whose answer is known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plasticity.numerics.ratios import bootstrap_se, fixed_point, nanmean_rows, refined_minimiser

R = np.array([0.1, 0.4, 0.7, 1.0])


def test_fixed_point_of_a_linear_prediction() -> None:
    # pred(r) = 0.9 − 0.2 r crosses r at 0.9/1.2 = 0.75; linear, so interpolation is exact
    assert fixed_point(R, 0.9 - 0.2 * R) == pytest.approx(0.75, rel=1e-12)


def test_no_crossing_is_nan() -> None:
    assert math.isnan(fixed_point(R, R + 1.0))  # prediction always above r
    assert math.isnan(fixed_point(R, R - 1.0))  # always below


def test_only_a_downward_crossing_counts() -> None:
    # d = pred − r goes − → + → −: the upward crossing (unstable) is skipped
    pred = R + np.array([-0.1, 0.2, -0.1, -0.2])
    # downward crossing between 0.4 (d = 0.2) and 0.7 (d = −0.1): 0.4 + 0.3·(0.2/0.3) = 0.6
    assert fixed_point(R, pred) == pytest.approx(0.6, rel=1e-12)


def test_exact_zero_on_the_grid_is_the_crossing() -> None:
    assert fixed_point(R, R + np.array([0.3, 0.0, -0.1, -0.2])) == 0.4
    assert fixed_point(R, R + np.array([0.3, 0.2, 0.1, 0.0])) == 1.0  # falls to 0 at the last point


def test_a_gap_is_not_interpolated_across() -> None:
    pred = R + np.array([0.2, np.nan, -0.1, -0.2])
    assert math.isnan(fixed_point(R, pred))
    with pytest.raises(ValueError, match="1-D of one length"):
        fixed_point(R, R[:3])


def test_refined_minimiser_recovers_a_parabola_vertex() -> None:
    x = np.linspace(0.1, 1.0, 10)
    assert refined_minimiser(x, (x - 0.537) ** 2) == pytest.approx(0.537, rel=1e-12)
    assert refined_minimiser(x, x) == 0.1  # minimum on the edge: the grid point
    assert math.isnan(refined_minimiser(x, np.full(10, np.nan)))


def test_nanmean_rows_skips_non_finite_entries() -> None:
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]])
    out = nanmean_rows(x)
    assert out[0] == 2.0 and math.isnan(out[1])


def test_bootstrap_resamples_repetitions_with_replacement() -> None:
    seen: list[np.ndarray] = []

    def statistic(ratios: np.ndarray, curve: np.ndarray) -> float:
        seen.append(curve.copy())
        return float(curve[0])

    reps = 5
    per_run = np.arange(reps, dtype=float)[None, :] * np.ones((3, 1))  # column j holds j
    se = bootstrap_se(statistic, R[:3], per_run, np.random.default_rng(0), resamples=400)
    # the mean of 5 draws with replacement from {0..4} has s.d. √(2/5) = 0.632; its s.e. over
    # 400 resamples is about 0.632/√800 = 0.022, so 5 of those bound the check
    assert se == pytest.approx(math.sqrt(2 / 5), abs=5 * 0.022)
    # a resample without replacement would always average to 2 exactly: with replacement
    # most resamples repeat a repetition and miss another
    assert sum(c[0] != 2.0 for c in seen) > 300
    assert bootstrap_se(statistic, R[:3], per_run, np.random.default_rng(0), resamples=400) == se
    with pytest.raises(ValueError, match="per_run"):
        bootstrap_se(statistic, R, per_run, np.random.default_rng(0))
