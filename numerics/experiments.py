"""The paper's simulations as named experiments: "fig1", "fig5", "fig5s1", each quick or full.

``full`` is the paper's protocol (Raman & O'Leary 2021, Materials and methods): ‖Δε‖ = f·√N with
f ∈ {0.01, 0.02, 0.03}; ratio ‖Δc‖/‖Δε‖ ∈ {0.1, 0.4, …, 2.5}; 8000 steps; steady-state error =
mean recorded error over steps 7900–8000; Figure 5: nonlinear network, γ₂/γ₁ ∈ {0.1, 20, 50},
6 repetitions; Figure 5—supplement 1: linear network, γ₂/γ₁ ∈ {0.1, 1, 5}, 8 repetitions;
Figure 1: nonlinear, ‖Δε‖ = 2, pure gradient (γ₂ = 0), the ratio raised in stages.
``quick`` keeps every panel and ratio but fewer steps and repetitions, so each figure takes
well under a minute on 2 cores; its figures say "quick run".

Input protocols: each run draws its own input set (``inputs="per_run"``, the default and the
stored results' protocol), or all runs of a sweep share one (``experiment(name, scale,
inputs="shared")``, statistically equivalent, tests/test_numerics_shared_inputs.py).  The
shared version measured at most a few per cent faster on 2 cores and makes a run's float32
rounding depend on which runs share its chunk, so it is not the default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from plasticity.numerics.dynamics import Runs, SweepProtocol
from plasticity.numerics.dynamics.config import INPUT_PROTOCOLS
from plasticity.numerics.networks import architecture

EXPERIMENTS = ("fig1", "fig5", "fig5s1")
SCALES = ("quick", "full")
#: the sweeps' input protocol (SweepProtocol.inputs) unless asked otherwise
SWEEP_INPUTS = "per_run"

#: the paper's swept compensation ratios ‖Δc‖/‖Δε‖: 0.1, 0.4, …, 2.5
PAPER_RATIOS = tuple(round(0.1 + 0.3 * k, 10) for k in range(9))
PAPER_FLUCT = (0.01, 0.02, 0.03)


@dataclass(frozen=True)
class SweepExperiment:
    """A grid sweep (Figures 5 and 5-S1): every (noise_to_signal, f, ratio, rep) is one run."""

    name: str
    network: str
    noise_to_signal: tuple[float, ...]
    fluct_per_sqrtN: tuple[float, ...]
    ratios: tuple[float, ...]
    reps: int
    protocol: SweepProtocol
    scale: str
    #: runs per checkpointed chunk of the sweep; the sweeps set it so that the chunks split evenly
    #: over 2, 3 or 6 worker processes (fig5: 6 chunks of 81, fig5s1: 12 of 54)
    chunk_runs: int = 54

    @property
    def n_weights(self) -> int:
        """N of the swept network."""
        return architecture(self.network).n_weights

    def table(self) -> dict[str, np.ndarray]:
        """One entry per run, in run_id order: the grid coordinates and ‖Δε‖."""
        grid = np.array(
            [
                (nts, f, r, rep)
                for nts in self.noise_to_signal
                for f in self.fluct_per_sqrtN
                for r in self.ratios
                for rep in range(self.reps)
            ],
            dtype=np.float64,
        )
        return {
            "run_id": np.arange(len(grid), dtype=np.int64),
            "noise_to_signal": grid[:, 0],
            "fluct_per_sqrtN": grid[:, 1],
            "ratio": grid[:, 2],
            "rep": grid[:, 3].astype(np.int64),
            "eps_norm": grid[:, 1] * np.sqrt(self.n_weights),
        }

    def runs(self) -> Runs:
        """All runs of the sweep as engine input."""
        t = self.table()
        return Runs(t["eps_norm"], t["ratio"], t["noise_to_signal"], t["run_id"])

    def parameters(self) -> dict:
        """Every parameter, for provenance."""
        d = asdict(self)
        d["n_runs"] = len(self.runs())
        d["n_weights"] = self.n_weights
        return d


@dataclass(frozen=True)
class StagedExperiment:
    """Figure 1: a few networks, one fluctuation size, the compensation ratio raised in stages."""

    name: str
    network: str
    eps_norm: float
    stage_ratios: tuple[float, ...]
    stage_steps: int
    reps: int
    n_tracked: int  # weights of the first network shown drifting in panel (c)
    protocol: SweepProtocol  # steps = one stage; window = the per-stage steady-state window
    scale: str
    noise_to_signal: float = 0.0  # pure gradient
    extra: dict = field(default_factory=dict)

    def parameters(self) -> dict:
        """Every parameter, for provenance."""
        return asdict(self)


def _sweep(
    name: str, network: str, nts: tuple[float, ...], reps_full: int, scale: str, inputs: str
) -> SweepExperiment:
    if scale == "full":
        proto = SweepProtocol(
            steps=8000, window=100, record_every=1, measure_every=10, settle_window=2000, inputs=inputs
        )
        chunk = 81 if network == "nonlinear" else 54  # 486 runs: 6 chunks; 648 runs: 12
        return SweepExperiment(name, network, nts, PAPER_FLUCT, PAPER_RATIOS, reps_full, proto, scale, chunk)
    proto = SweepProtocol(
        steps=2000, window=100, record_every=1, measure_every=10, settle_window=500, inputs=inputs
    )
    reps = 2 if network == "nonlinear" else 3
    return SweepExperiment(name, network, nts, PAPER_FLUCT, PAPER_RATIOS, reps, proto, scale)


def experiment(
    name: str, scale: str = "quick", inputs: str = SWEEP_INPUTS
) -> SweepExperiment | StagedExperiment:
    """The named experiment at the given scale ("quick" or "full").

    ``inputs``: the sweeps' input protocol, ``"per_run"`` (the default) or ``"shared"``;
    Figure 1's few staged networks keep per-run inputs.
    """
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; known experiments: {', '.join(EXPERIMENTS)}")
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    if inputs not in INPUT_PROTOCOLS:
        raise ValueError(f"unknown input protocol {inputs!r}; choose one of {', '.join(INPUT_PROTOCOLS)}")
    if name == "fig5":
        return _sweep("fig5", "nonlinear", (0.1, 20.0, 50.0), 6, scale, inputs)
    if name == "fig5s1":
        return _sweep("fig5s1", "linear", (0.1, 1.0, 5.0), 8, scale, inputs)
    # fig1: ratios from far below 1 to far above 1; each stage long enough to settle
    stage_ratios = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0)
    if scale == "full":
        stage, reps, every = 3000, 4, 5
    else:
        stage, reps, every = 800, 2, 2
    proto = SweepProtocol(
        steps=stage, window=stage // 10, record_every=every, measure_every=10, settle_window=stage // 4
    )
    return StagedExperiment("fig1", "nonlinear", 2.0, stage_ratios, stage, reps, 6, proto, scale)


@dataclass
class StagedResult:
    """Figure 1's runs: the error trace across stages and per-stage steady statistics."""

    experiment: StagedExperiment
    record_steps: np.ndarray  # (R,)
    loss: np.ndarray  # (reps, R)
    tracked: np.ndarray  # (R, n_tracked) weights of network 0
    tracked_index: np.ndarray  # (n_tracked,) their positions in the packed weight vector
    stage_start: np.ndarray  # (stages,) first step of each stage
    steady_loss: np.ndarray  # (reps, stages) mean error over each stage's last window
    settled: np.ndarray  # (reps, stages)
    relative_drift: np.ndarray  # (reps, stages)
    Q_c: np.ndarray  # (reps, stages) mean over the stage's last window
    Q_eps: np.ndarray
    grad_norm: np.ndarray


