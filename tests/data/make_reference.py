"""Write tests/data/reference_sweep.npz: a small sweep computed by the straightforward path.

The regression test "results are unchanged by the optimisations" compares the
batched engine against this file.  It is produced by :func:`plasticity.numerics.dynamics.simulate_reference`
(a per-network loop with plain 2-D numpy maths) on a few networks of each architecture, for
:data:`STEPS` steps, in the paper's bootstrap protocol and in full-batch mode.

Each case names its protocol version: the original per-run input sets (the first three
cases, unchanged since they were first written) and ``SweepProtocol(inputs="shared")``, one
input set for all runs (the ``*_shared`` cases).  A new protocol version adds cases; it never
rewrites an old one: the script keeps every case already in the file as stored and computes
only the missing ones.  The old protocol stays reproducible (``tests/test_bench.py`` checks
every case against the engine and the straightforward path to float32 rounding).

Add cases only when the *protocol* deliberately changes (the order of random draws, the
initialisation, the input sets), never to make a failing optimisation pass:

    python tests/data/make_reference.py [OUT]
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np

#: steps of the reference sweep: long enough for float32 rounding differences to accumulate
STEPS = 60
SEED = 20210
#: the reference cases: name -> (network, noise_to_signal values, bootstrap batches?, input protocol)
CASES: dict[str, tuple[str, tuple[float, ...], bool, str]] = {
    "nonlinear_bootstrap": ("nonlinear", (0.1, 20.0), True, "per_run"),
    "linear_bootstrap": ("linear", (0.1, 5.0), True, "per_run"),
    "nonlinear_fullbatch": ("nonlinear", (0.1,), False, "per_run"),
    "nonlinear_bootstrap_shared": ("nonlinear", (0.1, 20.0), True, "shared"),
    "linear_bootstrap_shared": ("linear", (0.1, 5.0), True, "shared"),
    "nonlinear_fullbatch_shared": ("nonlinear", (0.1,), False, "shared"),
    "linear_fullbatch_shared": ("linear", (5.0,), False, "shared"),
}
RATIOS = (0.4, 1.0, 2.5)
FLUCT_PER_SQRTN = 0.02
#: per-run arrays stored from each :class:`plasticity.numerics.dynamics.SimResult`
FIELDS = ("loss", "steady_loss", "grad_norm", "Q_c", "Q_eps", "weights")

DEFAULT_OUT = Path(__file__).resolve().parent / "reference_sweep.npz"


def reference_protocol(bootstrap: bool, inputs: str = "per_run") -> Any:
    """The short protocol of the reference sweep (window 10, settledness windows 20, 2 Q measurements)."""
    from plasticity.numerics.dynamics import SweepProtocol

    return SweepProtocol(
        steps=STEPS,
        window=10,
        record_every=1,
        measure_every=5,
        settle_window=20,
        bootstrap=bootstrap,
        extend_max=0,
        inputs=inputs,
    )


def reference_runs(network: str, noise_to_signal: tuple[float, ...]) -> Any:
    """Every (noise_to_signal, ratio) pair at ‖Δε‖ = 0.02·√N, one repetition each."""
    from plasticity.numerics.dynamics import Runs
    from plasticity.numerics.networks import architecture

    n = architecture(network).n_weights
    grid = [(nts, r) for nts in noise_to_signal for r in RATIOS]
    return Runs(
        eps_norm=np.full(len(grid), FLUCT_PER_SQRTN * np.sqrt(n)),
        ratio=np.array([r for _, r in grid]),
        noise_to_signal=np.array([nts for nts, _ in grid]),
        run_id=np.arange(len(grid)),
    )


def case_inputs(name: str) -> tuple[str, Any, Any]:
    """(network, runs, protocol) of reference case ``name``."""
    network, nts, bootstrap, inputs = CASES[name]
    return network, reference_runs(network, nts), reference_protocol(bootstrap, inputs)


def compute(simulator: Any, name: str) -> dict[str, np.ndarray]:
    """The stored fields of case ``name`` computed by ``simulator`` (simulate or simulate_reference)."""
    network, runs, protocol = case_inputs(name)
    res = simulator(network, runs, protocol, SEED)
    return {f: np.asarray(getattr(res, f)) for f in FIELDS}


def make_reference(out: Path = DEFAULT_OUT) -> Path:
    """Compute the cases ``out`` lacks with the straightforward path; keep the stored ones as they are."""
    from plasticity.numerics.dynamics import init_state, simulate_reference

    arrays: dict[str, np.ndarray] = {"seed": np.array(SEED), "steps": np.array(STEPS)}
    out = Path(out)
    if out.exists():
        with np.load(out) as z:
            if int(z["seed"]) != SEED or int(z["steps"]) != STEPS:
                raise SystemExit(f"{out} was written with another seed or step count; move it away first")
            arrays.update({k: z[k] for k in z.files})
    for name in CASES:
        if f"{name}/weights" in arrays:
            continue
        network, runs, protocol = case_inputs(name)
        for field, value in compute(simulate_reference, name).items():
            arrays[f"{name}/{field}"] = value
        for field in ("eps_norm", "ratio", "noise_to_signal", "run_id"):
            arrays[f"{name}/runs_{field}"] = getattr(runs, field)
        d = dataclasses.asdict(protocol)
        if d["inputs"] == "per_run":  # the original cases' stored text predates the field
            del d["inputs"]
        arrays[f"{name}/protocol"] = np.array(repr(d))
        # scale of the network outputs, for the loss tolerance (rounding of out - y)
        targets = init_state(network, runs, protocol, SEED).targets
        arrays[f"{name}/output_scale"] = np.array(float(np.abs(targets).max()))
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    return out


if __name__ == "__main__":  # pragma: no cover - a maintenance script
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    print(f"wrote {make_reference(target)}")
