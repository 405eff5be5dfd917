"""Derive every result with SymPy and write the derivations documents.

:func:`derive` is what `plasticity derive` and the reproduce pipeline call: it derives every
id in :data:`plasticity.derivations.core.ORDER`, writes ``derivations.md``, ``derivations.tex`` and
``closed_forms.json``, and reports each result that is missing from the registry, raised an
error, or failed one of its own checks.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from plasticity.derivations import core
from plasticity.derivations.core import Result, get
from plasticity.derivations.render import closed_forms_json, render_latex, render_markdown
from plasticity.numerics.files import atomic_write_text

__all__ = ["OUTPUTS", "derive", "derive_all", "write_outputs"]

#: output file names inside the output directory
OUTPUTS = ("derivations.md", "derivations.tex", "closed_forms.json")


def derive_all(verbose: bool = True) -> tuple[list[Result], list[str]]:
    """Derive every id in ORDER (plus unordered extras); return the results and the problems.

    A problem is one line naming a result that is not registered, raised while deriving, or
    failed a self-check.  Progress goes to stderr, one line per result.
    """
    registered = set(core.ids())
    results: list[Result] = []
    problems: list[str] = []
    wanted = list(core.ORDER) + sorted(registered - set(core.ORDER))
    for result_id in wanted:
        if result_id not in registered:
            problems.append(f"{result_id}: not registered by any derivations module")
            if verbose:
                print(f"derive: {result_id:<20} MISSING", file=sys.stderr)
            continue
        start = time.perf_counter()
        try:
            result = get(result_id)
        except Exception as exc:  # a crashing derivation is reported, not fatal to the rest
            problems.append(f"{result_id}: derivation raised {type(exc).__name__}: {exc}")
            if verbose:
                print(f"derive: {result_id:<20} ERROR {type(exc).__name__}", file=sys.stderr)
            continue
        elapsed = time.perf_counter() - start
        results.append(result)
        if not result.checks:
            problems.append(f"{result_id}: ran no self-checks")
        for check in result.failed_checks:
            detail = f" ({check.detail})" if check.detail else ""
            problems.append(f"{result_id}: failed check: {check.name}{detail}")
        if verbose:
            state = "ok" if result.verified else "FAILED"
            print(
                f"derive: {result_id:<20} {state:<6} {len(result.checks):>2} checks  {elapsed:5.2f} s",
                file=sys.stderr,
            )
    return results, problems


def write_outputs(results: list[Result], out: Path) -> list[Path]:
    """Write the three documents into ``out`` (created if needed); return their paths."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    texts = (render_markdown(results), render_latex(results), closed_forms_json(results))
    paths = []
    for name, text in zip(OUTPUTS, texts, strict=True):
        path = out / name
        paths.append(atomic_write_text(path, text))
    return paths


def derive(out: Path, *, verbose: bool = True) -> int:
    """Derive, write the documents into ``out``; 0 only if every result exists and verified itself.

    Progress and the written paths go to stderr unless ``verbose`` is False; the problems
    always do, one line each.
    """
    results, problems = derive_all(verbose=verbose)
    paths = write_outputs(results, Path(out))
    if verbose:
        for path in paths:
            print(f"derive: wrote {path}", file=sys.stderr)
    if problems:
        print(f"plasticity derive: {len(problems)} problem(s):", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0
