"""The single self-contained HTML page that `plasticity reproduce` writes (``DIR/report.html``).

The page is built from the files the stages left in ``DIR`` (``derivations.json``,
``claims.json``, ``figK.png``/``figK.json``, ``predictions.json``, ``landscape.json``), so it
can be rebuilt from those files alone.  Nothing is fetched over the network when it is
viewed: figures are embedded as base64 PNG data URIs, and KaTeX (vendored under
``checks/assets/katex``, MIT licence beside it) is inlined with its fonts as data URIs.
A missing or unreadable input becomes a visible notice in its section, never a crash, so
the report always shows what did and did not run.
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import html
import json
import math
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "FIGURES",
    "KATEX_DIR",
    "StageRecord",
    "build_report",
    "collect_provenance",
    "derivations_document",
    "figure_caption",
    "katex_css",
    "katex_js",
    "main",
    "png_data_uri",
    "stages_from_manifest",
    "write_report",
]

#: where the vendored KaTeX lives (katex.min.js, katex.min.css, auto-render.min.js, fonts/)
KATEX_DIR: Path = Path(__file__).resolve().parent / "assets" / "katex"

#: the figures the report shows: (key K of figK.*, heading, what the figure shows)
FIGURES: tuple[tuple[str, str, str], ...] = (
    (
        "1",
        "Figure 1: raising the compensation ratio in stages",
        "Nonlinear network, pure gradient compensation, fluctuation norm 2; the ratio "
        "‖Δc‖/‖Δε‖ is raised stage by stage from far below 1 to far above 1. Task error over "
        "time with the stages marked, and a few individual weights drifting while the error "
        "stays flat.",
    ),
    (
        "5",
        "Figure 5: steady-state error against compensation ratio (nonlinear network)",
        "12→20 sigmoid→10 student-teacher network; noise-to-signal γ₂/γ₁ by column, "
        "fluctuation strength ‖Δε‖/√N by row; mean ± s.d. over repetitions, best ratio marked.",
    ),
    (
        "5s1",
        "Figure 5—supplement 1: the same sweep on the linear network",
        "12→10 linear student-teacher network; noise-to-signal γ₂/γ₁ by column, "
        "fluctuation strength ‖Δε‖/√N by row; mean ± s.d. over repetitions, best ratio marked.",
    ),
)

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

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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


# --------------------------------------------------------------------------- assets


@functools.cache
def katex_css() -> str:
    """KaTeX's stylesheet with every font reference replaced by an embedded woff2 data URI.

    Each ``@font-face`` in the shipped CSS lists woff2, woff and ttf files; browsers that run
    KaTeX all read woff2, so only that one is embedded (keeps the page ~300 kB smaller).
    """
    css = (KATEX_DIR / "katex.min.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        name = match.group(1)
        font = KATEX_DIR / "fonts" / f"{name}.woff2"
        data = base64.b64encode(font.read_bytes()).decode("ascii")
        return f'src:url(data:font/woff2;base64,{data}) format("woff2")'

    out = re.sub(r"src:url\(fonts/([A-Za-z0-9_-]+)\.woff2\)[^;}]*", inline, css)
    if "url(fonts/" in out:
        raise RuntimeError("katex.min.css has a font reference the inliner did not replace")
    return out


@functools.cache
def katex_js() -> str:
    """KaTeX and its auto-render extension, concatenated, safe to inline in a <script>."""
    parts = [(KATEX_DIR / n).read_text(encoding="utf-8") for n in ("katex.min.js", "auto-render.min.js")]
    return "\n".join(_script_safe(p) for p in parts)


def _script_safe(js: str) -> str:
    # an inline script ends at the first "</script"; none is in KaTeX, but guard anyway
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)


def png_data_uri(path: Path) -> str:
    """A ``data:image/png;base64,…`` URI of a PNG file (``ValueError`` if it is not a PNG)."""
    data = Path(path).read_bytes()
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError(f"{path}: not a PNG file")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


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


# --------------------------------------------------------------------------- derivations


def derivations_document(results: Iterable[Any]) -> dict[str, Any]:
    """The derived results as JSON-ready data (LaTeX strings) for the report.

    ``results`` are :class:`derivations.core.Result` objects, in document order; every
    expression is rendered by :func:`derivations.render.to_latex` (SymPy's printer with the
    closed forms' symbols given their math names, as in derivations.md), never retyped.
    """
    import sympy as sp

    from derivations.render import to_latex

    def tex(expr: Any) -> str | None:
        if expr is None or expr is sp.true:
            return None
        return to_latex(expr)

    out = []
    for r in results:
        out.append(
            {
                "id": r.id,
                "title": r.title,
                "paper": r.paper,
                "statement": tex(r.statement),
                "closed_form": tex(r.closed_form),
                "args": list(r.arg_names),
                "conditions": [{"text": c.text, "latex": tex(c.relation)} for c in r.conditions],
                "steps": [{"text": s.text, "latex": tex(s.expr)} for s in r.steps],
                "checks": [{"name": c.name, "passed": bool(c.passed), "detail": c.detail} for c in r.checks],
                "notes": list(r.notes),
                "sharper": list(r.sharper),
                "verified": bool(r.verified),
            }
        )
    return {"results": out}


def _section_derivations(out_dir: Path) -> str:
    doc, problem = _load(out_dir, "derivations.json", "derive")
    head = (
        '<section id="derivations"><h2>Derivations</h2>'
        "<p>Every result below was derived by SymPy in <code>derivations/</code> and checked by "
        "the derivation itself; the closed forms used by every simulation and check are these "
        "expressions, never retyped. The same document is kept as <code>derivations.md</code> "
        "and <code>derivations.tex</code>.</p>"
    )
    if doc is None:
        return head + problem + "</section>"
    results = doc.get("results", []) if isinstance(doc, dict) else []
    if not results:
        return head + _notice("derivations.json holds no results.", "bad") + "</section>"
    parts = [head]
    n_ok = sum(1 for r in results if r.get("verified"))
    parts.append(f"<p><strong>{n_ok} of {len(results)}</strong> results passed their own checks.</p>")
    parts.append('<nav class="chips">')
    parts.extend(f'<a href="#d-{_e(r.get("id"))}">{_e(r.get("id"))}</a>' for r in results)
    parts.append("</nav>")
    sharper: list[tuple[str, str]] = []
    for r in results:
        rid = str(r.get("id", "?"))
        ok = bool(r.get("verified"))
        badge = _pill("verified", "v-holds") if ok else _pill("NOT verified", "v-failed")
        paper = f' <span class="paper">{_e(r.get("paper"))}</span>' if r.get("paper") else ""
        parts.append(
            f'<article class="result" id="d-{_e(rid)}"><h3><span class="rid">{_e(rid)}</span> '
            f"{_e(r.get('title', ''))}{paper} {badge}</h3>"
        )
        if r.get("statement"):
            parts.append(_math(r["statement"], display=True))
        if r.get("closed_form") and r.get("closed_form") != r.get("statement"):
            args = ", ".join(r.get("args") or [])
            parts.append(
                f'<p class="cf">Closed form (numeric API, arguments <code>{_e(args)}</code>):</p>'
                + _math(r["closed_form"], display=True)
            )
        conditions = r.get("conditions") or []
        if conditions:
            parts.append('<p class="label">Conditions</p><ul class="conditions">')
            for c in conditions:
                rel = f" {_math(c['latex'])}" if c.get("latex") else ""
                parts.append(f"<li>{_e(c.get('text', ''))}{rel}</li>")
            parts.append("</ul>")
        steps = r.get("steps") or []
        if steps:
            parts.append(f"<details><summary>Derivation: {len(steps)} steps</summary><ol class='steps'>")
            for s in steps:
                expr = _math(s["latex"], display=True) if s.get("latex") else ""
                parts.append(f"<li>{_e(s.get('text', ''))}{expr}</li>")
            parts.append("</ol></details>")
        checks = r.get("checks") or []
        if checks:
            items = []
            for c in checks:
                mark = "✓" if c.get("passed") else "✗"
                css = "ok" if c.get("passed") else "bad"
                detail = f": {_e(c['detail'])}" if c.get("detail") else ""
                items.append(f'<li class="{css}">{mark} {_e(c.get("name", ""))}{detail}</li>')
            parts.append(
                f"<details><summary>Self-checks: {sum(bool(c.get('passed')) for c in checks)}"
                f" of {len(checks)} passed</summary><ul class='checks'>{''.join(items)}</ul></details>"
            )
        for note in r.get("notes") or []:
            parts.append(f'<p class="note">{_e(note)}</p>')
        for s in r.get("sharper") or []:
            sharper.append((rid, s))
        parts.append("</article>")
    if sharper:
        parts.append(
            '<h3 id="sharper">Where the algebra is sharper than the paper\'s wording</h3><ul class="sharper">'
        )
        parts.extend(f'<li><a href="#d-{_e(rid)}">{_e(rid)}</a>: {_e(s)}</li>' for rid, s in sharper)
        parts.append("</ul>")
    parts.append("</section>")
    return "".join(parts)


# --------------------------------------------------------------------------- claims


def _section_claims(out_dir: Path) -> str:
    doc, problem = _load(out_dir, "claims.json", "verify")
    head = (
        '<section id="claims"><h2>Claims: machine verification</h2>'
        "<p>Each claim of the theory checked by <code>plasticity verify</code> with Hypothesis. "
        "<em>Counterexample found</em> marks a claim that is <em>not</em> universal and whose "
        "counterexample the suite is expected to find (shown shrunk); only <em>FAILED</em> is a "
        "defect. The margin is how far the worst example stayed inside the tolerance.</p>"
    )
    if doc is None:
        return head + problem + "</section>"
    claims = doc.get("claims", []) if isinstance(doc, dict) else []
    profile = doc.get("profile") if isinstance(doc, dict) else None
    counts: dict[str, int] = {}
    for c in claims:
        counts[str(c.get("verdict"))] = counts.get(str(c.get("verdict")), 0) + 1
    summary = ", ".join(
        f"{_pill(f'{n} {v}', VERDICT_CLASS.get(v, 'v-counter'))}" for v, n in sorted(counts.items())
    )
    rows = []
    for c in claims:
        verdict = str(c.get("verdict", ""))
        conditions = c.get("conditions")
        if isinstance(conditions, list | tuple):
            conditions = "; ".join(str(x) for x in conditions)
        cond_html = f'<div class="cond">Conditions: {_e(conditions)}</div>' if conditions else ""
        counter = c.get("counterexample")
        counter_html = (
            f'<div class="counter"><span class="label">Shrunk counterexample</span>{_pre(counter)}</div>'
            if counter not in (None, "", {}, [])
            else ""
        )
        tolerance = c.get("tolerance")
        tol_css = "num" if isinstance(tolerance, int | float) and not isinstance(tolerance, bool) else "tol"
        rows.append(
            f'<tr class="{VERDICT_CLASS.get(verdict, "")}-row">'
            f'<td><code class="cid">{_e(c.get("id"))}</code>'
            f"<div>{_e(c.get('statement'))}</div>{cond_html}</td>"
            f"<td>{_pill(verdict, VERDICT_CLASS.get(verdict, 'v-counter'))}</td>"
            f'<td class="num">{_fmt(c.get("examples"))}</td>'
            f'<td class="num">{_fmt(c.get("worst_margin"))}</td>'
            f'<td class="{tol_css}">{_fmt(tolerance)}</td>'
            f"<td>{_evidence(c.get('evidence'))}{counter_html}</td></tr>"
        )
    table = (
        '<table class="claims"><colgroup><col class="c-claim"><col class="c-verdict"><col class="c-n">'
        '<col class="c-margin"><col class="c-tol"><col class="c-ev"></colgroup>'
        "<thead><tr><th>claim</th><th>verdict</th><th>examples</th><th>worst margin</th>"
        "<th>tolerance</th><th>evidence (numbers compared) / counterexample</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    prof = f"Profile <code>{_e(profile)}</code>; " if profile else ""
    return head + f"<p>{prof}{len(claims)} claims: {summary}</p>" + table + "</section>"


def _evidence(evidence: object) -> str:
    """Evidence as a compact list of its scalar numbers; anything nested goes in a <details>."""
    if evidence in (None, "", {}, []):
        return ""
    if not isinstance(evidence, Mapping):
        return f'<div class="ev">{_e(evidence)}</div>'
    scalars = {k: v for k, v in evidence.items() if not isinstance(v, Mapping | list | tuple)}
    nested = {k: v for k, v in evidence.items() if k not in scalars}
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_fmt(v)}</dd>" for k, v in scalars.items())
    out = f'<dl class="ev">{items}</dl>' if items else ""
    if nested:
        out += f"<details><summary>more: {_e(', '.join(map(str, nested)))}</summary>{_pre(nested)}</details>"
    return out


# --------------------------------------------------------------------------- figures

#: provenance keys the caption looks for, first match wins: label -> candidate keys
_CAPTION_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("scale", ("scale", "mode", "profile")),
    ("seed", ("seed",)),
    ("repetitions", ("repetitions", "reps", "n_reps")),
    ("steps per stage", ("stage_steps",)),
    ("steps", ("steps", "n_steps")),
    ("runs", ("n_runs",)),
    ("runs not settled", ("unsettled_runs",)),
    ("stages not settled", ("unsettled_stages",)),
    ("time taken", ("wall_time_s", "wall_time", "seconds", "elapsed_s", "elapsed")),
)


def _find(prov: Mapping[str, Any], keys: Sequence[str]) -> Any:
    """The first of ``keys`` in ``prov``, else in its nested dicts, shallowest first."""
    level: list[Mapping[str, Any]] = [prov]
    while level:
        for d in level:
            for k in keys:
                if k in d:
                    return d[k]
        level = [v for d in level for v in d.values() if isinstance(v, Mapping)]
    return None


def figure_caption(prov: Mapping[str, Any]) -> str:
    """One line saying what was run for a figure, from its figK.json provenance (escaped)."""
    bits = []
    for label, keys in _CAPTION_KEYS:
        value = _find(prov, keys)
        if value is None or (label == "steps" and _find(prov, ("stage_steps",)) is not None):
            continue
        if label == "time taken":
            bits.append(f"{label} {_e(_seconds(value))}")
        elif label == "scale":
            bits.append(f"<strong>{_e(value)}</strong> run")
        else:
            bits.append(f"{label} {_fmt(value)}")
    return ", ".join(bits) if bits else "no run parameters recorded"


def _section_figures(out_dir: Path) -> str:
    parts = [
        '<section id="figures"><h2>Figures</h2>'
        "<p>The paper's simulations rerun here. Each caption says what was run; the numbers behind "
        "each figure are in <code>figK.csv</code> and its full provenance in <code>figK.json</code>.</p>"
    ]
    for key, heading, what in FIGURES:
        png = out_dir / f"fig{key}.png"
        parts.append(f'<figure id="fig{_e(key)}"><h3>{_e(heading)}</h3>')
        if not png.exists():
            parts.append(_notice(f"fig{key}.png is missing: the figure {key} stage did not produce it."))
            parts.append("</figure>")
            continue
        try:
            uri = png_data_uri(png)
        except (OSError, ValueError) as exc:
            parts.append(_notice(f"fig{key}.png could not be embedded: {exc}", "bad") + "</figure>")
            continue
        parts.append(f'<img src="{uri}" alt="{_e(heading)}">')
        prov_path = out_dir / f"fig{key}.json"
        prov: Any = None
        if prov_path.exists():
            try:
                prov = _read_json(prov_path)
            except (OSError, ValueError) as exc:
                parts.append(_notice(f"fig{key}.json could not be read: {exc}", "bad"))
        caption = figure_caption(prov) if isinstance(prov, Mapping) else "provenance missing"
        files = ", ".join(
            f'<a href="{_e(f.name)}">{_e(f.name)}</a>'
            for f in sorted(out_dir.glob(f"fig{key}.*")) + sorted(out_dir.glob(f"fig{key}_*"))
        )
        parts.append(
            f"<figcaption><p>{_e(what)}</p><p class='run'>What was run: {caption}.</p>"
            f"<p class='files'>Files: {files}</p>"
        )
        if isinstance(prov, Mapping):
            parts.append(f"<details><summary>full provenance</summary>{_pre(prov)}</details>")
        parts.append("</figcaption></figure>")
    parts.append("</section>")
    return "".join(parts)


# --------------------------------------------------------------------------- predictions

#: columns of the prediction table: (key in predictions.json rows, key of its spread or None, header)
PREDICTION_COLUMNS: tuple[tuple[str, str | None, str], ...] = (
    ("figure", None, "figure"),
    ("network", None, "network"),
    ("noise_to_signal", None, "noise-to-signal γ₂/γ₁"),
    ("fluct_per_sqrtN", None, "‖Δε‖/√N"),
    ("predicted_ratio", "predicted_ratio_sd", "predicted (eq9a from measured Q)"),
    ("grad_min_ratio", "grad_min_ratio_sd", "simulated: minimises gradient norm"),
    ("loss_min_ratio", "loss_min_ratio_sd", "simulated: minimises loss"),
    ("predicted_over_loss_min", None, "predicted ÷ loss minimiser"),
    ("n_unsettled", None, "runs not settled"),
)


def _section_predictions(out_dir: Path) -> str:
    doc, problem = _load(out_dir, "predictions.json", "predictions")
    head = (
        '<section id="predictions"><h2>Predicted against simulated best ratios</h2>'
        "<p>For every panel of figures 5 and 5—supplement 1: the best ratio "
        "‖Δc‖/‖Δε‖ predicted by eq9a, "
        + _math(r"\sqrt{Q[\Delta\varepsilon]/Q[\Delta c]}")
        + ", from the curvatures measured at steady state, beside the swept ratios that "
        "minimise the steady-state gradient norm and the steady-state loss. Eq9a optimises the "
        "one-step change, which at steady state fixes the gradient norm, so it should match the "
        "gradient-norm minimiser; how it compares with the loss minimiser is reported as found.</p>"
    )
    if doc is None:
        return head + problem + "</section>"
    rows = doc.get("rows", []) if isinstance(doc, dict) else []
    if not rows:
        return head + _notice("predictions.json holds no panels.", "bad") + "</section>"
    header = "".join(f"<th>{_e(h)}</th>" for _, _, h in PREDICTION_COLUMNS)
    body = []
    for row in rows:
        cells = []
        for key, spread, _ in PREDICTION_COLUMNS:
            value = row.get(key)
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            css = ' class="num pred"' if key == "predicted_ratio" else (' class="num"' if numeric else "")
            text = _fmt(value, 3)
            if key == "n_unsettled" and isinstance(row.get("n_runs"), int | float) and numeric:
                text += f" of {_fmt(row['n_runs'])}"
            sd = row.get(spread) if spread else None
            if numeric and isinstance(sd, int | float) and math.isfinite(sd):
                text += f' <span class="sd">± {_fmt(sd, 2)}</span>'
            cells.append(f"<td{css}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    parts = [
        head,
        '<p class="small">± is the standard deviation over repetitions (of each repetition\'s own '
        "prediction or minimiser); the simulated minimisers are points of the swept ratio grid.</p>",
        f'<table class="predictions"><thead><tr>{header}</tr></thead><tbody>{"".join(body)}</tbody></table>',
    ]
    findings = [f for f in doc.get("findings", []) or [] if isinstance(f, str)]
    if findings:
        items = "".join(f"<li>{_e(f)}</li>" for f in findings)
        parts.append(f'<div class="finding"><p class="label">Findings</p><ul>{items}</ul></div>')
    parts.append("</section>")
    return "".join(parts)


# --------------------------------------------------------------------------- landscape


def _section_landscape(out_dir: Path, command: str = "") -> str:
    doc, problem = _load(out_dir, "landscape.json", "landscape")
    head = (
        '<section id="landscape"><h2>Landscape check on a built-in example</h2>'
        "<p>What <code>plasticity landscape</code> reports for a landscape a user brings: the "
        "curvature quantities at a point, the best ratio eq9a predicts for each compensation rule, "
        "the theory's claims evaluated there and, with <code>--simulate</code>, the simulated best "
        "ratios beside the predicted ones.</p>"
    )
    if command:
        head += f"<p>Command: <code>{_e(command)}</code></p>"
    if doc is None:
        return head + problem + "</section>"
    if not isinstance(doc, Mapping):
        return head + _notice("landscape.json is not an object.", "bad") + "</section>"
    quantities = [
        ("landscape", "source"),
        ("kind", "kind"),
        ("number of parameters N", "n_params"),
        ("F(w)", "loss"),
        ("‖∇F‖", "grad_norm"),
        ("Tr(∇²F)/N", "trace_over_n"),
        ("smallest eigenvalue λ_min", "lambda_min"),
        ("largest eigenvalue λ_max", "lambda_max"),
        ("training state", "training_state"),
    ]
    rows = "".join(
        f"<tr><th>{_e(label)}</th><td{_num_class(doc.get(k))}>{_fmt(doc.get(k))}</td></tr>"
        for label, k in quantities
        if k in doc
    )
    parts = [head, '<div class="two">', f'<table class="kv"><tbody>{rows}</tbody></table>']
    predicted = doc.get("predicted_ratio")
    if isinstance(predicted, Mapping):
        q_of = {
            "gradient": doc.get("q_gradient"),
            "newton": doc.get("q_newton"),
            "zeroth_order": doc.get("q_zeroth_order"),
        }
        label = {rule: rule.replace("_", " ") for rule in predicted}
        # the noisy-gradient prediction is one entry of the noisy_gradient table: show its noise level
        for entry in doc.get("noisy_gradient") or []:
            if isinstance(entry, Mapping) and entry.get("predicted_ratio") == predicted.get("noisy_gradient"):
                q_of["noisy_gradient"] = entry.get("expected_Q")
                label["noisy_gradient"] = f"noisy gradient (γ₂/γ₁ = {_fmt(entry.get('noise_to_signal'))})"
        prow = "".join(
            f"<tr><td>{_e(label[rule])}</td><td class='num'>{_fmt(q_of.get(rule))}</td>"
            f"<td class='num pred'>{_fmt(v)}</td></tr>"
            for rule, v in predicted.items()
        )
        parts.append(
            '<table class="kv"><thead><tr><th>compensation rule</th><th>Q[Δc]</th>'
            "<th>predicted best ratio (eq9a)</th></tr></thead>"
            f"<tbody><tr><td>fluctuation E[Q[Δε]]</td><td class='num'>{_fmt(doc.get('q_eps'))}</td>"
            f"<td></td></tr>{prow}</tbody></table>"
        )
    parts.append("</div>")
    noisy = doc.get("noisy_gradient")
    if isinstance(noisy, list) and noisy and all(isinstance(r, Mapping) for r in noisy):
        nrow = "".join(
            f"<tr><td class='num'>{_fmt(r.get('noise_to_signal'))}</td><td class='num'>"
            f"{_fmt(r.get('expected_Q'))}</td><td class='num pred'>{_fmt(r.get('predicted_ratio'))}</td></tr>"
            for r in noisy
        )
        parts.append(
            "<h3>Noisy gradient compensation (si_noisy)</h3>"
            '<table class="kv"><thead><tr><th>noise-to-signal γ₂/γ₁</th><th>E[Q[Δc]]</th>'
            f"<th>predicted best ratio</th></tr></thead><tbody>{nrow}</tbody></table>"
        )
    claims = doc.get("claims")
    if isinstance(claims, list) and claims:
        crow = []
        for c in claims:
            if not isinstance(c, Mapping):
                continue
            holds, applies = c.get("holds"), c.get("applies", True)
            if holds is True:
                verdict = _pill("holds", "v-holds")
            elif holds is False and applies is False:
                verdict = _pill("fails (not a prediction here)", "v-cond")
            elif holds is False:
                verdict = _pill("does not hold", "v-counter")
            else:
                verdict = _pill("not evaluated", "v-cond")
            statement = f"<div class='cond'>{_e(c.get('statement'))}</div>" if c.get("statement") else ""
            crow.append(
                f"<tr><td><code>{_e(c.get('id'))}</code>{statement}</td><td>{verdict}</td>"
                f"<td>{_e(c.get('detail'))}</td></tr>"
            )
        parts.append(
            "<h3>Claims at this point</h3>"
            '<table class="lclaims"><thead><tr><th>claim</th><th>verdict</th><th>detail</th></tr></thead>'
            f"<tbody>{''.join(crow)}</tbody></table>"
        )
    parts.append(_landscape_simulation(doc.get("simulation")))
    parts.append("</section>")
    return "".join(parts)


def _landscape_simulation(sim: object) -> str:
    """The --simulate table: per rule, predicted vs simulated best ratios."""
    if not isinstance(sim, Mapping) or not isinstance(sim.get("rules"), Mapping):
        return ""
    rows = []
    for rule, r in sim["rules"].items():
        if not isinstance(r, Mapping):
            continue
        rows.append(
            f"<tr><td>{_e(str(rule).replace('_', ' '))}</td>"
            f"<td class='num pred'>{_fmt(r.get('predicted_ratio'))}</td>"
            f"<td class='num'>{_fmt(r.get('self_consistent_ratio'))}</td>"
            f"<td class='num'>{_fmt(r.get('grad_norm_minimiser'))}</td>"
            f"<td class='num'>{_fmt(r.get('loss_minimiser'))}</td></tr>"
        )
    what = ", ".join(
        f"{label} {_fmt(sim.get(k))}"
        for label, k in (
            ("‖Δε‖ =", "eps_norm"),
            ("steps", "steps"),
            ("repetitions", "reps"),
            ("steady-state window", "window"),
            ("seed", "seed"),
            ("noisy-gradient γ₂/γ₁", "noise_to_signal"),
        )
        if k in sim
    )
    return (
        "<h3>Simulated against predicted best ratios</h3>"
        f"<p class='small'>Fluctuation/compensation dynamics on this landscape: {what}; the simulated "
        "minimisers are points of the swept ratio grid.</p>"
        '<table class="kv"><thead><tr><th>rule</th><th>predicted (eq9a at the point)</th>'
        "<th>self-consistent eq9a (Q measured in the runs)</th><th>minimises gradient norm</th>"
        f"<th>minimises loss</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


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
        '<section id="run"><h2>Run</h2>'
        f"<p>Stages of <code>plasticity reproduce</code>{scale_txt}: {verdict}</p>"
        '<table class="stages"><thead><tr><th>stage</th><th>status</th><th>time</th><th>command / error</th>'
        f"<th>files</th></tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parent.parent
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


# --------------------------------------------------------------------------- page

_CSS = """
:root { --fg:#1d2330; --muted:#5b6475; --line:#c9ced8; --bg:#fff; --soft:#f4f6f9; --accent:#2456a6; }
* { box-sizing: border-box; }
body { margin:0; color:var(--fg); background:var(--bg);
  font: 16px/1.55 "Source Sans 3","Segoe UI","Helvetica Neue","DejaVu Sans",Arial,sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: .2rem 2rem 1.5rem; }
main > section:first-child h2 { margin-top: 1.4rem; }
header.top { background: #1f3a66; color: #fff; }
header.top .inner { max-width:1120px; margin:0 auto; padding:1.4rem 2rem 1.1rem; }
header.top h1 { margin:0 0 .3rem; font-size:1.75rem; font-weight:600; }
header.top p { margin:.2rem 0; color:#dbe4f3; }
header.top nav a { color:#fff; margin-right:1.1rem; text-decoration:none; border-bottom:1px solid #8fa9d6; }
h2 { font-size:1.45rem; margin:2.4rem 0 .6rem; padding-bottom:.25rem; border-bottom:2px solid var(--line); }
h3 { font-size:1.12rem; margin:1.4rem 0 .4rem; }
a { color: var(--accent); }
code { font: .88em/1.4 "DejaVu Sans Mono",Menlo,Consolas,monospace; background:var(--soft); padding:0 .25em;
  border-radius:3px; }
pre { font: .8em/1.4 "DejaVu Sans Mono",Menlo,Consolas,monospace; background:var(--soft); padding:.5rem .7rem;
  border:1px solid var(--line); border-radius:4px; overflow-x:auto; max-height:22rem; margin:.3rem 0;
  white-space: pre-wrap; word-break: break-word; }
pre.err { background:#fdecec; border-color:#e7a5a5; }
table { border-collapse: collapse; width:100%; margin:.8rem 0 1.2rem; font-size:.92rem; }
th, td { border:1px solid var(--line); padding:.35rem .55rem; vertical-align:top; text-align:left; }
thead th { background:#e8edf5; font-weight:600; }
tbody tr:nth-child(even) { background:#fafbfd; }
td.num { text-align:right; font-variant-numeric: tabular-nums; white-space:nowrap; }
td.pred { font-weight:600; background:#eef4ff; }
table.kv { width:auto; min-width: 22rem; }
table.claims { table-layout: fixed; }
col.c-claim { width: 30%; } col.c-verdict { width: 12.5rem; } col.c-n { width: 5.8rem; }
col.c-margin { width: 6.5rem; } col.c-tol { width: 12%; } col.c-ev { width: auto; }
td.tol { font-size:.85rem; color:var(--muted); overflow-wrap:anywhere; }
table.claims td { overflow-wrap:break-word; }
code.cid { display:inline-block; margin-bottom:.2rem; font-weight:600; }
dl.ev { display:grid; grid-template-columns: minmax(0, 1.3fr) minmax(0, 1fr); gap:0 .6rem; margin:0;
  font-size:.82rem; }
dl.ev dt { color:var(--muted); overflow-wrap:anywhere; }
dl.ev dd { margin:0; font-variant-numeric: tabular-nums; overflow-wrap:anywhere; }
div.ev { font-size:.85rem; }
.counter { margin-top:.3rem; } .counter .label { font-size:.82rem; }
table.kv th { background:#f1f4f9; font-weight:500; }
.two { display:flex; gap:2rem; flex-wrap:wrap; align-items:flex-start; }
.pill { display:inline-block; padding:.05rem .55rem; border-radius:999px; font-size:.82rem; font-weight:600;
  white-space:nowrap; border:1px solid transparent; vertical-align: middle; }
.v-holds { background:#dff3e4; color:#17612c; border-color:#9fd3ad; }
.v-cond { background:#e0eefb; color:#1d4f8a; border-color:#a5c6ea; }
.v-counter { background:#fff1d6; color:#7a4d00; border-color:#f0c870; }
.v-failed { background:#fde0e0; color:#9b1c1c; border-color:#ef9a9a; }
tr.v-failed-row td { background:#fff5f5; }
.notice { padding:.55rem .8rem; border-left:4px solid #e0a800; background:#fff8e1; }
.notice.bad { border-color:#c62828; background:#fdecec; }
article.result { border:1px solid var(--line); border-radius:6px; padding:.2rem 1rem .6rem; margin:1rem 0;
  background:#fff; }
article.result h3 { margin-top:.8rem; }
.rid { font: 600 .9rem "DejaVu Sans Mono",Menlo,monospace; background:#1f3a66; color:#fff;
  padding:.1rem .45rem; border-radius:4px; margin-right:.3rem; }
.paper { color:var(--muted); font-weight:400; font-size:.9rem; }
.label { font-weight:600; margin:.5rem 0 .1rem; }
.note { color:var(--muted); font-size:.93rem; }
.cond { color:var(--muted); font-size:.88rem; margin-top:.2rem; }
ul.checks li.ok { color:#17612c; } ul.checks li.bad { color:#9b1c1c; font-weight:600; }
details { margin:.3rem 0; } summary { cursor:pointer; color:var(--accent); }
.math.display, .katex-display { overflow-x:auto; overflow-y:hidden; padding:.1rem 0; }
.katex-display { margin:.5rem 0; }
nav.chips a { display:inline-block; margin:.15rem .2rem; padding:.05rem .45rem; border:1px solid var(--line);
  border-radius:4px; font: .8rem "DejaVu Sans Mono",monospace; text-decoration:none; }
figure { margin:1.5rem 0 2rem; padding:0; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; background:#fff; }
figcaption { color:var(--fg); font-size:.93rem; }
figcaption p { margin:.3rem 0; }
figcaption .run { background:var(--soft); padding:.3rem .6rem; border-radius:4px; }
.files { color:var(--muted); font-size:.88rem; }
.finding { border-left:4px solid var(--accent); background:#f2f6fd; padding:.3rem .9rem; }
.finding ul { margin:.2rem 0 .4rem; padding-left:1.2rem; } .finding .label { margin-top:.3rem; }
footer#provenance { max-width:1120px; margin:0 auto; padding:0 2rem 2.5rem; color:var(--muted); }
footer#provenance h2 { margin-top:0; }
footer dl { display:grid; grid-template-columns: max-content 1fr; gap:.15rem 1.2rem; font-size:.92rem; }
footer dt { font-weight:600; color:var(--fg); } footer dd { margin:0; }
.small { font-size:.85rem; }
.sd { color:var(--muted); font-weight:400; font-size:.85em; }
"""

#: after load: render math, then mark <body data-ready> once every image has decoded and every
#: emitted math span holds rendered KaTeX (the browser test reads these attributes)
_READY_JS = r"""
(function () {
  var body = document.body;
  try {
    renderMathInElement(body, {
      delimiters: [
        {left: "\\[", right: "\\]", display: true},
        {left: "\\(", right: "\\)", display: false},
        {left: "$$", right: "$$", display: true},
        {left: "$", right: "$", display: false}
      ],
      throwOnError: false
    });
  } catch (err) {
    body.setAttribute("data-katex-error", String(err));
  }
  function check() {
    var imgs = document.images, loaded = 0;
    for (var i = 0; i < imgs.length; i++) {
      if (imgs[i].complete && imgs[i].naturalWidth > 0) { loaded++; }
    }
    var spans = document.querySelectorAll(".math"), rendered = 0;
    for (var j = 0; j < spans.length; j++) {
      if (spans[j].querySelector(".katex") && !spans[j].querySelector(".katex-error")) { rendered++; }
    }
    body.setAttribute("data-images", loaded + "/" + imgs.length);
    body.setAttribute("data-math", rendered + "/" + spans.length);
    body.setAttribute("data-katex", String(document.querySelectorAll(".katex").length));
    body.setAttribute("data-katex-errors", String(document.querySelectorAll(".katex-error").length));
    if (loaded === imgs.length && rendered === spans.length) { body.setAttribute("data-ready", "true"); }
  }
  if (document.readyState === "complete") { check(); } else { window.addEventListener("load", check); }
})();
"""


def build_report(
    out_dir: Path,
    *,
    stages: Sequence[StageRecord] = (),
    provenance: Mapping[str, Any] | None = None,
    landscape_command: str = "",
) -> str:
    """The report page as one HTML string, from the files in ``out_dir``."""
    out_dir = Path(out_dir)
    prov = dict(provenance) if provenance is not None else collect_provenance()
    scale = prov.get("scale")
    failed = [s.name for s in stages if s.status in ("failed", "not run")]
    status_line = (
        f"<p><strong>Incomplete:</strong> stage(s) {_e(', '.join(failed))} failed; see Run.</p>"
        if failed
        else ""
    )
    nav = "".join(
        f'<a href="#{a}">{_e(t)}</a>'
        for a, t in (
            ("run", "Run"),
            ("derivations", "Derivations"),
            ("claims", "Claims"),
            ("figures", "Figures"),
            ("predictions", "Predictions"),
            ("landscape", "Landscape"),
            ("provenance", "Provenance"),
        )
        if a != "run" or stages
    )
    scale_txt = f" · {_e(scale)} run" if scale else ""
    sections = [
        _section_run(stages, scale),
        _section_derivations(out_dir),
        _section_claims(out_dir),
        _section_figures(out_dir),
        _section_predictions(out_dir),
        _section_landscape(out_dir, landscape_command),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>plasticity: reproduction report</title>"
        f"<style>{katex_css()}</style><style>{_CSS}</style></head>"
        '<body><header class="top"><div class="inner">'
        "<h1>Optimal compensatory plasticity: reproduction report</h1>"
        "<p>Derivations, machine-checked claims and simulations of the theory of Raman &amp; "
        f"O'Leary, <em>eLife</em> 2021;10:e62912{scale_txt}.</p>"
        f"{status_line}<nav>{nav}</nav></div></header>"
        f"<main>{''.join(sections)}</main>"
        f"{_footer(prov)}"
        f"<script>{katex_js()}</script><script>{_READY_JS}</script>"
        "</body></html>\n"
    )


def write_report(
    out_dir: Path,
    *,
    stages: Sequence[StageRecord] = (),
    provenance: Mapping[str, Any] | None = None,
    landscape_command: str = "",
) -> Path:
    """Write ``out_dir/report.html`` atomically and return its path."""
    out_dir = Path(out_dir)
    page = build_report(out_dir, stages=stages, provenance=provenance, landscape_command=landscape_command)
    path = out_dir / "report.html"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    return path


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


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m checks.report DIR``: rebuild DIR/report.html from the files already in DIR."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not Path(args[0]).is_dir():
        print("usage: python -m checks.report DIR   (DIR: an output directory of plasticity reproduce)")
        return 2
    out_dir = Path(args[0])
    try:
        scale = _read_json(out_dir / "manifest.json").get("scale")
    except (OSError, ValueError, AttributeError):
        scale = None
    print(
        write_report(
            out_dir, stages=stages_from_manifest(out_dir), provenance=collect_provenance(scale=scale)
        )
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
