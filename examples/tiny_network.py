"""Example landscape for `plasticity landscape examples/tiny_network.py:loss`.

A student-teacher network 2 inputs → 3 tanh hidden units → 1 output (no biases), N = 9
weights packed row-major as [W1 (3×2), W2 (1×3)].  F(w) is the mean squared difference
between the student's and the teacher's outputs on 200 fixed inputs, so the teacher's
weights TEACHER are a known minimum (F = 0).  ``loss_grad`` is found by the naming
convention ``<function>_grad``; the Hessian is left to finite differences.
"""

from __future__ import annotations

import numpy as np

W1_TEACHER = np.array([[1.0, -0.5], [0.3, 0.8], [-0.7, 0.2]])
W2_TEACHER = np.array([[0.9, -1.1, 0.6]])
TEACHER = np.concatenate([W1_TEACHER.ravel(), W2_TEACHER.ravel()])
INPUTS = np.random.default_rng(0).standard_normal((2, 200))  # fixed data, one column per sample
TARGETS = W2_TEACHER @ np.tanh(W1_TEACHER @ INPUTS)


def _unpack(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return w[:6].reshape(3, 2), w[6:].reshape(1, 3)


def loss(w: np.ndarray) -> float:
    """F(w): mean squared output error against the teacher."""
    W1, W2 = _unpack(w)
    residual = W2 @ np.tanh(W1 @ INPUTS) - TARGETS
    return float(np.mean(residual**2))


def loss_grad(w: np.ndarray) -> np.ndarray:
    """∇F(w) by backpropagation (checked against finite differences by the tool)."""
    W1, W2 = _unpack(w)
    hidden = np.tanh(W1 @ INPUTS)
    d_out = 2.0 * (W2 @ hidden - TARGETS) / TARGETS.size
    d_W2 = d_out @ hidden.T
    d_pre = (W2.T @ d_out) * (1.0 - hidden**2)
    d_W1 = d_pre @ INPUTS.T
    return np.concatenate([d_W1.ravel(), d_W2.ravel()])


if __name__ == "__main__":  # print a point near the teacher, for --at
    rng = np.random.default_rng(1)
    print(",".join(f"{x:.4f}" for x in TEACHER + 0.05 * rng.standard_normal(TEACHER.size)))
