"""`plasticity bench`: every measurement in one run, as JSON and a Markdown table.

Each figure is reported beside an in-run reference: the Figure 5 and 5-S1 sweeps against the
vectorised numpy reference of the same protocol (:mod:`plasticity.benchmarks.vectorised`), both
through the same process pool and timed alternately (:mod:`plasticity.benchmarks.yardstick`), and
against the float32 GEMM roofline; the curvature timings against their straightforward routes
(see :mod:`plasticity.benchmarks.curvature`).  Timings on a shared machine are only indicative:
the machine's load average is recorded with them.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from plasticity.benchmarks import (
    curvature,
    landscape_simulate,
    machine,
    pipeline,
    roofline,
    sweeps,
    yardstick,
)
from plasticity.benchmarks.commands import time_command
from plasticity.numerics.files import atomic_write_text, json_text

#: the JSON keys every run writes (ARCHITECTURE.md); None marks a skipped part
REQUIRED_KEYS = (
    "gemm_gflops_f32",
    "gemm_gflops_f64",
    "fig5_s_per_step",
    "fig5_full_sweep_s",
    "fig5s1_s_per_step",
    "fig5s1_full_sweep_s",
    "fig5_reference_ratio",
    "fig5s1_reference_ratio",
    "hessian_ms",
    "hvp_ms",
    "q100_ms",
    "verify_ci_s",
    "reproduce_quick_s",
    "machine",
)

#: the performance targets on a 2-core machine (benchmark figures, never asserted in tests)
TARGETS = {
    "fig5_reference_ratio": 0.5,
    "fig5s1_full_sweep_s": 40.0,
    "hessian_ms": 10.0,
    "hvp_ms": 0.5,
    "reproduce_quick_s": 300.0,
}
#: targets that are lower bounds (the rest are upper bounds)
TARGETS_AT_LEAST = {"fig5_pct_gemm_peak": 30.0}

#: the two whole-command timings: key -> arguments of `plasticity`
DEFAULT_COMMANDS: dict[str, list[str]] = {
    "verify_ci_s": ["verify", "--profile", "ci"],
    "reproduce_quick_s": ["reproduce", "--quick", "--out", "{tmp}"],
}

SWEEPS = (("fig5", "fig5"), ("fig5s1", "fig5s1"))


def _say(progress: Callable[[str], None] | None, msg: str) -> None:
    if progress is not None:
        progress(msg)


def run_suite(
    *,
    steps: int = 100,
    skip_commands: bool = False,
    gemm_n: int = 4096,
    gemm_repeats: int = 3,
    smoke: bool = False,
    workers: int = 2,
    repeats: int = 2,
    end_to_end: bool = False,
    n_inputs: int = 1000,
    n_directions: int = 100,
    curvature_repeats: int = 5,
    profile: bool = True,
    commands: Mapping[str, Sequence[str]] | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run every measurement and return the results (flat headline keys plus ``details``).

    ``smoke`` cuts each paper sweep to one ratio and one repetition per panel, 9 runs (tests
    only: the headline figures are then not the paper's).  ``workers`` processes run each
    side of the comparison with the reference, best of ``repeats``; ``end_to_end`` also runs
    the Figure 5 sweep at its full 8000 steps on both sides (minutes).  ``commands``
    overrides the timed subcommands (key -> `plasticity` arguments, ``{tmp}`` replaced by a
    scratch directory).
    """
    from plasticity.numerics.experiments import experiment

    if not isinstance(steps, int) or steps < sweeps.MIN_STEPS:
        raise ValueError(f"steps must be an integer >= {sweeps.MIN_STEPS}, got {steps!r}")
    t_start = time.perf_counter()
    res: dict[str, Any] = {"machine": machine.machine_info()}
    details: dict[str, Any] = {}

    _say(progress, f"GEMM roofline ({gemm_n}² float32 and float64, best of {gemm_repeats})")
    peak32 = roofline.gemm_gflops(np.float32, n=gemm_n, repeats=gemm_repeats)
    peak64 = roofline.gemm_gflops(np.float64, n=gemm_n, repeats=gemm_repeats)
    res["gemm_gflops_f32"], res["gemm_gflops_f64"] = peak32, peak64
    details["gemm"] = {"n": gemm_n, "repeats": gemm_repeats, "flop": 2 * gemm_n**3}

    for key, name in SWEEPS:
        exp = experiment(name, "full")
        cmp_exp = yardstick.smaller(exp, reps=1, ratios=1) if smoke else exp
        _say(
            progress,
            f"{name}: whole sweep against the vectorised reference, {workers} processes, "
            f"{steps // 2} and {steps} steps, alternating, best of {repeats}",
        )
        c = yardstick.compare(
            cmp_exp, steps=steps, seed=seed, workers=workers, repeats=repeats, gemm_gflops_f32=peak32
        )
        details[key] = c
        proj = c["project"]
        res[f"{key}_s_per_step"] = proj["s_per_step"]
        res[f"{key}_full_sweep_s"] = proj["full_sweep_s"]
        res[f"{key}_reference_full_sweep_s"] = c["reference"]["full_sweep_s"]
        res[f"{key}_reference_ratio"] = c["ratio_full_sweep"]
        res[f"{key}_reference_ratio_per_step"] = c["ratio_per_step"]
        res[f"{key}_gflops"] = proj["gflops"]
        res[f"{key}_pct_gemm_peak"] = proj["pct_gemm_peak"]
        if profile:
            _say(progress, f"{name}: stage profile of one chunk ({steps} steps, one process)")
            details[f"{key}_stages"] = pipeline.profile_chunk(cmp_exp, steps, seed=seed)
    if profile:
        details["cold_start"] = pipeline.cold_start(experiment("fig5", "full"), seed=seed, workers=workers)
    if end_to_end:
        _say(progress, "fig5: the full 8000-step sweep, project then reference (minutes)")
        details["fig5_end_to_end"] = yardstick.end_to_end(experiment("fig5", "full"), seed, workers)

    _say(progress, f"exact Hessian, HVP and Q of {n_directions} directions ({n_inputs} inputs)")
    c = curvature.curvature_timings(
        n_inputs=n_inputs, n_directions=n_directions, repeats=curvature_repeats, seed=seed
    )
    details["curvature"] = c
    for k in ("hessian_ms", "hvp_ms", "hvp_cold_ms", "q100_ms"):
        res[k] = c[k]
    res["hvp_pct_gemm_peak"] = 100.0 * c["hvp_nominal_flop"] / (c["hvp_ms"] * 1e-3) / 1e9 / peak64
    res["q100_pct_gemm_peak"] = 100.0 * c["q_nominal_flop"] / (c["q100_ms"] * 1e-3) / 1e9 / peak64

    _say(progress, "landscape --simulate on the N = 31 logistic regression (batched and row by row)")
    ls = landscape_simulate.simulate_timings(steps=steps, compare_steps=min(steps, 30), seed=seed)
    details["landscape_simulate"] = ls
    res["landscape_simulate_speedup"] = ls.get("speedup_vs_row_by_row")  # None where skipped

    cmds = DEFAULT_COMMANDS if commands is None else dict(commands)
    details["commands"] = {}
    for key in DEFAULT_COMMANDS:
        res.setdefault(key, None)
    if skip_commands:
        details["commands"] = "skipped (--skip-commands)"
    else:
        for key, args in cmds.items():
            with tempfile.TemporaryDirectory(prefix="plasticity-bench-") as tmp:
                argv = [a.replace("{tmp}", tmp) for a in args]
                _say(progress, f"timing `plasticity {' '.join(argv)}`")
                t = time_command(argv, cwd=tmp)  # scratch cwd: no stray files (e.g. .hypothesis/)
            details["commands"][key] = t.as_dict()
            res[key] = t.seconds if t.ok else None

    res["machine"]["load_average_after"] = machine.load_average()
    res["settings"] = {
        "steps": steps,
        "smoke": smoke,
        "workers": workers,
        "repeats": repeats,
        "end_to_end": end_to_end,
        "gemm_n": gemm_n,
        "n_inputs": n_inputs,
        "n_directions": n_directions,
        "seed": seed,
        "skip_commands": skip_commands,
    }
    res["targets"] = TARGETS
    res["targets_at_least"] = TARGETS_AT_LEAST
    res["details"] = details
    res["bench_wall_s"] = time.perf_counter() - t_start
    return res


