"""Run a list of stages into one directory, resumably, in parallel worker processes.

The work is a list of :class:`Stage` objects.  :func:`run_stages` runs them, reports
progress and timing on stderr, keeps going when one fails (a stage whose inputs failed is
marked ``not run``), and records each finished stage in ``DIR/manifest.json`` (written
atomically) so that an interrupted run resumes without redoing finished stages.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing import connection as mp_connection
from pathlib import Path
from typing import Any, TextIO

from plasticity.checks.report import StageRecord
from plasticity.numerics.files import atomic_write_text

__all__ = ["MANIFEST", "Stage", "StageContext", "load_manifest", "run_stages"]

#: the manifest of finished stages, inside the output directory
MANIFEST = "manifest.json"
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
