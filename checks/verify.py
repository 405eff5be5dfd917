"""Run the claims registry under a profile; render the verdicts as a table or JSON.

``run_claims`` is what `plasticity verify`, the pytest suite and the HTML report all call,
so the three always agree on what was checked and how hard.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from plasticity.checks.claims import CLAIMS, Verdict, get_claim
from plasticity.checks.profiles import Profile, get_profile
from plasticity.numerics.files import atomic_write_text, json_text

__all__ = ["any_failed", "list_claims", "render_table", "run_claims", "to_json", "verify", "write_json"]

Progress = Callable[[str], None]


def run_claims(
    profile: str | Profile = "ci",
    ids: Iterable[str] | None = None,
    progress: Progress | bool | None = None,
) -> list[Verdict]:
    """Check every claim (or those in ``ids``, in the order given) under ``profile``.

    ``progress`` is a callable taking one line of text per claim (or True for stderr).
    Unknown ids raise ValueError before anything runs.
    """
    prof = get_profile(profile)
    selected = list(CLAIMS) if ids is None else list(dict.fromkeys(ids))
    claims = [get_claim(i) for i in selected]  # validates every id first
    if progress is True:
        import sys

        def progress(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

    verdicts = []
    for k, c in enumerate(claims, 1):
        if callable(progress):
            progress(f"[{k}/{len(claims)}] {c.id} ...")
        v = c.check(prof)
        if callable(progress):
            progress(f"[{k}/{len(claims)}] {c.id}: {v.verdict} ({v.examples} examples, {v.seconds:.1f} s)")
        verdicts.append(v)
    return verdicts


def any_failed(verdicts: Sequence[Verdict]) -> bool:
    """True when some claim is FAILED (a claim that should hold did not, or an expected
    counterexample was not found)."""
    return any(v.failed for v in verdicts)


def _margin(x: float | None) -> str:
    if x is None:
        return "-"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.3g}"


def render_table(verdicts: Sequence[Verdict], *, profile: str | None = None) -> str:
    """A plain-text table: claim, verdict, examples tried, worst margin (+ counterexamples)."""
    headers = ("claim", "verdict", "examples", "worst margin")
    rows = [(v.id, v.verdict, str(v.examples), _margin(v.worst_margin)) for v in verdicts]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = []
    if profile:
        lines.append(f"profile: {profile}")
    lines += [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r).rstrip() for r in rows]
    notes = []
    for v in verdicts:
        if v.counterexample:
            notes.append(f"{v.id}: shrunk counterexample {v.counterexample}")
        if v.failed and "error" in v.evidence:
            notes.append(f"{v.id}: {v.evidence['error']}")
    counts = {k: sum(v.verdict == k for v in verdicts) for k in dict.fromkeys(v.verdict for v in verdicts)}
    lines.append("")
    lines.append(", ".join(f"{n} {k}" for k, n in counts.items()) or "no claims")
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def to_json(verdicts: Sequence[Verdict], profile: str | Profile) -> dict[str, Any]:
    """``{"profile": name, "claims": [verdict.to_json(), ...]}`` as in ARCHITECTURE.md."""
    name = profile.name if isinstance(profile, Profile) else str(profile)
    return {"profile": name, "claims": [v.to_json() for v in verdicts]}


def write_json(path: str | Path, verdicts: Sequence[Verdict], profile: str | Profile) -> Path:
    """Write :func:`to_json` to ``path`` atomically (temp file + replace); returns the path."""

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"--json {path} is a directory; give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json_text(to_json(verdicts, profile), indent=2, ensure_ascii=False)
    atomic_write_text(path, text + "\n")
    return path


def list_claims() -> str:
    """One line per claim: its id, the expected verdict and its statement."""
    return "\n".join(f"{c.id:34s} [{c.expected}] {c.statement}" for c in CLAIMS.values())


def verify(
    profile: str = "ci",
    *,
    ids: Sequence[str] | None = None,
    json: str | Path | None = None,
    progress: bool = True,
) -> int:
    """Check the claims (all, or ``ids``), print the verdict table, optionally write JSON.

    What `plasticity verify` and the reproduce pipeline run.  Returns 1 if any claim
    FAILED, else 0; an unknown id raises ``ValueError`` before anything runs.
    """
    import sys

    if ids:
        for claim_id in ids:
            get_claim(claim_id)  # unknown id: ValueError before any work
    verdicts = run_claims(profile, ids=ids, progress=progress)
    print(render_table(verdicts, profile=profile))
    if json:
        path = write_json(json, verdicts, profile)
        print(f"wrote {path}", file=sys.stderr)
    return 1 if any_failed(verdicts) else 0
