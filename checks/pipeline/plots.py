"""Plots of figures 1, 5 and 5—supplement 1, written as PNG and PDF.

:func:`plot_sweep` draws a sweep's 3×3 grid (figures 5 and 5s1), :func:`plot_staged` figure
1's error trace and drifting weights; both write ``stem.png`` and ``stem.pdf`` atomically
and return their paths.  matplotlib is imported (with the Agg backend) only when plotting.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from plasticity.numerics.experiments import StagedResult
from plasticity.numerics.files import atomic_write_bytes
from plasticity.numerics.sweep import SweepResult

__all__ = ["plot_staged", "plot_sweep"]


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
