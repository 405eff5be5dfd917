"""The batched engine: every network of a sweep stacked into arrays, stepped in lockstep.

Weights (B, N) and inputs (B, i, P) of all networks are stacked, and each step does one batched
matrix product per layer for all networks (the float32 kernels of
:mod:`plasticity.numerics.dynamics.kernels`), with float64 accumulation of norms.  One step of network
``b`` is

    w ← w − γ₁ ĝ + γ₂ ν̂ + ‖Δε‖ ξ̂,     γ₁, γ₂ = numerics.rules.gammas(ratio·‖Δε‖, noise_to_signal)

with ĝ the direction of the gradient of the bootstrap-batch task error and fresh standard-normal
ν, ξ (norms over all matrix entries together).  Bootstrap batches (P indices drawn with
replacement from the run's P fixed inputs) are realised as per-network sample *counts* used as
weights, so the forward pass runs once on the shared inputs.  Networks are split into equal
contiguous shares per worker thread, each cut into cache-sized chunks; all runs of a state
advance in lockstep, so their draw cursors agree.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from plasticity.numerics import networks
from plasticity.numerics.dynamics.config import Runs, SweepProtocol
from plasticity.numerics.dynamics.draws import (
    DRAW_BLOCK,
    _Draws,
    compensation_gammas,
    run_generator,
    shared_input_set,
)
from plasticity.numerics.dynamics.kernels import Work, linear_loss_grad, linear_moments, nonlinear_loss_grad
from plasticity.numerics.dynamics.measure import measure_q, predicted_ratio, realised_c_norm, window_stats
from plasticity.numerics.dynamics.threads import blas_single_threaded
from plasticity.numerics.networks import Architecture

#: networks per inner work chunk: keeps one layer's activations (chunk × 20 × 1000 float32) in L2
CHUNK = 24
#: the linear network's chunks are this many times larger: its step holds only 12×12 moments per
#: network, so fewer, larger numpy calls win (measured single-threaded on 648 networks: 14.5 µs per
#: network-step at 24 per chunk, 13.3 at 324; gains with 2 threads were larger but noisy here)
LINEAR_CHUNK_FACTOR = 8


# ----------------------------------------------------------------------------- state


@dataclass
class State:
    """Everything needed to continue a batch of runs: weights, data, parameters and streams."""

    arch: Architecture
    protocol: SweepProtocol
    runs: Runs
    weights: np.ndarray  # (B, N) float32, packed row-major
    teacher: np.ndarray  # (B, N) float32
    inputs: np.ndarray  # (B, i, P) float32 (a read-only broadcast of shared_x when inputs are shared)
    targets: np.ndarray  # (B, o, P) float32: the teacher's outputs
    draws: list[_Draws]
    step: int = 0
    #: linear networks: the i(i+1)/2 distinct entries of x_s x_sᵀ per input, (B, i(i+1)/2, P) float32
    #: (78 per sample for i = 12: 312 kB per network of 1000 inputs); (i(i+1)/2, P) when shared
    moments: np.ndarray | None = None
    #: the one (i, P) input set of every run under SweepProtocol(inputs="shared"), else None
    shared_x: np.ndarray | None = None

    def take(self, idx: np.ndarray) -> State:
        """A state holding only the runs at positions ``idx`` (their streams continue unchanged)."""
        idx = np.asarray(idx)
        shared = self.shared_x is not None
        return replace(
            self,
            runs=self.runs.take(idx),
            weights=self.weights[idx].copy(),
            teacher=self.teacher[idx],
            inputs=np.broadcast_to(self.shared_x, (len(idx), *self.shared_x.shape))
            if shared
            else self.inputs[idx],
            targets=self.targets[idx],
            draws=[self.draws[i] for i in idx],
            moments=self.moments if (shared or self.moments is None) else self.moments[idx],
        )


def init_state(arch: Architecture | str, runs: Runs, protocol: SweepProtocol, seed: int) -> State:
    """Teachers, students, inputs and random streams of every run, per the paper's protocol."""
    arch = resolve_arch(arch)
    if arch.hidden_activation not in (None, "sigmoid"):
        raise ValueError(f"unsupported hidden activation {arch.hidden_activation!r}")
    n, p = arch.n_weights, protocol.n_inputs
    b = len(runs)
    if b == 0:
        raise ValueError("no runs to simulate (Runs is empty)")
    weights = np.empty((b, n), np.float32)
    teacher = np.empty((b, n), np.float32)
    shared_x = None
    if protocol.inputs == "shared":
        shared_x = shared_input_set(seed, arch.sizes[0], p)
        inputs = np.broadcast_to(shared_x, (b, *shared_x.shape))
    else:
        inputs = np.empty((b, arch.sizes[0], p), np.float32)
    draws = []
    xi_mask = protocol.xi_mask(arch)
    for j, rid in enumerate(runs.run_id):
        g = run_generator(seed, rid)
        t = networks.pack(networks.init_weights(arch, g, np.float32))
        z = g.standard_normal()
        teacher[j] = t
        weights[j] = t * np.float32(1.0 + protocol.init_scale * z)
        if shared_x is None:
            inputs[j] = g.standard_normal((arch.sizes[0], p), dtype=np.float32)
        draws.append(_Draws(g, n, p, protocol.batch_size, protocol.bootstrap, xi_mask))
    targets = networks.activations(arch, networks.unpack(teacher, arch), inputs)[-1].astype(np.float32)
    moments = None
    if len(arch.shapes) == 1:
        iu, ju = np.triu_indices(arch.sizes[0])
        moments = shared_x[iu] * shared_x[ju] if shared_x is not None else inputs[:, iu, :] * inputs[:, ju, :]
    return State(
        arch, protocol, runs, weights, teacher, inputs, targets, draws, moments=moments, shared_x=shared_x
    )


