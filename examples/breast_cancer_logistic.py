"""Example landscape: L2-regularised logistic regression on scikit-learn's breast-cancer data.

F(w) = mean_i [log(1 + exp(x_iᵀw)) − y_i x_iᵀw] + ½ λ ‖w‖², with the 30 standardised
features and a constant (N = 31), λ = 0.01.  Needs scikit-learn (the data ship with it).

As a module SPEC (``examples/breast_cancer_logistic.py:loss``) it supplies exact derivatives
one point at a time (``loss_grad``, ``loss_hess``, ``loss_hvp``) and, for `--simulate`, the
same functions over a batch of points, one point per row (``loss_batch``,
``loss_grad_batch``, ``loss_hvp_batch``, ``loss_hess_batch``): the simulation then evaluates
every ratio and repetition in one call per step.  :func:`trained` returns the minimiser;
``python examples/breast_cancer_logistic.py OUT.npy`` writes it for ``--at``/``--minimum``.
"""

from __future__ import annotations

import functools
import sys

import numpy as np

LAMBDA = 0.01


def _data() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    features, y = load_breast_cancer(return_X_y=True)
    features = (features - features.mean(0)) / features.std(0)
    return np.hstack([features, np.ones((features.shape[0], 1))]), y.astype(np.float64)


X, Y = _data()
M = X.shape[0]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # σ(z) without overflow


def loss(w: np.ndarray) -> float:
    """F(w): mean logistic loss plus ½λ‖w‖²."""
    z = X @ w
    return float(np.mean(np.logaddexp(0.0, z) - Y * z) + 0.5 * LAMBDA * w @ w)


def loss_grad(w: np.ndarray) -> np.ndarray:
    """∇F(w) = Xᵀ(σ(Xw) − y)/m + λw."""
    return X.T @ (_sigmoid(X @ w) - Y) / M + LAMBDA * w


def loss_hess(w: np.ndarray) -> np.ndarray:
    """∇²F(w) = Xᵀ diag(σ(1−σ)) X/m + λI."""
    s = _sigmoid(X @ w)
    H = (X * (s * (1.0 - s))[:, None]).T @ X / M + LAMBDA * np.eye(X.shape[1])
    return 0.5 * (H + H.T)


def loss_hvp(w: np.ndarray, v: np.ndarray) -> np.ndarray:
    """∇²F(w)·v = Xᵀ(σ(1−σ) ∘ Xv)/m + λv."""
    s = _sigmoid(X @ w)
    return X.T @ (s * (1.0 - s) * (X @ v)) / M + LAMBDA * v


def loss_batch(W: np.ndarray) -> np.ndarray:
    """F at every row of W (k, N) -> (k,); log(1 + eᶻ) = max(z, 0) + log1p(e^−|z|) (no overflow)."""
    Z = W @ X.T
    softplus = np.maximum(Z, 0.0) + np.log1p(np.exp(-np.abs(Z)))
    return np.mean(softplus - Y * Z, axis=1) + 0.5 * LAMBDA * np.einsum("ki,ki->k", W, W)


def loss_grad_batch(W: np.ndarray) -> np.ndarray:
    """∇F at every row of W (k, N) -> (k, N)."""
    return (_sigmoid(W @ X.T) - Y) @ X / M + LAMBDA * W


def loss_hvp_batch(W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """∇²F(W[i])·V[i] for every row i (k, N) -> (k, N)."""
    S = _sigmoid(W @ X.T)
    return (S * (1.0 - S) * (V @ X.T)) @ X / M + LAMBDA * V


#: the upper triangle (i ≤ j) of every sample's x_i x_iᵀ, (m, N(N+1)/2): ∇²F of many points
#: is then one matrix product
_UPPER = np.triu_indices(X.shape[1])
_OUTER = X[:, _UPPER[0]] * X[:, _UPPER[1]]


def loss_hess_batch(W: np.ndarray) -> np.ndarray:
    """∇²F at every row of W (k, N) -> (k, N, N)."""
    S = _sigmoid(W @ X.T)
    n = X.shape[1]
    H = np.empty((W.shape[0], n, n))
    H[:, _UPPER[0], _UPPER[1]] = (S * (1.0 - S)) @ _OUTER / M
    H[:, _UPPER[1], _UPPER[0]] = H[:, _UPPER[0], _UPPER[1]]
    return H + LAMBDA * np.eye(n)


@functools.cache
def _trained() -> tuple[float, ...]:
    w = np.zeros(X.shape[1])
    for _ in range(50):  # Newton's method: F is strongly convex (λ > 0), so it converges
        step = np.linalg.solve(loss_hess(w), loss_grad(w))
        w = w - step
        if np.linalg.norm(step) <= 1e-15 * max(1.0, float(np.linalg.norm(w))):
            break
    return tuple(float(x) for x in w)


def trained() -> np.ndarray:
    """The minimiser of F, to rounding precision."""
    return np.array(_trained())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python examples/breast_cancer_logistic.py OUT.npy  (writes the minimiser)")
    np.save(sys.argv[1], trained())
