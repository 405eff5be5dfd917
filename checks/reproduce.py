"""`plasticity reproduce`: run every part of the toolkit and collect the results in one report.

The work is a list of :class:`Stage` objects (derive, verify, figures 1/5/5s1, the
predicted-versus-simulated comparison, a landscape check).  :func:`run_stages` runs them,
reports progress and timing on stderr, keeps going when one fails (a stage whose inputs
failed is marked ``not run``), and records each finished stage in ``DIR/manifest.json``
(written atomically) so that an interrupted run resumes without redoing finished stages.
:func:`reproduce` adds the report (:mod:`checks.report`) and the exit status.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import datetime as _dt
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from checks.report import StageRecord, collect_provenance, derivations_document, write_report

__all__ = [
    "MANIFEST",
    "SCALES",
    "Stage",
    "StageContext",
    "default_stages",
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


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


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
    _atomic_write_text(Path(out) / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")


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


def _execute(stage: Stage, ctx: StageContext) -> tuple[str, float, str]:
    """Run one stage; (status, seconds, error).  Never raises except on Ctrl-C.

    The stage's stdout goes to ``logs/<stage>.log``; its stderr goes to the terminal and to
    the same log, and its last line is quoted when the stage fails.
    """
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
    ``jobs > 1`` independent stages run in parallel worker processes.
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
            outputs=tuple(o for o in stage.outputs if (out / o).exists()),
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
        timing = f" in {seconds:.1f} s" if seconds is not None else ""
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
    executor = cf.ProcessPoolExecutor(max_workers=jobs) if jobs > 1 else None
    running: dict[cf.Future[tuple[str, float, str]], Stage] = {}
    try:
        while pending or running:
            progressed = False
            for stage in list(pending):
                if not all(d in records for d in stage.deps):
                    continue  # a dependency is still running
                pending.remove(stage)
                progressed = True
                reason = blocked(stage)
                if reason:
                    record(stage, "not run", None, reason)
                elif resumable(stage):
                    record(stage, "resumed", finished[stage.name].get("seconds"), "")
                elif executor is None:
                    say(f"[{index[stage.name]}/{n}] {stage.name}: {stage.title} ...")
                    record(stage, *_execute(stage, ctx))
                else:
                    say(f"[{index[stage.name]}/{n}] {stage.name}: {stage.title} ... (started)")
                    running[executor.submit(_execute, stage, ctx)] = stage
            if running and not progressed:
                done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    stage = running.pop(fut)
                    try:
                        result = fut.result()
                    except Exception as exc:  # a worker died (e.g. killed): that stage failed
                        result = ("failed", math.nan, f"worker process failed: {type(exc).__name__}: {exc}")
                    record(stage, *result)
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
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
    _atomic_write_text(ctx.out / "derivations.json", json.dumps(doc, indent=2) + "\n")
    return 0


def _stage_verify(ctx: StageContext) -> int:
    return _cli(["verify", "--profile", SCALES[ctx.scale], "--json", str(ctx.out / "claims.json")])


def _figure(key: str, ctx: StageContext) -> int:
    return _cli(["figure", key, f"--{ctx.scale}", "--out", str(ctx.out)])


def _stage_figure1(ctx: StageContext) -> int:
    return _figure("1", ctx)


def _stage_figure5(ctx: StageContext) -> int:
    return _figure("5", ctx)


def _stage_figure5s1(ctx: StageContext) -> int:
    return _figure("5s1", ctx)


#: the built-in landscape example the landscape stage checks (arguments after `landscape`)
LANDSCAPE_ARGS: tuple[str, ...] = ()


def _stage_landscape(ctx: StageContext) -> int:
    if not LANDSCAPE_ARGS:
        raise RuntimeError("no built-in landscape example is configured")
    return _cli(["landscape", *LANDSCAPE_ARGS, "--json", str(ctx.out / "landscape.json")])


def _stage_predictions(ctx: StageContext) -> int:
    sources = [("5", ctx.out / "fig5_predicted.csv"), ("5s1", ctx.out / "fig5s1_predicted.csv")]
    doc = predictions_from_csv(sources)
    _atomic_write_text(ctx.out / "predictions.json", json.dumps(doc, indent=2) + "\n")
    _write_predictions_csv(ctx.out / "predictions.csv", doc)
    return 0


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
            command=" ".join(["plasticity landscape", *LANDSCAPE_ARGS, "--json DIR/landscape.json"]),
        ),
    ]


# --------------------------------------------------------------------------- predictions

#: normalised column -> column names accepted in figK_predicted.csv
_ALIASES: dict[str, tuple[str, ...]] = {
    "network": ("network",),
    "noise_to_signal": ("noise_to_signal",),
    "fluct_per_sqrtN": ("fluct_per_sqrtN",),
    "predicted_ratio": ("predicted_ratio",),
    "grad_min_ratio": ("grad_min_ratio",),
    "loss_min_ratio": ("loss_min_ratio",),
}


def _number(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        return None


def predictions_from_csv(sources: Sequence[tuple[str, Path]]) -> dict[str, Any]:
    """Merge figK_predicted.csv files into one table of panels plus findings read from it.

    ``sources`` are (figure key, path).  A missing file raises ``FileNotFoundError``; a file
    without the needed columns raises ``ValueError`` naming them.
    """
    rows: list[dict[str, Any]] = []
    for key, path in sources:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            found = {norm: next((a for a in al if a in fields), None) for norm, al in _ALIASES.items()}
            missing = [n for n in ("predicted_ratio", "loss_min_ratio") if found[n] is None]
            if missing:
                raise ValueError(f"{path}: missing column(s) {missing}; columns are {fields}")
            for raw in reader:
                row: dict[str, Any] = {"figure": key}
                for norm, col in found.items():
                    if col is None:
                        continue
                    value = raw.get(col)
                    num = _number(value)
                    row[norm] = num if (num is not None or norm != "network") else value
                    if norm == "network":
                        row[norm] = value
                p, lm = row.get("predicted_ratio"), row.get("loss_min_ratio")
                if p is not None and lm:
                    row["predicted_over_loss_min"] = p / lm
                rows.append(row)
    return {"rows": rows, "findings": _findings(rows), "extra_columns": []}


def _findings(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    out = []
    for key, name in (("5", "Figure 5"), ("5s1", "Figure 5—supplement 1")):
        panel = [r for r in rows if r.get("figure") == key]
        q = [r["predicted_over_loss_min"] for r in panel if r.get("predicted_over_loss_min") is not None]
        g = [
            (r["predicted_ratio"], r["grad_min_ratio"])
            for r in panel
            if r.get("predicted_ratio") is not None and r.get("grad_min_ratio") is not None
        ]
        if q:
            out.append(
                f"{name}: predicted ÷ loss-minimising ratio ranges {min(q):.3g} to {max(q):.3g} "
                f"over {len(q)} panels."
            )
        if g:
            diff = [abs(a - b) for a, b in g]
            out.append(
                f"{name}: |predicted − gradient-norm-minimising ratio| is at most {max(diff):.3g} "
                f"(mean {sum(diff) / len(diff):.3g}) over {len(g)} panels."
            )
    return out


def _write_predictions_csv(path: Path, doc: Mapping[str, Any]) -> None:
    columns = ["figure", *_ALIASES, "predicted_over_loss_min"]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in doc["rows"]:
            writer.writerow({c: ("" if row.get(c) is None else row.get(c)) for c in columns})
    os.replace(tmp, path)


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