# ----------------------------------------------------------------------------- the batched step


@dataclass
class Segment:
    """What :func:`advance` recorded: task error, tracked weights and float64 measurements."""

    loss: np.ndarray  # (B, n_records) float64: batch task error before each recorded step's update
    record_steps: np.ndarray  # (n_records,) absolute step index of each record
    tracked: np.ndarray | None = None  # (B, n_records, len(track)) weights at record steps
    Q_c: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (B, n_measurements)
    Q_eps: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    grad_norm: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # full-data ‖∇F‖
    c_norm: np.ndarray | None = None  # (B, n_records) realised ‖Δc‖ of each recorded step


def _step_chunk(
    state: State,
    sl: slice,
    g1: np.ndarray,
    g2: np.ndarray,
    work: Work | None,
    m: int,
    loss_out: np.ndarray,
    meas: dict | None,
    rec: dict | None,
) -> None:
    """Advance the networks in ``sl`` by ``m`` steps (m ≤ a draw block's remainder)."""
    arch, proto = state.arch, state.protocol
    w = state.weights[sl]
    x = state.shared_x if state.shared_x is not None else state.inputs[sl]  # (i, P) or (c, i, P)
    y = state.targets[sl]
    c = w.shape[0]
    nl = len(arch.shapes)
    o, p = arch.sizes[-1], proto.n_inputs
    draws = [state.draws[j].take(m) for j in range(sl.start, sl.stop)]
    nu = np.stack([d[0] for d in draws], axis=1)  # (m, c, N)
    xi = np.stack([d[1] for d in draws], axis=1)
    counts = np.stack([d[2] for d in draws], axis=1) if proto.bootstrap else None  # (m, c, P)
    nu_norm = np.sqrt(np.einsum("mcn,mcn->mc", nu, nu, dtype=np.float64))
    xi_norm = np.sqrt(np.einsum("mcn,mcn->mc", xi, xi, dtype=np.float64))
    eps = state.runs.eps_norm[sl]
    # the task-independent part of every step of the block at once: γ₂ ν̂ + ‖Δε‖ ξ̂
    noise = nu * (g2[sl] / nu_norm).astype(np.float32)[:, :, None]
    noise += xi * (eps / xi_norm).astype(np.float32)[:, :, None]
    grad = np.empty_like(w)
    gmats = networks.unpack(grad, arch)
    wmats = networks.unpack(w, arch)
    denom = o * (proto.batch_size if proto.bootstrap else p)
    full_weight = np.float32(2.0 / denom)
    if nl == 1:
        cov = linear_moments(state.moments if state.shared_x is not None else state.moments[sl], counts)
    else:
        cov = None
    if cov is None:
        full = work.views(c, p)
        weights = None if counts is None else counts * full_weight  # (m, c, P): 2·count/denom
    for t in range(m):
        step = state.step + t
        if cov is not None:
            loss = linear_loss_grad(w, state.teacher[sl], cov, t, full_weight, grad)
        else:
            wt = full_weight if weights is None else weights[t]
            loss = nonlinear_loss_grad(x, y, wt, wmats, gmats, full)
        gnorm = np.sqrt(np.einsum("cn,cn->c", grad, grad, dtype=np.float64))
        with np.errstate(divide="ignore", invalid="ignore"):
            a_g = np.where(gnorm > 0, -g1[sl] / gnorm, 0.0)
        a_nu = g2[sl] / nu_norm[t]
        if meas is not None and step in meas["steps"]:
            dc = a_g[:, None] * grad + a_nu[:, None] * nu[t]
            dirs = np.stack([dc, xi[t]], axis=1)
            q, gn = measure_q(state, dirs, sl)
            k = meas["steps"][step]
            meas["Q_c"][sl, k] = q[:, 0]
            meas["Q_eps"][sl, k] = q[:, 1]
            meas["grad_norm"][sl, k] = gn
        if rec is not None and (step - rec["start"]) % rec["every"] == 0:
            k = (step - rec["start"]) // rec["every"]
            loss_out[sl, k] = loss
            g_dot_nu = np.einsum("cn,cn->c", grad, nu[t], dtype=np.float64)
            rec["c_norm"][sl, k] = realised_c_norm(a_g, gnorm, a_nu, nu_norm[t], g_dot_nu)
            if rec["track"] is not None:
                rec["tracked"][sl, k] = w[:, rec["track"]]
        w += a_g.astype(np.float32)[:, None] * grad
        w += noise[t]


