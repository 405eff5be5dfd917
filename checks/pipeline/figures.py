"""Figures 1, 5 and 5—supplement 1: run the experiment, plot it, write the numbers behind it.

:func:`run_figure` is what ``plasticity figure`` and the reproduce pipeline call;
:func:`make_figure` does the work.  It writes ``figK.png``/``.pdf``,
``figK.csv`` (fig5/fig5s1: one row per run; fig1: one row per network and stage),
``figK.json`` (provenance: package version, seed, every parameter, wall time) and, for 5/5s1,
``figK_predicted.csv`` (per panel: predicted, loss-minimising and gradient-norm-minimising
ratios with spreads over repetitions); fig1 also writes ``fig1_trace.csv`` (error over time).
"""

from __future__ import annotations

import csv
import io
import platform
import sys
import time
from concurrent.futures import Executor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from plasticity.checks.pipeline.plots import plot_staged, plot_sweep
from plasticity.numerics.experiments import EXPERIMENTS, StagedExperiment, experiment, run_staged
from plasticity.numerics.files import atomic_write_bytes, json_text
from plasticity.numerics.sweep import SweepResult, panel_summary, run_sweep

FIGURES = {"1": "fig1", "5": "fig5", "5s1": "fig5s1"}

#: per-run CSV columns of figures 5 and 5s1, in order
SWEEP_COLUMNS = (
    "network",
    "noise_to_signal",
    "fluct_per_sqrtN",
    "ratio",
    "rep",
    "run_id",
    "eps_norm",
    "steady_loss",
    "settled",
    "relative_drift",
    "steps_run",
    "grad_norm",
    "Q_c",
    "Q_eps",
    "predicted_ratio",
)
PREDICTED_COLUMNS = (
    "network",
    "noise_to_signal",
    "fluct_per_sqrtN",
    "predicted_ratio",
    "predicted_ratio_sd",
    "predicted_at_best",
    "best_loss_ratio",
    "best_loss_ratio_sd",
    "best_grad_ratio",
    "best_grad_ratio_sd",
    "n_reps",
    "n_unsettled",
)


def figure_name(fig: str) -> str:
    """'5' / 'fig5' → 'fig5'; unknown names raise ValueError listing the known figures."""
    key = str(fig).lower().removeprefix("fig")
    if key not in FIGURES:
        raise ValueError(f"unknown figure {fig!r}; known figures: {', '.join(FIGURES)}")
    return FIGURES[key]


def _fmt(v: object) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        return "nan" if not np.isfinite(v) else repr(float(v))
    if isinstance(v, np.integer):
        return str(int(v))
    return str(v)


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_fmt(r[c]) for c in columns])
    atomic_write_bytes(path, buf.getvalue().encode())


def sweep_rows(result: SweepResult) -> list[dict]:
    """One dict per run with the columns of :data:`SWEEP_COLUMNS`."""
    t = result.table
    n = len(t["run_id"])
    return [
        {"network": result.experiment.network, **{c: t[c][i] for c in SWEEP_COLUMNS[1:]}} for i in range(n)
    ]


# ----------------------------------------------------------------------------- making a figure


def _provenance(name: str, exp, seed: int, wall: float, files: list[Path], extra: dict) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("plasticity")
    except PackageNotFoundError:
        ver = "unknown"
    return {
        "figure": name,
        "package_version": ver,
        "seed": seed,
        "scale": exp.scale,
        "parameters": exp.parameters(),
        "wall_time_s": round(wall, 3),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "files": [p.name for p in files],
        **extra,
    }


