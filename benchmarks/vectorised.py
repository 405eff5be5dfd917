"""The benchmark's yardstick: a compact, plain-numpy vectorised implementation of the Figure 5 /
Figure 5-S1 sweep protocol, written independently of :mod:`plasticity.numerics.dynamics`.

Same protocol as the engine (Raman & O'Leary 2021, Materials and methods): Xavier-uniform
teacher per run, student = teacher · (1 + 0.001 z), P = 1000 N(0,1) inputs, bootstrap batches
of S = 1000 indices drawn with replacement every step, each step

    w ← w − γ₁ ∇F̂/‖∇F̂‖ + γ₂ ν/‖ν‖ + ‖Δε‖ ξ/‖ξ‖,   γ₁ = m/√(1+r²), γ₂ = m·r/√(1+r²), m = ratio·‖Δε‖,

float32 weights and activations, float64 norms, steady-state error = mean batch error over the
last ``window`` steps.  What makes it a *strong* reference rather than a per-network loop:

- all M networks' weights stacked, one (M, o, i) array per layer;
- **one input set for the whole sweep**, so layer 1's forward pass and its weight gradient are
  each one GEMM over all networks, (M·o₁ × i) @ (i × P) and (M·o₁ × P) @ (P × i);
- bootstrap batches as per-sample multiplicities (one ``bincount`` per step);
- backpropagation written by hand for the one-hidden-layer sigmoid network and the linear one.

It draws from its own streams (it is not the engine's protocol bit for bit), so it agrees with
the engine statistically, and exactly for one step given the same draws and inputs
(tests/test_vectorised_reference.py).  It records no float64 Q or ‖∇F‖ measurements: those are
the engine's fixed cost, which the benchmark reports separately.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

#: spawn key of the stream holding the sweep's one shared input set (run streams use small keys)
INPUT_STREAM_KEY = 2**32 - 1


@dataclass(frozen=True)
class ReferenceConfig:
    """The protocol constants the reference needs (the paper's defaults)."""

    network: str = "nonlinear"  # "nonlinear" (12→20→10, sigmoid hidden) or "linear" (12→10)
    steps: int = 8000
    n_inputs: int = 1000
    batch_size: int = 1000
    window: int = 100
    init_scale: float = 1e-3

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer widths."""
        if self.network == "nonlinear":
            return (12, 20, 10)
        if self.network == "linear":
            return (12, 10)
        raise ValueError(f"unknown network {self.network!r}; choose 'nonlinear' or 'linear'")


def shared_inputs(cfg: ReferenceConfig, seed: int) -> np.ndarray:
    """The sweep's one input set, (i, P) float32 N(0,1), the same in every chunk and process."""
    g = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(INPUT_STREAM_KEY,)))
    return g.standard_normal((cfg.sizes[0], cfg.n_inputs), dtype=np.float32)


