"""How much does `plasticity verify` catch?  Seeded single-site bugs, and the kill rate.

A *mutant* is one plausible bug in the toolkit: a single textual replacement in one source
file (a coefficient, an exponent, a sign, a norm, a window index, sampling with or without
replacement, a threshold).  :func:`run_mutants` copies the source tree to a temporary folder
for each mutant, applies it, and runs ``plasticity verify`` under a profile there, in worker
processes.  A mutant is *killed* when verify reports a FAILED claim (exit status 1) or cannot
run at all; it *survives* when every claim still passes.  The kill rate is the share killed.

The catalogue is data (:data:`CATALOGUE`), each entry naming its kind and what it breaks;
:func:`check_catalogue` verifies that every entry still matches its file exactly once, so the
catalogue cannot silently go stale when the code moves.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from plasticity.checks.mutant_catalogue import CATALOGUE, KINDS, Mutant

__all__ = [
    "CATALOGUE",
    "KINDS",
    "Mutant",
    "MutantResult",
    "MutationReport",
    "check_catalogue",
    "measure",
    "render_report",
    "run_mutants",
    "run_one",
    "source_root",
]

#: the top-level folders a mutant's copy of the source needs (verify imports all of them; the
#: plasticity folder and pyproject.toml make the copy a source checkout of the namespace)
TREE = ("plasticity", "derivations", "numerics", "checks", "benchmarks")
#: module run in the copy: the verify command, by module path so the copy's code is imported
VERIFY_MODULE = "plasticity.checks.cli"


@dataclass(frozen=True)
class MutantResult:
    """What verify said about one mutant."""

    id: str
    kind: str
    killed: bool
    status: str  # "killed", "survived", "error" (verify could not run: counted as killed)
    failed_claims: tuple[str, ...] = ()
    seconds: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class MutationReport:
    """The kill rate of a profile over a catalogue, with every mutant's result."""

    profile: str
    results: tuple[MutantResult, ...]
    baseline_seconds: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def killed(self) -> int:
        return sum(r.killed for r in self.results)

    @property
    def kill_rate(self) -> float:
        return self.killed / len(self.results) if self.results else float("nan")

    @property
    def survivors(self) -> list[MutantResult]:
        return [r for r in self.results if not r.killed]

    def to_json(self) -> dict[str, object]:
        """JSON object: profile, kill rate, counts and each mutant's result."""
        return {
            "profile": self.profile,
            "kill_rate": self.kill_rate,
            "killed": self.killed,
            "mutants": len(self.results),
            "baseline_seconds": round(self.baseline_seconds, 1),
            "results": [asdict(r) for r in self.results],
            "notes": list(self.notes),
        }


def source_root() -> Path:
    """The folder holding derivations/, numerics/ and checks/ of the running toolkit."""
    return Path(__file__).resolve().parent.parent


def check_catalogue(mutants: Sequence[Mutant] = CATALOGUE, root: Path | None = None) -> list[str]:
    """Problems with the catalogue: entries whose text does not occur exactly once in its file,
    or duplicate ids.  An empty list means every mutant applies."""
    root = source_root() if root is None else root
    problems = []
    seen: set[str] = set()
    for m in mutants:
        if m.id in seen:
            problems.append(f"{m.id}: duplicate id")
        seen.add(m.id)
        if m.kind not in KINDS:
            problems.append(f"{m.id}: kind {m.kind!r} is not one of {', '.join(KINDS)}")
        path = root / m.path
        if not path.is_file():
            problems.append(f"{m.id}: no file {m.path}")
            continue
        count = path.read_text(encoding="utf-8").count(m.old)
        if count != 1:
            problems.append(f"{m.id}: {m.path} contains the text {count} times (must be exactly once)")
    return problems


