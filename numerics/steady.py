"""Is a run settled?  Compare the mean task error of the last window with the window before.

Consecutive steps of a run are strongly correlated, so the standard error of a window's mean is
estimated by *batch means*: the window is cut into ``n_batches`` consecutive batches whose means
are close to independent when a batch is much longer than the autocorrelation time.  A run is
*not settled* when the two windows' means differ by more than a two-sided Student-t test at level
``alpha`` allows (df = 2·(n_batches − 1)), and by more than ``rtol`` of the earlier mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class SettledTest:
    """Outcome of :func:`settled_test` for each series (arrays of shape (B,))."""

    settled: np.ndarray  # bool
    last_mean: np.ndarray
    prev_mean: np.ndarray
    stderr: np.ndarray  # batch-means standard error of last_mean − prev_mean
    threshold: float  # the t quantile the |difference|/stderr is compared with

    @property
    def relative_drift(self) -> np.ndarray:
        """(last − previous) / previous: how much the error moved between the windows."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.last_mean - self.prev_mean) / np.abs(self.prev_mean)


def batch_means(x: np.ndarray, n_batches: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of each series x (B, T) over its last axis and the batch-means standard error of it."""
    x = np.asarray(x, dtype=np.float64)
    t = x.shape[-1]
    if n_batches < 2 or t < n_batches:
        raise ValueError(f"need 2 <= n_batches <= window length, got n_batches={n_batches}, length={t}")
    usable = (t // n_batches) * n_batches
    means = x[..., t - usable :].reshape(*x.shape[:-1], n_batches, -1).mean(axis=-1)
    return means.mean(axis=-1), means.std(axis=-1, ddof=1) / np.sqrt(n_batches)


def settled_test(
    series: np.ndarray, window: int, n_batches: int = 10, alpha: float = 0.01, rtol: float = 0.0
) -> SettledTest:
    """Test whether each row of ``series`` (B, T) has stopped drifting over its last 2·window points."""
    x = np.atleast_2d(np.asarray(series, dtype=np.float64))
    if window < 1 or 2 * window > x.shape[-1]:
        raise ValueError(f"window {window} needs 2·window <= series length {x.shape[-1]}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    if rtol < 0:
        raise ValueError(f"rtol must be >= 0, got {rtol}")
    last_mean, last_se = batch_means(x[:, -window:], n_batches)
    prev_mean, prev_se = batch_means(x[:, -2 * window : -window], n_batches)
    se = np.sqrt(last_se**2 + prev_se**2)
    thr = float(stats.t.ppf(1 - alpha / 2, 2 * (n_batches - 1)))
    diff = np.abs(last_mean - prev_mean)
    finite = np.all(np.isfinite(x[:, -2 * window :]), axis=-1)
    ok = (diff <= thr * se) | (diff <= rtol * np.abs(prev_mean))
    return SettledTest(ok & finite, last_mean, prev_mean, se, thr)
