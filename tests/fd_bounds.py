"""Central differences with their error bound, shared by the network and landscape tests.

A central difference D(h) of a smooth function has truncation error ∝ h², so |D(h) − D(2h)|/3
estimates it; rounding adds ~ε·|value|/h.  Both tests compare exact derivatives with D(h)
within 4× their sum (the estimate's own error).
"""

from __future__ import annotations

import numpy as np

from plasticity.numerics import networks as nw

EPS = np.finfo(np.float64).eps


def fd_directional(fn, x, v, h):  # noqa: ANN001, ANN201
    """Central difference of fn along v, at steps h and 2h."""
    d1 = (fn(x + h * v) - fn(x - h * v)) / (2 * h)
    d2 = (fn(x + 2 * h * v) - fn(x - 2 * h * v)) / (4 * h)
    return d1, d2


def assert_matches_fd(exact, fn, x, v, scale, h=None) -> None:  # noqa: ANN001
    """exact ≈ d/dt fn(x + t v) within the central-difference error bound (module docstring)."""
    h = EPS ** (1 / 3) * max(1.0, float(np.linalg.norm(x))) if h is None else h
    d1, d2 = fd_directional(fn, x, v, h)
    truncation = np.abs(d1 - d2) / 3
    rounding = 64 * EPS * scale / h
    err = np.abs(np.asarray(exact) - d1)
    tol = 4 * (truncation + rounding)
    assert np.all(err <= tol), f"max error {np.max(err):.3g} vs tolerance {np.max(tol):.3g}"


def grad_rounding_scale(arch, w, X, Y) -> float:  # noqa: ANN001
    """Rounding scale of the gradient for assert_matches_fd: an entry is a length-P dot
    product Σ_p δ_p h_p, whose worst-case rounding error is P·eps·Σ_p|δ_p h_p|; returned as
    P/64 × the largest Σ|terms| so that the helper's 64·eps·scale equals that bound."""
    p = nw.Pass(arch, np.asarray(w, dtype=np.float64), X, Y)
    largest = max(float(np.max(np.abs(d).T @ np.abs(h))) for d, h in zip(p.deltas(), p.h[:-1], strict=True))
    return X.shape[0] / 64 * largest
