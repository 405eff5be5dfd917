"""The page shell: stylesheet, ready-script, :func:`build_report`, :func:`write_report` and
the ``python -m plasticity.checks.report DIR`` entry point."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from plasticity.checks.report.assets import katex_css, katex_js
from plasticity.checks.report.landscape import _section_landscape
from plasticity.checks.report.markup import _e, _read_json
from plasticity.checks.report.provenance import (
    StageRecord,
    _footer,
    _section_run,
    collect_provenance,
    stages_from_manifest,
)
from plasticity.checks.report.sections import (
    _section_claims,
    _section_derivations,
    _section_figures,
    _section_predictions,
)
from plasticity.numerics.files import atomic_write_text

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
    return atomic_write_text(path, page)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m plasticity.checks.report DIR``: rebuild DIR/report.html from the files already in DIR."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not Path(args[0]).is_dir():
        print(
            "usage: python -m plasticity.checks.report DIR"
            "   (DIR: an output directory of plasticity reproduce)"
        )
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