def make_figure(
    fig: str,
    out: str | Path,
    *,
    scale: str = "quick",
    seed: int = 0,
    workers: int = 2,
    extend_max: int = 0,
    checkpoint_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    experiment_override=None,
) -> list[Path]:
    """Run figure ``fig`` ("1", "5", "5s1") and write its figure, CSVs and provenance into ``out``.

    ``experiment_override`` replaces the named configuration (tests use tiny ones).
    """
    name = figure_name(fig)
    assert name in EXPERIMENTS
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    exp = experiment_override if experiment_override is not None else experiment(name, scale)
    if extend_max:
        if isinstance(exp, StagedExperiment):
            raise ValueError("--extend applies to figures 5 and 5s1 (figure 1's stages have fixed lengths)")
        if extend_max < 0:
            raise ValueError(f"extend_max must be >= 0, got {extend_max}")
        exp = replace(exp, protocol=replace(exp.protocol, extend_max=int(extend_max)))
    t0 = time.perf_counter()
    stem = out / name
    if isinstance(exp, StagedExperiment):
        if progress:
            print(
                f"{name}: {exp.reps} networks × {len(exp.stage_ratios)} stages × {exp.stage_steps} steps",
                file=sys.stderr,
            )
        res = run_staged(exp, seed, workers=workers, progress=progress)
        files = plot_staged(res, stem, seed)
        rows = []
        for r in range(exp.reps):
            for k, ratio in enumerate(exp.stage_ratios):
                rows.append(
                    {
                        "network": exp.network,
                        "rep": r,
                        "stage": k,
                        "ratio": ratio,
                        "stage_start": int(res.stage_start[k]),
                        "eps_norm": exp.eps_norm,
                        "steady_loss": res.steady_loss[r, k],
                        "settled": bool(res.settled[r, k]),
                        "relative_drift": res.relative_drift[r, k],
                        "grad_norm": res.grad_norm[r, k],
                        "Q_c": res.Q_c[r, k],
                        "Q_eps": res.Q_eps[r, k],
                    }
                )
        cols = (
            "network",
            "rep",
            "stage",
            "ratio",
            "stage_start",
            "eps_norm",
            "steady_loss",
            "settled",
            "relative_drift",
            "grad_norm",
            "Q_c",
            "Q_eps",
        )
        _write_csv(stem.with_suffix(".csv"), cols, rows)
        trace_cols = (
            "step",
            *[f"loss_network{r + 1}" for r in range(exp.reps)],
            *[f"weight_{i}" for i in res.tracked_index],
        )
        trace_rows = [
            dict(zip(trace_cols, [int(s), *res.loss[:, k], *res.tracked[k]], strict=True))
            for k, s in enumerate(res.record_steps)
        ]
        _write_csv(out / "fig1_trace.csv", trace_cols, trace_rows)
        files += [stem.with_suffix(".csv"), out / "fig1_trace.csv"]
        extra = {"unsettled_stages": int((~res.settled).sum())}
    else:
        res = run_sweep(
            exp, seed, checkpoint_dir=checkpoint_dir, executor=executor, workers=workers, progress=progress
        )
        panels = panel_summary(res)
        files = plot_sweep(res, panels, stem)
        _write_csv(stem.with_suffix(".csv"), SWEEP_COLUMNS, sweep_rows(res))
        pred = out / f"{name}_predicted.csv"
        _write_csv(pred, PREDICTED_COLUMNS, panels)
        files += [stem.with_suffix(".csv"), pred]
        extra = {"unsettled_runs": int((~res.table["settled"]).sum()), "n_runs": len(res.table["run_id"])}
    wall = time.perf_counter() - t0
    prov = _provenance(name, exp, seed, wall, files, extra)
    js = stem.with_suffix(".json")
    atomic_write_bytes(js, json_text(prov, indent=2).encode())
    return [*files, js]


def run_figure(
    fig: str,
    out: str | Path,
    *,
    scale: str = "quick",
    seed: int = 0,
    workers: int = 2,
    processes: bool = False,
    threads: bool = False,
    checkpoint_dir: str | Path | None = None,
    extend_max: int = 0,
    progress: bool = True,
) -> list[Path]:
    """Check the settings, choose threads or a process pool, make figure ``fig`` and say so.

    Full sweeps default to ``workers`` worker processes (``threads`` keeps them in this
    process; ``processes`` asks for a pool at any scale).  The written files are printed on
    stdout, one per line, and a summary goes to stderr unless ``progress`` is False.  Bad
    settings raise ``ValueError`` before any work.
    """
    figure_name(fig)  # unknown figure: ValueError before any work
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    if seed < 0:
        raise ValueError(f"--seed must be >= 0, got {seed}")
    if processes and threads:
        raise ValueError("--processes and --threads exclude each other")
    # Full sweeps default to worker processes: measured on 2 cores (486 Figure 5 networks, 48
    # steps, best of 3, alternating), 2 processes take 0.95 s against 1.43 s for 2 threads.
    use_processes = processes or (scale == "full" and not threads and workers > 1)
    executor = None
    if use_processes:
        from concurrent.futures import ProcessPoolExecutor

        executor = ProcessPoolExecutor(workers)
    try:
        files = make_figure(
            fig,
            out,
            scale=scale,
            seed=seed,
            workers=workers,
            extend_max=extend_max,
            checkpoint_dir=checkpoint_dir,
            executor=executor,
            progress=progress,
        )
    finally:
        if executor is not None:
            executor.shutdown()
    for f in files:
        print(f)
    if progress:
        print(f"figure {fig}: wrote {len(files)} files to {out}", file=sys.stderr)
    return files
