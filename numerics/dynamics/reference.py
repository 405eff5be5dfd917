"""The reference path: a straightforward Python loop over networks and steps, plain 2-D numpy.

An independent ground truth for the batched engine, kept deliberately simple and separate from
:mod:`plasticity.numerics.dynamics.kernels`: it consumes the same random draws (same seed → same
trajectories to float32 rounding) and writes the stored reference sweep (tests/data).  The
benchmark's yardstick is the vectorised numpy reference, ``plasticity.benchmarks.vectorised``.
It computes σ directly as 1/2 + tanh(a/2)/2, the gradient by plain backpropagation per network.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from plasticity.numerics import networks
from plasticity.numerics.dynamics.config import Runs, SweepProtocol
from plasticity.numerics.dynamics.draws import DRAW_BLOCK, compensation_gammas
from plasticity.numerics.dynamics.engine import (
    CHUNK,
    Segment,
    SimResult,
    State,
    _finish,
    init_state,
    resolve_arch,
)
from plasticity.numerics.dynamics.measure import measure_q, realised_c_norm
from plasticity.numerics.dynamics.threads import blas_single_threaded
from plasticity.numerics.networks import Architecture


def simulate_reference(
    arch: Architecture | str,
    runs: Runs,
    protocol: SweepProtocol,
    seed: int,
    *,
    track: np.ndarray | None = None,
) -> SimResult:
    """The straightforward path: a Python loop over networks and steps, plain 2-D numpy maths.

    Consumes the same random draws as :func:`simulate` (same seed → same trajectories to float32
    rounding); the ground truth of the stored reference sweep.  No run extension.
    """
    arch = resolve_arch(arch)
    state = init_state(arch, runs, protocol, seed)
    with blas_single_threaded():  # as the batched path: a fair baseline for the speed-up
        return _reference_loop(arch, state, runs, protocol, track)


def _reference_loop(
    arch: Architecture, state: State, runs: Runs, protocol: SweepProtocol, track: np.ndarray | None
) -> SimResult:
    b, n = state.weights.shape
    nl = len(arch.shapes)
    sig = arch.hidden_activation == "sigmoid"
    o, p = arch.sizes[-1], protocol.n_inputs
    steps, every = protocol.steps, protocol.record_every
    n_rec = -(-steps // every)
    loss_all = np.full((b, n_rec), np.nan)
    mset = {int(s): k for k, s in enumerate(protocol.measure_steps(steps))}
    meas = {k: np.full((b, len(mset)), np.nan) for k in ("Q_c", "Q_eps", "grad_norm")}
    c_norm = np.full((b, n_rec), np.nan)
    track_idx = None if track is None else np.asarray(track, dtype=np.intp)
    tracked = None if track_idx is None else np.empty((b, n_rec, len(track_idx)), np.float32)
    g1s, g2s = compensation_gammas(runs.ratio * runs.eps_norm, runs.noise_to_signal)
    denom = o * (protocol.batch_size if protocol.bootstrap else p)
    for j in range(b):
        w = state.weights[j]
        mats = networks.unpack(w, arch)
        x, y, dr = state.inputs[j], state.targets[j], state.draws[j]
        for t in range(steps):
            if dr.cursor >= DRAW_BLOCK:
                dr.refill()
            nu, xi, counts = (a[0] if a is not None else None for a in dr.take(1))
            acts = [x]
            for layer in range(nl):
                a = mats[layer] @ acts[-1]
                if layer < nl - 1 and sig:
                    a = np.float32(0.5) * np.tanh(np.float32(0.5) * a) + np.float32(0.5)
                acts.append(a)
            r = acts[-1] - y
            sq = (r * r).sum(axis=0)
            cw = counts if counts is not None else np.ones(p, np.float32)
            loss = float(np.dot(cw.astype(np.float64), sq.astype(np.float64))) / denom
            d = r * (cw * np.float32(2.0 / denom))
            grads = [None] * nl
            for layer in range(nl - 1, -1, -1):
                grads[layer] = d @ acts[layer].T
                if layer > 0:
                    d = mats[layer].T @ d
                    if sig:
                        d = d * acts[layer] * (np.float32(1.0) - acts[layer])
            g = networks.pack(grads)
            gnorm = float(np.sqrt(np.dot(g.astype(np.float64), g.astype(np.float64))))
            a_g = -g1s[j] / gnorm if gnorm > 0 else 0.0
            nu_norm = float(np.sqrt(np.dot(nu.astype(np.float64), nu.astype(np.float64))))
            a_nu = g2s[j] / nu_norm
            a_xi = runs.eps_norm[j] / float(np.sqrt(np.dot(xi.astype(np.float64), xi.astype(np.float64))))
            if t in mset:
                dc = a_g * g + a_nu * nu
                one = state.take(np.array([j]))
                q, gn = measure_q(one, np.stack([dc, xi])[None])
                k = mset[t]
                meas["Q_c"][j, k], meas["Q_eps"][j, k], meas["grad_norm"][j, k] = q[0, 0], q[0, 1], gn[0]
            if t % every == 0:
                loss_all[j, t // every] = loss
                c_norm[j, t // every] = realised_c_norm(
                    a_g, gnorm, a_nu, nu_norm, float(np.dot(g.astype(np.float64), nu.astype(np.float64)))
                )
                if tracked is not None:
                    tracked[j, t // every] = w[track_idx]
            w += np.float32(a_g) * g
            w += nu * np.float32(a_nu) + xi * np.float32(a_xi)
    state.step = steps
    seg = Segment(
        loss=loss_all, record_steps=np.arange(n_rec) * every, tracked=tracked, c_norm=c_norm, **meas
    )
    return _finish(state, seg, replace(protocol, extend_max=0), workers=1, chunk=CHUNK)
