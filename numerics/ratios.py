"""Reading a best ratio ‖Δc‖/‖Δε‖ off a swept grid of ratios.

Every sweep (the paper's figures, the claims' simulations, a user's landscape) asks the same
three questions of its grid, and each is answered here once:

- :func:`fixed_point`: the self-consistent eq9a prediction, the ratio r at which the
  prediction √(Q[Δε]/Q[Δc](r)), with the Q's measured at r, equals r;
- :func:`refined_minimiser`: the ratio minimising a measured curve (steady loss, gradient
  norm), refined between grid points by a parabola;
- :func:`bootstrap_se`: the standard error of either, resampling repetitions with
  replacement.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["bootstrap_se", "fixed_point", "nanmean_rows", "refined_minimiser"]


def fixed_point(ratios: np.ndarray, predicted: np.ndarray) -> float:
    """The ratio r where the prediction curve crosses r = predicted(r); NaN if it does not.

    ``predicted[k]`` is eq9a evaluated with the Q's measured at ``ratios[k]`` (ascending).  The
    self-consistent ratio is the first downward crossing of d(r) = predicted(r) − r: below it
    the prediction asks for more compensation than applied, above it for less, so it is the
    stable one.  It is found between the first two adjacent grid points with d ≥ 0 > d (d
    interpolated linearly; a grid point where d is exactly 0 is the crossing itself), or at the
    last grid point if d falls to exactly 0 there.  Only adjacent finite points bracket a
    crossing: a non-finite prediction (eq9a not applying at that ratio) is a gap the curve is
    not interpolated across.
    """
    r = np.asarray(ratios, dtype=float)
    p = np.asarray(predicted, dtype=float)
    if r.ndim != 1 or p.shape != r.shape:
        raise ValueError(f"ratios and predicted must be 1-D of one length; got {r.shape} and {p.shape}")
    d = p - r
    for k in range(len(d) - 1):
        if np.isfinite(d[k]) and np.isfinite(d[k + 1]) and d[k] >= 0 > d[k + 1]:
            return float(r[k] + (r[k + 1] - r[k]) * d[k] / (d[k] - d[k + 1]))
    if len(d) and d[-1] == 0 and (len(d) == 1 or d[-2] > 0):
        return float(r[-1])
    return math.nan


def refined_minimiser(ratios: np.ndarray, values: np.ndarray) -> float:
    """The ratio minimising ``values`` on the grid, refined by the parabola through the grid
    minimum and its two neighbours; the grid point itself at an edge of the grid or where the
    three points are not convex.  NaN where no value is finite."""
    x = np.asarray(ratios, dtype=float)
    y = np.asarray(values, dtype=float)
    if not np.isfinite(y).any():
        return math.nan
    k = int(np.nanargmin(y))
    if k == 0 or k == len(x) - 1 or not np.all(np.isfinite(y[k - 1 : k + 2])):
        return float(x[k])
    x0, x1, x2 = x[k - 1 : k + 2]
    y0, y1, y2 = y[k - 1 : k + 2]
    denom = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denom
    b = (x2**2 * (y0 - y1) + x1**2 * (y2 - y0) + x0**2 * (y1 - y2)) / denom
    return float(np.clip(-b / (2 * a), x0, x2)) if a > 0 else float(x1)


def nanmean_rows(x: np.ndarray) -> np.ndarray:
    """Mean of each row over its finite entries (NaN for a row with none, without a warning)."""
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    n = ok.sum(axis=1)
    return np.where(n > 0, np.where(ok, x, 0.0).sum(axis=1) / np.maximum(n, 1), np.nan)


def bootstrap_se(
    statistic: Callable[[np.ndarray, np.ndarray], float],
    ratios: np.ndarray,
    per_run: np.ndarray,
    rng: np.random.Generator,
    resamples: int = 200,
) -> float:
    """Standard error of ``statistic(ratios, curve)`` over bootstrap resamples of repetitions.

    ``per_run`` has one column per repetition (shape (ratios, reps)).  Each resample draws
    ``reps`` columns *with replacement* and averages them (over finite entries) into a curve.
    NaN when fewer than two resamples give a finite statistic.
    """
    per_run = np.asarray(per_run, dtype=float)
    if per_run.ndim != 2 or per_run.shape[0] != len(ratios):
        raise ValueError(f"per_run must have shape (len(ratios), reps); got {per_run.shape}")
    reps = per_run.shape[1]
    stats = np.array(
        [statistic(ratios, nanmean_rows(per_run[:, rng.integers(0, reps, reps)])) for _ in range(resamples)]
    )
    stats = stats[np.isfinite(stats)]
    return float(np.std(stats, ddof=1)) if stats.size > 1 else math.nan
