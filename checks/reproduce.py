"""`plasticity reproduce`: run every part of the toolkit and collect the results in one report.

The stages (:mod:`plasticity.checks.pipeline.stages`: derive, verify, figures 1/5/5s1, the
predicted-versus-simulated comparison, a landscape check) run under
:func:`plasticity.checks.pipeline.runner.run_stages`; :func:`reproduce` adds the report
(:mod:`plasticity.checks.report`) and the exit status.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from plasticity.checks.pipeline.runner import Stage, run_stages
from plasticity.checks.pipeline.stages import SCALES, default_stages
from plasticity.checks.report import collect_provenance, write_report

__all__ = ["reproduce"]


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