def run_staged(exp: StagedExperiment, seed: int, *, workers: int = 2, progress: bool = False) -> StagedResult:
    """Simulate Figure 1: the same networks carried through every stage of compensation ratio."""
    from dataclasses import replace

    from plasticity.numerics import dynamics
    from plasticity.numerics.steady import settled_test

    proto = exp.protocol
    n_st = len(exp.stage_ratios)
    runs = Runs(
        np.full(exp.reps, exp.eps_norm),
        np.full(exp.reps, exp.stage_ratios[0]),
        np.full(exp.reps, exp.noise_to_signal),
        np.arange(exp.reps),
    )
    state = dynamics.init_state(exp.network, runs, proto, seed)
    n = state.arch.n_weights
    # a handful of weights spread over both layers, chosen reproducibly from the seed
    pick = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31,)))
    track = np.sort(pick.choice(n, size=min(exp.n_tracked, n), replace=False))
    losses, tracked = [], []
    shape = (exp.reps, n_st)
    out = {k: np.full(shape, np.nan) for k in ("steady_loss", "relative_drift", "Q_c", "Q_eps", "grad_norm")}
    settled = np.zeros(shape, dtype=bool)
    nwin, nset = proto.window // proto.record_every, proto.settle_steps // proto.record_every
    for k, ratio in enumerate(exp.stage_ratios):
        if progress:
            import sys

            print(f"{exp.name}: stage {k + 1}/{n_st}, ratio {ratio:g}", file=sys.stderr, flush=True)
        state.runs = replace(state.runs, ratio=np.full(exp.reps, float(ratio)))
        end = state.step + exp.stage_steps
        seg = dynamics.advance(
            state,
            exp.stage_steps,
            record_every=proto.record_every,
            measure_steps=proto.measure_steps(end),
            track=track,
            workers=workers,
        )
        losses.append(seg.loss)
        tracked.append(seg.tracked[0])
        out["steady_loss"][:, k] = seg.loss[:, -nwin:].mean(axis=1)
        test = settled_test(seg.loss, nset, proto.settle_batches, proto.settle_alpha)
        settled[:, k], out["relative_drift"][:, k] = test.settled, test.relative_drift
        for key in ("Q_c", "Q_eps", "grad_norm"):
            arr = getattr(seg, key)
            if arr.shape[1]:
                out[key][:, k] = arr.mean(axis=1)
    loss = np.concatenate(losses, axis=1)
    return StagedResult(
        experiment=exp,
        record_steps=np.arange(loss.shape[1]) * proto.record_every,
        loss=loss,
        tracked=np.concatenate(tracked, axis=0),
        tracked_index=track,
        stage_start=np.arange(n_st) * exp.stage_steps,
        settled=settled,
        **out,
    )
