"""The report's sections for the derivations, the verified claims, the figures and the
predictions, each built from the file its stage wrote."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from plasticity.checks.report.assets import png_data_uri
from plasticity.checks.report.markup import (
    VERDICT_CLASS,
    _e,
    _fmt,
    _load,
    _math,
    _notice,
    _opening,
    _pill,
    _pre,
    _read_json,
    _seconds,
    _section,
)

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

# --------------------------------------------------------------------------- derivations


def derivations_document(results: Iterable[Any]) -> dict[str, Any]:
    """The derived results as JSON-ready data (LaTeX strings) for the report.

    ``results`` are :class:`plasticity.derivations.core.Result` objects, in document order; every
    expression is rendered by :func:`derivations.render.to_latex` (SymPy's printer with the
    closed forms' symbols given their math names, as in derivations.md), never retyped.
    """
    import sympy as sp

    from plasticity.derivations.render import to_latex

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
        _opening("derivations", "Derivations")
        + "<p>Every result below was derived by SymPy in <code>derivations/</code> and checked by "
        "the derivation itself; the closed forms used by every simulation and check are these "
        "expressions, never retyped. The same document is kept as <code>derivations.md</code> "
        "and <code>derivations.tex</code>.</p>"
    )
    if doc is None:
        return _section(head, problem)
    results = doc.get("results", []) if isinstance(doc, dict) else []
    if not results:
        return _section(head, _notice("derivations.json holds no results.", "bad"))
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
        _opening("claims", "Claims: machine verification")
        + "<p>Each claim of the theory checked by <code>plasticity verify</code> with Hypothesis. "
        "<em>Counterexample found</em> marks a claim that is <em>not</em> universal and whose "
        "counterexample the suite is expected to find (shown shrunk); only <em>FAILED</em> is a "
        "defect. The margin is how far the worst example stayed inside the tolerance.</p>"
    )
    if doc is None:
        return _section(head, problem)
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
    return _section(head, f"<p>{prof}{len(claims)} claims: {summary}</p>", table)


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
        _opening("figures", "Figures")
        + "<p>The paper's simulations rerun here. Each caption says what was run; the numbers behind "
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
        _opening("predictions", "Predicted against simulated best ratios")
        + "<p>For every panel of figures 5 and 5—supplement 1: the best ratio "
        "‖Δc‖/‖Δε‖ predicted by eq9a, "
        + _math(r"\sqrt{Q[\Delta\varepsilon]/Q[\Delta c]}")
        + ", from the curvatures measured at steady state, beside the swept ratios that "
        "minimise the steady-state gradient norm and the steady-state loss. Eq9a optimises the "
        "one-step change, which at steady state fixes the gradient norm, so it should match the "
        "gradient-norm minimiser; how it compares with the loss minimiser is reported as found.</p>"
    )
    if doc is None:
        return _section(head, problem)
    rows = doc.get("rows", []) if isinstance(doc, dict) else []
    if not rows:
        return _section(head, _notice("predictions.json holds no panels.", "bad"))
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