def _chunks(b: int, chunk: int) -> list[slice]:
    return [slice(s, min(s + chunk, b)) for s in range(0, b, chunk)]


def advance(
    state: State,
    steps: int,
    *,
    record_every: int = 1,
    measure_steps: np.ndarray | None = None,
    track: np.ndarray | None = None,
    workers: int = 2,
    chunk: int = CHUNK,
) -> Segment:
    """Run ``steps`` more steps of every network in ``state`` (in place) and record them.

    ``measure_steps``: absolute step indices at which to measure, in float64, Q[Δc], Q[Δε] of
    that step's compensation and fluctuation and the full-data gradient norm.  ``track``: indices
    of weights (into the packed vector) to record at every recorded step.  ``workers`` threads
    split the networks (numpy releases the GIL in products, ufuncs and random fills).
    """
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if record_every < 1:
        raise ValueError(f"record_every must be >= 1, got {record_every}")
    if workers < 1 or chunk < 1:
        raise ValueError(f"workers and chunk must be >= 1, got {workers}, {chunk}")
    b = len(state.runs)
    n_rec = steps // record_every if steps % record_every == 0 else steps // record_every + 1
    loss = np.full((b, n_rec), np.nan)
    ms = sorted(
        int(s)
        for s in (measure_steps if measure_steps is not None else ())
        if state.step <= s < state.step + steps
    )
    meas = None
    if ms:
        meas = {"steps": {s: k for k, s in enumerate(ms)}}
        for key in ("Q_c", "Q_eps", "grad_norm"):
            meas[key] = np.full((b, len(ms)), np.nan)
    track_idx = None if track is None else np.asarray(track, dtype=np.intp)
    rec = {
        "start": state.step,
        "every": record_every,
        "track": track_idx,
        "tracked": None if track_idx is None else np.empty((b, n_rec, len(track_idx)), np.float32),
        "c_norm": np.full((b, n_rec), np.nan),
    }
    g1, g2 = compensation_gammas(state.runs.ratio * state.runs.eps_norm, state.runs.noise_to_signal)
    p = state.protocol.n_inputs
    if len(state.arch.shapes) == 1:
        chunk *= LINEAR_CHUNK_FACTOR

    def run_slices(my: list[slice]) -> None:
        work = Work(state.arch, chunk, p) if len(state.arch.shapes) > 1 else None
        for sl in my:
            done = 0
            while done < steps:
                if state.draws[sl.start].cursor >= DRAW_BLOCK:
                    for j in range(sl.start, sl.stop):
                        state.draws[j].refill()
                m = min(steps - done, DRAW_BLOCK - state.draws[sl.start].cursor)
                sub = replace(state, step=state.step + done)
                _step_chunk(sub, sl, g1, g2, work, m, loss, meas, rec)
                done += m

    # all runs of a state advance in lockstep, so their draw cursors agree
    # equal contiguous shares of the networks per worker thread, each cut into cache-sized chunks
    edges = np.linspace(0, b, min(workers, max(b, 1)) + 1).round().astype(int)
    groups = [
        [slice(s0 + c.start, s0 + c.stop) for c in _chunks(s1 - s0, chunk)]
        for s0, s1 in zip(edges[:-1], edges[1:], strict=True)
        if s1 > s0
    ]
    with blas_single_threaded():
        if len(groups) > 1:
            with ThreadPoolExecutor(len(groups)) as pool:
                for f in [pool.submit(run_slices, g) for g in groups]:
                    f.result()
        elif groups:
            run_slices(groups[0])
    seg = Segment(
        loss=loss,
        record_steps=state.step + np.arange(n_rec) * record_every,
        tracked=rec["tracked"],
        c_norm=rec["c_norm"],
    )
    if meas is not None:
        seg.Q_c, seg.Q_eps, seg.grad_norm = meas["Q_c"], meas["Q_eps"], meas["grad_norm"]
    else:
        seg.Q_c = seg.Q_eps = seg.grad_norm = np.zeros((b, 0))
    state.step += steps
    return seg


