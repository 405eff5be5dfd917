"""Exact curvature of one nonlinear network: Hessian, one Hessian-vector product, Q of 100 directions.

Each figure comes with an in-run baseline computed by the straightforward route on the same
inputs, so the gain of the structured / batched code is a measured ratio:

- Hessian built from its structure vs the Hessian assembled column by column from N exact
  single-direction HVPs (the forward pass cached, as the landscape does);
- one exact HVP (R-operator, forward pass cached) vs the central finite difference of two
  exact gradients (what one would do without an HVP);
- Q for 100 directions in one batched call vs 100 single-direction calls.

The Hessian and Q are timed at a new point each time, so the forward pass (and whatever the
landscape caches per point, such as a structured Hessian reused for many directions) is
included: that is what a user asking at a new point pays.  ``hvp_ms`` is one product at a
point whose forward pass is cached (the cost of each further direction probed there);
``hvp_cold_ms`` includes the forward pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plasticity.benchmarks.flops import flops_per_network_step
from plasticity.benchmarks.timing import best_of, wall_time
from plasticity.numerics import networks
from plasticity.numerics.networks import NONLINEAR


def _setup(n_inputs: int, seed: int):  # noqa: ANN202 - internal helper
    from plasticity.numerics.landscapes import NetworkLandscape

    rng = np.random.default_rng(seed)
    st = networks.student_teacher(NONLINEAR, rng, n_inputs=n_inputs)
    land = NetworkLandscape(NONLINEAR, st.teacher, st.inputs)
    # a point off the minimum, where the sigmoid (second-derivative) term of the Hessian matters
    w = st.teacher + 0.05 * rng.standard_normal(land.n)
    return land, w, rng


def curvature_timings(
    n_inputs: int = 1000, n_directions: int = 100, repeats: int = 5, seed: int = 0
) -> dict[str, Any]:
    """Milliseconds for the exact Hessian, one HVP and Q of ``n_directions``, with their baselines."""
    from plasticity.numerics.curvature import Q

    if n_inputs < 1 or n_directions < 1 or repeats < 1:
        raise ValueError(
            f"n_inputs, n_directions and repeats must be >= 1, got {n_inputs}, {n_directions}, {repeats}"
        )
    land, w, rng = _setup(n_inputs, seed)
    n = land.n
    points = [w + 1e-3 * rng.standard_normal(n) for _ in range(repeats + 1)]
    it = iter(points)
    hessian_s = best_of(lambda: land.hessian(next(it)), repeats=repeats, warmup=1)

    identity = np.eye(n)
    land.loss(w)  # cache the forward pass at w

    def hessian_by_columns() -> np.ndarray:
        return np.stack([land.hvp(w, identity[i]) for i in range(n)], axis=1)

    hessian_columns_s = best_of(hessian_by_columns, repeats=1, warmup=0)

    v = rng.standard_normal(n)
    hvp_s = best_of(lambda: land.hvp(w, v), repeats=max(repeats, 20), warmup=2)
    # central difference with step h = eps^(1/3)·‖w‖/‖v‖: two exact gradients at new points
    h = np.finfo(np.float64).eps ** (1 / 3) * max(1.0, float(np.linalg.norm(w))) / float(np.linalg.norm(v))
    hvp_fd_s = best_of(
        lambda: (land.grad(w + h * v) - land.grad(w - h * v)) / (2 * h), repeats=max(repeats, 20), warmup=2
    )

    cold_points = iter([w + 1e-3 * rng.standard_normal(n) for _ in range(max(repeats, 20) + 2)])
    hvp_cold_s = best_of(lambda: land.hvp(next(cold_points), v), repeats=max(repeats, 20), warmup=2)

    V = rng.standard_normal((n_directions, n))
    q_points = iter([w + 1e-3 * rng.standard_normal(n) for _ in range(repeats + 1)])
    q_batched_s = best_of(lambda: Q(land, next(q_points), V), repeats=repeats, warmup=1)
    w_loop = w + 2e-3 * rng.standard_normal(n)  # a fresh point: the loop pays one forward pass too
    q_loop_s = wall_time(lambda: [Q(land, w_loop, V[k]) for k in range(n_directions)])

    grad_flop = flops_per_network_step(NONLINEAR, n_inputs)
    return {
        "n_params": n,
        "n_inputs": n_inputs,
        "n_directions": n_directions,
        "hessian_ms": 1e3 * hessian_s,
        "hessian_columns_ms": 1e3 * hessian_columns_s,
        "hvp_ms": 1e3 * hvp_s,
        "hvp_fd_ms": 1e3 * hvp_fd_s,
        "hvp_cold_ms": 1e3 * hvp_cold_s,
        "q100_ms": 1e3 * q_batched_s,
        "q100_loop_ms": 1e3 * q_loop_s,
        # lower bound on an exact R-operator HVP's matrix work: its R-forward and R-backward
        # passes each contain at least the products of the forward and backward passes
        "hvp_nominal_flop": grad_flop,
        "q_nominal_flop": grad_flop * n_directions,
    }
