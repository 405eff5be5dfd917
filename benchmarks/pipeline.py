"""Where a sweep's time goes: the whole pipeline of one chunk, by the functions that do each stage.

A chunk-sized piece of the experiment (its first γ₂/γ₁ and as many f rows as fit in
``chunk_runs``, at least one: the runs a worker process gets at once) is run in this process as
one chunk under :mod:`cProfile`, checkpoint writing included, and the time is read off the
functions that implement each stage (cumulative time, so a stage includes everything it
calls), not guessed from source text:

=========================  =====================================================================
stage                      functions
=========================  =====================================================================
set-up                     ``init_state`` (teachers, starts, inputs, targets, streams, moments)
random numbers             ``_Draws.refill`` (ν, ξ, bootstrap indices and their counts)
step kernel                ``nonlinear_loss_grad`` / ``linear_loss_grad`` + ``linear_moments``
Q window (float64)         ``measure_q``
settledness & summaries    ``settled_test``, ``window_stats``
checkpoint write           ``_save_chunk``
update & bookkeeping       the rest of ``advance`` (norms, update, draw stacking, loop)
=========================  =====================================================================

Per-step stages are extrapolated to the full step count (× full_steps / steps), fixed ones
not.  Process start-up (a pool's start and a fresh worker's first chunk against a warm one)
is timed separately, outside the profiler.
"""

from __future__ import annotations

import cProfile
import dataclasses
import pstats
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from plasticity.benchmarks.sweeps import short_protocol

#: stage -> (function names whose cumulative time it is, scales with the steps?)
STAGES: dict[str, tuple[tuple[str, ...], bool]] = {
    "set-up (teachers, inputs, streams)": (("init_state",), False),
    "random numbers (ν, ξ, bootstrap counts)": (("refill",), True),
    "step kernel (forward, backward)": (("nonlinear_loss_grad", "linear_loss_grad", "linear_moments"), True),
    "Q window (float64 Q, ‖∇F‖)": (("measure_q",), False),
    "settledness & summaries": (("settled_test", "window_stats"), False),
    "checkpoint write": (("_save_chunk",), False),
}
REST = "update & bookkeeping"

_MODULES = ("plasticity/numerics", "numerics/")


def _cumulative(stats: pstats.Stats, name: str) -> float:
    """Cumulative seconds of the project's functions called ``name`` (outermost calls only)."""
    total = 0.0
    for (path, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if func == name and any(m in path.replace("\\", "/") for m in _MODULES):
            total += ct
    return total


def profile_chunk(exp: Any, steps: int, full_steps: int | None = None, seed: int = 0) -> dict[str, Any]:
    """Stage times of one chunk of ``exp`` at ``steps`` steps and their extrapolation to ``full_steps``."""
    from plasticity.numerics.sweep import run_sweep

    full_steps = int(full_steps or exp.protocol.steps)
    short = dataclasses.replace(exp, protocol=short_protocol(exp.protocol, steps))
    first = _first_chunk(short)
    first = dataclasses.replace(first, chunk_runs=len(first.runs()))  # one chunk
    warm = dataclasses.replace(first, protocol=short_protocol(exp.protocol, 40))
    run_sweep(warm, seed, workers=1, progress=False)  # first-call imports are not a chunk's cost
    prof = cProfile.Profile()
    with tempfile.TemporaryDirectory(prefix="plasticity-profile-") as tmp:
        t0 = time.perf_counter()
        prof.enable()
        run_sweep(first, seed, checkpoint_dir=tmp, workers=1, progress=False)
        prof.disable()
        wall = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    advance_s = _cumulative(stats, "advance")
    rows = {}
    for stage, (names, per_step) in STAGES.items():
        rows[stage] = {"seconds": sum(_cumulative(stats, n) for n in names), "per_step": per_step}
    inside = sum(rows[s]["seconds"] for s in list(STAGES)[1:4])  # the stages advance calls
    rows[REST] = {"seconds": max(0.0, advance_s - inside), "per_step": True}
    accounted = sum(r["seconds"] for r in rows.values())
    rows["other (assembly, imports, profiler)"] = {"seconds": max(0.0, wall - accounted), "per_step": False}
    scale = full_steps / steps
    for r in rows.values():
        r["full_seconds"] = r["seconds"] * (scale if r["per_step"] else 1.0)
    full_total = sum(r["full_seconds"] for r in rows.values())
    for r in rows.values():
        r["full_share"] = r["full_seconds"] / full_total if full_total > 0 else 0.0
    return {
        "experiment": exp.name,
        "chunk_runs": len(first.runs()),
        "steps": steps,
        "full_steps": full_steps,
        "wall_s": wall,
        "stages": rows,
    }


def _first_chunk(exp: Any) -> Any:
    """``exp`` cut to its first chunk of runs (repetitions, then ratios, dropped from the end)."""
    # the grid is γ₂/γ₁ × f × ratio × rep, reps innermost: keep the first γ₂/γ₁ and as many f
    # rows (each all ratios and reps) as fill a chunk, at least one
    keep_f = max(1, exp.chunk_runs // (len(exp.ratios) * exp.reps))
    return dataclasses.replace(
        exp, noise_to_signal=exp.noise_to_signal[:1], fluct_per_sqrtN=exp.fluct_per_sqrtN[:keep_f]
    )


def _chunk_in_pool(exp: Any, seed: int) -> float:
    from plasticity.numerics.sweep import compute_chunk

    t0 = time.perf_counter()
    compute_chunk(exp.network, exp.runs(), exp.protocol, seed, 1)
    return time.perf_counter() - t0


def cold_start(exp: Any, steps: int = 40, seed: int = 0, workers: int = 2) -> dict[str, float]:
    """A fresh worker's first-chunk penalty: its first chunk's time minus the same chunk's again.

    Covers the worker's first use of modules the parent had not imported and first-call
    allocations; ``pool_s`` is the pool's own start and shutdown.
    """
    from plasticity.benchmarks.yardstick import pool_start_s

    small = dataclasses.replace(_first_chunk(exp), protocol=short_protocol(exp.protocol, steps))
    with ProcessPoolExecutor(1) as pool:
        first = pool.submit(_chunk_in_pool, small, seed).result()
        again = pool.submit(_chunk_in_pool, small, seed).result()
    return {"pool_s": pool_start_s(workers), "first_chunk_extra_s": max(0.0, first - again)}


def stage_table(prof: dict[str, Any]) -> list[str]:
    """Markdown rows: stage, seconds at the profiled steps, extrapolated seconds, share."""
    lines = [
        f"| stage ({prof['experiment']}, {prof['chunk_runs']} runs in one process) "
        f"| at {prof['steps']} steps | at {prof['full_steps']} steps | share |",
        "|---|---|---|---|",
    ]
    for stage, r in prof["stages"].items():
        lines.append(
            f"| {stage}{' (per step)' if r['per_step'] else ''} | {r['seconds']:.3f} s | "
            f"{r['full_seconds']:.1f} s | {100 * r['full_share']:.1f} % |"
        )
    return lines
