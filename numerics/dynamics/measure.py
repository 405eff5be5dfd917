"""Float64 measurements on the engine's networks: Q[v] = vᵀ∇²F v/‖v‖², ‖∇F‖, the realised
‖Δc‖, and their summary over the steady-state window.

All exact maths comes from :class:`plasticity.numerics.networks.BatchPass` (networks stacked along the
first axis, inputs (B, i, P) as the engine stores them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from plasticity.numerics.networks import Architecture, BatchPass

if TYPE_CHECKING:
    from plasticity.numerics.dynamics.config import SweepProtocol
    from plasticity.numerics.dynamics.engine import Segment, State


def batched_loss_grad(
    arch: Architecture, w: np.ndarray, x: np.ndarray, y: np.ndarray, counts: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Task error and its gradient for stacked networks w (B, N) on inputs x (B, i, P), targets y.

    Task error = Σ_p c_p ‖f(w, x_p) − y_p‖² / (Σ c · o): the mean squared error over outputs ×
    samples of a batch with sample counts c (B, P); c = None is the full-data error.  Works in
    the dtype of the inputs (float64 for measurements).
    """
    p = BatchPass(arch, w, x, y, counts)
    return p.loss, p.gradient()


def batched_hvp(
    arch: Architecture, w: np.ndarray, x: np.ndarray, y: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact Hessian-vector products of the full-data task error (R-operator, Pearlmutter 1994).

    ``w`` (B, N), ``v`` (B, k, N): k directions per network.  Returns (loss (B,), grad (B, N),
    Hv (B, k, N)).  Exact for any number of sigmoid hidden layers: Gauss-Newton term plus the
    σ'' term.
    """
    p = BatchPass(arch, w[:, None], x[:, None], y[:, None])  # an axis for the k directions
    return p.loss[:, 0], p.gradient()[:, 0], p.hvp(v)


def measure_q(
    state: State, directions: np.ndarray, subset: slice = slice(None)
) -> tuple[np.ndarray, np.ndarray]:
    """Float64 Q[v] = vᵀ∇²F v/‖v‖² of the full-data task error for (B, k, N) directions, and ‖∇F‖.

    ``subset``: the networks of ``state`` the directions belong to (all by default; the
    engine measures one chunk at a time).  Q of a zero direction is NaN.
    """
    f64 = np.float64
    v = directions.astype(f64)
    w, x, y = (a[subset].astype(f64)[:, None] for a in (state.weights, state.inputs, state.targets))
    p = BatchPass(state.arch, w, x, y)  # an axis for the k directions
    grad, hv = p.gradient()[:, 0], p.hvp(v)
    with np.errstate(invalid="ignore", divide="ignore"):  # Q of a zero direction (ratio 0) is NaN
        q = np.einsum("bkn,bkn->bk", v, hv) / np.einsum("bkn,bkn->bk", v, v)
    return q, np.sqrt(np.einsum("bn,bn->b", grad, grad))


def realised_c_norm(
    a_g: np.ndarray | float,
    gnorm: np.ndarray | float,
    a_nu: np.ndarray | float,
    nu_norm: np.ndarray | float,
    g_dot_nu: np.ndarray | float,
) -> np.ndarray:
    """‖a_g g + a_ν ν‖ from the norms and the dot product (float64, never negative under the root).

    The realised compensation norm ‖Δc‖ of a step with Δc = a_g g + a_ν ν, without forming Δc.
    """
    sq = (a_g * gnorm) ** 2 + (a_nu * nu_norm) ** 2 + 2.0 * a_g * a_nu * g_dot_nu
    return np.sqrt(np.maximum(sq, 0.0))


def predicted_ratio(Q_eps: np.ndarray, Q_c: np.ndarray) -> np.ndarray:
    """eq9a's optimal ratio ‖Δc‖/‖Δε‖ for measured Q values; NaN where eq9a does not apply
    (``closed_forms.applies``: both Q finite and positive)."""
    from plasticity.derivations import closed_forms

    return closed_forms.where_applies("steady_state_ratio", Q_eps, Q_c)


def window_stats(seg: Segment, protocol: SweepProtocol) -> dict[str, np.ndarray]:
    """Per-run means over the steady-state window of a segment: the recorded error and ‖Δc‖
    over its last ``protocol.window`` steps, ‖∇F‖, Q[Δc] and Q[Δε] over its measurements
    (NaN where nothing was measured)."""
    nwin = protocol.window // protocol.record_every
    out = {"steady_loss": seg.loss[:, -nwin:].mean(axis=1)}
    out["c_norm"] = (
        seg.c_norm[:, -nwin:].mean(axis=1) if seg.c_norm is not None else np.full(len(seg.loss), np.nan)
    )
    for key in ("grad_norm", "Q_c", "Q_eps"):
        arr = getattr(seg, key)
        out[key] = arr.mean(axis=1) if arr.shape[1] else np.full(len(seg.loss), np.nan)
    return out
