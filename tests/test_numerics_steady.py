"""Settledness test on synthetic series: stationary correlated noise passes, drift fails."""

from __future__ import annotations

import numpy as np
import pytest

from plasticity.numerics.steady import batch_means, settled_test


def _ar1(rng: np.random.Generator, b: int, t: int, phi: float) -> np.ndarray:
    """Stationary AR(1) series (autocorrelation time (1+φ)/(1−φ)) around 1."""
    e = rng.standard_normal((b, t))
    x = np.empty((b, t))
    x[:, 0] = e[:, 0] / np.sqrt(1 - phi**2)
    for k in range(1, t):
        x[:, k] = phi * x[:, k - 1] + e[:, k]
    return 1.0 + 0.05 * x


def test_stationary_correlated_series_are_mostly_settled() -> None:
    rng = np.random.default_rng(0)
    x = _ar1(rng, 400, 4000, phi=0.9)  # autocorrelation time 19 steps, batches of 200 steps
    res = settled_test(x, window=2000, n_batches=10, alpha=0.01)
    # nominal false-alarm rate 1%; batch means of 10 batches are near-independent here, so the
    # observed rate over 400 series (s.e. of a 1% rate ≈ 0.5%) stays well under 4%
    assert res.settled.mean() > 0.96


def test_drift_of_ten_percent_per_window_is_flagged() -> None:
    rng = np.random.default_rng(1)
    t = 4000
    drift = 1.0 + 0.10 * np.arange(t) / 2000  # +10% per 2000-step window, like the paper's slow runs
    x = _ar1(rng, 200, t, phi=0.9) * drift
    res = settled_test(x, window=2000)
    assert (~res.settled).mean() > 0.95
    np.testing.assert_allclose(np.median(res.relative_drift), 0.095, atol=0.01)  # ≈ 0.10 / 1.05


def test_ignoring_autocorrelation_would_flag_stationary_series() -> None:
    """Batch means matter: with 1000 batches (each 2 steps, shorter than the correlation time)
    the standard error is underestimated and stationary series are wrongly flagged."""
    rng = np.random.default_rng(2)
    x = _ar1(rng, 200, 4000, phi=0.95)
    good = settled_test(x, window=2000, n_batches=10).settled.mean()
    naive = settled_test(x, window=2000, n_batches=1000).settled.mean()
    assert good > 0.95 and naive < 0.8


def test_batch_means_standard_error_of_white_noise() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2000, 1000))
    mean, se = batch_means(x, 10)
    # the true s.e. of a 1000-sample mean is 1/√1000; its batch-means estimate has 9 dof,
    # so averaged over 2000 series it is within 2% of (E s = c4(10)·σ = 0.9727σ)
    np.testing.assert_allclose(se.mean(), 0.9727 / np.sqrt(1000), rtol=0.02)
    np.testing.assert_allclose(mean.std(), 1 / np.sqrt(1000), rtol=0.05)  # s.e. of an s.d. from 2000


def test_rtol_accepts_small_relative_differences_and_nan_is_not_settled() -> None:
    x = np.concatenate([np.full(100, 1.0), np.full(100, 1.01)]) + 1e-6 * np.arange(200) % 3
    assert not settled_test(x[None], 100).settled[0]
    assert settled_test(x[None], 100, rtol=0.02).settled[0]
    y = x.copy()
    y[-1] = np.nan
    assert not settled_test(y[None], 100, rtol=0.02).settled[0]


def test_bad_arguments() -> None:
    x = np.ones((1, 100))
    with pytest.raises(ValueError, match="window"):
        settled_test(x, 60)
    with pytest.raises(ValueError, match="alpha"):
        settled_test(x, 50, alpha=2)
    with pytest.raises(ValueError, match="n_batches"):
        settled_test(x, 50, n_batches=1)
