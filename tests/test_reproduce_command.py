"""`plasticity reproduce`: stage bookkeeping, resume after interruption, failing stages.

The stages here are small fakes that write files and log each call to ``calls.txt``, so
these tests check the runner (what runs, what is skipped, what is reported) in well under a
second each; the real stages are exercised by the slow end-to-end test.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from plasticity.checks.cli import main
from plasticity.checks.pipeline import stages
from plasticity.checks.pipeline.predictions import (
    EQ9A_REL_TOL,
    eq9a_consistency,
    predictions_from_csv,
    write_predictions,
)
from plasticity.checks.pipeline.runner import MANIFEST, Stage, StageContext, load_manifest, run_stages
from plasticity.checks.pipeline.stages import default_stages
from plasticity.checks.reproduce import reproduce

# ----------------------------------------------------------------------------- fake stages


def _called(ctx: StageContext, name: str) -> None:
    with open(ctx.out / "calls.txt", "a") as fh:
        fh.write(name + "\n")


def calls(out: Path) -> list[str]:
    path = out / "calls.txt"
    return path.read_text().split() if path.exists() else []


def stage_a(ctx: StageContext) -> int:
    _called(ctx, "a")
    (ctx.out / "a.txt").write_text("a")
    print("stage a says hello")  # goes to logs/a.log
    return 0


def stage_b(ctx: StageContext) -> int:
    _called(ctx, "b")
    (ctx.out / "b.txt").write_text((ctx.out / "a.txt").read_text() + "b")
    return 0


def stage_flaky(ctx: StageContext) -> int:
    """Raises while ``ctx.out/break`` exists (an interruption), succeeds afterwards."""
    _called(ctx, "flaky")
    if (ctx.out / "break").exists():
        raise RuntimeError("simulated crash in the middle of the sweep")
    (ctx.out / "flaky.txt").write_text("ok")
    return 0


def stage_after_flaky(ctx: StageContext) -> int:
    _called(ctx, "after")
    (ctx.out / "after.txt").write_text((ctx.out / "flaky.txt").read_text())
    return 0


def stage_interrupt(ctx: StageContext) -> int:
    _called(ctx, "interrupt")
    if (ctx.out / "break").exists():
        raise KeyboardInterrupt
    (ctx.out / "interrupt.txt").write_text("ok")
    return 0


def stage_exit_1(ctx: StageContext) -> int:
    _called(ctx, "exit1")
    print("plasticity verify: a claim that should hold FAILED", file=sys.stderr)
    return 1


def stage_no_output(ctx: StageContext) -> int:
    _called(ctx, "lazy")
    return 0


def stage_sys_exit(ctx: StageContext) -> int:
    _called(ctx, "sysexit")
    raise SystemExit(2)  # what argparse does on a bad option


def stage_dies(ctx: StageContext) -> int:
    _called(ctx, "dies")
    os._exit(3)  # a worker killed from outside (out of memory, a signal) looks like this


def stages_with_flaky() -> list[Stage]:
    return [
        Stage("a", "first", stage_a, ("a.txt",)),
        Stage("b", "second", stage_b, ("b.txt",), deps=("a",)),
        Stage("flaky", "crashes once", stage_flaky, ("flaky.txt",)),
        Stage("after", "needs flaky", stage_after_flaky, ("after.txt",), deps=("flaky",)),
    ]


def statuses(records) -> dict[str, str]:
    return {r.name: r.status for r in records}


# ----------------------------------------------------------------------------- runner


def test_all_stages_run_and_are_recorded(tmp_path: Path) -> None:
    log = io.StringIO()
    records = run_stages(stages_with_flaky(), tmp_path, scale="full", log=log)
    assert statuses(records) == {"a": "ok", "b": "ok", "flaky": "ok", "after": "ok"}
    assert calls(tmp_path) == ["a", "b", "flaky", "after"]
    manifest = load_manifest(tmp_path)
    assert manifest is not None and manifest["scale"] == "full"
    assert set(manifest["stages"]) == {"a", "b", "flaky", "after"}
    assert all(r.seconds is not None and r.seconds >= 0 for r in records)
    # progress and timing on the log stream, one line per stage start and end
    text = log.getvalue()
    assert "[1/4] a: first ..." in text and "[4/4] after: ok in " in text
    assert (tmp_path / "logs" / "a.log").read_text() == "stage a says hello\n"
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave nothing behind


def test_a_crashing_stage_is_resumed_without_redoing_finished_ones(tmp_path: Path) -> None:
    (tmp_path / "break").touch()
    for stale in ("flaky.txt", "after.txt"):  # left by some earlier run: must not pass for this one's
        (tmp_path / stale).write_text("stale")
    first = run_stages(stages_with_flaky(), tmp_path, scale="full", log=io.StringIO())
    assert statuses(first) == {"a": "ok", "b": "ok", "flaky": "failed", "after": "not run"}
    assert not (tmp_path / "flaky.txt").exists() and not (tmp_path / "after.txt").exists()
    failed = {r.name: r for r in first}["flaky"]
    assert "RuntimeError: simulated crash" in failed.error
    assert "not run because flaky failed" in {r.name: r for r in first}["after"].error
    assert set(load_manifest(tmp_path)["stages"]) == {"a", "b"}  # only finished stages recorded

    (tmp_path / "break").unlink()
    second = run_stages(stages_with_flaky(), tmp_path, scale="full", log=io.StringIO())
    assert statuses(second) == {"a": "resumed", "b": "resumed", "flaky": "ok", "after": "ok"}
    # a and b ran exactly once over both runs; flaky twice (crash, then success)
    assert calls(tmp_path) == ["a", "b", "flaky", "flaky", "after"]
    assert set(load_manifest(tmp_path)["stages"]) == {"a", "b", "flaky", "after"}


def test_keyboard_interrupt_stops_the_run_and_the_rerun_resumes(tmp_path: Path) -> None:
    stages = [
        Stage("a", "first", stage_a, ("a.txt",)),
        Stage("interrupt", "ctrl-c here", stage_interrupt, ("interrupt.txt",)),
        Stage("b", "second", stage_b, ("b.txt",), deps=("a",)),
    ]
    (tmp_path / "break").touch()
    with pytest.raises(KeyboardInterrupt):
        run_stages(stages, tmp_path, scale="full", log=io.StringIO())
    assert calls(tmp_path) == ["a", "interrupt"]  # b never started
    assert set(load_manifest(tmp_path)["stages"]) == {"a"}
    (tmp_path / "break").unlink()
    records = run_stages(stages, tmp_path, scale="full", log=io.StringIO())
    assert statuses(records) == {"a": "resumed", "interrupt": "ok", "b": "ok"}
    assert calls(tmp_path) == ["a", "interrupt", "interrupt", "b"]


def test_force_and_deleted_outputs_and_other_scales_rerun(tmp_path: Path) -> None:
    run_stages(stages_with_flaky(), tmp_path, scale="full", log=io.StringIO())
    assert calls(tmp_path) == ["a", "b", "flaky", "after"]
    run_stages(stages_with_flaky(), tmp_path, scale="full", force=True, log=io.StringIO())
    assert calls(tmp_path)[4:] == ["a", "b", "flaky", "after"]
    (tmp_path / "b.txt").unlink()  # a recorded stage whose output vanished is redone
    records = run_stages(stages_with_flaky(), tmp_path, scale="full", log=io.StringIO())
    assert statuses(records)["b"] == "ok" and calls(tmp_path)[8:] == ["b"]
    # a manifest of another scale is not resumed
    records = run_stages(stages_with_flaky(), tmp_path, scale="quick", log=io.StringIO())
    assert set(statuses(records).values()) == {"ok"}
    # resume=False always reruns
    run_stages(stages_with_flaky(), tmp_path, scale="quick", resume=False, log=io.StringIO())
    assert calls(tmp_path)[-4:] == ["a", "b", "flaky", "after"]


def test_a_corrupt_manifest_means_start_afresh(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text("{truncated")
    assert load_manifest(tmp_path) is None
    records = run_stages(stages_with_flaky(), tmp_path, scale="full", log=io.StringIO())
    assert set(statuses(records).values()) == {"ok"}


def test_failures_are_named_and_do_not_stop_other_stages(tmp_path: Path) -> None:
    stages = [
        Stage("exit1", "returns 1", stage_exit_1, ()),
        Stage("lazy", "writes nothing", stage_no_output, ("promised.txt",)),
        Stage("sysexit", "argparse exit", stage_sys_exit, ()),
        Stage("a", "first", stage_a, ("a.txt",)),
    ]
    (tmp_path / "promised.txt").write_text("stale, from an earlier run")
    records = {r.name: r for r in run_stages(stages, tmp_path, scale="quick", log=io.StringIO())}
    assert records["exit1"].status == "failed"
    assert records["exit1"].error == "exit status 1: plasticity verify: a claim that should hold FAILED"
    assert records["lazy"].status == "failed" and "did not write promised.txt" in records["lazy"].error
    assert records["sysexit"].status == "failed" and "SystemExit: 2" in records["sysexit"].error
    assert records["a"].status == "ok"
    assert "a claim that should hold FAILED" in (tmp_path / "logs" / "exit1.log").read_text()


def test_parallel_workers_give_the_same_bookkeeping(tmp_path: Path) -> None:
    (tmp_path / "break").touch()
    records = run_stages(stages_with_flaky(), tmp_path, scale="full", jobs=2, log=io.StringIO())
    assert statuses(records) == {"a": "ok", "b": "ok", "flaky": "failed", "after": "not run"}
    (tmp_path / "break").unlink()
    records = run_stages(stages_with_flaky(), tmp_path, scale="full", jobs=2, log=io.StringIO())
    assert statuses(records) == {"a": "resumed", "b": "resumed", "flaky": "ok", "after": "ok"}
    assert sorted(calls(tmp_path)) == sorted(["a", "b", "flaky", "flaky", "after"])


def test_a_worker_process_that_dies_is_a_failed_stage(tmp_path: Path) -> None:
    stages = [*stages_with_flaky(), Stage("dies", "killed", stage_dies, ("never.txt",))]
    records = {r.name: r for r in run_stages(stages, tmp_path, scale="full", jobs=2, log=io.StringIO())}
    assert records["dies"].status == "failed"
    assert "worker process ended with exit code 3" in records["dies"].error
    assert {records[k].status for k in ("a", "b", "flaky", "after")} == {"ok"}


def test_bad_stage_lists_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unique"):
        run_stages([Stage("a", "", stage_a), Stage("a", "", stage_a)], tmp_path, scale="quick")
    with pytest.raises(ValueError, match="not earlier stages"):
        run_stages([Stage("b", "", stage_b, deps=("a",)), Stage("a", "", stage_a)], tmp_path, scale="quick")
    with pytest.raises(ValueError, match="jobs"):
        run_stages([Stage("a", "", stage_a)], tmp_path, scale="quick", jobs=0)


# ----------------------------------------------------------------------------- the command


def test_reproduce_writes_the_report_and_fails_naming_the_stage(tmp_path: Path) -> None:
    (tmp_path / "break").touch()
    log = io.StringIO()
    status = reproduce(tmp_path, scale="full", stages=stages_with_flaky(), log=log)
    assert status == 1
    assert "FAILED stage(s): flaky, after" in log.getvalue()
    page = (tmp_path / "report.html").read_text()
    assert "2 stage(s) failed" in page and "simulated crash in the middle of the sweep" in page
    (tmp_path / "break").unlink()
    assert reproduce(tmp_path, scale="full", stages=stages_with_flaky(), log=io.StringIO()) == 0
    page = (tmp_path / "report.html").read_text()
    assert "all stages finished" in page and "resumed" in page


def test_quick_runs_start_afresh(tmp_path: Path) -> None:
    assert reproduce(tmp_path, scale="quick", stages=stages_with_flaky(), log=io.StringIO()) == 0
    assert reproduce(tmp_path, scale="quick", stages=stages_with_flaky(), log=io.StringIO()) == 0
    assert calls(tmp_path) == ["a", "b", "flaky", "after"] * 2


def test_cli_exit_status_names_the_failed_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "break").touch()
    monkeypatch.setattr("plasticity.checks.reproduce.default_stages", lambda scale: stages_with_flaky())
    assert main(["reproduce", "--full", "--out", str(tmp_path), "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert "flaky: failed" in err and "FAILED stage(s): flaky, after" in err
    assert (tmp_path / "report.html").exists()


def test_cli_user_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--out", str(tmp_path), "--jobs", "0"]) == 2
    assert "jobs must be at least 1" in capsys.readouterr().err
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    assert main(["reproduce", "--out", str(not_a_dir)]) == 2
    assert "not a directory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["reproduce", "--quick", "--full"])


def test_default_stages_cover_the_whole_job() -> None:
    names = [s.name for s in default_stages("quick")]
    assert names == ["derive", "verify", "figure1", "figure5", "figure5s1", "predictions", "landscape"]
    quick = {s.name: s for s in default_stages("quick")}
    full = {s.name: s for s in default_stages("full")}
    assert "--profile ci" in quick["verify"].command and "--profile thorough" in full["verify"].command
    assert "--quick" in quick["figure5"].command and "--full" in full["figure5"].command
    assert "fig5_predicted.csv" in quick["figure5"].outputs
    assert quick["predictions"].deps == ("figure5", "figure5s1")
    with pytest.raises(ValueError, match="scale"):
        default_stages("medium")


# ----------------------------------------------------------------------------- predictions


def _write_csv(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_predictions_merge_both_figures(tmp_path: Path) -> None:
    header = "network,noise_to_signal,fluct_per_sqrtN,predicted_ratio,best_grad_ratio,best_loss_ratio"
    f5 = _write_csv(tmp_path / "a.csv", header, "nonlinear,0.1,0.01,0.214,0.19,0.34")
    f5s1 = _write_csv(tmp_path / "b.csv", header, "linear,5,0.03,0.9,0.85,1.2")
    doc = predictions_from_csv([("5", f5), ("5s1", f5s1)])
    first, second = doc["rows"]
    assert first["figure"] == "5" and first["network"] == "nonlinear" and first["predicted_ratio"] == 0.214
    assert first["predicted_over_loss_min"] == pytest.approx(0.214 / 0.34, rel=1e-12)
    assert second["figure"] == "5s1" and second["noise_to_signal"] == 5.0
    assert any("Figure 5: predicted ÷ loss-minimising ratio ranges 0.629" in f for f in doc["findings"])
    assert any("is at most 0.05" in f for f in doc["findings"])  # |0.9 - 0.85| in 5s1
    json.dumps(doc)  # JSON-ready


def test_predictions_refuse_a_csv_without_the_columns(tmp_path: Path) -> None:
    bad = _write_csv(tmp_path / "bad.csv", "network,ratio", "linear,0.1")
    with pytest.raises(ValueError, match="predicted_ratio, best_grad_ratio, best_loss_ratio"):
        predictions_from_csv([("5", bad)])
    with pytest.raises(FileNotFoundError):
        predictions_from_csv([("5", tmp_path / "missing.csv")])


def test_predictions_stage_rechecks_eq9a_run_by_run(tmp_path: Path) -> None:
    from test_report import make_fake_results, write_run_csv

    out = make_fake_results(tmp_path)
    doc = json.loads((out / "predictions.json").read_text())
    assert [c["ok"] for c in doc["checks"]] == [True, True]
    assert all(c["worst_rel_diff"] <= EQ9A_REL_TOL for c in doc["checks"])
    # a per-run prediction that is not eq9a of the run's Q (the square root dropped) is caught
    q_eps, q_c = [0.03, 0.05, 0.2], [0.7, 0.4, 0.21]
    write_run_csv(out / "fig5.csv", q_eps, q_c, predicted=[e / c for e, c in zip(q_eps, q_c, strict=True)])
    assert write_predictions(out) == 1
    doc = json.loads((out / "predictions.json").read_text())
    assert [c["ok"] for c in doc["checks"]] == [False, True]
    assert any("fig5.csv" in f and "DISAGREES" in f for f in doc["findings"])
    # so is a prediction where eq9a does not apply (Q[Δc] ≤ 0)
    write_run_csv(out / "fig5.csv", [0.03], [-0.1], predicted=[0.5])
    with pytest.raises(ValueError, match="eq9a does not apply"):
        eq9a_consistency(out / "fig5.csv")


def test_full_figure_stages_checkpoint_and_force_clears_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import plasticity.checks.pipeline.figures as figures
    import plasticity.checks.verify as verify

    seen: list[tuple] = []
    monkeypatch.setattr(figures, "run_figure", lambda key, out, **kw: seen.append(("figure", key, out, kw)))
    monkeypatch.setattr(verify, "verify", lambda profile, **kw: seen.append(("verify", profile, kw)) or 0)
    checkpoint = tmp_path / "checkpoints" / "fig5"
    checkpoint.mkdir(parents=True)
    (checkpoint / "chunk-0.npz").write_text("finished chunk")
    assert stages._stage_figure5(StageContext(out=tmp_path, scale="full")) == 0
    assert seen[-1] == ("figure", "5", tmp_path, {"scale": "full", "checkpoint_dir": checkpoint})
    assert (checkpoint / "chunk-0.npz").exists()  # a resumed stage keeps the sweep's finished chunks
    stages._stage_figure5(StageContext(out=tmp_path, scale="full", force=True))
    assert not checkpoint.exists()  # --force redoes the sweep from scratch
    stages._stage_figure1(StageContext(out=tmp_path, scale="quick"))
    assert seen[-1] == ("figure", "1", tmp_path, {"scale": "quick", "checkpoint_dir": None})
    assert stages._stage_verify(StageContext(out=tmp_path, scale="full")) == 0
    assert seen[-1] == ("verify", "thorough", {"json": str(tmp_path / "claims.json")})


def test_landscape_stage_reads_its_example_from_package_data() -> None:
    import importlib.resources

    example = importlib.resources.files("plasticity.checks.pipeline") / "examples"
    assert stages.EXAMPLES == example
    assert (example / "hessian.npy").is_file() and (example / "point_equal.npy").is_file()
    command = stages.landscape_command()
    assert command.startswith("plasticity landscape checks/pipeline/examples/hessian.npy --at ")
    assert command.endswith("--minimum 0 --simulate --json DIR/landscape.json")
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    # installed with the package, not only present in a checkout
    assert "examples/*.npy" in pyproject["tool"]["setuptools"]["package-data"]["plasticity.checks.pipeline"]
