"""Write tests/data/reference_sweep.npz: a small sweep computed by the straightforward path.

The regression test "results are unchanged by the optimisations" compares the
batched engine against this file.  It is produced by :func:`plasticity.numerics.dynamics.simulate_reference`
(a per-network loop with plain 2-D numpy maths) on a few networks of each architecture, for
:data:`STEPS` steps, in the paper's bootstrap protocol and in full-batch mode.

Regenerate only when the *protocol* deliberately changes (the order of random draws, the
initialisation), never to make a failing optimisation pass:

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
#: the reference cases: name -> (network, noise_to_signal values, bootstrap batches?)
CASES: dict[str, tuple[str, tuple[float, ...], bool]] = {
    "nonlinear_bootstrap": ("nonlinear", (0.1, 20.0), True),
    "linear_bootstrap": ("linear", (0.1, 5.0), True),
    "nonlinear_fullbatch": ("nonlinear", (0.1,), False),
}
RATIOS = (0.4, 1.0, 2.5)
FLUCT_PER_SQRTN = 0.02
#: per-run arrays stored from each :class:`plasticity.numerics.dynamics.SimResult`
FIELDS = ("loss", "steady_loss", "grad_norm", "Q_c", "Q_eps", "weights")

DEFAULT_OUT = Path(__file__).resolve().parent / "reference_sweep.npz"


def reference_protocol(bootstrap: bool) -> Any:
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
    network, nts, bootstrap = CASES[name]
    return network, reference_runs(network, nts), reference_protocol(bootstrap)


def compute(simulator: Any, name: str) -> dict[str, np.ndarray]:
    """The stored fields of case ``name`` computed by ``simulator`` (simulate or simulate_reference)."""
    network, runs, protocol = case_inputs(name)
    res = simulator(network, runs, protocol, SEED)
    return {f: np.asarray(getattr(res, f)) for f in FIELDS}


def make_reference(out: Path = DEFAULT_OUT) -> Path:
    """Compute every case with the straightforward path and write them to ``out`` (npz)."""
    from plasticity.numerics.dynamics import init_state, simulate_reference

    arrays: dict[str, np.ndarray] = {"seed": np.array(SEED), "steps": np.array(STEPS)}
    for name in CASES:
        network, runs, protocol = case_inputs(name)
        for field, value in compute(simulate_reference, name).items():
            arrays[f"{name}/{field}"] = value
        for field in ("eps_norm", "ratio", "noise_to_signal", "run_id"):
            arrays[f"{name}/runs_{field}"] = getattr(runs, field)
        arrays[f"{name}/protocol"] = np.array(repr(dataclasses.asdict(protocol)))
        # scale of the network outputs, for the loss tolerance (rounding of out - y)
        targets = init_state(network, runs, protocol, SEED).targets
        arrays[f"{name}/output_scale"] = np.array(float(np.abs(targets).max()))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    return out


if __name__ == "__main__":  # pragma: no cover - a maintenance script
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    print(f"wrote {make_reference(target)}")