# ----------------------------------------------------------------------------- whole runs


@dataclass
class SimResult:
    """Outcome of a batch of runs (arrays over runs, shape (B,), unless stated)."""

    runs: Runs
    protocol: SweepProtocol
    loss: np.ndarray  # (B, R) recorded task error; runs extended past `steps` fill more columns (NaN pad)
    record_steps: np.ndarray  # (R,) step index of each column of `loss`
    steady_loss: np.ndarray  # mean recorded error over each run's last `window` steps
    grad_norm: np.ndarray  # mean full-data ‖∇F‖ (float64) at the measurement steps of that window
    Q_c: np.ndarray  # mean Q[Δc] over the same steps
    Q_eps: np.ndarray  # mean Q[Δε]
    settled: np.ndarray  # bool: numerics.steady test passed at the end of the run
    relative_drift: np.ndarray  # (last settle window − previous) / previous mean error
    steps_run: np.ndarray  # steps each run took (> protocol.steps when extended)
    weights: np.ndarray  # (B, N) final float32 weights
    tracked: np.ndarray | None = None  # (B, R_base, k) tracked weights during the base run
    c_norm: np.ndarray | None = None  # mean realised ‖Δc‖ over each run's last `window` steps

    @property
    def predicted_ratio(self) -> np.ndarray:
        """√(Q[Δε]/Q[Δc]) (eq9a, via derivations.closed_forms); NaN where Q[Δc] ≤ 0 or Q[Δε] < 0."""
        return predicted_ratio(self.Q_eps, self.Q_c)


