"""`plasticity reproduce`: run every part of the toolkit and collect the results in one report.

The work is a list of :class:`Stage` objects (derive, verify, figures 1/5/5s1, the
predicted-versus-simulated comparison, a landscape check).  :func:`run_stages` runs them,
reports progress and timing on stderr, keeps going when one fails (a stage whose inputs
failed is marked ``not run``), and records each finished stage in ``DIR/manifest.json``
(written atomically) so that an interrupted run resumes without redoing finished stages.
:func:`reproduce` adds the report (:mod:`checks.report`) and the exit status.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import io
import json
import math
import multiprocessing
import os
import shlex
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing import connection as mp_connection
from pathlib import Path
from typing import Any, TextIO

from checks.report import StageRecord, collect_provenance, derivations_document, write_report
from numerics.files import atomic_write_text

__all__ = [
    "EQ9A_REL_TOL",
    "MANIFEST",
    "SCALES",
    "Stage",
    "StageContext",
    "default_stages",
    "eq9a_consistency",
    "landscape_args",
    "load_manifest",
    "predictions_from_csv",
    "reproduce",
    "run_stages",
]

#: the manifest of finished stages, inside the output directory
MANIFEST = "manifest.json"
#: scale -> verify profile
SCALES: dict[str, str] = {"quick": "ci", "full": "thorough"}
_MANIFEST_VERSION = 1


@dataclass(frozen=True)
class StageContext:
    """What every stage is given: the output directory and the scale (quick or full)."""

    out: Path
    scale: str
    force: bool = False


@dataclass(frozen=True)
class Stage:
    """One unit of work: ``run(ctx)`` returns an exit status (0 = success) or raises.

    ``outputs`` are file names (relative to the output directory) the stage must leave
    behind; a stage that returns 0 without writing them has failed.  ``deps`` name stages
    whose outputs it reads.  ``run`` must be a module-level function (stages may run in
    worker processes).
    """

    name: str
    title: str
    run: Callable[[StageContext], int]
    outputs: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    command: str = ""


# --------------------------------------------------------------------------- manifest


def load_manifest(out: Path) -> dict[str, Any] | None:
    """The manifest in ``out``, or None if there is none (an unreadable one counts as none)."""
    path = Path(out) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != _MANIFEST_VERSION:
        return None
    return data


def _save_manifest(out: Path, manifest: Mapping[str, Any]) -> None:
    atomic_write_text(Path(out) / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")


# --------------------------------------------------------------------------- running


class _Tee:
    """A text stream writing to the terminal's stream and to a log, remembering the last lines."""

    def __init__(self, stream: TextIO, log: TextIO) -> None:
        self.stream, self.log, self.tail = stream, log, ""

    def write(self, text: str) -> int:
        self.log.write(text)
        self.tail = (self.tail + text)[-2000:]
        return self.stream.write(text)

    def flush(self) -> None:
        self.log.flush()
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def last_line(self) -> str:
        lines = [ln.strip() for ln in self.tail.replace("\r", "\n").splitlines() if ln.strip()]
        return lines[-1] if lines else ""


def _clear_outputs(stage: Stage, out: Path) -> None:
    for name in stage.outputs:
        (out / name).unlink(missing_ok=True)


def _execute(stage: Stage, ctx: StageContext) -> tuple[str, float, str]:
    """Run one stage; (status, seconds, error).  Never raises except on Ctrl-C.

    The stage's stdout goes to ``logs/<stage>.log``; its stderr goes to the terminal and to
    the same log, and its last line is quoted when the stage fails.
    """
    _clear_outputs(stage, ctx.out)  # a stale file from an earlier run must not pass for this run's
    start = time.perf_counter()
    log_path = ctx.out / "logs" / f"{stage.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as log:
        tee = _Tee(sys.stderr, log)
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(tee):
                status = stage.run(ctx)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - one stage failing (even SystemExit) must not stop the rest
            tb = traceback.format_exc(limit=-3)
            return "failed", time.perf_counter() - start, f"{type(exc).__name__}: {exc}\n{tb}".strip()
    seconds = time.perf_counter() - start
    if isinstance(status, bool) or not isinstance(status, int):
        return "failed", seconds, f"stage returned {status!r}, not an exit status"
    if status != 0:
        said = tee.last_line()
        return "failed", seconds, f"exit status {status}" + (f": {said}" if said else "")
    missing = [o for o in stage.outputs if not (ctx.out / o).exists()]
    if missing:
        return "failed", seconds, f"finished but did not write {', '.join(missing)}"
    return "ok", seconds, ""


def _child(stage: Stage, ctx: StageContext, conn: Any) -> None:
    """Body of a worker process: run the stage, send (status, seconds, error) back."""
    try:
        conn.send(_execute(stage, ctx))
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent reports it
        os._exit(130)
    finally:
        conn.close()


