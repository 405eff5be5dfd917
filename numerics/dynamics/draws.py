"""Random draws: each run's own stream and its blocks of per-step noise and bootstrap counts.

Run ``k`` of a sweep owns the generator ``PCG64(SeedSequence(seed, spawn_key=(k,)))`` and
draws, in order, the teacher (Xavier uniform), the scalar z of the student's start, its P
inputs (all in :func:`plasticity.numerics.dynamics.engine.init_state`; under
``SweepProtocol(inputs="shared")`` the inputs come instead from one stream of the sweep,
:func:`shared_input_set`), then per block of
:data:`DRAW_BLOCK` steps its ν, ξ and bootstrap indices (:class:`_Draws`).  Also the step
sizes γ₁, γ₂ of the compensation (:func:`compensation_gammas`).
"""

from __future__ import annotations

import numpy as np

#: steps of random draws made at once per network (fixes the order of draws in each run's stream)
DRAW_BLOCK = 16
#: spawn key of the stream of a sweep's shared input set (run ids are far smaller)
SHARED_INPUT_KEY = 2**32


def run_generator(seed: int, run_id: int) -> np.random.Generator:
    """The random stream owned by run ``run_id`` of a sweep seeded with ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(int(run_id),))))


def shared_input_set(seed: int, n_in: int, p: int) -> np.ndarray:
    """The input set (n_in, P) float32 N(0,1) shared by every run of a sweep under
    ``SweepProtocol(inputs="shared")``: drawn from its own stream, so it depends on the seed only."""
    g = run_generator(seed, SHARED_INPUT_KEY)
    return g.standard_normal((n_in, p), dtype=np.float32)


def compensation_gammas(magnitude: np.ndarray, noise_to_signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """γ₁, γ₂ from ‖Δc‖ and γ₂/γ₁ through ``plasticity.numerics.rules.gammas``, broadcast to the runs."""
    from plasticity.numerics.rules import gammas

    nts = np.asarray(noise_to_signal, dtype=np.float64)
    g1, g2 = gammas(np.asarray(magnitude, dtype=np.float64), nts)
    return np.broadcast_to(g1, nts.shape).copy(), np.broadcast_to(g2, nts.shape).copy()


# ----------------------------------------------------------------------------- random draws


class _Draws:
    """One run's pre-drawn block of step noise: ν, ξ (K, N) float32 and bootstrap counts (K, P)."""

    def __init__(
        self,
        gen: np.random.Generator,
        n: int,
        p: int,
        s: int,
        bootstrap: bool,
        xi_mask: np.ndarray | None = None,
    ) -> None:
        self.gen, self.n, self.p, self.s, self.bootstrap = gen, n, p, s, bootstrap
        self.xi_mask = xi_mask
        self.cursor = DRAW_BLOCK
        self.nu = self.xi = self.counts = None

    def refill(self) -> None:
        g, k = self.gen, DRAW_BLOCK
        self.nu = g.standard_normal((k, self.n), dtype=np.float32)
        self.xi = g.standard_normal((k, self.n), dtype=np.float32)
        if self.xi_mask is not None:  # all N entries are drawn (the stream is unchanged), then confined
            self.xi *= self.xi_mask
        if self.bootstrap:
            idx = g.integers(0, self.p, size=(k, self.s), dtype=np.int32 if self.p > 32767 else np.int16)
            idx = idx + (np.arange(k, dtype=np.int32) * self.p)[:, None]
            self.counts = np.bincount(idx.ravel(), minlength=k * self.p).reshape(k, self.p).astype(np.float32)
        self.cursor = 0

    def take(self, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The next ``m`` steps' draws (m ≤ what remains in the block)."""
        c = self.cursor
        counts = self.counts[c : c + m] if self.bootstrap else None
        self.cursor += m
        return self.nu[c : c + m], self.xi[c : c + m], counts
