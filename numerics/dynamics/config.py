"""Configuration of a sweep: :class:`SweepProtocol` (constants shared by all runs) and :class:`Runs`
(per-network parameters and the ids keying each run's random stream)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plasticity.numerics.networks import Architecture

#: the input-set protocols: per-run inputs (the original) or one set shared by a sweep's runs
INPUT_PROTOCOLS = ("per_run", "shared")


@dataclass(frozen=True)
class SweepProtocol:
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
    #: "per_run": each run draws its own P inputs from its stream (the original protocol);
    #: "shared": one input set for every run of the sweep, from a stream of its own
    #: (:func:`plasticity.numerics.dynamics.draws.shared_input_set`), so that the first layer's
    #: products are one matrix product for many networks.  Runs' streams then skip the inputs.
    inputs: str = "per_run"

    def __post_init__(self) -> None:
        if self.inputs not in INPUT_PROTOCOLS:
            raise ValueError(
                f"SweepProtocol.inputs must be one of {', '.join(INPUT_PROTOCOLS)}, got {self.inputs!r}"
            )
        fm = self.fluct_mask
        if fm is not None and not isinstance(fm, str):
            arr = np.asarray(fm)
            if arr.ndim != 1 or arr.dtype != np.bool_:
                raise ValueError(
                    f"SweepProtocol.fluct_mask must be None, 'layerK' or a 1-D boolean array, got {fm!r:.80}"
                )
            if not arr.any():
                raise ValueError(
                    "SweepProtocol.fluct_mask selects no synapse: fluctuations need at least one"
                )
            object.__setattr__(self, "fluct_mask", tuple(bool(v) for v in arr))
        elif isinstance(fm, str) and not (fm.startswith("layer") and fm[5:].isdigit() and int(fm[5:]) >= 1):
            raise ValueError(
                f"SweepProtocol.fluct_mask must be None, 'layerK' (K >= 1) or a boolean array, got {fm!r}"
            )
        for name in ("steps", "n_inputs", "batch_size", "record_every", "window"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"SweepProtocol.{name} must be a positive integer, got {v!r}")
        if self.window > self.steps:
            raise ValueError(f"SweepProtocol.window ({self.window}) exceeds steps ({self.steps})")
        if self.window % self.record_every:
            raise ValueError(
                f"SweepProtocol.window ({self.window}) must be a multiple of "
                f"record_every ({self.record_every})"
            )
        if self.measure_every < 0:
            raise ValueError(f"SweepProtocol.measure_every must be >= 0, got {self.measure_every}")
        sw = self.settle_steps
        if sw % self.record_every or 2 * sw > self.steps or sw < self.window:
            raise ValueError(
                f"SweepProtocol.settle_window ({sw}) must be a multiple of record_every, at least window "
                f"({self.window}) and at most steps/2 ({self.steps // 2})"
            )
        if self.settle_batches < 2 or sw // self.record_every < self.settle_batches:
            raise ValueError(
                f"SweepProtocol.settle_window ({sw} steps = {sw // self.record_every} records) must hold at "
                f"least settle_batches ({self.settle_batches}) >= 2 records"
            )
        if self.extend_max < 0 or not 0 < self.settle_alpha < 1:
            raise ValueError("SweepProtocol.extend_max must be >= 0 and settle_alpha in (0, 1)")
        if not np.isfinite(self.init_scale) or self.init_scale < 0:
            raise ValueError(f"SweepProtocol.init_scale must be finite and >= 0, got {self.init_scale}")

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
                    f"SweepProtocol.fluct_mask {fm!r}: the network has {len(arch.shapes)} weight layers"
                )
            sizes = [o * i for o, i in arch.shapes]
            mask = np.zeros(n, np.float32)
            start = sum(sizes[: k - 1])
            mask[start : start + sizes[k - 1]] = 1.0
            return mask
        if len(fm) != n:
            raise ValueError(f"SweepProtocol.fluct_mask has length {len(fm)}, the network has {n} weights")
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
