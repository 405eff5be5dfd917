"""Figures 1, 5 and 5—supplement 1: run the experiment, plot it, write the numbers behind it.

:func:`make_figure` is what ``plasticity figure`` calls.  It writes ``figK.png``/``.pdf``,
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
from typing import Any

import numpy as np

from numerics.experiments import EXPERIMENTS, StagedExperiment, StagedResult, experiment, run_staged
from numerics.files import atomic_write_bytes, json_text
from numerics.sweep import SweepResult, panel_summary, run_sweep

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


# ----------------------------------------------------------------------------- plotting


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, stem: Path) -> list[Path]:
    paths = []
    for ext in ("png", "pdf"):
        p = stem.with_suffix(f".{ext}")
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, dpi=130 if ext == "png" else None)
        atomic_write_bytes(p, buf.getvalue())
        paths.append(p)
    return paths


def plot_sweep(result: SweepResult, panels: list[dict], stem: Path) -> list[Path]:
    """3×3 grid: steady-state error (mean ± s.d. over reps) against ratio, per (γ₂/γ₁, f)."""
    plt = _pyplot()
    exp = result.experiment
    t = result.table
    nts_vals, f_vals = exp.noise_to_signal, exp.fluct_per_sqrtN
    fig, axes = plt.subplots(
        len(nts_vals),
        len(f_vals),
        figsize=(4.1 * len(f_vals), 3.3 * len(nts_vals)),
        squeeze=False,
        sharex=True,
    )
    panel_of = {(p["noise_to_signal"], p["fluct_per_sqrtN"]): p for p in panels}
    legend: dict[str, object] = {}
    for i, nts in enumerate(nts_vals):
        for j, f in enumerate(f_vals):
            ax = axes[i][j]
            sel = (t["noise_to_signal"] == nts) & (t["fluct_per_sqrtN"] == f)
            ratios = np.unique(t["ratio"][sel])
            per = [t["steady_loss"][sel & (t["ratio"] == r)] for r in ratios]
            mean = np.array([p.mean() for p in per])
            sd = np.array([p.std(ddof=1) if len(p) > 1 else 0.0 for p in per])
            ax.errorbar(
                ratios,
                mean,
                yerr=sd,
                fmt="o-",
                color="C0",
                ms=4,
                capsize=3,
                lw=1.2,
                label="simulated (mean ± s.d.)",
            )
            uns = sel & ~t["settled"]
            if uns.any():
                ax.plot(
                    t["ratio"][uns],
                    t["steady_loss"][uns],
                    "x",
                    color="C3",
                    ms=6,
                    mew=1.5,
                    label="run not settled",
                )
            p = panel_of[(float(nts), float(f))]
            ax.axvline(
                p["best_loss_ratio"],
                color="C0",
                ls="--",
                lw=1,
                label="ratio with the lowest mean error",
            )
            if np.isfinite(p["predicted_ratio"]):
                ax.axvline(
                    p["predicted_ratio"],
                    color="C2",
                    ls=":",
                    lw=2,
                    label="predicted ratio: fixed point of √(Q[Δε]/Q[Δc]) (eq9a)",
                )
            ax.set_yscale("log")
            pred_txt = (
                f"{p['predicted_ratio']:.2f}"
                if np.isfinite(p["predicted_ratio"])
                else "outside the swept range"
            )
            ax.set_title(
                f"γ₂/γ₁ = {nts:g},  ‖Δε‖ = {f:g}·√N\nlowest error at {p['best_loss_ratio']:.1f}, "
                f"predicted {pred_txt}",
                fontsize=9,
            )
            if i == len(nts_vals) - 1:
                ax.set_xlabel("compensation ratio ‖Δc‖/‖Δε‖ (dimensionless)")
            if j == 0:
                ax.set_ylabel("steady-state task error (MSE)")
            for hnd, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                legend.setdefault(lab, hnd)
            ax.grid(alpha=0.3, which="both")
    title = {
        "fig5": "Figure 5: nonlinear network (12→20 sigmoid→10), noisy-gradient compensation",
        "fig5s1": "Figure 5—supplement 1: linear network (12→10), noisy-gradient compensation",
    }.get(exp.name, exp.name)
    sub = (
        f"{exp.reps} reps, {exp.protocol.steps} steps, steady state = mean error over the last "
        f"{exp.protocol.window} steps, seed {result.seed}"
    )
    quick_note = "QUICK RUN (reduced steps and repetitions, not the paper's scale): "
    _suptitle(fig, title, sub, quick_note if exp.scale == "quick" else None, fontsize=11)
    fig.legend(
        list(legend.values()), list(legend.keys()), loc="lower center", ncol=4, fontsize=9, frameon=False
    )
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    paths = _save(fig, stem)
    plt.close(fig)
    return paths


def _suptitle(fig: Any, title: str, sub: str, quick_note: str | None, *, fontsize: int) -> None:
    """The figure's title over its run parameters; a quick run (not the paper's scale) is said
    first, ``quick_note``, and the whole title turns red."""
    if quick_note is not None:
        sub = quick_note + sub
    fig.suptitle(f"{title}\n{sub}", fontsize=fontsize, color="C3" if quick_note is not None else "black")


def plot_staged(result: StagedResult, stem: Path, seed: int) -> list[Path]:
    """Figure 1: (b) task error over time with the ratio stages marked; (c) drifting weights."""
    plt = _pyplot()
    exp = result.experiment
    fig, (axb, axc) = plt.subplots(2, 1, figsize=(10, 7.2), sharex=True)
    steps = result.record_steps
    for r in range(result.loss.shape[0]):
        axb.plot(steps, result.loss[r], lw=0.6, alpha=0.8, label=f"network {r + 1}")
    axb.set_yscale("log")
    axb.set_ylabel("task error (MSE on the step's batch)")
    for k, (s0, ratio) in enumerate(zip(result.stage_start, exp.stage_ratios, strict=True)):
        for ax in (axb, axc):
            ax.axvline(s0, color="0.5", lw=0.8, ls="--")
        unsettled = (~result.settled[:, k]).sum()
        note = f"\n{unsettled} not settled" if unsettled else ""
        axb.text(
            s0 + exp.stage_steps / 2,
            0.97,
            f"‖Δc‖/‖Δε‖ = {ratio:g}{note}",
            transform=axb.get_xaxis_transform(),
            ha="center",
            va="top",
            fontsize=8,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
        )
        mean_ss = np.nanmean(result.steady_loss[:, k])
        axb.hlines(
            mean_ss,
            s0 + exp.stage_steps - exp.protocol.window,
            s0 + exp.stage_steps,
            color="k",
            lw=2.5,
            label="steady-state mean" if k == 0 else None,
        )
    # the start (student ≈ teacher, error ~1e-7) would squash the stages: show from below their floor
    finite = result.steady_loss[np.isfinite(result.steady_loss)]
    if finite.size and finite.min() > 0:
        axb.set_ylim(bottom=0.2 * finite.min())
    axb.legend(fontsize=8, loc="lower right")
    axb.set_title("(b) task error while the compensation ratio is raised in stages", loc="left", fontsize=10)
    for q in range(result.tracked.shape[1]):
        axc.plot(steps, result.tracked[:, q], lw=0.9, label=f"weight #{result.tracked_index[q]}")
    axc.set_ylabel("weight value (dimensionless)")
    axc.set_xlabel("time step")
    axc.set_title(
        "(c) individual weights of network 1 keep drifting while the error stays flat",
        loc="left",
        fontsize=10,
    )
    axc.legend(fontsize=7, ncol=3, loc="best")
    sub = (
        f"nonlinear network, ‖Δε‖ = {exp.eps_norm:g} per step, pure gradient compensation (γ₂ = 0), "
        f"{exp.stage_steps} steps per stage, seed {seed}"
    )
    quick_note = "QUICK RUN (shorter stages, fewer networks)\n"
    _suptitle(fig, "Figure 1", sub, quick_note if exp.scale == "quick" else None, fontsize=10)
    fig.tight_layout()
    paths = _save(fig, stem)
    plt.close(fig)
    return paths


# ----------------------------------------------------------------------------- the command's work


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
