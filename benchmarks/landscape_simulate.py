"""`plasticity landscape --simulate` on the N = 31 logistic regression, batched against row by row.

The landscape is ``examples/breast_cancer_logistic.py:loss`` (scikit-learn's breast-cancer
data, exact derivatives per point and over batches), loaded as the command loads it.  Two
figures, measured in the same run:

- the whole simulation part of the command
  (:func:`plasticity.checks.landscape.simulate.simulate_best_ratios`: every ratio and
  repetition one row of a call to the module's batched functions) for ``steps`` steps of
  every rule, at the command's default grid and repetitions;
- the batched dynamics against the in-run reference, the same dynamics one row at a time
  through the module's per-point functions
  (:func:`plasticity.numerics.landscape_dynamics.simulate_reference`), both for
  ``compare_steps`` steps of every rule: their ratio is the speed-up.

Both start at the trained minimum w* (with it as ``--minimum``, so all five rules run) and
record the loss and Q's over the final third, as the command does.  Needs a source checkout
(the example module) and scikit-learn; otherwise the figures are None with the reason.
"""

from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "breast_cancer_logistic.py"


def _example() -> tuple[Any, Any] | str:
    """(module, UserLandscape) of the example, or why it is unavailable."""
    if not EXAMPLE.exists():
        return f"{EXAMPLE} not found (not a source checkout)"
    if importlib.util.find_spec("sklearn") is None:
        return "scikit-learn is not installed (the example's data ship with it)"
    from plasticity.checks.landscape.spec import from_module

    spec = importlib.util.spec_from_file_location("breast_cancer_logistic_bench", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    w_star = module.trained()
    return module, from_module(f"{EXAMPLE}:loss", w_star.size, w_star)


def simulate_timings(
    steps: int = 1500, compare_steps: int = 30, reps: int = 4, seed: int = 0
) -> dict[str, Any]:
    """Wall times of the batched and the row-by-row simulation on the N = 31 example (see the
    module docstring): the whole ``--simulate`` part at ``steps`` steps, and both dynamics for
    ``compare_steps`` steps of every rule with the same arguments, whose ratio is the speed-up.
    ``{"skipped": reason}`` where the example cannot be loaded."""
    from plasticity.checks.landscape.analysis import REFERENCE_NOISE_TO_SIGNAL, RULES
    from plasticity.checks.landscape.simulate import simulate_best_ratios
    from plasticity.numerics.dynamics.threads import blas_single_threaded
    from plasticity.numerics.landscape_dynamics import simulate, simulate_reference
    from plasticity.numerics.landscapes import FunctionLandscape

    loaded = _example()
    if isinstance(loaded, str):
        return {"skipped": loaded}
    module, user = loaded
    land = user.landscape
    w = land.w_star
    n = land.n
    predicted = dict.fromkeys(RULES)
    window = max(1, steps // 3)
    t0 = time.perf_counter()
    simulate_best_ratios(land, w, predicted, seed=seed, steps=steps, reps=reps, window=window, progress=False)
    full_s = time.perf_counter() - t0

    # the reference: per-point functions only (the batched ones left out), one row at a time
    per_point = FunctionLandscape(
        module.loss, n, grad=module.loss_grad, hess=module.loss_hess, hvp=module.loss_hvp, w_star=w
    )
    grid = np.round(np.arange(0.1, 2.51, 0.1), 10)
    window = max(1, compare_steps // 3)

    def run_all(fn: Any, landscape: Any) -> float:
        rng = np.random.default_rng(seed)
        t0 = time.perf_counter()
        with blas_single_threaded():  # as simulate_best_ratios runs
            for rule in RULES:
                fn(
                    landscape,
                    w,
                    rule=rule,
                    eps_norm=0.01 * math.sqrt(n),
                    ratios=grid,
                    steps=compare_steps,
                    reps=reps,
                    rng=rng,
                    window=window,
                    record_q=True,
                    record_from=compare_steps - window,
                    noise_to_signal=REFERENCE_NOISE_TO_SIGNAL if rule == "noisy_gradient" else None,
                )
        return time.perf_counter() - t0

    batched_s = run_all(simulate, land)
    reference_s = run_all(simulate_reference, per_point)
    return {
        "n": n,
        "rules": len(RULES),
        "rows": grid.size * reps,
        "steps": steps,
        "simulate_s": full_s,
        "compare_steps": compare_steps,
        "batched_s": batched_s,
        "reference_s": reference_s,
        "speedup_vs_row_by_row": reference_s / batched_s,
        "reference_extrapolated_s": reference_s * steps / compare_steps,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(simulate_timings(), indent=2))
