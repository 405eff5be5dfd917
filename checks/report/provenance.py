"""What ran and where: the stage records of `reproduce`, the Run section, and the provenance
footer (versions, git commit, machine, times)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plasticity.checks.report.assets import KATEX_DIR
from plasticity.checks.report.markup import STATUS_CLASS, _e, _opening, _pill, _read_json, _seconds


@dataclass(frozen=True)
class StageRecord:
    """What one stage of `reproduce` did: its status, wall time and the files it wrote.

    ``status`` is ``ok`` (ran now), ``resumed`` (finished in an earlier run, skipped),
    ``failed`` or ``not run`` (a stage it depends on failed).
    """

    name: str
    title: str
    status: str
    seconds: float | None = None
    error: str = ""
    outputs: tuple[str, ...] = ()
    command: str = ""


# --------------------------------------------------------------------------- run + provenance


def _section_run(stages: Sequence[StageRecord], scale: str | None) -> str:
    if not stages:
        return ""
    failed = [s for s in stages if s.status in ("failed", "not run")]
    verdict = (
        _pill(f"{len(failed)} stage(s) failed", "v-failed")
        if failed
        else _pill("all stages finished", "v-holds")
    )
    rows = []
    for s in stages:
        outputs = ", ".join(f'<a href="{_e(o)}">{_e(o)}</a>' for o in s.outputs)
        error = f"<pre class='err'>{_e(s.error)}</pre>" if s.error else ""
        command = f"<code>{_e(s.command)}</code>" if s.command else ""
        rows.append(
            f"<tr><td>{_e(s.title or s.name)}</td>"
            f"<td>{_pill(s.status, STATUS_CLASS.get(s.status, 'v-counter'))}</td>"
            f"<td class='num'>{_e(_seconds(s.seconds))}</td><td>{command}{error}</td><td>{outputs}</td></tr>"
        )
    scale_txt = f" at <strong>{_e(scale)}</strong> scale" if scale else ""
    return (
        _opening("run", "Run") + f"<p>Stages of <code>plasticity reproduce</code>{scale_txt}: {verdict}</p>"
        '<table class="stages"><thead><tr><th>stage</th><th>status</th><th>time</th><th>command / error</th>'
        f"<th>files</th></tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]  # the repository holding checks/report/
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + (" (with uncommitted changes)" if dirty else "") if commit else None


def collect_provenance(total_seconds: float | None = None, scale: str | None = None) -> dict[str, Any]:
    """Package version, git commit, Python/numpy/sympy/scipy versions, machine and total time."""
    from importlib.metadata import PackageNotFoundError, version

    def ver(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return {
        "plasticity": ver("plasticity"),
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "numpy": ver("numpy"),
        "sympy": ver("sympy"),
        "scipy": ver("scipy"),
        "matplotlib": ver("matplotlib"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "scale": scale,
        "total_seconds": total_seconds,
        "finished": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def _footer(prov: Mapping[str, Any]) -> str:
    labels = [
        ("plasticity", "plasticity"),
        ("git commit", "git_commit"),
        ("Python", "python"),
        ("numpy", "numpy"),
        ("sympy", "sympy"),
        ("scipy", "scipy"),
        ("matplotlib", "matplotlib"),
        ("machine", "machine"),
        ("scale", "scale"),
        ("finished", "finished"),
    ]
    items = [f"<dt>{_e(lbl)}</dt><dd>{_e(prov.get(k) or 'none')}</dd>" for lbl, k in labels if k in prov]
    items.append(f"<dt>total time</dt><dd>{_e(_seconds(prov.get('total_seconds')))}</dd>")
    katex_version = (KATEX_DIR / "VERSION").read_text().strip() if (KATEX_DIR / "VERSION").exists() else "?"
    return (
        f'<footer id="provenance"><h2>Provenance</h2><dl>{"".join(items)}</dl>'
        f"<p class='small'>Math rendered by KaTeX {_e(katex_version)} (MIT licence), shipped with the "
        "package and embedded in this page; no network access is needed to view it.</p></footer>"
    )


def stages_from_manifest(out_dir: Path) -> list[StageRecord]:
    """Records of the stages a `reproduce` manifest in ``out_dir`` lists as finished (else [])."""
    try:
        manifest = _read_json(Path(out_dir) / "manifest.json")
        stages = manifest["stages"]
        return [
            StageRecord(
                name=name,
                title=name,
                status="ok",
                seconds=entry.get("seconds"),
                outputs=tuple(o for o in entry.get("outputs", []) if (Path(out_dir) / o).exists()),
            )
            for name, entry in stages.items()
            if isinstance(entry, Mapping) and entry.get("status") == "ok"
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []
