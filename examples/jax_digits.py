"""A JAX MLP on scikit-learn's digits, as a landscape for `plasticity landscape`.

    plasticity landscape examples/jax_digits.py:landscape

``landscape()`` builds a 64→32→10 tanh MLP (N = 2410 parameters) in plain JAX, trains it
briefly on the 1797 digits (full-batch Adam, 150 steps, float64) and returns F(w) = mean
cross-entropy over all 1797 images as a :class:`plasticity.landscapes.JaxLandscape`; its
``w0``, the trained weights, is the point the command evaluates by default.  The weights are
initialised from a seeded ``numpy.random.Generator`` (uniform ±1/√fan_in) and the training
is full-batch, so the landscape and the point are the same on every run.  float64 is switched
on only inside this module's training and the landscape's own calls (``jax.enable_x64``).
The digits ship inside scikit-learn's wheel: nothing is downloaded.

``make_landscape(width)`` builds the same network at any width, N = 75·width + 10; for
instance ``landscape_100k()`` (width 1333, N = 99,985) for the matrix-free report.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.datasets import load_digits

from plasticity.landscapes import JaxLandscape, from_jax

Params = dict[str, jax.Array]


def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 8×8 digit images, scaled to [0, 1], and their labels 0..9."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def init(width: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """64 → width (tanh) → 10: weights and biases uniform ±1/√fan_in from ``rng``."""
    b1, b2 = 1.0 / np.sqrt(64), 1.0 / np.sqrt(width)
    return {
        "W1": rng.uniform(-b1, b1, (64, width)),
        "b1": rng.uniform(-b1, b1, width),
        "W2": rng.uniform(-b2, b2, (width, 10)),
        "b2": rng.uniform(-b2, b2, 10),
    }


def loss(params: Params, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
    """Mean cross-entropy of the MLP over the batch (inputs, integer labels)."""
    X, y = batch
    logits = jnp.tanh(X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))


@jax.jit
def _adam_step(
    state: tuple[Params, Params, Params], batch: tuple[jax.Array, jax.Array], t: int, lr: float
) -> tuple[Params, Params, Params]:
    """One full-batch Adam step (torch.optim.Adam's defaults β = 0.9, 0.999, ε = 1e-8)."""
    params, m, v = state
    b1, b2, tiny = 0.9, 0.999, 1e-8
    g = jax.grad(loss)(params, batch)
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
    scale = lr * jnp.sqrt(1 - b2**t) / (1 - b1**t)
    params = jax.tree_util.tree_map(
        lambda p, m, v: p - scale * m / (jnp.sqrt(v) + tiny * jnp.sqrt(1 - b2**t)), params, m, v
    )
    return params, m, v


def make_landscape(width: int = 32, steps: int = 150, lr: float = 0.01, seed: int = 0) -> JaxLandscape:
    """The digits MLP of the given hidden ``width`` after ``steps`` full-batch Adam steps."""
    X, y = digits()
    with jax.enable_x64(True):
        batch = (jnp.asarray(X), jnp.asarray(y))
        params = jax.tree_util.tree_map(jnp.asarray, init(width, np.random.default_rng(seed)))
        state = (params, *(jax.tree_util.tree_map(jnp.zeros_like, params) for _ in range(2)))
        for t in range(1, steps + 1):
            state = _adam_step(state, batch, t, lr)
        params = state[0]
        params = jax.tree_util.tree_map(np.asarray, params)
    return from_jax(loss, params, (X, y))


def landscape() -> JaxLandscape:
    """N = 2410: small enough for the dense report."""
    return make_landscape(32)


def landscape_100k() -> JaxLandscape:
    """N = 99,985 (width 1333): for the matrix-free report."""
    return make_landscape(1333)


if __name__ == "__main__":
    L = landscape()
    print(L, "F(w0) =", L.loss(L.w0), "‖∇F(w0)‖ =", np.linalg.norm(L.grad(L.w0)))
