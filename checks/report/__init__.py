"""The single self-contained HTML page that `plasticity reproduce` writes (``DIR/report.html``).

The page is built from the files the stages left in ``DIR`` (``derivations.json``,
``claims.json``, ``figK.png``/``figK.json``, ``predictions.json``, ``landscape.json``), so it
can be rebuilt from those files alone.  Nothing is fetched over the network when it is
viewed: figures are embedded as base64 PNG data URIs, and KaTeX (vendored under
``checks/assets/katex``, MIT licence beside it) is inlined with its fonts as data URIs.
A missing or unreadable input becomes a visible notice in its section, never a crash, so
the report always shows what did and did not run.

The page is assembled in :mod:`plasticity.checks.report.page` from the sections in
:mod:`plasticity.checks.report.sections` and :mod:`plasticity.checks.report.landscape`, the run and
provenance in :mod:`plasticity.checks.report.provenance`, shared HTML helpers in
:mod:`plasticity.checks.report.markup`, and the
inlined KaTeX and figures in :mod:`plasticity.checks.report.assets`.
"""

from plasticity.checks.report.assets import KATEX_DIR, katex_css, katex_js, png_data_uri
from plasticity.checks.report.page import build_report, main, write_report
from plasticity.checks.report.provenance import StageRecord, collect_provenance, stages_from_manifest
from plasticity.checks.report.sections import FIGURES, derivations_document, figure_caption

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
