"""Wall-clock timing: best of several runs, and two-point extrapolation of per-step cost.

The minimum over repeats is the least noisy estimate of a deterministic computation's cost
on a shared machine (other processes only ever add time).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


def best_of(fn: Callable[[], object], repeats: int = 3, warmup: int = 1) -> float:
    """Minimum wall time in seconds of ``fn()`` over ``repeats`` runs, after ``warmup`` untimed runs."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def wall_time(fn: Callable[[], object]) -> float:
    """Wall time in seconds of one call of ``fn()``."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


@dataclass(frozen=True)
class StepCost:
    """Cost of a stepped computation: ``overhead_s + steps * per_step_s``."""

    per_step_s: float
    overhead_s: float
    short_steps: int
    long_steps: int
    short_s: float
    long_s: float
    method: str  # "two-point" or "total/steps" (fallback when noise made the difference non-positive)

    def extrapolate(self, steps: int) -> float:
        """Predicted wall time in seconds for ``steps`` steps."""
        return self.overhead_s + steps * self.per_step_s


def step_cost(
    run: Callable[[int], object], long_steps: int, short_steps: int | None = None, repeats: int = 1
) -> StepCost:
    """Per-step cost and fixed overhead of ``run(steps)`` from runs of two lengths.

    ``per_step = (T(long) - T(short)) / (long - short)`` separates set-up (initialisation,
    steady-state measurements) from the per-step cost, so that extrapolating to 8000 steps
    does not multiply the set-up.  Each length is timed ``repeats`` times, interleaved, and
    the minimum kept (other processes only ever add time).  If noise still makes the
    difference non-positive, the conservative ``T(long) / long`` is used and ``method`` says so.
    """
    if long_steps < 2:
        raise ValueError(f"long_steps must be >= 2, got {long_steps}")
    if short_steps is None:
        short_steps = max(1, long_steps // 4)
    if not 1 <= short_steps < long_steps:
        raise ValueError(f"need 1 <= short_steps < long_steps, got {short_steps}, {long_steps}")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    t_short = t_long = float("inf")
    for _ in range(repeats):
        t_short = min(t_short, wall_time(lambda: run(short_steps)))
        t_long = min(t_long, wall_time(lambda: run(long_steps)))
    per_step = (t_long - t_short) / (long_steps - short_steps)
    if per_step > 0:
        overhead = max(0.0, t_short - short_steps * per_step)
        method = "two-point"
    else:
        per_step, overhead, method = t_long / long_steps, 0.0, "total/steps"
    return StepCost(per_step, overhead, short_steps, long_steps, t_short, t_long, method)
