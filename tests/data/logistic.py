"""An L2-regularised logistic regression on seeded synthetic data: a real landscape with a
minimum that can be found to rounding precision, for `plasticity landscape` tests.

F(w) = mean_i [log(1 + exp(x_iᵀw)) − y_i x_iᵀw] + ½ λ ‖w‖², with N = 4 (three features and
a constant).  As a module SPEC, ``loss`` comes with its exact ``loss_grad`` and ``loss_hess``,
and with the same F, ∇F and HVP over a batch of points (``loss_batch``, ``loss_grad_batch``,
``loss_hvp_batch``, one point per row) for `--simulate`; ``value`` is the same F with no
derivatives of its name (and the module defines no module-level ``grad``/``hessian``/``hvp``
or batched functions), so the tool differentiates it by finite differences.
:func:`trained` returns the minimiser.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.optimize

LAMBDA = 0.01
N_SAMPLES = 200


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20210524)
    features = rng.standard_normal((N_SAMPLES, 3)) * np.array([3.0, 1.0, 0.3])  # anisotropic curvature
    X = np.hstack([features, np.ones((N_SAMPLES, 1))])
    w_true = np.array([1.5, -2.0, 0.5, 0.3])
    p = 1.0 / (1.0 + np.exp(-X @ w_true))
    y = (rng.random(N_SAMPLES) < p).astype(np.float64)
    return X, y


X, Y = _data()


def loss(w: np.ndarray) -> float:
    """F(w): mean logistic loss plus ½λ‖w‖²."""
    z = X @ w
    return float(np.mean(np.logaddexp(0.0, z) - Y * z) + 0.5 * LAMBDA * w @ w)


def value(w: np.ndarray) -> float:
    """The same F, offered without derivatives."""
    return loss(w)


def loss_grad(w: np.ndarray) -> np.ndarray:
    """∇F(w) = Xᵀ(σ(Xw) − y)/m + λw."""
    s = 0.5 * (1.0 + np.tanh(0.5 * (X @ w)))  # σ(z) without overflow
    return X.T @ (s - Y) / N_SAMPLES + LAMBDA * w


def loss_hess(w: np.ndarray) -> np.ndarray:
    """∇²F(w) = Xᵀ diag(σ(1−σ)) X/m + λI."""
    s = 0.5 * (1.0 + np.tanh(0.5 * (X @ w)))
    H = (X * (s * (1.0 - s))[:, None]).T @ X / N_SAMPLES + LAMBDA * np.eye(X.shape[1])
    return 0.5 * (H + H.T)


def loss_batch(W: np.ndarray) -> np.ndarray:
    """F at every row of W (k, 4) -> (k,)."""
    Z = W @ X.T
    return np.mean(np.logaddexp(0.0, Z) - Y * Z, axis=1) + 0.5 * LAMBDA * np.einsum("ki,ki->k", W, W)


def loss_grad_batch(W: np.ndarray) -> np.ndarray:
    """∇F at every row of W (k, 4) -> (k, 4)."""
    S = 0.5 * (1.0 + np.tanh(0.5 * (W @ X.T)))
    return (S - Y) @ X / N_SAMPLES + LAMBDA * W


def loss_hvp_batch(W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """∇²F(W[i])·V[i] for every row i (k, 4) -> (k, 4)."""
    S = 0.5 * (1.0 + np.tanh(0.5 * (W @ X.T)))
    return (S * (1.0 - S) * (V @ X.T)) @ X / N_SAMPLES + LAMBDA * V


@functools.cache
def _trained() -> tuple[float, ...]:
    res = scipy.optimize.minimize(
        loss,
        np.zeros(X.shape[1]),
        jac=loss_grad,
        hess=loss_hess,
        method="trust-exact",
        options={"gtol": 1e-15},
    )
    w = res.x
    for _ in range(3):  # F is strongly convex (λ > 0): Newton steps polish the minimiser to rounding
        w = w - np.linalg.solve(loss_hess(w), loss_grad(w))
    return tuple(float(x) for x in w)


def trained() -> np.ndarray:
    """The minimiser of F, to rounding precision."""
    return np.array(_trained())
