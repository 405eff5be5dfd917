"""The project's sweep against the vectorised numpy reference, through the same process pool.

Both sides run a whole Figure 5 (or 5-S1) sweep at a short step count, each in a fresh
``ProcessPoolExecutor`` of ``workers`` processes (the pool ``plasticity figure --full`` uses),
timed alternately so that load from other jobs hits both alike:

- the project: :func:`plasticity.numerics.sweep.run_sweep` with the experiment's chunks, the
  protocol shortened by :func:`~plasticity.benchmarks.sweeps.short_protocol` (same number of
  float64 Q/‖∇F‖ measurements per run as the full protocol);
- the reference: :func:`plasticity.benchmarks.vectorised.run_sweep`, the runs split into one
  contiguous chunk per process.

Each side's wall time T(k) at k steps is taken at k = steps/2 and k = steps (minimum over
repeats), and modelled as ``T(k) = fixed + k · per_step``; the full sweep is extrapolated as
``fixed + full_steps · per_step``.  The project's fixed cost is split further: its Q window
(the same sweep with measurements off), one process pool's start-up, and the remainder
(set-up of teachers, inputs and streams, pickling, assembly).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from plasticity.benchmarks import vectorised
from plasticity.benchmarks.flops import flops_per_network_step
from plasticity.benchmarks.sweeps import MIN_STEPS, short_protocol


def _noop() -> int:
    return 0


def pool_start_s(workers: int) -> float:
    """Wall time to start a pool of ``workers`` processes, run a no-op in each, and shut it down."""
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        for f in [pool.submit(_noop) for _ in range(workers)]:
            f.result()
    return time.perf_counter() - t0


def _timed_in_pool(workers: int, fn: Callable[[ProcessPoolExecutor], object]) -> float:
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        fn(pool)
    return time.perf_counter() - t0


def project_sweep(
    exp: Any, steps: int, seed: int, measure: bool = True
) -> Callable[[ProcessPoolExecutor], Any]:
    """A callable running ``exp`` at ``steps`` steps through :func:`run_sweep` on a given pool."""
    from plasticity.numerics.sweep import run_sweep

    short = dataclasses.replace(exp, protocol=short_protocol(exp.protocol, steps, measure=measure))
    return lambda pool: run_sweep(short, seed, executor=pool, progress=False)


def reference_sweep(exp: Any, steps: int, seed: int, parts: int) -> Callable[[ProcessPoolExecutor], Any]:
    """A callable running the vectorised reference of ``exp`` at ``steps`` steps on a given pool."""
    proto = short_protocol(exp.protocol, steps, measure=False)
    cfg = vectorised.ReferenceConfig(
        network=exp.network,
        steps=steps,
        n_inputs=proto.n_inputs,
        batch_size=proto.batch_size,
        window=proto.window,
        init_scale=proto.init_scale,
    )
    runs = exp.runs()
    return lambda pool: vectorised.run_sweep(
        cfg, runs.eps_norm, runs.ratio, runs.noise_to_signal, seed, executor=pool, parts=parts
    )


def _line(short_s: float, long_s: float, short_steps: int, long_steps: int) -> tuple[float, float]:
    """(per_step, fixed) of the line through two timings; fixed is clipped at 0."""
    per = (long_s - short_s) / (long_steps - short_steps)
    if per <= 0:  # noise swamped the difference: charge everything to the steps
        return long_s / long_steps, 0.0
    return per, max(0.0, short_s - short_steps * per)


def compare(
    exp: Any,
    *,
    steps: int = 200,
    full_steps: int | None = None,
    seed: int = 0,
    workers: int = 2,
    repeats: int = 2,
    gemm_gflops_f32: float | None = None,
) -> dict[str, Any]:
    """Time the project's sweep of ``exp`` and the vectorised reference alternately; model and compare.

    Returns the per-step and fixed costs of both, their extrapolations to ``full_steps``
    (default: the experiment's own steps), the ratios project/reference (per step, at
    ``steps`` measured, full sweep extrapolated), the project's Q-window and pool start-up
    costs, and its matrix-product rate as a fraction of ``gemm_gflops_f32``.
    """
    if steps < MIN_STEPS:
        raise ValueError(f"steps must be at least {MIN_STEPS}, got {steps}")
    if workers < 1 or repeats < 1:
        raise ValueError(f"workers and repeats must be >= 1, got {workers}, {repeats}")
    from plasticity.numerics.networks import architecture

    full_steps = int(full_steps or exp.protocol.steps)
    half = steps // 2
    # the project's per-step cost comes from runs without the Q window (a fixed number of float64
    # measurements per run), whose cost is timed on its own at ``steps``
    sides = {
        "project": {k: project_sweep(exp, k, seed, measure=False) for k in (half, steps)},
        "reference": {k: reference_sweep(exp, k, seed, workers) for k in (half, steps)},
    }
    with_measure = project_sweep(exp, steps, seed, measure=True)
    best: dict[tuple[str, int], float] = {}
    best_measured = float("inf")
    start_s = float("inf")
    order: list[str] = []
    for _ in range(repeats):  # alternate: project, reference, project, reference, ...
        start_s = min(start_s, pool_start_s(workers))
        for k in (half, steps):
            for side, fns in sides.items():
                t = _timed_in_pool(workers, fns[k])
                best[side, k] = min(best.get((side, k), float("inf")), t)
                order.append(f"{side}@{k}")
        best_measured = min(best_measured, _timed_in_pool(workers, with_measure))
        order.append(f"project@{steps}+Q")
    out: dict[str, Any] = {
        "experiment": exp.name,
        "network": exp.network,
        "runs": len(exp.runs()),
        "workers": workers,
        "steps_timed": [half, steps],
        "repeats": repeats,
        "timing_order": order,
        "full_steps": full_steps,
        "pool_start_s": start_s,
        "model": "T(k) = fixed + k * per_step through the minima at k = steps/2 and steps (the project "
        "without its Q window); full sweep = fixed + Q window + full_steps * per_step, extrapolated",
    }
    for side in sides:
        per, fixed = _line(best[side, half], best[side, steps], half, steps)
        out[side] = {
            "seconds_timed": [best[side, half], best[side, steps]],
            "s_per_step": per,
            "fixed_s": fixed,
            "measure_s": 0.0,
        }
    proj = out["project"]
    proj["seconds_with_measure"] = best_measured
    proj["measure_s"] = max(0.0, best_measured - best["project", steps])
    proj["setup_other_s"] = max(0.0, proj["fixed_s"] - start_s)
    for side in sides:
        d = out[side]
        d["full_sweep_s"] = d["fixed_s"] + d["measure_s"] + full_steps * d["s_per_step"]
    ref = out["reference"]
    out["ratio_per_step"] = proj["s_per_step"] / ref["s_per_step"]
    out["ratio_at_steps"] = best_measured / best["reference", steps]
    out["ratio_full_sweep"] = proj["full_sweep_s"] / ref["full_sweep_s"]
    flop = flops_per_network_step(architecture(exp.network), exp.protocol.batch_size) * out["runs"]
    for side in ("project", "reference"):
        gflops = flop / out[side]["s_per_step"] / 1e9
        out[side]["gflops"] = gflops
        out[side]["pct_gemm_peak"] = 100.0 * gflops / gemm_gflops_f32 if gemm_gflops_f32 else None
    return out


def end_to_end(exp: Any, seed: int = 0, workers: int = 2) -> dict[str, float]:
    """Measured wall times of the full sweep of ``exp``, the project's then the reference's.

    Each runs at the experiment's own step count in a fresh pool of ``workers`` processes.
    Takes minutes (the paper's 8000 steps); the figure's plotting is not included.
    """
    steps = exp.protocol.steps
    proj = _timed_in_pool(workers, project_sweep(exp, steps, seed))
    ref = _timed_in_pool(workers, reference_sweep(exp, steps, seed, workers))
    return {"project_s": proj, "reference_s": ref, "ratio": proj / ref, "steps": steps}


def smaller(exp: Any, reps: int = 1, ratios: int = 3) -> Any:
    """``exp`` with fewer repetitions and ratios (tests and smoke runs only)."""
    if reps < 1 or ratios < 1:
        raise ValueError(f"reps and ratios must be >= 1, got {reps}, {ratios}")
    return dataclasses.replace(exp, reps=reps, ratios=tuple(np.asarray(exp.ratios)[:ratios].tolist()))
