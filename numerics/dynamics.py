"""The batched paper engine: many student-teacher networks buffeted by fluctuations at once.

Every network of a sweep is stacked into arrays (weights of shape (B, N), inputs (B, i, P)) and
each step does one batched matrix product per layer for all networks, in float32 as the paper
did, with float64 accumulation of norms.  One step of network ``b`` is

    w ← w − γ₁ ĝ + γ₂ ν̂ + ‖Δε‖ ξ̂,     γ₁, γ₂ = numerics.rules.gammas(ratio·‖Δε‖, 1/noise_to_signal)

with ĝ the direction of the gradient of the bootstrap-batch task error and fresh standard-normal
ν, ξ (norms over all matrix entries together).  Bootstrap batches (P indices drawn with
replacement from the run's P fixed inputs) are realised as per-network sample *counts* used as
weights, so the forward pass runs once on the shared inputs.

Randomness: run ``k`` of a sweep owns the generator ``PCG64(SeedSequence(seed, spawn_key=(k,)))``
and draws, in order, the teacher (Xavier uniform), the scalar z of the student's start
``teacher·(1 + 0.001 z)``, its P inputs, then per block of :data:`DRAW_BLOCK` steps its ν, ξ and
bootstrap indices.  So a run's trajectory depends only on (seed, run id), never on which other
runs share its batch, on chunking, on the number of worker threads or on the executor.

Public API (used by experiments, claims, report and bench):

- :class:`Protocol` — constants of a sweep: ``steps`` (8000), ``n_inputs`` P (1000), ``batch_size``
  S (1000), ``bootstrap`` (True; False = exact full-batch gradient), ``record_every`` (1),
  ``window`` (100: steady state = mean recorded error over the last ``window`` steps),
  ``measure_every`` (10: float64 Q / ‖∇F‖ measurements inside that window; 0 = off),
  ``init_scale`` (1e-3), ``settle_window`` (0 = steps//4), ``settle_alpha`` (0.01),
  ``settle_batches`` (10), ``extend_max`` (0: extra steps allowed to unsettled runs),
  ``fluct_mask`` (None = Δε on every synapse; ``"layerK"`` = only the K-th weight matrix, 1-based;
  or a boolean array of length N over the packed weights).  A masked ξ is drawn in full (each
  run's stream is unchanged), zeroed outside the mask and normalised over it, so ‖Δε‖ is exact
  and Q[Δε] is measured on the confined Δε actually applied.
- :class:`Runs` — per-network arrays ``eps_norm`` (‖Δε‖), ``ratio`` (‖Δc‖/‖Δε‖),
  ``noise_to_signal`` (γ₂/γ₁, 0 = pure gradient), ``run_id`` (keys the run's random stream).
- ``simulate(arch, runs, protocol, seed, *, workers=2, chunk=CHUNK, track=None) -> SimResult``:
  the batched engine.  ``simulate_reference(arch, runs, protocol, seed, *, track=None)``: the
  straightforward per-network, per-step loop on the same draws (the benchmark's baseline).
- :class:`SimResult` — ``loss`` (B, R) recorded batch error, ``record_steps``, ``steady_loss``,
  ``grad_norm`` (full-data ‖∇F‖), ``Q_c``, ``Q_eps`` (means over the window's measurements),
  ``settled``, ``relative_drift``, ``steps_run``, ``weights`` (final, float32), ``tracked``, and
  ``c_norm`` (mean realised ‖Δc‖ = ‖−γ₁ĝ + γ₂ν̂‖ over the window's steps), and
  the property ``predicted_ratio`` = √(Q[Δε]/Q[Δc]) through ``derivations.closed_forms``.
- Stateful pieces for staged runs (Figure 1) and extensions: ``init_state(arch, runs, protocol,
  seed) -> State``; ``advance(state, steps, *, record_every, measure_steps, track, workers,
  chunk) -> Segment`` (``loss``, ``record_steps``, ``tracked``, ``Q_c``, ``Q_eps``,
  ``grad_norm`` per measurement); ``State.take(idx)``.
- Float64 exact helpers: ``batched_loss_grad(arch, w, x, y, counts=None)``,
  ``batched_hvp(arch, w, x, y, v)`` (R-operator, Gauss-Newton plus σ'' term) and
  ``measure_q(state, directions)``; ``predicted_ratio(Q_eps, Q_c)``; ``run_generator(seed,
  run_id)``; ``compensation_gammas(magnitude, noise_to_signal)`` (via ``numerics.rules.gammas``).

Layouts: weights are packed row-major per layer (``numerics.networks.pack``), inputs (B, i, P),
targets (B, o, P).  Hidden layers are computed as t = tanh(a/2) (σ = (1 + t)/2), which is exact
and saves passes over the largest arrays; the reference path computes σ directly.
The linear network (no hidden layer, zero biases) needs no forward pass at all: its residual is
(W − W_T) x, so each step's batch error and gradient come from the count-weighted input second
moment C = Σ_s c_s x_s x_sᵀ (12×12), made for a whole draw block by one batched product of the
block's counts with the precomputed distinct entries of x_s x_sᵀ (``State.moments``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
from threadpoolctl import threadpool_limits

from numerics import networks
from numerics.networks import Architecture

#: steps of random draws made at once per network (fixes the order of draws in each run's stream)
DRAW_BLOCK = 16
#: networks per inner work chunk: keeps one layer's activations (chunk × 20 × 1000 float32) in L2
CHUNK = 24
#: the linear network's chunks are this many times larger: its step holds only 12×12 moments per
#: network, so fewer, larger numpy calls win (measured single-threaded on 648 networks: 14.5 µs per
#: network-step at 24 per chunk, 13.3 at 324; gains with 2 threads were larger but noisy here)
LINEAR_CHUNK_FACTOR = 8


# ----------------------------------------------------------------------------- BLAS threads


@contextlib.contextmanager
def blas_single_threaded() -> Iterator[None]:
    """Run the body with every BLAS library numpy and scipy loaded on one thread.

    The engine's products are small (20×12 by 12×1000); OpenBLAS threading them while the
    engine's own worker threads run measured 1.3× slower here.  It also makes results
    independent of the BLAS thread count, so a sweep split over processes is bit-identical to
    the in-process one.  threadpoolctl finds the libraries whatever their build names them
    (numpy 1.26 bundles ``libopenblas64_p``, numpy 2 ``libscipy_openblas64_``).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# ----------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Protocol:
    """Constants shared by all runs of a sweep (defaults: the paper's protocol)."""

    steps: int = 8000
    n_inputs: int = 1000  # P: fixed N(0,1) inputs per run
    batch_size: int = 1000  # S: bootstrap indices drawn per step (with replacement)
    bootstrap: bool = True  # False: exact full-batch gradient on the P inputs
    record_every: int = 1  # record the task error every k steps
    window: int = 100  # steady-state error = mean recorded error over the last `window` steps
    measure_every: int = 10  # float64 Q / gradient-norm measurement period inside the window; 0 = off
    init_scale: float = 1e-3  # student = teacher · (1 + init_scale · z)
    settle_window: int = 0  # settledness: last settle_window steps vs the ones before; 0 = steps // 4
    settle_alpha: float = 0.01  # level of the settledness t-test (numerics.steady)
    extend_max: int = 0  # extra steps allowed to unsettled runs (in settle_window increments); 0 = off
    settle_batches: int = 10  # batch means per settledness window (each batch ≫ correlation time)
    #: synapses the fluctuation Δε may touch: None = all; "layerK" = the K-th weight matrix (1-based);
    #: or a boolean sequence of length N over the packed weights (stored as a tuple)
    fluct_mask: str | tuple[bool, ...] | None = None

    def __post_init__(self) -> None:
        fm = self.fluct_mask
        if fm is not None and not isinstance(fm, str):
            arr = np.asarray(fm)
            if arr.ndim != 1 or arr.dtype != np.bool_:
                raise ValueError(
                    f"Protocol.fluct_mask must be None, 'layerK' or a 1-D boolean array, got {fm!r:.80}"
                )
            if not arr.any():
                raise ValueError("Protocol.fluct_mask selects no synapse: fluctuations need at least one")
            object.__setattr__(self, "fluct_mask", tuple(bool(v) for v in arr))
        elif isinstance(fm, str) and not (fm.startswith("layer") and fm[5:].isdigit() and int(fm[5:]) >= 1):
            raise ValueError(
                f"Protocol.fluct_mask must be None, 'layerK' (K >= 1) or a boolean array, got {fm!r}"
            )
        for name in ("steps", "n_inputs", "batch_size", "record_every", "window"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Protocol.{name} must be a positive integer, got {v!r}")
        if self.window > self.steps:
            raise ValueError(f"Protocol.window ({self.window}) exceeds steps ({self.steps})")
        if self.window % self.record_every:
            raise ValueError(
                f"Protocol.window ({self.window}) must be a multiple of record_every ({self.record_every})"
            )
        if self.measure_every < 0:
            raise ValueError(f"Protocol.measure_every must be >= 0, got {self.measure_every}")
        sw = self.settle_steps
        if sw % self.record_every or 2 * sw > self.steps or sw < self.window:
            raise ValueError(
                f"Protocol.settle_window ({sw}) must be a multiple of record_every, at least window "
                f"({self.window}) and at most steps/2 ({self.steps // 2})"
            )
        if self.settle_batches < 2 or sw // self.record_every < self.settle_batches:
            raise ValueError(
                f"Protocol.settle_window ({sw} steps = {sw // self.record_every} records) must hold at "
                f"least settle_batches ({self.settle_batches}) >= 2 records"
            )
        if self.extend_max < 0 or not 0 < self.settle_alpha < 1:
            raise ValueError("Protocol.extend_max must be >= 0 and settle_alpha in (0, 1)")
        if not np.isfinite(self.init_scale) or self.init_scale < 0:
            raise ValueError(f"Protocol.init_scale must be finite and >= 0, got {self.init_scale}")

    @property
    def settle_steps(self) -> int:
        """Length in steps of each window of the settledness test."""
        if self.settle_window:
            return self.settle_window
        q = self.steps // 4
        return max(self.window, q - q % self.record_every)

    def xi_mask(self, arch: Architecture) -> np.ndarray | None:
        """The float32 0/1 mask over the packed weights of ``arch`` confining Δε (None = everywhere)."""
        fm = self.fluct_mask
        if fm is None:
            return None
        n = arch.n_weights
        if isinstance(fm, str):
            k = int(fm[5:])
            if k > len(arch.shapes):
                raise ValueError(
                    f"Protocol.fluct_mask {fm!r}: the network has {len(arch.shapes)} weight layers"
                )
            sizes = [o * i for o, i in arch.shapes]
            mask = np.zeros(n, np.float32)
            start = sum(sizes[: k - 1])
            mask[start : start + sizes[k - 1]] = 1.0
            return mask
        if len(fm) != n:
            raise ValueError(f"Protocol.fluct_mask has length {len(fm)}, the network has {n} weights")
        return np.asarray(fm, dtype=np.float32)

    def measure_steps(self, end: int) -> np.ndarray:
        """Steps of the steady-state window ending at ``end`` at which Q and ‖∇F‖ are measured."""
        if not self.measure_every:
            return np.zeros(0, dtype=np.int64)
        return np.arange(end - self.window, end, self.measure_every)


@dataclass(frozen=True)
class Runs:
    """Per-network parameters of a batch of runs, each an array of shape (B,).

    ``noise_to_signal`` is γ₂/γ₁ (0 = pure gradient); ``run_id`` keys each run's random stream.
    """

    eps_norm: np.ndarray
    ratio: np.ndarray
    noise_to_signal: np.ndarray
    run_id: np.ndarray

    def __post_init__(self) -> None:
        arrs = {}
        for name in ("eps_norm", "ratio", "noise_to_signal"):
            a = np.atleast_1d(np.asarray(getattr(self, name), dtype=np.float64))
            if a.ndim != 1:
                raise ValueError(f"Runs.{name} must be one-dimensional, got shape {a.shape}")
            if not np.all(np.isfinite(a)) or np.any(a < 0):
                raise ValueError(f"Runs.{name} must be finite and non-negative, got {a}")
            arrs[name] = a
        rid = np.atleast_1d(np.asarray(self.run_id))
        if rid.ndim != 1 or not np.issubdtype(rid.dtype, np.integer) or np.any(rid < 0):
            raise ValueError(f"Runs.run_id must be non-negative integers, got {self.run_id!r}")
        arrs["run_id"] = rid.astype(np.int64)
        sizes = {len(a) for a in arrs.values()}
        if len(sizes) != 1:
            raise ValueError(f"Runs arrays differ in length: { {k: len(a) for k, a in arrs.items()} }")
        for k, a in arrs.items():
            object.__setattr__(self, k, a)

    def __len__(self) -> int:
        return len(self.run_id)

    def take(self, idx: np.ndarray) -> Runs:
        """The runs at positions ``idx``."""
        return Runs(self.eps_norm[idx], self.ratio[idx], self.noise_to_signal[idx], self.run_id[idx])


def run_generator(seed: int, run_id: int) -> np.random.Generator:
    """The random stream owned by run ``run_id`` of a sweep seeded with ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(int(run_id),))))


def compensation_gammas(magnitude: np.ndarray, noise_to_signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """γ₁, γ₂ from ‖Δc‖ and γ₂/γ₁ through ``numerics.rules.gammas`` (snr = γ₁/γ₂ = 1/noise_to_signal)."""
    from numerics.rules import gammas

    nts = np.asarray(noise_to_signal, dtype=np.float64)
    with np.errstate(divide="ignore"):
        snr = np.where(nts > 0, 1.0 / np.where(nts > 0, nts, 1.0), np.inf)
    g1, g2 = gammas(np.asarray(magnitude, dtype=np.float64), snr)
    g1, g2 = np.asarray(g1, dtype=np.float64), np.asarray(g2, dtype=np.float64)
    if not (np.all(np.isfinite(g1)) and np.all(np.isfinite(g2))):
        raise ValueError("numerics.rules.gammas returned non-finite γ (does it accept snr = inf?)")
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


# ----------------------------------------------------------------------------- state


@dataclass
class State:
    """Everything needed to continue a batch of runs: weights, data, parameters and streams."""

    arch: Architecture
    protocol: Protocol
    runs: Runs
    weights: np.ndarray  # (B, N) float32, packed row-major
    teacher: np.ndarray  # (B, N) float32
    inputs: np.ndarray  # (B, i, P) float32
    targets: np.ndarray  # (B, o, P) float32: the teacher's outputs
    draws: list[_Draws]
    step: int = 0
    #: linear networks: the i(i+1)/2 distinct entries of x_s x_sᵀ per input, (B, i(i+1)/2, P) float32
    #: (78 per sample for i = 12: 312 kB per network of 1000 inputs)
    moments: np.ndarray | None = None

    def take(self, idx: np.ndarray) -> State:
        """A state holding only the runs at positions ``idx`` (their streams continue unchanged)."""
        idx = np.asarray(idx)
        return replace(
            self,
            runs=self.runs.take(idx),
            weights=self.weights[idx].copy(),
            teacher=self.teacher[idx],
            inputs=self.inputs[idx],
            targets=self.targets[idx],
            draws=[self.draws[i] for i in idx],
            moments=None if self.moments is None else self.moments[idx],
        )


def _forward(arch: Architecture, mats: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Network outputs for stacked weights (..., o, i) and inputs (..., i, P); biases are zero."""
    h = x
    for layer, w in enumerate(mats):
        h = w @ h
        if layer < len(mats) - 1 and arch.hidden_activation == "sigmoid":
            h = 0.5 + 0.5 * np.tanh(0.5 * h)
    return h


def init_state(arch: Architecture | str, runs: Runs, protocol: Protocol, seed: int) -> State:
    """Teachers, students, inputs and random streams of every run, per the paper's protocol."""
    if isinstance(arch, str):
        arch = networks.architecture(arch)
    if arch.hidden_activation not in (None, "sigmoid"):
        raise ValueError(f"unsupported hidden activation {arch.hidden_activation!r}")
    n, p = arch.n_weights, protocol.n_inputs
    b = len(runs)
    if b == 0:
        raise ValueError("no runs to simulate (Runs is empty)")
    weights = np.empty((b, n), np.float32)
    teacher = np.empty((b, n), np.float32)
    inputs = np.empty((b, arch.sizes[0], p), np.float32)
    draws = []
    xi_mask = protocol.xi_mask(arch)
    for j, rid in enumerate(runs.run_id):
        g = run_generator(seed, rid)
        t = networks.pack(networks.init_weights(arch, g, np.float32))
        z = g.standard_normal()
        teacher[j] = t
        weights[j] = t * np.float32(1.0 + protocol.init_scale * z)
        inputs[j] = g.standard_normal((arch.sizes[0], p), dtype=np.float32)
        draws.append(_Draws(g, n, p, protocol.batch_size, protocol.bootstrap, xi_mask))
    targets = _forward(arch, networks.unpack(teacher, arch), inputs).astype(np.float32)
    moments = None
    if len(arch.shapes) == 1:
        iu, ju = np.triu_indices(arch.sizes[0])
        moments = inputs[:, iu, :] * inputs[:, ju, :]
    return State(arch, protocol, runs, weights, teacher, inputs, targets, draws, moments=moments)


# ----------------------------------------------------------------------------- float64 exact maths


def _weights_of(arch: Architecture, w: np.ndarray) -> list[np.ndarray]:
    return networks.unpack(w, arch)


def batched_loss_grad(
    arch: Architecture, w: np.ndarray, x: np.ndarray, y: np.ndarray, counts: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Task error and its gradient for stacked networks w (B, N) on inputs x (B, i, P), targets y.

    Task error = Σ_p c_p ‖f(w, x_p) − y_p‖² / (Σ c · o): the mean squared error over outputs ×
    samples of a batch with sample counts c (B, P); c = 1 is the full-data error.  Works in the
    dtype of the inputs (float64 for measurements).
    """
    mats = _weights_of(arch, w)
    dt = w.dtype
    acts = [x]
    h = x
    for layer, m in enumerate(mats):
        h = m @ h
        if layer < len(mats) - 1 and arch.hidden_activation == "sigmoid":
            h = 0.5 + 0.5 * np.tanh(0.5 * h)
        acts.append(h)
    r = acts[-1] - y
    o, p = r.shape[-2], r.shape[-1]
    if counts is None:
        counts = np.ones(r.shape[:-2] + (p,), dt)
    total = counts.sum(axis=-1) * o
    sq = (r * r).sum(axis=-2)
    loss = (counts * sq).sum(axis=-1) / total
    d = r * (2.0 * counts / total[..., None])[..., None, :]
    grads = [None] * len(mats)
    for layer in range(len(mats) - 1, -1, -1):
        grads[layer] = d @ np.swapaxes(acts[layer], -1, -2)
        if layer > 0:
            hl = acts[layer]
            d = (np.swapaxes(mats[layer], -1, -2) @ d) * (hl * (1 - hl) if arch.hidden_activation else 1.0)
    return loss, networks.pack(grads)


def batched_hvp(
    arch: Architecture, w: np.ndarray, x: np.ndarray, y: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact Hessian-vector products of the full-data task error (R-operator, Pearlmutter 1994).

    ``w`` (B, N), ``v`` (B, k, N): k directions per network.  Returns (loss (B,), grad (B, N),
    Hv (B, k, N)).  Exact for any number of sigmoid hidden layers: Gauss-Newton term plus the
    σ'' term.
    """
    mats = _weights_of(arch, w)
    nl = len(mats)
    sig = arch.hidden_activation == "sigmoid"
    acts = [x]
    h = x
    for layer, m in enumerate(mats):
        h = m @ h
        if layer < nl - 1 and sig:
            h = 0.5 + 0.5 * np.tanh(0.5 * h)
        acts.append(h)
    r = acts[-1] - y
    o, p = r.shape[-2], r.shape[-1]
    scale = 2.0 / (o * p)
    loss = (r * r).sum(axis=(-2, -1)) / (o * p)
    # forward R-pass: R(a_l), R(h_l) for directions v: shapes (B, k, ., P)
    vm = networks.unpack(v, arch)
    acts_k = [a[:, None] for a in acts]
    mats_k = [m[:, None] for m in mats]
    rh = np.zeros_like(acts_k[0])
    r_act = [rh]
    deriv = []  # σ'(a_l) for hidden layers
    for layer in range(nl):
        ra = vm[layer] @ acts_k[layer] + (mats_k[layer] @ rh if layer > 0 else 0.0)
        if layer < nl - 1 and sig:
            hl = acts_k[layer + 1]
            dl = hl * (1 - hl)
            deriv.append(dl)
            rh = dl * ra
        else:
            deriv.append(None)
            rh = ra
        r_act.append(rh)
    # backward pass and its R-pass
    d = scale * r[:, None]
    rd = scale * r_act[-1]
    grads, rgrads = [None] * nl, [None] * nl
    for layer in range(nl - 1, -1, -1):
        at = np.swapaxes(acts_k[layer], -1, -2)
        grads[layer] = (d @ at)[:, 0]
        rgrads[layer] = rd @ at + d @ np.swapaxes(r_act[layer], -1, -2)
        if layer > 0:
            wt = np.swapaxes(mats_k[layer], -1, -2)
            back = wt @ d
            rback = np.swapaxes(vm[layer], -1, -2) @ d + wt @ rd
            dl = deriv[layer - 1]
            if dl is not None:
                hl = acts_k[layer]
                # R(σ'(a)) = σ''(a) R(a) = σ'(a)(1 − 2h) R(a), and σ'(a) R(a) = R(h)
                rd = rback * dl + back * (1 - 2 * hl) * r_act[layer]
                d = back * dl
            else:
                rd, d = rback, back
    grad = networks.pack(grads)
    hv = networks.pack(rgrads)
    return loss, grad, hv


def measure_q(state: State, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float64 Q[v] = vᵀ∇²F v/‖v‖² of the full-data task error for (B, k, N) directions, and ‖∇F‖."""
    f64 = np.float64
    v = directions.astype(f64)
    _, grad, hv = batched_hvp(
        state.arch, state.weights.astype(f64), state.inputs.astype(f64), state.targets.astype(f64), v
    )
    with np.errstate(invalid="ignore", divide="ignore"):  # Q of a zero direction (ratio 0) is NaN
        q = np.einsum("bkn,bkn->bk", v, hv) / np.einsum("bkn,bkn->bk", v, v)
    return q, np.sqrt(np.einsum("bn,bn->b", grad, grad))


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


class _Work:
    """Preallocated float32 work arrays for a chunk of up to ``c`` networks and ``p`` samples.

    Hidden layers are held as t = tanh(a/2) (σ(a) = (1 + t)/2) with an extra constant row of
    ones, so the next layer's product absorbs the +1/2 and σ'(a) = (1 − t²)/4 needs no σ.  The
    buffers are flat; :meth:`views` cuts contiguous (c, ·, k) arrays for c networks, k samples.
    """

    def __init__(self, arch: Architecture, c: int, p: int) -> None:
        sig = arch.hidden_activation == "sigmoid"
        self.hidden = arch.sizes[1:-1]
        self.o, self.i = arch.sizes[-1], arch.sizes[0]
        self.hid = [np.empty(c * (s + 1) * p, np.float32) for s in self.hidden]
        self.hid_sq = [np.empty(c * s * p, np.float32) for s in self.hidden]
        self.back = [np.empty(c * s * p, np.float32) for s in self.hidden]
        self.out = np.empty(c * self.o * p, np.float32)
        self.d = np.empty(c * self.o * p, np.float32)
        self.gaug = [np.empty((c, o, i + 1), np.float32) for o, i in arch.shapes[1:]]
        if not sig and self.hidden:
            raise ValueError("hidden layers without a sigmoid are not supported by the batched engine")

    def views(self, c: int, k: int) -> dict:
        """Contiguous views for ``c`` networks on ``k`` samples (the hidden ones-rows set to 1)."""

        def cut(bufs: list[np.ndarray], extra: int) -> list[np.ndarray]:
            sizes = zip(bufs, self.hidden, strict=True)
            return [b[: c * (s + extra) * k].reshape(c, s + extra, k) for b, s in sizes]

        hid = cut(self.hid, 1)
        for h in hid:
            h[:, -1, :] = 1.0
        return {
            "hid": hid,
            "hid_t": [h[:, :-1] for h in hid],
            "hid_sq": cut(self.hid_sq, 0),
            "back": cut(self.back, 0),
            "out": self.out[: c * self.o * k].reshape(c, self.o, k),
            "d": self.d[: c * self.o * k].reshape(c, self.o, k),
            "gaug": [g[:c] for g in self.gaug],
        }


def _step_chunk(
    state: State,
    sl: slice,
    g1: np.ndarray,
    g2: np.ndarray,
    work: _Work | None,
    m: int,
    loss_out: np.ndarray,
    meas: dict | None,
    rec: dict | None,
) -> None:
    """Advance the networks in ``sl`` by ``m`` steps (m ≤ a draw block's remainder)."""
    arch, proto = state.arch, state.protocol
    w = state.weights[sl]
    x, y = state.inputs[sl], state.targets[sl]
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
    cov = _linear_moments(state.moments[sl], counts) if nl == 1 else None
    if cov is None:
        full = work.views(c, p)
        weights = None if counts is None else counts * full_weight  # (m, c, P): 2·count/denom
    for t in range(m):
        step = state.step + t
        if cov is not None:
            loss = _linear_loss_grad(w, state.teacher[sl], cov, t, full_weight, grad)
        else:
            wt = full_weight if weights is None else weights[t]
            loss = _nonlinear_loss_grad(x, y, wt, wmats, gmats, full)
        gnorm = np.sqrt(np.einsum("cn,cn->c", grad, grad, dtype=np.float64))
        with np.errstate(divide="ignore", invalid="ignore"):
            a_g = np.where(gnorm > 0, -g1[sl] / gnorm, 0.0)
        a_nu = g2[sl] / nu_norm[t]
        if meas is not None and step in meas["steps"]:
            dc = a_g[:, None] * grad + a_nu[:, None] * nu[t]
            dirs = np.stack([dc, xi[t]], axis=1)
            q, gn = _measure_slice(state, sl, dirs)
            k = meas["steps"][step]
            meas["Q_c"][sl, k] = q[:, 0]
            meas["Q_eps"][sl, k] = q[:, 1]
            meas["grad_norm"][sl, k] = gn
        if rec is not None and (step - rec["start"]) % rec["every"] == 0:
            k = (step - rec["start"]) // rec["every"]
            loss_out[sl, k] = loss
            g_dot_nu = np.einsum("cn,cn->c", grad, nu[t], dtype=np.float64)
            rec["c_norm"][sl, k] = _c_norm(a_g, gnorm, a_nu, nu_norm[t], g_dot_nu)
            if rec["track"] is not None:
                rec["tracked"][sl, k] = w[:, rec["track"]]
        w += a_g.astype(np.float32)[:, None] * grad
        w += noise[t]


def _nonlinear_loss_grad(
    x: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray | np.float32,
    wmats: list[np.ndarray],
    gmats: list[np.ndarray],
    v: dict,
) -> np.ndarray:
    """Batch error (float64) of one step on inputs x (c, i, k) and targets y (c, o, k), each
    sample weighted by ``weight`` (c, k) = 2·count/denom (or a scalar); the float32 gradient is
    written into ``gmats``.  ``v``: the work views of :meth:`_Work.views` for (c, k)."""
    c = x.shape[0]
    nl = len(wmats)
    hid, hid_t, hid_sq, back = v["hid"], v["hid_t"], v["hid_sq"], v["back"]
    out, d, gaug = v["out"], v["d"], v["gaug"]
    # forward: layer l maps its input representation s_l (X, or [t; 1]) with k_l·A_l
    s_in = x
    for layer in range(nl):
        wl = wmats[layer]
        if layer == 0:
            a_mat = wl
        else:  # σ = (t + 1)/2  ⇒  W σ = [W/2, W·1/2] @ [t; 1]
            a_mat = np.concatenate([wl, wl.sum(axis=2, keepdims=True)], axis=2)
            a_mat *= np.float32(0.5)
        if layer < nl - 1:  # hidden: store t = tanh(a/2)
            np.matmul(a_mat * np.float32(0.5), s_in, out=hid_t[layer])
            np.tanh(hid_t[layer], out=hid_t[layer])
            s_in = hid[layer]
        else:
            np.matmul(a_mat, s_in, out=out)
    np.subtract(out, y, out=out)  # residual r
    if np.ndim(weight):
        np.multiply(out, weight[:, None, :], out=d)
    else:
        np.multiply(out, weight, out=d)
    # Σ r·d = 2·loss (d = 2 c r / denom); a BLAS dot per network
    loss = 0.5 * np.matmul(out.reshape(c, 1, -1), d.reshape(c, -1, 1))[:, 0, 0].astype(np.float64)
    # backward
    dl = d
    for layer in range(nl - 1, -1, -1):
        if layer == 0:
            np.matmul(dl, np.swapaxes(x, 1, 2), out=gmats[0])
        else:
            ga = gaug[layer - 1]
            np.matmul(dl, np.swapaxes(hid[layer - 1], 1, 2), out=ga)
            np.add(ga[:, :, :-1], ga[:, :, -1:], out=gmats[layer])
            gmats[layer] *= np.float32(0.5)
            # dL/da = (W/4)ᵀ d ⊙ (1 − t²)
            bk = back[layer - 1]
            np.matmul(np.swapaxes(wmats[layer] * np.float32(0.25), 1, 2), dl, out=bk)
            tl = hid_t[layer - 1]
            sq = hid_sq[layer - 1]
            np.multiply(tl, tl, out=sq)
            np.subtract(np.float32(1.0), sq, out=sq)
            bk *= sq
            dl = bk
    return loss


def _linear_moments(moments: np.ndarray, counts: np.ndarray | None) -> np.ndarray:
    """Per network and step the weighted input second moment C = Σ_s c_s x_s x_sᵀ, (c, m, i, i) float32.

    A linear network with zero biases has residual r_s = (W − W_T) x_s, so its batch error and
    gradient need only C: ``moments`` holds the distinct entries of x_s x_sᵀ (State.moments), and
    one batched product with the block's bootstrap counts (or the plain sum for full batches)
    gives C for every step of the block.
    """
    c, k, _ = moments.shape
    i = int(round((np.sqrt(8 * k + 1) - 1) / 2))
    iu, ju = np.triu_indices(i)
    if counts is None:
        cu = moments.sum(axis=2, dtype=np.float32)[:, :, None]  # (c, k, 1)
    else:
        cu = np.matmul(moments, np.swapaxes(counts, 0, 1).transpose(0, 2, 1))  # (c, k, m)
    cu = np.swapaxes(cu, 1, 2)
    cov = np.empty(cu.shape[:2] + (i, i), np.float32)
    cov[:, :, iu, ju] = cu
    cov[:, :, ju, iu] = cu
    return cov


def _linear_loss_grad(
    w: np.ndarray, teacher: np.ndarray, cov: np.ndarray, t: int, full_weight: np.float32, grad: np.ndarray
) -> np.ndarray:
    """Batch error Σ_s c_s ‖(W − W_T) x_s‖²/denom (float64); gradient 2 (W − W_T) C/denom into ``grad``."""
    c = w.shape[0]
    i = cov.shape[-1]
    delta = (w - teacher).reshape(c, -1, i)
    g = grad.reshape(c, -1, i)
    np.matmul(delta, cov[:, min(t, cov.shape[1] - 1)], out=g)
    loss = np.einsum("cn,cn->c", delta.reshape(c, -1), grad, dtype=np.float64) * (0.5 * float(full_weight))
    g *= full_weight
    return loss


def _c_norm(a_g, gnorm, a_nu, nu_norm, g_dot_nu):  # noqa: ANN001, ANN202 (float64 arrays or floats)
    """‖a_g g + a_ν ν‖ from the norms and the dot product (float64, never negative under the root)."""
    sq = (a_g * gnorm) ** 2 + (a_nu * nu_norm) ** 2 + 2.0 * a_g * a_nu * g_dot_nu
    return np.sqrt(np.maximum(sq, 0.0))


def _measure_slice(state: State, sl: slice, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f64 = np.float64
    v = dirs.astype(f64)
    _, grad, hv = batched_hvp(
        state.arch,
        state.weights[sl].astype(f64),
        state.inputs[sl].astype(f64),
        state.targets[sl].astype(f64),
        v,
    )
    with np.errstate(invalid="ignore", divide="ignore"):  # Q of a zero direction (ratio 0) is NaN
        q = np.einsum("bkn,bkn->bk", v, hv) / np.einsum("bkn,bkn->bk", v, v)
    return q, np.sqrt(np.einsum("bn,bn->b", grad, grad))


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
        work = _Work(state.arch, chunk, p) if len(state.arch.shapes) > 1 else None
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
    protocol: Protocol
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


def predicted_ratio(Q_eps: np.ndarray, Q_c: np.ndarray) -> np.ndarray:
    """eq9a's optimal ratio ‖Δc‖/‖Δε‖ for measured Q values; NaN where the closed form does not apply."""
    from derivations import closed_forms

    q_eps, q_c = np.broadcast_arrays(np.asarray(Q_eps, float), np.asarray(Q_c, float))
    ok = np.isfinite(q_eps) & np.isfinite(q_c) & (q_c > 0) & (q_eps >= 0)
    out = np.full(q_eps.shape, np.nan)
    if ok.any():
        out[ok] = np.asarray(closed_forms.raw("steady_state_ratio")(q_eps[ok], q_c[ok]), float)
    return out


def _window_stats(seg: Segment, protocol: Protocol) -> dict[str, np.ndarray]:
    nwin = protocol.window // protocol.record_every
    out = {"steady_loss": seg.loss[:, -nwin:].mean(axis=1)}
    out["c_norm"] = (
        seg.c_norm[:, -nwin:].mean(axis=1) if seg.c_norm is not None else np.full(len(seg.loss), np.nan)
    )
    for key in ("grad_norm", "Q_c", "Q_eps"):
        arr = getattr(seg, key)
        out[key] = arr.mean(axis=1) if arr.shape[1] else np.full(len(seg.loss), np.nan)
    return out


def _resolve_arch(arch: Architecture | str) -> Architecture:
    return networks.architecture(arch) if isinstance(arch, str) else arch


def simulate(
    arch: Architecture | str,
    runs: Runs,
    protocol: Protocol,
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
    arch = _resolve_arch(arch)
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


def _finish(state: State, seg: Segment, protocol: Protocol, workers: int, chunk: int) -> SimResult:
    from numerics.steady import settled_test

    b = len(state.runs)
    nset = protocol.settle_steps // protocol.record_every
    stats = _window_stats(seg, protocol)
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
        st = _window_stats(s2, protocol)
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


# ----------------------------------------------------------------------------- the reference path


def simulate_reference(
    arch: Architecture | str, runs: Runs, protocol: Protocol, seed: int, *, track: np.ndarray | None = None
) -> SimResult:
    """The straightforward path: a Python loop over networks and steps, plain 2-D numpy maths.

    Consumes the same random draws as :func:`simulate` (same seed → same trajectories to float32
    rounding); it is the baseline of the benchmark's batching speed-up.  No run extension.
    """
    arch = _resolve_arch(arch)
    state = init_state(arch, runs, protocol, seed)
    with blas_single_threaded():  # as the batched path: a fair baseline for the speed-up
        return _reference_loop(arch, state, runs, protocol, track)


def _reference_loop(
    arch: Architecture, state: State, runs: Runs, protocol: Protocol, track: np.ndarray | None
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
                c_norm[j, t // every] = _c_norm(
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