@dataclass
class _Worker:
    """One stage running in its own process (so that Ctrl-C can stop it at once)."""

    stage: Stage
    process: Any
    conn: Any

    @classmethod
    def start(cls, stage: Stage, ctx: StageContext) -> _Worker:
        receive, send = multiprocessing.Pipe(duplex=False)
        process = multiprocessing.Process(
            target=_child, args=(stage, ctx, send), name=f"reproduce-{stage.name}"
        )
        process.start()
        send.close()
        return cls(stage, process, receive)

    def result(self) -> tuple[str, float, str]:
        """The stage's outcome once its process has ended (a crashed process is a failed stage)."""
        outcome = None
        try:
            if self.conn.poll():
                outcome = self.conn.recv()
        except (EOFError, OSError):
            outcome = None
        self.process.join()
        self.conn.close()
        if outcome is None:
            return (
                "failed",
                math.nan,
                f"worker process ended with exit code {self.process.exitcode} and no result",
            )
        return outcome

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=10)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
        self.conn.close()


def _check_stages(stages: Sequence[Stage]) -> None:
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"stage names must be unique, got {names}")
    for i, s in enumerate(stages):
        unknown = [d for d in s.deps if d not in names[:i]]
        if unknown:
            raise ValueError(f"stage {s.name!r} depends on {unknown}, which are not earlier stages")


