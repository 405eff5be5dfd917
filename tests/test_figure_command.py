"""`plasticity figure`: a tiny configuration writes every file with the right columns."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import numpy as np
import pytest

from plasticity.checks.cli import main
from plasticity.checks.pipeline import figures
from plasticity.numerics.dynamics import SweepProtocol
from plasticity.numerics.experiments import StagedExperiment, SweepExperiment

TINY5 = SweepExperiment(
    name="fig5",
    network="nonlinear",
    noise_to_signal=(0.1, 20.0, 50.0),
    fluct_per_sqrtN=(0.01, 0.02, 0.03),
    ratios=(0.4, 1.0, 1.6),
    reps=2,
    protocol=SweepProtocol(steps=40, window=10, settle_window=10, measure_every=5),
    scale="quick",
    chunk_runs=27,
)
TINY1 = StagedExperiment(
    name="fig1",
    network="nonlinear",
    eps_norm=2.0,
    stage_ratios=(0.2, 1.0, 5.0),
    stage_steps=40,
    reps=2,
    n_tracked=4,
    protocol=SweepProtocol(steps=40, window=10, record_every=2, settle_window=20, measure_every=5),
    scale="quick",
)


def _tiny(name: str, scale: str = "quick"):
    return {"fig5": TINY5, "fig1": TINY1, "fig5s1": TINY5}[name]


def _rows(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_figure_5_command_writes_all_files(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(figures, "experiment", _tiny)
    assert main(["figure", "5", "--quick", "--seed", "7", "--out", str(tmp_path), "--quiet"]) == 0
    for suffix in (".png", ".pdf", ".csv", ".json", "_predicted.csv"):
        assert (tmp_path / f"fig5{suffix}").stat().st_size > 0
    rows = _rows(tmp_path / "fig5.csv")
    assert len(rows) == 3 * 3 * 3 * 2
    need = {
        "network",
        "noise_to_signal",
        "fluct_per_sqrtN",
        "ratio",
        "rep",
        "steady_loss",
        "settled",
        "grad_norm",
        "Q_c",
        "Q_eps",
        "predicted_ratio",
    }
    assert need <= set(rows[0])
    assert all(np.isfinite(float(r["steady_loss"])) and float(r["steady_loss"]) > 0 for r in rows)
    assert {r["settled"] for r in rows} <= {"true", "false"}
    pred = _rows(tmp_path / "fig5_predicted.csv")
    assert len(pred) == 9
    assert {"predicted_ratio", "best_loss_ratio", "best_grad_ratio", "best_loss_ratio_sd"} <= set(pred[0])
    prov = json.loads((tmp_path / "fig5.json").read_text())
    assert prov["seed"] == 7 and prov["scale"] == "quick" and prov["wall_time_s"] > 0
    assert prov["parameters"]["protocol"]["steps"] == 40 and "package_version" in prov
    assert "fig5.png" in capsys.readouterr().out


def test_figure_1_writes_trace_and_stage_table(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(figures, "experiment", _tiny)
    assert main(["figure", "1", "--out", str(tmp_path), "--quiet"]) == 0
    for name in ("fig1.png", "fig1.pdf", "fig1.csv", "fig1.json", "fig1_trace.csv"):
        assert (tmp_path / name).stat().st_size > 0
    stages = _rows(tmp_path / "fig1.csv")
    assert len(stages) == 2 * 3 and {"stage", "ratio", "steady_loss", "settled"} <= set(stages[0])
    trace = _rows(tmp_path / "fig1_trace.csv")
    assert len(trace) == 3 * 40 // 2 and len([k for k in trace[0] if k.startswith("weight_")]) == 4


def test_same_seed_same_csv(tmp_path, monkeypatch) -> None:
    one_panel = replace(TINY5, noise_to_signal=(20.0,), fluct_per_sqrtN=(0.02,))
    monkeypatch.setattr(figures, "experiment", lambda name, scale="quick": one_panel)
    for d in ("a", "b"):
        assert main(["figure", "5", "--seed", "3", "--out", str(tmp_path / d), "--quiet"]) == 0
    assert (tmp_path / "a/fig5.csv").read_text() == (tmp_path / "b/fig5.csv").read_text()


@pytest.mark.parametrize(
    "bad",
    [
        ["figure", "6", "--out", "X"],
        ["figure", "5", "--seed", "-1", "--out", "X"],
        ["figure", "5", "--workers", "0", "--out", "X"],
    ],
)
def test_bad_input_is_a_one_line_error(bad, tmp_path, capsys) -> None:
    bad = [str(tmp_path / "o") if a == "X" else a for a in bad]
    assert main(bad) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("plasticity figure: error:") and "\n" not in err


def test_unknown_figure_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="1, 5, 5s1"):
        figures.figure_name("7")
    assert figures.figure_name("fig5s1") == "fig5s1"


def test_processes_and_threads_exclude_each_other(tmp_path, capsys) -> None:
    bad = ["figure", "5", "--processes", "--threads", "--out", str(tmp_path / "o")]
    assert main(bad) == 2
    assert "exclude each other" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "expect_pool"),
    [(["--full"], True), (["--full", "--threads"], False), ([], False), (["--processes"], True)],
)
def test_full_sweeps_default_to_a_process_pool(flags, expect_pool, tmp_path, monkeypatch) -> None:
    from concurrent.futures import ProcessPoolExecutor

    seen = {}

    def fake_make_figure(name, out, *, executor=None, **kwargs):  # noqa: ANN001, ANN202, ANN003
        seen["executor"] = executor
        return []

    monkeypatch.setattr(figures, "make_figure", fake_make_figure)
    assert main(["figure", "5", *flags, "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert isinstance(seen["executor"], ProcessPoolExecutor) is expect_pool
