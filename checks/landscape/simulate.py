"""The fluctuation/compensation dynamics on a user's landscape: simulated best ratios per rule.

:func:`simulate_best_ratios` runs every rule over a grid of ratios ‖Δc‖/‖Δε‖ from the point
(all ratios and repetitions batched as rows of one array,
:func:`plasticity.numerics.landscape_dynamics.simulate`) and reports the ratios that minimise
the steady-state gradient norm and loss, each with its bootstrap standard error over
repetitions, beside the predicted ratio (eq9a), with whether the two agree within that error.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

import numpy as np

from plasticity.checks.landscape.analysis import REFERENCE_NOISE_TO_SIGNAL, RULES
from plasticity.numerics.dynamics.threads import blas_single_threaded
from plasticity.numerics.landscapes import Landscape, check_point
from plasticity.numerics.ratios import bootstrap_se, fixed_point, refined_minimiser

__all__ = ["AGREEMENT_Z", "agreement", "simulate_best_ratios"]

#: the simulated and predicted ratios agree when they differ by at most this many bootstrap
#: standard errors (two-sided ≈ 95 % for a normal sampling distribution)
AGREEMENT_Z = 2.0

#: bootstrap resamples of the repetitions for each minimiser's standard error
BOOTSTRAP_RESAMPLES = 200

#: seconds before the progress bar appears (short runs print nothing)
PROGRESS_DELAY_S = 1.0


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else x


def agreement(
    simulated: float, se: float, predicted: float | None, grid: Sequence[float]
) -> dict[str, object]:
    """Whether a simulated best ratio (± its standard error ``se``) agrees with a prediction.

    "agrees" when |simulated − predicted| ≤ :data:`AGREEMENT_Z`·se, "differs" when it is
    further, "undecided" where the comparison cannot be made: no prediction, no standard
    error (one repetition, or every resample gave the same ratio: no measured spread), or a
    best ratio at an end of the grid (the minimum may lie beyond it).  ``z`` is the
    difference in standard errors where it is defined.
    """
    if predicted is None or not math.isfinite(predicted):
        return {"verdict": "undecided", "z": None, "reason": "no prediction at this point"}
    if not math.isfinite(simulated):
        return {"verdict": "undecided", "z": None, "reason": "no finite steady state"}
    if simulated <= grid[0] or simulated >= grid[-1]:
        return {"verdict": "undecided", "z": None, "reason": "best ratio at an end of the simulated grid"}
    if not (math.isfinite(se) and se > 0):
        return {"verdict": "undecided", "z": None, "reason": "no spread across repetitions to estimate"}
    z = abs(simulated - predicted) / se
    verdict = "agrees" if z <= AGREEMENT_Z else "differs"
    return {"verdict": verdict, "z": z, "reason": f"|simulated − predicted| = {z:.2g} standard errors"}


def _progress_bar(total: int, enabled: bool):
    from tqdm import tqdm

    # disable=None: tqdm switches itself off when stderr is not a terminal
    return tqdm(
        total=total,
        desc="simulating",
        unit="step",
        file=sys.stderr,
        disable=None if enabled else True,
        delay=1.0,
    )


def simulate_best_ratios(
    landscape: Landscape,
    w: np.ndarray,
    predicted: dict[str, float | None],
    *,
    seed: int = 0,
    eps_norm: float | None = None,
    ratios: Sequence[float] | None = None,
    steps: int = 1500,
    reps: int = 4,
    window: int = 500,
    noise_to_signal: float = REFERENCE_NOISE_TO_SIGNAL,
    progress: bool = True,
) -> dict[str, object]:
    """Simulate fluctuation/compensation dynamics per rule over a ratio grid, starting at w.

    For each rule: the ratio minimising the steady-state gradient norm (what eq6/eq9a
    optimise) and the one minimising the steady-state loss, each refined between grid points
    (:func:`refined_minimiser`) with its bootstrap standard error over repetitions
    (:func:`bootstrap_se`); the self-consistent eq9a ratio from the Q's measured at steady
    state; the predicted ratio at the point (``predicted[rule]``, for "newton" the ratio of
    −(∇²F)⁻¹∇F, the step the simulated rule takes); and whether the gradient-norm minimiser
    agrees with the prediction (:func:`agreement`).  The beeline rule runs only on a
    landscape with a known minimum w*.  ``eps_norm`` defaults to 0.01·√N (the paper's
    smallest f).  Random draws come from generators spawned from ``seed`` (dynamics,
    bootstrap): the result is a function of the arguments.  ``progress`` shows a progress bar
    on stderr when it is a terminal.
    """
    from plasticity.numerics.landscape_dynamics import simulate, window_means

    n = landscape.n
    w = check_point(w, n, "--at")
    eps_norm = 0.01 * math.sqrt(n) if eps_norm is None else float(eps_norm)
    grid = np.round(np.arange(0.1, 2.51, 0.1), 10) if ratios is None else np.asarray(ratios, dtype=np.float64)
    sim_seed, boot_seed, check_seed = np.random.SeedSequence(seed).spawn(3)
    rng, boot_rng = np.random.default_rng(sim_seed), np.random.default_rng(boot_seed)
    check = getattr(landscape, "check_batched", None)
    if check is not None:  # batched callables must compute what their per-point versions do
        crng = np.random.default_rng(check_seed)
        W = w + eps_norm * crng.standard_normal((3, n)) / math.sqrt(n)
        check(W, crng.standard_normal((3, n)))
    out: dict[str, object] = {
        "eps_norm": eps_norm,
        "ratios": grid.tolist(),
        "steps": steps,
        "reps": reps,
        "window": window,
        "seed": seed,
        "noise_to_signal": noise_to_signal,
        "agreement_z": AGREEMENT_Z,
        "rules": {},
    }
    rules = [r for r in RULES if r != "beeline" or landscape.w_star is not None]
    # one BLAS thread: the batched products are small (rows × N), so threads mostly contend,
    # and the results then do not depend on the machine's thread count
    with _progress_bar(steps * len(rules), progress) as bar, blas_single_threaded():
        for rule in rules:
            bar.set_postfix_str(rule)
            done_before = bar.n
            kwargs = {"noise_to_signal": noise_to_signal} if rule == "noisy_gradient" else {}
            try:
                run = simulate(
                    landscape,
                    w,
                    rule=rule,
                    eps_norm=eps_norm,
                    ratios=grid,
                    steps=steps,
                    reps=reps,
                    rng=rng,
                    window=window,
                    record_q=True,
                    record_from=steps - window,  # only the steady-state window is summarised
                    progress=bar.update,
                    **kwargs,
                )
            except ValueError as exc:
                out["rules"][rule] = {"error": str(exc), "predicted_ratio": predicted.get(rule)}
                bar.update(steps - (bar.n - done_before))  # the steps this rule will not take
                continue
            loss, loss_se = run.steady_loss
            gnorm, gnorm_se = run.steady_grad_norm
            loss_runs, gnorm_runs = window_means(run.loss, window), window_means(run.grad_norm, window)
            i_loss, i_grad = int(np.nanargmin(loss)), int(np.nanargmin(gnorm))
            best = refined_minimiser(grid, gnorm)
            best_se = bootstrap_se(refined_minimiser, grid, gnorm_runs, boot_rng, BOOTSTRAP_RESAMPLES)
            out["rules"][rule] = {
                "predicted_ratio": predicted.get(rule),
                "self_consistent_ratio": _none_if_nan(fixed_point(grid, run.predicted_ratio())),
                "grad_norm_minimiser": best,
                "grad_norm_minimiser_se": _none_if_nan(best_se),
                "grad_norm_at_minimiser": [float(gnorm[i_grad]), float(gnorm_se[i_grad])],
                "loss_minimiser": refined_minimiser(grid, loss),
                "loss_minimiser_se": _none_if_nan(
                    bootstrap_se(refined_minimiser, grid, loss_runs, boot_rng, BOOTSTRAP_RESAMPLES)
                ),
                "loss_at_minimiser": [float(loss[i_loss]), float(loss_se[i_loss])],
                "agreement": agreement(best, best_se, predicted.get(rule), grid.tolist()),
                "steady_loss": loss.tolist(),
                "steady_grad_norm": gnorm.tolist(),
            }
    return out