def run_stages(
    stages: Sequence[Stage],
    out: Path,
    *,
    scale: str,
    force: bool = False,
    resume: bool = True,
    jobs: int = 1,
    log: TextIO | None = None,
) -> list[StageRecord]:
    """Run ``stages`` into ``out``, skipping those a previous run of the same scale finished.

    A stage is skipped (status ``resumed``) when ``resume`` is set, ``force`` is not, the
    manifest records it as finished at this scale and its outputs still exist.  A failing
    stage does not stop the others; a stage whose dependency failed is ``not run``.  With
    ``jobs > 1`` independent stages run in parallel, each in its own process; Ctrl-C stops
    them at once (finished stages stay recorded).
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    _check_stages(stages)
    log = sys.stderr if log is None else log
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = StageContext(out=out, scale=scale, force=force)
    old = load_manifest(out) if resume and not force else None
    if old is not None and old.get("scale") != scale:
        old = None  # results of another scale are not resumable here
    finished: dict[str, Any] = dict(old["stages"]) if old else {}
    manifest: dict[str, Any] = {
        "version": _MANIFEST_VERSION,
        "scale": scale,
        "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        # stages finished earlier stay recorded until they are rerun and fail
        "stages": {k: v for k, v in finished.items() if isinstance(v, dict) and v.get("status") == "ok"},
    }
    records: dict[str, StageRecord] = {}
    n = len(stages)
    index = {s.name: i + 1 for i, s in enumerate(stages)}

    def say(text: str) -> None:
        print(f"[reproduce] {text}", file=log, flush=True)

    def record(stage: Stage, status: str, seconds: float | None, error: str) -> None:
        records[stage.name] = StageRecord(
            name=stage.name,
            title=stage.title,
            status=status,
            seconds=seconds,
            error=error,
            outputs=tuple(o for o in (*stage.outputs, f"logs/{stage.name}.log") if (out / o).exists()),
            command=stage.command,
        )
        if status in ("ok", "resumed"):
            manifest["stages"][stage.name] = {
                "status": "ok",
                "seconds": seconds,
                "outputs": list(stage.outputs),
                "finished": finished.get(stage.name, {}).get("finished")
                if status == "resumed"
                else _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            }
        else:
            manifest["stages"].pop(stage.name, None)
        _save_manifest(out, manifest)
        timing = f" in {seconds:.1f} s" if seconds is not None and math.isfinite(seconds) else ""
        if status == "resumed":
            timing = f" (finished by an earlier run{timing}; skipped)"
        first_line = error.splitlines()[0] if error else ""
        extra = f": {first_line}" if first_line else ""
        say(f"[{index[stage.name]}/{n}] {stage.name}: {status}{timing}{extra}")

    def resumable(stage: Stage) -> bool:
        entry = finished.get(stage.name)
        return (
            isinstance(entry, dict)
            and entry.get("status") == "ok"
            and all((out / o).exists() for o in stage.outputs)
        )

    def blocked(stage: Stage) -> str:
        bad = [d for d in stage.deps if records.get(d) and records[d].status in ("failed", "not run")]
        return f"not run because {', '.join(bad)} failed" if bad else ""

    _save_manifest(out, manifest)
    pending = list(stages)
    running: dict[int, _Worker] = {}  # process sentinel -> worker
    try:
        while pending or running:
            progressed = False
            for stage in list(pending):
                if not all(d in records for d in stage.deps):
                    continue  # a dependency is still running
                reason = blocked(stage)
                needs_work = not reason and not resumable(stage)
                if needs_work and jobs > 1 and len(running) >= jobs:
                    continue  # every worker is busy: start it when one is free
                pending.remove(stage)
                progressed = True
                if reason:
                    _clear_outputs(stage, out)
                    record(stage, "not run", None, reason)
                elif not needs_work:
                    record(stage, "resumed", finished[stage.name].get("seconds"), "")
                elif jobs == 1:
                    say(f"[{index[stage.name]}/{n}] {stage.name}: {stage.title} ...")
                    record(stage, *_execute(stage, ctx))
                else:
                    say(f"[{index[stage.name]}/{n}] {stage.name}: {stage.title} ... (started in a worker)")
                    worker = _Worker.start(stage, ctx)
                    running[worker.process.sentinel] = worker
            if running and not progressed:
                for sentinel in mp_connection.wait(list(running)):
                    worker = running.pop(sentinel)  # type: ignore[arg-type]
                    record(worker.stage, *worker.result())
    finally:
        # on Ctrl-C (or any error here) stop the workers now rather than wait for them: finished
        # stages are in the manifest, and figure sweeps keep their finished chunks
        for worker in running.values():
            worker.stop()
    return [records[s.name] for s in stages]


# --------------------------------------------------------------------------- built-in stages


def _cli(argv: Sequence[str]) -> int:
    from checks.cli import main

    return main(list(argv))


def _stage_derive(ctx: StageContext) -> int:
    status = _cli(["derive", "--out", str(ctx.out)])
    if status != 0:
        return status
    import derivations

    doc = derivations_document(derivations.all_results())
    atomic_write_text(ctx.out / "derivations.json", json.dumps(doc, indent=2) + "\n")
    return 0


def _stage_verify(ctx: StageContext) -> int:
    return _cli(["verify", "--profile", SCALES[ctx.scale], "--json", str(ctx.out / "claims.json")])


def _figure(key: str, ctx: StageContext) -> int:
    argv = ["figure", key, f"--{ctx.scale}", "--out", str(ctx.out)]
    if ctx.scale == "full" and key != "1":
        # the sweep checkpoints its finished chunks here, so an interrupted stage resumes
        checkpoint = ctx.out / "checkpoints" / f"fig{key}"
        if ctx.force and checkpoint.exists():
            shutil.rmtree(checkpoint)
        argv += ["--checkpoint", str(checkpoint)]
    return _cli(argv)


def _stage_figure1(ctx: StageContext) -> int:
    return _figure("1", ctx)


def _stage_figure5(ctx: StageContext) -> int:
    return _figure("5", ctx)


def _stage_figure5s1(ctx: StageContext) -> int:
    return _figure("5s1", ctx)


#: the built-in landscape example: a quadratic with spectrum geomspace(0.01, 1), N = 50
#: (examples/hessian.npy), at a point with equal projections on every eigenvector
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def landscape_args(examples: Path = EXAMPLES) -> list[str]:
    """Arguments after ``plasticity landscape`` for the built-in check (without ``--json``).

    The example Hessian from ``examples/`` when it is there (a source checkout), else the
    Rosenbrock expression, which needs no file.
    """
    hessian, point = examples / "hessian.npy", examples / "point_equal.npy"
    if hessian.exists() and point.exists():
        return [str(hessian), "--at", str(point), "--minimum", "0", "--simulate"]
    return ["--expr", "(1 - x)**2 + 100*(y - x**2)**2", "--vars", "x,y", "--at", "0.9,0.8", "--minimum", "1"]


def _stage_landscape(ctx: StageContext) -> int:
    return _cli(["landscape", *landscape_args(), "--json", str(ctx.out / "landscape.json")])


def _stage_predictions(ctx: StageContext) -> int:
    """Merge the per-panel predictions of figures 5 and 5s1 and recheck eq9a run by run.

    Fails (exit 1, after writing its files) if a per-run prediction in figK.csv is not eq9a
    of that run's measured Q, as recomputed here from ``derivations.closed_forms``.
    """
    keys = ("5", "5s1")
    doc = predictions_from_csv([(k, ctx.out / f"fig{k}_predicted.csv") for k in keys])
    grids = {k: _ratio_grid(ctx.out / f"fig{k}.json") for k in keys}
    for row in doc["rows"]:
        grid, reps = grids.get(row["figure"]), row.get("n_reps")
        if grid and isinstance(reps, float) and reps.is_integer():
            row["n_runs"] = int(reps) * len(grid)  # runs behind one panel: repetitions × swept ratios
    doc["findings"] = _findings(doc["rows"], {k: _grid_step(g) for k, g in grids.items()})
    status = 0
    for k in keys:
        runs = ctx.out / f"fig{k}.csv"
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
            f"derivations.closed_forms {verdict} with the per-run predicted_ratio "
            f"({n} runs, worst relative difference {worst:.2g}, "
            f"tolerance {EQ9A_REL_TOL:g})."
        )
        if not ok:
            print(f"predictions: fig{k}.csv predicted_ratio is not eq9a of its Q columns", file=sys.stderr)
            status = 1
    atomic_write_text(ctx.out / "predictions.json", json.dumps(doc, indent=2) + "\n")
    _write_predictions_csv(ctx.out / "predictions.csv", doc)
    return status


def _display_args() -> list[str]:
    root = str(EXAMPLES.parent) + os.sep
    return [(a[len(root) :] if a.startswith(root) else shlex.quote(a)) for a in landscape_args()]


def default_stages(scale: str) -> list[Stage]:
    """The stages of `plasticity reproduce` at ``scale`` (``quick`` or ``full``)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    fig_outputs = {
        k: (f"fig{k}.png", f"fig{k}.pdf", f"fig{k}.csv", f"fig{k}.json") for k in ("1", "5", "5s1")
    }
    return [
        Stage(
            "derive",
            "derive every result with SymPy",
            _stage_derive,
            ("derivations.md", "derivations.tex", "closed_forms.json", "derivations.json"),
            command="plasticity derive --out DIR",
        ),
        Stage(
            "verify",
            f"verify the claims ({SCALES[scale]} profile)",
            _stage_verify,
            ("claims.json",),
            command=f"plasticity verify --profile {SCALES[scale]} --json DIR/claims.json",
        ),
        Stage(
            "figure1",
            "figure 1",
            _stage_figure1,
            fig_outputs["1"],
            command=f"plasticity figure 1 --{scale} --out DIR",
        ),
        Stage(
            "figure5",
            "figure 5",
            _stage_figure5,
            (*fig_outputs["5"], "fig5_predicted.csv"),
            command=f"plasticity figure 5 --{scale} --out DIR",
        ),
        Stage(
            "figure5s1",
            "figure 5, supplement 1",
            _stage_figure5s1,
            (*fig_outputs["5s1"], "fig5s1_predicted.csv"),
            command=f"plasticity figure 5s1 --{scale} --out DIR",
        ),
        Stage(
            "predictions",
            "predicted against simulated best ratios",
            _stage_predictions,
            ("predictions.json", "predictions.csv"),
            deps=("figure5", "figure5s1"),
        ),
        Stage(
            "landscape",
            "landscape check on a built-in example",
            _stage_landscape,
            ("landscape.json",),
            command=" ".join(["plasticity landscape", *_display_args(), "--json DIR/landscape.json"]),
        ),
    ]


