"""Timing of the paper's sweeps: the batched engine against the per-network reference loop.

Both are public functions in :mod:`plasticity.numerics.dynamics`: :func:`~numerics.dynamics.simulate`
(every network stacked, one batched product per layer per step) and
:func:`~numerics.dynamics.simulate_reference` (a Python loop over networks with the same
numpy maths and the same random draws).

A full sweep costs ``set-up + steps × per-step + steady-state measurements`` (the float64
Q and gradient-norm measurements are a fixed number per run, independent of the steps).
Each path is therefore timed three times on the same networks: ``steps/2`` and ``steps``
steps with the measurements switched off (the difference gives the per-step cost, the rest
the set-up) and ``steps`` steps with the protocol's measurements on (the excess is their
cost).  The full sweep is extrapolated from these three parts to the paper's 8000 steps.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from plasticity.benchmarks.flops import flops_per_network_step
from plasticity.benchmarks.timing import step_cost, wall_time
from plasticity.numerics.networks import Architecture

#: shortest sweep timed: its half must hold two settledness windows of 10 batch means each
MIN_STEPS = 40
#: networks the per-network reference loop runs by default; its cost is linear in networks
BASELINE_NETWORKS = 96


def short_protocol(base: Any, steps: int, measure: bool = True) -> Any:
    """``base`` shortened to ``steps`` steps, keeping its number of steady-state measurements.

    The window shrinks to at most ``steps // 2`` (the settledness test compares two windows)
    and the measurement period shrinks with it, so a short run makes as many float64 Q
    measurements per network as the full protocol (when the window allows); ``measure=False``
    switches them off.  Run extension is off: it is not part of the fixed-step cost.
    """
    if steps < 2:
        raise ValueError(f"a timed sweep needs at least 2 steps, got {steps}")
    window = max(1, min(base.window, steps // 2))
    n_meas = base.window // base.measure_every if base.measure_every else 0
    measure_every = max(1, window // n_meas) if (n_meas and measure) else 0
    return dataclasses.replace(
        base,
        steps=steps,
        window=window,
        settle_window=window,
        measure_every=measure_every,
        record_every=1,
        extend_max=0,
    )


def _three_part_cost(run: Any, steps: int, full_steps: int, repeats: int = 1) -> dict[str, Any]:
    """Per-step cost, set-up and measurement cost of ``run(k, measure)``, and the full-sweep estimate.

    Each timing is the minimum of ``repeats`` runs (noise on a shared machine only adds time).
    """
    cost = step_cost(lambda k: run(k, False), long_steps=steps, short_steps=steps // 2, repeats=repeats)
    with_measure_s = min(wall_time(lambda: run(steps, True)) for _ in range(repeats))
    measure_s = max(0.0, with_measure_s - cost.long_s)
    return {
        "steps_timed": [cost.short_steps, cost.long_steps, steps],
        "seconds_timed": [cost.short_s, cost.long_s, with_measure_s],
        "method": cost.method,
        "s_per_step": cost.per_step_s,
        "setup_s": cost.overhead_s,
        "measure_s": measure_s,
        "measured_s_at_steps": with_measure_s,
        "full_sweep_s": cost.extrapolate(full_steps) + measure_s,
    }


def _batched_parts(
    arch: Architecture,
    runs: Any,
    protocol: Any,
    steps: int,
    full_steps: int,
    seed: int,
    kwargs: dict[str, Any],
    repeats: int,
) -> dict[str, Any]:
    """The batched engine's set-up, per-step and measurement costs, timed through its parts.

    The set-up (:func:`~numerics.dynamics.init_state`: teachers, inputs, streams, any
    precomputed moments) varies from run to run by far more than a few steps cost (it
    allocates large arrays), so it is timed on its own; the steps are timed by
    :func:`~numerics.dynamics.advance` on one state that keeps going (its per-step cost is
    stationary), at ``steps/2`` and ``steps`` steps, and again at ``steps`` with the
    protocol's number of float64 Q measurements.  One whole ``simulate`` call at ``steps``
    steps is timed as well, for the like-for-like comparison with the reference loop.
    """
    from plasticity.numerics.dynamics import advance, init_state, simulate

    proto = short_protocol(protocol, steps)
    n_meas = len(proto.measure_steps(steps))
    setup_s = min(wall_time(lambda: init_state(arch, runs, proto, seed)) for _ in range(repeats))
    state = init_state(arch, runs, proto, seed)
    advance(state, 2, **kwargs)  # warm the work arrays
    cost = step_cost(
        lambda k: advance(state, k, **kwargs), long_steps=steps, short_steps=steps // 2, repeats=repeats
    )
    every = max(1, steps // max(1, n_meas))

    def measured() -> None:
        at = state.step + np.arange(n_meas) * every
        advance(state, steps, measure_steps=at, **kwargs)

    with_measure_s = min(wall_time(measured) for _ in range(repeats))
    measure_s = max(0.0, with_measure_s - cost.long_s)
    total_s = wall_time(lambda: simulate(arch, runs, proto, seed, **kwargs))
    return {
        "steps_timed": [cost.short_steps, cost.long_steps, steps],
        "seconds_timed": [cost.short_s, cost.long_s, with_measure_s],
        "method": f"init_state + advance, {cost.method}",
        "s_per_step": cost.per_step_s,
        "setup_s": setup_s + cost.overhead_s,
        "measure_s": measure_s,
        "measured_s_at_steps": total_s,
        "full_sweep_s": setup_s + cost.extrapolate(full_steps) + measure_s,
    }


def sweep_timings(
    arch: Architecture,
    runs: Any,
    protocol: Any,
    *,
    steps: int,
    full_steps: int = 8000,
    seed: int = 0,
    baseline: bool = True,
    baseline_networks: int | None = BASELINE_NETWORKS,
    gemm_gflops_f32: float | None = None,
    workers: int | None = None,
    repeats: int = 2,
) -> dict[str, Any]:
    """Per-step cost, extrapolated full sweep, throughput and the measured speed-up over the loop.

    ``runs``/``protocol``: a :class:`plasticity.numerics.dynamics.Runs` and ``SweepProtocol`` (the paper's
    sweep).  The reference loop runs ``baseline_networks`` of the networks (None = all) and
    its times are scaled linearly to all of them.  ``baseline_speedup`` compares the two
    extrapolated full sweeps (same steps, same measurements); ``baseline_speedup_at_steps``
    the measured totals at ``steps`` steps, where set-up weighs far more.  The batched runs
    are timed ``repeats`` times each (minimum kept); the slow reference loop once.
    """
    from plasticity.numerics.dynamics import simulate, simulate_reference

    if steps < MIN_STEPS:
        raise ValueError(
            f"steps must be at least {MIN_STEPS} (the shorter timed run, steps/2, must hold the "
            f"settledness test's two windows of batch means), got {steps}"
        )
    b = len(runs)
    kwargs = {} if workers is None else {"workers": workers}

    # untimed warm-up on two networks: first-call imports and caches are not per-sweep costs
    warm = runs.take(np.arange(min(2, b)))
    simulate(arch, warm, short_protocol(protocol, steps // 2), seed, **kwargs)
    parts = _batched_parts(arch, runs, protocol, steps, full_steps, seed, kwargs, repeats)
    flop = flops_per_network_step(arch, protocol.batch_size)
    gflops = flop * b / parts["s_per_step"] / 1e9
    out: dict[str, Any] = {
        "network": arch.name,
        "networks": b,
        **parts,
        "full_steps": full_steps,
        "network_steps_per_s": b / parts["s_per_step"],
        "flop_per_network_step": flop,
        "gflops": gflops,
        "pct_gemm_peak": 100.0 * gflops / gemm_gflops_f32 if gemm_gflops_f32 else None,
        "measurements_per_run": len(short_protocol(protocol, steps).measure_steps(steps)),
    }
    if baseline:
        k = b if baseline_networks is None else max(1, min(int(baseline_networks), b))
        sub = runs.take(np.arange(k))
        scale = b / k

        def reference(steps_: int, measure: bool) -> Any:
            return simulate_reference(arch, sub, short_protocol(protocol, steps_, measure), seed)

        simulate_reference(arch, warm, short_protocol(protocol, steps // 2), seed)
        ref = _three_part_cost(reference, steps, full_steps)
        out["baseline"] = {"networks": k, "scaled_to": b, **ref}
        out["baseline_s_per_step"] = ref["s_per_step"] * scale
        out["baseline_full_sweep_s"] = ref["full_sweep_s"] * scale
        out["baseline_speedup"] = out["baseline_full_sweep_s"] / parts["full_sweep_s"]
        out["baseline_speedup_per_step"] = out["baseline_s_per_step"] / parts["s_per_step"]
        out["baseline_speedup_at_steps"] = ref["measured_s_at_steps"] * scale / parts["measured_s_at_steps"]
    return out