# ----------------------------------------------------------------------------- Markdown


def _fmt(x: Any, unit: str = "", digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, float):
        text = f"{x:.{digits}g}"
    else:
        text = str(x)
    return f"{text} {unit}".strip()


def _vs(ratio: float | None, what: str) -> str:
    """'r× faster than what', or '(1/r)× slower than what' when the baseline wins."""
    if ratio is None or not math.isfinite(ratio) or ratio <= 0:
        return "—"
    if ratio >= 1:
        return f"{ratio:.3g}× faster than {what}"
    return f"{1 / ratio:.3g}× slower than {what}"


def _target(res: Mapping[str, Any], key: str, unit: str) -> str:
    v = res.get(key)
    t = res.get("targets", {}).get(key)
    if t is not None:
        sign, met = "≤", v is not None and v <= t
    else:
        t = res.get("targets_at_least", {}).get(key)
        if t is None:
            return ""
        sign, met = "≥", v is not None and v >= t
    if v is None:
        return f"{sign} {t:g} {unit}".strip()
    return f"{sign} {t:g} {unit} ({'met' if met else 'not met'})".replace("  ", " ")


def to_markdown(res: Mapping[str, Any]) -> str:
    """The benchmark as a Markdown table, each figure beside its in-run baseline and the GEMM peak."""
    d = res.get("details", {})
    m = res["machine"]
    peak = res["gemm_gflops_f32"]
    lines = [
        "| measurement | value | vs in-run reference | vs GEMM peak | target |",
        "|---|---|---|---|---|",
        f"| GEMM float32, {d.get('gemm', {}).get('n', '?')}² (the roofline) | "
        f"{_fmt(peak, 'GFLOP/s')} | — | 100 % | |",
        f"| GEMM float64 | {_fmt(res['gemm_gflops_f64'], 'GFLOP/s')} | — | "
        f"{_fmt(100 * res['gemm_gflops_f64'] / peak, '%')} of float32 | |",
    ]
    for key, label in (("fig5", "Figure 5"), ("fig5s1", "Figure 5-S1")):
        c = d.get(key)
        if not c:
            continue
        pr, rf = c["project"], c["reference"]
        w = c["workers"]
        lines.append(
            f"| {label}: one step of all {c['runs']} {c['network']} networks, {w} processes | "
            f"{_fmt(1e3 * pr['s_per_step'], 'ms')} | reference {_fmt(1e3 * rf['s_per_step'], 'ms')}: "
            f"ratio {c['ratio_per_step']:.2f} | {_fmt(pr['gflops'], 'GFLOP/s')} = "
            f"{_fmt(pr['pct_gemm_peak'], '%')} (reference {_fmt(rf['pct_gemm_peak'], '%')}) | "
            f"{_target(res, f'{key}_pct_gemm_peak', '%')} |"
        )
        lines.append(
            f"| {label}: fixed costs (pool start {_fmt(c['pool_start_s'], 's')}, Q window "
            f"{_fmt(pr['measure_s'], 's')}, set-up and the rest {_fmt(pr['setup_other_s'], 's')}) | "
            f"{_fmt(pr['fixed_s'] + pr['measure_s'], 's')} | reference {_fmt(rf['fixed_s'], 's')} | | |"
        )
        lines.append(
            f"| {label}: full sweep, {c['full_steps']} steps, **extrapolated** (fixed + Q window + "
            f"{c['full_steps']} × per step) | {_fmt(pr['full_sweep_s'], 's')} | reference "
            f"{_fmt(rf['full_sweep_s'], 's')}: **ratio {c['ratio_full_sweep']:.2f}** | | "
            f"{_target(res, f'{key}_reference_ratio', '× reference')} "
            f"{_target(res, f'{key}_full_sweep_s', 's')} |"
        )
        lines.append(
            f"| {label}: whole sweep measured at {c['steps_timed'][1]} steps (with Q window) | "
            f"{_fmt(pr['seconds_with_measure'], 's')} | reference {_fmt(rf['seconds_timed'][1], 's')}: "
            f"ratio {c['ratio_at_steps']:.2f} | | |"
        )
    e2e = d.get("fig5_end_to_end")
    if e2e:
        lines.append(
            f"| Figure 5: full sweep, {e2e['steps']} steps, **measured** end to end (no plotting) | "
            f"{_fmt(e2e['project_s'], 's')} | reference {_fmt(e2e['reference_s'], 's')}: "
            f"ratio {e2e['ratio']:.2f} | | |"
        )
    c = d.get("curvature", {})
    if c:
        cols_label = f"{c['n_params']} column HVPs"
        singles_label = f"{c['n_directions']} single calls"
        lines += [
            f"| exact Hessian, {c['n_params']}×{c['n_params']}, {c['n_inputs']} inputs | "
            f"{_fmt(res['hessian_ms'], 'ms')} | "
            f"{_vs(c['hessian_columns_ms'] / c['hessian_ms'], cols_label)} "
            f"({_fmt(c['hessian_columns_ms'], 'ms')}) | "
            f"n/a (no algorithm-independent FLOP count) | {_target(res, 'hessian_ms', 'ms')} |",
            f"| one Hessian-vector product (forward pass cached; "
            f"{_fmt(c.get('hvp_cold_ms'), 'ms')} with it) | {_fmt(res['hvp_ms'], 'ms')} | "
            f"{_vs(c['hvp_fd_ms'] / c['hvp_ms'], 'a finite difference of two gradients')} "
            f"({_fmt(c['hvp_fd_ms'], 'ms')}) | {_fmt(res.get('hvp_pct_gemm_peak'), '%')} of float64 peak "
            f"at its lower-bound work | {_target(res, 'hvp_ms', 'ms')} |",
            f"| Q for {c['n_directions']} directions at once | {_fmt(res['q100_ms'], 'ms')} | "
            f"{_vs(c['q100_loop_ms'] / c['q100_ms'], singles_label)} "
            f"({_fmt(c['q100_loop_ms'], 'ms')}) | {_fmt(res.get('q100_pct_gemm_peak'), '%')} of float64 "
            f"peak at its lower-bound work | |",
        ]
    cmd = d.get("commands")
    for key, label in (
        ("verify_ci_s", "`plasticity verify --profile ci`"),
        ("reproduce_quick_s", "`plasticity reproduce --quick`"),
    ):
        info = cmd.get(key) if isinstance(cmd, dict) else None
        if isinstance(cmd, str):
            value = "skipped"
        elif info is not None and info.get("returncode") != 0:
            value = f"failed (exit {info.get('returncode')}) after {_fmt(info.get('seconds'), 's')}"
        else:
            value = _fmt(res.get(key), "s")
        lines.append(f"| {label} wall time | {value} | | | {_target(res, key, 's')} |")

    out = [
        "## Benchmark",
        "",
        f"Machine: {m.get('cpu_model')}, {m.get('cores')} cores, numpy {m.get('numpy')} with "
        f"{(m.get('blas') or {}).get('name')} {(m.get('blas') or {}).get('version') or ''} "
        f"({m.get('openblas_threads', '?')} BLAS threads); "
        f"load average {m.get('load_average')} before, {m.get('load_average_after')} after.",
        "",
        *lines,
        "",
    ]
    for key in ("fig5_stages", "fig5s1_stages"):
        prof = d.get(key)
        if prof:
            out += [
                f"Where a sweep's time goes ({prof['experiment']}: a chunk-sized piece in one process, "
                "by the functions doing each stage; per-step stages extrapolated to the full steps):",
                "",
                *pipeline.stage_table(prof),
                "",
            ]
    cs = d.get("cold_start")
    if cs:
        out += [
            f"Process start-up: a pool of {res.get('settings', {}).get('workers', '?')} processes starts and "
            f"stops in {_fmt(cs['pool_s'], 's')}; a fresh worker's first chunk costs "
            f"{_fmt(cs['first_chunk_extra_s'], 's')} more than the same chunk again.",
            "",
        ]
    if res.get("settings", {}).get("smoke"):
        out.append(
            "**Smoke run**: sweeps cut to one ratio and one repetition per panel; not the paper's figures."
        )
    out.append(f"Benchmark wall time: {_fmt(res.get('bench_wall_s'), 's')}.")
    return "\n".join(out) + "\n"


def _check_writable(path: Path | None, flag: str) -> None:
    if path is None:
        return
    if path.is_dir():
        raise IsADirectoryError(f"{flag} {path} is a directory; give a file name")
    if not path.parent.exists():
        raise FileNotFoundError(f"{flag} {path}: directory {path.parent} does not exist")


def bench(
    *,
    json_path: Path | None = None,
    markdown_path: Path | None = None,
    **suite_options: Any,
) -> int:
    """`plasticity bench`: run the suite, print the Markdown table, write the requested files.

    The output paths are checked before minutes of measuring, not after (a missing directory
    or a directory given as a file raises); ``suite_options`` go to :func:`run_suite`, with
    progress lines on stderr.
    """
    _check_writable(json_path, "--json")
    _check_writable(markdown_path, "--markdown")
    res = run_suite(**suite_options, progress=lambda msg: print(f"bench: {msg}", file=sys.stderr, flush=True))
    table = to_markdown(res)
    print(table)
    if json_path is not None:
        atomic_write_text(json_path, json_text(res, indent=2) + "\n")
    if markdown_path is not None:
        atomic_write_text(markdown_path, table)
    return 0