# --------------------------------------------------------------------------- predictions

#: normalised key -> column of figK_predicted.csv (`numerics.figures.PREDICTED_COLUMNS`)
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
    ``derivations.closed_forms.steady_state_ratio`` (rows where eq9a does not apply,
    Q_c ≤ 0 or Q_eps < 0, must have an empty/NaN prediction and are not compared).
    """
    import numpy as np

    from derivations import closed_forms

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


# --------------------------------------------------------------------------- the command


def reproduce(
    out: Path,
    *,
    scale: str = "quick",
    force: bool = False,
    jobs: int = 1,
    stages: Sequence[Stage] | None = None,
    log: TextIO | None = None,
) -> int:
    """Run every stage into ``out``, write ``out/report.html``; 0 only if everything succeeded.

    ``--full`` runs resume: stages a previous full run finished are skipped unless
    ``force``.  Quick runs always start afresh (they are cheap, and stale quick results
    would be surprising after a code change).
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    log = sys.stderr if log is None else log
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output path {out} exists and is not a directory")
    start = time.perf_counter()
    stage_list = list(default_stages(scale) if stages is None else stages)
    records = run_stages(
        stage_list, out, scale=scale, force=force, resume=(scale == "full"), jobs=jobs, log=log
    )
    total = time.perf_counter() - start
    landscape = next((s.command for s in stage_list if s.name == "landscape"), "")
    try:
        path = write_report(
            out,
            stages=records,
            provenance=collect_provenance(total_seconds=total, scale=scale),
            landscape_command=landscape,
        )
    except Exception as exc:  # noqa: BLE001 - the report failing is reported, not a traceback
        print(f"[reproduce] report: failed: {type(exc).__name__}: {exc}", file=log, flush=True)
        return 1
    failed = [r.name for r in records if r.status in ("failed", "not run")]
    print(f"[reproduce] report written to {path} ({total:.1f} s in all)", file=log, flush=True)
    if failed:
        print(f"[reproduce] FAILED stage(s): {', '.join(failed)}", file=log, flush=True)
        return 1
    return 0