def resolve_arch(arch: Architecture | str) -> Architecture:
    """``arch`` itself, or the architecture of that name."""
    return networks.architecture(arch) if isinstance(arch, str) else arch


def simulate(
    arch: Architecture | str,
    runs: Runs,
    protocol: SweepProtocol,
    seed: int,
    *,
    workers: int = 2,
    chunk: int = CHUNK,
    track: np.ndarray | None = None,
) -> SimResult:
    """Run every network of ``runs`` for ``protocol.steps`` steps at once, batched, and summarise.

    Steady state = the last ``protocol.window`` steps; Q and ‖∇F‖ are measured there (float64).
    Unsettled runs are extended by ``settle_window`` steps at a time, up to ``extend_max`` extra
    steps, when ``protocol.extend_max`` > 0.
    """
    arch = resolve_arch(arch)
    state = init_state(arch, runs, protocol, seed)
    seg = advance(
        state,
        protocol.steps,
        record_every=protocol.record_every,
        measure_steps=protocol.measure_steps(protocol.steps),
        track=track,
        workers=workers,
        chunk=chunk,
    )
    return _finish(state, seg, protocol, workers, chunk)


def _finish(state: State, seg: Segment, protocol: SweepProtocol, workers: int, chunk: int) -> SimResult:
    from plasticity.numerics.steady import settled_test

    b = len(state.runs)
    nset = protocol.settle_steps // protocol.record_every
    stats = window_stats(seg, protocol)
    test = settled_test(seg.loss, nset, protocol.settle_batches, protocol.settle_alpha)
    settled, drift = test.settled.copy(), test.relative_drift.copy()
    steps_run = np.full(b, protocol.steps, dtype=np.int64)
    extra_loss: list[np.ndarray] = []
    tails = seg.loss[:, -2 * nset :].copy()
    extended = 0
    while protocol.extend_max and extended < protocol.extend_max and not settled.all():
        inc = min(protocol.settle_steps, protocol.extend_max - extended)
        inc -= inc % protocol.record_every
        if inc < protocol.window:
            break
        idx = np.flatnonzero(~settled)
        sub = state.take(idx)
        end = sub.step + inc
        s2 = advance(
            sub,
            inc,
            record_every=protocol.record_every,
            measure_steps=np.arange(end - protocol.window, end, protocol.measure_every)
            if protocol.measure_every
            else None,
            workers=workers,
            chunk=chunk,
        )
        state.weights[idx] = sub.weights
        col = np.full((b, s2.loss.shape[1]), np.nan)
        col[idx] = s2.loss
        extra_loss.append(col)
        tails[idx] = np.concatenate([tails[idx], s2.loss], axis=1)[:, -2 * nset :]
        st = window_stats(s2, protocol)
        for k, v in st.items():
            stats[k][idx] = v
        t2 = settled_test(tails[idx], nset, protocol.settle_batches, protocol.settle_alpha)
        settled[idx], drift[idx] = t2.settled, t2.relative_drift
        steps_run[idx] += inc
        extended += inc
    loss = np.concatenate([seg.loss, *extra_loss], axis=1) if extra_loss else seg.loss
    rec_steps = np.arange(loss.shape[1]) * protocol.record_every
    return SimResult(
        runs=state.runs,
        protocol=protocol,
        loss=loss,
        record_steps=rec_steps,
        steady_loss=stats["steady_loss"],
        grad_norm=stats["grad_norm"],
        Q_c=stats["Q_c"],
        Q_eps=stats["Q_eps"],
        settled=settled,
        relative_drift=drift,
        steps_run=steps_run,
        weights=state.weights,
        tracked=seg.tracked,
        c_norm=stats["c_norm"],
    )
