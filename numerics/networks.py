"""The paper's student-teacher networks: architecture, Xavier initialisation, weight packing.

Layers are Flux-style ``Dense``: ``y = act(W x + b)`` with ``W`` of shape (fan_out, fan_in).
Biases are zero and never change, so only weight matrices are parameters; the flat weight
vector is the row-major concatenation of the matrices (N = 440 nonlinear, 120 linear).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Architecture:
    """Layer sizes and hidden activation of a fully connected network."""

    name: str
    sizes: tuple[int, ...]
    hidden_activation: str | None  # "sigmoid" for hidden layers, or None (linear network)

    @property
    def shapes(self) -> tuple[tuple[int, int], ...]:
        """Weight-matrix shapes, (fan_out, fan_in) per layer."""
        return tuple((o, i) for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    @property
    def n_weights(self) -> int:
        """N: the number of plastic parameters (matrix entries)."""
        return sum(o * i for o, i in self.shapes)


NONLINEAR = Architecture("nonlinear", (12, 20, 10), "sigmoid")
LINEAR = Architecture("linear", (12, 10), None)
ARCHITECTURES = {a.name: a for a in (NONLINEAR, LINEAR)}


def architecture(name: str) -> Architecture:
    """Look up an architecture by name, with a clear error for unknown names."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown network {name!r}; choose one of {sorted(ARCHITECTURES)}") from None


def xavier_uniform(rng: np.random.Generator, shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    """Glorot/Xavier uniform draw for a weight matrix of shape (..., fan_out, fan_in)."""
    fan_out, fan_in = shape[-2], shape[-1]
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def init_weights(arch: Architecture, rng: np.random.Generator, dtype: type = np.float32) -> list[np.ndarray]:
    """A freshly initialised network's weight matrices (the paper's teacher)."""
    return [xavier_uniform(rng, s, dtype) for s in arch.shapes]


def pack(weights: list[np.ndarray]) -> np.ndarray:
    """Flatten weight matrices (each (..., o, i)) into vectors (..., N), row-major."""
    lead = weights[0].shape[:-2]
    return np.concatenate([w.reshape(*lead, -1) for w in weights], axis=-1)


def unpack(w: np.ndarray, arch: Architecture) -> list[np.ndarray]:
    """Inverse of :func:`pack`: views of ``w`` (..., N) as matrices (..., o, i)."""
    w = np.asarray(w)
    if w.shape[-1] != arch.n_weights:
        raise ValueError(
            f"weight vector has {w.shape[-1]} entries; the {arch.name} network has N={arch.n_weights}"
        )
    out, start = [], 0
    for o, i in arch.shapes:
        out.append(w[..., start : start + o * i].reshape(*w.shape[:-1], o, i))
        start += o * i
    return out