def forward_backward(
    mats: list[np.ndarray], x: np.ndarray, y: np.ndarray, counts: np.ndarray | None, batch_size: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Batch error (float64, (M,)) and float32 gradients of M stacked networks on shared inputs.

    ``mats``: (M, o, i) weight matrices (one or two layers); ``x`` (i, P) shared inputs; ``y``
    (M, o, P) targets; ``counts`` (M, P) bootstrap multiplicities (None = every sample once,
    then ``batch_size`` must be P).  Error = Σ_p c_p ‖f(x_p) − y_p‖² / (o · batch_size).
    """
    m, h, i = mats[0].shape
    p = x.shape[1]
    o = mats[-1].shape[1]
    scale = np.float32(2.0 / (o * batch_size))
    a1 = (mats[0].reshape(m * h, i) @ x).reshape(m, h, p)  # one GEMM for all networks
    if len(mats) == 1:
        r = a1 - y
        hidden = None
    else:
        hidden = np.tanh(a1 * np.float32(0.5))
        hidden *= np.float32(0.5)
        hidden += np.float32(0.5)  # σ(a) = (1 + tanh(a/2))/2
        r = np.matmul(mats[1], hidden) - y
    sq = np.einsum("mop,mop->mp", r, r)
    if counts is None:
        loss = sq.sum(axis=1, dtype=np.float64) / (o * batch_size)
        d = r * scale
    else:
        loss = np.einsum("mp,mp->m", counts.astype(np.float64), sq.astype(np.float64)) / (o * batch_size)
        d = r * (counts * scale)[:, None, :]
    if hidden is None:
        return loss, [(d.reshape(m * o, p) @ x.T).reshape(m, o, i)]
    g2 = np.matmul(d, hidden.transpose(0, 2, 1))
    dh = np.matmul(mats[1].transpose(0, 2, 1), d)
    dh *= hidden * (np.float32(1.0) - hidden)
    g1 = (dh.reshape(m * h, p) @ x.T).reshape(m, h, i)  # one GEMM for all networks
    return loss, [g1, g2]


def gammas(magnitude: np.ndarray, noise_to_signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """γ₁ = m/√(1+r²), γ₂ = m·r/√(1+r²) (finite r only; written here, not imported)."""
    m = np.asarray(magnitude, np.float64)
    r = np.asarray(noise_to_signal, np.float64)
    root = np.sqrt(1.0 + r * r)
    return m / root, m * r / root


def update(
    w: np.ndarray,
    grad: np.ndarray,
    nu: np.ndarray,
    xi: np.ndarray,
    g1: np.ndarray,
    g2: np.ndarray,
    eps_norm: np.ndarray,
) -> None:
    """w ← w − γ₁ ĝ + γ₂ ν̂ + ‖Δε‖ ξ̂ in place, for packed (M, N) float32 arrays; norms in float64."""

    def norm(a: np.ndarray) -> np.ndarray:
        return np.sqrt(np.einsum("mn,mn->m", a, a, dtype=np.float64))

    gn = norm(grad)
    with np.errstate(divide="ignore", invalid="ignore"):
        a_g = np.where(gn > 0, -g1 / gn, 0.0)
    w += a_g.astype(np.float32)[:, None] * grad
    w += (
        nu * (g2 / norm(nu)).astype(np.float32)[:, None]
        + xi * (eps_norm / norm(xi)).astype(np.float32)[:, None]
    )


def run_chunk(
    cfg: ReferenceConfig,
    eps_norm: np.ndarray,
    ratio: np.ndarray,
    noise_to_signal: np.ndarray,
    seed: int,
    chunk_key: int,
) -> dict[str, np.ndarray]:
    """Simulate M networks for ``cfg.steps`` steps; return their steady-state errors and final weights.

    The chunk's teachers, starts and per-step draws come from the stream keyed by
    (``seed``, ``chunk_key``); the inputs are the sweep's one shared set.  BLAS runs on one
    thread (the chunks of a sweep run one per process).
    """
    from threadpoolctl import threadpool_limits

    eps_norm, ratio, nts = (np.asarray(a, np.float64) for a in (eps_norm, ratio, noise_to_signal))
    m = len(eps_norm)
    sizes = cfg.sizes
    shapes = list(zip(sizes[1:], sizes[:-1], strict=True))
    nw = sum(o * i for o, i in shapes)
    p, s = cfg.n_inputs, cfg.batch_size
    with threadpool_limits(limits=1, user_api="blas"):
        g = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(chunk_key),)))
        x = shared_inputs(cfg, seed)
        w = np.empty((m, nw), np.float32)
        views, start = [], 0
        for o, i in shapes:
            views.append(w[:, start : start + o * i].reshape(m, o, i))
            start += o * i
        for v, (o, i) in zip(views, shapes, strict=True):
            bound = np.sqrt(6.0 / (o + i))
            v[...] = g.uniform(-bound, bound, size=(m, o, i)).astype(np.float32)
        teacher = [v.copy() for v in views]
        y = _outputs(teacher, x)
        w *= (1.0 + cfg.init_scale * g.standard_normal(m)).astype(np.float32)[:, None]
        g1, g2 = gammas(ratio * eps_norm, nts)
        offsets = (np.arange(m, dtype=np.int64) * p)[:, None]
        losses = np.empty((cfg.window, m))
        for t in range(cfg.steps):
            idx = g.integers(0, p, size=(m, s), dtype=np.int16) + offsets
            counts = np.bincount(idx.ravel(), minlength=m * p).reshape(m, p).astype(np.float32)
            noise = g.standard_normal((2, m, nw), dtype=np.float32)
            loss, grads = forward_backward(views, x, y, counts, s)
            grad = np.concatenate([gr.reshape(m, -1) for gr in grads], axis=1)
            update(w, grad, noise[0], noise[1], g1, g2, eps_norm)
            k = t - (cfg.steps - cfg.window)
            if k >= 0:
                losses[k] = loss
    return {"steady_loss": losses.mean(axis=0), "weights": w}


def _outputs(mats: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Network outputs (M, o, P) float32 on the shared inputs."""
    m, h, i = mats[0].shape
    a = (mats[0].reshape(m * h, i) @ x).reshape(m, h, -1)
    if len(mats) == 1:
        return a
    return np.matmul(mats[1], np.float32(0.5) * np.tanh(np.float32(0.5) * a) + np.float32(0.5))


def run_sweep(
    cfg: ReferenceConfig,
    eps_norm: np.ndarray,
    ratio: np.ndarray,
    noise_to_signal: np.ndarray,
    seed: int,
    executor: Executor | None = None,
    parts: int = 2,
) -> np.ndarray:
    """Steady-state error of every run of a sweep, its runs split into ``parts`` contiguous chunks.

    The chunks go to ``executor`` (one per worker process) or run here in turn.
    """
    n = len(eps_norm)
    if parts < 1:
        raise ValueError(f"parts must be >= 1, got {parts}")
    edges = np.linspace(0, n, min(parts, n) + 1).round().astype(int)
    pieces = [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]
    args = [
        (cfg, eps_norm[a:b], ratio[a:b], noise_to_signal[a:b], seed, k) for k, (a, b) in enumerate(pieces)
    ]
    if executor is None:
        outs = [run_chunk(*a) for a in args]
    else:
        outs = [f.result() for f in [executor.submit(run_chunk, *a) for a in args]]
    return np.concatenate([o["steady_loss"] for o in outs])
