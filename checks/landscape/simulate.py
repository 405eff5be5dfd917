"""The fluctuation/compensation dynamics on a user's landscape: simulated best ratios per rule.

:func:`simulate_best_ratios` runs every rule over a grid of ratios ‖Δc‖/‖Δε‖ from the point
and reports the ratios that minimise the steady-state gradient norm and loss beside the
predicted ones (eq9a), so that a prediction can be compared with what the dynamics do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from plasticity.checks.landscape.analysis import REFERENCE_NOISE_TO_SIGNAL, RULES
from plasticity.numerics.landscapes import Landscape, check_point
from plasticity.numerics.ratios import fixed_point

__all__ = ["simulate_best_ratios"]


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else x


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
) -> dict[str, object]:
    """Simulate fluctuation/compensation dynamics per rule over a ratio grid, starting at w.

    For each rule: the ratio minimising the steady-state gradient norm (what eq6/eq9a
    optimise) and the one minimising the steady-state loss, each with its standard error,
    the self-consistent eq9a ratio from the Q's measured at steady state, and the predicted
    ratio at the point (``predicted[rule]``, for "newton" the ratio of −(∇²F)⁻¹∇F, the step
    the simulated rule takes).  The beeline rule runs only on a landscape with a known
    minimum w*.  ``eps_norm`` defaults to 0.01·√N (the paper's smallest f).
    """
    from plasticity.numerics.landscape_dynamics import simulate

    n = landscape.n
    w = check_point(w, n, "--at")
    eps_norm = 0.01 * math.sqrt(n) if eps_norm is None else float(eps_norm)
    grid = np.round(np.arange(0.1, 2.51, 0.1), 10) if ratios is None else np.asarray(ratios, dtype=np.float64)
    rng = np.random.default_rng(seed)
    out: dict[str, object] = {
        "eps_norm": eps_norm,
        "ratios": grid.tolist(),
        "steps": steps,
        "reps": reps,
        "window": window,
        "seed": seed,
        "noise_to_signal": noise_to_signal,
        "rules": {},
    }
    for rule in RULES:
        if rule == "beeline" and landscape.w_star is None:
            continue
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
                **kwargs,
            )
        except ValueError as exc:
            out["rules"][rule] = {"error": str(exc), "predicted_ratio": predicted.get(rule)}
            continue
        loss, loss_se = run.steady_loss
        gnorm, gnorm_se = run.steady_grad_norm
        i_loss, i_grad = int(np.nanargmin(loss)), int(np.nanargmin(gnorm))
        out["rules"][rule] = {
            "predicted_ratio": predicted.get(rule),
            "self_consistent_ratio": _none_if_nan(fixed_point(grid, run.predicted_ratio())),
            "grad_norm_minimiser": float(grid[i_grad]),
            "grad_norm_at_minimiser": [float(gnorm[i_grad]), float(gnorm_se[i_grad])],
            "loss_minimiser": float(grid[i_loss]),
            "loss_at_minimiser": [float(loss[i_loss]), float(loss_se[i_loss])],
            "steady_loss": loss.tolist(),
            "steady_grad_norm": gnorm.tolist(),
        }
    return out
