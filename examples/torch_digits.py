"""A PyTorch MLP on scikit-learn's digits, as a landscape for `plasticity landscape`.

    plasticity landscape examples/torch_digits.py:landscape

``landscape()`` builds a 64→32→10 tanh MLP (N = 2410 parameters), trains it briefly on the
1797 digits (full-batch Adam, 150 steps, float64) and returns F(w) = mean cross-entropy over
all 1797 images as a :class:`plasticity.landscapes.TorchLandscape`; its ``w0``, the trained
weights, is the point the command evaluates by default.  The weights are initialised from a
seeded ``numpy.random.Generator`` (PyTorch's own default scheme, uniform ±1/√fan_in) and the
training is full-batch, so the landscape and the point are the same on every run.
The digits ship inside scikit-learn's wheel: nothing is downloaded.

``make_landscape(width)`` builds the same network at any width, N = 75·width + 10; for
instance ``landscape_100k()`` (width 1333, N = 99,985) for the matrix-free report.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits

from plasticity.landscapes import TorchLandscape, from_torch


def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 8×8 digit images, scaled to [0, 1], and their labels 0..9."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def mlp(width: int, rng: np.random.Generator) -> torch.nn.Sequential:
    """64 → width (tanh) → 10, float64, weights and biases uniform ±1/√fan_in from ``rng``."""
    model = torch.nn.Sequential(torch.nn.Linear(64, width), torch.nn.Tanh(), torch.nn.Linear(width, 10))
    model = model.double()
    with torch.no_grad():
        for layer in (model[0], model[2]):
            bound = 1.0 / np.sqrt(layer.in_features)
            for p in (layer.weight, layer.bias):
                p.copy_(torch.from_numpy(rng.uniform(-bound, bound, size=tuple(p.shape))))
    return model


def make_landscape(width: int = 32, steps: int = 150, lr: float = 0.01, seed: int = 0) -> TorchLandscape:
    """The digits MLP of the given hidden ``width`` after ``steps`` full-batch Adam steps."""
    X, y = digits()
    inputs, targets = torch.from_numpy(X), torch.from_numpy(y)
    model = mlp(width, np.random.default_rng(seed))
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model(inputs), targets).backward()
        opt.step()
    return from_torch(model, loss_fn, (inputs, targets))


def landscape() -> TorchLandscape:
    """N = 2410: small enough for the dense report."""
    return make_landscape(32)


def landscape_100k() -> TorchLandscape:
    """N = 99,985 (width 1333): for the matrix-free report."""
    return make_landscape(1333)


if __name__ == "__main__":
    L = landscape()
    print(L, "F(w0) =", L.loss(L.w0), "‖∇F(w0)‖ =", np.linalg.norm(L.grad(L.w0)))