def _copy_tree(root: Path, dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
    for name in TREE:
        shutil.copytree(root / name, dest / name, ignore=ignore)
    shutil.copy2(root / "pyproject.toml", dest / "pyproject.toml")


def _apply(dest: Path, m: Mutant) -> None:
    path = dest / m.path
    text = path.read_text(encoding="utf-8")
    if text.count(m.old) != 1:
        raise ValueError(f"mutant {m.id}: its text occurs {text.count(m.old)} times in {m.path}")
    path.write_text(text.replace(m.old, m.new), encoding="utf-8")


def _verify(
    copy: Path, profile: str, timeout: float, only: Sequence[str] | None = None
) -> tuple[int | None, list[str], str, float]:
    """Run verify in ``copy``: (exit status or None on time-out, FAILED ids, stderr tail, seconds)."""
    out = copy / "verify.json"
    env = {**os.environ, "PYTHONPATH": str(copy), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", VERIFY_MODULE, "verify", "--profile", profile, "--quiet", "--json", str(out)]
    if only:
        cmd += ["--only", *only]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, [], f"timed out after {timeout:.0f} s", time.perf_counter() - start
    seconds = time.perf_counter() - start
    failed: list[str] = []
    if out.is_file():
        failed = [c["id"] for c in json.loads(out.read_text())["claims"] if c["verdict"] == "FAILED"]
    return proc.returncode, failed, proc.stderr.strip()[-500:], seconds


def run_one(
    m: Mutant | None,
    *,
    profile: str = "ci",
    only: Sequence[str] | None = None,
    root: Path | None = None,
    timeout: float = 3600,
) -> MutantResult:
    """Verify a copy of the source with mutant ``m`` applied (None: unmutated), optionally
    only the claims ``only``; the copy re-derives every closed form from its own code."""
    root = source_root() if root is None else root
    with tempfile.TemporaryDirectory(prefix="plasticity-mutant-") as tmp:
        copy = Path(tmp)
        _copy_tree(root, copy)
        if m is not None:
            _apply(copy, m)
        code, failed, err, seconds = _verify(copy, profile, timeout, only)
    mid, kind = (m.id, m.kind) if m is not None else ("baseline", "none")
    if code == 1 and failed:
        return MutantResult(mid, kind, True, "killed", tuple(failed), seconds)
    if code == 0:
        return MutantResult(mid, kind, False, "survived", (), seconds)
    detail = err if code is not None else err or "timed out"
    return MutantResult(mid, kind, True, "error", tuple(failed), seconds, detail)


def run_mutants(
    mutants: Sequence[Mutant] = CATALOGUE,
    *,
    profile: str = "ci",
    workers: int = 2,
    root: Path | None = None,
    progress: Callable[[MutantResult], None] | None = None,
) -> MutationReport:
    """Run verify under ``profile`` on each mutant (``workers`` at a time) and report the kill rate.

    The unmutated tree runs first: if verify fails there, no kill could be told from a false
    alarm, so a ValueError is raised instead of a report.  Each mutant gets a time-out of five
    times the unmutated run (a mutant that hangs a simulation counts as killed, marked error).
    """
    root = source_root() if root is None else root
    problems = check_catalogue(mutants, root)
    if problems:
        raise ValueError("the mutant catalogue does not apply: " + "; ".join(problems))
    if workers < 1:
        raise ValueError(f"workers must be >= 1; got {workers}")
    with tempfile.TemporaryDirectory(prefix="plasticity-source-") as frozen:
        # one snapshot of the source for the whole run, so that every mutant (and the
        # unmutated baseline) differs from the same tree by exactly one edit
        _copy_tree(root, Path(frozen))
        return _run_all(mutants, Path(frozen), profile, workers, progress)


def _run_all(
    mutants: Sequence[Mutant],
    root: Path,
    profile: str,
    workers: int,
    progress: Callable[[MutantResult], None] | None,
) -> MutationReport:
    base = run_one(None, profile=profile, root=root)
    if base.status != "survived":
        raise ValueError(
            f"verify --profile {profile} fails on the unmutated source "
            f"({', '.join(base.failed_claims) or base.detail}); fix that before measuring mutants"
        )
    timeout = 5 * base.seconds + 30

    def one(m: Mutant) -> MutantResult:
        r = run_one(m, profile=profile, root=root, timeout=timeout)
        if progress is not None:
            progress(r)
        return r

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = tuple(pool.map(one, mutants))
    return MutationReport(profile, results, base.seconds)


def render_report(report: MutationReport) -> str:
    """The kill rate, then one line per mutant (survivors first), as plain text."""
    lines = [
        f"profile {report.profile}: {report.killed} of {len(report.results)} mutants killed "
        f"(kill rate {100 * report.kill_rate:.0f}%); unmutated verify took {report.baseline_seconds:.0f} s",
        "",
        f"{'mutant':34s} {'kind':11s} {'status':9s} killed by",
    ]
    by_id = {m.id: m for m in CATALOGUE}
    for r in sorted(report.results, key=lambda r: (r.killed, r.id)):
        who = ", ".join(r.failed_claims) or r.detail.splitlines()[-1:] and r.detail.splitlines()[-1] or "—"
        lines.append(f"{r.id:34s} {r.kind:11s} {r.status:9s} {who}")
        if not r.killed and r.id in by_id:
            lines.append(f"{'':34s} survives: {by_id[r.id].what}")
    return "\n".join(lines)


def measure(
    profile: str = "ci",
    *,
    ids: Sequence[str] | None = None,
    workers: int = 2,
    json: str | None = None,
    min_kill_rate: float = 0.9,
    progress: bool = True,
) -> int:
    """Run the catalogue (or the mutants ``ids``), print the report, optionally write it as
    JSON; exit status 1 if the kill rate is below ``min_kill_rate``, else 0.  Unknown ids are
    a ValueError naming them."""
    from plasticity.numerics.files import atomic_write_text, json_text

    chosen = CATALOGUE
    if ids:
        unknown = sorted(set(ids) - {m.id for m in CATALOGUE})
        if unknown:
            raise ValueError(f"unknown mutant id(s): {', '.join(unknown)}; see checks/mutant_catalogue.py")
        chosen = tuple(m for m in CATALOGUE if m.id in ids)
    if not 0 <= min_kill_rate <= 1:
        raise ValueError(f"--min-kill-rate must lie in [0, 1]; got {min_kill_rate}")

    def show(r: MutantResult) -> None:
        print(f"  {r.id}: {r.status} ({r.seconds:.0f} s)", file=sys.stderr, flush=True)

    report = run_mutants(chosen, profile=profile, workers=workers, progress=show if progress else None)
    print(render_report(report))
    if json:
        path = atomic_write_text(Path(json), json_text(report.to_json(), indent=2) + "\n")
        print(f"wrote {path}", file=sys.stderr)
    return 0 if report.kill_rate >= min_kill_rate else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m plasticity.checks.mutants [--profile P] [--workers K] [--only ID ...] [--json FILE]``:
    the same as ``plasticity verify --mutants``."""
    from plasticity.checks.cli import main as cli

    return cli(["verify", "--mutants", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
