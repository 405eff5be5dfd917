"""Small HTML helpers every section uses: escaping, number formatting, math, notices, pills,
and reading a stage's JSON into either a document or a visible problem."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

#: verdict of `plasticity verify` -> CSS class (colour)
VERDICT_CLASS: dict[str, str] = {
    "holds": "v-holds",
    "holds under condition": "v-cond",
    "counterexample found": "v-counter",
    "FAILED": "v-failed",
}

#: stage status -> CSS class
STATUS_CLASS: dict[str, str] = {
    "ok": "v-holds",
    "resumed": "v-cond",
    "failed": "v-failed",
    "not run": "v-counter",
}

# --------------------------------------------------------------------------- formatting


def _e(text: object) -> str:
    """HTML-escaped text (quotes included, so it is safe inside attributes too)."""
    return html.escape("" if text is None else str(text), quote=True)


def _fmt(x: object, digits: int = 4) -> str:
    """A number or value for a table cell, escaped."""
    if x is None or x == "":
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return _e(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            return _e(x)
        return _e(f"{x:.{digits}g}")
    if isinstance(x, str):
        return _e(x)
    return _e(json.dumps(x, sort_keys=True, default=str))


def _num_class(x: object) -> str:
    """``class="num"`` (right-aligned, tabular digits) for a number, nothing for text."""
    return ' class="num"' if isinstance(x, int | float) and not isinstance(x, bool) else ""


def _math(latex: str, display: bool = False) -> str:
    """LaTeX for KaTeX's auto-render, escaped; class ``math`` lets the page check it rendered."""
    if display:
        return f'<div class="math display">\\[{_e(latex)}\\]</div>'
    return f'<span class="math">\\({_e(latex)}\\)</span>'


def _pre(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True, default=str)
    return f"<pre>{_e(text)}</pre>"


def _notice(text: str, kind: str = "warn") -> str:
    return f'<p class="notice {kind}">{_e(text)}</p>'


def _opening(section_id: str, title: str) -> str:
    """The start of the page section ``section_id`` (the navigation's anchor) with its heading."""
    return f'<section id="{section_id}"><h2>{title}</h2>'


def _section(head: str, *body: str) -> str:
    """A whole section: its head, then ``body`` (a notice when its input is missing or empty)."""
    return head + "".join(body) + "</section>"


def _pill(text: str, css: str) -> str:
    return f'<span class="pill {css}">{_e(text)}</span>'


def _seconds(s: object) -> str:
    if not isinstance(s, int | float) or isinstance(s, bool) or not math.isfinite(s):
        return "—"
    if s < 60:
        return f"{s:.1f} s"
    return f"{int(s // 60)} min {s % 60:.0f} s"


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _load(out_dir: Path, name: str, stage_hint: str) -> tuple[Any, str]:
    """(parsed JSON, "") or (None, a notice saying why it is missing or unreadable)."""
    path = out_dir / name
    if not path.exists():
        return None, _notice(f"{name} is missing: the {stage_hint} stage did not produce it (see Run).")
    try:
        return _read_json(path), ""
    except (OSError, ValueError) as exc:
        return None, _notice(f"{name} could not be read: {exc}", "bad")
