"""Predicted against simulated best ratios: merge the figures' per-panel tables, recheck eq9a.

:func:`write_predictions` reads ``fig5_predicted.csv`` and ``fig5s1_predicted.csv`` (one row
per panel), merges them into ``predictions.json`` and ``predictions.csv`` with findings in
words, and recomputes eq9a run by run from the measured Q columns of ``fig5.csv`` and
``fig5s1.csv`` (:func:`eq9a_consistency`) to confirm the per-run predictions are eq9a.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from plasticity.numerics.files import atomic_write_text

__all__ = ["EQ9A_REL_TOL", "eq9a_consistency", "predictions_from_csv", "write_predictions"]

#: normalised key -> column of figK_predicted.csv (`plasticity.checks.pipeline.figures.PREDICTED_COLUMNS`)
_PANEL_COLUMNS: dict[str, str] = {
    "network": "network",
    "noise_to_signal": "noise_to_signal",
    "fluct_per_sqrtN": "fluct_per_sqrtN",
    "predicted_ratio": "predicted_ratio",
    "predicted_ratio_sd": "predicted_ratio_sd",
    "predicted_at_best": "predicted_at_best",
    "grad_min_ratio": "best_grad_ratio",
    "grad_min_ratio_sd": "best_grad_ratio_sd",
    "loss_min_ratio": "best_loss_ratio",
    "loss_min_ratio_sd": "best_loss_ratio_sd",
    "n_reps": "n_reps",
    "n_unsettled": "n_unsettled",
}
_REQUIRED = ("noise_to_signal", "fluct_per_sqrtN", "predicted_ratio", "grad_min_ratio", "loss_min_ratio")

#: eq9a recomputed from a CSV's Q columns must match its predicted_ratio column to this
#: relative error: both are float64 sqrt(Q_eps/Q_c) written with repr (17 significant
#: digits), so only a few ulps of rounding separate them; anything larger means the
#: column is not eq9a of the measured Q.
EQ9A_REL_TOL = 1e-12


def _number(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def predictions_from_csv(sources: Sequence[tuple[str, Path]]) -> dict[str, Any]:
    """Merge figK_predicted.csv files (one row per panel) into one table plus findings.

    ``sources`` are (figure key, path).  A missing file raises ``FileNotFoundError``; a file
    without the needed columns raises ``ValueError`` naming them.
    """
    rows: list[dict[str, Any]] = []
    for key, path in sources:
        fields, records = _read_csv(path)
        missing = [_PANEL_COLUMNS[k] for k in _REQUIRED if _PANEL_COLUMNS[k] not in fields]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; columns are {fields}")
        for rec in records:
            row: dict[str, Any] = {"figure": key}
            for norm, col in _PANEL_COLUMNS.items():
                if col in rec:
                    row[norm] = rec[col] if norm == "network" else _number(rec[col])
            p, lm = row.get("predicted_ratio"), row.get("loss_min_ratio")
            ok = p is not None and lm is not None and math.isfinite(p) and lm > 0
            row["predicted_over_loss_min"] = p / lm if ok else None
            rows.append(row)
    return {"rows": rows, "findings": _findings(rows), "checks": []}


def eq9a_consistency(path: Path) -> tuple[int, float]:
    """(runs compared, worst relative difference) between a per-run CSV's ``predicted_ratio``
    and eq9a recomputed here from its ``Q_eps`` and ``Q_c`` columns by
    ``plasticity.derivations.closed_forms.steady_state_ratio`` (rows where eq9a does not apply,
    Q_c ≤ 0 or Q_eps < 0, must have an empty/NaN prediction and are not compared).
    """
    import numpy as np

    from plasticity.derivations import closed_forms

    fields, records = _read_csv(path)
    missing = [c for c in ("Q_eps", "Q_c", "predicted_ratio") if c not in fields]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")

    def col(name: str) -> np.ndarray:
        return np.array([_number(r[name]) if _number(r[name]) is not None else np.nan for r in records])

    q_eps, q_c, given = col("Q_eps"), col("Q_c"), col("predicted_ratio")
    applies = closed_forms.applies("steady_state_ratio", q_eps, q_c)
    if np.isfinite(given[~applies]).any():
        raise ValueError(
            f"{path}: a run has a predicted_ratio where eq9a does not apply (Q_c ≤ 0 or Q_eps ≤ 0)"
        )
    if not applies.any():
        return 0, 0.0
    ours = np.asarray(closed_forms.steady_state_ratio(q_eps[applies], q_c[applies]), float)
    rel = np.abs(given[applies] - ours) / np.abs(ours)
    worst = float(np.nanmax(np.where(np.isfinite(rel), rel, np.inf)))
    return int(applies.sum()), worst


def _ratio_grid(prov_path: Path) -> list[float] | None:
    """The swept ratio grid, from a figK.json provenance (None if absent)."""
    try:
        ratios = json.loads(prov_path.read_text(encoding="utf-8"))["parameters"]["ratios"]
        return [float(r) for r in ratios]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _grid_step(ratios: Sequence[float] | None) -> float | None:
    steps = [b - a for a, b in zip(ratios or [], (ratios or [])[1:], strict=False)]
    return float(min(steps)) if steps else None


def _findings(
    rows: Sequence[Mapping[str, Any]], steps: Mapping[str, float | None] | None = None
) -> list[str]:
    out = []
    for key, name in (("5", "Figure 5"), ("5s1", "Figure 5—supplement 1")):
        panel = [r for r in rows if r.get("figure") == key]
        q = [r["predicted_over_loss_min"] for r in panel if r.get("predicted_over_loss_min") is not None]
        g = [
            (r["predicted_ratio"], r["grad_min_ratio"])
            for r in panel
            if r.get("predicted_ratio") is not None
            and r.get("grad_min_ratio") is not None
            and math.isfinite(r["predicted_ratio"])
            and math.isfinite(r["grad_min_ratio"])
        ]
        if q:
            out.append(
                f"{name}: predicted ÷ loss-minimising ratio ranges {min(q):.3g} to {max(q):.3g} "
                f"over {len(q)} panels."
            )
        if g:
            diff = [abs(a - b) for a, b in g]
            text = (
                f"{name}: |predicted − gradient-norm-minimising ratio| is at most {max(diff):.3g} "
                f"(mean {sum(diff) / len(diff):.3g}) over {len(g)} panels"
            )
            step = (steps or {}).get(key)
            if step:
                within = sum(d <= step + 1e-12 for d in diff)
                text += f"; {within} of {len(g)} within one step ({step:.3g}) of the swept ratio grid"
            out.append(text + ".")
        unsettled = sum(int(r.get("n_unsettled") or 0) for r in panel)
        if unsettled:
            out.append(
                f"{name}: {unsettled} runs had not settled by the end (see figK.csv, column settled); "
                "their steady-state numbers are less certain."
            )
    return out


def _write_predictions_csv(path: Path, doc: Mapping[str, Any]) -> None:
    columns = ["figure", *_PANEL_COLUMNS, "predicted_over_loss_min"]
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in doc["rows"]:
        writer.writerow({c: ("" if row.get(c) is None else row.get(c)) for c in columns})
    atomic_write_text(path, buf.getvalue())


def write_predictions(out: Path) -> int:
    """Merge the per-panel predictions of figures 5 and 5s1 in ``out`` and recheck eq9a run by run.

    Writes ``out/predictions.json`` and ``out/predictions.csv``; returns 0, or 1 (after
    writing its files) if a per-run prediction in figK.csv is not eq9a
    of that run's measured Q, as recomputed here from ``plasticity.derivations.closed_forms``.
    """
    keys = ("5", "5s1")
    doc = predictions_from_csv([(k, out / f"fig{k}_predicted.csv") for k in keys])
    grids = {k: _ratio_grid(out / f"fig{k}.json") for k in keys}
    for row in doc["rows"]:
        grid, reps = grids.get(row["figure"]), row.get("n_reps")
        if grid and isinstance(reps, float) and reps.is_integer():
            row["n_runs"] = int(reps) * len(grid)  # runs behind one panel: repetitions × swept ratios
    doc["findings"] = _findings(doc["rows"], {k: _grid_step(g) for k, g in grids.items()})
    status = 0
    for k in keys:
        runs = out / f"fig{k}.csv"
        if not runs.exists():
            continue
        n, worst = eq9a_consistency(runs)
        ok = worst <= EQ9A_REL_TOL
        doc["checks"].append(
            {"figure": k, "runs": n, "worst_rel_diff": worst, "tolerance": EQ9A_REL_TOL, "ok": ok}
        )
        verdict = "agrees" if ok else "DISAGREES"
        doc["findings"].append(
            f"fig{k}.csv: eq9a recomputed from each run's measured Q[Δε], Q[Δc] with "
            f"plasticity.derivations.closed_forms {verdict} with the per-run predicted_ratio "
            f"({n} runs, worst relative difference {worst:.2g}, "
            f"tolerance {EQ9A_REL_TOL:g})."
        )
        if not ok:
            print(f"predictions: fig{k}.csv predicted_ratio is not eq9a of its Q columns", file=sys.stderr)
            status = 1
    atomic_write_text(out / "predictions.json", json.dumps(doc, indent=2) + "\n")
    _write_predictions_csv(out / "predictions.csv", doc)
    return status
